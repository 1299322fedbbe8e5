"""What a person sees, in a real browser (headless Chromium driven by Playwright).

Skipped when Chromium or Playwright is not installed (`.ci/run` installs
Chromium when it can).
"""

from __future__ import annotations

from typing import Any

import pytest

from conftest import BROWSER_ARGS as ARGS  # (other browser tests import these names from here)
from conftest import CHROMIUM, NOW, Site, free_port

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
__all__ = ["ARGS", "CHROMIUM"]


def test_live_reload_and_error_overlay_in_a_browser(site: Site, browser: Any) -> None:
    from exemplar_site.serve import PreviewServer

    site.story("a", "a-1", slug="a", title="浏览器里的第一版")
    server = PreviewServer(site.config, port=free_port(), debounce=0.1, now=lambda: NOW)
    server.start()
    try:
        page = browser.new_page()
        page.goto(server.url + "stories/a/")
        assert page.locator("h1").inner_text() == "浏览器里的第一版"
        page.wait_for_timeout(300)  # let the EventSource connect
        site.story("a", "a-1", slug="a", title="自动刷新后的第二版")
        # (while the page reloads there may be no h1 for a moment: a predicate that throws is not retried)
        page.wait_for_function("document.querySelector('h1')?.innerText === '自动刷新后的第二版'", timeout=20000)
        site.story("a", "a-1", slug="a", title="坏掉的版本", unit="no-such-unit")
        overlay = page.locator("#build-error-overlay")
        overlay.wait_for(state="visible", timeout=20000)
        assert "no-such-unit" in overlay.inner_text()
        problem = overlay.locator(".beo-problem")  # one block per problem: file and line, what is wrong, the hint
        assert problem.count() == 1
        assert problem.locator(".beo-file").inner_text() == "content/stories/a.md"
        assert problem.locator(".beo-line").inner_text().startswith("line ")
        assert "unknown unit 'no-such-unit'" in problem.locator(".beo-message").inner_text()
        assert problem.locator(".beo-accepted").is_visible()
        box = overlay.bounding_box()
        assert box and box["y"] == 0 and box["width"] >= 1000  # over the top of the page, full width
        assert page.locator("h1").inner_text() == "自动刷新后的第二版"  # the last good page, under the overlay
        site.story("a", "a-1", slug="a", title="修好的第三版")
        page.wait_for_function("document.querySelector('h1') && "
                               "document.querySelector('h1').innerText === '修好的第三版'", timeout=20000)
        assert page.locator("#build-error-overlay").count() == 0
    finally:
        server.stop()


def test_built_site_navigates_from_disk(site: Site, browser: Any) -> None:
    site.story("a", "a-1", slug="first", title="第一篇事迹", date="2026-03-01")
    site.story("b", "b-1", slug="second", title="第二篇事迹", date="2026-04-01")
    site.build()
    page = browser.new_page()
    page.goto((site.out / "index.html").as_uri())
    page.get_by_role("link", name="第二篇事迹").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/stories/second/index.html")
    assert page.locator("h1").inner_text() == "第二篇事迹"
    page.locator("a[rel=prev]").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "第一篇事迹"
    page.get_by_role("link", name="首页").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/public/index.html")
    # the stylesheet loaded: the header has the theme's red background
    bg = page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundImage")
    assert "gradient" in bg


def test_reports_print_on_a4_without_cutting_tables(site: Site, browser: Any, tmp_path: Any) -> None:
    import datetime as dt
    import re

    from exemplar_site.pipeline import BuildOptions
    from exemplar_site.reports import write_reports

    for i in range(40):
        site.story(f"s{i}", f"story-2026-{i:04d}", slug=f"s{i}", status="recommended" if i % 2 else "approved",
                   title="一个相当长的标题" * 4, date=dt.date(2026, 1 + i % 12, 1 + i % 28),
                   vetting=None if i % 4 == 0 else {"cleared_by": "市局纪委", "date": dt.date(2026, 2, 1),
                                                    "ref": f"纪审{i}号"})
    write_reports(site.config, BuildOptions(now=NOW), tmp_path / "reports")
    for name, (width, height) in (("index.html", (595, 842)), ("assessments.html", (842, 595)),
                                  ("pipeline.html", (842, 595))):
        page = browser.new_page()
        page.goto((tmp_path / "reports" / name).as_uri())
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        box = re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
        assert box and (round(float(box.group(1))), round(float(box.group(2)))) == (width, height), name
        pages = re.search(rb"/Type /Pages\s*/Count (\d+)", pdf) or re.search(rb"/Count (\d+)", pdf)
        assert pages and 1 <= int(pages.group(1)) <= 6, (name, pages)
        # printed, the page is no wider than the paper (less 10 mm margins each side): no column is cut off
        printable = round((width / 72 * 25.4 - 20) / 25.4 * 96)
        page.set_viewport_size({"width": printable, "height": 700})
        page.emulate_media(media="print")
        assert page.evaluate("document.documentElement.scrollWidth") <= printable, name
        assert page.locator("nav").is_hidden()
        page.close()
