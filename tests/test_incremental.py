"""Incremental builds (with the cache) are byte-identical to clean builds, whatever the edits."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import pickle
import random
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from conftest import NOW, Site, make_site, story
from exemplar_site.cache import cache_path, lazy_path, state_path
from exemplar_site.errors import BuildFailed
from exemplar_site.pipeline import BuildOptions, build_site
from exemplar_site.theme import BUILTIN_DEFAULT


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def clean_build(site: Site, tmp: Path, now: dt.datetime = NOW) -> dict[str, bytes]:
    out = tmp / f"clean-{random.random()}"
    build_site(site.config, BuildOptions(now=now, output=out, cache=False))
    result = tree(out)
    shutil.rmtree(out)
    return result


def test_random_edit_sequences_match_clean_builds(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s")
    rng = random.Random(20261124)
    ids = []
    for i in range(12):
        site.story(f"s{i}", f"s-{i}", slug=f"slug-{i}", date=dt.date(2026, 1 + i % 9, 1 + i),
                   tags=[rng.choice(["甲", "乙", "丙"])], unit=rng.choice(["n1", "n2", "s1", "traffic"]))
        ids.append(i)
    site.write("content/campaigns/c.md", "---\ntitle: 活动\ndate: 2026-01-01\nexemplars: [s-1]\n---\n说明。\n")
    next_id = 12
    template = site.root / "themes" / "mine" / "templates" / "story.html"
    for step in range(14):
        op = rng.choice(["edit", "add", "delete", "rename", "withdraw", "template", "noop", "edit"])
        if op == "edit" and ids:
            i = rng.choice(ids)
            site.story(f"s{i}", f"s-{i}", slug=f"slug-{i}", title=f"第{step}次修改的标题{i}",
                       date=dt.date(2026, 1 + i % 9, 1 + i), tags=[rng.choice(["甲", "乙", "丁"])])
        elif op == "add":
            site.story(f"s{next_id}", f"s-{next_id}", slug=f"slug-{next_id}", date=dt.date(2026, 10, 1 + step))
            ids.append(next_id)
            next_id += 1
        elif op == "delete" and len(ids) > 3:
            i = ids.pop(rng.randrange(len(ids)))
            (site.root / f"content/stories/s{i}.md").unlink()
        elif op == "rename" and ids:
            i = rng.choice(ids)
            site.story(f"s{i}", f"s-{i}", slug=f"renamed-{i}-{step}", date=dt.date(2026, 1 + i % 9, 1 + i))
        elif op == "withdraw" and ids:
            i = rng.choice(ids)
            site.story(f"s{i}", f"s-{i}", slug=f"slug-{i}", status="withdrawn", date=dt.date(2026, 1 + i % 9, 1 + i))
        elif op == "template":
            template.parent.mkdir(parents=True, exist_ok=True)
            template.write_text('{% extends "default/story.html" %}{% block title %}' + f"版本{step}"
                                + "{% endblock %}", encoding="utf-8")
            if "theme: mine" not in site.config.read_text(encoding="utf-8"):
                site.config.write_text(site.config.read_text(encoding="utf-8") + "theme: mine\n", encoding="utf-8")
        site.build()
        assert tree(site.out) == clean_build(site, tmp_path), f"step {step}: {op}"


def test_a_template_edit_renders_the_pages_that_use_it(site: Site, tmp_path: Path) -> None:
    for i in range(8):
        site.story(f"s{i}", f"s-{i}", slug=f"p-{i}", date=dt.date(2026, 1, 1 + i))
    templates = site.root / "themes/mine/templates"
    templates.mkdir(parents=True)
    site.config.write_text(site.config.read_text(encoding="utf-8") + "theme: mine\n", encoding="utf-8")
    site.build()
    stories = len(list((site.out / "stories").glob("*/index.html")))
    # a story template of its own: story pages only
    (templates / "story.html").write_text('{% extends "default/story.html" %}{% block title %}新标题'
                                          '{% endblock %}', encoding="utf-8")
    report = site.build()
    assert report.rendered == stories and report.write and report.write.written == stories
    assert tree(site.out) == clean_build(site, tmp_path)
    # the card, which listings, the home page and related stories show: those pages, not the rest
    card = (BUILTIN_DEFAULT / "templates/_card.html").read_text(encoding="utf-8")
    (templates / "_card.html").write_text(card.replace("{{ story_card", "<i data-card></i>{{ story_card"),
                                          encoding="utf-8")
    report = site.build()
    assert report.write and 0 < report.write.written
    assert "data-card" in site.text_of("index.html") and "data-card" in site.text_of("stories/index.html")
    assert tree(site.out) == clean_build(site, tmp_path)
    # the base every page extends: every page
    base = (BUILTIN_DEFAULT / "templates/base.html").read_text(encoding="utf-8")
    (templates / "base.html").write_text(base.replace("<body", "<body data-base"), encoding="utf-8")
    report = site.build()
    pages = sum(1 for p in site.out.rglob("*.html") if b"data-base" in p.read_bytes())
    assert report.write and report.write.written == pages > stories  # (withdrawn.html stands alone)
    assert tree(site.out) == clean_build(site, tmp_path)


def test_time_alone_changes_the_site_even_with_nothing_edited(site: Site, tmp_path: Path) -> None:
    site.story("a", "a-1", slug="a")
    site.story("later", "b-1", slug="later", date=dt.datetime(2026, 12, 1, 8, 0))
    site.build()
    assert not (site.out / "stories/later").exists()
    later = dt.datetime(2026, 12, 1, 9, 0, tzinfo=NOW.tzinfo)
    report = site.build(now=later)
    assert report.public == 2 and (site.out / "stories/later/index.html").is_file()
    assert tree(site.out) == clean_build(site, tmp_path, later)


def test_nothing_changed_renders_nothing(site: Site) -> None:
    site.story("a", "a-1")
    first = site.build()
    again = site.build()
    assert again.rendered == 0 and again.write is not None and again.write.written == 0
    assert again.files == first.files
    assert again.public == first.public and again.held == first.held


def test_the_input_fingerprint_sees_every_change_a_build_would(tmp_path: Path) -> None:
    """The nothing-changed shortcut's fingerprint (its own walk, not the build's): every edit,
    addition, removal, link retargeted and file changed behind a link changes it; nothing else does;
    a link loop, a dangling link and an unreadable folder do not stop it."""
    from exemplar_site.cache import input_signature

    top = tmp_path / "content"
    (top / "a").mkdir(parents=True)
    (top / "a/x.md").write_text("一", encoding="utf-8")
    (top / "b").mkdir()
    (top / "b/y.md").write_text("二", encoding="utf-8")
    linked = top / "archive"  # (a link is followed when it leads to a folder inside the inputs)
    linked.mkdir()
    (linked / "z.md").write_text("三", encoding="utf-8")
    os.symlink(linked, top / "a/link")
    config = tmp_path / "site_config.yaml"
    config.write_text("title: 甲\n", encoding="utf-8")
    inputs = [(config, config), (top, top)]
    seen = [input_signature(inputs, "x")]

    real_scandir, reads = os.scandir, [0]

    def counting(path: Any) -> Any:
        reads[0] += 1
        return real_scandir(path)

    def folders_read() -> int:  # by the last fingerprint
        before, reads[0] = reads[0], 0
        os.scandir = counting  # type: ignore[assignment]
        try:
            input_signature(inputs, "x")
        finally:
            os.scandir = real_scandir
        count, reads[0] = reads[0], before
        return count

    def changed() -> bool:
        sig = input_signature(inputs, "x")
        assert sig == input_signature(inputs, "x")  # (nothing in between: the same)
        fresh = sig != seen[-1]
        seen.append(sig)
        return fresh

    assert not changed()
    assert input_signature(inputs, "y") != seen[0]  # what the build was asked
    stat = (top / "a/x.md").stat()
    (top / "a/x.md").write_text("乙", encoding="utf-8")  # same size,
    os.utime(top / "a/x.md", ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: ctime moved
    assert changed()
    (linked / "z.md").write_text("三三", encoding="utf-8")  # behind the link
    assert changed()
    other = top / "other"
    other.mkdir()
    (other / "z.md").write_text("三三", encoding="utf-8")
    (top / "a/link").unlink()
    os.symlink(other, top / "a/link")  # retargeted to a copy
    assert changed()
    (top / "b/new.md").write_text("四", encoding="utf-8")
    assert changed()
    (top / "b/new.md").unlink()
    assert changed() and seen[-1] == seen[-3]  # (the same files as before: the same fingerprint)
    config.write_text("title: 乙\n", encoding="utf-8")
    assert changed()
    os.symlink(top, top / "b/loop")  # a loop and a dangling link: fingerprinted, not followed for ever
    os.symlink(tmp_path / "gone", top / "b/dangling")
    assert changed()
    (top / "b/loop").unlink()
    (top / "b/dangling").unlink()
    assert changed() and seen[-1] == seen[-3]
    # links to folders above them, several in one folder: each is a loop, none followed (in every
    # order, 8 of them took minutes); a link out of the site is fingerprinted, never walked
    deep = top / "b/c/d"
    deep.mkdir(parents=True)
    for i in range(8):
        os.symlink(top / "b" if i % 2 else top / "b/c", deep / f"up{i}")
    outside = tmp_path / "outside"
    (outside / "x").mkdir(parents=True)
    (outside / "x/secret.txt").write_text("外", encoding="utf-8")
    os.symlink(outside, top / "b/out")
    assert changed()
    assert folders_read() <= 12  # (each folder once: links followed in every order read thousands)
    (outside / "x/secret.txt").write_text("外外外", encoding="utf-8")  # (not an input: the build refuses the link)
    assert not changed()
    (top / "b/out").unlink()
    os.symlink(outside / "x", top / "b/out")  # retargeted: seen
    assert changed()
    for i in range(7):  # folders linking to each other: each walked once (in every order: minutes)
        (top / f"m{i}").mkdir()
    for i in range(7):
        for j in range(7):
            if i != j:
                os.symlink(top / f"m{j}", top / f"m{i}/to{j}")
    assert changed()
    assert folders_read() <= 20
    (top / "m3/new.md").write_text("五", encoding="utf-8")
    assert changed()
    if os.geteuid() != 0:  # (root reads any folder)
        (top / "b").chmod(0)
        try:
            assert changed()
        finally:
            (top / "b").chmod(0o755)


def test_a_theme_file_behind_a_link_to_another_theme_folder_is_seen(site: Site) -> None:
    """A site theme may link to a folder elsewhere in themes/ (the build follows such links): the
    nothing-changed shortcut must see an edit there, as the build would."""
    shared = site.root / "themes/shared/css"
    shared.mkdir(parents=True)
    (shared / "x.css").write_text("body{color:red}", encoding="utf-8")
    (site.root / "themes/mine/static").mkdir(parents=True)
    os.symlink(shared, site.root / "themes/mine/static/css")
    config = site.root / "site_config.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "theme: mine\n", encoding="utf-8")
    site.story("a", "a-1")
    site.build()
    assert site.text_of("static/css/x.css") == "body{color:red}"
    (shared / "x.css").write_text("body{color:blue}", encoding="utf-8")
    report = site.build()
    assert report.rendered > 0
    assert site.text_of("static/css/x.css") == "body{color:blue}"


def test_the_command_line_answers_nothing_changed_without_loading_the_stages(site: Site) -> None:
    """`build` with nothing changed reports the last build (same summary, no file written) from a
    process that never imports the pipeline, Markdown or Jinja, nor the workers' multiprocessing
    or the folder swap's ctypes (~30 ms of such a build's ~0.3 s at 10,000 stories); after an edit
    it builds again."""
    import subprocess
    import sys

    site.story("a", "a-1", title="第一版标题")
    site.story("held", "b-1", status="recommended")  # (held back: the summary lists it again)
    probe = ("import sys; from exemplar_site.cli import main; code = main(sys.argv[1:]); "
             "heavy = ('exemplar_site.pipeline', 'markdown', 'jinja2'); "
             "print('LOADED', sorted(m for m in heavy if m in sys.modules)); "
             "print('ALSO', sorted(m for m in ('multiprocessing', 'ctypes') if m in sys.modules)); "
             "raise SystemExit(code)")
    args = [sys.executable, "-c", probe, "build", "--config", str(site.config), "--now", NOW.isoformat(),
            "--lang", "en"]

    def run() -> str:
        done = subprocess.run(args, capture_output=True, text=True, check=True, cwd=site.root)
        return done.stdout

    first = run()
    assert "LOADED ['exemplar_site.pipeline', 'jinja2', 'markdown']" in first
    before = {p: p.stat().st_mtime_ns for p in site.out.rglob("*") if p.is_file()}
    again = run()
    assert "LOADED []" in again and "ALSO []" in again
    assert {p: p.stat().st_mtime_ns for p in site.out.rglob("*") if p.is_file()} == before
    probe_lines = ("Built", "LOADED", "ALSO", "  files")
    summary = [line for line in first.splitlines() if not line.startswith(probe_lines)]
    assert summary == [line for line in again.splitlines() if not line.startswith(probe_lines)]
    assert "held back" in again and "0 rendered" in again
    # the same config file named another way (relative to the folder the command runs in) is the same input
    relative = [a if a != str(site.config) else site.config.name for a in args]
    assert "LOADED []" in subprocess.run(relative, capture_output=True, text=True, check=True, cwd=site.root).stdout
    site.story("a", "a-1", title="第二版标题")
    third = run()
    assert "LOADED ['exemplar_site.pipeline', 'jinja2', 'markdown']" in third
    assert any("第二版标题" in p.read_text(encoding="utf-8") for p in site.out.rglob("*.html"))


def test_the_files_looked_at_for_nothing_changed_are_not_looked_at_again_and_a_late_save_is_built_next(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line looks at every input file once (the input signature, for "nothing
    changed") and the build's discovery takes those stats instead of taking them again; it finds
    the same files as a discovery of its own. A story saved after that look, while the build runs,
    is built by the next build (the last build's signature is older than the save), never skipped."""
    from exemplar_site import pipeline
    from exemplar_site.cli import main
    from exemplar_site.config import load_config
    from exemplar_site.errors import Problems
    from exemplar_site.nochange import signature
    from exemplar_site.sources import discover

    site.story("a", "a-1", slug="hero-a", title="第一版标题")
    site.story("nested/b", "b-1")
    site.write("content/kept/c.md", story("c-1"))
    (site.root / "content/stories/c.md").symlink_to(site.root / "content/kept/c.md")  # (a link inside content/)
    args = ["build", "--config", str(site.config), "--now", NOW.isoformat(), "--jobs", "1"]
    assert main(args) == 0
    config = load_config(site.config)
    handed: dict[str, os.stat_result] = {}
    real = discover

    def late(config: Any, problems: Any, taken: Any = None) -> Any:
        handed.update(taken or {})
        site.story("a", "a-1", slug="hero-a", title="第三版标题")  # saved while this build runs
        return real(config, problems, taken)

    site.story("a", "a-1", slug="hero-a", title="第二版标题")
    monkeypatch.setattr(pipeline, "discover", late)
    assert main(args) == 0
    monkeypatch.undo()
    stories = sorted(str(p) for p in (site.root / "content/stories").rglob("*.md"))
    assert stories and set(stories) <= set(handed)
    fresh: dict[str, os.stat_result] = {}
    signature(config, BuildOptions(now=NOW), fresh)
    assert discover(config, Problems(), fresh) == discover(config, Problems())
    assert main(args) == 0
    assert "第三版标题" in site.text_of("stories/hero-a/index.html")
    assert main(args) == 0  # (and now nothing changed)


def test_one_edit_renders_only_what_shows_that_story(site: Site) -> None:
    for i in range(30):
        site.story(f"s{i}", f"s-{i}", slug=f"slug-{i}", date=dt.date(2025, 1, 1) + dt.timedelta(days=7 * i),
                   unit="s1" if i % 2 else "n1", tags=[f"标签{i % 5}"])
    site.build()
    site.story("s3", "s-3", slug="slug-3", title="改过的标题", date=dt.date(2025, 1, 1) + dt.timedelta(days=21),
               unit="s1", tags=["标签3"])
    report = site.build()
    assert 0 < report.rendered < report.files / 3
    assert "改过的标题" in site.text_of("stories/slug-3/index.html")


def test_corrupted_cache_is_discarded_with_a_notice(site: Site, tmp_path: Path) -> None:
    site.story("a", "a-1")
    site.build()
    cache = cache_path(site.out)
    cache.write_bytes(b"\x80\x05garbage")
    site.story("a", "a-1", title="新标题")
    report = site.build()
    assert any("build cache unreadable" in w.message for w in report.warnings)
    assert tree(site.out) == clean_build(site, tmp_path)


def test_version_mismatched_cache_is_discarded_with_a_notice(site: Site, tmp_path: Path) -> None:
    site.story("a", "a-1")
    site.build()
    cache = cache_path(site.out)
    with cache.open("rb") as f:  # a header, then one pickle per part
        head = pickle.load(f)
        parts = {name: pickle.load(f) for name in head["parts"]}
    head["version"] = (0, "old")
    for key in parts["stories"]:  # stale entries that must never be used
        parts["stories"][key] = None
    for key in parts["records"]:
        parts["records"][key] = None
    with cache.open("wb") as f:
        for item in [head, *list(parts.values())]:
            pickle.dump(item, f)
    site.story("a", "a-1", title="另一个标题")
    report = site.build()
    assert any("left by another version" in w.message for w in report.warnings)
    assert tree(site.out) == clean_build(site, tmp_path)


def test_corrupted_bodies_cache_is_discarded_with_a_notice(site: Site, tmp_path: Path) -> None:
    """The parsed front matter and renderings are loaded only when needed (here: after a config
    change, every record is validated again from unchanged files); a torn file is not trusted."""
    for i in range(3):
        site.story(f"s{i}", f"s-{i}")
    site.build()
    bodies = lazy_path(cache_path(site.out))
    assert bodies.exists()
    bodies.write_bytes(bodies.read_bytes()[: bodies.stat().st_size // 2])
    config = site.root / "site_config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("page_size: ", "page_size: 1") + "\n",
                      encoding="utf-8")
    report = site.build()
    assert any("build cache unreadable" in w.message for w in report.warnings)
    assert tree(site.out) == clean_build(site, tmp_path)


def test_corrupted_search_cache_is_discarded_with_a_notice_in_the_same_build(site: Site, tmp_path: Path) -> None:
    """The search tokens' file is first read while the search index is made, after the other
    cache files: a torn one is still reported by the build that found it, and not trusted."""
    from exemplar_site.cache import search_path

    for i in range(3):
        site.story(f"s{i}", f"s-{i}", body=f"第{i}篇的正文。")
    site.build()
    tokens = search_path(cache_path(site.out))
    tokens.write_bytes(tokens.read_bytes()[: tokens.stat().st_size // 2])
    site.story("s1", "s-1", body="第1篇改过的正文。")
    report = site.build()
    assert [w.path for w in report.warnings if "build cache unreadable" in w.message] == [str(tokens)]
    assert tree(site.out) == clean_build(site, tmp_path)
    assert not site.build().warnings  # (written again whole)


def test_an_edit_makes_only_the_edited_storys_feed_entries(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The feeds holding an edited story are made again (50 entries each on a real site); the
    other stories' entries are read from the cache, where the cold build's workers handed theirs."""
    from exemplar_site.cache import feeds_path
    from exemplar_site.feeds import FeedParts

    for i in range(40):
        site.story(f"s{i:02d}", f"s-{i:02d}", slug=f"s-{i:02d}", date=dt.date(2025, 1, 1) + dt.timedelta(days=i),
                   unit="s1" if i % 2 else "n1", tags=[f"标签{i % 3}"], body=f"第{i}篇的正文。")
    assert site.build(workers=2).rendered >= 200  # (over the workers, forked or spawned)
    with contextlib.closing(sqlite3.connect(feeds_path(cache_path(site.out)))) as db:
        (stored,) = db.execute("SELECT count(*) FROM entries").fetchone()
    assert stored == 3 * 40  # every story is in a feed (all, its unit, its tag), in three formats
    made: list[tuple[str, str]] = []
    real_xml, real_json = FeedParts._xml, FeedParts._json

    def xml(self: FeedParts, s: Any, atom: bool) -> str:
        made.append((s.id, "atom" if atom else "rss"))
        return real_xml(self, s, atom)

    def json(self: FeedParts, s: Any) -> str:
        made.append((s.id, "json"))
        return real_json(self, s)

    monkeypatch.setattr(FeedParts, "_xml", xml)
    monkeypatch.setattr(FeedParts, "_json", json)
    site.story("s07", "s-07", slug="s-07", title="改过的标题", date=dt.date(2025, 1, 8), unit="s1", tags=["标签1"],
               body="第7篇的正文。")
    report = site.build(workers=2)
    assert sorted(made) == [("s-07", "atom"), ("s-07", "json"), ("s-07", "rss")]
    assert report.rendered < 100 and "改过的标题" in site.text_of("feeds/all.atom.xml")
    monkeypatch.undo()
    assert tree(site.out) == clean_build(site, tmp_path)
    # the campaigns' names are in every entry's categories: a new one makes each entry again
    made.clear()
    monkeypatch.setattr(FeedParts, "_xml", xml)
    site.write("content/campaigns/c.md", "---\ntitle: 学习活动\nsummary: 摘要\ndate: 2025-01-01\n"
               "decision: 决定1号\nexemplars: [s-03]\n---\n说明。\n")
    site.build()
    assert len(made) == 2 * 40
    monkeypatch.undo()
    assert tree(site.out) == clean_build(site, tmp_path)


def test_the_sms_files_are_made_again_only_when_a_message_changed(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A title edit changes no SMS message (they are made from the summary): the SMS files keep
    their keys without being made; a file missing from the output is made again all the same,
    and a summary edit makes them all again. Each build equals a clean one."""
    from exemplar_site.sms import sms_files as real  # (what incremental.sms_files is)

    for i in range(5):
        site.story(f"s{i}", f"s-{i}", slug=f"s-{i}", date=dt.date(2025, 1, 1 + i), summary=f"第{i}位民警的事迹摘要。")
    site.build()
    calls: list[int] = []

    def sms_files(msgs: Any, config: Any) -> Any:
        calls.append(len(msgs))
        return real(msgs, config)

    monkeypatch.setattr("exemplar_site.incremental.sms_files", sms_files)
    site.story("s2", "s-2", slug="s-2", title="改过的标题", date=dt.date(2025, 1, 3), summary="第2位民警的事迹摘要。")
    site.build()
    assert calls == [] and "改过的标题" in site.text_of("stories/s-2/index.html")
    assert tree(site.out) == clean_build(site, tmp_path)
    for tree_root in (site.out, site.root / f".{site.out.name}.staging"):  # (the live tree and its twin)
        (tree_root / "sms" / "stories" / "s-3.txt").unlink()
    site.story("s2", "s-2", slug="s-2", title="又改过的标题", date=dt.date(2025, 1, 3), summary="第2位民警的事迹摘要。")
    site.build()
    assert calls == [5]  # (the missing file: made with the others, once)
    assert tree(site.out) == clean_build(site, tmp_path)
    site.story("s2", "s-2", slug="s-2", title="又改过的标题", date=dt.date(2025, 1, 3), summary="改过的摘要。")
    site.build()
    assert calls == [5, 5] and "改过的摘要" in site.text_of("sms/stories/s-2.txt")
    assert tree(site.out) == clean_build(site, tmp_path)


def _stories_with_bodies(site: Site, n: int) -> None:
    for i in range(n):
        site.story(f"s{i:02d}", f"s-{i:02d}", slug=f"s-{i:02d}", date=dt.date(2025, 1, 1) + dt.timedelta(days=i),
                   summary=f"第{i}位民警的事迹摘要。", body=f"第{i}篇的正文，只在这篇里的词语甲乙{i:02d}丙丁。")


def _story_theme(site: Site, mark: str) -> None:
    """A theme whose story template differs by `mark`: every story page is made again, showing its body."""
    templates = site.root / "themes/mine/templates"
    templates.mkdir(parents=True, exist_ok=True)
    if "theme: mine" not in site.config.read_text(encoding="utf-8"):
        site.config.write_text(site.config.read_text(encoding="utf-8") + "theme: mine\n", encoding="utf-8")
    (templates / "story.html").write_text('{% extends "default/story.html" %}{% block title %}' + mark +
                                          '{% endblock %}', encoding="utf-8")


def _body_reads(monkeypatch: pytest.MonkeyPatch) -> list[list[str] | None]:
    """The keys of each query of `.public.cache.html` from now on (made in this process)."""
    from exemplar_site.cache import _Table

    queries: list[list[str] | None] = []
    real = _Table._read

    def counted(self: _Table, keys: list[str] | None, values: bool = True) -> dict[str, Any]:
        if self.path is not None and self.path.name.endswith(".html") and values:
            queries.append(keys)
        return real(self, keys, values)

    monkeypatch.setattr(_Table, "_read", counted)
    return queries


def test_stories_are_stored_without_their_bodies_and_an_edit_reads_only_those_it_shows(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The main cache file holds the stories without their bodies, which `.public.cache.html`
    holds; an edit reads the bodies of the pages it makes again and no other; a template edit
    that shows every body reads them in one query. Each build equals a clean one, with workers
    forked or (the portable re-run) spawned, which are given the bodies they show."""
    from exemplar_site.cache import texts_path

    _stories_with_bodies(site, 30)
    _story_theme(site, "原来的标题")
    site.build(workers=2)
    stored = cache_path(site.out).read_bytes()
    assert "只在这篇里的词语".encode() not in stored and b"s-07" in stored
    with contextlib.closing(sqlite3.connect(texts_path(cache_path(site.out)))) as db:
        (rows,) = db.execute("SELECT count(*) FROM entries").fetchone()
    assert rows == 30
    queries = _body_reads(monkeypatch)
    site.story("s10", "s-10", slug="s-10", date=dt.date(2025, 1, 11), title="改过的标题",
               summary="第10位民警的事迹摘要。", body="第10篇的正文，只在这篇里的词语甲乙10丙丁。")
    report = site.build(workers=1)  # (in this process: every read is seen)
    bodies = sum(len(keys or ()) for keys in queries)
    # (the pages of the stories beside it and related to it show its title: made again, in one query)
    assert len(queries) == 1 and 0 < bodies <= 8 and report.rendered < 40
    assert "改过的标题" in site.text_of("stories/s-10/index.html")
    assert "只在这篇里的词语甲乙09丙丁" in site.text_of("stories/s-09/index.html")
    monkeypatch.undo()
    assert tree(site.out) == clean_build(site, tmp_path)
    # every story page made again: their bodies in one query, not thirty
    _story_theme(site, "新标题")
    queries = _body_reads(monkeypatch)
    site.build(workers=1)
    assert len(queries) == 1 and len(queries[0] or ()) == 30
    monkeypatch.undo()
    assert tree(site.out) == clean_build(site, tmp_path)
    _story_theme(site, "又一个标题")
    site.build(workers=2)
    assert tree(site.out) == clean_build(site, tmp_path)


def test_a_missing_or_damaged_bodies_file_never_publishes_an_empty_body(site: Site, tmp_path: Path) -> None:
    """Without `.public.cache.html` the stories stored without their bodies are published again;
    with its values damaged, the build that needs one stops with an error before anything is
    published (never a page with an empty body), and the next build is whole."""
    from exemplar_site.cache import texts_path

    _stories_with_bodies(site, 6)
    _story_theme(site, "原来的标题")
    site.build()
    texts = texts_path(cache_path(site.out))
    texts.unlink()
    site.story("s02", "s-02", slug="s-02", date=dt.date(2025, 1, 3), title="改过的标题",
               summary="第2位民警的事迹摘要。", body="第2篇的正文，只在这篇里的词语甲乙02丙丁。")
    site.build()
    assert tree(site.out) == clean_build(site, tmp_path)
    assert texts.exists()
    with contextlib.closing(sqlite3.connect(texts)) as db, db:
        db.execute("UPDATE entries SET value = x'00000000' || substr(value, 5)")
    before = tree(site.out)
    _story_theme(site, "新标题")
    with pytest.raises(BuildFailed) as failed:
        site.build()
    assert any("build cache was damaged or removed" in p.message for p in failed.value.problems)
    assert tree(site.out) == before
    site.build()
    assert tree(site.out) == clean_build(site, tmp_path)
    assert "只在这篇里的词语甲乙04丙丁" in site.text_of("stories/s-04/index.html")
    # two bodies swapped between their rows: each checksum covers its key, so neither is shown
    with contextlib.closing(sqlite3.connect(texts)) as db, db:
        (a, va), (b, vb) = db.execute("SELECT key, value FROM entries LIMIT 2").fetchall()
        db.execute("UPDATE entries SET value = ? WHERE key = ?", (vb, a))
        db.execute("UPDATE entries SET value = ? WHERE key = ?", (va, b))
    before = tree(site.out)
    _story_theme(site, "第三个标题")
    with pytest.raises(BuildFailed):
        site.build()
    assert tree(site.out) == before
    site.build()
    assert tree(site.out) == clean_build(site, tmp_path)


def test_sms_messages_are_unpickled_only_when_the_sms_files_are_made_and_a_damaged_one_is_made_again(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache keeps each story's SMS message pickled on its own: a title edit (no message
    changes) reads none back; a body edit (a message changes, so every SMS file is made again)
    reads them all, and one that cannot be read back (damaged) is made again from its story."""
    import pickle

    from exemplar_site.cache import BuildCache

    _stories_with_bodies(site, 5)
    site.build()
    unpickled: list[bytes] = []
    real_loads = pickle.loads

    def counting(data: bytes, *args: Any, **kwargs: Any) -> Any:
        found = real_loads(data, *args, **kwargs)
        if type(found).__name__ == "SmsMessage":
            unpickled.append(data)
        return found

    monkeypatch.setattr(pickle, "loads", counting)
    site.story("s01", "s-01", slug="s-01", date=dt.date(2025, 1, 2), title="改过的标题",
               summary="第1位民警的事迹摘要。", body="第1篇的正文，只在这篇里的词语甲乙01丙丁。")
    site.build(workers=1)
    assert unpickled == []
    site.story("s02", "s-02", slug="s-02", date=dt.date(2025, 1, 3), summary="第2位民警新的事迹摘要。",
               body="第2篇改过的正文。")
    site.build(workers=1)
    assert len(unpickled) == 5
    assert tree(site.out) == clean_build(site, tmp_path)

    cache, notice = BuildCache.load(cache_path(site.out))
    assert notice is None and len(cache.sms) == 5
    for key, (data, found, made_from) in list(cache.sms.items()):
        cache.sms[key] = (data[: len(data) // 2], found, made_from)  # cut short: it cannot be read back
    for part in cache._main.data.values():  # (every entry kept in the file written whole)
        part.used |= set(part)
    cache._main.rewrite = True
    cache.save()
    site.story("s03", "s-03", slug="s-03", date=dt.date(2025, 1, 4), summary="第3位民警新的事迹摘要。",
               body="第3篇改过的正文。")
    site.build(workers=1)
    assert tree(site.out) == clean_build(site, tmp_path)
    assert "第3位民警新的事迹摘要" in (site.out / "sms" / "all.csv").read_text(encoding="utf-8-sig")


def test_the_bodies_file_removed_while_a_build_runs_costs_the_next_build_nothing(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Removed before the cache is saved, the file is made again with this build's bodies only: the
    stories whose bodies went with it are forgotten, not kept naming bodies that are gone."""
    from exemplar_site.cache import BuildCache, texts_path

    _stories_with_bodies(site, 8)
    _story_theme(site, "原来的标题")
    site.build()
    real = BuildCache.save

    def save(self: BuildCache, scrub: Any = None) -> None:
        texts_path(cache_path(site.out)).unlink()
        real(self, scrub)

    monkeypatch.setattr(BuildCache, "save", save)
    site.story("s03", "s-03", slug="s-03", date=dt.date(2025, 1, 4), title="改过的标题",
               summary="第3位民警的事迹摘要。", body="第3篇的正文，只在这篇里的词语甲乙03丙丁。")
    site.build()
    monkeypatch.undo()
    _story_theme(site, "新标题")  # (every story page made again: every body asked for)
    site.build()
    assert tree(site.out) == clean_build(site, tmp_path)


def test_an_edition_that_goes_outside_reads_its_bodies_in_one_query(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks of an edition that goes outside read every body (gate.finish): held back by the
    cache, they are read together, not one query a story."""
    site = make_site(tmp_path / "site", editions={"internet": {
        "base_url": "https://www.test.gov.cn", "base_path": "/xj/", "output_dir": "public-net", "external": True}},
        feeds={"guid_prefix": "tag:test.gov.cn,2025:"})
    cleared = {"approved_by": "市局宣传处", "date": dt.date(2026, 3, 1)}
    for i in range(12):
        site.story(f"s{i:02d}", f"s-{i:02d}", slug=f"s-{i:02d}", date=dt.date(2025, 1, 1 + i), external=cleared,
                   body=f"第{i}篇的正文。")
    net = BuildOptions(now=NOW, edition="internet")
    build_site(site.config, net)
    reads = _body_reads(monkeypatch)
    site.story("s05", "s-05", slug="s-05", date=dt.date(2025, 1, 6), external=cleared, title="改过的标题",
               body="第5篇的正文。")
    build_site(site.config, net)
    queries = [len(keys or ()) for keys in reads]
    assert queries and queries[0] >= 11 and len(queries) <= 2


def test_a_story_held_back_without_a_reader_is_an_error_not_an_empty_body(site: Site) -> None:
    """A template reads a missing attribute as empty (Jinja): a body held back with no reader must
    raise, and a copy of a story (media joins images into a copy's body) never keeps the key of
    the body it was read with."""
    import copy

    import jinja2.sandbox

    from exemplar_site.cache import BuildCache
    from exemplar_site.model import BodyUnavailable

    _stories_with_bodies(site, 2)
    site.build()
    cache, notice = BuildCache.load(cache_path(site.out))
    assert notice is None
    copied, story = (v[1] if isinstance(v, tuple) else v for v in cache.stories.values())
    assert "body_html" not in story.__dict__ and "_text" in story.__dict__
    shown = copy.copy(copied)
    assert "_text" not in shown.__dict__ and "只在这篇里的词语" in shown.__dict__["body_html"]
    object.__delattr__(story, "_fetch")
    for env in (jinja2.Environment(), jinja2.sandbox.SandboxedEnvironment()):
        with pytest.raises(BodyUnavailable):
            env.from_string("{{ s.body_html }}").render(s=story)
    with pytest.raises(AttributeError):
        story.no_such_field  # noqa: B018


def test_the_index_shape_changes_with_every_neighbour_and_related_story(site: Site) -> None:
    """The index's shape (what a page key reuses across builds) takes its id → story and id →
    stories dicts in bulk: moving one story anywhere in them, dropping or adding one, or naming a
    story outside the index changes it, as the entry-by-entry walk it replaces did."""
    import dataclasses

    from exemplar_site.feedspec import feed_specs
    from exemplar_site.incremental import index_shape
    from exemplar_site.pipeline import load_site

    for n in range(6):
        site.story(f"s{n}", f"s-{n}", date=dt.date(2026, 3, n + 1), tags=["社区"])
    loaded = load_site(site.config, BuildOptions(now=NOW, cache=False))
    index, specs = loaded.index, feed_specs(loaded.index, loaded.config)
    a, b, c = index.stories[:3]
    outsider = dataclasses.replace(a, id="outside")  # (equal fields, another object: not in the index)
    assert index.related[a.id] and index.previous[a.id] is not None and None in index.previous.values()
    first, second = list(index.related)[:2]  # (stories in the same order, one entry's end moved)
    shape = index_shape(index, specs)
    assert index_shape(dataclasses.replace(index), specs) == shape
    changed: dict[str, Any] = {
        "related, one story moved": {**index.related, a.id: index.related[a.id][::-1]},
        "related, one story dropped": {**index.related, a.id: index.related[a.id][:-1]},
        "related, one moved to the next entry": {**index.related, first: index.related[first][:-1],
                                                 second: (index.related[first][-1], *index.related[second])},
        "related, a story outside": {**index.related, a.id: (outsider,)},
        "related, the entries in another order": dict(reversed(index.related.items())),
        "previous, two swapped": {**index.previous, a.id: index.previous[b.id], b.id: index.previous[a.id]},
        "previous, one gone": {**index.previous, a.id: None},
        "previous, a story outside": {**index.previous, a.id: outsider},
        "previous, one more": {**index.previous, "more": c},
    }
    shapes = {shape}
    for what, value in changed.items():
        field = what.split(",")[0]
        replaced: Any = dataclasses.replace
        other = index_shape(replaced(index, **{field: value}), specs)
        assert other not in shapes, what
        shapes.add(other)


def test_corrupted_feed_entries_are_discarded_with_a_notice(site: Site, tmp_path: Path) -> None:
    """A torn file is discarded with a notice; a value whose checksum holds but that does not
    unpack (written by something else) is made again."""
    from exemplar_site.cache import _sealed, feeds_path

    for i in range(3):
        site.story(f"s{i}", f"s-{i}", date=dt.date(2025, 1, 1 + i), body=f"第{i}篇的正文。")
    site.build()
    entries = feeds_path(cache_path(site.out))
    entries.write_bytes(entries.read_bytes()[: entries.stat().st_size // 2])
    site.story("s1", "s-1", date=dt.date(2025, 1, 2), body="第1篇改过的正文。")
    report = site.build()
    assert [w.path for w in report.warnings if "build cache unreadable" in w.message] == [str(entries)]
    assert tree(site.out) == clean_build(site, tmp_path)
    assert not site.build().warnings
    with contextlib.closing(sqlite3.connect(entries)) as db, db:
        for (key,) in db.execute("SELECT key FROM entries").fetchall():
            db.execute("UPDATE entries SET value = ? WHERE key = ?", (_sealed(key, b"not an entry"), key))
    site.story("s2", "s-2", date=dt.date(2025, 1, 3), body="第2篇改过的正文。")
    site.build()
    assert tree(site.out) == clean_build(site, tmp_path)


def test_renderings_are_written_and_let_go_of_before_any_page_is_rendered(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold build held every story's front matter and rendering (needed only to read and publish
    stories) until its very end, through the page rendering: a tenth of its peak memory. They are
    written beside the output as soon as the stories are published, and dropped."""
    import exemplar_site.pipeline as pipeline
    for i in range(4):
        site.story(f"s{i}", f"s-{i}", slug=f"s-{i}", body=f"第{i}篇的正文。")
    seen: list[tuple[bool, int, bool]] = []
    real = pipeline.site_jobs

    def jobs(loaded: Any, problems: Any, layer: Any = None) -> Any:
        assert layer is not None
        held = sum(len(part) for part in layer.cache._lazy.store.data.values())
        with lazy_path(cache_path(site.out)).open("rb") as f:
            head = pickle.load(f)
            parts = {name: pickle.load(f) for name in head["parts"]}
        bodies = [r.html for r in parts["bodies"].values()]
        seen.append((layer.cache._lazy.loaded, held, all(any(f"第{i}篇的正文" in b for b in bodies)
                                                         for i in range(4))))
        return real(loaded, problems, layer)

    monkeypatch.setattr(pipeline, "site_jobs", jobs)
    site.build()
    assert seen == [(False, 0, True)]
    monkeypatch.undo()
    site.story("s1", "s-1", slug="s-1", body="第1篇改过的正文。")
    site.build()
    assert "第1篇改过的正文" in site.text_of("stories/s-1/index.html")
    assert tree(site.out) == clean_build(site, tmp_path)


def test_search_tokens_are_written_and_let_go_of_before_any_page_is_rendered(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every search document's tokens are needed only to make the search index (~40 MB at 10,000
    stories): written beside the output once it is made, and dropped before the pages are rendered.
    The next build reads them back and makes only the edited story's again."""
    import exemplar_site.incremental as incremental
    import exemplar_site.pipeline as pipeline
    from exemplar_site.cache import BuildCache, _Table, search_path

    for i in range(4):
        site.story(f"s{i}", f"s-{i}", slug=f"s-{i}", body=f"第{i}篇的正文，讲述守护平安的故事。")
    caches: list[BuildCache] = []
    real_save = BuildCache.save_search

    def save_search(self: BuildCache) -> None:
        caches.append(self)
        real_save(self)

    seen: list[tuple[int, int]] = []
    from exemplar_site.parallel import run_map as real_map  # (what pipeline.run_map is)

    def run_map(*args: Any, **kwargs: Any) -> Any:  # (the pages: the only map of the pipeline module)
        with contextlib.closing(sqlite3.connect(search_path(cache_path(site.out)))) as db:
            (stored,) = db.execute("SELECT count(*) FROM entries").fetchone()
        seen.append((len(caches[-1]._search.held), stored))
        return real_map(*args, **kwargs)

    monkeypatch.setattr(BuildCache, "save_search", save_search)
    monkeypatch.setattr(pipeline, "run_map", run_map)
    site.build()
    assert len(seen) == 1 and seen[0][0] == 0 and seen[0][1] >= 4, seen
    monkeypatch.undo()
    made: list[Any] = []
    from exemplar_site.search import doc_tokens as real_tokens  # (what incremental.doc_tokens is)

    def tokens(doc: Any) -> Any:
        made.append(doc)
        return real_tokens(doc)

    monkeypatch.setattr(incremental, "doc_tokens", tokens)
    read: list[int | None] = []  # how many entries each read of the file asked for
    real_read = _Table._read

    def reading(self: _Table, keys: list[str] | None, values: bool = True) -> Any:
        if self.path == search_path(cache_path(site.out)):  # (not the feeds' entries)
            read.append(None if keys is None else len(keys))
        return real_read(self, keys, values)

    monkeypatch.setattr(_Table, "_read", reading)
    site.story("s1", "s-1", slug="s-1", body="第1篇改过的正文，讲述见义勇为的故事。")
    site.build()
    assert [doc.url for doc in made] == ["stories/s-1/"]
    # the edited story's old tokens, its new ones (not found), the one shard (of this small site) they change
    assert read == [1, 1, 1]
    assert tree(site.out) == clean_build(site, tmp_path)


def _stored_tokens(site: Site) -> set[str]:
    from exemplar_site.cache import search_path

    with contextlib.closing(sqlite3.connect(search_path(cache_path(site.out)))) as db:
        return {k for (k,) in db.execute("SELECT key FROM entries")}


def test_the_preview_reads_the_search_tokens_without_changing_the_file(tmp_path: Path) -> None:
    """Read only (the preview server starting from the last build's cache), in a folder whose name
    a URI must escape: every stored entry is read, and the file is left as it was."""
    from exemplar_site.cache import BuildCache, search_path

    site = make_site(tmp_path / "预览 #1?x=%20")
    for i in range(3):
        site.story(f"s{i}", f"s-{i}", body=f"第{i}篇的正文。")
    site.build()
    stored = _stored_tokens(site)
    before = search_path(cache_path(site.out)).read_bytes()
    cache, notice = BuildCache.load(cache_path(site.out), read_only=True)
    assert notice is None
    assert set(cache.search_entries(stored)) == stored == cache.search_has([*stored, "other"]) and len(stored) >= 3
    cache.put_search_entries({"new": ("新", b"\x01")})
    cache.save()
    assert search_path(cache_path(site.out)).read_bytes() == before


def test_search_tokens_of_old_versions_do_not_pile_up(site: Site, tmp_path: Path) -> None:
    """Each edit stores the edited document's new tokens; the old ones go once they pass a quarter
    of the file, so the file does not grow with the number of edits."""
    for i in range(8):
        site.story(f"s{i}", f"s-{i}", slug=f"s-{i}", body=f"第{i}篇的正文，讲述守护平安的故事。")
    site.build()
    docs = len(_stored_tokens(site))
    for n in range(12):
        site.story("s1", "s-1", slug="s-1", body=f"第1篇第{n}次改过的正文。")
        site.build()
        assert len(_stored_tokens(site)) <= docs + docs // 4 + 1
    assert tree(site.out) == clean_build(site, tmp_path)


def test_search_tokens_of_another_version_are_discarded_with_a_notice(site: Site, tmp_path: Path) -> None:
    from exemplar_site.cache import search_path

    for i in range(3):
        site.story(f"s{i}", f"s-{i}", body=f"第{i}篇的正文。")
    site.build()
    tokens = search_path(cache_path(site.out))
    with contextlib.closing(sqlite3.connect(tokens)) as db, db:
        db.execute("UPDATE meta SET value = 'an older program' WHERE key = 'version'")
        db.execute("UPDATE entries SET value = ?", (pickle.dumps(("假的词", b"\x01")),))
    site.story("s1", "s-1", body="第1篇改过的正文。")
    report = site.build()
    assert [w.path for w in report.warnings if "another version" in w.message] == [str(tokens)]
    assert tree(site.out) == clean_build(site, tmp_path)
    assert not site.build().warnings


def test_a_build_killed_while_storing_search_tokens_leaves_them_as_they_were(site: Site, tmp_path: Path) -> None:
    """Killed in the middle of writing the tokens' file (its pages half written, SQLite's rollback
    journal beside it), the next build finds the file as it was before and builds what a clean
    build does."""
    import subprocess
    import sys
    import textwrap

    from exemplar_site.cache import BuildCache, search_path

    for i in range(40):
        site.story(f"s{i}", f"s-{i}", slug=f"s-{i}", body=f"第{i}篇的正文，讲述守护平安的故事。" * 20)
    site.build()
    before = _stored_tokens(site)
    for i in range(40):
        site.story(f"s{i}", f"s-{i}", slug=f"s-{i}", body=f"第{i}篇改过的正文，讲述见义勇为的故事。" * 20)
    killed = textwrap.dedent(f"""
        import os, sys
        from exemplar_site import cache
        from exemplar_site.cli import main
        real_update, real_rows = cache._Table._update, cache._Table._rows

        def update(self, db):
            db.execute("PRAGMA cache_size = 1")  # (pages written to the file before the commit)
            real_update(self, db)

        def rows(self):
            for n, row in enumerate(real_rows(self)):
                if n == 30:
                    os._exit(9)  # (as a kill: nothing cleaned up)
                yield row

        cache._Table._update, cache._Table._rows = update, rows
        sys.exit(main(["build", "--config", {str(site.config)!r}, "--now", "2026-11-24 10:00", "--jobs", "1"]))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", killed], check=False, env=env, capture_output=True, timeout=300)
    assert done.returncode == 9, done.stderr.decode()
    tokens = search_path(cache_path(site.out))
    journal = tokens.with_name(tokens.name + "-journal")
    assert journal.exists()  # (the case this test is about)
    left = (tokens.read_bytes(), journal.read_bytes())
    # the preview, read only, can neither roll it back nor trust it: a notice, both files left as they are
    preview, _ = BuildCache.load(cache_path(site.out), read_only=True)
    assert preview.search_entries(before) == {}
    assert [n.path for n in preview.take_notices()] == [str(tokens)]
    assert (tokens.read_bytes(), journal.read_bytes()) == left
    # rolled back (in a copy), the file holds what it held before the killed build
    copy = tmp_path / "copy" / tokens.name
    copy.parent.mkdir()
    shutil.copy(tokens, copy)
    shutil.copy(journal, copy.with_name(journal.name))
    with contextlib.closing(sqlite3.connect(copy)) as db:
        assert {k for (k,) in db.execute("SELECT key FROM entries")} == before
    report = site.build()
    assert not [w for w in report.warnings if "cache" in w.message], report.warnings
    assert not tokens.with_name(tokens.name + "-journal").exists()
    assert len(_stored_tokens(site)) == len(before)  # (rolled back, the new tokens added, the old dropped)
    assert tree(site.out) == clean_build(site, tmp_path)


def test_renderings_that_cannot_be_written_are_a_warning_and_the_next_build_runs(site: Site) -> None:
    site.story("a", "a-1", slug="a-1")
    bodies = lazy_path(cache_path(site.out))
    bodies.mkdir(parents=True)  # (no file can be written where it goes, nor its journal beside it)
    bodies.with_name(bodies.name + ".journal").mkdir()
    report = site.build()
    assert (site.out / "stories" / "a-1" / "index.html").exists()
    assert any(w.path == str(cache_path(site.out)) for w in report.warnings), report.warnings
    assert not state_path(site.out).exists()  # (the next build is never skipped as "nothing changed")


def test_unchanged_files_are_not_read_again(site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(5):
        site.story(f"s{i}", f"s-{i}", title=f"标题{i}")
    site.build()
    site.story("s2", "s-2", title="新的标题")
    import exemplar_site.sources as sources
    read: list[str] = []
    real = sources._read

    def reading(path: str, *rest: Any) -> Any:
        read.append(os.path.basename(path))
        return real(path, *rest)

    monkeypatch.setattr(sources, "_read", reading)
    site.build()
    assert [n for n in read if n.startswith("s")] == ["s2.md"]
    monkeypatch.undo()
    assert tree(site.out) == clean_build(site, tmp_path)


def test_cache_is_safe_to_delete(site: Site, tmp_path: Path) -> None:
    site.story("a", "a-1")
    site.build()
    cache_path(site.out).unlink()
    site.story("b", "b-1")
    site.build()
    assert tree(site.out) == clean_build(site, tmp_path)


def test_parallel_cold_build_equals_serial(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s")
    for i in range(80):  # enough work for the process pool to be used
        site.story(f"s{i}", f"s-{i}", slug=f"p-{i}", date=dt.date(2025, 1, 1) + dt.timedelta(days=3 * i),
                   tags=[f"标签{i % 7}"], unit=["n1", "n2", "s1", "traffic"][i % 4])
    one, two = tmp_path / "serial", tmp_path / "parallel"
    build_site(site.config, BuildOptions(now=NOW, output=one, cache=False, workers=1))
    build_site(site.config, BuildOptions(now=NOW, output=two, cache=False, workers=2))
    assert tree(one) == tree(two)


def test_tags_keyed_in_the_reading_workers_as_in_one_process_and_pinyin_stays_out_of_the_main_one(
        tmp_path: Path) -> None:
    """A cold build reads its stories in workers, which also make each tag's pinyin for the gate:
    the tag addresses (look-alike tags whose pinyin collides included) are those of a build in one
    process, and the main process never loads pypinyin's dictionaries (~50 MB that every page
    worker forked afterwards would share)."""
    import subprocess
    import sys

    site = make_site(tmp_path / "s")
    tags = ["公安", "攻按", "社区民警", "交通安全"]  # 公安 and 攻按 are both gong-an
    for i in range(220):  # enough files for the reading to be spread over workers
        site.story(f"s{i}", f"s-{i}", slug=f"p-{i}", date=dt.date(2025, 1, 1) + dt.timedelta(days=i),
                   tags=[tags[i % 4], tags[(i + 1) % 4]])
    one, two = tmp_path / "serial", tmp_path / "parallel"
    build_site(site.config, BuildOptions(now=NOW, output=one, cache=False, workers=1))
    probe = ("import sys, datetime as dt; from exemplar_site.pipeline import BuildOptions, build_site; "
             f"build_site(sys.argv[1], BuildOptions(now=dt.datetime.fromisoformat({NOW.isoformat()!r}), "
             "output=sys.argv[2], workers=2)); print('PINYIN', 'pypinyin' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe, str(site.config), str(two)], capture_output=True,
                          text=True, timeout=300, check=True)
    assert "PINYIN False" in done.stdout, done.stdout + done.stderr
    assert tree(one) == tree(two)
    assert (two / "tags/gong-an/index.html").exists() and (two / "tags/gong-an-2/index.html").exists()


def test_a_cold_build_reads_its_files_in_the_workers_with_the_same_errors_warnings_and_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files the cache has never seen (all of a cold build's) are read by the workers that validate
    them, not by the main process; a file that cannot be read, one that is not UTF-8 and one with
    characters XML forbids are reported exactly as in one process, the build refuses, and once they
    are fixed the warning of the one read with a problem is given again by the next build, which
    knows that file by its size and times (as when the main process read it). Said once: the
    rendering, which reads the body again, says nothing of what the validation said."""
    from exemplar_site import incremental, parallel, sources
    from exemplar_site.errors import BuildFailed

    site = make_site(tmp_path / "s")
    for i in range(210):  # enough files for the reading to be spread over workers
        site.story(f"s{i}", f"s-{i}", slug=f"p-{i}", date=dt.date(2025, 1, 1) + dt.timedelta(days=i))
    site.write("content/stories/s3.md", site.story("s3", "s-3", slug="p-3").read_text(encoding="utf-8")
               .replace("title:", "title: 含\x01控制符", 1))
    (site.root / "content/stories/s4.md").write_bytes("---\ntitle: 国标\n---\n正文".encode("gbk"))
    (site.root / "content/stories/s5.md").write_bytes(b"x" * (1024 * 1024 + 1))
    readers = tmp_path / "readers.txt"
    real = sources.read_entry

    def spy(entry: Any, problems: Any) -> Any:
        with readers.open("a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {entry.path}\n")
        return real(entry, problems)

    monkeypatch.setattr(incremental, "read_entry", spy)
    failed, read_by = {}, {}
    for workers in (1, 2):
        readers.write_text("", encoding="utf-8")
        with pytest.raises(BuildFailed) as caught:
            site.build(output=tmp_path / f"out{workers}", workers=workers)
        failed[workers] = [p.format() for p in caught.value.problems]
        read_by[workers] = [line.split() for line in readers.read_text(encoding="utf-8").splitlines()]
    assert failed[1] == failed[2]
    assert any("s4.md:2" in line and "UTF-8" in line for line in failed[2])
    assert any("s5.md" in line and "MB" in line for line in failed[2])
    assert any("s3.md" in line and not line.startswith("错误") for line in failed[2]), failed[2]
    assert len(read_by[1]) == 210 and {pid for pid, _ in read_by[1]} == {str(os.getpid())}
    assert str(os.getpid()) not in {pid for pid, _ in read_by[2]}  # read in the workers only
    if parallel.start_method() == "fork":  # (spawned workers do not run this test's spy)
        assert sorted(path for _, path in read_by[2]) == sorted(path for _, path in read_by[1])
    site.story("s4", "s-4", slug="p-4")
    site.story("s5", "s-5", slug="p-5")
    first = site.build(output=tmp_path / "out2", workers=2)
    readers.write_text("", encoding="utf-8")
    again = site.build(output=tmp_path / "out2", workers=2)  # (nothing changed: skipped, its report given)
    site.story("s6", "s-6", slug="p-6", title="改过")  # (one edit: a build that reads only that file)
    edited = site.build(output=tmp_path / "out2", workers=2)
    assert readers.read_text(encoding="utf-8").split()[1::2] == ["content/stories/s6.md"]
    said = [[w.format() for w in report.warnings if "s3.md" in w.path] for report in (first, again, edited)]
    assert len(said[0]) == 1 and said[0] == said[1] == said[2]  # (once: the bodies read again say nothing)
    assert tree(tmp_path / "out2") == clean_build(site, tmp_path)


def test_cache_journal_grows_then_compacts_and_a_torn_journal_is_discarded(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s")
    for i in range(12):
        site.story(f"s{i}", f"s-{i}", slug=f"j-{i}")
    site.build()
    journal = cache_path(site.out).with_name(cache_path(site.out).name + ".journal")
    site.story("s1", "s-1", slug="j-1", title="小改动")
    site.build()
    assert journal.exists()  # a small change is appended, not a rewrite of the whole cache
    assert tree(site.out) == clean_build(site, tmp_path)
    data = journal.read_bytes()
    journal.write_bytes(data[: len(data) // 2])  # a build killed while appending
    site.story("s2", "s-2", slug="j-2", title="又一个改动")
    report = site.build()
    assert any("build cache unreadable" in w.message for w in report.warnings)
    assert tree(site.out) == clean_build(site, tmp_path)
    assert not journal.exists()  # the discarded cache was rewritten whole
    for i in range(8):  # many edits: the journal is folded back into the base
        site.story(f"s{i}", f"s-{i}", slug=f"j-{i}", title=f"第{i}轮")
        site.build()
    assert tree(site.out) == clean_build(site, tmp_path)


def test_a_cache_store_saved_and_loaded_again_holds_what_was_stored_however_it_was_stored(tmp_path: Path) -> None:
    """The main cache file appends to its journal only the entries stored since it was loaded or
    saved (Tracked.changed), not a comparison of every entry with the file: over many rounds of
    stores by item, setdefault, update and |=, removals by del and pop, and saves that append or
    rewrite, each store loaded again holds exactly what the one before held (what it used)."""
    from exemplar_site.cache import _Store

    rng = random.Random(26)
    path = tmp_path / "c.cache"
    model: dict[str, dict[int, tuple[int, int]]] = {"a": {}, "b": {}}
    appended = rewritten = 0
    for rnd in range(120):
        store = _Store(path, ("a", "b"))
        assert store.load() is None
        for name in ("a", "b"):
            assert dict(store.data[name]) == model[name], rnd
        for _ in range(rng.choice([0, 1, 3, 40])):
            name, key = rng.choice("ab"), rng.randrange(200)
            part = store.data[name]
            how = rng.randrange(6)
            if how == 0:
                part[key] = (rnd, key)
            elif how == 1:
                part.setdefault(key, (rnd, -key))
            elif how == 2:
                part.update({key: (rnd, key + 1)})
            elif how == 3:
                part |= {key: (rnd, key + 2)}
            elif how == 4 and key in part:
                del part[key]
            elif how == 5:
                part.pop(key, None)
            model[name] = dict(part)
        for name in ("a", "b"):  # (everything counts as used: a compaction keeps it all)
            store.data[name].used |= set(store.data[name])
        journal_before = store.journal.stat().st_size if store.journal.exists() else 0
        store.save()
        journal_after = store.journal.stat().st_size if store.journal.exists() else 0
        appended += journal_after > journal_before
        rewritten += journal_after == 0
    assert appended > 10 and rewritten > 10  # (both ways of saving were taken)


# ---- keys cannot go stale (issue 12): a theme may print any field of anything it receives ----------

GREEDY_LIST = ('{% extends "default/list.html" %}{% block content %}{{ super() }}'
               '<p class="probe">{% if term and term.campaign %}{{ term.campaign.summary }}|'
               '{{ term.campaign.body_html }}{% endif %}'
               '{% if term %}{% for s in term.stories %}{{ s.title }}/{{ s.summary }};{% endfor %}{% endif %}</p>'
               '{% endblock %}')
GREEDY_HOME = ('{% extends "default/home.html" %}{% block content %}{{ super() }}'
               '<p class="probe">{% for t in fields %}{{ t.name }}:{% for s in t.stories %}{{ s.name }},'
               '{% endfor %}{% endfor %}</p>{% endblock %}')
GREEDY_STORY = ('{% extends "default/story.html" %}{% block content %}{{ super() }}'
                '<p class="probe">{% for c in campaigns %}{{ c.campaign.decision }}:'
                '{% for s in c.stories %}{{ s.title }},{% endfor %}{% endfor %}</p>{% endblock %}')


def _greedy_theme(site: Site) -> None:
    templates = site.root / "themes/greedy/templates"
    templates.mkdir(parents=True, exist_ok=True)
    (templates / "list.html").write_text(GREEDY_LIST, encoding="utf-8")
    (templates / "home.html").write_text(GREEDY_HOME, encoding="utf-8")
    (templates / "story.html").write_text(GREEDY_STORY, encoding="utf-8")
    site.config.write_text(site.config.read_text(encoding="utf-8") + "theme: greedy\n", encoding="utf-8")


def test_a_campaign_summary_edit_reaches_a_theme_that_prints_it(tmp_path: Path) -> None:
    """The reproduction in issue 12: 0 files rendered, the page kept the old summary."""
    site = make_site(tmp_path / "s", home_latest=1)
    _greedy_theme(site)
    for i in range(5):
        site.story(f"s{i}", f"s-{i}", slug=f"p-{i}", date=dt.date(2026, 1, 1 + i), campaigns=["c"])
    campaign = "---\ntitle: 活动\nsummary: {}\ndate: 2026-01-01\n---\n说明。\n"
    site.write("content/campaigns/c.md", campaign.format("第一版摘要"))
    site.build()
    site.write("content/campaigns/c.md", campaign.format("第二版摘要"))
    report = site.build()
    assert "第二版摘要" in site.text_of("campaigns/c/index.html")
    assert report.rendered > 0
    assert tree(site.out) == clean_build(site, tmp_path)


def test_a_story_edit_reaches_every_page_that_read_it_through_a_term(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s", home_latest=1, page_size=2)
    _greedy_theme(site)
    for i in range(7):
        site.story(f"s{i}", f"s-{i}", slug=f"p-{i}", date=dt.date(2026, 1, 1 + i), campaigns=["c"])
    site.write("content/campaigns/c.md", "---\ntitle: 活动\ndate: 2026-01-01\n---\n说明。\n")
    site.build()
    # the oldest story: on no home card, on the last listing page only, but in every probe
    site.story("s0", "s-0", slug="p-0", date=dt.date(2026, 1, 1), campaigns=["c"], title="改过的标题",
               name="改过的名字")
    report = site.build()
    assert "改过的名字" in site.text_of("index.html")
    assert "改过的标题" in site.text_of("stories/p-6/index.html")
    assert "改过的标题" in site.text_of("fields/shequ/index.html")
    assert tree(site.out) == clean_build(site, tmp_path)
    # pages that only count a term's stories are not re-rendered by an edit
    again = site.build()
    assert again.rendered == 0 and report.rendered < len(tree(site.out))


def test_an_upgraded_library_means_nothing_cached_is_reused(site: Site, tmp_path: Path) -> None:
    """Simulates a new Python-Markdown: the code version (part of every key and of the cache's
    version) names the versions of the libraries that render."""
    import subprocess
    import sys

    from exemplar_site.jobs import CODE_VERSION, LIBRARIES, library_versions

    assert all(f"{name}=" in library_versions() for name in LIBRARIES)
    site.story("a", "a-1")
    site.build()
    newer = tmp_path / "newer"  # a Markdown 99.0 installed where Python looks first
    (newer / "markdown-99.0.dist-info").mkdir(parents=True)
    (newer / "markdown-99.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: Markdown\n"
                                                                "Version: 99.0\n")
    fake = (f"import sys; sys.path.insert(0, {str(newer)!r})\n"
            "from exemplar_site.jobs import CODE_VERSION; print(CODE_VERSION)\n"
            "from exemplar_site.cli import main\n"
            f"raise SystemExit(main(['build', '--config', {str(site.config)!r}, '--now', '2026-11-24']))\n")
    done = subprocess.run([sys.executable, "-c", fake], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] != CODE_VERSION
    assert "cache left by another version" in done.stderr + done.stdout
    assert not re.search(r"(?<!\d)0 rendered", done.stdout)  # (not "40 rendered")


def test_a_new_site_address_reaches_every_page_even_one_whose_template_printed_it_when_compiled(
        site: Site, tmp_path: Path) -> None:
    """Jinja's optimiser works out a filter given a constant when it compiles a template: the home
    page's `{{ '' | abs }}` is the site's address, written into the compiled code. The compiled
    templates kept in the cache are kept by the config too: after a new address, no page keeps the
    old one (the home page's canonical link did)."""
    site.story("a", "a-1")
    site.build()
    text = site.config.read_text(encoding="utf-8")
    site.config.write_text(text.replace("http://test.example", "http://new.example").replace("/pub/", "/pub2/"),
                           encoding="utf-8")
    site.build()
    assert '<link rel="canonical" href="http://new.example/pub2/">' in site.text_of("index.html")
    assert not [p for p, data in tree(site.out).items() if b"test.example" in data]
    assert tree(site.out) == clean_build(site, tmp_path)


def test_random_edits_of_every_kind_of_input_match_clean_builds(tmp_path: Path) -> None:
    """Stories, campaigns, pages, site_config.yaml and a theme that prints any field it gets."""
    site = make_site(tmp_path / "s", page_size=2, home_latest=2)
    _greedy_theme(site)
    rng = random.Random(20261129)
    for i in range(9):
        site.story(f"s{i}", f"s-{i}", slug=f"slug-{i}", date=dt.date(2026, 1 + i % 9, 1 + i),
                   tags=[rng.choice(["甲", "乙"])], campaigns=["c"] if i % 3 == 0 else [],
                   unit=rng.choice(["n1", "n2", "s1"]))
    campaign = "---\ntitle: {t}\nsummary: {s}\ndate: 2026-01-01\ndecision: {d}\nexemplars: [s-1]\n---\n{b}\n"
    page = "---\ntitle: {t}\nmenu: {m}\n---\n{b}\n"
    site.write("content/campaigns/c.md", campaign.format(t="活动", s="摘要", d="决定1号", b="说明。"))
    site.write("content/pages/about.md", page.format(t="关于", m=1, b="关于本站。"))
    config_text = site.config.read_text(encoding="utf-8")
    for step in range(16):
        op = rng.choice(["story", "campaign", "page", "config", "theme", "story"])
        if op == "story":
            i = rng.randrange(9)
            site.story(f"s{i}", f"s-{i}", slug=f"slug-{i}", title=f"第{step}次的标题{i}", name=f"名字{step}",
                       date=dt.date(2026, 1 + i % 9, 1 + i), summary=f"第{step}次的摘要",
                       tags=[rng.choice(["甲", "乙", "丙"])], campaigns=["c"] if rng.random() < 0.5 else [])
        elif op == "campaign":
            site.write("content/campaigns/c.md", campaign.format(t=f"活动{step}", s=f"摘要{step}", d=f"决定{step}号",
                                                                 b=f"说明{step}。"))
        elif op == "page":
            site.write("content/pages/about.md", page.format(t=f"关于{step}", m=rng.choice([1, 2]), b=f"正文{step}。"))
        elif op == "config":
            text = config_text.replace("title: 测试先进典型", f"title: 测试先进典型{step}")
            text = text.replace("http://test.example", rng.choice(["http://test.example", "http://other.example"]))
            site.config.write_text(text.replace("page_size: 2", f"page_size: {rng.choice([2, 3])}"),
                                   encoding="utf-8")
        elif op == "theme":
            probe = rng.choice(["{{ s.summary }}", "{{ s.name }}{{ s.unit.name }}", "{{ s.date }}"])
            (site.root / "themes/greedy/templates/list.html").write_text(
                GREEDY_LIST.replace("{{ s.title }}/{{ s.summary }}", probe), encoding="utf-8")
        site.build()
        assert tree(site.out) == clean_build(site, tmp_path), f"step {step}: {op}"


def test_what_pages_read_is_kept_between_builds(tmp_path: Path) -> None:
    """The story lists each page read are stored with the cache (and survive its compaction), so an
    edit re-renders the same pages the first time after a cold build as the tenth time."""
    site = make_site(tmp_path / "s", home_latest=1, page_size=2)
    _greedy_theme(site)
    for i in range(9):
        site.story(f"s{i}", f"s-{i}", slug=f"p-{i}", date=dt.date(2026, 1, 1 + i))
    site.build()
    counts = []
    for n in range(4):
        site.story("s0", "s-0", slug="p-0", date=dt.date(2026, 1, 1), body=f"第{n}次修改的正文。")
        counts.append(site.build().rendered)
    assert len(set(counts)) == 1, counts
    assert tree(site.out) == clean_build(site, tmp_path)


def test_page_keys_kept_between_builds_are_those_a_clean_computation_gives(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The incremental layer reuses a story page's or listing's key when the index's shape and the
    stories its call holds are unchanged (incremental.Incremental.page_jobs): every key it gives
    must be the key pages.page_jobs computes afresh, whatever the edit, and most are reused."""
    from exemplar_site import incremental
    from exemplar_site.pages import PagePlan

    keyed = []
    real_keyed = PagePlan.keyed

    def counting(plan: PagePlan, call: Any) -> Any:
        keyed.append(call.path)
        return real_keyed(plan, call)

    real = incremental.Incremental.page_jobs

    def checked(layer: Any, plan: PagePlan, index: Any, specs: Any) -> Any:
        keyed.clear()
        jobs = real(layer, plan, index, specs)
        used = len(keyed)
        fresh = [real_keyed(plan, make())[0] for _, make in plan.recipes] + plan.extra
        assert [(j.path, j.key) for j in jobs] == [(j.path, j.key) for j in fresh]
        counts.append((used, len(plan.recipes)))
        return jobs

    monkeypatch.setattr(PagePlan, "keyed", counting)
    monkeypatch.setattr(incremental.Incremental, "page_jobs", checked)
    counts: list[tuple[int, int]] = []
    site = make_site(tmp_path / "s", home_latest=2, page_size=2)
    rng = random.Random(12)
    for i in range(9):
        site.story(f"s{i}", f"s-{i}", slug=f"p-{i}", date=dt.date(2026, 1, 1 + i), tags=[rng.choice("甲乙")])
    site.write("content/campaigns/c.md", "---\ntitle: 活动\ndate: 2026-01-01\nexemplars: [s-1]\n---\n说明。\n")
    site.build()
    edits: list[dict[str, Any]] = [{"title": "新标题"}, {"featured": True}, {"tags": ["丙"]}, {"slug": "moved"},
                                   {"date": dt.date(2026, 2, 1)}, {"name": "新名字"}, {"summary": "新摘要"},
                                   {"exemplar_of": "s-2"}, {"status": "withdrawn"}, {"campaigns": ["c"]}]
    for step, change in enumerate(edits * 2):
        i = rng.randrange(9)
        fields: dict[str, Any] = {"slug": f"p-{i}", "date": dt.date(2026, 1, 1 + i), "tags": [rng.choice("甲乙")]}
        fields.update(change)
        site.story(f"s{i}", f"s-{i}", **fields)
        site.build()
        assert tree(site.out) == clean_build(site, tmp_path), f"step {step}: {change}"
        site.story(f"s{i}", f"s-{i}", slug=f"p-{i}", date=dt.date(2026, 1, 1 + i), title=f"第{step}次")
        site.build()
        assert tree(site.out) == clean_build(site, tmp_path), f"step {step}: title"
    # a title edit keys again only the pages holding that story
    assert any(used < total // 2 for used, total in counts)


def test_the_command_lines_build_runs_without_the_cyclic_collector_and_gives_it_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line's build (cli._collector_off): the collector is off while the build runs
    (forked workers inherit that) and on again after it; the same files either way; the library
    called directly (serve, tests) builds with it on."""
    import gc

    from exemplar_site import pipeline
    from exemplar_site.cli import main

    seen: dict[str, bool] = {}
    outputs = []
    real_build = pipeline.build_site

    def during(_: object, key: str) -> None:
        seen[key] = gc.isenabled()

    def build_from_the_command_line(*args: Any, **kwargs: Any) -> Any:
        kwargs["loaded"] = lambda site: during(site, "True")
        return real_build(*args, **kwargs)

    for one_off in (True, False):
        site = make_site(tmp_path / str(one_off))
        site.story("2026/a", "jc-1")
        assert gc.isenabled()
        try:
            if one_off:
                with monkeypatch.context() as m:
                    m.setattr(pipeline, "build_site", build_from_the_command_line)
                    assert main(["build", "--config", str(site.config), "--now", NOW.isoformat()]) == 0
            else:
                build_site(site.config, BuildOptions(now=NOW), loaded=lambda site: during(site, "False"))
            assert gc.isenabled()
        finally:
            gc.unfreeze()  # (the test process goes on: what the one-off build froze is collectable again)
        outputs.append(site.files())
    assert seen == {"True": False, "False": True}
    assert outputs[0] == outputs[1]


def test_renderings_read_again_after_they_were_let_go_of_are_all_kept(site: Site, tmp_path: Path) -> None:
    """After save_lazy, what the build used of the renderings is no longer known: were they read
    again, the next save must not compact the file down to what was read since."""
    from exemplar_site.cache import BuildCache
    for i in range(4):
        site.story(f"s{i}", f"s-{i}", slug=f"s-{i}")
    site.build()
    cache, _ = BuildCache.load(cache_path(site.out))
    assert len(cache.bodies) == 4
    cache.still_used([], list(cache.bodies))  # (as a build that published the four stories)
    cache.save_lazy()
    cache.put_body("new|x", None)
    first = next(iter(cache.bodies))  # (loaded again: one looked up, the new one stored)
    assert cache.bodies.get(first) is not None
    cache._lazy.store.rewrite = True  # (as a long journal would: the file is compacted)
    cache.save()
    again, _ = BuildCache.load(cache_path(site.out))
    assert len(again.bodies) == 5


def test_library_versions_are_found_as_importlib_metadata_finds_them(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The versions in the code version (versions.installed) are read without importlib.metadata:
    for every installed distribution, and for newer ones placed first on sys.path (a folder with a
    dist-info, an egg-info folder and an egg-info file, a zip, an .egg folder and an .egg zip),
    they are the ones it gives."""
    import sys
    import zipfile
    from importlib import metadata

    from exemplar_site.versions import installed

    first = tmp_path / "first"
    (first / "Markdown-99.1.dist-info").mkdir(parents=True)
    (first / "Markdown-99.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: Markdown\n"
                                                                "Version: 99.1\n\nVersion: 0\n")
    (first / "nh3-0.0.1-py3.11.egg-info").write_text("Metadata-Version: 1.0\nName: nh3\nversion: 0.0.1\n")
    (first / "Jinja2.egg-info").mkdir()
    (first / "Jinja2.egg-info" / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: Jinja2\nVersion: 7.0\n")
    libs = tmp_path / "libs.zip"
    with zipfile.ZipFile(libs, "w") as z:
        z.writestr("feedgen-5.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: feedgen\nVersion: 5.0\n")
    egg = tmp_path / "pyPinyin-9.9-py3.11.egg"  # (setup.py install, buildout: a folder or a zip on sys.path)
    (egg / "EGG-INFO").mkdir(parents=True)
    (egg / "EGG-INFO" / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: pypinyin\nVersion: 9.9\n")
    zipped_egg = tmp_path / "lxml-8.0-py3.11.egg"
    with zipfile.ZipFile(zipped_egg, "w") as z:
        z.writestr("EGG-INFO/PKG-INFO", "Metadata-Version: 1.1\nName: lxml\nVersion: 8.0\n")
    newer = [str(first), str(libs), str(egg), str(zipped_egg), str(tmp_path / "missing.zip")]
    for path in ([*newer, *sys.path], list(sys.path)):
        monkeypatch.setattr(sys, "path", path)
        names = [d.metadata["Name"] for d in metadata.distributions()] + ["no-such-library"]
        for name in dict.fromkeys(names):
            try:
                expected = metadata.version(name)
            except metadata.PackageNotFoundError:
                expected = "-"
            assert installed((name,)) == f"{name}={expected}"
    monkeypatch.setattr(sys, "path", [*newer, *sys.path])
    assert installed(("markdown", "nh3", "jinja2", "feedgen", "pypinyin", "lxml")) == \
        "markdown=99.1,nh3=0.0.1,jinja2=7.0,feedgen=5.0,pypinyin=9.9,lxml=8.0"
    # metadata written by hand, read as the email parser importlib.metadata uses reads it
    odd = [
        "Name: foo\nVersion: 1.0  \n",  # spaces after the value
        "Name: foo\nVersion: 1.0\n .post1\n",  # a folded value
        "Name: foo\n  \nVersion: 1.0\n",  # a line of spaces (a folded line, not the end of the headers)
        "Name: foo\nnot a header\nVersion: 1.0\n",  # the headers end before Version
        "\ufeffName: foo\nVersion: 1.0\n",  # a byte-order mark: no headers at all
        "Name: foo\x0cVersion: 9\nVersion: 1.0\n",  # a form feed does not end a line
        "From x\nName: foo\r\nVERSION:\t2.0\r\n",  # a Unix From line, CRLF, a name in capitals
        "Name: foo\nVersion : 1.0\n",  # not a header
        "Name: foo\n",  # no Version
    ]
    for n, text in enumerate(odd):
        folder = tmp_path / f"odd{n}"
        (folder / "foo-1.0.dist-info").mkdir(parents=True)
        (folder / "foo-1.0.dist-info" / "METADATA").write_text(text, encoding="utf-8", newline="")
        monkeypatch.setattr(sys, "path", [str(folder), *sys.path[1:]] if n else [str(folder), *sys.path])
        assert installed(("foo",)) == f"foo={metadata.version('foo')}", text
