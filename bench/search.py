#!/usr/bin/env python3
"""Site search at N stories, ours and Pagefind's extended build side by side, on one built site.

    .venv/bin/pip install 'pagefind[extended]'     # benchmark only; not a project dependency
    .venv/bin/python bench/search.py --size 10000 [--repeat 3] [--before <commit>]

Builds the corpus (bench/generate.py) into bench/work/search-<N>/public, then reports:
index build time (ours: documents + shards + document files, in process, after the site is
loaded; Pagefind: `python -m pagefind --site …`, wall), size on disk and files, and for each
query of a fixed list, in headless Chromium (/usr/bin/chromium) with a fresh browser context
(nothing cached): time from typing to results shown (ours: the input event to the first ten
results' titles in the page, "first", and to the ten with their snippets, "done"; Pagefind:
`search()` plus `data()` of the first ten, which gives titles and excerpts together), bytes
downloaded for it (counted by the benchmark's own HTTP server, page and scripts excluded), and
recall against the stories whose text holds the query (all results, not only the first ten).
Every query is timed behind two local servers in turn: Python's `http.server` as it is (HTTP/1.0,
a new connection for every request) and the same handler speaking HTTP/1.1 with keep-alive (as
nginx or any intranet server does; Chromium then reuses its six connections).
With --before, the search page is also timed with the theme's search.js of that commit (the same
index and server, query by query with the others: an older script ignores files it does not know).
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
    """HTTP/1.0 (http.server's default): the connection is closed after every response."""

    counted: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: Any) -> None:
        pass

    def copyfile(self, source: Any, outputfile: Any) -> None:
        data = source.read()
        Counting.counted[self.path] = Counting.counted.get(self.path, 0) + len(data)
        outputfile.write(data)


class KeepAlive(Counting):
    """The same files over HTTP/1.1, connections kept open (SimpleHTTPRequestHandler sends
    Content-Length, so a connection can carry the next request), with TCP_NODELAY as nginx sets
    on kept-alive connections (else the body, written after the headers, waits for the
    client's delayed acknowledgement: some 40 ms a response on Linux)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True


SERVERS = {"http1.0": Counting, "keepalive": KeepAlive}


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
  let first = null;
  const done = new Promise(r => new MutationObserver((m, o) => {
    if (first === null && list.getAttribute('data-shown') === q) first = performance.now();
    if (list.getAttribute('data-query') === q) { o.disconnect(); r(); } }).observe(list, {attributes: true}));
  const t0 = performance.now();
  input.value = q; input.dispatchEvent(new Event('input'));
  await Promise.race([done, new Promise((_, no) => setTimeout(() => no(new Error(
    'no results shown: ' + document.getElementById('search-status').innerText)), 20000))]);
  const ms = performance.now() - t0;
  const after = (kind) => performance.getEntriesByType('resource').filter(
    e => e.startTime >= t0 && e.name.includes('/search/data/' + kind + '/'));
  const ends = (es) => es.length ? Math.max(...es.map(e => e.responseEnd)) - t0 : null;
  const starts = (es) => es.length ? Math.min(...es.map(e => e.startTime)) - t0 : null;
  const shards = after('i'), cards = after('c'), docs = after('d');
  const all = await window.exemplarSearch.search(q, {});
  return {ms, first: first === null ? ms : first - t0, shown: list.children.length, all: all.docs.map(d => d[0]),
          shards_end: ends(shards), cards_start: starts(cards), cards_end: ends(cards),
          docs_start: starts(docs), docs_end: ends(docs), requests: shards.length + cards.length + docs.length};
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
    ap.add_argument("--before", metavar="REV", help="also time the theme's search.js of this commit on the same site "
                    "(search/before.html), query by query with the others")
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
    cards = sum(1 for o in outputs if "/c/" in o.path)
    print(f"ours: {statistics.median(build_times):.2f} s, {ours_bytes / 1e6:.1f} MB in {ours_files} files "
          f"({shards} shards, {cards} card files, {len(made)} document files)", flush=True)

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

    variants = {"ours": "search/index.html"}
    if args.before:  # the same page and index with the older script
        old_js = subprocess.run(["git", "show", f"{args.before}:src/exemplar_site/themes/default/static/search.js"],
                                cwd=REPO, check=True, capture_output=True).stdout
        (out / "static" / "search-before.js").write_bytes(old_js)
        page_html = (out / "search" / "index.html").read_text(encoding="utf-8")
        assert page_html.count('static/search.js"') == 1
        (out / "search" / "before.html").write_text(page_html.replace('static/search.js"', 'static/search-before.js"'),
                                                    encoding="utf-8")
        variants["before"] = "search/before.html"
    servers, bases = [], {}
    for mode, handler in SERVERS.items():
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(out)))
        server.daemon_threads = True  # (kept-alive connections must not hold the process at the end)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        bases[mode] = f"http://127.0.0.1:{server.server_address[1]}/"
    from playwright.sync_api import sync_playwright

    rows: list[dict[str, Any]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for q in queries:
            truth = truth_of(q, doc_texts)
            row: dict[str, Any] = {"query": q, "truth": len(truth)}
            for mode, base in bases.items():  # the two servers in turn, query by query
                for tool, path in variants.items():
                    runs, warm_ms = [], []
                    for _ in range(args.repeat):
                        ctx = browser.new_context()
                        page = ctx.new_page()
                        page.goto(base + path)
                        page.wait_for_function("document.getElementById('search-results').hasAttribute('data-done')",
                                               timeout=20000)
                        Counting.counted.clear()
                        r = page.evaluate(OURS_JS, q)
                        r["bytes"] = sum(Counting.counted.values())
                        runs.append(r)
                        page.evaluate("() => { const i = document.getElementById('search-q'); i.value = '';"
                                      " i.dispatchEvent(new Event('input')); }")
                        page.wait_for_selector("#search-results[data-query='']", state="attached")
                        warm_ms.append(page.evaluate(OURS_JS, q)["ms"])  # the same again, its files already loaded
                        ctx.close()
                    found = {url_of[d] for d in r["all"] if doc_texts[d]["k"] == "story"}
                    timing = {k: [x[k] for x in runs] for k in ("first", "ms", "shards_end", "cards_start",
                                                                "cards_end", "docs_start", "docs_end")}
                    row[f"{tool}/{mode}"] = {
                        "first_ms": statistics.median(timing["first"]), "ms": statistics.median(timing["ms"]),
                        "runs": timing, "warm_ms": statistics.median(warm_ms),
                        "bytes": statistics.median(x["bytes"] for x in runs), "requests": r["requests"],
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
                        pr = page.evaluate(PAGEFIND_JS, q)
                        ms.append(pr["ms"])
                        sent.append(sum(Counting.counted.values()))
                        if urls is None:  # every result's address, once (outside the timing)
                            urls = page.evaluate(PAGEFIND_ALL_JS, q)
                        ctx.close()
                    prefix = "/stories/"
                    got = {u[u.index(prefix) + 1:].removesuffix("index.html") for u in urls or [] if prefix in u}
                    row[f"pagefind/{mode}"] = {"ms": statistics.median(ms), "runs": ms,
                                               "bytes": statistics.median(sent), "results": pr["n"],
                                               "recall": len(got & truth) / len(truth) if truth else 1.0,
                                               "precision": len(got & truth) / len(got) if got else 1.0}
            rows.append(row)
            print(json.dumps({k: ({kk: vv for kk, vv in v.items() if kk != "runs"} if isinstance(v, dict) else v)
                              for k, v in row.items()}, ensure_ascii=False), flush=True)
        browser.close()
    for server in servers:
        server.shutdown()

    parts = [search.doc_tokens(doc) for doc in docs]
    shard_times: dict[str, float] = {}
    for workers in (1, 2):
        t0 = time.perf_counter()
        made_shards = search.shards_of(parts, workers)
        shard_times[str(workers)] = time.perf_counter() - t0
    print(f"shards_of: {shard_times} ({len(made_shards.files)} shards)", flush=True)

    def every(tool: str, key: str) -> list[float]:
        """The key over every query and every repeat."""
        out: list[float] = []
        for r in rows:
            kept = r[tool]["runs"]
            out += kept[key] if isinstance(kept, dict) else kept  # (Pagefind keeps one list: its ms)
        return out

    def figures(tool: str, keys: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in keys:
            values = every(tool, key)
            medians = [r[tool][key if key != "first" else "first_ms"] for r in rows]
            out[key] = {"median_of_runs": statistics.median(values), "worst": max(values),
                        "median_of_query_medians": statistics.median(medians),
                        "queries_under_100": sum(m < 100 for m in medians),
                        "runs_under_100": sum(v < 100 for v in values)}
        out["bytes_median"] = float(statistics.median(r[tool]["bytes"] for r in rows))
        out["bytes_max"] = max(r[tool]["bytes"] for r in rows)
        out["recall_mean"] = statistics.fmean(r[tool]["recall"] for r in rows)
        out["precision_mean"] = statistics.fmean(r[tool]["precision"] for r in rows)
        return out

    summary: dict[str, Any] = {
        "size": args.size, "repeat": args.repeat,
        "ours": {"build_s": statistics.median(build_times), "bytes": ours_bytes, "files": ours_files, "shards": shards,
                 "card_files": cards,
                 "shards_of_s": shard_times,
                 **{mode: figures(f"ours/{mode}", ("first", "ms")) for mode in SERVERS}},
        "queries": rows}
    if args.before:
        summary["before"] = {"commit": args.before, **{mode: figures(f"before/{mode}", ("first", "ms"))
                                                        for mode in SERVERS}}
        (out / "static" / "search-before.js").unlink()
        (out / "search" / "before.html").unlink()
    if pf_result:
        pf_result.update({mode: figures(f"pagefind/{mode}", ("ms",)) for mode in SERVERS})
        summary["pagefind"] = pf_result
    (REPO / "bench" / f"search-results-{args.size}.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k != "queries"}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
