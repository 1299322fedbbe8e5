"""Live preview: build, serve under base_path, watch, rebuild, reload the browser.

- The site is built into a private folder (never the public output) with the
  normal atomic writer, so a failed rebuild leaves the last good site being
  served.
- The first build starts from what the site's last `build` cached beside
  its output (read, never written: results are found by the digests of
  what they were made from, so only what changed since is made again) and
  uses every core; later ones keep their cache in memory.
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

`PreviewServer` puts together one part for each job, each in a module of its own:

    serve_watch.SourceWatcher   file events -> debounced set of changed paths -> on_changes()
    serve_build.Rebuilder       preview() the saved stories, rebuild() the site -> BuildState.publish()
    serve_reload.BuildState     epochs and what each changed; reload_events() per browser
    serve_overlay.inject        the reload script and the error overlay, added to each HTML page served
    serve_http.make_handler     requests: Host check, files under base_path, the /__livereload stream

They share nothing but what is passed to them here: the BuildState, the
`stopping` event, and the callables below.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from .cache import BuildCache, cache_path
from .config import SiteConfig, load_config
from .nochange import signature
from .pipeline import BuildOptions, BuildReport, LoadedSite, StoryPreview, build_site
from .serve_build import Rebuilder, Stopped
from .serve_http import Connections, HTTPServer, HttpSite, host_allowed, make_handler
from .serve_overlay import inject
from .serve_reload import BuildState, page_file, reload_events, reload_script
from .serve_watch import SourceWatcher

__all__ = ["PreviewServer", "host_allowed"]


def starting_cache(config: SiteConfig) -> BuildCache:
    """The cache a preview starts from: the one the site's last `build` stored beside its output,
    read only (never saved, nothing beside the output changed; an unreadable or foreign one is left
    where it is), else an empty one. A result in it is found only under the digests of the inputs it
    was made from (the cache's own rule), so whatever changed since that build is made again."""
    return BuildCache.load(cache_path(config.output_dir), read_only=True)[0]  # (empty when not trusted)


class PreviewServer:
    """Build, serve and watch one site. start() returns at once; stop() shuts everything down."""

    def __init__(self, config_path: str | Path, host: str = "127.0.0.1", port: int = 8000, drafts: bool = False,
                 debounce: float = 0.15, now: Callable[[], dt.datetime] | None = None,
                 log: Callable[[str], None] | None = None, idle_timeout: float = 30.0):
        self.config_path = Path(config_path).resolve()
        config = load_config(self.config_path)
        self.drafts = drafts
        self.debounce = debounce
        self.host = host
        self.idle_timeout = idle_timeout  # seconds a connection may stay silent (not the live-reload stream)
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self.log = log or (lambda message: None)
        self.root = Path(tempfile.mkdtemp(prefix="exemplar-preview-"))
        self.output = self.root / "site"
        self.state = BuildState()  # what every part below reads or publishes
        self.cache = starting_cache(config)  # parsed files and rendered bodies, kept in memory between rebuilds
        self._stopping = threading.Event()
        self._builder = Rebuilder(self.config_path, config, self.output, self.state, self._build_site,
                                  drafts=drafts, now=self.now, log=self.log)
        self._connections = Connections()
        self.httpd = HTTPServer((host, port), self._http_handler())
        self._watcher = SourceWatcher(self.config_path, lambda: self.config, self.on_changes, debounce,
                                      self._stopping, self._builder.due)
        self._threads: list[threading.Thread] = []

    @property
    def config(self) -> SiteConfig:
        """The site's config as the last rebuild read it (base_path or folders may have changed)."""
        return self._builder.config

    @property
    def url(self) -> str:
        host, port = str(self.httpd.server_address[0]), self.httpd.server_address[1]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}{self.config.base_path}"

    # ---- building (serve_build) ------------------------------------------------------

    def rebuild(self, previewed: dict[Path, bytes | None] | None = None) -> None:
        """The full build. `previewed`: files a preview wrote just before, with their earlier bytes,
        put back if this build fails (the last good build is what stays served)."""
        self._builder.rebuild(previewed)

    def preview(self, paths: set[str]) -> dict[Path, bytes | None] | None:
        """Saved story files shown at once, before the full rebuild: their pages rendered against the
        last good build and written in place. Returns the files written with their earlier bytes."""
        return self._builder.preview(paths)

    def on_changes(self, paths: set[str]) -> None:
        """A debounced burst of changed files (from the watcher): show saved stories at once, then rebuild."""
        self.rebuild(self.preview(paths))

    def _build_site(self, options: BuildOptions, loaded: Callable[[LoadedSite], None]) -> BuildReport:
        """One build into the private folder, with the in-memory cache (the only caller that keeps one).
        Stopped at its next page once the server is stopping (its folder is removed then)."""
        def progress(stage: str, done: int, total: int) -> None:
            if self._stopping.is_set():
                raise Stopped()

        return build_site(self.config_path, options, progress=progress, memory=self.cache, loaded=loaded)

    @property
    def _preview(self) -> StoryPreview | None:
        """The last good build, to show one edited story at once (None: changes wait for the rebuild)."""
        return self._builder.story_preview

    # ---- reload events and the page as served (serve_reload, serve_overlay) -----------

    def page_file(self, url_path: str) -> str | None:
        """The output file a browser shows at `url_path` (None: not a page of this site)."""
        return page_file(self.config.base_path, url_path)

    def _served_page(self, page: bytes) -> bytes:
        """An HTML file as served: the reload script and, after a failed build, the error overlay."""
        epoch, problems = self.state.snapshot()
        return inject(page, problems, reload_script(epoch))

    def _events(self, seen: int, url_path: str | None) -> Iterator[int | None]:
        """The live-reload stream of a browser that has seen epoch `seen` and shows `url_path`."""
        page = self.page_file(url_path) if url_path is not None else None
        return reload_events(self.state, seen, page, self._stopping)

    # ---- HTTP (serve_http) -----------------------------------------------------------

    def _http_handler(self) -> type[BaseHTTPRequestHandler]:
        site = HttpSite(output=self.output, listen_host=self.host, idle_timeout=self.idle_timeout,
                        base_path=lambda: self.config.base_path, url=lambda: self.url,
                        page=self._served_page, events=self._events)
        return make_handler(site, self._connections)

    @property
    def _conns(self) -> set[socket.socket]:
        """The open client connections."""
        return self._connections.open

    @property
    def _watched(self) -> set[str]:
        """The folders watched recursively."""
        return self._watcher.watched

    # ---- lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        # the first build, before the watcher's and the server's threads start (Rebuilder.rebuild:
        # on every core); what is saved while it runs is seen by comparing the inputs' signature
        # (nochange.signature) before it with the one after the watcher has started
        config = self.config
        options = BuildOptions(now=self.now(), output=self.output, drafts=self.drafts)
        before = signature(config, options)
        self._builder.rebuild(first=True)
        self._watcher.start()
        if signature(config, options) != before:
            self.rebuild()
        for target in (self.httpd.serve_forever, self._watcher.run):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stopping.set()
        with self.state.cond:
            self.state.cond.notify_all()  # wake the live-reload streams
        self._watcher.stop()
        if self._threads:  # (shutdown waits for serve_forever: only once it has run)
            self.httpd.shutdown()
        self._connections.close_all(timeout=5)
        self.httpd.server_close()
        self._watcher.join(timeout=5)
        for t in self._threads:  # (a rebuild running stops at its next page; its folder goes only after)
            t.join(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)
