#!/usr/bin/env python3
"""Side-by-side figures of two versions of the package on one corpus (paired, interleaved runs).

    git worktree add /tmp/before HEAD~3
    .venv/bin/python bench/compare.py --before /tmp/before/src --sizes 10000 --repeat 3

For each round, each version (order alternating): a cold build into an empty folder, a build
with nothing changed, and one story edited (three edits a round, each version editing its own
copy of the corpus the same way). Prints the medians and the ratio after/before. The "after"
version is this checkout's src/ (or --after). Output trees of the two versions are compared byte for byte
after the cold builds (they must be identical unless the change meant to alter output).

To weigh a restructuring alone against a version without later features, give the new version
the options that turn those features off and a corpus without them, e.g.

    .venv/bin/python bench/generate.py 10000 /tmp/corpus-plain          # no photos
    .venv/bin/python bench/compare.py --before /tmp/before/src --corpus /tmp/corpus-plain \
        --after-config "search: false"

Builds run as a user's would: bytecode is written and read, output is buffered (the
PYTHONDONTWRITEBYTECODE and PYTHONUNBUFFERED of a development shell are dropped).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
NOW = "2026-11-24"


def run(src: Path, corpus: Path, out: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")}
    env["PYTHONPATH"] = str(src)
    start = time.perf_counter()
    subprocess.run([PY, "-c", "from exemplar_site.cli import main; raise SystemExit(main())",
                    "build", "--config", str(corpus / "site_config.yaml"), "--output", str(out), "--now", NOW],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def wipe(out: Path) -> None:
    """The output, its staging twin, manifest, cache and state: a cold start."""
    for p in [out, *out.parent.glob(f".{out.name}.*"), *out.parent.glob(f"{out.name}-*")]:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    os.sync()
    time.sleep(1.0)  # let the file system settle after a big delete (shared/PERFORMANCE.md)


def edit(corpus: Path, n: int) -> None:
    stories = sorted((corpus / "content" / "stories").rglob("*.md"))
    path = stories[len(stories) // 2]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("title: ", f"title: 第{n}次修改·", 1), encoding="utf-8")


def tree_digest(root: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, type=Path, help="the src/ folder of the version to compare with")
    ap.add_argument("--after", type=Path, default=REPO / "src",
                    help="the src/ folder of the new version (default: this checkout's)")
    ap.add_argument("--sizes", default="10000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", type=Path, default=REPO / "bench" / "work")
    ap.add_argument("--corpus", type=Path,
                    help="the corpus to build (default: <work>/corpus-<size>, made when missing)")
    ap.add_argument("--after-config", default="",
                    help="lines added to the new version's copy of site_config.yaml (e.g. \"search: false\")")
    args = ap.parse_args()
    versions = {"before": args.before.resolve(), "after": args.after.resolve()}
    for n in [int(x) for x in args.sizes.split(",")]:
        base = args.corpus or args.work / f"corpus-{n}"
        if not base.exists():
            subprocess.run([PY, str(REPO / "bench" / "generate.py"), str(n), str(base)], check=True)
        corpora = {}
        for name in versions:
            corpora[name] = args.work / f"compare-{n}-{name}"
            if corpora[name].exists():
                shutil.rmtree(corpora[name])
            shutil.copytree(base, corpora[name])
        if args.after_config:
            with (corpora["after"] / "site_config.yaml").open("a", encoding="utf-8") as f:
                f.write("\n" + args.after_config.replace("\\n", "\n") + "\n")
        figures: dict[tuple[str, str], list[float]] = {}
        edits = 0
        for round_no in range(args.repeat):
            order = list(versions) if round_no % 2 == 0 else list(reversed(versions))
            digests = {}
            for name in order:
                out = args.work / f"out-compare-{name}"
                wipe(out)
                figures.setdefault((name, "cold"), []).append(run(versions[name], corpora[name], out))
                digests[name] = tree_digest(out)
                figures.setdefault((name, "nothing changed"), []).append(run(versions[name], corpora[name], out))
            for _ in range(3):
                edits += 1
                for name in order:
                    out = args.work / f"out-compare-{name}"
                    edit(corpora[name], edits)
                    figures.setdefault((name, "one story edited"), []).append(
                        run(versions[name], corpora[name], out))
            same = "identical" if digests["before"] == digests["after"] else "DIFFERENT"
            print(f"N={n} round {round_no + 1}: cold output trees {same}", flush=True)
        print(f"\nN = {n:,} (medians; {args.repeat} rounds, one-story edits: {3 * args.repeat})")
        print("| scenario | before | after | after/before |\n|---|---|---|---|")
        for scenario in ("cold", "nothing changed", "one story edited"):
            b = statistics.median(figures[("before", scenario)])
            a = statistics.median(figures[("after", scenario)])
            print(f"| {scenario} | {b:.2f} s | {a:.2f} s | {a / b:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
