"""Where one build's time goes, stage by stage, without a profiler's overhead.

    PYTHONPATH=<a version's src> .venv/bin/python bench/editstages.py build --config <corpus>/site_config.yaml \
        --output <folder> --now 2026-11-24

Runs the command line once in this process (any arguments `build.py` takes) with a timer around
each of the stage functions named in STAGES, and prints, slowest first, each one's wall time
summed over its calls, and the whole run's. Meant for the edit path: build once, edit a story,
then run this. (A sampling profiler such as pyinstrument adds ~40 % to a 2-second build, most of
it to the stages that call many small functions; these timers cost ~1 µs a call, so functions
called once a story are left out.) Stages nest: load_site holds discover, decide_all, …
"""

from __future__ import annotations

import atexit
import collections
import functools
import importlib
import sys
import time
from collections.abc import Callable
from typing import Any

T0 = time.perf_counter()

# (module of exemplar_site, attribute path): called a few times a build, each over the whole site
STAGES = [
    ("cache", "BuildCache.load"), ("cache", "BuildCache.save"), ("cache", "BuildCache.save_lazy"),
    ("nochange", "signature"), ("sources", "discover"), ("incremental", "Incremental.read"),
    ("incremental", "Incremental.records"), ("records", "check_across"), ("gate", "decide_all"),
    ("incremental", "Incremental.publish"), ("pipeline", "_media"), ("taxonomy", "related_key"),
    ("taxonomy", "build_index"), ("pipeline", "load_site"), ("pipeline", "site_jobs"),
    ("pages", "page_plan"), ("incremental", "Incremental.page_jobs"), ("incremental", "index_shape"),
    ("feeds", "feed_jobs"), ("search", "search_docs"), ("incremental", "Incremental.search_shards"),
    ("search", "search_jobs"), ("incremental", "Incremental.sms_messages"),
    ("incremental", "Incremental.sms_jobs"), ("sms", "sms_files"),
    ("pipeline", "_assets"), ("manifest", "load_manifest"), ("manifest", "save_manifest"),
    ("writer", "Staging._open"), ("writer", "Staging.commit"), ("parallel", "run_map"),
    ("gate", "next_change"), ("gate", "finish"), ("pipeline", "_build"),
    # (added in session 13: parts of a 100,000-story edit that py-spy found outside the stages above)
    ("cache", "_Lazy.need"), ("cache", "BuildCache.save_search"), ("writer", "Staging.__init__"),
    ("outguard", "settled"), ("search", "index_files"), ("pages", "sitemap"),
    # (session 21: the private values of related texts, which grew with a series' length squared)
    ("incremental", "Incremental.related_private"),
    # (session 23: the feeds' entries kept between builds, read and written by key)
    ("incremental", "Incremental.feed_entries"), ("incremental", "Incremental.keep_feed_entries"),
    ("cache", "_Table.save"), ("cache", "_Table._read"),
]
spent: dict[str, float] = collections.defaultdict(float)
calls: collections.Counter[str] = collections.Counter()


def _timed(label: str, f: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(f)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return f(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - start
            calls[label] += 1
    return timed


def install() -> None:
    """Wrap each stage where it is defined and wherever a module imported it by name."""
    import exemplar_site.cli  # (every module the command line loads, loaded first)
    import exemplar_site.pipeline  # noqa: F401
    for module_name, path in STAGES:
        try:
            owner: Any = importlib.import_module(f"exemplar_site.{module_name}")
        except ModuleNotFoundError:  # (a version without it)
            continue
        *outer, name = path.split(".")
        for part in outer:
            owner = getattr(owner, part, None)
        original = getattr(owner, name, None)
        if original is None:  # (a version without it: an older one, measured side by side)
            continue
        wrapped = _timed(f"{module_name}.{path}", original)
        setattr(owner, name, wrapped)
        if not outer:
            for module in list(sys.modules.values()):
                if getattr(module, "__name__", "").startswith("exemplar_site.") and \
                        getattr(module, name, None) is original:
                    setattr(module, name, wrapped)


def report() -> None:
    print(f"\nwhole run {time.perf_counter() - T0:.3f} s (imports included)", file=sys.stderr)
    if sys.dont_write_bytecode:  # (PYTHONDONTWRITEBYTECODE: docs/performance.md, session 24)
        print("  (bytecode is not written in this shell: modules edited since their .pyc was made are compiled "
              "on every run, ~10-25 ms each; run `PYTHONDONTWRITEBYTECODE= python -m compileall -q <version>/src` "
              "first, or unset it)", file=sys.stderr)
    for label, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds * 1000:8.1f} ms  {calls[label]:3}×  {label}", file=sys.stderr)


def main() -> int:
    install()
    atexit.register(report)
    from exemplar_site.cli import main as cli_main
    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
