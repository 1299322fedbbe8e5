"""Feeds a newsroom can import (issue 16): withdrawals announced (RFC 6721 tombstones, the
withdrawals feeds, withdrawn.json), bylines, times of day, the channel link, categories, JSON Feed
1.1 and the media page. Every feed is read back with feedparser, lxml or json."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

from conftest import NOW, TZ, Site, make_site
from exemplar_site.errors import BuildFailed
from exemplar_site.pipeline import BuildOptions, build_site

AT = "{http://purl.org/atompub/tombstones/1.0}"
ATOM = "{http://www.w3.org/2005/Atom}"
GUID = "tag:test.gov.cn,2025:"
CLEARED = {"approved_by": "市局宣传处", "date": dt.date(2026, 3, 1)}
INTERNET = {"internet": {"base_url": "https://www.test.gov.cn", "base_path": "/xj/", "output_dir": "public-net",
                         "external": True}}


def _site(tmp_path: Path, **feeds: Any) -> Site:
    site = make_site(tmp_path / "site", feeds={"guid_prefix": GUID, **feeds}, editions=INTERNET,
                     press_contact="市局政治部宣传处 0511-85551234")
    site.write("content/campaigns/learn.md", "---\ntitle: 2026“平安守护者”学习活动\ndate: 2026-01-01\n---\n活动。\n")
    site.story("a", "a-1", slug="a", title="第一篇", name="王某某", author=["李明", "张华"], campaigns=["learn"],
               external=CLEARED, honors=[{"title": "全省优秀人民警察", "by": "省公安厅", "date": dt.date(2025, 12, 1)}])
    site.story("b", "b-1", slug="b", title="第二篇", name="赵某某", unit="s1", date="2026-03-02 08:15",
               updated=dt.date(2026, 4, 1), external=CLEARED)
    return site


def _withdraw(site: Site, **extra: Any) -> None:
    site.story("b", "b-1", slug="b", title="第二篇", name="赵某某", unit="s1", date="2026-03-02 08:15",
               status="withdrawn", external=CLEARED, **extra)


def _feeds(out: Path) -> list[Path]:
    return sorted(p for p in (out / "feeds").rglob("*") if p.suffix in (".xml", ".json") and p.is_file())


def _tombstones(path: Path) -> list[tuple[str | None, str | None]]:
    root = etree.parse(str(path)).getroot()
    return [(el.get("ref"), el.get("when")) for el in root.iter(f"{AT}deleted-entry")]


# ---- JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), checked field by field ------------------

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_FEED_TEXT = {"title", "home_page_url", "feed_url", "description", "user_comment", "next_url", "icon", "favicon",
              "language"}
_ITEM_TEXT = {"id", "url", "external_url", "title", "content_html", "content_text", "summary", "image",
              "banner_image", "language"}


def _authors(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not value:
        return [f"{where}: authors must be a non-empty array"]
    errors = []
    for a in value:
        if not isinstance(a, dict) or not any(isinstance(a.get(k), str) for k in ("name", "url", "avatar")):
            errors.append(f"{where}: an author needs a name, url or avatar")
        elif set(a) - {"name", "url", "avatar"} and not all(k.startswith("_") for k in set(a) - {"name", "url",
                                                                                                  "avatar"}):
            errors.append(f"{where}: unknown author key")
    return errors


def json_feed_errors(feed: Any) -> list[str]:
    """What makes `feed` not a valid JSON Feed 1.1 (an empty list when it is one)."""
    if not isinstance(feed, dict):
        return ["not an object"]
    errors = []
    if feed.get("version") != "https://jsonfeed.org/version/1.1":
        errors.append("version")
    if not isinstance(feed.get("title"), str) or not feed["title"]:
        errors.append("title is required")
    for key, value in feed.items():
        if key in _FEED_TEXT and not isinstance(value, str):
            errors.append(f"{key} must be a string")
        elif key == "authors":
            errors += _authors(value, "feed")
        elif key == "expired" and not isinstance(value, bool):
            errors.append("expired must be true or false")
        elif key not in _FEED_TEXT | {"version", "authors", "expired", "hubs", "items"} and not key.startswith("_"):
            errors.append(f"unknown feed key {key}")
    items = feed.get("items")
    if not isinstance(items, list):
        return [*errors, "items is required"]
    for n, item in enumerate(items):
        where = f"item {n}"
        if not isinstance(item, dict):
            errors.append(f"{where}: not an object")
            continue
        if not isinstance(item.get("id"), str) or not item["id"]:
            errors.append(f"{where}: id is required")
        if not any(isinstance(item.get(k), str) for k in ("content_html", "content_text")):
            errors.append(f"{where}: content_html or content_text is required")
        for key, value in item.items():
            if key in _ITEM_TEXT and not isinstance(value, str):
                errors.append(f"{where}: {key} must be a string")
            elif key in ("date_published", "date_modified") and not (isinstance(value, str)
                                                                     and _RFC3339.match(value)):
                errors.append(f"{where}: {key} must be an RFC 3339 date")
            elif key == "tags" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                errors.append(f"{where}: tags must be an array of strings")
            elif key == "authors":
                errors += _authors(value, where)
            elif key == "attachments" and not (isinstance(value, list) and all(
                    isinstance(a, dict) and isinstance(a.get("url"), str) and isinstance(a.get("mime_type"), str)
                    for a in value)):
                errors.append(f"{where}: attachments need url and mime_type")
            elif key not in _ITEM_TEXT | {"date_published", "date_modified", "tags", "authors", "attachments"} \
                    and not key.startswith("_"):
                errors.append(f"{where}: unknown key {key}")
    return errors


def test_the_json_feed_check_finds_what_is_wrong() -> None:
    assert json_feed_errors({"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}) == []
    bad = {"version": "https://jsonfeed.org/version/1", "items": [{"id": 1, "date_published": "2026-03-01",
                                                                   "author": {"name": "x"}}]}
    assert json_feed_errors(bad) == ["version", "title is required", "item 0: id is required",
                                     "item 0: content_html or content_text is required",
                                     "item 0: id must be a string", "item 0: date_published must be an RFC 3339 date",
                                     "item 0: unknown key author"]


# ---- every feed parses; JSON Feed validates ---------------------------------------------------------

def test_every_feed_of_the_sample_parses_and_every_json_feed_validates(sample: Site) -> None:
    sample.build(now=dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ))
    paths = _feeds(sample.out)
    assert any(p.name == "all.json" for p in paths) and any(p.name == "withdrawals.rss.xml" for p in paths)
    jsons = 0
    for path in paths:
        if path.name == "withdrawn.json":
            continue
        if path.suffix == ".json":
            feed = json.loads(path.read_text(encoding="utf-8"))
            assert json_feed_errors(feed) == [], path
            jsons += 1
            continue
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        assert parsed.version in ("rss20", "atom10"), path
    assert jsons == len([p for p in paths if p.name.endswith(".rss.xml")]) - 1  # (not for the withdrawals feed)
    # the sample's withdrawn story (withdrawn_date: 2026-10-20) is announced
    assert _tombstones(sample.out / "feeds" / "all.atom.xml") == [("tag:jcgaj.gov.cn,2025:jc-2025-013",
                                                                   "2026-10-20T12:00:00+08:00")]


def test_json_feed_has_the_items_of_the_rss_feed(tmp_path: Path) -> None:
    site = _site(tmp_path)
    site.build()
    feed = json.loads(site.text_of("feeds/all.json"))
    rss = feedparser.parse((site.out / "feeds" / "all.rss.xml").read_bytes())
    assert [i["id"] for i in feed["items"]] == [e.id for e in rss.entries] == [GUID + "b-1", GUID + "a-1"]
    assert feed["feed_url"] == "http://test.example/pub/feeds/all.json"
    assert feed["home_page_url"] == "http://test.example/pub/stories/"
    assert feed["language"] == "zh-CN"
    a = feed["items"][1]
    assert [x["name"] for x in a["authors"]] == ["李明", "张华"]
    assert a["date_published"] == "2026-03-01T12:00:00+08:00"
    assert {"社区警务", "市级", "北一派出所", "个人", "2026“平安守护者”学习活动"} <= set(a["tags"])
    assert json_feed_errors(json.loads(site.text_of("feeds/units/s1.json"))) == []


# ---- withdrawals --------------------------------------------------------------------------------------

def test_a_withdrawal_is_announced_in_the_next_build_and_dropped_after_the_period(tmp_path: Path) -> None:
    site = _site(tmp_path, tombstone_days=30)
    site.build()
    assert _tombstones(site.out / "feeds" / "all.atom.xml") == []
    assert json.loads(site.text_of("feeds/withdrawn.json"))["withdrawn"] == []
    _withdraw(site, withdrawn_date=dt.date(2026, 11, 20))
    site.build()
    stone = [(GUID + "b-1", "2026-11-20T12:00:00+08:00")]
    # every Atom feed carries the tombstone, in the at: namespace, the entry itself is gone
    for name in ("all.atom.xml", "units/city.atom.xml", "levels/city.atom.xml", "withdrawals.atom.xml"):
        assert _tombstones(site.out / "feeds" / name) == stone, name
    atom = site.text_of("feeds/all.atom.xml")
    assert 'xmlns:at="http://purl.org/atompub/tombstones/1.0"' in atom
    parsed = feedparser.parse(atom.encode())
    assert not parsed.bozo and [e.id for e in parsed.entries] == [GUID + "a-1"]
    assert parsed.feed.updated == "2026-11-20T12:00:00+08:00"  # the feed changed when the story went
    # a 撤稿通知 item: the GUID, the time, a neutral line, and neither title nor name nor address
    for name in ("withdrawals.rss.xml", "withdrawals.atom.xml"):
        text = site.text_of(f"feeds/{name}")
        notice = feedparser.parse(text.encode())
        assert not notice.bozo and len(notice.entries) == 1, name
        item = notice.entries[0]
        assert GUID + "b-1" in item.title and GUID + "b-1" in item.summary and "请撤下" in item.summary
        assert item.id == GUID + "withdrawn/b-1" and item.published.startswith(("Fri, 20 Nov 2026", "2026-11-20"))
        assert "第二篇" not in text and "赵某某" not in text and "stories/b" not in text, name
    rss = etree.parse(str(site.out / "feeds" / "withdrawals.rss.xml")).getroot()
    assert rss.findtext(".//{http://purl.org/dc/elements/1.1/}relation") == GUID + "b-1"
    listed = json.loads(site.text_of("feeds/withdrawn.json"))
    assert listed["withdrawn"] == [{"id": GUID + "b-1", "withdrawn": "2026-11-20T12:00:00+08:00",
                                    "announced_until": "2026-12-20T12:00:00+08:00"}]
    assert "第二篇" not in site.text_of("feeds/withdrawn.json")
    # nothing changes but the date: the build after the period drops the announcements (the build
    # is not skipped as "nothing changed"), and is the same as a clean build of that day
    later = dt.datetime(2026, 12, 21, 10, 0, tzinfo=TZ)
    site.build(now=later)
    assert _tombstones(site.out / "feeds" / "all.atom.xml") == []
    assert feedparser.parse((site.out / "feeds" / "withdrawals.rss.xml").read_bytes()).entries == []
    assert json.loads(site.text_of("feeds/withdrawn.json"))["withdrawn"][0]["id"] == GUID + "b-1"
    clean = build_site(site.config, BuildOptions(now=later, output=tmp_path / "clean", cache=False))
    assert clean.write is not None
    assert site.files() == site.files(tmp_path / "clean")


def test_the_withdrawal_time_is_withdrawn_date_else_updated_else_date(tmp_path: Path) -> None:
    site = _site(tmp_path, tombstone_days=365)
    _withdraw(site, updated="2026-10-01 09:45")
    site.build()
    assert _tombstones(site.out / "feeds" / "all.atom.xml") == [(GUID + "b-1", "2026-10-01T09:45:00+08:00")]
    _withdraw(site)
    site.build()
    assert _tombstones(site.out / "feeds" / "all.atom.xml") == [(GUID + "b-1", "2026-03-02T08:15:00+08:00")]
    # too long ago to be announced
    site = _site(tmp_path / "two", tombstone_days=30)
    _withdraw(site)
    site.build()
    assert _tombstones(site.out / "feeds" / "all.atom.xml") == []
    assert len(json.loads(site.text_of("feeds/withdrawn.json"))["withdrawn"]) == 1


def test_stories_withdrawn_with_their_exemplar_are_announced_at_its_time(tmp_path: Path) -> None:
    site = _site(tmp_path)
    site.story("c", "c-1", slug="c", title="续篇", name="赵某某", exemplar_of="b-1")
    _withdraw(site, withdrawn_date=dt.date(2026, 11, 1))
    site.build()
    assert sorted(_tombstones(site.out / "feeds" / "all.atom.xml")) == [
        (GUID + "b-1", "2026-11-01T12:00:00+08:00"), (GUID + "c-1", "2026-11-01T12:00:00+08:00")]


def test_guids_and_tombstones_are_the_same_in_both_editions(tmp_path: Path) -> None:
    site = _site(tmp_path)
    site.story("in", "in-1", slug="in", title="只在内网")
    _withdraw(site, withdrawn_date=dt.date(2026, 11, 20))
    site.build()
    build_site(site.config, BuildOptions(now=NOW, edition="internet"))
    net = site.root / "public-net"
    for name in ("all.atom.xml", "all.rss.xml"):
        inside = {e.title: e.id for e in feedparser.parse((site.out / "feeds" / name).read_bytes()).entries}
        outside = {e.title: e.id for e in feedparser.parse((net / "feeds" / name).read_bytes()).entries}
        assert outside and set(outside) < set(inside) and all(inside[t] == outside[t] for t in outside)
    ids_in = {i["title"]: i["id"] for i in json.loads(site.text_of("feeds/all.json"))["items"]}
    ids_out = {i["title"]: i["id"] for i in json.loads((net / "feeds" / "all.json").read_text())["items"]}
    assert ids_out == {t: ids_in[t] for t in ids_out}
    assert _tombstones(net / "feeds" / "all.atom.xml") == _tombstones(site.out / "feeds" / "all.atom.xml") \
        == [(GUID + "b-1", "2026-11-20T12:00:00+08:00")]
    assert json.loads((net / "feeds" / "withdrawn.json").read_text())["withdrawn"][0]["id"] == GUID + "b-1"
    assert b"test.example" not in (net / "feeds" / "withdrawals.atom.xml").read_bytes()


# ---- bylines, times, channel, categories, full text ---------------------------------------------------

def test_authors_are_dc_creator_and_atom_author_and_on_the_page(tmp_path: Path) -> None:
    site = _site(tmp_path)
    site.build()
    rss = etree.parse(str(site.out / "feeds" / "all.rss.xml")).getroot()
    by_guid = {i.findtext("guid"): i for i in rss.iter("item")}
    dc = "{http://purl.org/dc/elements/1.1/}creator"
    assert [c.text for c in by_guid[GUID + "a-1"].findall(dc)] == ["李明", "张华"]
    assert [c.text for c in by_guid[GUID + "b-1"].findall(dc)] == ["南一派出所"]  # no byline: the unit
    atom = etree.parse(str(site.out / "feeds" / "all.atom.xml")).getroot()
    entries = {e.findtext(f"{ATOM}id"): e for e in atom.iter(f"{ATOM}entry")}
    assert [a.findtext(f"{ATOM}name") for a in entries[GUID + "a-1"].findall(f"{ATOM}author")] == ["李明", "张华"]
    parsed = feedparser.parse((site.out / "feeds" / "all.atom.xml").read_bytes())
    assert [a.name for a in parsed.entries[1].authors] == ["李明", "张华"]
    byline = site.html("stories/a/index.html").xpath("string(//p[@class='story-byline'])")
    assert "作者：李明、张华" in byline
    assert "作者" not in site.html("stories/b/index.html").xpath("string(//p[@class='story-byline'])")


def test_dates_without_a_time_get_the_publish_time_and_edits_carry_their_time(tmp_path: Path) -> None:
    site = _site(tmp_path)
    site.build()
    rss = feedparser.parse((site.out / "feeds" / "all.rss.xml").read_bytes())
    a, b = rss.entries[1], rss.entries[0]
    assert a.published == "Sun, 01 Mar 2026 12:00:00 +0800"  # date only: noon, never the day before in UTC
    assert b.published == "Mon, 02 Mar 2026 08:15:00 +0800"  # a time written is kept
    assert b.updated == "2026-04-01T12:00:00+08:00" and "updated" not in a  # atom:updated for the edit only
    atom = feedparser.parse((site.out / "feeds" / "all.atom.xml").read_bytes())
    assert atom.entries[0].updated == "2026-04-01T12:00:00+08:00"
    assert atom.entries[1].updated == atom.entries[1].published == "2026-03-01T12:00:00+08:00"
    # the time is configurable; an unquoted YAML 09:30 (a number to YAML 1.1) is understood too
    site.config.write_text(site.config.read_text(encoding="utf-8").replace(
        "guid_prefix:", "publish_time: 09:30\n  guid_prefix:"), encoding="utf-8")
    site.build()
    assert feedparser.parse((site.out / "feeds" / "all.rss.xml").read_bytes()).entries[1].published \
        == "Sun, 01 Mar 2026 09:30:00 +0800"
    # a story of today is published from the start of the day, whatever the publish time
    site.story("c", "c-1", slug="c", date=NOW.date())
    report = site.build(now=NOW.replace(hour=0, minute=5))
    assert report.public == 3


def test_a_publish_time_that_is_not_a_time_is_refused(tmp_path: Path) -> None:
    site = _site(tmp_path, publish_time="25:00")
    with pytest.raises(BuildFailed) as failed:
        site.build()
    assert [(p.field, p.message) for p in failed.value.problems] == [
        ("feeds.publish_time", "must be a time of day HH:MM, got 25:00")]


def test_channel_link_categories_campaign_titles_and_honours(tmp_path: Path) -> None:
    site = _site(tmp_path)
    site.build()
    rss = etree.parse(str(site.out / "feeds" / "all.rss.xml")).getroot()
    assert rss.findtext("channel/link") == "http://test.example/pub/stories/"
    unit = etree.parse(str(site.out / "feeds" / "units" / "s1.rss.xml")).getroot()
    assert unit.findtext("channel/link") == "http://test.example/pub/units/s1/"
    atom = feedparser.parse((site.out / "feeds" / "all.atom.xml").read_bytes())
    assert atom.feed.link == "http://test.example/pub/stories/"
    item = {i.findtext("guid"): i for i in rss.iter("item")}[GUID + "a-1"]
    cats = {(c.text, c.get("domain")) for c in item.findall("category")}
    assert {("北一派出所", "http://test.example/pub/units/"), ("个人", None),
            ("2026“平安守护者”学习活动", "http://test.example/pub/campaigns/"), ("社区警务", None),
            ("社区警务", "http://test.example/pub/fields/"), ("市级", "http://test.example/pub/levels/")} <= cats
    campaign = etree.parse(str(site.out / "feeds" / "campaigns" / "learn.rss.xml")).getroot()
    description = campaign.findtext("channel/description") or ""
    assert "““" not in description and "””" not in description and "平安守护者" in description
    full = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") or ""
    assert "全省优秀人民警察（省公安厅，2025年12月1日）" in full and "作者：李明、张华" in full


# ---- the media page, the notice page, the OPML -----------------------------------------------------------

def test_the_media_page_recommends_one_feed_and_shows_the_press_contact(tmp_path: Path) -> None:
    site = _site(tmp_path)
    site.build()
    page = site.html("feeds/index.html")
    text = page.xpath("string(//main)")
    assert "每家媒体只订阅一个订阅源" in text and "重叠" in text
    assert "媒体联系：市局政治部宣传处 0511-85551234" in text
    assert "撤稿" in text and "RFC 6721" in text
    links = set(page.xpath("//a/@href"))
    assert {"../feeds/all.json", "../feeds/withdrawals.rss.xml", "../feeds/withdrawals.atom.xml",
            "../feeds/withdrawn.json"} <= {link.replace("index.html", "") for link in links}
    opml = etree.parse(str(site.out / "feeds" / "feeds.opml")).getroot()
    urls = [str(u) for u in opml.xpath("//outline/@xmlUrl")]  # type: ignore[union-attr]
    assert "http://test.example/pub/feeds/withdrawals.rss.xml" in urls
    assert not any(u.endswith(".json") for u in urls)


def test_a_press_contact_with_a_private_mobile_number_stops_the_build(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s", press_contact="宣传处 13905111234")
    with pytest.raises(BuildFailed) as failed:
        site.build()
    assert [p.field for p in failed.value.problems] == ["press_contact"]
    assert "13905111234" not in str([p.message for p in failed.value.problems])


def test_the_withdrawn_notice_carries_the_site_branding_and_works_at_any_address(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _withdraw(site)
    site.build()
    for rel in ("withdrawn.html", "stories/b/index.html"):
        page = site.html(rel)
        assert page.xpath("string(//span[@class='site-title'])") == "测试先进典型", rel
        assert "测试市公安局政治部" in page.xpath("string(//footer)"), rel
        assert "第二篇" not in site.text_of(rel) and "赵某某" not in site.text_of(rel)
    # nginx serves withdrawn.html at the withdrawn addresses: its links start from base_path
    generic = site.html("withdrawn.html")
    assert all(h.startswith("/pub/") for h in generic.xpath("//@href | //@src"))
