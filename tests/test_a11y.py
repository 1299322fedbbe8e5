"""Accessibility of the built sample in a real browser (issue 20): axe-core (WCAG 2.1 A/AA rules)
in headless Chromium on every kind of page, at desktop and phone widths, in the normal and the
适老化 (elderly-friendly) modes; the keyboard reaches every control; the reading controls work
without script and are remembered with it; the lead image leaves the text on the first screen;
print shows no navigation.

axe-core comes from the npm registry into .test-tools/ (`.ci/run` installs it there); it is put
into the pages by the test only, never shipped with the theme. Skipped when Chromium, Playwright
or axe-core is missing. One browser for the whole module.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_browser import ARGS, CHROMIUM

from conftest import REPO, Site, copy_sample, free_port

TOOLS = REPO / ".test-tools" / "node_modules"
AXE = TOOLS / "axe-core" / "axe.min.js"
playwright = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed"),
              pytest.mark.skipif(not AXE.is_file(), reason="axe-core is not installed in .test-tools/ "
                                 "(npm install --prefix .test-tools axe-core; .ci/run does it)")]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The repository's sample, built once, with its listings as dense lists in a second edition
    of the config (list/…) so that both listing styles are checked."""
    root = tmp_path_factory.mktemp("a11y") / "sample"
    site = copy_sample(root)
    site.build(workers=1)
    config = yaml.safe_load(site.config.read_text(encoding="utf-8"))
    config["listing_style"] = "list"
    config["output_dir"] = "public-list"
    site.config.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    site.build(workers=1)
    return site


class _Handler(http.server.SimpleHTTPRequestHandler):
    """The site folder, with the site's base_path leading to its output (as nginx serves it)."""

    base_path = "/"

    def translate_path(self, path: str) -> str:
        if path.startswith(self.base_path):
            path = "/public/" + path[len(self.base_path):]
        return super().translate_path(path)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served(built: Site) -> Iterator[str]:
    """The built sample over HTTP (the 404 page links from the base path, as it is served)."""
    base = yaml.safe_load(built.config.read_text(encoding="utf-8")).get("base_path", "/")
    handler = type("Handler", (_Handler,), {"base_path": base})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()),
                                             functools.partial(handler, directory=str(built.root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def url_of(site: Site, path: Path, served: str) -> str:
    rel = path.relative_to(site.root).as_posix()
    base = yaml.safe_load(site.config.read_text(encoding="utf-8")).get("base_path", "/")
    return served + (base + rel[len("public/"):] if rel.startswith("public/") else "/" + rel)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def story_with_image(site: Site) -> str:
    for page in sorted((site.out / "stories").glob("*/index.html")):
        if 'class="lead-figure"' in page.read_text(encoding="utf-8"):
            return page.relative_to(site.out).as_posix()
    raise AssertionError("the sample has no story with a picture")


def pages(site: Site) -> dict[str, Path]:
    campaign = sorted((site.out / "campaigns").glob("*/print/index.html"))[0]
    found = {
        "home": site.out / "index.html",
        "story": site.out / story_with_image(site),
        "listing": site.out / "stories" / "index.html",
        "listing (list)": site.root / "public-list" / "stories" / "index.html",
        "campaign": campaign.parent.parent / "index.html",
        "booklet": campaign,
        "unit tree": site.out / "units" / "index.html",
        "media": site.out / "feeds" / "index.html",
        "search": site.out / "search" / "index.html",
        "404": site.out / "404.html",
        "notice": site.out / "withdrawn.html",
    }
    return {name: path for name, path in found.items() if path.is_file()}


def axe(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS)
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict[str, Any]]) -> str:
    return "; ".join(f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:4]}" for v in violations)


def test_axe_finds_no_serious_or_critical_violation_on_any_kind_of_page(built: Site, served: str,
                                                                        browser: Any) -> None:
    checked, failures = 0, []
    for mode in ("normal", "elder"):
        for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
            context = browser.new_context(viewport=size)
            if mode == "elder":  # as a11y.js remembers it: set before any page loads
                context.add_init_script("try { localStorage.setItem('a11y-elder', '1'); } catch (e) {}")
            page = context.new_page()
            for name, path in pages(built).items():
                page.goto(url_of(built, path, served))
                if mode == "elder" and name != "notice":
                    assert page.evaluate("document.documentElement.dataset.a11yElder") == "1", name
                found = axe(page)
                checked += 1
                if found:
                    failures.append(f"{name} [{size_name}, {mode}]: {describe(found)}")
            context.close()
    assert checked >= 36
    assert not failures, "\n".join(failures)


def test_language_landmarks_and_skip_link(built: Site, browser: Any) -> None:
    page = browser.new_page(viewport=DESKTOP)
    for name, path in pages(built).items():
        page.goto(path.as_uri())
        assert page.evaluate("document.documentElement.lang") == "zh-CN", name
        assert page.locator("main#main").count() == 1, name
        if name == "notice":
            continue
        assert page.locator("header[role=banner], body > header").count() >= 1, name
        assert page.locator("footer[role=contentinfo]").count() == 1, name
        assert page.locator("nav[aria-label]").count() >= 1, name
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link", name
        assert page.evaluate("document.activeElement.getAttribute('href')") == "#main", name
        assert page.locator("#a11y-elder").count() == 1, name  # 适老化 from every page header
    page.close()


def test_the_keyboard_reaches_every_control(built: Site, browser: Any) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto((built.out / story_with_image(built)).as_uri())
    controls = page.evaluate("""() => {
        const seen = new Set(), out = [];
        for (const el of document.querySelectorAll('a[href], button, input, select, textarea')) {
            if (!el.offsetParent && getComputedStyle(el).position !== 'fixed') continue;  // not shown
            if (el.tabIndex < 0) continue;
            const key = el.type === 'radio' ? 'radio:' + el.name : el.outerHTML;  // a radio group: one stop
            if (!seen.has(key)) { seen.add(key); out.push(key); }
        }
        return out;
    }""")
    reached: set[str] = set()
    for _ in range(len(controls) + 20):
        page.keyboard.press("Tab")
        key = page.evaluate("""() => { const el = document.activeElement;
            return el.type === 'radio' ? 'radio:' + el.name : el.outerHTML; }""")
        reached.add(key)
    missing = [c for c in controls if c not in reached]
    assert not missing, missing[:5]
    assert {"radio:a11y-size"} <= reached
    assert any('id="a11y-elder"' in r for r in reached) and any('id="a11y-print"' in r for r in reached)
    # every focused control shows where the focus is
    page.locator("#a11y-elder").focus()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.close()


def test_reading_controls_work_with_the_keyboard_and_are_remembered(built: Site, browser: Any) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    story = built.out / story_with_image(built)
    page.goto(story.as_uri())
    body_size = "parseFloat(getComputedStyle(document.querySelector('.story-body')).fontSize)"
    medium = page.evaluate(body_size)
    page.locator("#a11y-size-medium").focus()
    page.keyboard.press("ArrowLeft")  # 中 → 大 (the radios' order: 大 中 小)
    assert page.evaluate("document.activeElement.value") == "large"
    large = page.evaluate(body_size)
    assert large > medium
    page.locator("#a11y-elder").focus()
    page.keyboard.press("Space")
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 20
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    line = page.evaluate("(() => { const s = getComputedStyle(document.querySelector('.story-body p'));"
                         " return parseFloat(s.lineHeight) / parseFloat(s.fontSize); })()")
    assert line >= 1.3
    # remembered on the next page (another story, the home page)
    other = next(p for p in sorted((built.out / "stories").glob("*/index.html")) if p != story)
    page.goto(other.as_uri())
    assert page.locator("#a11y-size-large").is_checked() and page.locator("#a11y-elder").is_checked()
    assert page.evaluate("document.documentElement.dataset.a11ySize") == "large"
    page.goto((built.out / "index.html").as_uri())
    assert page.locator("#a11y-elder").is_checked()
    context.close()
    # without script the page reads, and the controls still switch (CSS :has), the print button stays hidden
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    page.goto(story.as_uri())
    assert page.locator(".story-body").inner_text().strip()
    assert page.locator("#a11y-print").is_hidden()
    before = page.evaluate(body_size)
    page.locator("#a11y-size-small").check()
    assert page.evaluate(body_size) < before
    context.close()


def test_lead_image_leaves_the_text_on_the_first_screen(built: Site, browser: Any) -> None:
    for size in (DESKTOP, PHONE):
        page = browser.new_page(viewport=size)
        page.goto((built.out / story_with_image(built)).as_uri())
        image = page.locator(".lead-figure img").bounding_box()
        assert image and image["height"] <= size["height"] * 0.45, (size, image)
        # the text comes first: the lead paragraph is above the picture, whole on the first screen
        lead = page.locator(".story-lead").bounding_box()
        assert lead and lead["y"] + lead["height"] <= size["height"], size
        assert lead["y"] < image["y"]
        page.close()


def test_printed_story_and_booklet_have_no_navigation(built: Site, browser: Any) -> None:
    page = browser.new_page()
    booklet = pages(built)["booklet"]
    for path in (built.out / story_with_image(built), booklet):
        page.goto(path.as_uri())
        page.emulate_media(media="print")
        text = page.evaluate("document.body.innerText")
        for nav_text in ("跳到正文", "全部典型", "媒体订阅", "适老化模式", "上一篇", "搜索"):
            assert nav_text not in text, (path, nav_text)
        assert re.search(r"(本文|原文)网址：http://", text), path
        pdf = page.pdf(prefer_css_page_size=True)
        box = re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
        assert box and (round(float(box.group(1))), round(float(box.group(2)))) == (595, 842)  # A4
        count = re.search(rb"/Type /Pages\s*/Count (\d+)", pdf) or re.search(rb"/Count (\d+)", pdf)
        assert count
        stories = page.locator(".booklet-story").count()
        if path == booklet:  # cover, contents, then each story on a page of its own
            assert int(count.group(1)) >= 2 + stories
        else:
            assert 1 <= int(count.group(1)) <= 6
        page.emulate_media(media="screen")
    page.close()



def test_pdf_command_prints_the_campaign_booklet(built: Site, tmp_path: Path) -> None:
    from exemplar_site.cli import main

    booklet = pages(built)["booklet"]
    slug = booklet.parent.parent.name
    out = tmp_path / "booklet.pdf"
    assert main(["pdf", f"campaigns/{slug}", "--config", str(built.config), "--output", str(out), "--lang", "en"]) == 0
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF")
    count = re.search(rb"/Type /Pages\s*/Count (\d+)", pdf) or re.search(rb"/Count (\d+)", pdf)
    stories = booklet.read_text(encoding="utf-8").count('class="booklet-story"')
    assert count and int(count.group(1)) >= 2 + stories
    assert main(["pdf", "campaigns/no-such", "--config", str(built.config), "--output", str(out), "--lang", "en"]) == 1
