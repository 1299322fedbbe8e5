from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exemplar_site.errors import BuildFailed
from exemplar_site.model import Output
from exemplar_site.writer import MARKER, write_site


def test_unchanged_files_keep_their_inode_and_mtime(tmp_path: Path) -> None:
    target = tmp_path / "public"
    write_site([Output("a.html", b"A"), Output("d/b.html", b"B")], target)
    before = (target / "a.html").stat()
    os.utime(target / "a.html", ns=(1_000_000_000, 1_000_000_000))
    report = write_site([Output("a.html", b"A"), Output("d/b.html", b"B2"), Output("c.xml", b"C")], target)
    assert (report.written, report.unchanged, report.removed) == (2, 1, 0)
    after = (target / "a.html").stat()
    assert after.st_ino == before.st_ino and after.st_mtime_ns == 1_000_000_000
    assert (target / "d/b.html").read_bytes() == b"B2"


def test_files_no_longer_produced_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "public"
    write_site([Output("a.html", b"A"), Output("old/x.html", b"X")], target)
    report = write_site([Output("a.html", b"A")], target)
    assert report.removed == 1
    assert sorted(p.name for p in target.rglob("*")) == [MARKER, "a.html"]
    # the previous generation waits as the staging twin, and is brought up to date next time
    report = write_site([Output("a.html", b"A"), Output("n.html", b"N")], target)
    assert (report.written, report.unchanged, report.removed) == (1, 1, 0)
    assert sorted(p.name for p in target.rglob("*")) == [MARKER, "a.html", "n.html"]
    assert sorted(p.name for p in (tmp_path / ".public.staging").rglob("*")) == [MARKER, "a.html"]


def test_failure_while_staging_leaves_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "public"
    write_site([Output("a.html", b"A")], target)
    with pytest.raises(BuildFailed) as info:
        write_site([Output("a.html", b"NEW"), Output("img.png", source=tmp_path / "missing.png")], target)
    assert "missing.png" in info.value.problems[0].message and info.value.problems[0].path == str(target)
    assert (target / "a.html").read_bytes() == b"A"
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "a.html"]
    # the half-updated twin is not trusted: the next build is complete and correct
    report = write_site([Output("a.html", b"A"), Output("b.html", b"B")], target)
    assert (target / "a.html").read_bytes() == b"A" and (target / "b.html").read_bytes() == b"B"
    assert report.written == 1


def test_refuses_to_replace_a_foreign_folder(tmp_path: Path) -> None:
    target = tmp_path / "home"
    target.mkdir()
    (target / "thesis.docx").write_bytes(b"precious")
    with pytest.raises(BuildFailed) as info:
        write_site([Output("a.html", b"A")], target)
    assert "not made by this tool" in info.value.problems[0].message
    assert (target / "thesis.docx").read_bytes() == b"precious"


def test_many_generations_stay_consistent(tmp_path: Path) -> None:
    target = tmp_path / "public"
    import random
    rng = random.Random(7)
    files: dict[str, bytes] = {}
    for generation in range(12):
        for _ in range(5):
            name = f"d{rng.randint(0, 3)}/f{rng.randint(0, 9)}.html"
            if rng.random() < 0.3:
                files.pop(name, None)
            else:
                files[name] = f"{generation}-{rng.random()}".encode()
        write_site([Output(p, d) for p, d in files.items()], target)
        on_disk = {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*")
                   if p.is_file() and p.name != MARKER}
        assert on_disk == files


def test_duplicate_and_escaping_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BuildFailed) as info:
        write_site([Output("a.html", b"1"), Output("a.html", b"2"), Output("../x", b"3")], tmp_path / "p")
    messages = [p.message for p in info.value.problems]
    assert any("two outputs would write the same file" in m for m in messages)
    assert any("leads out of the output folder" in m for m in messages)
    assert not (tmp_path / "p").exists()


def test_two_builds_of_one_folder_never_interleave(tmp_path: Path) -> None:
    from conftest import make_site
    from exemplar_site.outguard import exclusive

    site = make_site(tmp_path / "s")
    site.story("a", "a-1")
    site.build()
    with exclusive(site.out):  # another build is running (whichever lock this system takes)
        with pytest.raises(BuildFailed) as info:
            site.build()
    assert "another build is writing this folder" in info.value.problems[0].message
    site.build()  # free again


def test_the_manifest_reads_back_what_was_saved(tmp_path: Path) -> None:
    """The twin's list is stored as its difference from the live tree's, or whole when that is
    shorter: files changed, added, gone, an empty twin and an empty live list all read back as
    they were."""
    from exemplar_site.manifest import Manifest, load_manifest, save_manifest
    target = tmp_path / "public"
    live = {f"stories/s{n}/index.html": f"b:{n}" for n in range(50)}
    staged = {p: k for p, k in live.items() if not p.startswith("stories/s1")}  # gone
    staged["stories/s2/index.html"] = "b:changed"
    staged["only-in-twin.html"] = "b:new"
    dirs = {"stories/s2": (1, 2, 3)}
    for live_list, staged_list in ((live, staged), (live, {}), ({}, staged), ({}, {}), (live, dict(live))):
        m = Manifest(dict(live_list), dict(staged_list), 11, 12, 13, dirs, {"stories": (4, 5, 6)}, 14)
        save_manifest(target, m)
        back = load_manifest(target)
        assert (back.live, back.staged, back.live_inode, back.staged_inode, back.live_mtime, back.live_dirs,
                back.staged_dirs, back.stamped_at) == (live_list, staged_list, 11, 12, 13, dirs,
                                                       {"stories": (4, 5, 6)}, 14)


def _generation(target: Path, outputs: list[Output]) -> list[str]:
    """One build's write as the pipeline does it (keep what is there, put the rest, commit);
    the paths it had to put."""
    return _written(target, outputs)[0]


def _written(target: Path, outputs: list[Output]) -> tuple[list[str], Any]:
    """`_generation`'s write: (the paths it had to put, the manifest it saved, as it holds it)."""
    from exemplar_site.jobs import bytes_key
    from exemplar_site.writer import Staging
    keys = {o.path: bytes_key(o.data or b"") for o in outputs}
    staging = Staging(target)
    todo = [o for o in outputs if not staging.keep(o.path, keys[o.path])]
    written = sum(staging.put(o, keys[o.path]) for o in todo)
    staging.commit(keys, written)
    return [o.path for o in todo], staging.manifest


def _committed(target: Path, files: dict[str, bytes]) -> Any:
    """One build's write of `files` (as `_generation`); the manifest it saved, as it holds it."""
    return _written(target, [Output(p, d) for p, d in files.items()])[1]


def _fields(m: Any) -> tuple[Any, ...]:
    return (m.live, m.staged, m.live_dirs, m.staged_dirs, m.live_inode, m.staged_inode, m.live_mtime, m.stamped_at)


def test_a_build_that_changed_a_few_files_appends_them_to_the_manifest_journal(tmp_path: Path) -> None:
    """The manifest's lists are written whole only now and then: a build that changed a few files
    appends what changed to the journal (the lists file untouched), until the journal passes a
    quarter of the lists. Whatever the mix of small and large changes, files gone and folders
    emptied, what is loaded back is what the build saved, and the tree is what it wrote."""
    import random

    from exemplar_site.manifest import journal_path, lists_path, load_manifest
    target = tmp_path / "public"
    rng = random.Random(25)
    files = {f"d{i % 7}/{i}.html": b"0" for i in range(400)}
    whole = appended = 0
    for generation in range(60):
        for _ in range(rng.choice([1, 1, 2, 5, 150])):
            name = f"d{rng.randint(0, 9)}/{rng.randint(0, 450)}.html"
            if rng.random() < 0.25:
                files.pop(name, None)
            else:
                files[name] = f"{generation}-{rng.random()}".encode()
        before = lists_path(target).stat().st_mtime_ns if lists_path(target).exists() else None
        saved = _committed(target, files)
        back = load_manifest(target)
        assert _fields(back) == _fields(saved)
        assert set(back.live) - {MARKER} == set(files)
        on_disk = {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*")
                   if p.is_file() and p.name != MARKER}
        assert on_disk == files
        if lists_path(target).stat().st_mtime_ns == before:
            appended += 1
            assert journal_path(target).stat().st_size == back.journal <= back.lists_size // 4
        else:
            whole += 1
            assert back.journal == 0 and not journal_path(target).exists()
    assert appended > 30 and whole > 5  # (both ways were taken, many times)


def test_a_manifest_journal_of_another_length_than_its_header_says_is_never_trusted(tmp_path: Path) -> None:
    """The header says how long the journal is. A journal longer (a build killed while appending
    its entry) or shorter (cut, lost), or gone, makes the manifest none: everything is looked at
    and written again, and the tree is what the build wrote."""
    from exemplar_site.manifest import journal_path, load_manifest
    target = tmp_path / "public"
    files = {f"d{i % 5}/{i}.html": b"0" for i in range(300)}
    for _ in range(3):
        _committed(target, files)
    files["d1/1.html"] = b"edited"
    saved = _committed(target, files)
    journal = journal_path(target)
    data = journal.read_bytes()
    assert data and saved.journal == len(data) and _fields(load_manifest(target)) == _fields(saved)
    damages: list[Callable[[], object]] = [
        lambda: journal.write_bytes(journal.read_bytes() + data[: len(data) // 2]),  # half an entry more
        lambda: journal.write_bytes(journal.read_bytes()[:-3]), journal.unlink]
    for n, damage in enumerate(damages):
        damage()
        assert load_manifest(target).live == {}  # none: nothing it says is trusted
        files[f"d3/{n}.html"] = bytes([n])
        _committed(target, files)
        on_disk = {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*")
                   if p.is_file() and p.name != MARKER}
        assert on_disk == files
        for more in (4, 5):  # (the twin, emptied, is listed whole once; then edits are journaled again)
            files[f"d3/{n}-{more}.html"] = b"edited again"
            saved = _committed(target, files)
        assert journal.exists() and _fields(load_manifest(target)) == _fields(saved)


def test_an_older_manifest_header_put_back_is_never_trusted(tmp_path: Path) -> None:
    """A header copied aside and put back after later builds names the same lists and a journal
    that still begins as it did: trusted, it would say the trees hold what they held builds ago,
    and a file changed since (here a story's title, then the edit undone) would be kept stale.
    (Found by a review as an attacker.)"""
    from exemplar_site.manifest import load_manifest, manifest_path
    target = tmp_path / "public"
    files = {f"d{i % 5}/{i}.html": b"0" for i in range(300)}
    files["d1/story.html"] = b"OLD TITLE"
    for _ in range(3):
        _committed(target, files)
    token = load_manifest(target).token
    files["d2/2.html"] = b"x"
    _committed(target, files)
    older = manifest_path(target).read_bytes()
    files["d1/story.html"] = b"NEW TITLE"
    _committed(target, files)
    files["d3/3.html"] = b"y"
    _committed(target, files)  # (two swaps: each tree has the inode it had)
    assert load_manifest(target).token == token  # (journaled all along: the same lists)
    manifest_path(target).write_bytes(older)
    assert load_manifest(target).live == {}
    files["d1/story.html"] = b"OLD TITLE"  # the edit undone
    _committed(target, files)
    assert (target / "d1/story.html").read_bytes() == b"OLD TITLE"


def test_a_folder_its_stamp_cannot_vouch_for_is_listed_once_not_looked_at_file_by_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (the search documents' and SMS folders of an edited site are written just before the stamps
    # are taken, so the next build cannot trust them: it used to stat each of their files)
    target = tmp_path / "public"
    outputs = [Output(f"d/{i}.txt", f"{i}".encode()) for i in range(300)] + [Output("index.html", b"I")]
    for _ in range(3):  # (the twin now holds the same generation as the live tree)
        _generation(target, outputs)
    twin = tmp_path / ".public.staging"
    for tree in (target, twin):  # a folder changed since its stamp: not settled in either tree
        (tree / "d" / "x.tmp").write_bytes(b"")
        (tree / "d" / "x.tmp").unlink()
    (twin / "d" / "7.txt").unlink()  # gone from the twin: linked again from the live tree
    (twin / "d" / "8.txt").unlink()
    (twin / "d" / "8.txt").symlink_to(target / "d" / "8.txt")  # a link is not the file it names
    listed: list[str] = []
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        listed.append(path)
        return real_scandir(path)

    def no_stat(path: object) -> bool:
        raise AssertionError(f"looked at one file: {path}")

    monkeypatch.setattr(os, "scandir", scandir)  # (the writer's os is this one)
    monkeypatch.setattr(os.path, "exists", no_stat)
    assert _generation(target, outputs) == []  # every file kept: from the twin, or linked from the live tree
    monkeypatch.undo()
    assert listed.count(str(twin / "d")) == 1  # (the live one is also walked for files dropped in by hand)
    assert not (twin / "d" / "8.txt").is_symlink() and not (target / "d" / "8.txt").is_symlink()
    assert sorted(p.name for p in (target / "d").iterdir()) == sorted(f"{i}.txt" for i in range(300))
    assert all((target / "d" / f"{i}.txt").read_bytes() == f"{i}".encode() for i in range(300))


def test_the_quick_check_of_all_paths_says_what_the_one_by_one_check_says() -> None:
    import itertools
    import random

    from exemplar_site.writer import check_path, check_paths
    parts = ["a.html", "d/b.html", "x..y.html", "..", "../e.html", "d/../e", "", "/abs", "a//b", "dir/", "d/./c",
             "stories/x/index.html", "f/", "/", "a/b/"]
    rng = random.Random(15)
    lists = [list(c) for n in range(4) for c in itertools.product(parts, repeat=n)]
    lists += [[rng.choice(parts) for _ in range(rng.randint(1, 12))] for _ in range(2000)]
    for paths in lists:
        seen: set[str] = set()
        expected = [p.format() for path in paths for p in check_path(path, seen)]
        assert [p.format() for p in check_paths(paths)] == expected, paths
    assert check_paths([f"stories/{i}/index.html" for i in range(1000)]) == []


def test_a_symbolic_link_in_the_twin_is_never_published(tmp_path: Path) -> None:
    target = tmp_path / "public"
    one = [Output("d/x.txt", b"1"), Output("index.html", b"I")]
    two = [Output("d/x.txt", b"2"), Output("index.html", b"I")]
    _generation(target, one)
    _generation(target, two)  # the twin now holds generation one: x = "1"
    twin = tmp_path / ".public.staging"
    assert (twin / "d/x.txt").read_bytes() == b"1"
    outside = tmp_path / "elsewhere.txt"  # a file of the server that happens to hold the same bytes
    outside.write_bytes(b"1")
    (twin / "d/x.txt").unlink()
    (twin / "d/x.txt").symlink_to(outside)
    _generation(target, one)  # x = "1" again: the twin's key matches, the live tree's does not
    assert not (target / "d/x.txt").is_symlink() and (target / "d/x.txt").read_bytes() == b"1"


def test_a_symbolic_link_in_the_live_tree_is_not_linked_into_the_next_one(tmp_path: Path) -> None:
    target = tmp_path / "public"
    one = [Output("d/x.txt", b"1"), Output("index.html", b"I")]
    two = [Output("d/x.txt", b"2"), Output("index.html", b"I")]
    _generation(target, two)
    _generation(target, one)  # live: x = "1"; twin: x = "2"
    outside = tmp_path / "elsewhere.txt"
    outside.write_bytes(b"1")
    (target / "d/x.txt").unlink()
    (target / "d/x.txt").symlink_to(outside)
    _generation(target, one)
    assert not (target / "d/x.txt").is_symlink()
    assert (target / "d/x.txt").stat().st_ino != outside.stat().st_ino  # not the outside file itself


def test_the_folders_of_paths_are_every_folder_above_each_file() -> None:
    """outguard.folders_of (each file's folder first, then the folders above them) gives every
    folder that holds a file or a folder of the paths, the tree itself left out."""
    import random

    from exemplar_site.outguard import folders_of

    rng = random.Random(26)
    for _ in range(3_000):
        paths = ["/".join(rng.choice("abc") for _ in range(rng.randint(1, 5))) for _ in range(rng.randint(0, 8))]
        expected = {"/".join(p.split("/")[:n]) for p in paths for n in range(1, p.count("/") + 1)}
        assert folders_of(paths) == expected, paths
