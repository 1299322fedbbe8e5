"""Live preview: build, serve under base_path, watch, rebuild, reload the browser.

- The site is built into a private folder (never the public output) with the
  normal atomic writer, so a failed rebuild leaves the last good site being
  served.
- watchdog watches content/, themes/ and the config; a burst of saves is
  debounced into one rebuild.
- Browsers listen on /__livereload (server-sent events). The reload script
  and, after a failed build, an error overlay are injected into HTML
  responses by the server only; they are never written into a build.
"""

from __future__ import annotations

import datetime as dt
import html
import mimetypes
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .cache import BuildCache
from .config import load_config
from .errors import BuildFailed, Problem
from .pipeline import BuildOptions, BuildReport, build_site

RELOAD_PATH = "/__livereload"
_IGNORED_SUFFIXES = ("~", ".swp", ".swx", ".tmp", ".bak", ".part")


@dataclass
class BuildState:
    """What the server knows about the latest build: shared between threads, guarded by `cond`."""

    epoch: int = 0
    problems: list[Problem] = field(default_factory=list)
    last_report: BuildReport | None = None
    cond: threading.Condition = field(default_factory=threading.Condition)

    def publish(self, problems: list[Problem], report: BuildReport | None) -> None:
        with self.cond:
            self.epoch += 1
            self.problems = problems
            if report is not None:
                self.last_report = report
            self.cond.notify_all()


def reload_script(epoch: int) -> str:
    return (
        "<script>(function(){var e=%d;var s=new EventSource('%s?epoch='+e);"
        "s.addEventListener('reload',function(){s.close();location.reload();});})();</script>"
        % (epoch, RELOAD_PATH)
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
                 log: Callable[[str], None] | None = None):
        self.config_path = Path(config_path).resolve()
        self.config = load_config(self.config_path)
        self.drafts = drafts
        self.debounce = debounce
        self.now = now or (lambda: dt.datetime.now(dt.timezone.utc))
        self.log = log or (lambda message: None)
        self.root = Path(tempfile.mkdtemp(prefix="exemplar-preview-"))
        self.output = self.root / "site"
        self.state = BuildState()
        self.cache = BuildCache(None)  # parsed files and rendered bodies, kept in memory between rebuilds
        self._changed = threading.Event()
        self._stopping = threading.Event()
        self._last_change = 0.0
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), self._handler())
        self.httpd.daemon_threads = False
        self.httpd.block_on_close = True  # stop() waits for every request thread
        self.observer = Observer()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{self.config.base_path}"

    # ---- building -----------------------------------------------------------------

    def rebuild(self) -> None:
        start = time.perf_counter()
        try:
            self.config = load_config(self.config_path)  # base_path or folders may have changed
        except BuildFailed:
            pass  # reported by build_site below
        try:
            report = build_site(self.config_path, BuildOptions(now=self.now(), output=self.output,
                                                               drafts=self.drafts, cache=False, in_place=True),
                                memory=self.cache)
        except BuildFailed as failed:
            self.state.publish(failed.problems, None)
            self.log("\n".join(p.format() for p in failed.problems)
                     + f"\nBuild failed: {sum(p.is_error for p in failed.problems)} error(s); "
                       "still serving the last good build.")
            return
        except Exception as exc:  # a theme bug must not kill the preview
            self.state.publish([Problem(str(self.config_path), None, None, f"unexpected error: {exc!r}")], None)
            self.log(f"Build crashed: {exc!r}; still serving the last good build.")
            return
        self.state.publish(list(report.warnings), report)
        self.log(f"Rebuilt in {time.perf_counter() - start:.2f} s: {report.public} public stories, "
                 f"{report.write.written if report.write else 0} file(s) changed.")

    def _watch_loop(self) -> None:
        while not self._stopping.is_set():
            if not self._changed.wait(timeout=0.2):
                continue
            # debounce: wait until no change has arrived for `debounce` seconds
            while not self._stopping.is_set() and time.monotonic() - self._last_change < self.debounce:
                time.sleep(self.debounce / 4)
            self._changed.clear()
            if not self._stopping.is_set():
                self.rebuild()

    def _watch(self, folder: Path) -> None:
        if folder.is_dir() and str(folder) not in self._watched:
            self._watched.add(str(folder))
            self.observer.schedule(self._handler, str(folder), recursive=True)

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
        self._last_change = time.monotonic()
        self._changed.set()

    # ---- lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        self.rebuild()
        # content/ and themes/ recursively; the site folder itself only at its top level (it may hold
        # public/ with thousands of folders), where a themes/ folder created later is noticed
        self._handler = _Watcher(self._on_change)
        self._watched: set[str] = set()
        for folder in (self.config.content_dir, self.config.themes_dir):
            self._watch(folder)
        self.observer.schedule(self._handler, str(self.config_path.parent), recursive=False)
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
        self.httpd.server_close()
        self.observer.join(timeout=5)
        for t in self._threads:
            t.join(timeout=5)
        shutil.rmtree(self.root, ignore_errors=True)

    # ---- HTTP -----------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
                pass

            def setup(self) -> None:
                super().setup()
                with server._conns_lock:
                    server._conns.add(self.connection)

            def finish(self) -> None:
                with server._conns_lock:
                    server._conns.discard(self.connection)
                try:
                    super().finish()
                except OSError:
                    pass

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                path = unquote(urlsplit(self.path).path)
                if path == RELOAD_PATH:
                    return self._events()
                base = server.config.base_path
                if not path.startswith(base):
                    if path in ("/", base.rstrip("/")):
                        return self._redirect(base)
                    return self._not_found()
                rel = path[len(base):]
                target = (server.output / rel).resolve()
                if not target.is_relative_to(server.output.resolve()):
                    return self._not_found()
                if target.is_dir():
                    if not path.endswith("/"):
                        return self._redirect(path + "/")
                    target = target / "index.html"
                if not target.is_file():
                    return self._not_found()
                self._send_file(target, HTTPStatus.OK)

            def _send_file(self, target: Path, status: HTTPStatus) -> None:
                data = target.read_bytes()
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
                self.send_error(HTTPStatus.NOT_FOUND)

            def _redirect(self, location: str) -> None:
                self.send_response(HTTPStatus.FOUND)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _events(self) -> None:
                query = urlsplit(self.path).query
                try:
                    seen = int(dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("epoch", "-1"))
                except ValueError:
                    seen = -1
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
                            seen = epoch
                            self.wfile.write(f"event: reload\ndata: {epoch}\n\n".encode())
                        else:
                            self.wfile.write(b": keep-alive\n\n")
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


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
