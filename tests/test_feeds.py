"""Feeds, read back with feedparser (a real client) and lxml."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import cast

import feedparser
from lxml import etree

from conftest import NOW, Site, make_site

GUID = "tag:test.example,2025:"


def populate(site: Site) -> None:
    site.story("a", "a-1", unit="n1", date=dt.date(2026, 1, 5), updated=dt.date(2026, 4, 1),
               images=[{"src": "images/a.png", "caption": "说明", "alt": "替代"}],
               tags=["见义勇为"], body="正文见[链接](/stories/b-slug/)和![图](images/a.png)。")
    site.story("b", "b-1", unit="n2", slug="b-slug", field="jiaojing", date=dt.date(2026, 2, 5))
    site.story("c", "c-1", unit="s1", level="provincial", date=dt.date(2026, 3, 5))
    site.story("t", "t-1", unit="traffic", field="xingzhen", date=dt.date(2025, 12, 1))
    site.write("content/campaigns/learn.md",
               "---\ntitle: 学习活动\ndate: 2026-01-01\nexemplars: [c-1]\n---\n学习。\n")


def feed_files(site: Site) -> list[Path]:
    return sorted((site.out / "feeds").rglob("*.xml"))


def parse(path: Path) -> feedparser.FeedParserDict:
    return feedparser.parse(path.read_bytes())


def test_every_feed_parses_and_every_item_is_complete(site: Site) -> None:
    populate(site)
    site.build()
    files = feed_files(site)
    assert len(files) >= 2 * 8
    for path in files:
        f = parse(path)
        assert not f.bozo, (path, f.get("bozo_exception"))
        assert f.feed.title and f.feed.link.startswith("http://test.example/pub/")
        for e in f.entries:
            assert e.title and e.id.startswith(GUID)
            assert e.link.startswith("http://test.example/pub/stories/")
            assert e.published_parsed and e.updated_parsed
            assert e.summary and e.author
            assert e.content[0].value
            for attr in ('href="', 'src="'):
                for chunk in e.content[0].value.split(attr)[1:]:
                    assert chunk.startswith("http://test.example/pub/"), (path, chunk[:60])
            assert "来源：测试市公安局政治部" in e.content[0].value
            assert {t.term for t in e.tags} >= {"社区警务"} or {t.term for t in e.tags} >= {"交警"} \
                or {t.term for t in e.tags} >= {"刑侦"}


def test_enclosure_with_real_length_and_type(site: Site) -> None:
    populate(site)
    site.build()
    size = (site.out / "images/a.png").stat().st_size
    for name in ("all.rss.xml", "all.atom.xml"):
        f = parse(site.out / "feeds" / name)
        entry = next(e for e in f.entries if e.id == GUID + "a-1")
        (enc,) = entry.enclosures
        assert enc.href == "http://test.example/pub/images/a.png"
        assert int(enc.length) == size and enc.type == "image/png"
        if name.endswith("atom.xml"):
            assert [link.rel for link in entry.links] == ["alternate", "enclosure"]
            assert entry.content[0].type == "text/html"


def test_rss_has_guid_not_permalink_and_content_encoded(site: Site) -> None:
    populate(site)
    site.build()
    root = etree.fromstring((site.out / "feeds/all.rss.xml").read_bytes())
    guids = root.findall(".//item/guid")
    assert guids and all(g.get("isPermaLink") == "false" for g in guids)
    ns = {"content": "http://purl.org/rss/1.0/modules/content/"}
    assert len(root.findall(".//item/content:encoded", ns)) == len(guids)


def test_items_newest_first_and_feed_date_from_content(site: Site) -> None:
    populate(site)
    site.build()
    f = parse(site.out / "feeds/all.atom.xml")
    assert [e.id[len(GUID):] for e in f.entries] == ["c-1", "b-1", "a-1", "t-1"]
    assert f.feed.updated.startswith("2026-04-01")  # a-1's updated date is the newest
    rss = parse(site.out / "feeds/all.rss.xml")
    assert [e.id[len(GUID):] for e in rss.entries] == ["c-1", "b-1", "a-1", "t-1"]


def test_guid_survives_a_slug_change(site: Site) -> None:
    populate(site)
    site.build()
    before = {e.id: e.link for e in parse(site.out / "feeds/all.rss.xml").entries}
    site.story("b", "b-1", unit="n2", slug="renamed", field="jiaojing", date=dt.date(2026, 2, 5))
    site.write("content/stories/a.md", (site.root / "content/stories/a.md").read_text(encoding="utf-8")
               .replace("/stories/b-slug/", "/stories/renamed/"))
    site.build()
    after = {e.id: e.link for e in parse(site.out / "feeds/all.rss.xml").entries}
    assert set(before) == set(after)
    assert after[GUID + "b-1"].endswith("/stories/renamed/") and before[GUID + "b-1"].endswith("/b-slug/")


def test_unchanged_site_gives_identical_feed_bytes(site: Site, tmp_path: Path) -> None:
    populate(site)
    site.build(output=tmp_path / "one")
    site.build(output=tmp_path / "two", now=NOW + dt.timedelta(days=20))
    one = {p.relative_to(tmp_path / "one"): p.read_bytes() for p in (tmp_path / "one/feeds").rglob("*")
           if p.is_file()}
    two = {p.relative_to(tmp_path / "two"): p.read_bytes() for p in (tmp_path / "two/feeds").rglob("*")
           if p.is_file()}
    assert one == two


def test_control_character_reaches_no_feed_and_is_reported(site: Site) -> None:
    populate(site)
    path = site.story("x", "x-1", title="含控制字符的标题", body="正文里也有。\n")
    text = path.read_text(encoding="utf-8").replace("含控制字符", "含控制\x0b字符").replace("正文里", "正文\x01里")
    path.write_text(text, encoding="utf-8")
    site.story("y", "y-1", title="YAML转义\x0c的标题")  # written by the YAML dumper as an escape: "\f"
    lines = text.split("\n")
    expected = {("content/stories/x.md", i + 1) for i, line in enumerate(lines) if "\x0b" in line or "\x01" in line}
    report = site.build()
    warnings = [w for w in report.warnings if "control character" in w.message]
    assert {(w.path, w.line) for w in warnings} == expected and len(expected) == 2
    for path in feed_files(site):
        data = path.read_bytes()
        assert b"\x0b" not in data and b"\x01" not in data and b"\x0c" not in data
        assert not parse(path).bozo
    assert "含控制字符的标题" in [e.title for e in parse(site.out / "feeds/all.rss.xml").entries]


def test_withdrawn_story_leaves_every_feed(site: Site) -> None:
    populate(site)
    site.build()
    assert any(GUID + "a-1" in {e.id for e in parse(p).entries} for p in feed_files(site))
    text = (site.root / "content/stories/a.md").read_text(encoding="utf-8")
    site.write("content/stories/a.md", text.replace("status: approved", "status: withdrawn"))
    site.build()
    for path in feed_files(site):
        assert GUID + "a-1" not in {e.id for e in parse(path).entries}, path
    assert not (site.out / "feeds/tags/jian-yi-yong-wei.rss.xml").exists() or \
        not parse(site.out / "feeds/tags/jian-yi-yong-wei.rss.xml").entries


def test_unit_feed_includes_sub_units(site: Site) -> None:
    populate(site)
    site.build()
    north = parse(site.out / "feeds/units/north.rss.xml")
    assert sorted(e.id[len(GUID):] for e in north.entries) == ["a-1", "b-1"]
    city = parse(site.out / "feeds/units/city.atom.xml")
    assert len(city.entries) == 4
    campaign = parse(site.out / "feeds/campaigns/learn.rss.xml")
    assert [e.id[len(GUID):] for e in campaign.entries] == ["c-1"]


def test_feed_families_and_items_follow_config(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s", config={"feeds": {"families": ["all", "level"], "items": 2}})
    populate(site)
    site.build()
    names = sorted(p.relative_to(site.out / "feeds").as_posix() for p in feed_files(site))
    assert names == ["all.atom.xml", "all.rss.xml", "levels/city.atom.xml", "levels/city.rss.xml",
                     "levels/provincial.atom.xml", "levels/provincial.rss.xml", "withdrawals.atom.xml",
                     "withdrawals.rss.xml"]
    assert len(parse(site.out / "feeds/all.rss.xml").entries) == 2


def test_autodiscovery_media_page_and_opml(site: Site) -> None:
    populate(site)
    site.build()
    page = site.html("stories/b-slug/index.html")
    alternates = page.xpath("//link[@rel='alternate']/@href")
    assert "../../feeds/all.rss.xml" in alternates and "../../feeds/units/north.atom.xml" in alternates
    for href in alternates:
        assert (site.out / "stories/b-slug" / href).resolve().is_file()
    media = site.html("feeds/index.html")
    assert "媒体订阅" in media.xpath("string(//h1)")
    listed = media.xpath("//table//a/@href")
    assert "../feeds/all.rss.xml" in listed and "../feeds/units/north.atom.xml" in listed
    opml = etree.fromstring((site.out / "feeds/feeds.opml").read_bytes())
    urls = cast("list[str]", opml.xpath("//outline[@type='rss']/@xmlUrl"))
    assert "http://test.example/pub/feeds/all.rss.xml" in urls
    assert len(urls) == len([p for p in feed_files(site) if p.name.endswith(".rss.xml")])


def test_each_feed_is_feedgens_whole_document_byte_for_byte(tmp_path: Path) -> None:
    """A feed file is its head with each story's entry, made once a build, put in (FeedParts).
    Held here to what feedgen writes when given the whole feed at once (every entry added, the
    document fixed as a whole), for every feed and format of a site with what could tell them
    apart: tombstones, edited stories, lead images, bylines, campaigns, and titles, summaries and
    bodies that spell the tags an entry is cut out by."""
    import json

    from exemplar_site import feeds
    from exemplar_site.feedspec import feed_specs
    from exemplar_site.pipeline import BuildOptions, load_site

    site = make_site(tmp_path / "site", feeds={"tombstone_days": 30})
    populate(site)
    site.story("x", "x-1", slug="x", title="标题</item></entry><item>", date=dt.date(2026, 6, 1),
               summary="摘要 <entry> & </channel>", author=["李明", "张华"], campaigns=["learn"],
               body="正文 `</entry></feed>` 和 `</item>`。\n\n<item>原样</item>")
    site.story("w", "w-1", slug="w", date=dt.date(2026, 5, 1))
    site.write("content/campaigns/none.md", "---\ntitle: 还没有典型的活动\ndate: 2026-02-01\n---\n说明。\n")
    site.build()
    site.story("w", "w-1", slug="w", date=dt.date(2026, 5, 1), status="withdrawn", withdrawn_date=dt.date(2026, 11, 20))
    site.build()
    loaded = load_site(site.config, BuildOptions(now=NOW))
    index, config = loaded.index, loaded.config
    stones = feeds.tombstones(index.withdrawn, config, NOW)
    assert stones and any(s.updated != s.date for s in index.stories) and any(s.lead_image for s in index.stories)
    names = feeds.campaign_names(index)
    specs = feed_specs(index, config)
    assert any(len(spec.stories) > 1 for spec in specs) and any(not spec.stories for spec in specs)
    for spec in specs:
        for atom in (False, True):
            fg = feeds._generator(spec, config, feeds._feed_updated(spec, index, stones if atom else ()), atom=atom)
            for s in spec.stories:
                feeds._add_entry(fg, s, config, atom=atom, html=feeds.full_html(s, config), campaigns=names)
            whole = (feeds._fix_atom(fg.atom_str(pretty=True), spec.stories, config, stones) if atom
                     else feeds._fix_rss(fg.rss_str(pretty=True), spec.stories, config))
            assert (site.out / (spec.atom if atom else spec.rss)).read_bytes() == whole, (spec.key, atom)
        built = json.loads((site.out / spec.json).read_bytes())
        assert [i["id"] for i in built["items"]] == [GUID + s.id for s in spec.stories]
        assert (site.out / spec.json).read_bytes() == (json.dumps(built, ensure_ascii=False, indent=2) + "\n").encode()


def test_a_storys_rss_item_is_the_same_bytes_in_every_feed_holding_it(site: Site) -> None:
    """An item was parsed again with its whole feed when another story of that feed was edited,
    which changed a carriage return of its body into a newline in that feed only (a review's
    finding); now each item is made once and is the same in every feed."""
    site.story("e", "e-1", unit="n1", date=dt.date(2026, 1, 5), updated=dt.date(2026, 4, 1))
    site.story("x", "x-1", unit="n2", date=dt.date(2026, 2, 5), body="甲&#13;乙")
    site.build()

    def item(path: str) -> bytes:  # x-1's
        data = (site.out / path).read_bytes()
        guid = data.index(GUID.encode() + b"x-1</guid>")
        return data[data.rindex(b"<item>", 0, guid):data.index(b"</item>", guid)]

    everything, own = item("feeds/all.rss.xml"), item("feeds/units/n2.rss.xml")
    assert own == everything and b"\r" in own
    assert b"<atom:updated>" in (site.out / "feeds/all.rss.xml").read_bytes()  # (the edited story's)
