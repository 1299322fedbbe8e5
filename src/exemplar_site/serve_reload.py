"""Live preview, reload events: which pages each update changed, and telling the browsers showing them.

Every update of the served files is an epoch of `BuildState`. A browser's
reload script (added to every HTML page served) listens on `RELOAD_PATH` and
says which page it shows; `reload_events` waits for new epochs and yields
one only when it touched that page (or any page: a template, a style sheet,
the error overlay coming or going). Nothing here knows about HTTP or files.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .errors import Problem
from .pipeline import BuildReport

RELOAD_PATH = "/__livereload"
_SHARED = ("static/", "images/", "media/", "files/")  # files a change to which may show on any page


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

    def snapshot(self) -> tuple[int, list[Problem]]:
        """The current epoch and problems, read together."""
        with self.cond:
            return self.epoch, list(self.problems)


def changed_pages(written: Iterable[str], removed: int) -> frozenset[str] | None:
    """The files a full build changed, as an epoch records them: None (any page) when files were
    removed or a shared file (style sheet, image) changed, since any page may show those."""
    written = tuple(written)
    shared = any(p.startswith(_SHARED) for p in written)
    return None if removed or shared else frozenset(written)


def page_file(base_path: str, url_path: str) -> str | None:
    """The output file a browser shows at `url_path` (None: not a page of this site)."""
    if not url_path.startswith(base_path):
        return None
    rel = url_path[len(base_path):]
    return rel + "index.html" if rel == "" or rel.endswith("/") else rel


def reload_script(epoch: int) -> str:
    return (
        f"<script>(function(){{var e={epoch};var s=new EventSource('{RELOAD_PATH}?epoch='+e+'&path='"
        "+encodeURIComponent(location.pathname));"
        "s.addEventListener('reload',function(){s.close();location.reload();});})();</script>"
    )


def reload_events(state: BuildState, seen: int, page: str | None, stopping: threading.Event) -> Iterator[int | None]:
    """For one browser that has seen epoch `seen` (negative: the current one) and shows `page` (a file
    path; None: unknown): yields the epoch to reload at when an update touched its page, or None
    when 15 s passed without one (a keep-alive), until `stopping` is set."""
    while not stopping.is_set():
        with state.cond:
            if state.epoch == seen or seen < 0:
                if seen < 0:
                    seen = state.epoch
                state.cond.wait(timeout=15)
            epoch = state.epoch
        if stopping.is_set():
            break
        if epoch != seen:
            with state.cond:
                touched = state.touches(seen, epoch, page)
            seen = epoch
            if touched:
                yield epoch
        else:
            yield None
