#!/usr/bin/env python3
"""Time the private-value check of related texts (`Incremental.related_private`) over three builds:
cold (no output, no cache), one story's title edited, the edit undone.

    .venv/bin/python bench/generate.py 300 /tmp/ser300 --series 300
    EXEMPLAR_SITE_WORKERS=1 PYTHONPATH=<version>/src .venv/bin/python bench/privatecost.py /tmp/ser300 /tmp/ser300-out

The story edited is the middle one of content/stories/ (sorted by path); its file is put back as
it was. Prints the three figures in seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import time
from pathlib import Path
from typing import Any

from exemplar_site.incremental import Incremental
from exemplar_site.pipeline import BuildOptions, build_site


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", type=Path, help="the site folder (holding site_config.yaml)")
    ap.add_argument("output", type=Path, help="an output folder: it and its cache are deleted first")
    args = ap.parse_args()
    spent: list[float] = []
    original = Incremental.related_private

    def timed(self: Incremental, *a: Any) -> None:
        start = time.perf_counter()
        try:
            original(self, *a)
        finally:
            spent.append(time.perf_counter() - start)

    Incremental.related_private = timed  # type: ignore[method-assign,assignment]
    out: Path = args.output
    shutil.rmtree(out, ignore_errors=True)
    for cached in out.parent.glob(f".{out.name}.cache*"):
        shutil.rmtree(cached) if cached.is_dir() else cached.unlink()
    now = dt.datetime(2026, 11, 24, 12)
    config = args.site / "site_config.yaml"
    build_site(config, BuildOptions(now=now, output=out))
    stories = sorted((args.site / "content/stories").rglob("*.md"))
    edited = stories[len(stories) // 2]
    text = edited.read_text(encoding="utf-8")
    try:
        edited.write_text(text.replace("title: ", "title: 改", 1), encoding="utf-8")
        build_site(config, BuildOptions(now=now, output=out))
    finally:
        edited.write_text(text, encoding="utf-8")
    build_site(config, BuildOptions(now=now, output=out))
    cold, edit, undone = spent
    print(f"related_private: cold {cold:.2f} s, one edit {edit:.2f} s, edit undone {undone:.2f} s")


if __name__ == "__main__":
    main()
