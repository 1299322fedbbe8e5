"""Live preview, rebuilding: the full build into the private folder, and a saved story shown at once.

- `rebuild` runs the full build in place; a failure (or a crash of a theme)
  leaves the last good site being served and is published as problems for
  the error overlay.
- `preview` renders up to three saved story files against the last good build
  (StoryPreview) and writes their pages before the full rebuild starts.

Each update is published to the shared `BuildState` (serve_reload). How a
build is run (the config file, the in-memory cache) is the caller's: `build`.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .config import SiteConfig, load_config
from .errors import BuildFailed, Problem
from .gate import next_change
from .i18n import ngettext, t
from .parallel import start_method
from .pipeline import BuildOptions, BuildReport, LoadedSite, StoryPreview
from .runs import local_now
from .serve_reload import BuildState, changed_pages

# one build into the private folder: (options, given the site that was built) -> report; raises on failure
Build = Callable[[BuildOptions, Callable[[LoadedSite], None]], BuildReport]


class Rebuilder:
    def __init__(self, config_path: Path, config: SiteConfig, output: Path, state: BuildState, build: Build,
                 drafts: bool, now: Callable[[], dt.datetime], log: Callable[[str], None]):
        self.config_path = config_path
        self.config = config  # reloaded by every rebuild: base_path or folders may have changed
        self.output = output
        self.state = state
        self.build = build
        self.drafts = drafts
        self.now = now
        self.log = log
        self.story_preview: StoryPreview | None = None  # the last good build, to show one edited story at once
        # when the last build's result changes by the clock alone (gate.next_change: a vetting runs out, a
        # scheduled story comes due): from then on `due`, and the watcher rebuilds with no file changed
        self.valid_until: dt.datetime | None = None

    def rebuild(self, previewed: dict[Path, bytes | None] | None = None, first: bool = False) -> None:
        """The full build. `previewed`: files a preview wrote just before, with their earlier bytes,
        put back if this build fails (the last good build is what stays served).
        Later builds update the folder in place, file by file, in this process (the server's threads
        run beside them); the `first`, which makes every page, is written as `build` writes a new
        tree (into the staging folder, then swapped in) and on every core: spawned workers, or forked
        ones when no other thread runs in this process yet (a launcher's thread waiting to open the
        browser keeps it in this process)."""
        start = time.perf_counter()
        now = self.now()
        try:
            self.config = load_config(self.config_path)  # base_path or folders may have changed
        except BuildFailed:
            pass  # reported by the build below
        site: list[LoadedSite] = []
        try:
            # (workers started afresh mind no thread; forked ones only where no other thread runs)
            workers = 0 if first and (start_method() == "spawn" or threading.active_count() == 1) else 1
            # (a page a preview wrote is rendered again: its key vouches for the last build's bytes, not the
            # preview's, which lack what the full build adds, such as a story's photos in their web sizes)
            rewrite = frozenset(t.relative_to(self.output).as_posix() for t in previewed or ())
            report = self.build(BuildOptions(now=now, output=self.output, drafts=self.drafts, cache=False,
                                             in_place=not first, workers=workers, rewrite=rewrite), site.append)
        except Exception as exc:  # noqa: BLE001 - any failure is shown in the overlay; the preview keeps serving
            for target, data in (previewed or {}).items():
                write_atomic(target, data)
            if isinstance(exc, Stopped):
                return
            if self.valid_until is not None and self.valid_until <= self._aware(now):  # (again in a minute)
                self.valid_until = self._aware(now) + dt.timedelta(minutes=1)
            if isinstance(exc, BuildFailed):
                self.state.publish(exc.problems, None)
                errors = sum(p.is_error for p in exc.problems)
                failed = ngettext("Build failed: {n} error; the preview still shows the last good build.",
                                  "Build failed: {n} errors; the preview still shows the last good build.",
                                  errors).format(n=errors)
                self.log("\n".join(p.format() for p in exc.problems) + "\n" + failed)
            else:  # a theme bug must not kill the preview
                # TRANSLATORS: a failure of the program itself (or of a theme), shown in the preview's error box
                message = t("unexpected error: {error}", error=repr(exc))
                self.state.publish([Problem(str(self.config_path), None, None, message)], None)
                self.log(t("Build crashed ({error}); the preview still shows the last good build.", error=repr(exc)))
            return
        removed = report.write.removed if report.write else 0
        self.state.publish(list(report.warnings), report, changed_pages(report.changed, removed))
        written = report.write.written if report.write else 0
        self.log(t("Rebuilt in {seconds} s: {public} public stories, {written} files changed.",
                   seconds=f"{time.perf_counter() - start:.2f}", public=report.public, written=written))
        self.valid_until = next_change(site[0].records, site[0].config, local_now(site[0].options, site[0].config))
        try:
            self.story_preview = StoryPreview(site[0])
        except Exception:  # noqa: BLE001 - previews are an optimisation: without one, changes wait for the rebuild
            self.story_preview = None

    def due(self) -> bool:
        """Whether the clock has passed the moment the last build's result changes by time alone."""
        return self.valid_until is not None and self._aware(self.now()) >= self.valid_until

    def _aware(self, now: dt.datetime) -> dt.datetime:
        """`now` with a time zone (a naive --now is the site's time, as the build reads it)."""
        return now if now.tzinfo else now.replace(tzinfo=self.config.tz)

    def preview(self, paths: set[str]) -> dict[Path, bytes | None] | None:
        """Saved story files shown at once, before the full rebuild: their pages rendered against the
        last good build and written in place. Returns the files written with their earlier bytes."""
        stories = str(self.config.content_dir / "stories") + os.sep
        paths = {p for p in paths if not os.path.isdir(p)}  # a folder's own event: its files have theirs
        with self.state.cond:
            failing = any(p.is_error for p in self.state.problems)
        if failing or self.story_preview is None or not paths or len(paths) > 3 \
                or not all(p.startswith(stories) and p.endswith(".md") and os.path.isfile(p) for p in paths):
            return None
        try:
            outputs = [self.story_preview.render(Path(p)) for p in sorted(paths)]
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
                write_atomic(target, o.data)
        if written:
            with self.state.cond:
                problems = list(self.state.problems)
            self.state.publish(problems, None, frozenset(o.path for o in outputs if o is not None), build=False)
            shown = ", ".join(o.path for o in outputs if o is not None)
            self.log(t("Showing {pages} at once; rebuilding the rest.", pages=shown))
        return written


class Stopped(Exception):
    """A build given up because the preview server stops (raised by its progress callback)."""


def write_atomic(target: Path, data: bytes | None) -> None:
    """Write (or, for None, remove) one file of the private preview folder."""
    if data is None:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.preview")
    tmp.write_bytes(data)
    os.replace(tmp, target)
