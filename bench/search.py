#!/usr/bin/env python3
"""Site search at N stories, ours and Pagefind's extended build side by side, on one built site.

    .venv/bin/pip install 'pagefind[extended]'     # benchmark only; not a project dependency
    .venv/bin/python bench/search.py --size 10000 [--repeat 3]

Builds the corpus (bench/generate.py) into bench/work/search-<N>/public, then reports:
index build time (ours: documents + shards + document files, in process, after the site is
loaded; Pagefind: `python -m pagefind --site …`, wall), size on disk and files, and for each
query of a fixed list, in headless Chromium (/usr/bin/chromium) with a fresh browser context
(nothing cached): time from typing to results shown (ours: the input event to the first ten
results with snippets in the page; Pagefind: `search()` plus `data()` of the first ten), bytes
downloaded for it (counted by the benchmark's own HTTP server, page and scripts excluded), and
recall against the stories whose text holds the query (all results, not only the first ten).
Then (after the browser, as Playwright hangs in a process that forked workers) the time of
`search.shards_of` in one process and over two workers. The collector runs with the CLI's
thresholds (cli.main), as in a build. Writes bench/search-results-<N>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gc
import http.server
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from generate import generate  # noqa: E402

from exemplar_site import search  # noqa: E402
from exemplar_site.cache import BuildCache, cache_path  # noqa: E402
from exemplar_site.pipeline import BuildOptions, load_site  # noqa: E402

NOW = dt.datetime(2026, 11, 24, 12, 0)
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
# names, places, 2-4 character phrases, substrings across word boundaries, a number; the names
# are taken from the corpus (the first, middle and last story's) so they exist at any size
PHRASES = ["滨江派出所", "江北南湖派出所", "南湖", "枫桥经验", "见义勇为", "抗洪抢险", "电信诈骗", "独居老人",
           "一窗通办", "握手言和", "七十二小时", "年轻民警", "民警扎根", "抢险中", "案件材料", "上门看望",
           "群众的信任", "二等功", "网格化", "满意率", "2021"]


class Counting(http.server.SimpleHTTPRequestHandler):
    counted: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: Any) -> None:
        pass

    def copyfile(self, source: Any, outputfile: Any) -> None:
        data = source.read()
        Counting.counted[self.path] = Counting.counted.get(self.path, 0) + len(data)
        outputfile.write(data)


def du(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def texts(out: Path, n: int) -> list[dict[str, str]]:
    return [search.read_js((out / f"search/data/d/{i}.js").read_bytes())[1] for i in range(n)]


def truth_of(query: str, docs: list[dict[str, str]]) -> set[str]:
    """The stories whose text holds every term of the query as it is (title, name, unit, labels,
    summary, body: what both tools index from the page)."""
    terms = search.query_terms(query)
    found = set()
    for d in docs:
        hay = search.normalise("\n".join([d["t"], d["n"], d["un"], d["l"], d["s"], d["b"]]))
        if d["k"] == "story" and all(t in hay for t in terms):
            found.add(d["u"])
    return found


OURS_JS = """async (q) => {
  const input = document.getElementById('search-q'), list = document.getElementById('search-results');
  const done = new Promise(r => new MutationObserver((m, o) => {
    if (list.getAttribute('data-query') === q) { o.disconnect(); r(); } }).observe(list, {attributes: true}));
  const t0 = performance.now();
  input.value = q; input.dispatchEvent(new Event('input'));
  await Promise.race([done, new Promise((_, no) => setTimeout(() => no(new Error(
    'no results shown: ' + document.getElementById('search-status').innerText)), 20000))]);
  const ms = performance.now() - t0;
  const all = await window.exemplarSearch.search(q, {});
  return {ms, shown: list.children.length, all: all.docs.map(d => d[0])};
}"""

PAGEFIND_JS = """async (q) => {
  const t0 = performance.now();
  const r = await window.pf.search(q);
  const top = await Promise.all(r.results.slice(0, 10).map(x => x.data()));
  const ms = performance.now() - t0;
  return {ms, n: r.results.length, top: top.map(d => d.url)};
}"""

PAGEFIND_ALL_JS = """async (q) => {
  const r = await window.pf.search(q);
  const urls = [];
  for (let i = 0; i < r.results.length; i += 200) {
    (await Promise.all(r.results.slice(i, i + 200).map(x => x.data()))).forEach(d => urls.push(d.url));
  }
  return urls;
}"""

PAGEFIND_PAGE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"></head><body>
<script type="module">
window.pf = await import("./_pagefind/pagefind.js"); await window.pf.options({});
document.body.setAttribute("data-ready", "1");
</script></body></html>
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-pagefind", action="store_true")
    args = ap.parse_args()
    gc.set_threshold(100_000, 50, 1000)  # as cli.main does for a build
    work = REPO / "bench" / "work" / f"search-{args.size}"
    corpus = REPO / "bench" / "work" / f"corpus-{args.size}"
    if not (corpus / "site_config.yaml").exists():
        generate(args.size, corpus)
    out = work / "public"
    config = corpus / "site_config.yaml"
    options = BuildOptions(now=NOW, output=out, workers=1)
    t0 = time.perf_counter()  # (in a process of its own: Playwright hangs in a process that forked workers)
    subprocess.run([sys.executable, str(REPO / "build.py"), "build", "--config", str(config), "--output", str(out),
                    "--now", NOW.date().isoformat()], check=True, capture_output=True)
    print(f"site built in {time.perf_counter() - t0:.1f} s", flush=True)
    site = load_site(config, options, BuildCache.load(cache_path(out))[0])

    build_times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        docs = search.search_docs(site.index)
        outputs, jobs = search.index_files(docs, site.index)
        made = [j.make() for j in jobs]
        build_times.append(time.perf_counter() - t0)
    ours_bytes, ours_files = du(out / "search" / "data")
    shards = sum(1 for o in outputs if "/i/" in o.path)
    print(f"ours: {statistics.median(build_times):.2f} s, {ours_bytes / 1e6:.1f} MB in {ours_files} files "
          f"({shards} shards, {len(made)} document files)", flush=True)

    doc_texts = texts(out, len(docs))
    stories = [d for d in doc_texts if d["k"] == "story"]
    names = [stories[0]["n"], stories[len(stories) // 2]["n"], stories[-1]["n"]]
    queries = names + PHRASES
    url_of = {i: d["u"] for i, d in enumerate(doc_texts)}

    pf_result: dict[str, Any] = {}
    if not args.no_pagefind:
        shutil.rmtree(out / "_pagefind", ignore_errors=True)
        t0 = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "pagefind", "--site", str(out), "--output-subdir", "_pagefind",
                              "--glob", "stories/bm-*/index.html"], check=False, capture_output=True, text=True)
        pf_time = time.perf_counter() - t0
        if run.returncode:
            print(run.stdout[-2000:], run.stderr[-2000:])
            raise SystemExit("pagefind failed")
        (out / "pagefind-bench.html").write_text(PAGEFIND_PAGE, encoding="utf-8")
        pf_bytes, pf_files = du(out / "_pagefind")
        pf_result = {"build_s": pf_time, "bytes": pf_bytes, "files": pf_files}
        print(f"pagefind: {pf_time:.2f} s, {pf_bytes / 1e6:.1f} MB in {pf_files} files", flush=True)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Counting, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    from playwright.sync_api import sync_playwright

    rows: list[dict[str, Any]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for q in queries:
            truth = truth_of(q, doc_texts)
            row: dict[str, Any] = {"query": q, "truth": len(truth)}
            ms, sent = [], []
            for _ in range(args.repeat):
                ctx = browser.new_context()
                page = ctx.new_page()
                page.goto(base + "search/index.html")
                page.wait_for_function("document.getElementById('search-results').hasAttribute('data-done')",
                                       timeout=20000)
                Counting.counted.clear()
                r = page.evaluate(OURS_JS, q)
                ms.append(r["ms"])
                sent.append(sum(Counting.counted.values()))
                page.evaluate("() => { const i = document.getElementById('search-q'); i.value = '';"
                              " i.dispatchEvent(new Event('input')); }")
                page.wait_for_selector("#search-results[data-query='']", state="attached")
                warm = page.evaluate(OURS_JS, q)  # the same again, its files already loaded
                ctx.close()
            found = {url_of[d] for d in r["all"] if doc_texts[d]["k"] == "story"}
            row["ours"] = {"ms": statistics.median(ms), "warm_ms": warm["ms"], "bytes": statistics.median(sent),
                           "results": len(found), "recall": len(found & truth) / len(truth) if truth else 1.0,
                           "precision": len(found & truth) / len(found) if found else 1.0}
            if not args.no_pagefind:
                ms, sent, urls = [], [], None
                for _ in range(args.repeat):
                    ctx = browser.new_context()
                    page = ctx.new_page()
                    page.goto(base + "pagefind-bench.html")
                    page.wait_for_selector("body[data-ready]", state="attached")
                    Counting.counted.clear()
                    r = page.evaluate(PAGEFIND_JS, q)
                    ms.append(r["ms"])
                    sent.append(sum(Counting.counted.values()))
                    if urls is None:  # every result's address, once (outside the timing)
                        urls = page.evaluate(PAGEFIND_ALL_JS, q)
                    ctx.close()
                prefix = "/stories/"
                got = {u[u.index(prefix) + 1:].removesuffix("index.html") for u in urls or [] if prefix in u}
                row["pagefind"] = {"ms": statistics.median(ms), "bytes": statistics.median(sent), "results": r["n"],
                                   "recall": len(got & truth) / len(truth) if truth else 1.0,
                                   "precision": len(got & truth) / len(got) if got else 1.0}
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
        browser.close()
    server.shutdown()

    parts = [search.doc_tokens(doc) for doc in docs]
    shard_times: dict[str, float] = {}
    for workers in (1, 2):
        t0 = time.perf_counter()
        made_shards = search.shards_of(parts, workers)
        shard_times[str(workers)] = time.perf_counter() - t0
    print(f"shards_of: {shard_times} ({len(made_shards.files)} shards)", flush=True)

    def med(tool: str, key: str) -> float:
        return float(statistics.median(r[tool][key] for r in rows))

    def mean(tool: str, key: str) -> float:
        return statistics.fmean(r[tool][key] for r in rows)

    summary = {"size": args.size, "ours": {"build_s": statistics.median(build_times), "bytes": ours_bytes,
                                           "files": ours_files, "shards": shards, "shards_of_s": shard_times,
                                           "ms_median": med("ours", "ms"), "ms_max": max(r["ours"]["ms"] for r in rows),
                                           "bytes_median": med("ours", "bytes"),
                                           "bytes_max": max(r["ours"]["bytes"] for r in rows),
                                           "recall_mean": mean("ours", "recall"),
                                           "precision_mean": mean("ours", "precision")},
               "queries": rows}
    if pf_result:
        pf_result.update({"ms_median": med("pagefind", "ms"), "ms_max": max(r["pagefind"]["ms"] for r in rows),
                          "bytes_median": med("pagefind", "bytes"),
                          "bytes_max": max(r["pagefind"]["bytes"] for r in rows),
                          "recall_mean": mean("pagefind", "recall"), "precision_mean": mean("pagefind", "precision")})
        summary["pagefind"] = pf_result
    (REPO / "bench" / f"search-results-{args.size}.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k != "queries"}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
