"""Unit tests of single stages: front matter, YAML lines, Markdown, theme lookup, parallel map."""

from __future__ import annotations

import faulthandler
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from conftest import dedent, make_site
from exemplar_site import yamlio
from exemplar_site.config import load_config
from exemplar_site.errors import Problems
from exemplar_site.frontmatter import body_of, parse
from exemplar_site.markup import Markup
from exemplar_site.parallel import fork_map
from exemplar_site.platforms import PORTABLE_ENV
from exemplar_site.sources import SourceFile, discover
from exemplar_site.theme import static_files, theme_dirs


def test_yaml_keeps_file_lines_and_reports_duplicates() -> None:
    data, err = yamlio.load("\nid: a\nvetting:\n  cleared_by: x\n  date: 2026-01-01\nid: b\n")
    assert err is None
    assert data.line_of("id") == 6 and data.line_of("vetting") == 3
    assert data["vetting"].line_of("date") == 5
    assert data.duplicates == [("id", 6)]


def test_yaml_nesting_is_refused_at_one_depth_whatever_the_callers_stack() -> None:
    """Values nested up to MAX_DEPTH are read, one level more is refused at its line, however deep
    the caller's own stack already is (Python's recursion limit used to decide); nesting past
    libyaml's own limit gets the same words, not "a bracket is never closed"."""
    def flow(levels: int) -> str:  # a mapping holding lists `levels - 1` deep
        return "\n\na: " + "[" * (levels - 1) + "1" + "]" * (levels - 1) + "\n"

    def deep_call(frames: int, text: str) -> tuple[object, yamlio.YamlError | None]:
        return yamlio.load(text) if frames == 0 else deep_call(frames - 1, text)

    for frames in (0, 300):
        data, err = deep_call(frames, flow(yamlio.MAX_DEPTH))
        assert err is None and isinstance(data, dict)
        data, err = deep_call(frames, flow(yamlio.MAX_DEPTH + 1))
        assert data is None and err is not None and "nested" in err.message and err.line == 3
    block = "a:\n" + "".join("  " * i + "-\n" for i in range(1, 1100)) + "  " * 1100 + "- x\n"
    for text in ("a: " + "[" * 5000 + "]" * 5000 + "\n", block):
        data, err = yamlio.load(text)
        assert data is None and err is not None and "nested" in err.message


def test_front_matter_split_and_body_line() -> None:
    problems = Problems()
    doc = parse(SourceFile("story", "x.md", "---\nid: a\ntitle: 标题\n---\n正文第一行\n第二行\n"), problems)
    assert doc is not None and not problems.items
    assert doc.meta["title"] == "标题" and doc.line_of("title") == 3
    assert doc.body == "正文第一行\n第二行\n" and doc.body_line == 5


def test_front_matter_dashes_inside_the_body_are_not_a_fence() -> None:
    doc = parse(SourceFile("story", "x.md", "---\nid: a\n---\n正文\n\n---\n\n分隔线之后\n"), Problems())
    assert doc is not None and "分隔线之后" in doc.body and doc.meta == {"id": "a"}


@pytest.mark.parametrize("text", [
    "---\nid: a\ntitle: 标题\n---\n正文第一行\n第二行\n",
    "---\nid: a\n---\n正文\n\n---\n\n分隔线之后\n---\n",
    "---  \nid: a\n---\t\n正文",  # trailing blanks on the fences
    "---\n---\n",  # nothing at all
    "---\nid: a\nprivate:\n  phone: '13900001111'\n---\n---\n正文\n",  # a stray fence after a private block
])
def test_body_of_splits_a_file_where_parse_does(text: str) -> None:
    """frontmatter.body_of (rendering reads a validated file again for its body alone) splits a
    file where parse does, on every file parse accepts; and on the sample site's files."""
    doc = parse(SourceFile("story", "x.md", text), Problems())
    assert doc is not None and body_of(text) == doc.body
    sample = Path(__file__).resolve().parents[1] / "content"
    for path in sorted(sample.rglob("*.md")):
        found = parse(SourceFile("story", path.name, path.read_text(encoding="utf-8")), Problems())
        assert found is not None and body_of(path.read_text(encoding="utf-8")) == found.body


def test_the_body_is_not_split_off_a_file_parse_refuses() -> None:
    assert body_of("正文，没有字段\n") is None
    assert body_of("---\nid: a\n正文\n") is None


def test_markup_marks_internal_links_cleans_html_and_counts_chinese() -> None:
    r = Markup("/pub/", summary_length=10).render(
        "# 标题\n\n第一句话很长很长。第二句话也很长很长。\n\n[内链](/pub/stories/x/) [外链](https://example.org/) "
        "![图](../images/a.png)\n\n<iframe src='x'></iframe><b onclick='x()'>粗</b>")
    assert 'href="site:stories/x/"' in r.html and 'href="https://example.org/"' in r.html
    assert 'src="site:images/a.png"' in r.html and "iframe" not in r.html and "onclick" not in r.html
    assert '<h1 id="标题">' in r.html  # toc ids stay Chinese
    assert r.links == ("stories/x/",) and r.images == ("images/a.png",)
    assert r.lead_html == "<p>第一句话很长很长。</p>"  # opening headings are skipped, cut at a sentence end
    assert r.cjk > 20 and r.chars >= r.cjk


def test_sources_skip_editor_leftovers(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s")
    for name in ("a.md", ".a.md.swp", "#a.md#", "a.md~", "notes.txt"):
        (site.root / "content" / "stories" / name).write_text("---\nid: a\n---\n", encoding="utf-8")
    problems = Problems()
    found = discover(load_config(site.config), problems)
    assert [f.path for f in found.entries] == ["content/stories/a.md"]
    assert [p.message for p in problems.items] == ["ignored: only .md files are read in stories/"]


def test_theme_lookup_order(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s", theme="mine")
    (site.root / "themes" / "mine" / "static").mkdir(parents=True)
    (site.root / "themes" / "mine" / "static" / "site.css").write_text("x", encoding="utf-8")
    config = load_config(site.config)
    dirs = theme_dirs(config)
    assert dirs[0] == site.root / "themes" / "mine" and dirs[-1].name == "default"
    files = static_files(config)
    assert files["static/site.css"] == site.root / "themes" / "mine" / "static" / "site.css"
    assert files["static/print.css"].parent.parent == dirs[-1]


def test_fork_map_keeps_order_and_matches_serial() -> None:
    data = list(range(500))
    assert fork_map(lambda i: data[i] * data[i], range(500), workers=2) == [i * i for i in data]
    assert fork_map(lambda i: i, range(3), workers=2) == [0, 1, 2]  # small: no processes


def test_forked_workers_end_at_once_whatever_signal_handler_their_parent_has() -> None:
    """The parent ends its workers with SIGTERM (on Ctrl-C, or an error). `serve` turns SIGTERM into
    KeyboardInterrupt for its own clean stop; workers that inherited it raised it in the middle of
    their work (and, with multiprocessing's pool, inside its queue locks: a preview's first build
    of 10,000 stories hung, one worker waiting for a lock a dead one held)."""
    _forking_only()
    code = dedent("""
        import signal
        from exemplar_site.parallel import fork_map
        def stop(signum, frame):
            raise KeyboardInterrupt
        signal.signal(signal.SIGTERM, stop)
        for _ in range(10):
            assert fork_map(lambda i: i * i, range(2000), workers=2, min_items=10) == [i * i for i in range(2000)]
        print("done")
    """)
    run = _in_python(code)
    assert run.returncode == 0 and run.stdout.strip() == "done", run.stderr[-2000:]
    assert "KeyboardInterrupt" not in run.stderr, run.stderr[-2000:]


def _forking_only() -> None:
    if sys.platform == "win32" or os.environ.get(PORTABLE_ENV) == "1":
        pytest.skip("fork: not on Windows, nor with the portable paths")


def _in_python(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    env.pop(PORTABLE_ENV, None)
    return subprocess.run([sys.executable, "-c", dedent(code)], capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)


def test_a_worker_that_has_written_too_much_memory_is_replaced_by_a_fresh_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that lived through all its chunks kept a copy of every page of the parent it had
    read (reading writes reference counts) and, with the collector off, all its cyclic garbage:
    the page workers of a cold 10,000-story build grew to ~280 MB each. A worker past
    RECYCLE_MB after a chunk is ended and a fresh one forked; what a worker inherited is frozen, so a
    worker's collector skips it."""
    _forking_only()
    import gc

    from exemplar_site import parallel

    def seen(i: int) -> tuple[int, int, int]:
        return os.getpid(), gc.get_freeze_count(), i

    frozen_before = gc.get_freeze_count()
    monkeypatch.setattr(parallel, "RECYCLE_MB", 0)  # (every worker is past it: a fresh one for each chunk)
    out = fork_map(seen, range(160), workers=2, min_items=10)
    assert [i for *_, i in out] == list(range(160))
    pids = [pid for pid, *_ in out]
    chunks = [pids[k:k + 10] for k in range(0, 160, 10)]  # (16 chunks of 10: two workers × 8)
    assert all(len(set(c)) == 1 for c in chunks) and len(set(pids)) == 16 and os.getpid() not in pids
    assert all(frozen > 0 for _, frozen, _ in out)
    assert gc.get_freeze_count() == frozen_before  # (the parent's collector is as it was)
    monkeypatch.setattr(parallel, "RECYCLE_MB", 1 << 20)  # (none is: the two workers do every chunk)
    assert len({pid for pid, *_ in fork_map(seen, range(160), workers=2, min_items=10)}) == 2


def test_a_worker_that_dies_fails_the_map_at_once_and_an_error_in_one_is_raised_in_the_parent() -> None:
    """A worker killed in the middle of its chunk (a signal to the whole process group, the
    out-of-memory killer) made the pool wait for ever; now the map fails, and the other workers
    are ended."""
    _forking_only()
    run = _in_python("""
        import multiprocessing, os, signal, time
        from exemplar_site.parallel import WorkerDied, fork_map
        def task(i):
            if i == 37:
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(0.001 if i < 40 else 5)
            return i
        start = time.monotonic()
        try:
            fork_map(task, range(400), workers=2, min_items=10)
        except WorkerDied as died:
            print("died", "-9" in str(died), round(time.monotonic() - start) < 30)
        assert not multiprocessing.active_children()
        def fails(i):
            if i == 300:
                raise ValueError("item 300")
            return i
        try:
            fork_map(fails, range(400), workers=2, min_items=10)
        except ValueError as exc:
            print("raised", exc, "in fails" in str(exc.__cause__))
        assert not multiprocessing.active_children()
    """)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split("\n")[:2] == ["died True True", "raised item 300 True"], run.stdout


class _Odd(Exception):
    """Pickles, but cannot be unpickled (its __init__ takes other arguments than its args)."""

    def __init__(self, a: int, b: int) -> None:
        super().__init__(a)


def test_an_exception_the_parent_could_not_unpickle_arrives_as_a_runtime_error_naming_it() -> None:
    _forking_only()

    def task(i: int) -> int:
        if i == 50:
            raise _Odd(1, 2)
        return i

    with pytest.raises(RuntimeError, match="_Odd") as raised:
        fork_map(task, range(100), workers=2, min_items=10)
    assert "raise _Odd" in str(raised.value.__cause__)


_KILLED_PARENT = "\n".join([
    "import os, time",
    "from exemplar_site.parallel import fork_map",
    "def task(i):",
    "    os.write(1, b'%d\\n' % os.getpid())",  # one write: two workers' lines never interleave
    "    time.sleep(0.02)",
    "    return i",
    "fork_map(task, range(2000), workers=2, min_items=10)",  # (chunks of 125 items: 2.5 s each)
])


def test_free_memory_is_given_back_before_workers_are_forked() -> None:
    """What Python freed in the middle of the C heap stays in the process, and forked workers would
    share it (counted in every process's share of memory): fork_map hands it back first."""
    from exemplar_site import parallel

    _forking_only()
    if parallel._malloc_trim() is None:
        pytest.skip("no malloc_trim in this C library (glibc only)")
    probe = (
        "import sys\n"
        "from exemplar_site import parallel\n"
        "def rss():\n"
        "    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1]) // 1024\n"
        "kept = [str(i) * 400 for i in range(100_000)]\n"  # ~200 MB of 2 KB strings: C-heap blocks
        "del kept[:-1000]\n"  # all but the last freed: below the top of the heap, which stays
        "before = rss()\n"
        "parallel.fork_map(lambda i: i, range(100), workers=2, min_items=10)\n"
        "print(before, rss())\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    before, after = map(int, done.stdout.split())
    assert before - after > 50, (before, after)


def test_a_forked_worker_collects_its_cyclic_garbage_with_the_collector_off() -> None:
    """The command line builds with the collector off; Jinja leaves cyclic garbage on every page.
    A worker collects it as it goes, instead of growing by all of it until its chunk ends."""
    import gc

    from exemplar_site import parallel

    _forking_only()
    if parallel._own_memory_mb() == 1 << 30:
        pytest.skip("a process's own memory cannot be read here (/proc/self/smaps_rollup)")

    def task(i: int) -> int:
        cycle: list[Any] = [bytearray(500_000)]  # half a MB, reachable only from itself
        cycle.append(cycle)
        return parallel._own_memory_mb()

    was = gc.isenabled()
    gc.disable()
    try:
        seen = fork_map(task, range(3200), workers=2, min_items=10)  # chunks of 200 items
    finally:
        if was:
            gc.enable()
    assert max(seen) < 75, max(seen)  # (kept, a chunk's garbage alone is 100 MB)


def test_giving_memory_back_is_skipped_where_there_is_no_such_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows and macOS have no malloc_trim, nor has musl (Alpine): nothing is done, and work is
    spread over workers as anywhere else."""
    import ctypes

    from exemplar_site import parallel

    _forking_only()

    class NoTrim:  # a C library without the call (musl)
        def __init__(self, name: object) -> None:
            pass

    parallel._malloc_trim.cache_clear()
    try:
        monkeypatch.setattr(ctypes, "CDLL", NoTrim)
        assert parallel.give_back_free_memory() is False
        assert fork_map(lambda i: (i * 2, os.getpid()), range(300), workers=2, min_items=1)[-1][1] != os.getpid()
        parallel._malloc_trim.cache_clear()
        monkeypatch.setattr(sys, "platform", "darwin")
        assert parallel.give_back_free_memory() is False
    finally:
        parallel._malloc_trim.cache_clear()


def test_workers_end_when_their_parent_is_killed() -> None:
    """Each worker closes the parent's ends of the pipes it inherited: when the parent dies
    (SIGKILL, the out-of-memory killer) its workers see their pipe end and stop, instead of
    waiting for ever with the output folder's lock they inherited."""
    _forking_only()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    env.pop(PORTABLE_ENV, None)
    child = subprocess.Popen([sys.executable, "-c", _KILLED_PARENT], stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None
    try:
        workers = {int(child.stdout.readline()) for _ in range(40)}
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()

    def alive(pid: int) -> bool:
        try:
            return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text(encoding="ascii")
        except OSError:
            return False

    deadline = time.monotonic() + 60
    while any(alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert workers and not [p for p in workers if alive(p)]


def _dying_map() -> Callable[..., list[object]]:
    """A run_map whose workers kill themselves (SIGKILL, as the out-of-memory killer) at their first item."""
    from exemplar_site import parallel

    parent, real_map = os.getpid(), parallel.run_map

    def dying(task: Callable[[int], object], items: Sequence[int], workers: int,
              spawned: Callable[[], parallel.Spawned], min_items: int = 64) -> list[object]:
        def killer(i: int) -> object:
            if os.getpid() != parent:
                os.kill(os.getpid(), signal.SIGKILL)
            return task(i)
        return real_map(killer, items, 2, spawned, min_items=1)

    return dying


@pytest.mark.parametrize("portable", [False, True])
def test_a_build_whose_worker_dies_fails_in_plain_words_and_keeps_the_live_site(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, portable: bool) -> None:
    """A page worker killed mid-build (the out-of-memory killer): the build fails with a message a
    user can act on, never a traceback or a hang, and the site already published is untouched."""
    from exemplar_site import parallel, pipeline
    from exemplar_site.errors import BuildFailed

    if portable:
        monkeypatch.setenv(PORTABLE_ENV, "1")
    site = make_site(tmp_path / "s")
    for i in range(3):
        site.story(f"s{i}", f"s-{i}", slug=f"s{i}")
    site.build()
    before = {p: p.read_bytes() for p in sorted(site.out.rglob("*")) if p.is_file()}
    site.story("new", "n-1", slug="new")
    if portable:  # (spawned workers inherit nothing: these die as they start, os._exit(3) as their setup)
        monkeypatch.setattr(pipeline, "_spawned_puts",
                            lambda *a: parallel.Spawned(os._exit, 3, os.kill, [0] * len(a[2])))

    monkeypatch.setattr(pipeline, "run_map", _dying_map())
    faulthandler.dump_traceback_later(300, exit=True)  # (a hang, as multiprocessing's pool had: fail loudly)
    try:
        with pytest.raises(BuildFailed) as failed:
            site.build(workers=2)
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert "helper process of the build ended unexpectedly" in str(failed.value.problems[0].message)
    assert {p: p.read_bytes() for p in sorted(site.out.rglob("*")) if p.is_file()} == before


def test_check_whose_reading_worker_dies_reports_it_in_plain_words(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """`check` (and every command that loads the site) says what `build` says when a worker dies."""
    from conftest import NOW
    from exemplar_site import incremental
    from exemplar_site.check import check_site
    from exemplar_site.pipeline import BuildOptions

    site = make_site(tmp_path / "s")
    for i in range(3):
        site.story(f"s{i}", f"s-{i}", slug=f"s{i}")
    monkeypatch.delenv(PORTABLE_ENV, raising=False)
    monkeypatch.setattr(incremental, "run_map", _dying_map())
    result = check_site(site.config, BuildOptions(now=NOW, workers=2))
    said = ("a helper process of the build ended unexpectedly: most often the computer ran out of memory, or "
            "another program ended it; the site already published is unchanged")
    assert [p.message for p in result.errors] == [said]


def test_ctrl_c_in_the_parent_ends_the_workers_at_once() -> None:
    _forking_only()
    run = _in_python("""
        import multiprocessing, os, signal, threading, time
        from exemplar_site.parallel import fork_map
        # Ctrl-C as a terminal delivers it to a program in the foreground; started in the background
        # by a shell without job control (`make test &`, nohup), the tests inherit SIGINT ignored
        signal.signal(signal.SIGINT, signal.default_int_handler)
        threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        start = time.monotonic()
        try:
            fork_map(lambda i: time.sleep(0.5), range(400), workers=2, min_items=10)
        except KeyboardInterrupt:
            print("stopped", round(time.monotonic() - start) < 10, multiprocessing.active_children())
    """)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "stopped True []", run.stdout + run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-2000:]


def test_one_story_through_the_stages_without_any_cache_gives_the_built_page(tmp_path: Path) -> None:
    """The stages are plain functions: called in order by hand, with no cache anywhere, they make
    the same page as the full (incremental, parallel) build."""
    from conftest import NOW, story
    from exemplar_site.feedspec import feed_specs
    from exemplar_site.frontmatter import parse
    from exemplar_site.gate import admit
    from exemplar_site.markup import Markup
    from exemplar_site.pages import page_jobs
    from exemplar_site.records import build_records
    from exemplar_site.sources import read_entry
    from exemplar_site.taxonomy import build_index
    from exemplar_site.theme import make_environment, site_view

    site = make_site(tmp_path / "s")
    for i in range(4):
        site.write(f"content/stories/s{i}.md", story(f"s-{i}", slug=f"p-{i}", tags=["甲", "乙"][: 1 + i % 2]))
    site.write("content/campaigns/c.md", "---\ntitle: 活动\ndate: 2026-01-01\nexemplars: [s-1]\n---\n说明。\n")
    site.build()

    problems = Problems()
    config = load_config(site.config)
    found = discover(config, problems)
    docs = [parse(src, problems) for src in (read_entry(e, problems) for e in found.entries) if src]
    records = build_records([d for d in docs if d], config, {a.out_path: a.size for a in found.assets}, problems)
    bodies = {d.path: d.body for d in docs if d and d.kind == "story" and d.body is not None}
    gate = admit(records, config, NOW, Markup(config.base_path, config.summary_length), problems, bodies)
    index = build_index(gate, config)
    env = make_environment(config)
    jobs = page_jobs(env, config, index, site_view(config, False), feed_specs(index, config))
    assert not problems.errors
    page = next(j for j in jobs if j.path == "stories/p-1/index.html").make()
    assert page.data == (site.out / "stories/p-1/index.html").read_bytes()


def test_page_numbers_are_those_of_every_page_walked_through() -> None:
    """Pager.numbers looks at the kept numbers only: first, last, two either side, one gap mark (None)
    between runs, as walking through every page and marking the first page left out of each run."""
    from exemplar_site.pages import Pager

    def walked(number: int, total: int) -> list[int | None]:
        keep = {1, total} | set(range(number - 2, number + 3))
        out: list[int | None] = []
        for n in range(1, total + 1):
            if n in keep:
                out.append(n)
            elif out and out[-1] is not None:
                out.append(None)
        return out

    for total in range(40):
        for number in range(1, max(total, 1) + 1):
            assert Pager(number, total, "tags/x/").numbers == walked(number, total), (number, total)


def test_newest_first_is_by_instant_then_id_in_any_zone() -> None:
    """Listings put the newest story first by the instant it is dated (a date in another zone, or
    an hour a clock change repeats, by when it really was), then by id: the two stable sorts give
    what sorting by (-timestamp, id) gives."""
    import datetime as dt
    import random
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    from exemplar_site.taxonomy import _newest_first

    ny, sh = ZoneInfo("America/New_York"), ZoneInfo("Asia/Shanghai")
    rng = random.Random(18)
    for _ in range(200):
        stories = [SimpleNamespace(id=rng.choice(["a", "b", "c", f"s{k}"]), date=rng.choice([
            dt.datetime(2024, 11, 3, 1, rng.choice([10, 30]), tzinfo=ny, fold=rng.randint(0, 1)),
            dt.datetime(2024, 11, 3, 13, rng.choice([10, 30]), tzinfo=sh),
            dt.datetime(2024, 11, 3, 5, 30, tzinfo=dt.UTC),
            dt.datetime(2020 + rng.randint(0, 6), rng.randint(1, 12), 1, tzinfo=sh)])) for k in range(60)]
        expected = sorted(stories, key=lambda s: (-s.date.timestamp(), s.id))
        assert [id(s) for s in _newest_first(stories)] == [id(s) for s in expected]  # type: ignore[arg-type]
