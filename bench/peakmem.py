"""Peak memory of one build, process by process (Linux).

    .venv/bin/python bench/peakmem.py <corpus>/site_config.yaml <fresh output folder> [--now 2026-11-24]

Runs `build.py build` and samples every process of its tree every 0.25 s: PSS (what bench/run.py
sums for its peak) and Private_Dirty (what a forked worker has written: its own objects, its
copies of the parent's pages) from /proc/<pid>/smaps_rollup. Prints the peak with each process's
share, then a timeline, and the build's CPU time. Set PYTHONPATH to an export's src to measure
another version (docs/performance.md, session 8).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from run import ENV, _children, rollup_kb  # noqa: E402  (bench/run.py's own sampler)


def memory(pid: int) -> tuple[int, int]:
    """(PSS, Private_Dirty) in MiB; (0, 0) for a process that has gone."""
    pss, dirty = rollup_kb(pid, "Pss", "Private_Dirty")
    return pss // 1024, dirty // 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config")
    ap.add_argument("output")
    ap.add_argument("--now", default="2026-11-24")
    args = ap.parse_args()
    start = time.perf_counter()
    build = subprocess.Popen([sys.executable, str(REPO / "build.py"), "build", "--config", args.config,
                              "--output", args.output, "--now", args.now],
                             env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples: list[tuple[float, int, list[tuple[int, int]]]] = []
    while build.poll() is None:
        each = [memory(pid) for pid in _children(build.pid)]
        samples.append((time.perf_counter() - start, sum(p for p, _ in each), each))
        time.sleep(0.25)
    wall = time.perf_counter() - start
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not samples:
        print("the build ended before the first sample")
        return 1
    at, peak, each = max(samples, key=lambda s: s[1])
    shares = ", ".join(f"{p} (private {d})" for p, d in each)
    print(f"exit {build.returncode}, wall {wall:.1f} s, user {used.ru_utime:.1f} s, system {used.ru_stime:.1f} s")
    print(f"peak PSS {peak} MiB at {at:.1f} s: {shares}  (main process first)")
    last = -10.0
    for at, total, each in samples:
        if at - last >= 1.5:
            print(f"{at:7.1f} s {total:7d} MiB  " + " ".join(f"{p}/{d}" for p, d in each))
            last = at
    return build.returncode


if __name__ == "__main__":
    raise SystemExit(main())
