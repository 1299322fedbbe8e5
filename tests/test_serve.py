"""The preview server, for real: a free port, HTTP requests, server-sent events."""

from __future__ import annotations

import http.client
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html
from watchdog.events import FileSystemEventHandler

from conftest import NOW, Site, free_port, story, wait_until
from exemplar_site.runs import BuildOptions
from exemplar_site.serve import PreviewServer
from exemplar_site.theme import BUILTIN_DEFAULT


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


class Events:
    """Reads an SSE stream in a thread and collects the event names."""

    def __init__(self, port: int, epoch: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.request("GET", f"/__livereload?epoch={epoch}")
        self.resp = self.conn.getresponse()
        assert self.resp.getheader("Content-Type") == "text/event-stream"
        self.events: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for raw in self.resp:
                line = raw.decode().strip()
                if line.startswith("event:"):
                    self.events.append(line.split(":", 1)[1].strip())
        except Exception:  # noqa: BLE001 - however the stream ends (closed by the test or the server), reading stops
            pass

    def wait(self, n: int, timeout: float = 15) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(self.events) >= n:
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def server(site: Site) -> Iterator[PreviewServer]:
    site.story("a", "a-1", slug="a", title="第一版标题")
    srv = PreviewServer(site.config, port=free_port(), debounce=0.2, now=lambda: NOW)
    srv.start()
    yield srv
    srv.stop()


def test_rebuild_on_change_and_reload_event(site: Site, server: PreviewServer) -> None:
    status, page = get(server.url + "stories/a/")
    assert status == 200 and "第一版标题" in page
    assert "/__livereload" in page and "EventSource" in page
    epoch = server.state.epoch
    events = Events(server.httpd.server_address[1], epoch)
    site.story("a", "a-1", slug="a", title="第二版标题")
    assert events.wait(1), "no reload event"
    assert events.events[0] == "reload"
    status, page = get(server.url + "stories/a/")
    assert "第二版标题" in page
    events.close()
    # the reload script exists only in served responses, never in the build output
    assert not any(b"__livereload" in p.read_bytes() for p in server.output.rglob("*.html"))


def test_a_burst_of_saves_is_one_rebuild(site: Site, server: PreviewServer) -> None:
    builds = server.state.builds
    for i in range(8):
        site.story("a", "a-1", slug="a", title=f"连续保存{i}")
        time.sleep(0.02)
    assert wait_until(lambda: server.state.builds > builds)
    time.sleep(1.0)
    assert server.state.builds == builds + 1
    assert "连续保存7" in get(server.url + "stories/a/")[1]


def test_broken_story_shows_error_overlay_and_keeps_old_site(site: Site, server: PreviewServer) -> None:
    epoch = server.state.epoch
    site.story("a", "a-1", slug="a", title="第一版标题", unit="no-such-unit")
    assert wait_until(lambda: server.state.epoch > epoch)
    status, page = get(server.url + "stories/a/")
    assert status == 200 and "第一版标题" in page  # last good build still served
    assert "build-error-overlay" in page and "unknown unit &#x27;no-such-unit&#x27;" in page
    doc: Any = lxml_html.fromstring(page)
    (problem,) = doc.xpath("//*[@id='build-error-overlay']//li[@class='beo-problem']")
    assert problem.xpath("string(.//*[@class='beo-file'])") == "content/stories/a.md"
    assert problem.xpath("string(.//*[@class='beo-line'])") == "line 6"
    epoch = server.state.epoch
    site.story("a", "a-1", slug="a", title="修好了")
    assert wait_until(lambda: server.state.epoch > epoch)
    status, page = get(server.url + "stories/a/")
    assert "修好了" in page and "build-error-overlay" not in page


def test_serves_under_base_path_with_redirects_and_404(server: PreviewServer) -> None:
    assert server.url.endswith("/pub/")
    conn = http.client.HTTPConnection("127.0.0.1", server.httpd.server_address[1], timeout=10)
    conn.request("GET", "/")
    r = conn.getresponse()
    assert r.status == 302 and r.getheader("Location") == "/pub/"
    r.read()
    conn.request("GET", "/pub/stories/a")
    r = conn.getresponse()
    assert r.status == 302 and r.getheader("Location") == "/pub/stories/a/"
    r.read()
    status, page = get(server.url + "nowhere/")
    assert status == 404 and "页面未找到" in page
    assert get(server.url + "../../etc/passwd")[0] == 404
    status, css = get(server.url + "static/site.css")
    assert status == 200 and "EventSource" not in css
    conn.close()


def test_a_first_build_that_fails_shows_its_errors_and_then_the_site_once_fixed(site: Site) -> None:
    """No site yet: every address answers 404 with a page of its own that carries the error box and
    the live reload, so the browser shows what is wrong and then the site, by itself."""
    site.story("a", "a-1", slug="a", unit="no-such-unit")
    srv = PreviewServer(site.config, port=free_port(), debounce=0.1, now=lambda: NOW)
    srv.start()
    try:
        status, page = get(srv.url + "stories/a/")
        assert status == 404 and "build-error-overlay" in page and "no-such-unit" in page
        assert "/__livereload" in page and "EventSource" in page
        epoch = srv.state.epoch
        events = Events(srv.httpd.server_address[1], epoch)
        site.story("a", "a-1", slug="a", title="修好以后")
        assert events.wait(1)
        events.close()
        assert "修好以后" in get(srv.url + "stories/a/")[1]
    finally:
        srv.stop()


def test_stop_cleans_up(site: Site) -> None:
    site.story("a", "a-1")
    srv = PreviewServer(site.config, port=free_port(), now=lambda: NOW)
    srv.start()
    root = srv.root
    assert root.exists()
    srv.stop()
    assert not root.exists()
    assert not (site.root / "public").exists()  # preview never touches the public output


def test_stopping_during_a_rebuild_stops_it_at_its_next_page_and_leaves_nothing_behind(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while a long rebuild writes: the build gives up at its next page (it reports each one),
    and only then is the private folder (drafts' pages, with --drafts) removed: nothing is left."""
    import exemplar_site.serve as serve
    site.story("a", "a-1")
    srv = PreviewServer(site.config, port=free_port(), debounce=0.1, now=lambda: NOW)
    srv.start()
    from exemplar_site.pipeline import build_site as real

    writing = threading.Event()

    def long_build(config: Path, options: BuildOptions, progress: Any, **kw: Any) -> Any:
        for i in range(10_000):  # (a site's pages, written one by one, a little slowly)
            (options.output or srv.output).joinpath(f"page-{i}.html").write_text("x")
            writing.set()
            progress("pages", i + 1, 10_000)
            time.sleep(0.01)
        return real(config, options, progress, **kw)

    monkeypatch.setattr(serve, "build_site", long_build)
    site.story("a", "a-1", title="改过的标题")
    assert writing.wait(15)
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 10 and not srv.root.exists()
    time.sleep(0.3)
    assert not srv.root.exists()


def test_an_in_place_build_reports_each_page_it_renders(site: Site) -> None:
    from exemplar_site.pipeline import build_site

    site.story("a", "a-1")
    site.build(output=site.root / "p", cache=False)
    site.story("a", "a-1", title="改过的标题")
    seen: list[tuple[str, int, int]] = []
    build_site(site.config, BuildOptions(now=NOW, output=site.root / "p", cache=False, in_place=True),
               progress=lambda stage, done, total: seen.append((stage, done, total)))
    pages = [x for x in seen if x[0] == "pages"]
    assert len(pages) > 2 and pages[-1][1] == pages[-1][2] and [d for _, d, _ in pages] == list(range(len(pages)))


def test_broken_template_keeps_the_last_good_site(site: Site, server: PreviewServer) -> None:
    theme = site.root / "themes" / "default" / "templates"
    theme.mkdir(parents=True)
    epoch = server.state.epoch
    (theme / "story.html").write_text("{% extends 'default/story.html' %}{% block title %}{{ oops( }}{% endblock %}",
                                      encoding="utf-8")
    assert wait_until(lambda: server.state.epoch > epoch)
    status, page = get(server.url + "stories/a/")
    assert status == 200 and "第一版标题" in page and "build-error-overlay" in page
    epoch = server.state.epoch
    (theme / "story.html").unlink()
    assert wait_until(lambda: server.state.epoch > epoch)
    assert "build-error-overlay" not in get(server.url + "stories/a/")[1]


def test_the_file_watcher_and_the_http_handler_stay_apart(site: Site, server: PreviewServer) -> None:
    # start() used to store the file watcher under the name of the method that makes the HTTP handler
    assert server._http_handler() is not server.httpd.RequestHandlerClass  # a fresh class, even after start()
    assert issubclass(server._http_handler(), BaseHTTPRequestHandler)
    assert isinstance(server._watcher, FileSystemEventHandler)
    # a folder that appears after start() is watched with the same watcher: its changes rebuild
    extra = site.root / "themes" / "default" / "static"
    extra.mkdir(parents=True)
    assert wait_until(lambda: str(site.root / "themes") in server._watched)
    epoch = server.state.epoch
    (extra / "extra.css").write_text("body { color: #123; }", encoding="utf-8")
    assert wait_until(lambda: server.state.epoch > epoch)


def test_content_replaced_or_moved_by_the_config_is_still_watched(site: Site, server: PreviewServer) -> None:
    """A backup restored or a sync tool's copy replaces content/ (moved away, copied back): its old
    watch died with it, and edits (a withdrawal) must still rebuild. So must edits in a content
    folder the config moves to."""
    import shutil

    def edited(title: str, folder: str = "content") -> None:
        builds = server.state.builds
        (site.root / folder / "stories" / "a.md").write_text(story("a-1", slug="a", title=title), encoding="utf-8")
        assert wait_until(lambda: server.state.builds > builds), title
        assert wait_until(lambda: title in get(server.url + "stories/a/")[1]), title

    content = site.root / "content"
    builds = server.state.builds
    content.rename(site.root / "content.old")
    shutil.copytree(site.root / "content.old", content)
    shutil.rmtree(site.root / "content.old")
    assert wait_until(lambda: server.state.builds > builds)
    time.sleep(0.5)
    edited("恢复备份以后改的标题")
    builds = server.state.builds
    site.story("a", "a-1", slug="a", status="withdrawn")
    assert wait_until(lambda: server.state.builds > builds)
    assert wait_until(lambda: "恢复备份以后改的标题" not in get(server.url + "stories/a/")[1])
    # the config moves content/ elsewhere
    shutil.copytree(content, site.root / "content2")
    builds = server.state.builds
    site.config.write_text(site.config.read_text(encoding="utf-8") + "content_dir: content2\n", encoding="utf-8")
    assert wait_until(lambda: server.state.builds > builds)
    time.sleep(0.5)
    edited("移到新文件夹以后改的标题", "content2")


def test_the_preview_follows_the_clock_with_no_file_changed(site: Site) -> None:
    """A vetting that runs out while the preview runs takes its story down, and a scheduled story
    comes up at its time, as a clean build as of then shows, with nobody saving a file."""
    import datetime as dt

    site.story("old", "old-1", slug="old", title="审核将要过期的事迹",
               vetting={"cleared_by": "市局纪委", "date": dt.date(2025, 12, 1), "ref": "纪审7号"})
    site.story("later", "later-1", slug="later", title="定时发布的事迹", date=dt.datetime(2026, 11, 25, 9, 0))
    clock = [NOW]
    srv = PreviewServer(site.config, port=free_port(), debounce=0.1, now=lambda: clock[0])
    srv.start()
    try:
        assert "审核将要过期的事迹" in get(srv.url)[1] and "定时发布的事迹" not in get(srv.url)[1]
        builds = srv.state.builds
        time.sleep(0.6)
        assert srv.state.builds == builds  # (nothing is due: no rebuild)
        clock[0] = dt.datetime(2026, 11, 25, 9, 0, 1, tzinfo=NOW.tzinfo)
        assert wait_until(lambda: "定时发布的事迹" in get(srv.url)[1])
        clock[0] = dt.datetime(2026, 12, 2, 0, 0, 1, tzinfo=NOW.tzinfo)
        assert wait_until(lambda: "审核将要过期的事迹" not in get(srv.url)[1])
        clean = site.root / "clean"
        site.build(now=clock[0], output=clean, cache=False)
        assert (clean / "index.html").read_bytes() == (srv.output / "index.html").read_bytes()
        assert not (srv.output / "stories/old").exists() or (srv.output / "stories/old/index.html").read_bytes() \
            == (clean / "stories/old/index.html").read_bytes()
    finally:
        srv.stop()


class PathEvents(Events):
    """An SSE stream opened the way the injected script opens it: with the page it shows."""

    def __init__(self, port: int, epoch: int, page: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.request("GET", f"/__livereload?epoch={epoch}&path={page}")
        self.resp = self.conn.getresponse()
        self.events = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()


def test_saved_story_is_shown_before_the_full_rebuild_and_only_its_viewers_reload(site: Site) -> None:
    site.story("a", "a-1", slug="a", title="甲的事迹", summary="甲的简介。", body="第一段。\n\n第二段，第一版。")
    site.story("b", "b-1", slug="b", title="乙的事迹", tags=["交通安全"])
    messages: list[str] = []
    srv = PreviewServer(site.config, port=free_port(), debounce=0.1, now=lambda: NOW, log=messages.append)
    srv.start()
    try:
        port = srv.httpd.server_address[1]
        epoch = srv.state.epoch
        on_a = PathEvents(port, epoch, "/pub/stories/a/")
        on_b = PathEvents(port, epoch, "/pub/stories/b/")
        builds = srv.state.builds
        # (a link to a story public in the last build is shown at once too)
        site.story("a", "a-1", slug="a", title="甲的事迹", summary="甲的简介。",
                   body="第一段。\n\n第二段，第二版。见[乙的事迹](/stories/b/)。")
        assert on_a.wait(1), "the browser showing the edited story did not reload"
        assert "第二版" in get(srv.url + "stories/a/")[1]
        assert wait_until(lambda: srv.state.builds > builds)
        assert any("at once" in m for m in messages)
        time.sleep(0.5)
        assert on_b.events == []  # b's page shows a's title and summary only, which did not change
        assert len(on_a.events) == 1  # the full rebuild wrote a's page with the same bytes: no second reload
        # what the preview showed is what the full build makes
        clean = site.root / "clean"
        site.build(output=clean, cache=False)
        assert (clean / "stories/a/index.html").read_bytes() == (srv.output / "stories/a/index.html").read_bytes()
        on_a.close()
        on_b.close()
    finally:
        srv.stop()


def test_a_story_with_a_photo_saved_again_unchanged_ends_as_a_clean_build_makes_it(site: Site) -> None:
    """The instant preview of a story renders it without its photos' web sizes and press copy (the
    full build joins those); the full rebuild that follows must put the page right even when its
    key says nothing changed (a save with no change, Ctrl-S), never keep what the preview wrote."""
    site.story("a", "a-1", slug="a", title="甲的事迹", images=[{"src": "images/a.png", "alt": "他在社区"}])
    srv = PreviewServer(site.config, port=free_port(), debounce=0.1, now=lambda: NOW)
    srv.start()
    try:
        clean = site.root / "clean"
        site.build(output=clean, cache=False)
        page = "stories/a/index.html"
        assert (srv.output / page).read_bytes() == (clean / page).read_bytes()
        builds = srv.state.builds
        path = site.root / "content/stories/a.md"
        path.write_bytes(path.read_bytes())  # (saved again as it was)
        assert wait_until(lambda: srv.state.builds > builds)
        time.sleep(0.3)
        assert (srv.output / page).read_bytes() == (clean / page).read_bytes()
        assert "press/a-1" in get(srv.url + "stories/a/")[1]
    finally:
        srv.stop()


def test_story_changes_a_preview_cannot_show_wait_for_the_rebuild(site: Site, server: PreviewServer) -> None:
    from exemplar_site.pipeline import StoryPreview
    preview = server._preview
    assert isinstance(preview, StoryPreview)
    path = site.root / "content/stories/a.md"
    site.story("a", "a-1", slug="a", title="第一版标题", body="新的正文。")
    assert preview.render(path) is not None
    site.story("a", "a-1", slug="a", title="第一版标题", tags=["从未用过的标签"])  # a new listing
    assert preview.render(path) is None
    site.story("a", "a-1", slug="a-new")  # a new address
    assert preview.render(path) is None
    site.story("a", "a-1", slug="a", status="withdrawn")
    assert preview.render(path) is None
    site.story("a", "a-1", slug="a", unit="no-such-unit")
    assert preview.render(path) is None
    # what only the checks across stories can refuse: a link to a story (held back, withdrawn), in any
    # spelling, and a story of a series (the others' private values, a withdrawal taking the series)
    for body in ("见[另一篇](/stories/b/)。", "见[另一篇](../stories/b/)。", "见[另一篇](http://test.example/pub/stories/b/)。"):
        site.story("a", "a-1", slug="a", title="第一版标题", body=body)
        assert preview.render(path) is None, body
    site.story("a", "a-1", slug="a", title="第一版标题", exemplar_of="z-1")
    assert preview.render(path) is None


def test_a_failed_rebuild_after_a_preview_puts_the_previous_page_back(site: Site, server: PreviewServer,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import exemplar_site.serve as serve
    from exemplar_site.errors import BuildFailed, Problem

    def failing(*args: object, **kwargs: object) -> None:
        raise BuildFailed([Problem("content/campaigns/x.md", 3, "exemplars", "no story has id 'zz'")])

    before = (server.output / "stories/a/index.html").read_bytes()
    monkeypatch.setattr(serve, "build_site", failing)
    epoch = server.state.epoch
    site.story("a", "a-1", slug="a", title="第一版标题", body="预览中的正文。")
    assert wait_until(lambda: server.state.epoch >= epoch + 2)  # the preview, then the failed rebuild
    _, page = get(server.url + "stories/a/")
    assert "build-error-overlay" in page and "预览中的正文" not in page
    assert (server.output / "stories/a/index.html").read_bytes() == before


def test_a_style_sheet_change_reloads_every_page(site: Site, server: PreviewServer) -> None:
    port = server.httpd.server_address[1]
    on_a = PathEvents(port, server.state.epoch, "/pub/stories/a/")
    static = site.root / "themes" / "default" / "static"
    static.mkdir(parents=True)
    css = (BUILTIN_DEFAULT / "static" / "site.css").read_text(encoding="utf-8")
    (static / "site.css").write_text(css + "\n.x{color:red}\n", encoding="utf-8")
    assert on_a.wait(1), "a style sheet changed, and the page showing it did not reload"
    assert ".x{color:red}" in get(server.url + "static/site.css")[1]
    on_a.close()


def test_the_error_overlay_shows_each_problem_as_blocks_to_read() -> None:
    from exemplar_site.errors import WARNING, Problem
    from exemplar_site.serve_overlay import inject

    problems = [
        Problem("content/stories/a.md", 5, "name", "'name' is not filled in yet", "e.g. name: 张三"),
        Problem("content/stories/<b>x</b>.md", None, None, "<script>alert(1)</script> & more"),
        Problem("content/stories/c.md", 2, "tags", "a tag list item holds a comma", severity=WARNING),
    ]
    page = inject(b"<html><body><p>page</p></body></html>", problems, "<script>/*reload*/</script>").decode()
    doc: Any = lxml_html.fromstring(page)
    (overlay,) = doc.xpath("//div[@id='build-error-overlay']")
    assert overlay.get("role") == "alert" and overlay.get("lang") == "en"
    assert "pre" not in {e.tag for e in overlay.iter()}  # not a terminal dump
    title = overlay.xpath("string(.//*[@class='beo-title'])")
    assert title == "The site could not be built: change the 2 problems below"
    blocks = overlay.xpath(".//ol[@class='beo-list']/li[@class='beo-problem']")
    assert len(blocks) == 2  # errors only: a warning does not stop the build
    first, second = blocks

    def text(block: Any, cls: str) -> list[str]:
        return [e.text_content() for e in block.xpath(f".//*[@class='{cls}']")]

    assert text(first, "beo-file") == ["content/stories/a.md"] and text(first, "beo-line") == ["line 5"]
    assert text(first, "beo-field") == ["field: name"]
    assert text(first, "beo-message") == ["'name' is not filled in yet"]
    assert text(first, "beo-accepted") == ["accepted: e.g. name: 张三"]
    # the file and line come first, what is wrong under them, what is accepted under that
    assert [e.get("class") for e in first] == ["beo-where", "beo-message", "beo-accepted"]
    # escaped: a file name or message is text, never markup
    assert text(second, "beo-file") == ["content/stories/<b>x</b>.md"] and text(second, "beo-line") == []
    assert text(second, "beo-message") == ["<script>alert(1)</script> & more"]
    assert not second.xpath(".//b | .//script") and "<script>alert(1)" not in page
    assert page.index("build-error-overlay") < page.index("/*reload*/") < page.index("</body>")
    assert b"build-error-overlay" not in inject(b"<body></body>", problems[2:], "")


def test_the_error_overlay_never_shows_a_phone_or_id_number_a_message_echoes(site: Site,
                                                                             server: PreviewServer) -> None:
    """A value typed into the wrong field is echoed by its message (unknown unit '…'): the box over
    the page, which anyone near the screen reads, hides the numbers in it."""
    site.story("a", "a-1", slug="a", unit="张秀英 13905111234", field="身份证 110105194912310021")
    assert wait_until(lambda: "build-error-overlay" in get(server.url + "stories/a/")[1])
    page = get(server.url + "stories/a/")[1]
    assert "张秀英" in page and "13905111234" not in page and "110105194912310021" not in page


def test_a_preview_at_a_fixed_time_without_a_zone_survives_a_failed_build(site: Site) -> None:
    """`serve --now 2026-11-24` gives a time without a zone (the site's): a failed rebuild, then a
    fixed one, work as with any clock."""
    import datetime as dt

    site.story("a", "a-1", slug="a", title="第一版")
    srv = PreviewServer(site.config, port=free_port(), debounce=0.1, now=lambda: dt.datetime(2026, 11, 24, 10))
    srv.start()
    try:
        site.story("a", "a-1", slug="a", unit="no-such-unit")
        assert wait_until(lambda: "build-error-overlay" in get(srv.url + "stories/a/")[1])
        site.story("a", "a-1", slug="a", title="修好以后")
        assert wait_until(lambda: "修好以后" in get(srv.url + "stories/a/")[1])
    finally:
        srv.stop()


def test_the_error_overlay_speaks_the_users_language() -> None:
    from exemplar_site import i18n
    from exemplar_site.errors import Problem
    from exemplar_site.serve_overlay import error_overlay

    i18n.use("zh_CN")
    try:
        overlay: Any = lxml_html.fromstring(error_overlay([Problem("content/stories/a.md", 5, "unit", "没有这个单位",
                                                              "n1, n2")]))
    finally:
        i18n.use("en")
    assert overlay.get("lang") == "zh-CN"
    assert overlay.xpath("string(.//*[@class='beo-accepted'])") == "可填写：n1, n2"


# ---- the first build: from the last build's cache, on every core -------------------------------

def _cache_files(site: Site) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(site.root.glob(".public.cache*"))}


def test_the_preview_starts_from_the_last_builds_cache_and_leaves_it_as_it_was(site: Site, monkeypatch: Any) -> None:
    """After `build`, the preview renders again only the story edited since (its cache is read from
    beside the public output, never written), and serves the pages the build made."""
    from exemplar_site.gate import render_body as real

    for i in range(6):
        site.story(f"s{i}", f"s-{i}", slug=f"s{i}", title=f"第{i}篇的标题")
    site.build()
    site.story("s2", "s-2", slug="s2", title="改过的标题")
    built = site.files()
    on_disk = _cache_files(site)
    assert ".public.cache" in on_disk and ".public.cache.bodies" in on_disk
    rendered: list[str] = []

    def render_body(text: str, markup: Any) -> Any:
        rendered.append(text)
        return real(text, markup)

    monkeypatch.setattr("exemplar_site.incremental.render_body", render_body)
    monkeypatch.setenv("EXEMPLAR_SITE_PORTABLE", "")  # (forked workers if any: the count is seen in here)
    monkeypatch.setattr(threading, "active_count", lambda: 2)  # (no workers: every rendering is seen here)
    srv = PreviewServer(site.config, port=free_port(), now=lambda: NOW)
    srv.start()
    try:
        assert len(rendered) == 1  # the story edited since the build, and nothing else
        status, page = get(srv.url + "stories/s2/")
        assert status == 200 and "改过的标题" in page
        served = {p.relative_to(srv.output).as_posix(): p.read_bytes() for p in srv.output.rglob("*.html")}
        site.build()
        rebuilt = site.files()
        assert rebuilt != built
        for rel, data in served.items():  # the preview's pages are the build's
            assert (site.out / rel).read_bytes() == data, rel
    finally:
        srv.stop()
    assert on_disk != _cache_files(site)  # (the second build above wrote it; the preview did not)
    site.story("s3", "s-3", slug="s3", title="又一处改动")
    before = _cache_files(site)
    srv = PreviewServer(site.config, port=free_port(), now=lambda: NOW)
    srv.start()
    srv.stop()
    assert _cache_files(site) == before


def test_a_cache_the_preview_cannot_trust_is_left_where_it_is(site: Site) -> None:
    site.story("a", "a-1", slug="a", title="标题")
    site.build()
    for name in (".public.cache", ".public.cache.bodies", ".public.cache.search"):
        (site.root / name).write_bytes(b"not a cache")
    before = _cache_files(site)
    srv = PreviewServer(site.config, port=free_port(), now=lambda: NOW)
    srv.start()
    try:
        status, page = get(srv.url + "stories/a/")
        assert status == 200 and "标题" in page
    finally:
        srv.stop()
    assert _cache_files(site) == before


@pytest.mark.parametrize("threads, first", [(1, 0), (3, 1)])
def test_the_first_build_is_a_new_tree_on_every_core_only_in_a_process_without_other_threads(
        site: Site, monkeypatch: Any, threads: int, first: int) -> None:
    """The first build writes a new tree as `build` does (over forked workers when no other thread
    runs: no watcher or server thread has started yet); later ones update the folder in place in
    this process. The pages are the same either way."""
    site.story("a", "a-1", slug="a", title="第一版标题")
    site.story("b", "b-1", slug="b", title="另一篇")
    made: list[tuple[int, bool]] = []
    real = PreviewServer._build_site

    def build(self: PreviewServer, options: Any, loaded: Any) -> Any:
        made.append((options.workers, options.in_place))
        return real(self, options, loaded)

    monkeypatch.setattr(PreviewServer, "_build_site", build)
    monkeypatch.setenv("EXEMPLAR_SITE_PORTABLE", "")  # (forked workers: the threads count; spawned ones never mind)
    monkeypatch.setattr(threading, "active_count", lambda: threads)
    srv = PreviewServer(site.config, port=free_port(), debounce=0.2, now=lambda: NOW)
    srv.start()
    try:
        assert made == [(first, False)]
        site.story("a", "a-1", slug="a", title="第二版标题")
        assert wait_until(lambda: len(made) == 2)
        assert made[1] == (1, True)
        assert wait_until(lambda: "第二版标题" in get(srv.url + "stories/a/")[1])
        site.build()
        for p in site.out.rglob("*.html"):
            assert (srv.output / p.relative_to(site.out)).read_bytes() == p.read_bytes(), p
    finally:
        srv.stop()


def test_a_save_while_the_first_build_runs_is_not_missed(site: Site, monkeypatch: Any) -> None:
    """The watcher starts after the first build; a file saved meanwhile is seen by its signature."""
    site.story("a", "a-1", slug="a", title="第一版标题")
    real = PreviewServer._build_site
    calls: list[int] = []

    def build(self: PreviewServer, options: Any, loaded: Any) -> Any:
        report = real(self, options, loaded)
        if not calls:
            site.story("a", "a-1", slug="a", title="构建时保存的标题")
        calls.append(1)
        return report

    monkeypatch.setattr(PreviewServer, "_build_site", build)
    srv = PreviewServer(site.config, port=free_port(), debounce=0.2, now=lambda: NOW)
    srv.start()
    try:
        assert len(calls) == 2
        assert "构建时保存的标题" in get(srv.url + "stories/a/")[1]
    finally:
        srv.stop()


def test_a_cache_read_only_is_never_written(site: Site) -> None:
    from exemplar_site.cache import BuildCache, cache_path

    site.story("a", "a-1", slug="a", title="标题")
    site.build()
    before = _cache_files(site)
    cache, notice = BuildCache.load(cache_path(site.out), read_only=True)
    assert notice is None and cache.records
    cache.memo["something new"] = "x"
    cache.put_body("new", "x")
    cache.save()
    assert _cache_files(site) == before
    writable, _ = BuildCache.load(cache_path(site.out))
    writable.memo["something new"] = "x"
    writable.save()
    assert _cache_files(site) != before  # (the same steps do write a cache that is not read only)
