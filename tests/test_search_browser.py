"""Search in a real browser (headless Chromium through Playwright): typing a query on the served
site, under a strict Content-Security-Policy, and on the site opened from disk (file://).

Skipped when Chromium or Playwright is not installed, as tests/test_browser.py.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_browser import CHROMIUM
from test_search import populate

from conftest import Site, free_port

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")


class _Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        super().end_headers()

    def log_message(self, *args: Any) -> None:
        pass




@pytest.fixture
def served(site: Site) -> Iterator[tuple[Site, str]]:
    populate(site)
    site.build()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()),
                                             functools.partial(_Handler, directory=str(site.out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def watch(page: Any) -> list[str]:
    """Page errors, console errors and CSP violations, as they come."""
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    return problems


def type_query(page: Any, query: str) -> list[str]:
    page.locator("#search-q").click()
    page.keyboard.type(query)
    page.wait_for_selector(f"#search-results[data-query='{query}']", state="attached", timeout=10000)
    return [str(t) for t in page.locator(".search-result-title").all_inner_texts()]


def test_typing_a_query_on_the_served_site_under_a_strict_csp(served: tuple[Site, str], browser: Any) -> None:
    _site, url = served
    page = browser.new_page()
    problems = watch(page)
    page.goto(url + "index.html")
    page.locator("#header-q").fill("跳江救人")  # the header box leads to the search page
    page.locator("#header-q").press("Enter")
    page.wait_for_selector("#search-results[data-query='跳江救人']", timeout=10000)
    assert page.locator(".search-result-title").first.inner_text() == "李跳江：跳江救人的好民警"
    assert "q=" in page.url
    assert page.locator(".search-result-snippet mark").first.inner_text() == "跳江救人"
    page.locator("#search-q").fill("")
    titles = type_query(page, "枫桥经验")
    assert titles == ["赵六扎根南湖"]
    assert "%E6%9E%AB%E6%A1%A5" in page.url  # the address holds the query: results can be shared
    # filters: the unit north holds n1 and n2 (sub-units) but not s1
    page.locator("#search-q").fill("")
    titles = type_query(page, "民警")
    assert "李跳江：跳江救人的好民警" in titles
    page.select_option("#search-unit", "south")
    page.wait_for_function("document.querySelectorAll('.search-result').length === 0 || "
                           "[...document.querySelectorAll('.search-result-title')].every("
                           "e => !e.innerText.includes('李跳江：'))", timeout=10000)
    page.select_option("#search-unit", "north")
    page.wait_for_function("[...document.querySelectorAll('.search-result-title')].some("
                           "e => e.innerText.includes('李跳江：'))", timeout=10000)
    assert "unit=north" in page.url
    # keyboard: ↓ from the box to the first result, then on to the next
    page.locator("#search-q").press("ArrowDown")
    assert page.evaluate("document.activeElement.closest('.search-result') !== null")
    # a shared address shows the same results
    shared = browser.new_page()
    shared.goto(url + "search/index.html?q=%E7%8E%8B%E4%BA%94")
    shared.wait_for_selector("#search-results[data-query='王五']", timeout=10000)
    assert shared.locator(".search-result-title").first.inner_text() == "王五的故事"
    assert not problems, problems


def test_typing_a_query_on_the_site_opened_from_disk(site: Site, browser: Any) -> None:
    populate(site)
    site.build()
    page = browser.new_page()
    problems = watch(page)
    page.goto((site.out / "search" / "index.html").as_uri())
    titles = type_query(page, "李跳江")
    assert titles[0] == "李跳江：跳江救人的好民警"
    assert set(titles) == {"李跳江：跳江救人的好民警", "王五的故事", "向李跳江同志学习"}
    link = page.locator(".search-result-title a").first.get_attribute("href")
    assert link == "../stories/a/index.html"
    page.locator(".search-result-title a").first.click()
    page.wait_for_load_state()
    assert Path(page.url.removeprefix("file://")).resolve() == (site.out / "stories/a/index.html").resolve()
    page.go_back()
    page.locator("#search-q").fill("")
    assert type_query(page, "雷") == []
    assert "没有找到" in page.locator("#search-status").inner_text()
    assert not problems, problems


def test_results_are_listed_before_their_snippets_arrive(served: tuple[Site, str], browser: Any) -> None:
    """The titles come from the card files as soon as the shards answer; each snippet is filled
    when its document file arrives (held back here until the list is checked). The document
    files of the results are all requested at once, when the list is shown."""
    _site, url = served
    page = browser.new_page()
    problems = watch(page)
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    page.route("**/search/data/d/*.js", hold)
    page.goto(url + "search/index.html")
    page.wait_for_selector("#search-results[data-done]", state="attached", timeout=10000)
    page.locator("#search-q").fill("李跳江")  # (one input event: one query's files)
    page.wait_for_selector("#search-results[data-shown='李跳江']", state="attached", timeout=10000)
    titles = page.locator(".search-result-title").all_inner_texts()
    assert set(titles) == {"李跳江：跳江救人的好民警", "王五的故事", "向李跳江同志学习"}
    assert page.locator(".search-result-meta").first.inner_text()  # kind, name, unit, date
    assert page.locator(".search-result-snippet.is-pending").count() == 3
    assert page.locator(".search-result-snippet mark").count() == 0
    assert page.get_attribute("#search-results", "data-query") != "李跳江"
    assert page.get_attribute("#search-results", "aria-busy") == "true"
    page.wait_for_timeout(100)  # (a request still to come would be held too)
    assert sorted(r.request.url.rsplit("/", 1)[1] for r in held) == ["2.js", "3.js", "4.js"]
    # the keyboard works on the listed results, and the focus stays put when the snippets come
    page.locator("#search-q").press("ArrowDown")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused in titles
    for route in held:
        route.continue_()
    page.wait_for_selector("#search-results[data-query='李跳江']", state="attached", timeout=10000)
    assert page.locator(".search-result-snippet.is-pending").count() == 0
    assert page.locator(".search-result-snippet mark").first.inner_text() == "李跳江"
    assert page.locator(".search-result-title").first.inner_text() == "李跳江：跳江救人的好民警"
    assert page.evaluate("document.activeElement.textContent") == focused
    assert page.get_attribute("#search-results", "aria-busy") is None
    assert not problems, problems


def test_results_are_listed_from_the_documents_when_a_card_file_is_missing(
        served: tuple[Site, str], browser: Any) -> None:
    site, url = served
    (site.out / "search/data/c/0.js").unlink()  # (three results in one block: it would be loaded)
    page = browser.new_page()
    page.goto(url + "search/index.html?q=%E6%9D%8E%E8%B7%B3%E6%B1%9F")
    page.wait_for_selector("#search-results[data-query='李跳江']", state="attached", timeout=10000)
    assert page.locator(".search-result-title").first.inner_text() == "李跳江：跳江救人的好民警"
    assert page.locator(".search-result").count() == 3
    assert page.locator(".search-result-snippet mark").first.inner_text() == "李跳江"
