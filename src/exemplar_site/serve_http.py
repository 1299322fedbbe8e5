"""Live preview, HTTP: the server, the request handler, the Host check, paths, the live-reload stream.

Only this machine's own names are answered (a Host header naming another site
is refused, against DNS rebinding), idle connections are closed after
`idle_timeout` seconds, and a path that cannot be a file is a 404, never a
traceback. What the handler needs from the rest of the preview is in
`HttpSite`: plain values and callables, no shared objects.
"""

from __future__ import annotations

import html
import ipaddress
import mimetypes
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from .i18n import _, t
from .serve_reload import RELOAD_PATH

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


class HTTPServer(ThreadingHTTPServer):
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


class Connections:
    """The open client connections, so that stopping can wake handlers blocked on idle reads."""

    def __init__(self) -> None:
        self.open: set[socket.socket] = set()
        self._lock = threading.Condition()  # notified when a connection is done

    def add(self, conn: socket.socket) -> None:
        with self._lock:
            self.open.add(conn)

    def discard(self, conn: socket.socket) -> None:
        with self._lock:
            self.open.discard(conn)
            self._lock.notify_all()

    def close_all(self, timeout: float) -> None:
        """Shut every open connection down and wait (at most `timeout` s) for its handler to finish."""
        with self._lock:
            for conn in list(self.open):
                try:
                    conn.shutdown(socket.SHUT_RDWR)  # wake handlers blocked on idle keep-alive reads
                except OSError:
                    pass
            self._lock.wait_for(lambda: not self.open, timeout=timeout)  # request threads are daemons


@dataclass(frozen=True)
class HttpSite:
    """What the request handler asks of the rest of the preview."""

    output: Path  # the private folder the site is built into
    listen_host: str  # the --host value, for the Host check
    idle_timeout: float  # seconds a connection may stay silent (not the live-reload stream)
    base_path: Callable[[], str]  # asked per request: a config change may move it
    url: Callable[[], str]  # the preview's address, for a refused Host
    page: Callable[[bytes], bytes]  # an HTML file as served (reload script, error overlay)
    # the live-reload stream for (epoch the browser has seen, URL path it shows): yields the epoch
    # to reload at, or None for a keep-alive
    events: Callable[[int, str | None], Iterator[int | None]]


def _not_found_text() -> str:
    # TRANSLATORS: the preview's answer for an address that is no page of the site. 原文：页面未找到。
    return _("Page not found.")


def make_handler(site: HttpSite, connections: Connections) -> type[BaseHTTPRequestHandler]:
    """A request handler class for `site` (a fresh class on every call)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = site.idle_timeout  # socket timeout: a silent client is dropped, its thread freed

        def log_message(self, format: str, *args: object) -> None:  # (the stdlib's signature)
            pass

        def setup(self) -> None:
            super().setup()
            connections.add(self.connection)

        def finish(self) -> None:
            connections.discard(self.connection)
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
                # TRANSLATORS: 原文：地址有误：其中有无法识别的字符。
                return self._plain(HTTPStatus.BAD_REQUEST, _("The address is wrong: it holds characters that "
                                                             "cannot be read."))
            if path == RELOAD_PATH:
                return self._events()
            base = site.base_path()
            if not path.startswith(base):
                if path in ("/", base.rstrip("/")):
                    return self._redirect(base)
                return self._not_found()
            rel = path[len(base):]
            try:
                target = (site.output / rel).resolve()
                if not target.is_relative_to(site.output.resolve()):
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
                # TRANSLATORS: 原文：请求有误：Host 头重复。
                self._plain(HTTPStatus.BAD_REQUEST, _("Bad request: the Host header is there twice."), close=True)
                return False
            if hosts and not host_allowed(hosts[0], site.listen_host):
                # TRANSLATORS: 原文：此预览仅供本机访问，请在运行预览的电脑上打开 {url}
                refused = t("This preview is for this computer only: open {url} on the computer running the "
                            "preview.", url=site.url())
                self._plain(HTTPStatus.MISDIRECTED_REQUEST, refused, close=True)
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
                    return self._plain(HTTPStatus.NOT_FOUND, _not_found_text())
                return self._not_found()
            ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            if target.suffix == ".html":
                data = site.page(data)
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
            page = site.output / "404.html"
            if page.is_file():
                return self._send_file(page, HTTPStatus.NOT_FOUND)
            # no site yet (its first build failed): a page of its own, for the error box and the live
            # reload to be added to, so that the browser shows the errors and the site once it builds
            text = html.escape(_not_found_text())
            data = site.page(f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{text}</title></head>"
                             f"<body><p>{text}</p></body></html>\n".encode())
            self.send_response(HTTPStatus.NOT_FOUND)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def _redirect(self, location: str) -> None:
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _events(self) -> None:
            """The live-reload stream (server-sent events): a `reload` event when the browser's page changed."""
            query = dict(p.split("=", 1) for p in urlsplit(self.path).query.split("&") if "=" in p)
            try:
                seen = int(query.get("epoch", "-1"))
            except ValueError:
                seen = -1
            events = site.events(seen, unquote(query["path"]) if "path" in query else None)
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                self.wfile.write(b": connected\n\n")
                self.wfile.flush()
                for epoch in events:
                    self.wfile.write(b": keep-alive\n\n" if epoch is None
                                     else f"event: reload\ndata: {epoch}\n\n".encode())
                    self.wfile.flush()
            except OSError:  # the browser went away, or stopped reading for `timeout` seconds
                pass

    return Handler
