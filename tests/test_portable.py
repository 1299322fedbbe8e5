"""The portable code paths (what Windows runs), exercised on Linux: spawned workers, the folder
swap by renames, the lock without fcntl. EXEMPLAR_SITE_PORTABLE=1 forces them (platforms.portable);
the Makefile's `test` target also runs the build tests a second time with it set."""

from __future__ import annotations

import difflib
import importlib
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import NOW, REPO, Site, make_site
from exemplar_site import outguard, parallel, platforms, treeops
from exemplar_site.errors import BuildFailed
from exemplar_site.outguard import exclusive
from exemplar_site.parallel import Spawned, as_state, run_map, worker_kind
from exemplar_site.pipeline import BuildOptions, build_site
from exemplar_site.platforms import PORTABLE_ENV


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def same_tree(got: dict[str, bytes], want: dict[str, bytes]) -> None:
    """Equal trees, or the first file that differs, as a diff."""
    assert sorted(got) == sorted(want)
    for path, data in want.items():
        if got[path] != data:
            diff = difflib.unified_diff(data.decode("utf-8", "replace").splitlines(),
                                        got[path].decode("utf-8", "replace").splitlines(), lineterm="", n=1)
            pytest.fail(f"{path} differs:\n" + "\n".join(list(diff)[:40]))


@pytest.fixture
def forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PORTABLE_ENV, "1")


@pytest.fixture
def native(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PORTABLE_ENV, raising=False)


def test_the_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PORTABLE_ENV, raising=False)
    assert not platforms.portable() and parallel.start_method() == "fork"
    for off in ("", "0", "no"):
        monkeypatch.setenv(PORTABLE_ENV, off)
        assert not platforms.portable()
    monkeypatch.setenv(PORTABLE_ENV, "1")
    assert platforms.portable() and parallel.start_method() == "spawn"
    assert outguard._lock_kind() == "file"


@pytest.mark.usefixtures("forced")
def test_forced_workers_are_spawned_processes() -> None:
    items = list(range(40))
    plan = Spawned(as_state, None, worker_kind, items)  # (module-level functions of the package)
    found = run_map(lambda i: worker_kind(None, i), items, 2, lambda: plan, min_items=2)
    assert {kind for _, kind in found} == {"spawn"}
    assert os.getpid() not in {pid for pid, _ in found}


@pytest.mark.parametrize("way", ["in-process", "fork", "spawn"])
def test_each_result_is_handed_on_in_order_while_the_workers_go_on(monkeypatch: pytest.MonkeyPatch, way: str) -> None:
    """run_map's `each`: every result, in the order of the items, in the calling process, each as
    soon as the results before it are in (forked workers still busy with later ones, except in one
    process); with spawned workers, items the workers cannot do (None) are done here in their place."""
    if way == "spawn":
        monkeypatch.setenv(PORTABLE_ENV, "1")
    else:
        monkeypatch.delenv(PORTABLE_ENV, raising=False)
    items = list(range(300))
    given = [None if way == "spawn" and i % 7 == 0 else i for i in items]  # (None: done in this process)
    plan = Spawned(as_state, None, worker_kind, given)
    seen: list[tuple[int, int, int]] = []  # (place, item's pid, workers running then)

    def each(n: int, result: tuple[int, str]) -> None:
        seen.append((n, result[0], len(multiprocessing.active_children())))

    found = run_map(lambda i: worker_kind(None, i), items, 1 if way == "in-process" else 2, lambda: plan,
                    min_items=2, each=each)
    assert [n for n, _, _ in seen] == items
    assert [pid for _, pid, _ in seen] == [pid for pid, _ in found]
    kinds = {kind for _, kind in found}
    assert kinds == ({"parent"} if way == "in-process" else {"fork"} if way == "fork" else {"spawn", "parent"})
    if way == "fork":  # the first results were handed on while the workers still had work (each is
        # given its next chunk first; spawned workers may finish before this process's own items)
        assert seen[0][2] > 0


_DYING_TASK = """
import os, signal, time
def task(state, item):
    if item == state:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))  # (Windows: TerminateProcess)
    time.sleep(0.01)
    return item
def fail(state, item):
    if item == state:
        raise ValueError("item %d" % item)
    time.sleep(0.01)
    return item
"""


@pytest.mark.parametrize("case", ["killed", "raises"])
def test_a_spawned_worker_that_dies_or_fails_ends_the_map(tmp_path: Path, case: str) -> None:
    """The Windows path: a spawned worker killed mid-chunk (a crash in a native library, the
    out-of-memory killer) fails the map at once with WorkerDied, and an exception in a task is
    raised with the worker's traceback; the other workers are ended, nothing is left waiting
    (multiprocessing's pool waited for a dead worker's chunk for ever)."""
    (tmp_path / "dying.py").write_text(_DYING_TASK, encoding="utf-8")
    script = textwrap.dedent(f"""
        import os, time, multiprocessing
        from exemplar_site.parallel import Spawned, WorkerDied, spawn_map
        import dying
        if __name__ == "__main__":
            try:
                plan = Spawned(int, 37, dying.{'task' if case == 'killed' else 'fail'}, list(range(400)))
                spawn_map(plan, 2)
                print("finished")
            except WorkerDied:
                print("died", multiprocessing.active_children())
            except ValueError as exc:
                print("raised", exc, type(exc.__cause__).__name__, multiprocessing.active_children())
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(tmp_path)])}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=180,
                         cwd=tmp_path, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    want = "died []" if case == "killed" else "raised item 37 WorkerTraceback []"
    assert run.stdout.strip() == want, run.stdout + run.stderr[-3000:]


@pytest.mark.usefixtures("native")
def test_native_workers_are_forked() -> None:
    items = list(range(40))
    found = run_map(lambda i: worker_kind(None, i), items, 2, lambda: pytest.fail("spawn not expected"),
                    min_items=2)
    assert {kind for _, kind in found} == {"fork"}


@pytest.mark.usefixtures("forced")
def test_forced_swap_never_calls_renameat2(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(treeops, "_exchange", lambda a, b: pytest.fail("renameat2 used with the portable paths"))
    monkeypatch.setattr(os, "symlink", lambda *a, **k: pytest.fail("the build made a symbolic link"))
    site.story("a", "a-1", slug="a")
    site.build()
    robots = (site.out / "robots.txt").stat()
    site.story("b", "b-1", slug="b")
    site.build()  # a swap of two existing trees, by renames
    assert (site.out / "stories/b/index.html").is_file()
    assert (site.out / "robots.txt").stat().st_ino == robots.st_ino  # unchanged: the same file, linked
    assert not (site.root / ".public.old").exists()


@pytest.mark.usefixtures("native")
def test_native_swap_is_one_renameat2(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    real = treeops._exchange

    def spy(a: Path, b: Path) -> bool:
        calls.append(b)
        return real(a, b)

    monkeypatch.setattr(treeops, "_exchange", spy)
    site.story("a", "a-1", slug="a")
    site.build()  # (the first build renames its tree into place: nothing to swap with)
    monkeypatch.setattr(treeops, "_rename", lambda a, b: pytest.fail("renames used where renameat2 works"))
    site.story("b", "b-1", slug="b")
    site.build()
    assert calls == [site.out.resolve()]


# ---- killed at any point of a swap by renames: the next build recovers ---------------------------

_KILLER = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {src!r})
    from exemplar_site import treeops
    from exemplar_site.pipeline import BuildOptions, build_site
    import datetime as dt
    real, count = os.rename, [0]

    def rename(a, b):
        real(a, b)
        count[0] += 1
        if count[0] == {at}:
            os.kill(os.getpid(), signal.SIGKILL)  # killed right after this rename

    treeops.os.rename = rename
    build_site({config!r}, BuildOptions(now=dt.datetime.fromisoformat({now!r})))
""")


@pytest.mark.parametrize("at", [1, 2, 3])
def test_killed_between_the_renames_the_next_build_recovers(tmp_path: Path, at: int) -> None:
    site = make_site(tmp_path / "s")
    site.story("a", "a-1", slug="a")
    site.story("b", "b-1", slug="b")
    env = {**os.environ, PORTABLE_ENV: "1"}
    code = _KILLER.format(src=str(REPO / "src"), at=99, config=str(site.config), now=NOW.isoformat())
    subprocess.run([sys.executable, "-c", code], check=True, env=env)  # a first build: a tree to swap with
    before = tree(site.out)
    site.story("b", "b-1", slug="b", title="改过的标题")
    site.story("c", "c-1", slug="c")
    code = _KILLER.format(src=str(REPO / "src"), at=at, config=str(site.config), now=NOW.isoformat())
    done = subprocess.run([sys.executable, "-c", code], check=False, env=env)
    assert done.returncode == -signal.SIGKILL
    old = site.root / ".public.old"
    if at == 1:  # the live folder is at .public.old, the new tree at staging
        assert not site.out.exists() and old.is_dir()
    elif at == 2:  # the new tree is live, the old one still at .public.old
        assert site.out.is_dir() and old.is_dir() and not (site.root / ".public.staging").exists()
    else:  # the swap is done; the manifest was not saved
        assert not old.exists()
    os.environ[PORTABLE_ENV] = "1"
    try:
        site.build()
    finally:
        del os.environ[PORTABLE_ENV]
    assert not old.exists()
    after = tree(site.out)
    assert after != before and (site.out / "stories/c/index.html").is_file()
    clean = tmp_path / "clean"
    build_site(site.config, BuildOptions(now=NOW, output=clean, cache=False))
    assert after == tree(clean)
    site.story("d", "d-1", slug="d")
    site.build()  # and the builds after it are incremental again, and right
    build_site(site.config, BuildOptions(now=NOW, output=clean, cache=False))
    assert tree(site.out) == tree(clean)


def test_recover_leaves_a_finished_swap_alone(tmp_path: Path) -> None:
    target, staging = tmp_path / "public", tmp_path / ".public.staging"
    target.mkdir()
    staging.mkdir()
    treeops.recover(staging, target)
    assert target.is_dir() and staging.is_dir()
    (tmp_path / ".public.old" / "x").mkdir(parents=True)  # all three there: a leftover
    treeops.recover(staging, target)
    assert not (tmp_path / ".public.old").exists() and target.is_dir() and staging.is_dir()


# ---- the lock -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("forced")
def test_portable_lock_file_names_its_holder_and_goes_with_it(tmp_path: Path) -> None:
    target = tmp_path / "public"
    lock = tmp_path / ".public.lock"
    with exclusive(target):
        assert lock.read_text().split()[0] == str(os.getpid())
        with pytest.raises(BuildFailed) as info, exclusive(target):
            pass
        assert "another build is writing this folder" in info.value.problems[0].message
    assert not lock.exists()
    with exclusive(target):  # free again
        pass


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.usefixtures("forced")
def test_portable_lock_of_a_killed_build_is_taken_over(tmp_path: Path) -> None:
    target = tmp_path / "public"
    lock = tmp_path / ".public.lock"
    lock.write_text(f"{_dead_pid()} {outguard._host()}\n")
    with exclusive(target):
        assert lock.read_text().split()[0] == str(os.getpid())
    assert not lock.exists()
    # left empty by a holder killed while making it: taken over once it is old enough
    lock.write_text("")
    with pytest.raises(BuildFailed), exclusive(target):
        pass
    old = time.time() - 60
    os.utime(lock, (old, old))
    with exclusive(target):
        pass
    # a live process, or a build on another computer sharing the folder: never taken over
    lock.write_text(f"{os.getppid()} {outguard._host()}\n")
    with pytest.raises(BuildFailed), exclusive(target):
        pass
    lock.write_text(f"{_dead_pid()} another-computer\n")
    with pytest.raises(BuildFailed), exclusive(target):
        pass


def test_builds_with_and_without_the_switch_exclude_each_other(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "public"
    for first, second in (("", "1"), ("1", "")):
        monkeypatch.setenv(PORTABLE_ENV, first)
        with exclusive(target):
            old = time.time() - 60  # (a lock file left long ago is not why)
            os.utime(tmp_path / ".public.lock", (old, old))
            monkeypatch.setenv(PORTABLE_ENV, second)
            with pytest.raises(BuildFailed), exclusive(target):
                pass
        with exclusive(target):  # free again
            pass


@pytest.mark.usefixtures("forced")
def test_portable_lock_held_by_a_running_build_in_another_process(site: Site) -> None:
    site.story("a", "a-1")
    code = ("import sys, time\nsys.path.insert(0, sys.argv[1])\nfrom pathlib import Path\n"
            "from exemplar_site.outguard import exclusive\n"
            "with exclusive(Path(sys.argv[2])):\n    print('held', flush=True)\n    time.sleep(60)\n")
    with subprocess.Popen([sys.executable, "-c", code, str(REPO / "src"), str(site.out)], stdout=subprocess.PIPE,
                          text=True) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "held\n"
            with pytest.raises(BuildFailed) as info:
                site.build()
            assert "another build is writing this folder" in info.value.problems[0].message
        finally:
            proc.kill()  # killed while holding it: the next build takes the lock over
    site.build()
    assert (site.out / "index.html").is_file()


@pytest.fixture
def without_fcntl(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on Windows: no fcntl module (importing it fails)."""
    monkeypatch.delenv(PORTABLE_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "fcntl", None)
    importlib.reload(outguard)
    yield
    monkeypatch.undo()
    importlib.reload(outguard)


@pytest.mark.usefixtures("without_fcntl")
def test_builds_where_there_is_no_fcntl(site: Site) -> None:
    with pytest.raises(ImportError):
        import fcntl  # noqa: F401
    assert outguard._lock_kind() == "file"
    site.story("a", "a-1")
    site.build()
    site.story("b", "b-1")
    site.build()
    assert (site.out / "index.html").is_file() and not (site.root / ".public.lock").exists()
    with exclusive(site.out), pytest.raises(BuildFailed):
        site.build()


def test_the_windows_lock_calls(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """outguard's msvcrt.locking path, with msvcrt emulated (a lock per open file, as on Windows)."""
    import fcntl

    calls: list[tuple[int, int, int]] = []

    def locking(fd: int, mode: int, nbytes: int) -> None:
        calls.append((mode, nbytes, os.lseek(fd, 0, os.SEEK_CUR)))
        if mode == 1:  # LK_NBLCK: fails at once when held (msvcrt raises OSError)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)

    fake = types.ModuleType("msvcrt")
    fake.locking, fake.LK_NBLCK, fake.LK_UNLCK = locking, 1, 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    monkeypatch.setattr(outguard, "_lock_kind", lambda: "msvcrt")
    site.story("a", "a-1")
    site.build()
    assert calls == [(1, 1, 0), (0, 1, 0)]  # one byte, the first, locked then unlocked
    with exclusive(site.out), pytest.raises(BuildFailed) as info:
        site.build()
    assert "another build is writing this folder" in info.value.problems[0].message
