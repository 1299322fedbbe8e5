"""Live preview, watching: content/, themes/ and the config file, a burst of saves debounced into one call.

`SourceWatcher` is the watchdog event handler for every watched folder; its
`run` loop (a thread of its own) waits until no change has arrived for
`debounce` seconds, then hands the changed paths to `changed`.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from .config import SiteConfig

_IGNORED_SUFFIXES = ("~", ".swp", ".swx", ".tmp", ".bak", ".part")


class SourceWatcher(FileSystemEventHandler):
    def __init__(self, config_path: Path, config: Callable[[], SiteConfig], changed: Callable[[set[str]], None],
                 debounce: float, stopping: threading.Event, due: Callable[[], bool] = lambda: False):
        """`due`: whether the clock alone calls for a rebuild (a vetting ran out, a scheduled story
        came due since the last one): `changed` is then called with no path."""
        self.config_path = config_path
        self.config = config  # the current config (a rebuild may move content/ or themes/)
        self.changed = changed
        self.debounce = debounce
        self.stopping = stopping
        self.due = due
        self.observer: BaseObserver | None = None  # made by start(): its thread starts with it (PreviewServer.start)
        # each one's watch and the folder's identity (device, inode) when it was made: a folder replaced
        # (a backup restored, a sync tool's copy) is a new folder, whose old watch died with the old one
        self._watches: dict[str, tuple[ObservedWatch, tuple[int, int]]] = {}
        self._watch_lock = threading.Lock()  # (the observer's thread and `run` both (re)schedule)
        self._pending: set[str] = set()  # paths changed since the last call of `changed`
        self._pending_lock = threading.Lock()
        self._changed = threading.Event()
        self._last_change = 0.0

    def start(self) -> None:
        # content/ and themes/ recursively; the site folder itself only at its top level (it may hold
        # public/ with thousands of folders), where a themes/ folder created later is noticed
        config = self.config()
        self.observer = Observer()
        for folder in (config.content_dir, config.themes_dir):
            self._watch(folder)
        self.observer.schedule(self, str(self.config_path.parent), recursive=False)
        self.observer.start()

    def stop(self) -> None:
        if self.observer is not None:
            self.observer.stop()

    def join(self, timeout: float) -> None:
        if self.observer is not None:
            self.observer.join(timeout=timeout)

    def run(self) -> None:
        while not self.stopping.is_set():
            if not self._changed.wait(timeout=0.2):
                if self.due() and not self.stopping.is_set():
                    self.changed(set())
                continue
            # debounce: wait until no change has arrived for `debounce` seconds
            while not self.stopping.is_set() and time.monotonic() - self._last_change < self.debounce:
                time.sleep(self.debounce / 4)
            self._changed.clear()
            with self._pending_lock:
                paths, self._pending = self._pending, set()
            if not self.stopping.is_set():
                self.changed(paths)
                self.refresh()  # (the rebuild read the config again: content/ or themes/ may have moved)

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        self._on_change(str(event.src_path))
        dest = getattr(event, "dest_path", "")
        if dest:
            self._on_change(str(dest))

    @property
    def watched(self) -> set[str]:
        """The folders watched recursively."""
        return set(self._watches)

    def refresh(self) -> None:
        """Watch the config's content/ and themes/ as they are now: moved by the config, or replaced."""
        config = self.config()
        for folder in (config.content_dir, config.themes_dir):
            self._watch(folder)

    def _watch(self, folder: Path) -> None:
        assert self.observer is not None  # (started: events come only then)
        key = str(folder)
        try:
            st = os.stat(key)
        except OSError:
            return
        if not stat.S_ISDIR(st.st_mode):
            return
        identity = (st.st_dev, st.st_ino)
        with self._watch_lock:
            old = self._watches.get(key)
            if old is not None and old[1] == identity:
                return
            if old is not None:
                with contextlib.suppress(Exception):  # (its emitter may have ended with the old folder)
                    self.observer.unschedule(old[0])
            self._watches[key] = (self.observer.schedule(self, key, recursive=True), identity)

    def _on_change(self, path: str) -> None:
        name = Path(path).name
        if name.startswith((".", "#", "~")) or name.endswith(_IGNORED_SUFFIXES):
            return
        config = self.config()
        if path in (str(config.themes_dir), str(config.content_dir)):
            self._watch(Path(path))  # created after the server started, or replaced
        watched = (str(config.content_dir) + os.sep, str(config.themes_dir) + os.sep)
        if not (path.startswith(watched) or path in (str(self.config_path), str(config.themes_dir),
                                                    str(config.content_dir))):
            return  # e.g. public/ or reports/ being written by a build in another terminal
        with self._pending_lock:
            self._pending.add(path)
        self._last_change = time.monotonic()
        self._changed.set()
