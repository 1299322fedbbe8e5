"""Issue 11: nothing private, unvetted or foreign ever leaves the build.

Each test reproduces a way the build could be made to publish what it must not,
as an attacker or a careless author would, and checks the build refuses.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from conftest import NOW, Site, make_site, story
from exemplar_site.cli import main
from exemplar_site.errors import BuildFailed

SECRET = "SERVER-SECRET-3b7f"


def _all_output_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def _failed(site: Site, **options: object) -> list[str]:
    with pytest.raises(BuildFailed) as info:
        site.build(**options)  # type: ignore[arg-type]
    return [p.format() for p in info.value.problems if p.is_error]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "server"
    secret.mkdir()
    (secret / "passwd.png").write_text(SECRET)
    (secret / "story.md").write_text(story("out-1", body=SECRET), encoding="utf-8")
    return secret


# ---- 1. files from outside the site never get in ---------------------------------------------

def test_symlinked_image_outside_the_site_is_refused(site: Site, outside: Path) -> None:
    os.symlink(outside / "passwd.png", site.root / "content/images/leak.png")
    site.story("a", "a-1", images=[{"src": "images/leak.png", "alt": "x"}])
    errors = _failed(site)
    assert any("content/images/leak.png" in e and "链接" in e for e in errors), errors
    assert not site.out.exists()


def test_symlinked_story_and_folder_outside_are_refused(site: Site, outside: Path) -> None:
    os.symlink(outside / "story.md", site.root / "content/stories/linked.md")
    os.symlink(outside, site.root / "content/stories/folder")
    os.symlink(outside, site.root / "content/media")
    elsewhere = site.root / "archive"  # in the site folder, but not under content/
    elsewhere.mkdir()
    (elsewhere / "x.md").write_text(story("arc-9"), encoding="utf-8")
    os.symlink(elsewhere, site.root / "content/pages/archive")
    site.story("a", "a-1")
    errors = _failed(site)
    joined = "\n".join(errors)
    assert "content/stories/linked.md" in joined
    assert "content/stories/folder" in joined
    assert "content/media" in joined
    assert "content/pages/archive" in joined


def test_symlink_in_theme_is_refused(site: Site, outside: Path) -> None:
    static = site.root / "themes/default/static"
    static.mkdir(parents=True)
    os.symlink(outside / "passwd.png", static / "logo.png")
    templates = site.root / "themes/default/templates"
    templates.mkdir(parents=True)
    os.symlink(outside / "story.md", templates / "extra.html")
    site.story("a", "a-1")
    joined = "\n".join(_failed(site))
    assert "themes/default/static/logo.png" in joined
    assert "themes/default/templates/extra.html" in joined


def test_symlink_loop_and_dangling_link_are_clear_errors(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.story("a", "a-1")
    os.symlink(site.root / "content/stories", site.root / "content/stories/loop")
    os.symlink(site.root / "content/stories/nowhere.md", site.root / "content/stories/dangling.md")
    code = main(["build", "--config", str(site.config), "--now", "2026-11-24"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    assert "content/stories/loop" in err and "content/stories/dangling.md" in err


def test_links_inside_the_site_are_followed_and_their_changes_seen(site: Site) -> None:
    archive = site.root / "content/archive"
    archive.mkdir()
    (archive / "old.md").write_text(story("arc-1", slug="arc-one"), encoding="utf-8")
    os.symlink(archive, site.root / "content/stories/archive")
    site.story("a", "a-1")
    site.build()
    assert (site.out / "stories/arc-one/index.html").exists()
    # withdrawn inside the linked folder: the "nothing changed" shortcut must notice
    (archive / "old.md").write_text(story("arc-1", slug="arc-one", status="withdrawn"), encoding="utf-8")
    report = site.build()
    assert report.public == 1
    assert "测试典型arc-1" not in site.text_of("stories/arc-one/index.html")  # the withdrawal notice
    assert "arc-1" not in site.text_of("feeds/all.rss.xml")


def test_unreadable_and_oversized_files_are_errors(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    from exemplar_site import sources

    site.story("a", "a-1")
    site.story("big", "big-1", body="很长的正文。" * 200_000)
    real = sources._read_bytes

    def refuse(path: str) -> bytes:
        if path.endswith("a.md"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(sources, "_read_bytes", refuse)
    joined = "\n".join(_failed(site))
    assert "content/stories/a.md" in joined and "无法读取" in joined
    assert "content/stories/big.md" in joined and "太大" in joined
