"""The preview server under hostile or careless clients, over real sockets to 127.0.0.1:
paths that cannot be files, the listen backlog and request threads, idle connections,
and Host headers that are not this machine (DNS rebinding)."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from conftest import NOW, Site, free_port, wait_until
from exemplar_site.serve import PreviewServer


def raw(port: int, request: bytes, timeout: float = 10) -> bytes:
    """Send bytes as they are; everything the server answers until it closes (at most `timeout` s)."""
    chunks: list[bytes] = []
    end = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        while time.monotonic() < end:
            try:
                chunk = s.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    line = answer.split(b"\r\n", 1)[0].split()
    assert len(line) >= 2 and line[0].startswith(b"HTTP/"), f"no HTTP answer: {answer[:80]!r}"
    return int(line[1])


def ask(port: int, path: str, host: str | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host} if host is not None else {})
        r = conn.getresponse()
        if r.getheader("Content-Type") == "text/event-stream":  # would stream on: the status is enough
            return r.status, ""
        return r.status, r.read().decode("utf-8", errors="replace")
    finally:
        conn.close()


@pytest.fixture
def server(site: Site) -> Iterator[PreviewServer]:
    site.story("a", "a-1", slug="a", title="第一版标题")
    srv = PreviewServer(site.config, port=free_port(), now=lambda: NOW)
    srv.start()
    yield srv
    srv.stop()


def test_paths_that_cannot_be_files_get_an_answer_and_no_traceback(server: PreviewServer,
                                                                   capfd: pytest.CaptureFixture[str]) -> None:
    port = server.httpd.server_address[1]
    bad = {
        "/pub/%00": (404,),
        "/pub/stories/a/%00index.html": (404,),
        "/pub/stories/a%00/": (404,),
        "/%00": (404,),
        "/pub/" + "a" * 5000: (404,),  # one name longer than any file system allows
        "/pub/" + "a/" * 3000: (404,),  # a path longer than any file system allows
        "/pub/%FF%FE.html": (400, 404),  # not UTF-8
        "/pub/%zz": (400, 404),  # not percent-encoding at all
        "/pub/../../../../etc/passwd": (404,),
        "/pub/%2e%2e/%2e%2e/%2e%2e/etc/passwd": (404,),
        "/pub/stories/..%2f..%2f..%2f..%2fetc/passwd": (404,),
    }
    for path, expected in bad.items():
        answer = raw(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
                     .encode("latin-1"))
        assert status_of(answer) in expected, (path[:40], answer[:200])
    # a NUL byte sent as it is, not percent-encoded
    nul = b"GET /pub/a\x00b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    assert status_of(raw(port, nul)) in (400, 404)
    # the server still works, and nothing was printed
    assert ask(port, "/pub/stories/a/")[0] == 200
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Exception" not in out + err, err[-2000:]


def test_listen_backlog_and_daemon_request_threads(server: PreviewServer) -> None:
    assert server.httpd.request_queue_size >= 64  # the default, 5, refuses a burst of a page's requests
    port = server.httpd.server_address[1]
    # a client that sends half a request keeps its request thread waiting
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /pub/ HTTP/1.1\r\n")
        assert wait_until(lambda: len(server._conns) >= 1)
        handlers = [t for t in threading.enumerate() if "process_request" in t.name]
        assert handlers, [t.name for t in threading.enumerate()]
        # daemon threads: a stuck client can never keep the program from exiting
        assert all(t.daemon for t in handlers)
        started = time.monotonic()
        server.stop()  # and stop() neither hangs on it nor fails
        assert time.monotonic() - started < 10
    server.stop = lambda: None  # type: ignore[method-assign]  # already stopped; the fixture must not repeat it


def test_idle_connections_are_closed(site: Site, server: PreviewServer) -> None:
    handler = server.httpd.RequestHandlerClass
    assert isinstance(handler, type) and issubclass(handler, BaseHTTPRequestHandler)
    default = handler.timeout
    assert default is not None and 1 <= default <= 120, default
    srv = PreviewServer(site.config, port=free_port(), now=lambda: NOW, idle_timeout=1.0)
    srv.start()
    try:
        port = srv.httpd.server_address[1]
        # a client that connects and sends nothing
        with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
            started = time.monotonic()
            try:
                data = s.recv(1024)
            except TimeoutError:
                pytest.fail("the server kept an idle connection open for 15 s")
            assert data == b"" and time.monotonic() - started < 15
        # a client that sends half a request line and stalls
        with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
            s.sendall(b"GET /pub/ HT")
            try:
                assert s.recv(1024) == b""
            except TimeoutError:
                pytest.fail("the server kept a stalled connection open for 15 s")
        # a keep-alive connection that goes quiet after one request
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        conn.request("GET", "/pub/stories/a/")
        r = conn.getresponse()
        assert r.status == 200
        r.read()
        assert conn.sock is not None
        try:
            assert conn.sock.recv(1024) == b""
        except TimeoutError:
            pytest.fail("the server kept an idle keep-alive connection open for 15 s")
        conn.close()
        assert wait_until(lambda: not srv._conns)  # and no request thread is left waiting on them
        # the live-reload stream is not an idle connection: it stays open past the timeout
        events = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        events.request("GET", f"/__livereload?epoch={srv.state.epoch}")
        r = events.getresponse()
        assert r.status == 200 and r.readline() == b": connected\n"
        time.sleep(2)
        assert srv._conns, "the live-reload stream was closed as idle"
        events.close()
    finally:
        srv.stop()


def test_host_header_must_name_this_machine(server: PreviewServer) -> None:
    port = server.httpd.server_address[1]
    # another site open in the browser, its name pointed at 127.0.0.1 (DNS rebinding)
    for host in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1.attacker.example:{port}",
                 f"localhost.attacker.example:{port}", f"10.0.0.1:{port}", "bad host:1", f"[::1]x:{port}"):
        for path in ("/pub/stories/a/", "/pub/static/site.css", "/", "/pub/stories/a",
                     "/__livereload?epoch=0", "/pub/nowhere/"):
            status, body = ask(port, path, host)
            assert status in (400, 403, 421), (host, path, status)
            assert ("第一版标题" not in body and "for this computer only" in body) or status == 400, (host, path, body)
    # this machine, by any of its names, with or without the port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}", f"[::1]:{port}", "localhost",
                 f"localhost.:{port}"):
        status, body = ask(port, "/pub/stories/a/", host)
        assert status == 200 and "第一版标题" in body, (host, status)
    # HTTP/1.0 without a Host header
    answer = raw(port, b"GET /pub/stories/a/ HTTP/1.0\r\n\r\n")
    assert status_of(answer) == 200 and "第一版标题" in answer.decode("utf-8", errors="replace")
    # two Host headers
    answer = raw(port, f"GET /pub/stories/a/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: attacker.example\r\n"
                       "Connection: close\r\n\r\n".encode())
    assert status_of(answer) in (400, 403, 421)
    # the address given with --host is accepted; on a wildcard address, any IP address but no other name
    from exemplar_site.serve import host_allowed

    assert host_allowed("preview.intranet:8000", "preview.intranet")
    assert not host_allowed("attacker.example:8000", "preview.intranet")
    assert host_allowed("192.168.1.20:8000", "0.0.0.0") and host_allowed("[fe80::1]:8000", "::")
    assert not host_allowed("attacker.example:8000", "0.0.0.0")
    assert not host_allowed("192.168.1.20:8000", "127.0.0.1")
