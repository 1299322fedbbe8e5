"""Spread work over processes (fork) for cold builds.

Work functions and their inputs are inherited by the forked workers, never
pickled; only results come back. Falls back to the calling process when
there is one worker, little work, or no fork (not Linux/macOS).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_task: Callable[[Any], Any] | None = None  # set in each worker by _init, never in the parent


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _init(task: Callable[[Any], Any]) -> None:
    global _task
    _task = task


def _run(chunk: Sequence[Any]) -> list[Any]:
    assert _task is not None
    return [_task(item) for item in chunk]


def fork_map(task: Callable[[T], R], items: Sequence[T], workers: int, min_items: int = 64) -> list[R]:
    """[task(i) for i in items], in order, using up to `workers` forked processes."""
    if workers <= 1 or len(items) < min_items or "fork" not in multiprocessing.get_all_start_methods():
        return [task(i) for i in items]
    n_chunks = min(len(items), workers * 8)
    size = -(-len(items) // n_chunks)
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers, initializer=_init, initargs=(task,)) as pool:
        results = pool.map(_run, chunks, chunksize=1)
    return [r for chunk in results for r in chunk]
