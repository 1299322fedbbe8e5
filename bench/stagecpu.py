"""CPU seconds of a cold build's main stages, in one process (no workers, no cache, nothing written).

    PYTHONPATH=<a version's src> .venv/bin/python bench/stagecpu.py <corpus>/site_config.yaml [--now 2026-11-24]

Prints the CPU time of loading the site (reading, validation, Markdown, the gate, the index), of
every search document's tokens, of making every HTML page and of making every feed file (RSS, Atom,
JSON Feed), each with a hash of the files' bytes (two versions that should make the same files
print the same hashes). Whole builds spread these
over processes and add the disk's time, which moves far more between runs on a shared machine
than these figures do: run two versions alternately, a few times each (docs/performance.md,
session 11).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import tempfile
import time
from pathlib import Path

from exemplar_site import search
from exemplar_site.errors import Problems
from exemplar_site.model import Output
from exemplar_site.pipeline import load_site, site_jobs
from exemplar_site.runs import BuildOptions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", type=Path)
    ap.add_argument("--now", default="2026-11-24")
    args = ap.parse_args()
    gc.disable()  # (as the command line builds)
    with tempfile.TemporaryDirectory() as tmp:
        options = BuildOptions(now=dt.datetime.fromisoformat(args.now), output=Path(tmp) / "never-written",
                               workers=1, cache=False)
        start = time.process_time()
        site = load_site(args.config, options)
        loaded = time.process_time()
        docs = search.search_docs(site.index)
        for doc in docs:
            search.doc_tokens(doc)
        tokens = time.process_time()
        jobs = site_jobs(site, Problems())[0]
        pages = [job for job in jobs if job.path.endswith(".html")]
        before = time.process_time()
        made = [job.make() for job in pages]
        rendered = time.process_time()
        feeds = [job for job in jobs if job.path.startswith("feeds/") and job.path.endswith((".xml", ".json"))]
        fed = [job.make() for job in feeds]
        done = time.process_time()
    print(f"load_site {loaded - start:.2f} CPU-s; search tokens ({len(docs)} documents) {tokens - loaded:.2f} "
          f"CPU-s; {len(pages)} HTML pages {rendered - before:.2f} CPU-s (bytes {_digest(made)}); "
          f"{len(feeds)} feed files {done - rendered:.2f} CPU-s (bytes {_digest(fed)})")


def _digest(outputs: list[Output]) -> str:
    digest = hashlib.blake2b(digest_size=8)
    for out in outputs:
        digest.update(out.path.encode() + b"\0" + (out.data or b""))
    return digest.hexdigest()


if __name__ == "__main__":
    main()
