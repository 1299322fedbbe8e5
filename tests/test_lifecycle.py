"""Lifecycle in the public site: scheduling, stale vetting, withdrawal, follow-up stories."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from conftest import NOW, Site
from exemplar_site.cli import format_report


def test_scheduled_story_is_held_until_its_day(site: Site) -> None:
    site.story("s", "s-1", date=dt.datetime(2026, 12, 10, 9, 0), slug="later")
    report = site.build()
    (held,) = report.held
    assert held.until is not None
    assert held.reason == "scheduled" and held.until == dt.datetime(2026, 12, 10, 9, 0, tzinfo=held.until.tzinfo)
    summary = format_report(report, 0.1)
    assert "scheduled for a later date: 1" in summary and "2026-12-10 09:00" in summary
    assert not (site.out / "stories/later").exists()
    report = site.build(now=dt.datetime(2026, 12, 10, 9, 0, tzinfo=NOW.tzinfo))
    assert report.public == 1 and (site.out / "stories/later/index.html").is_file()


def test_stale_vetting_holds_back_at_the_boundary(site: Site) -> None:
    vetted = dt.date(2025, 11, 24)  # 365 days before NOW's date
    site.story("v", "v-1", vetting={"cleared_by": "纪委", "date": vetted, "ref": "1号"})
    assert site.build().public == 1
    report = site.build(now=NOW + dt.timedelta(days=1))
    assert [h.reason for h in report.held] == ["vetting-expired"]
    assert any("366 days old" in w.message for w in report.warnings)


def test_vetting_valid_days_is_configurable(tmp_path: Path) -> None:
    from conftest import make_site
    site = make_site(tmp_path / "s", vetting_valid_days=30)
    site.story("v", "v-1", vetting={"cleared_by": "纪委", "date": dt.date(2026, 10, 1), "ref": "1号"})
    assert [h.reason for h in site.build().held] == ["vetting-expired"]


def test_withdrawal_removes_everything_but_a_neutral_notice(site: Site) -> None:
    site.story("a", "a-1", slug="a-slug", name="李某某", tags=["见义勇为"],
               private={"phone": "13912345678", "notes": "违纪立案"}, sms="李某某的短信。")
    site.story("b", "b-1")
    site.build()
    assert b"a-slug" in (site.out / "sitemap.xml").read_bytes()
    text = (site.root / "content/stories/a.md").read_text(encoding="utf-8")
    site.write("content/stories/a.md", text.replace("status: approved", "status: withdrawn"))
    site.build()
    notice = site.text_of("stories/a-slug/index.html")
    assert "该内容已撤下" in notice and 'content="noindex' in notice
    for secret in ("李某某", "13912345678", "违纪", "a-1", "见义勇为", "测试典型"):
        assert secret not in notice
    for path in site.out.rglob("*"):
        if path.is_file() and path.parent.name != "a-slug":
            data = path.read_bytes()
            assert b"a-slug" not in data and "李某某".encode() not in data, path
    assert not (site.out / "sms/stories/a-1.txt").exists()
    generic = site.text_of("withdrawn.html")
    assert "该内容已撤下" in generic
    nginx_map = (site.root / "public-withdrawn.map").read_text(encoding="utf-8")
    assert "/pub/stories/a-slug/ 1;" in nginx_map and "/pub/stories/a-slug/index.html 1;" in nginx_map


def test_follow_up_stories_show_the_series_in_order(site: Site) -> None:
    site.story("one", "x-1", slug="first", date=dt.date(2024, 5, 1), title="初次报道")
    site.story("two", "x-2", slug="second", date=dt.date(2025, 5, 1), title="再次报道", exemplar_of="x-1")
    site.story("three", "x-3", slug="third", date=dt.date(2026, 5, 1), title="三访", exemplar_of="x-2")
    site.story("other", "o-1", slug="other")
    site.build()
    for slug in ("first", "second", "third"):
        doc = site.html(f"stories/{slug}/index.html")
        items = [" ".join(li.text_content().split()) for li in doc.xpath("//section[@class='series']//li")]
        assert [i.split()[0] for i in items] == ["初次报道", "再次报道", "三访"]
        assert doc.xpath("//section[@class='series']//*[@aria-current='true']")
    assert not site.html("stories/other/index.html").xpath("//section[@class='series']")
