"""Spread work over processes for cold builds.

Two ways to start workers, which give the same results:

- **fork** (Linux, macOS): the work function and everything it reads are inherited by the
  forked workers, never pickled; only results come back. The faster way where it exists.
- **spawn** (Windows, or forced): each worker is a fresh interpreter. It is given a module-level
  `setup` function and a picklable context once (pickled a single time in the parent), makes its
  state from them, then runs a module-level `task(state, item)` on picklable items: nothing relies
  on inheritance. The caller describes this twin of its work with `Spawned`.

Work runs in the calling process when there is one worker or little work. On both paths a
worker that dies without its results makes the map raise `WorkerDied` (never a wait for ever).

Where `platforms.portable()` is true (Windows, or EXEMPLAR_SITE_PORTABLE=1 on any OS), workers are
spawned.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import multiprocessing
import os
import pickle
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

from . import i18n
from .platforms import portable

T = TypeVar("T")
R = TypeVar("R")

# Windows waits on at most 63 handles at once: a pool larger than this cannot be managed there
_MAX_WINDOWS_WORKERS = 60

_task: Callable[[Any], Any] | None = None  # set in each forked worker, never in the parent
_spawned: tuple[Callable[[Any, Any], Any], Any] | None = None  # (task, state) in each spawned worker


def start_method() -> str:
    """How workers start here: "fork" where it exists and the portable paths are not taken, else "spawn"."""
    if not portable() and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Spawned:
    """The same work for workers that start afresh. `setup(context)` makes a worker's state once;
    `task(state, item)` does one item. Both are module-level functions (pickled by name);
    `context` and `items` are picklable, and `items` corresponds one to one with the items given
    to `run_map`. An item that is None is one the workers cannot do: the calling process does it
    (with run_map's `task`) while they work."""

    setup: Callable[[Any], Any]
    context: Any
    task: Callable[[Any, Any], Any]
    items: Sequence[Any]


def as_state(context: Any) -> Any:
    """A `Spawned.setup` for workers whose state is their context as given."""
    return context


def run_map(task: Callable[[T], R], items: Sequence[T], workers: int, spawned: Callable[[], Spawned],
            min_items: int = 64, each: Callable[[int, R], None] | None = None) -> list[R]:
    """[task(i) for i in items], in order, using up to `workers` processes: forked ones that run
    `task`, or spawned ones that run what `spawned()` describes (called only then).

    `each(n, result)`, if given, is called in this process for every item in order (n: its place),
    as soon as its result and those of all items before it are in: the caller's own work on the
    results is done while the workers go on with the later items."""
    if workers <= 1 or len(items) < min_items:
        return _in_process(task, items, each)
    if start_method() == "fork":
        return fork_map(task, items, workers, min_items, each)
    plan = spawned()
    assert len(plan.items) == len(items)
    return spawn_map(plan, workers, lambda i: task(items[i]), each)


def _in_process(task: Callable[[T], R], items: Sequence[T], each: Callable[[int, R], None] | None) -> list[R]:
    out = []
    for n, item in enumerate(items):
        out.append(task(item))
        if each is not None:
            each(n, out[-1])
    return out


class _InOrder:
    """Results handed on (`each`) in the order of their items, each as soon as all before it are in."""

    def __init__(self, each: Callable[[int, Any], None] | None):
        self.each = each
        self.waiting: dict[int, Any] = {}
        self.next = 0

    def put(self, i: int, result: Any) -> None:
        if self.each is None:
            return
        self.waiting[i] = result
        while self.next in self.waiting:
            self.each(self.next, self.waiting.pop(self.next))
            self.next += 1


def _chunks(items: Sequence[Any], workers: int) -> list[Sequence[Any]]:
    n_chunks = min(len(items), workers * 8)
    size = -(-len(items) // n_chunks)
    return [items[i:i + size] for i in range(0, len(items), size)]


def _starts(chunks: Sequence[Sequence[Any]]) -> list[int]:
    """The place of each chunk's first item among all the items."""
    out, at = [], 0
    for chunk in chunks:
        out.append(at)
        at += len(chunk)
    return out


class WorkerDied(RuntimeError):
    """A worker ended without giving back its results (killed, out of memory, crashed)."""


# A forked worker whose own memory (pages it has written: copies of the parent's it read, its own
# objects, its uncollected garbage) has passed this after a chunk is ended, and a fresh one forked.
# A fresh worker copies again every page of the parent it reads (each copy a page fault, ~10 µs
# on these machines) and renders again the story cards it shows: at 64 MB a cold 10,000-story
# build's page workers were replaced after every chunk (33 forks, 1.09 million page faults); at
# 96 after every other (16 forks, 0.71 million; 4–5 s less of the build's wall and system time),
# with the same peak memory within 10 MiB (docs/performance.md, session 12).
RECYCLE_MB = 96


def _own_memory_mb() -> int:
    """This process's private written memory (Linux: /proc's Private_Dirty), in MB; where it cannot
    be read, a figure past any budget (each chunk then gets a fresh worker)."""
    try:
        with open("/proc/self/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Private_Dirty:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return 1 << 30


def _forked(task: Callable[[Any], Any], chunks: Sequence[Sequence[Any]], conn: Connection,
            others: Sequence[Connection]) -> None:
    """A forked worker: the chunks it is given by number, each one's results (or what it raised)
    sent back with the worker's own memory after it, until it is told to end (None) or the
    parent has gone (its pipe at its end)."""
    global _task
    _task = task
    # the parent's ends of this worker's pipe and of the other workers': were they kept open here,
    # no worker would see the end of its pipe when the parent dies (killed, out of memory), and
    # each would wait for ever, holding what it inherited (the output folder's lock among it)
    for other in others:
        other.close()

    gc.freeze()  # what it inherited is never walked by its collections (a walk would copy its pages)

    def run(k: int) -> list[Any]:
        out = []
        for n, item in enumerate(chunks[k], 1):
            out.append(task(item))
            if n % COLLECT_EVERY == 0:
                collect_young()
        collect_young()  # (before its memory is measured: what is left is what it holds)
        return out

    _serve(conn, run, _own_memory_mb)


# A forked worker collects its cyclic garbage after this many items: with the collector off (as the
# command line builds), Jinja leaves ~60 objects of it a story page and ~470 a listing page (the
# theme's macros imported "with context": a module a render), ~50 MB of a cold 10,000-story
# build's peak, for ~1 CPU-s of collecting.
COLLECT_EVERY = 100


def collect_young() -> None:
    """Collect what this process made since it was forked or last collected, then freeze what is
    left: the next collection walks only what is newer (never the parent's objects, frozen as the
    worker starts: walking them would copy their pages)."""
    gc.collect()
    gc.freeze()


def _spawned_worker(conn: Connection, language: str, setup: Callable[[Any], Any],
                    task: Callable[[Any, Any], Any]) -> None:
    """A spawned worker: its state made once from the context that comes with its first chunk (an
    error in that is the answer to that chunk, raised in the parent as any task's), then the
    chunks it is sent, item by item, as `_forked`. (The context is not among the process's
    arguments: those are written to it as it starts, and a large context written to a process that
    dies starting would wait for ever.)"""
    i18n.use(language)  # messages made in a worker speak the parent's language

    def run(message: tuple[bytes | None, Sequence[Any]]) -> list[Any]:
        global _spawned
        context, chunk = message
        if _spawned is None:
            assert context is not None
            _spawned = (task, setup(pickle.loads(context)))
            gc.freeze()  # what it was given lives as long as the worker: the collector need not walk it again
        state = _spawned[1]
        return [task(state, item) for item in chunk]

    _serve(conn, run, lambda: 0)


def _serve(conn: Connection, run: Callable[[Any], list[Any]], memory: Callable[[], int]) -> None:
    """A worker's loop: each message (a chunk, or its number) run and answered with its results
    (or what it raised, with the traceback) and the worker's memory, until it is told to end
    (None) or the parent has gone (its pipe at its end)."""
    # a worker ends at once on SIGTERM, whatever handler its parent installed (serve turns SIGTERM
    # into KeyboardInterrupt for a clean stop: inherited, a worker raised it in the middle of its work)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Ctrl-C reaches every process of the terminal: the parent stops the workers (SIGTERM, above);
    # a worker's own KeyboardInterrupt would only print its traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        # "started": on Windows the parent holds a copy of this end of the pipe until the worker has
        # taken it over, so no end of the pipe would tell it that a worker died before that
        conn.send(None)
        while (message := conn.recv()) is not None:
            try:
                result: tuple[bool, Any, str, int] = (True, run(message), "", memory())
            except BaseException as exc:  # noqa: BLE001 - whatever the task raised is raised again in the parent
                result = (False, _portable_exception(exc), traceback.format_exc(), 0)
            try:
                conn.send(result)
            except (EOFError, OSError):
                raise
            except Exception as exc:  # noqa: BLE001 - a result that cannot be pickled
                conn.send((False, RuntimeError(f"{type(exc).__name__}: {exc}"), result[2], 0))
    except (EOFError, OSError):  # the parent has gone: nothing to give the results to
        pass
    conn.close()


def _portable_exception(exc: BaseException) -> BaseException:
    """The exception itself if the parent can unpickle it, else a RuntimeError naming it."""
    try:
        pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL))
        return exc
    except Exception:  # noqa: BLE001 - e.g. an __init__ whose arguments differ from its args
        return RuntimeError(f"{type(exc).__name__}: {exc}")


class WorkerTraceback(Exception):
    """Where in a worker the exception raised in the parent came from (its __cause__)."""


def fork_map(task: Callable[[T], R], items: Sequence[T], workers: int, min_items: int = 64,
             each: Callable[[int, R], None] | None = None) -> list[R]:
    """[task(i) for i in items], in order, using up to `workers` forked processes (in this
    process where fork is missing or the portable paths are taken: use run_map there); `each`
    as for run_map.

    Workers are given chunks of the items one at a time; one whose own memory has passed
    RECYCLE_MB after a chunk is ended and a fresh one forked for the next. A worker shares the
    parent's memory until it writes to it, and merely reading an object writes its reference
    count; with the collector off (as the command line builds) it would also keep its cyclic
    garbage, so it collects every COLLECT_EVERY items. Kept to the end, the page workers of a cold
    10,000-story build grew to ~280 MB each; workers that write little (reading, Markdown) live
    through every chunk, as forking costs time.
    Before forking, the parent gives the C heap's free pages back to the system
    (`give_back_free_memory`); each worker freezes what it inherited for the collector as it
    starts, so its collections walk only what it made, never copying the parent's pages for it
    (the parent's collector is left as it was).
    A worker that dies without its results raises WorkerDied here (never a hang, as with
    multiprocessing's pool); an exception in a worker is raised again here, with the worker's
    traceback as its cause; on any exception here (Ctrl-C) the workers are ended."""
    if workers <= 1 or len(items) < min_items or start_method() != "fork":
        return _in_process(task, items, each)
    ctx = multiprocessing.get_context("fork")
    chunks = _chunks(items, workers)
    starts = _starts(chunks)
    order = _InOrder(each)

    def start(running: dict[Connection, multiprocessing.process.BaseProcess]) -> Connection:
        mine, theirs = ctx.Pipe()
        worker = ctx.Process(target=_forked, args=(task, chunks, theirs, [mine, *running]), daemon=True)
        running[mine] = worker  # (before it starts: stopped whatever happens next)
        worker.start()
        theirs.close()  # (the worker's end: a worker that dies leaves this pipe at its end)
        return mine

    def arrived(k: int, results: list[Any]) -> None:
        for j, result in enumerate(results):
            order.put(starts[k] + j, result)

    give_back_free_memory()
    done = _drive(len(chunks), min(workers, len(chunks)), start, lambda k, first: k, recycle=True,
                  arrived=arrived)
    return [r for chunk in done for r in chunk]


def give_back_free_memory() -> bool:
    """Hand the C heap's free pages back to the system (glibc's `malloc_trim`), before forking.

    What Python frees in the middle of the heap stays in the process (glibc returns only the top
    of its heap by itself), and a forked worker inherits those pages: measured as part of every
    process's share (PSS), they were ~55 MB of a cold 10,000-story build's peak, in the main
    process when its page workers were forked. Elsewhere (Windows, macOS, musl: no such call, or
    an allocator that returns memory by itself) nothing is done. → whether it was done."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@functools.cache
def _malloc_trim() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        found = ctypes.CDLL(None).malloc_trim  # (the C library the interpreter runs on; none in musl)
    except (OSError, AttributeError, TypeError):
        return None
    found.argtypes, found.restype = [ctypes.c_size_t], ctypes.c_int
    return found


def _drive(n_chunks: int, workers: int,
           start: Callable[[dict[Connection, multiprocessing.process.BaseProcess]], Connection],
           message: Callable[[int, bool], Any], recycle: bool, meanwhile: Callable[[], bool] = lambda: False,
           arrived: Callable[[int, list[Any]], None] = lambda k, results: None) -> list[list[Any]]:
    """The parent's side of both ways: `workers` workers started by `start` (which registers each
    in the dict it is given before starting it), each given `message(k, first)` for chunk k
    (`first`: the first it is given), one chunk at a time, and a fresh one started when a
    worker's memory is past RECYCLE_MB (`recycle`); `meanwhile()` does one piece of the caller's
    own work (False: none left) whenever no worker has an answer; `arrived(k, results)` is
    called with each chunk's results once the worker has its next chunk. → each chunk's results,
    in order.
    A worker that dies without its results raises WorkerDied; an exception raised in a worker is
    raised here with the worker's traceback as its cause; on any exception (Ctrl-C) the workers
    are ended."""
    results: list[list[Any] | None] = [None] * n_chunks
    running: dict[Connection, multiprocessing.process.BaseProcess] = {}
    pending: dict[Connection, int] = {}
    given = 0  # chunks handed out

    def died(conn: Connection) -> WorkerDied:
        worker = running.pop(conn)
        conn.close()
        worker.join()
        return WorkerDied(f"a worker ended without its results (exit code {worker.exitcode})")

    def started(conn: Connection) -> Connection:
        """Its "started" read (its end of the pipe is its own from then on), or WorkerDied."""
        worker = running[conn]
        while not conn.poll():
            if worker.sentinel in wait([conn, worker.sentinel]) and not conn.poll():
                raise died(conn)
        try:
            conn.recv()
        except (EOFError, OSError):
            raise died(conn) from None
        return conn

    def give(conn: Connection, first: bool = False) -> None:
        nonlocal given
        try:
            conn.send(message(given, first))
        except OSError:  # (it has ended: the next wait would not see it)
            raise WorkerDied("a worker ended before it was given its work") from None
        pending[conn] = given
        given += 1

    def end(conn: Connection) -> None:
        worker = running.pop(conn)
        try:
            conn.send(None)
        except OSError:
            pass
        conn.close()
        worker.join()

    try:
        # all started before any is given its work: a spawned worker reads only once it has
        # started (~1 s), and a large chunk waits in the pipe until then
        for conn in [start(running) for _ in range(workers)]:
            give(started(conn), first=True)
        more = True  # the caller's own work, done while the workers work
        while pending:
            sentinels = {running[conn].sentinel: conn for conn in pending}
            ready_ones = wait([*pending, *sentinels], timeout=0 if more else None)
            if not ready_ones:
                more = meanwhile()
                continue
            for ready in ready_ones:
                if not isinstance(ready, Connection):  # a worker ended: an answer it left is read first
                    assert isinstance(ready, int)
                    conn = sentinels[ready]
                    if conn in pending and not conn.poll():
                        pending.pop(conn)
                        raise died(conn)
                    continue
                if ready not in pending:
                    continue
                k = pending.pop(ready)
                try:
                    ok, value, where, memory = ready.recv()
                except (EOFError, OSError):  # (EOF, or a reset when it died with its work unread)
                    raise died(ready) from None
                if not ok:
                    raise value from WorkerTraceback(where)
                results[k] = value
                if given == n_chunks:
                    end(ready)
                elif recycle and memory > RECYCLE_MB:
                    end(ready)
                    give(started(start(running)), first=True)
                else:
                    give(ready)
                arrived(k, value)
        while more:
            more = meanwhile()
    except BaseException:
        for worker in running.values():
            if worker.pid is not None:
                worker.terminate()
        for worker in running.values():
            if worker.pid is not None:
                worker.join()
        raise
    finally:
        for conn in running:
            conn.close()
    return [chunk or [] for chunk in results]


def spawn_map(plan: Spawned, workers: int, here: Callable[[int], Any] | None = None,
              each: Callable[[int, Any], None] | None = None) -> list[Any]:
    """plan.task over plan.items in fresh interpreters (multiprocessing "spawn"), in order; the
    items that are None by `here(i)` (i: their place), in this process, meanwhile; `each` as for
    run_map.

    The same driver as the forked workers' (`_drive`), not multiprocessing's pool: that pool
    replaces a worker that dies and waits for its chunk for ever, and starts workers whose setup
    fails for ever; concurrent.futures' pool can hang on Python before 3.11.7 when a worker dies,
    or a task fails, while a large chunk is being sent (CPython gh-94777)."""
    remote = [i for i, item in enumerate(plan.items) if item is not None]
    local = [i for i, item in enumerate(plan.items) if item is None]
    assert here is not None or not local
    results: list[Any] = [None] * len(plan.items)
    order = _InOrder(each)

    left = iter(local)

    def meanwhile() -> bool:  # one item of this process's own, while the workers work
        i = next(left, None)
        if i is not None:
            results[i] = here(i) if here is not None else None
            order.put(i, results[i])
        return i is not None

    if not remote:
        while meanwhile():
            pass
        return results
    if os.name == "nt":  # pragma: no cover - Windows
        workers = min(workers, _MAX_WINDOWS_WORKERS)
    chunks = _chunks([plan.items[i] for i in remote], workers)
    context = pickle.dumps(plan.context, protocol=pickle.HIGHEST_PROTOCOL)  # once, not once per worker
    ctx = multiprocessing.get_context("spawn")
    language = i18n.language()

    def start(running: dict[Connection, multiprocessing.process.BaseProcess]) -> Connection:
        mine, theirs = ctx.Pipe()
        worker = ctx.Process(target=_spawned_worker, args=(theirs, language, plan.setup, plan.task), daemon=True)
        running[mine] = worker  # (before it starts: stopped whatever happens next)
        with _main_not_rerun():
            worker.start()
        theirs.close()
        return mine

    def message(k: int, first: bool) -> tuple[bytes | None, Sequence[Any]]:
        return context if first else None, chunks[k]

    starts = _starts(chunks)

    def arrived(k: int, chunk: list[Any]) -> None:
        for j, result in enumerate(chunk):
            order.put(remote[starts[k] + j], result)

    done = _drive(len(chunks), min(workers, len(chunks)), start, message, recycle=False, meanwhile=meanwhile,
                  arrived=arrived)
    for i, r in zip(remote, (r for chunk in done for r in chunk), strict=True):
        results[i] = r
    return results


@contextlib.contextmanager
def _main_not_rerun() -> Iterator[None]:
    """A spawned worker normally runs the parent's main script again (as `__mp_main__`), which is
    why scripts guard their work with `if __name__ == "__main__"`. Our workers need nothing from
    the main script (their functions live in this package), and `build.py` does its work at the
    top level: while the workers start, the main module does not name its file, so they skip it."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def worker_kind(state: object, item: object) -> tuple[int, str]:
    """(pid, "fork" | "spawn" | "parent"): how the process running it was started. A task for
    `Spawned` and `run_map` that tests and diagnostics use to see which path was taken."""
    return os.getpid(), "spawn" if _spawned is not None else "fork" if _task is not None else "parent"
