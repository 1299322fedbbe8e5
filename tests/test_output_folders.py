"""Each output folder holds only what belongs there (issue 11, item 5; item 8 for disks).

- internal reports and SMS files never go into or under a site output, and a site build refuses
  an output folder with internal reports anywhere below it;
- `sms --output` can no longer replace a site: SMS files have a marker of their own;
- after every build the live folder holds exactly the produced files and its marker;
- a drafts build goes to a preview folder of its own, never into the public output;
- a full or read-only disk while writing ends in a clear error with the live folder untouched,
  and the next build succeeds; failures after the swap are warnings.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
from pathlib import Path
from typing import Any

import pytest

from conftest import NOW, Site
from exemplar_site.cli import main
from exemplar_site.errors import BuildFailed
from exemplar_site.pipeline import BuildOptions, build_site

PAGE = "stories/hero-a/index.html"


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file and folder below root → (inode, bytes): "untouched" means the same files, not copies."""
    return {p.relative_to(root).as_posix(): (p.stat().st_ino, p.read_bytes() if p.is_file() else b"")
            for p in sorted(root.rglob("*"))}


def clean_files(site: Site, tmp: Path, name: str) -> set[str]:
    """What a build of the same sources produces in an empty folder."""
    out = tmp / name
    build_site(site.config, BuildOptions(now=NOW, output=out, cache=False))
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}


@pytest.mark.usefixtures("clock")
def test_report_and_sms_refuse_a_folder_inside_a_site(
        site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site.story("a", "a-1", slug="hero-a")
    www = tmp_path / "www"  # a site built elsewhere than the configured output_dir
    site.build(output=www)
    before = snapshot(www)
    for command in (["report", "--as-of", "2026-11-24"], ["sms", "--now", "2026-11-24"]):
        for folder in (www / "internal", www / "stories" / "new"):
            code = main([*command, "--config", str(site.config), "--output", str(folder)])
            err = capsys.readouterr().err
            assert code == 1, (command, folder)
            assert f"inside the folder of the public site ({www})" in err and f"a folder outside {www}" in err
    assert snapshot(www) == before


def test_a_site_build_refuses_internal_reports_anywhere_below_its_output(site: Site) -> None:
    site.story("a", "a-1", slug="hero-a")
    site.build()
    hidden = site.out / "archive" / "2026"  # reports copied in by hand, or written there by an older version
    hidden.mkdir(parents=True)
    (hidden / ".exemplar-internal").write_text("内部资料")
    (hidden / "assessments.csv").write_text("exemplar_id,last_notes\na-1,SECRET\n")
    before = snapshot(site.out)
    site.story("a", "a-1", slug="hero-a", title="改过标题的事迹")
    with pytest.raises(BuildFailed) as info:
        site.build()
    problem = info.value.problems[0]
    assert problem.accepted is not None
    assert problem.path == str(hidden) and "internal reports" in problem.message and str(site.out) in problem.accepted
    assert snapshot(site.out) == before
    (hidden / ".exemplar-internal").unlink()
    (hidden / "assessments.csv").unlink()
    site.build()
    assert "改过标题的事迹" in site.text_of(PAGE) and not (site.out / "archive").exists()


@pytest.mark.usefixtures("clock")
def test_sms_export_cannot_replace_a_site(site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site.story("a", "a-1", slug="hero-a")
    site.build()
    www = tmp_path / "www"
    site.build(output=www)
    for folder in (site.out, www):  # the configured output, and a site built elsewhere
        before = snapshot(folder)
        code = main(["sms", "--config", str(site.config), "--now", "2026-11-24", "--output", str(folder)])
        err = capsys.readouterr().err
        assert code == 1 and str(folder) in err and "the public site" in err and "the SMS export files cannot" in err
        assert snapshot(folder) == before
    # a folder of their own, with a marker of their own, which a site build does not take over
    out = tmp_path / "sms-files"
    assert main(["sms", "--config", str(site.config), "--now", "2026-11-24", "--output", str(out)]) == 0
    assert (out / ".exemplar-sms").is_file() and not (out / ".exemplar-site").exists()
    with pytest.raises(BuildFailed) as info:
        site.build(output=out)
    assert "SMS export files" in info.value.problems[0].message


def test_files_the_build_did_not_produce_leave_the_output(site: Site, tmp_path: Path) -> None:
    site.story("a", "a-1", slug="hero-a")
    site.build()
    story_dir = (site.out / PAGE).parent
    (site.out / "MP_verify_abc.txt").write_text("dropped by hand")
    (story_dir / "old.html").write_text("stale")
    (site.out / "downloads" / "2025").mkdir(parents=True)
    (site.out / "downloads" / "2025" / "report.pdf").write_bytes(b"%PDF")
    (site.out / "empty").mkdir()
    os.symlink("/etc", site.out / "etc")  # removed, never followed
    reports = []
    for step in range(3):  # the dropped files must not swap back in from the staging twin
        site.story("b", "b-1", title=f"第{step}次修改的事迹")
        report = site.build()
        files = {p.relative_to(site.out).as_posix() for p in site.out.rglob("*") if p.is_file() or p.is_symlink()}
        folders = {p.relative_to(site.out).as_posix() for p in site.out.rglob("*") if p.is_dir()
                   and not p.is_symlink()}
        assert files == clean_files(site, tmp_path, f"clean{step}"), step
        assert folders == {"/".join(f.split("/")[:i]) for f in files for i in range(1, f.count("/") + 1)}
        reports.append(report)
    assert Path("/etc").is_dir()
    assert any("MP_verify_abc.txt" in w.message for w in reports[0].warnings)  # said once, when removed
    assert reports[0].write is not None and reports[0].write.removed == 4  # the files; the empty folder went too
    assert not any("MP_verify_abc.txt" in w.message for w in reports[1].warnings)
    # a file dropped at the top goes with the next build even when nothing else changed
    (site.out / "robots-old.txt").write_text("x")
    site.build()
    assert not (site.out / "robots-old.txt").exists()


@pytest.mark.skipif(os.name != "posix", reason="folder stamps are used on POSIX systems only")
def test_a_folder_is_settled_only_if_its_stamp_is_as_recorded_and_was_not_racy(tmp_path: Path) -> None:
    """outguard.settled on real folders, against the rule it keeps: the stamp (mtime, ctime,
    inode) is the folder's now, and both times were more than a tick before the stamps were taken
    (100 ms; two seconds where both are whole seconds). A folder changed since, replaced by a link,
    or gone is not settled; nor is one stamped too soon, whatever its stamp is now."""
    from exemplar_site import outguard

    if not outguard.stamps_usable():
        pytest.skip("the portable paths walk every folder")
    for name in ("a", "b", "c", "d", "e"):
        (tmp_path / name).mkdir()
    now = outguard.stamp(tmp_path, ["a", "b", "c", "d", "e", "gone"])
    assert set(now) == {"a", "b", "c", "d", "e"}
    (tmp_path / "b" / "new.html").write_text("x")  # changed since
    (tmp_path / "c").rmdir()
    os.symlink(tmp_path / "a", tmp_path / "c")  # a link where the folder was
    (tmp_path / "d").rmdir()  # gone
    recorded = dict(now)
    recorded["gone"] = now["a"]
    m, c, ino = now["e"]
    # a stamp in whole seconds (no folder has one here: a ctime cannot be set), by the racy limit of those
    recorded["e-coarse"] = (m - m % 1_000_000_000, c - c % 1_000_000_000, ino)
    latest = max(max(st[0], st[1]) for st in now.values())

    def expected(at: int) -> set[str]:
        out = set()
        for rel, st in recorded.items():
            coarse = st[0] % 1_000_000_000 == 0 and st[1] % 1_000_000_000 == 0
            limit = at - (outguard.RACY_COARSE_NS if coarse else outguard.RACY_NS)
            if outguard.stamp(tmp_path, [rel]).get(rel) == st and st[0] < limit and st[1] < limit:
                out.add(rel)
        return out

    for at in (latest, latest + outguard.RACY_NS, latest + outguard.RACY_NS + 1,
               latest + outguard.RACY_COARSE_NS, latest + outguard.RACY_COARSE_NS + 1, latest + 10**12):
        assert outguard.settled(tmp_path, recorded, at) == expected(at)
    assert outguard.settled(tmp_path, recorded, latest + 10**12) == {"a", "e"}
    assert outguard.settled(tmp_path, recorded, latest) == set()


@pytest.mark.skipif(os.name != "posix", reason="folder stamps are used on POSIX systems only")
def test_folders_whose_stamps_are_unchanged_are_not_walked_and_strays_are_still_found(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once both trees have settled, a build looks only into the folders whose stamps changed
    (outguard.settled): files, folders, links and another kind's marker dropped deep into the live
    tree are found as a walk of every folder finds them, and never published."""
    import time

    from exemplar_site import outguard
    from exemplar_site.manifest import load_manifest

    if not outguard.stamps_usable():
        pytest.skip("the portable paths walk every folder")
    for i in range(12):
        site.story(f"s{i}", f"s-{i}", slug=f"hero-{i}", tags=[f"标签{i % 3}"])
    for step in range(5):  # both trees written, then left alone long enough to settle
        site.story("s0", "s-0", slug="hero-0", tags=["标签0"], title=f"第{step}次修改")
        site.build()
        time.sleep(0.25)
    m = load_manifest(site.out)
    assert m.live_dirs and outguard.settled(site.out, m.live_dirs, m.stamped_at)
    deep = site.out / "stories/hero-7"
    (deep / "old.html").write_text("stale")
    (site.out / "tags" / "extra").mkdir()
    (site.out / "tags" / "extra" / "x.html").write_text("x")
    os.symlink("/etc/passwd", site.out / "stories/hero-3/passwd")
    walked = outguard._scan(site.out, m.live, outguard.PUBLIC)
    looked = outguard.strays(site.out, outguard.PUBLIC, m.live,
                             outguard.settled(site.out, m.live_dirs, m.stamped_at), m.live_dirs)
    assert sorted(looked) == sorted(walked[0]) == ["stories/hero-3/passwd", "stories/hero-7/old.html",
                                                   "tags/extra/x.html"]
    full_walks: list[Path] = []
    def counted(tree: Path, *args: object) -> tuple[list[str], list[str]]:
        full_walks.append(tree)
        return walked

    monkeypatch.setattr(outguard, "_scan", counted)
    site.story("s1", "s-1", slug="hero-1", tags=["标签1"], title="再改一次")
    report = site.build()
    assert full_walks == []  # (only the changed folders were looked into)
    files = {p.relative_to(site.out).as_posix() for p in site.out.rglob("*") if p.is_file() or p.is_symlink()}
    assert files == clean_files(site, tmp_path, "clean")
    assert any("old.html" in w.message for w in report.warnings)
    # another kind's output put inside is refused, not removed, however it is found
    monkeypatch.undo()
    time.sleep(0.25)
    site.build()  # (settles the tree just written)
    (site.out / "units" / ".exemplar-sms").write_text("")
    site.story("s2", "s-2", slug="hero-2", tags=["标签2"], title="又改一次")
    with pytest.raises(BuildFailed) as failed:
        site.build()
    assert "units" in failed.value.problems[0].path


def test_an_in_place_build_cut_short_leaves_no_file_trusted_that_it_may_have_changed(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The preview server writes the live folder file by file. A build of it that dies after
    rewriting a page, followed by the edit being undone, must not keep the rewritten page as if
    it were the old one (the manifest is distrusted before the first file changes)."""
    from exemplar_site import writer

    site.story("a", "a-1", slug="hero-a", title="原来的标题")
    site.build(in_place=True)
    site.story("a", "a-1", slug="hero-a", title="改了一半的标题")
    real = writer.Staging.put
    done: list[str] = []

    def dies(self: writer.Staging, o: Any, key: str) -> bool:
        if done:
            raise KeyboardInterrupt  # (the process stops here: nothing after this runs)
        done.append(o.path)
        return real(self, o, key)

    monkeypatch.setattr(writer.Staging, "put", dies)
    with pytest.raises(KeyboardInterrupt):
        site.build(in_place=True, workers=1)
    monkeypatch.undo()
    assert done  # (a file was rewritten with the new title)
    site.story("a", "a-1", slug="hero-a", title="原来的标题")  # the edit undone
    site.build(in_place=True)
    fresh = tmp_path / "fresh"
    build_site(site.config, BuildOptions(now=NOW, output=fresh, cache=False))
    for rel in {p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file()}:
        assert (site.out / rel).read_bytes() == (fresh / rel).read_bytes(), rel


def test_an_output_folder_named_through_a_link_is_built_incrementally(site: Site, tmp_path: Path) -> None:
    """`public` a link to the web server's folder: the manifest is read where the writer saves
    it (beside the folder itself), so an edit makes only what shows the story and a build with
    nothing changed writes nothing (each build made every page again)."""
    real = tmp_path / "www" / "site"
    real.mkdir(parents=True)
    site.out.symlink_to(real, target_is_directory=True)
    for n in range(4):
        site.story(f"s{n}", f"s-{n}", date=dt.date(2026, 3, n + 1))
    first = site.build()
    assert first.rendered > 20 and (real / "index.html").is_file() and site.out.is_symlink()
    site.story("s0", "s-0", date=dt.date(2026, 3, 1), title="改过的标题")
    edited = site.build()
    assert 0 < edited.rendered < first.rendered // 2
    assert "改过的标题" in site.text_of("index.html")
    assert site.build(now=NOW).rendered == 0


def test_an_output_folder_through_a_link_to_nothing_is_refused_before_anything_is_written(
        site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`public` a link to a disk that is not attached: `check` and `build` refuse it, naming the
    link and where it leads, and nothing is written beside the link or where it leads (the build
    used to write its bookkeeping beside the link, then fail on a file name nobody knows). Only
    what would write through the link is refused: a drafts preview, the reports and the build of
    another folder go on. The same for `--output` through such a link, for the reports folder,
    and for a link that leads to itself."""
    site.story("a", "a-1", slug="hero-a")
    gone = tmp_path / "nas" / "site"
    site.out.symlink_to(gone, target_is_directory=True)
    before = sorted(p.name for p in site.root.iterdir())
    for command in (["check", "--now", "2026-11-24"], ["build", "--now", "2026-11-24"]):
        assert main([*command, "--config", str(site.config)]) == 1
        err = capsys.readouterr().err
        assert f"the output folder {site.out} is a link to {gone}, which does not exist" in err, err
        assert f"attach or create {gone}, or remove the link {site.out}" in err
    assert sorted(p.name for p in site.root.iterdir()) == before and not (tmp_path / "nas").exists()
    # what does not write through the link goes on
    assert main(["build", "--drafts", "--now", "2026-11-24", "--config", str(site.config)]) == 0
    assert (site.root / "public-drafts" / "stories" / "hero-a" / "index.html").is_file()
    assert main(["report", "--as-of", "2026-11-24", "--config", str(site.config)]) == 0
    elsewhere = tmp_path / "www"
    assert main(["build", "--now", "2026-11-24", "--config", str(site.config), "--output", str(elsewhere)]) == 0
    capsys.readouterr()

    site.out.unlink()
    (site.root / "mnt").symlink_to(tmp_path / "unplugged", target_is_directory=True)
    inside = site.root / "mnt" / "www"
    assert main(["build", "--now", "2026-11-24", "--config", str(site.config), "--output", str(inside)]) == 1
    assert f"the output folder {inside} lies in {site.root / 'mnt'}, a link to {tmp_path / 'unplugged'}" \
        in capsys.readouterr().err
    site.write("site_config.yaml", site.config.read_text(encoding="utf-8") + "reports_dir: mnt/reports\n")
    assert main(["report", "--as-of", "2026-11-24", "--config", str(site.config)]) == 1
    assert f"the output folder {site.root / 'mnt' / 'reports'} lies in" in capsys.readouterr().err
    assert main(["build", "--now", "2026-11-24", "--config", str(site.config)]) == 0  # (reports are not written)
    assert not (tmp_path / "unplugged").exists()
    (tmp_path / "unplugged").mkdir()  # the disk attached: the link leads somewhere, and the build goes there
    assert main(["build", "--now", "2026-11-24", "--config", str(site.config), "--output", str(inside)]) == 0
    assert (tmp_path / "unplugged" / "www" / "stories" / "hero-a" / "index.html").is_file()

    loop = site.root / "loop"
    loop.symlink_to(loop)
    site.write("site_config.yaml", site.config.read_text(encoding="utf-8") + "output_dir: loop\n")
    for command in (["check", "--now", "2026-11-24"], ["build", "--now", "2026-11-24"]):
        assert main([*command, "--config", str(site.config)]) == 1
        assert f"the output folder {loop} is a link to" in capsys.readouterr().err


def test_a_drafts_build_goes_to_a_preview_folder_of_its_own(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.story("a", "a-1", slug="hero-a")
    site.story("h", "h-1", status="seedling")
    args = ["build", "--config", str(site.config), "--now", "2026-11-24 10:00"]
    assert main(args) == 0
    before = snapshot(site.out)
    assert main([*args, "--drafts"]) == 0
    preview = site.root / "public-drafts"
    assert f"Built {preview}" in capsys.readouterr().out
    assert "预览版本" in (preview / PAGE).read_text(encoding="utf-8")
    assert (preview / "stories/ce-shi-dian-xing-h-1-de-xian-jin-shi-ji/index.html").is_file()
    for out in (str(site.out), str(site.out) + "/", str(site.out / "preview")):
        assert main([*args, "--drafts", "--output", out]) == 1
        err = capsys.readouterr().err
        assert "a drafts preview (--drafts) may not be written into the public site" in err and str(preview) in err
    assert snapshot(site.out) == before


def test_a_drafts_build_is_refused_wherever_a_site_built_without_drafts_is(
        site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not only the config's output folder: a site built with `--output` elsewhere (the one to be
    published, perhaps) is not overwritten by a preview holding stories not yet cleared. A drafts
    preview's own folder (its robots.txt says so) takes the next preview."""
    site.story("a", "a-1", slug="hero-a")
    site.story("h", "h-1", status="seedling")
    args = ["build", "--config", str(site.config), "--now", "2026-11-24 10:00"]
    www = tmp_path / "www"
    assert main([*args, "--output", str(www)]) == 0
    before = snapshot(www)
    capsys.readouterr()
    assert main([*args, "--drafts", "--output", str(www)]) == 1
    err = capsys.readouterr().err
    assert f"{www.resolve()} holds a site built without --drafts" in err and "public-drafts" in err
    assert snapshot(www) == before and not (www / "stories/ce-shi-dian-xing-h-1-de-xian-jin-shi-ji").exists()
    preview = tmp_path / "preview"
    for _ in range(2):  # a preview's own folder, again and again
        assert main([*args, "--drafts", "--output", str(preview)]) == 0
        assert (preview / "stories/ce-shi-dian-xing-h-1-de-xian-jin-shi-ji/index.html").is_file()
    assert main([*args, "--output", str(preview)]) == 0  # (a site may replace a preview: it holds less)
    assert main([*args, "--drafts", "--output", str(preview)]) == 1


@pytest.mark.parametrize("code,words", [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "the disk is read-only")])
def test_a_full_or_read_only_disk_fails_cleanly_and_the_next_build_works(
        site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], code: int, words: str) -> None:
    site.story("a", "a-1", slug="hero-a")
    site.story("b", "b-1")
    site.build()
    before = snapshot(site.out)
    site.story("a", "a-1", slug="hero-a", title="磁盘满时改的标题")
    real = Path.write_bytes

    def failing(self: Path, data: bytes) -> int:
        if ".public.staging" in self.parts and self.name.endswith(".html.tmp"):
            raise OSError(code, os.strerror(code), str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing)
    assert main(["build", "--config", str(site.config), "--now", "2026-11-24 10:00", "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert f"{site.out}: error: writing failed: {words}" in err and "Traceback" not in err
    with pytest.raises(BuildFailed) as info:
        site.build()
    assert info.value.problems[0].path == str(site.out)
    assert snapshot(site.out) == before
    monkeypatch.undo()
    site.build()
    assert "磁盘满时改的标题" in site.text_of(PAGE)


def test_failures_after_the_swap_are_warnings(
        site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    site.story("a", "a-1", slug="hero-a")
    site.story("w", "w-1", status="withdrawn")
    site.build()
    site.story("a", "a-1", slug="hero-a", title="换了标题")
    beside = {".public.manifest", "public-withdrawn.map", ".public.state", ".public.cache", ".public.cache.bodies",
              ".public.cache.search"}
    real = os.replace

    def failing(src: str | os.PathLike[str], dst: str | os.PathLike[str], **kw: object) -> None:
        if os.path.basename(dst) in beside:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        real(src, dst, **kw)  # type: ignore[arg-type]

    (site.root / "public-withdrawn.map").unlink()
    monkeypatch.setattr(os, "replace", failing)
    assert main(["build", "--config", str(site.config), "--now", "2026-11-24 10:00", "--jobs", "1"]) == 0
    err = capsys.readouterr().err
    assert "warning: the output was updated, but this file could not be written: the disk is full" in err
    assert "public-withdrawn.map" in err and ".public.manifest" in err
    assert "换了标题" in site.text_of(PAGE)  # the new site is live
    monkeypatch.undo()
    report = site.build(now=NOW + dt.timedelta(minutes=1))  # not skipped: what failed is written now
    assert not [w for w in report.warnings if "could not be written" in w.message]
    assert (site.root / "public-withdrawn.map").read_text(encoding="utf-8").count(" 1;") == 2
