"""Live preview: build, serve under base_path, watch, rebuild, reload the browser.

- The site is built into a private folder (never the public output) with the
  normal atomic writer, so a failed rebuild leaves the last good site being
  served.
- watchdog watches content/, themes/ and the config; a burst of saves is
  debounced into one rebuild.
- A saved story is shown at once: its page is rendered against the last good
  build and written before the full rebuild starts (StoryPreview); the
  rebuild then updates every other page that shows it (and the story's own
  page again, if the rest of the site changed what it shows).
- Browsers listen on /__livereload (server-sent events) and say which page
  they show; a browser reloads only when its page changed (or a template,
  a style sheet, the error state). The reload script and, after a failed
  build, an error overlay are injected into HTML responses by the server
  only; they are never written into a build.
- Only this machine's own names are answered (a Host header naming another
  site is refused, against DNS rebinding), idle connections are closed after
  `idle_timeout` seconds, and a path that cannot be a file is a 404, never a
  traceback.
"""

from __future__ import annotations

import datetime as dt
import html
import ipaddress
import mimetypes
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .cache import BuildCache
from .config import load_config
from .errors import BuildFailed, Problem
from .pipeline import BuildOptions, BuildReport, LoadedSite, StoryPreview, build_site

RELOAD_PATH = "/__livereload"
_SHARED = ("static/", "images/", "media/", "files/")  # files a change to which may show on any page
_IGNORED_SUFFIXES = ("~", ".swp", ".swx", ".tmp", ".bak", ".part")
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
_HOST_HEADER = re.compile(r"(?:\[([0-9a-f:.]+)\]|([^\s:\[\]/@]*))(?::[0-9]*)?")


def host_allowed(header: str, listen_host: str) -> bool:
    """Whether a request's Host header names the machine the preview runs on.

    A page of another web site whose name the attacker points at 127.0.0.1 (DNS rebinding) sends its
    own name as Host: refused. Accepted: localhost, 127.0.0.1, [::1], the --host value and, when
    listening on every address (0.0.0.0, ::), any IP address and this machine's name. The port is not
    compared: it is no defence against rebinding, and an SSH or editor port forward changes it.
    """
    match = _HOST_HEADER.fullmatch(header.strip().lower())
    if match is None:
        return False
    name = (match.group(1) or match.group(2) or "").rstrip(".")
    listen = listen_host.strip("[]").lower().rstrip(".")
    if not name:
        return False
    if name in _LOOPBACK_NAMES or name == listen:
        return True
    if listen in _WILDCARD_HOSTS:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return name == socket.gethostname().lower()
        return True
    return False


class _HTTPServer(ThreadingHTTPServer):
    request_queue_size = 64  # connections waiting to be accepted (the default 5 refuses a page's burst)
    daemon_threads = True  # a stuck client never keeps the program from exiting; stop() waits a bounded time

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6  # --host ::1
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # the browser went away or stayed silent: nothing to report
        super().handle_error(request, client_address)  # type: ignore[arg-type]


@dataclass
class BuildState:
    """What the server knows about the latest build: shared between threads, guarded by `cond`.

    Every update of the served files is an epoch; `history` says which files each
    epoch changed (None: any page may have changed, e.g. a template, or the error
    overlay came or went), so that only browsers showing a changed page reload.
    """

    epoch: int = 0
    builds: int = 0  # full rebuilds, successful or not (previews of one story are not counted)
    problems: list[Problem] = field(default_factory=list)
    last_report: BuildReport | None = None
    history: list[tuple[int, frozenset[str] | None]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def publish(self, problems: list[Problem], report: BuildReport | None,
                changed: frozenset[str] | None = None, build: bool = True) -> None:
        with self.cond:
            errors_before = any(p.is_error for p in self.problems)
            self.epoch += 1
            self.builds += build
            if any(p.is_error for p in problems) or errors_before:
                changed = None  # the overlay shows on every page, or must go from every page
            self.problems = problems
            if report is not None:
                self.last_report = report
            self.history = [*self.history[-200:], (self.epoch, changed)]
            self.cond.notify_all()

    def touches(self, since: int, until: int, page: str | None) -> bool:
        """Whether any epoch in (since, until] changed `page` (a file path; None: any page)."""
        if page is None:
            return True
        seen = [c for e, c in self.history if since < e <= until]
        if len(seen) < until - since:  # older than the history
            return True
        return any(c is None or page in c for c in seen)


def reload_script(epoch: int) -> str:
    return (
        f"<script>(function(){{var e={epoch};var s=new EventSource('{RELOAD_PATH}?epoch='+e+'&path='"
        "+encodeURIComponent(location.pathname));"
        "s.addEventListener('reload',function(){s.close();location.reload();});})();</script>"
    )


def error_overlay(problems: list[Problem]) -> str:
    items = "".join(f"<li><pre style='white-space:pre-wrap;margin:0'>{html.escape(p.format())}</pre></li>"
                    for p in problems if p.is_error)
    return (
        "<div id='build-error-overlay' role='alert' style='position:fixed;z-index:99999;inset:0 0 auto 0;"
        "max-height:70vh;overflow:auto;background:#fff3f3;color:#600;border-bottom:4px solid #b3261e;"
        "padding:16px 24px;font:15px/1.6 sans-serif;box-shadow:0 4px 16px rgba(0,0,0,.3)'>"
        "<strong>构建失败：请修改以下问题（正在显示上一次成功构建的页面）</strong>"
        f"<ol style='padding-left:1.4em'>{items}</ol></div>"
    )


def inject(page: bytes, epoch: int, problems: list[Problem]) -> bytes:
    text = page.decode("utf-8", errors="replace")
    extra = (error_overlay(problems) if any(p.is_error for p in problems) else "") + reload_script(epoch)
    i = text.lower().rfind("</body>")
    text = text[:i] + extra + text[i:] if i != -1 else text + extra
    return text.encode("utf-8")


class PreviewServer:
    """Build, serve and watch one site. start() returns at once; stop() shuts everything down."""

    def __init__(self, config_path: str | Path, host: str = "127.0.0.1", port: int = 8000, drafts: bool = False,
                 debounce: float = 0.15, now: Callable[[], dt.datetime] | None = None,
                 log: Callable[[str], None] | None = None, idle_timeout: float = 30.0):
        self.config_path = Path(config_path).resolve()
        self.config = load_config(self.config_path)
        self.drafts = drafts
        self.debounce = debounce
        self.host = host
        self.idle_timeout = idle_timeout  # seconds a connection may stay silent (not the live-reload stream)
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self.log = log or (lambda message: None)
        self.root = Path(tempfile.mkdtemp(prefix="exemplar-preview-"))
        self.output = self.root / "site"
        self.state = BuildState()
        self.cache = BuildCache(None)  # parsed files and rendered bodies, kept in memory between rebuilds
        self._preview: StoryPreview | None = None  # the last good build, to show one edited story at once
        self._pending: set[str] = set()  # paths changed since the last rebuild
        self._pending_lock = threading.Lock()
        self._changed = threading.Event()
        self._stopping = threading.Event()
        self._last_change = 0.0
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Condition()  # notified when a connection is done
        self.httpd = _HTTPServer((host, port), self._http_handler())
        self.observer = Observer()
        self._watcher = _Watcher(self._on_change)  # file events, for every watched folder
        self._watched: set[str] = set()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = str(self.httpd.server_address[0]), self.httpd.server_address[1]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}{self.config.base_path}"

    # ---- building -----------------------------------------------------------------

    def rebuild(self, previewed: dict[Path, bytes | None] | None = None) -> None:
        """The full build. `previewed`: files a preview wrote just before, with their earlier bytes,
        put back if this build fails (the last good build is what stays served)."""
        start = time.perf_counter()
        try:
            self.config = load_config(self.config_path)  # base_path or folders may have changed
        except BuildFailed:
            pass  # reported by build_site below
        site: list[LoadedSite] = []
        try:
            report = build_site(self.config_path, BuildOptions(now=self.now(), output=self.output,
                                                               drafts=self.drafts, cache=False, in_place=True),
                                memory=self.cache, loaded=site.append)
        except Exception as exc:  # noqa: BLE001 - any failure is shown in the overlay; the preview keeps serving
            for target, data in (previewed or {}).items():
                _write_atomic(target, data)
            if isinstance(exc, BuildFailed):
                self.state.publish(exc.problems, None)
                self.log("\n".join(p.format() for p in exc.problems)
                         + f"\nBuild failed: {sum(p.is_error for p in exc.problems)} error(s); "
                           "still serving the last good build.")
            else:  # a theme bug must not kill the preview
                self.state.publish([Problem(str(self.config_path), None, None, f"unexpected error: {exc!r}")],
                                   None)
                self.log(f"Build crashed: {exc!r}; still serving the last good build.")
            return
        removed = report.write.removed if report.write else 0
        shared = any(p.startswith(_SHARED) for p in report.changed)  # style sheets, images: any page may show
        self.state.publish(list(report.warnings), report,
                           None if removed or shared else frozenset(report.changed))
        self.log(f"Rebuilt in {time.perf_counter() - start:.2f} s: {report.public} public stories, "
                 f"{report.write.written if report.write else 0} file(s) changed.")
        try:
            self._preview = StoryPreview(site[0])
        except Exception:  # noqa: BLE001 - previews are an optimisation: without one, changes wait for the rebuild
            self._preview = None

    def preview(self, paths: set[str]) -> dict[Path, bytes | None] | None:
        """Saved story files shown at once, before the full rebuild: their pages rendered against the
        last good build and written in place. Returns the files written with their earlier bytes."""
        stories = str(self.config.content_dir / "stories") + os.sep
        paths = {p for p in paths if not os.path.isdir(p)}  # a folder's own event: its files have theirs
        with self.state.cond:
            failing = any(p.is_error for p in self.state.problems)
        if failing or self._preview is None or not paths or len(paths) > 3 \
                or not all(p.startswith(stories) and p.endswith(".md") and os.path.isfile(p) for p in paths):
            return None
        try:
            outputs = [self._preview.render(Path(p)) for p in sorted(paths)]
        except Exception:  # noqa: BLE001 - whatever a preview cannot show, the full rebuild shows (or reports)
            return None
        if any(o is None for o in outputs):
            return None
        written: dict[Path, bytes | None] = {}
        for o in outputs:
            assert o is not None and o.data is not None
            target = self.output / o.path
            old = target.read_bytes() if target.is_file() else None
            if old != o.data:
                written[target] = old
                _write_atomic(target, o.data)
        if written:
            with self.state.cond:
                problems = list(self.state.problems)
            self.state.publish(problems, None, frozenset(o.path for o in outputs if o is not None), build=False)
            self.log(f"Showing {', '.join(o.path for o in outputs if o is not None)} at once; rebuilding the rest.")
        return written

    def _watch_loop(self) -> None:
        while not self._stopping.is_set():
            if not self._changed.wait(timeout=0.2):
                continue
            # debounce: wait until no change has arrived for `debounce` seconds
            while not self._stopping.is_set() and time.monotonic() - self._last_change < self.debounce:
                time.sleep(self.debounce / 4)
            self._changed.clear()
            with self._pending_lock:
                paths, self._pending = self._pending, set()
            if not self._stopping.is_set():
                self.rebuild(self.preview(paths))

    def _watch(self, folder: Path) -> None:
        if folder.is_dir() and str(folder) not in self._watched:
            self._watched.add(str(folder))
            self.observer.schedule(self._watcher, str(folder), recursive=True)

    def _on_change(self, path: str) -> None:
        name = Path(path).name
        if name.startswith((".", "#", "~")) or name.endswith(_IGNORED_SUFFIXES):
            return
        if path in (str(self.config.themes_dir), str(self.config.content_dir)):
            self._watch(Path(path))  # created after the server started
        watched = (str(self.config.content_dir) + os.sep, str(self.config.themes_dir) + os.sep)
        if not (path.startswith(watched) or path in (str(self.config_path), str(self.config.themes_dir),
                                                    str(self.config.content_dir))):
            return  # e.g. public/ or reports/ being written by a build in another terminal
        with self._pending_lock:
            self._pending.add(path)
        self._last_change = time.monotonic()
        self._changed.set()

    def page_file(self, url_path: str) -> str | None:
        """The output file a browser shows at `url_path` (None: not a page of this site)."""
        base = self.config.base_path
        if not url_path.startswith(base):
            return None
        rel = url_path[len(base):]
        return rel + "index.html" if rel == "" or rel.endswith("/") else rel

    # ---- lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        self.rebuild()
        # content/ and themes/ recursively; the site folder itself only at its top level (it may hold
        # public/ with thousands of folders), where a themes/ folder created later is noticed
        for folder in (self.config.content_dir, self.config.themes_dir):
            self._watch(folder)
        self.observer.schedule(self._watcher, str(self.config_path.parent), recursive=False)
        self.observer.start()
        for target in (self.httpd.serve_forever, self._watch_loop):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stopping.set()
        with self.state.cond:
            self.state.cond.notify_all()
        self.observer.stop()
        self.httpd.shutdown()
        with self._conns_lock:
            for conn in list(self._conns):
                try:
                    conn.shutdown(socket.SHUT_RDWR)  # wake handlers blocked on idle keep-alive reads
                except OSError:
                    pass
            self._conns_lock.wait_for(lambda: not self._conns, timeout=5)  # request threads are daemons
        self.httpd.server_close()
        self.observer.join(timeout=5)
        for t in self._threads:
            t.join(timeout=5)
        shutil.rmtree(self.root, ignore_errors=True)

    # ---- HTTP -----------------------------------------------------------------------

    def _http_handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = server.idle_timeout  # socket timeout: a silent client is dropped, its thread freed

            def log_message(self, format: str, *args: object) -> None:  # (the stdlib's signature)
                pass

            def setup(self) -> None:
                super().setup()
                with server._conns_lock:
                    server._conns.add(self.connection)

            def finish(self) -> None:
                with server._conns_lock:
                    server._conns.discard(self.connection)
                    server._conns_lock.notify_all()
                try:
                    super().finish()
                except OSError:
                    pass

            def do_GET(self) -> None:  # (the stdlib's name)
                if not self._host_ok():
                    return
                try:
                    path = unquote(urlsplit(self.path).path, errors="strict")
                except (UnicodeDecodeError, ValueError):
                    return self._plain(HTTPStatus.BAD_REQUEST, "地址有误：其中有无法识别的字符。")
                if path == RELOAD_PATH:
                    return self._events()
                base = server.config.base_path
                if not path.startswith(base):
                    if path in ("/", base.rstrip("/")):
                        return self._redirect(base)
                    return self._not_found()
                rel = path[len(base):]
                try:
                    target = (server.output / rel).resolve()
                    if not target.is_relative_to(server.output.resolve()):
                        return self._not_found()
                    if target.is_dir():
                        if not path.endswith("/"):
                            return self._redirect(quote(path + "/"))
                        target = target / "index.html"
                    if not target.is_file():
                        return self._not_found()
                except (OSError, ValueError):  # a NUL byte, a name too long: no such file
                    return self._not_found()
                self._send_file(target, HTTPStatus.OK)

            def _host_ok(self) -> bool:
                """Refuse a Host that is not this machine (DNS rebinding); HTTP/1.0 may send none."""
                hosts = self.headers.get_all("Host") or []
                if len(hosts) > 1:
                    self._plain(HTTPStatus.BAD_REQUEST, "请求有误：Host 头重复。", close=True)
                    return False
                if hosts and not host_allowed(hosts[0], server.host):
                    self._plain(HTTPStatus.MISDIRECTED_REQUEST,
                                f"此预览仅供本机访问，请在运行预览的电脑上打开 {server.url}", close=True)
                    return False
                return True

            def _plain(self, status: HTTPStatus, message: str, close: bool = False) -> None:
                data = (message + "\n").encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                if close:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(data)

            def _send_file(self, target: Path, status: HTTPStatus) -> None:
                try:
                    data = target.read_bytes()
                except OSError:  # removed by a rebuild since it was found
                    if status == HTTPStatus.NOT_FOUND:
                        return self._plain(HTTPStatus.NOT_FOUND, "页面未找到。")
                    return self._not_found()
                ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                if target.suffix == ".html":
                    with server.state.cond:
                        epoch, problems = server.state.epoch, list(server.state.problems)
                    data = inject(data, epoch, problems)
                    ctype = "text/html"
                if ctype.startswith("text/") or ctype.endswith(("xml", "json", "javascript")):
                    ctype += "; charset=utf-8"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def _not_found(self) -> None:
                page = server.output / "404.html"
                if page.is_file():
                    return self._send_file(page, HTTPStatus.NOT_FOUND)
                self._plain(HTTPStatus.NOT_FOUND, "页面未找到。")

            def _redirect(self, location: str) -> None:
                self.send_response(HTTPStatus.FOUND)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _events(self) -> None:
                query = dict(p.split("=", 1) for p in urlsplit(self.path).query.split("&") if "=" in p)
                try:
                    seen = int(query.get("epoch", "-1"))
                except ValueError:
                    seen = -1
                page = server.page_file(unquote(query["path"])) if "path" in query else None
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    self.wfile.write(b": connected\n\n")
                    self.wfile.flush()
                    while not server._stopping.is_set():
                        with server.state.cond:
                            if server.state.epoch == seen or seen < 0:
                                if seen < 0:
                                    seen = server.state.epoch
                                server.state.cond.wait(timeout=15)
                            epoch = server.state.epoch
                        if server._stopping.is_set():
                            break
                        if epoch != seen:
                            with server.state.cond:
                                touched = server.state.touches(seen, epoch, page)
                            seen = epoch
                            if touched:
                                self.wfile.write(f"event: reload\ndata: {epoch}\n\n".encode())
                            else:
                                continue
                        else:
                            self.wfile.write(b": keep-alive\n\n")
                        self.wfile.flush()
                except OSError:  # the browser went away, or stopped reading for `timeout` seconds
                    pass

        return Handler


def _write_atomic(target: Path, data: bytes | None) -> None:
    """Write (or, for None, remove) one file of the private preview folder."""
    if data is None:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.preview")
    tmp.write_bytes(data)
    os.replace(tmp, target)


class _Watcher(FileSystemEventHandler):
    def __init__(self, callback: Callable[[str], None]):
        self.callback = callback

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        self.callback(str(event.src_path))
        dest = getattr(event, "dest_path", "")
        if dest:
            self.callback(str(dest))
