"""Build real sites in temporary folders and read the pages back with an HTML parser."""

from __future__ import annotations

import datetime as dt
import itertools
import posixpath
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import pytest
from lxml import etree

from conftest import NOW, Site, make_site, pdf

SENTINELS = {
    "id_number": "110101199003070011",
    "phone": "13912345678",
    "family": "妻子在哨兵医院工作SENTINEL",
    "notes": "考核备注SENTINEL-NOTE",
}


def private_block() -> dict[str, Any]:
    return {
        "id_number": SENTINELS["id_number"],
        "phone": SENTINELS["phone"],
        "family": SENTINELS["family"],
        "assessments": [{"date": dt.date(2026, 6, 30), "result": "优秀", "by": "政治部",
                         "notes": SENTINELS["notes"]}],
    }


def populate(site: Site) -> None:
    site.story("a", "a-1", unit="n1", date=dt.date(2026, 1, 5), tags=["见义勇为", "社区警务"], featured=True,
               images=[{"src": "images/a.png", "caption": "图片说明", "alt": "替代文字"}],
               private=private_block())
    site.story("b", "b-1", unit="n2", field="jiaojing", date=dt.date(2026, 2, 5), private=private_block())
    site.story("c", "c-1", unit="s1", level="provincial", date=dt.date(2026, 3, 5))
    site.story("d", "d-1", unit="north", kind="collective", date=dt.date(2026, 4, 5), tags=["见义勇为"],
               body="北区分局。见[另一篇](/stories/e-slug/)和![图](images/a.png)。")
    site.story("e", "e-1", unit="traffic", field="xingzhen", slug="e-slug", date=dt.date(2025, 5, 5))
    site.story("held", "h-1", status="recommended", private=private_block())
    site.story("novet", "n-1", vetting=None, private=private_block())
    site.story("gone", "w-1", status="withdrawn", slug="gone-story", name="撤下者姓名", private=private_block())
    site.write("content/pages/about.md", "---\ntitle: 关于\nmenu: 1\n---\n关于本站。\n")
    site.write("content/campaigns/learn.md",
               "---\ntitle: 学习活动\ndate: 2026-01-01\ndecision: 学决〔2026〕1号\n---\n学习。\n")


def all_files(site: Site) -> list[Path]:
    return sorted(p for p in site.out.rglob("*") if p.is_file())


def test_private_values_never_reach_any_output(site: Site) -> None:
    populate(site)
    site.build()
    for path in all_files(site):
        data = path.read_bytes()
        for key, value in SENTINELS.items():
            assert value.encode() not in data, f"{key} leaked into {path}"


def test_private_values_are_not_kept_in_the_build_cache(site: Site) -> None:
    """The cache beside the output stores validated records and parsed front matter: without the
    private block, which builds never need."""
    populate(site)
    site.build()
    site.story("a", "a-1", unit="n1", title="改过的标题", private=private_block())  # a journal entry too
    site.build()
    kept = [p for p in site.root.glob(".public.cache*") if p.is_file()]
    assert len(kept) >= 3
    for path in kept:
        data = path.read_bytes()
        for key, value in SENTINELS.items():
            assert value.encode() not in data, f"{key} kept in {path.name}"


def test_a_record_is_stored_without_its_private_block_and_with_every_other_field_as_it_was(site: Site) -> None:
    """records.cacheable (what the cache stores of a record) makes its copy without calling the
    class again: the copy is what dataclasses.replace would make, field by field (the fields left
    out of comparisons too: its lines), and the record the build goes on using keeps its private
    block and the values taken from it."""
    import dataclasses

    from exemplar_site.pipeline import BuildOptions, load_site
    from exemplar_site.records import cacheable

    populate(site)
    site.story("a", "a-1", unit="n1", title="改过的标题", private=private_block())
    loaded = load_site(site.config, BuildOptions(now=NOW, cache=False))
    record = next(r for r in loaded.records.stories if r.id == "a-1")
    assert record.private and record.assessments and record.needles
    before = dict(vars(record))
    stored, problems = cacheable((record, ["p"]))
    assert problems == ["p"] and type(stored) is type(record) and stored is not record
    expected = dataclasses.replace(record, private={}, assessments=(), needles=())
    assert vars(stored) == vars(expected)
    assert [f.name for f in dataclasses.fields(stored) if getattr(stored, f.name) != getattr(record, f.name)] \
        == ["private", "assessments", "needles"]
    assert vars(record) == before and record.private and record.needles
    bare = next(r for r in loaded.records.stories if not r.private and not r.assessments and not r.needles)
    entry: tuple[Any, list[Any]] = (bare, [])
    assert cacheable(entry) is entry


def test_gate_keeps_unvetted_and_unapproved_out_everywhere(site: Site) -> None:
    populate(site)
    report = site.build()
    assert report.public == 5
    assert sorted((h.id, h.reason) for h in report.held) == [
        ("h-1", "status"), ("n-1", "no-vetting"), ("w-1", "withdrawn")]
    everything = b"".join(p.read_bytes() for p in all_files(site))
    for title in ("测试典型h-1的先进事迹", "测试典型n-1的先进事迹", "撤下者姓名", "测试典型w-1"):
        assert title.encode() not in everything


def test_every_internal_link_resolves_on_disk(site: Site) -> None:
    populate(site)
    site.build()
    checked = 0
    for path in all_files(site):
        if path.suffix != ".html":
            continue
        doc = site.html(path.relative_to(site.out).as_posix())
        for script in doc.xpath("//script[@src]"):  # the theme's scripts (a11y.js): files beside the pages
            src = script.get("src")
            assert (site.out / src[len("/pub/"):] if src.startswith("/pub/") else path.parent / src).is_file(), src
            script.drop_tree()
        for _el, attr, link, _ in doc.iterlinks():
            if attr not in ("href", "src") or link.startswith(("http:", "https:", "#", "mailto:")):
                continue
            if path.name == "404.html" or path == site.out / "withdrawn.html":  # (served at any address)
                assert link.startswith("/pub/"), link
                rel = unquote(link[len("/pub/"):])
                target = site.out / (rel + "index.html" if rel == "" or rel.endswith("/") else rel)
            else:
                rel = unquote(urlsplit(link).path)
                assert rel.endswith((".html", ".css", ".svg", ".png", ".xml", ".opml", ".json", ".js")), (path, link)
                target = Path(posixpath.normpath(posixpath.join(path.parent.as_posix(), rel)))
            assert target.is_file(), f"{path}: broken link {link}"
            checked += 1
    assert checked > 200


def test_links_work_under_base_path_and_absolute_urls_use_it(site: Site) -> None:
    populate(site)
    site.build()
    doc = site.html("stories/e-slug/index.html")
    canonical = doc.xpath("//link[@rel='canonical']/@href")
    assert canonical == ["http://test.example/pub/stories/e-slug/"]
    body_links = site.html("stories/ce-shi-dian-xing-d-1-de-xian-jin-shi-ji/index.html").xpath(
        "//div[@class='story-body']//a/@href")
    assert body_links == ["../../stories/e-slug/index.html"]
    sitemap = etree.fromstring((site.out / "sitemap.xml").read_bytes())
    locs = cast("list[str]", sitemap.xpath("//s:loc/text()",
                                           namespaces={"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}))
    assert "http://test.example/pub/stories/e-slug/" in locs
    assert all(loc.startswith("http://test.example/pub/") for loc in locs)
    assert not any("gone-story" in loc for loc in locs)


def test_a_sitemap_over_the_protocol_limit_becomes_an_index_of_sitemaps(site: Site) -> None:
    """sitemaps.org allows 50,000 addresses a file: past that, sitemap.xml is a sitemap index of
    numbered sitemaps holding, together, exactly the addresses one file would (shown here with a
    limit of 5)."""
    from exemplar_site.pages import sitemap
    from exemplar_site.pipeline import BuildOptions, load_site

    for i in range(7):
        site.story(f"s{i}", f"s-{i}", slug=f"s{i}", tags=[f"标签{i}"])
    loaded = load_site(site.config, BuildOptions(now=NOW))
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}

    def locs(data: bytes | None, path: str) -> list[str]:
        return [str(x) for x in cast("list[str]", etree.fromstring(data or b"").xpath(path, namespaces=ns))]

    (whole,) = sitemap(loaded.config, loaded.index)
    assert whole.path == "sitemap.xml"
    every = locs(whole.data, "//s:url/s:loc/text()")
    assert len(every) > 10
    split = {o.path: o.data for o in sitemap(loaded.config, loaded.index, per_file=5)}
    index = split.pop("sitemap.xml")
    assert etree.QName(etree.fromstring(index or b"")).localname == "sitemapindex"
    named = locs(index, "//s:sitemap/s:loc/text()")
    assert named == [f"http://test.example/pub/sitemap-{n}.xml" for n in range(1, len(split) + 1)]
    assert sorted(split) == sorted(loc.rsplit("/", 1)[1] for loc in named)
    parts = [locs(split[f"sitemap-{n}.xml"], "//s:url/s:loc/text()") for n in range(1, len(split) + 1)]
    assert all(0 < len(part) <= 5 for part in parts)
    assert [loc for part in parts for loc in part] == every


def test_story_page_shows_the_exemplar(site: Site) -> None:
    populate(site)
    site.build()
    doc = site.html("stories/ce-shi-dian-xing-a-1-de-xian-jin-shi-ji/index.html")
    assert doc.xpath("string(//h1)") == "测试典型a-1的先进事迹"
    byline = doc.xpath("string(//p[@class='story-byline'])")
    assert "张a-1" in byline and "北一派出所" in byline and "北区分局" in byline
    assert doc.xpath("//figure[@class='lead-figure']//img/@alt") == ["替代文字"]
    assert doc.xpath("string(//figure[@class='lead-figure']/figcaption)") == "图片说明"
    assert doc.xpath("//nav[@class='prev-next']//a/@rel") == ["prev", "next"]
    assert len(doc.xpath("//main")) == 1 and doc.xpath("//nav[@aria-label]")
    headings = [int(h.tag[1]) for h in doc.iter("h1", "h2", "h3", "h4")]
    assert headings[0] == 1 and all(b - a <= 1 for a, b in itertools.pairwise(headings))
    for img in doc.iter("img"):
        assert img.get("alt") is not None


def test_unit_listing_includes_sub_units_and_paginates(site: Site) -> None:
    populate(site)
    site.build()
    north = site.html("units/north/index.html")
    titles = north.xpath("//h3[@class='card-title']/a/text()")
    assert sorted(titles) == ["测试典型a-1的先进事迹", "测试典型b-1的先进事迹", "测试典型d-1的先进事迹"]
    city = site.html("units/city/index.html")  # 5 stories, page size 3
    assert len(city.xpath("//article")) == 3
    page2 = site.html("units/city/page/2/index.html")
    assert len(page2.xpath("//article")) == 2
    assert page2.xpath("//a[@rel='prev']/@href") == ["../../../../units/city/index.html"]


def test_listing_families_exist(site: Site) -> None:
    populate(site)
    site.build()
    for rel in ("fields/shequ/index.html", "fields/jiaojing/index.html", "levels/provincial/index.html",
                "tags/jian-yi-yong-wei/index.html", "years/2025/index.html", "years/2026/index.html",
                "campaigns/learn/index.html", "about/index.html", "404.html", "robots.txt",
                "stories/index.html", "stories/page/2/index.html", "fields/index.html", "units/index.html"):
        assert (site.out / rel).is_file(), rel
    tag = site.html("tags/jian-yi-yong-wei/index.html")
    assert len(tag.xpath("//article")) == 2
    home = site.html("index.html")
    assert "测试典型a-1的先进事迹" in home.xpath("string(//section[@aria-labelledby='featured-title'])")
    assert "关于" in home.xpath("string(//nav[@aria-label='主导航'])")


def test_withdrawn_story_leaves_a_neutral_notice(site: Site) -> None:
    populate(site)
    site.build()
    notice = site.text_of("stories/gone-story/index.html")
    assert "该内容已撤下" in notice and "noindex" in notice
    assert "撤下者" not in notice and "w-1" not in notice
    for path in all_files(site):
        if path.suffix == ".html" and "gone-story" not in path.as_posix():
            assert b"gone-story" not in path.read_bytes(), path


def test_builds_are_deterministic(site: Site, tmp_path: Path) -> None:
    populate(site)
    site.build(output=tmp_path / "one")
    site.build(output=tmp_path / "two", now=NOW + dt.timedelta(hours=3))
    assert site.files(tmp_path / "one") == site.files(tmp_path / "two")


def test_summary_and_reading_time_for_chinese(site: Site) -> None:
    long_body = "第一句话讲他的事迹。" * 30 + "\n\n## 小标题\n\n后文。"
    site.story("long", "l-1", body=long_body, summary=None)
    site.build()
    doc = site.html("stories/ce-shi-dian-xing-l-1-de-xian-jin-shi-ji/index.html")
    lead = doc.xpath("string(//div[@class='story-lead'])")
    assert lead.endswith("。") and len(lead) <= 120
    assert "阅读约 1 分钟" in doc.xpath("string(//p[@class='story-byline'])")


def test_drafts_build_marks_every_page_and_keeps_feeds_clean(site: Site) -> None:
    populate(site)
    site.build(drafts=True)
    assert not site.out.exists()  # a drafts build never writes into the public output
    site = Site(site.root, output="public-drafts")
    for path in all_files(site):
        if path.suffix == ".html" and path.name not in ("404.html", "withdrawn.html") \
                and "gone-story" not in path.as_posix():
            assert "预览版本" in path.read_text(encoding="utf-8"), path
    held = site.html("stories/ce-shi-dian-xing-h-1-de-xian-jin-shi-ji/index.html")
    assert "草稿预览" in held.xpath("string(//p[@class='draft-note'])")
    assert b"h-1" not in (site.out / "feeds/all.rss.xml").read_bytes()
    assert "Disallow: /" in site.text_of("robots.txt")


def test_raw_html_in_stories_is_sanitised(site: Site) -> None:
    site.story("x", "x-1", body='正文<script>alert(1)</script><img src="images/a.png" onerror="x()" alt="a">')
    site.build()
    page = site.text_of("stories/ce-shi-dian-xing-x-1-de-xian-jin-shi-ji/index.html")
    assert "<script>alert" not in page and "onerror" not in page
    assert 'src="../../images/a.png"' in page


def test_held_back_story_images_are_not_published(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s")
    (site.root / "content/images/secret.png").write_bytes(b"\x89PNG")
    site.story("a", "a-1")
    site.story("h", "h-1", status="seedling", images=[{"src": "images/secret.png", "alt": "x"}])
    site.build()
    assert not (site.out / "images/secret.png").exists()
    assert not (site.out / "images/a.png").exists()  # not used by any public page either


def test_attachments_are_published_only_when_a_public_page_links_them(tmp_path: Path) -> None:
    """An attachment (not a photo: copied as it is) goes out only when a public story, page or
    campaign links it; one linked only from a held-back story stays home, as does one nobody links."""
    site = make_site(tmp_path / "s")
    files = site.root / "content" / "files"
    files.mkdir()
    for name in ("public.pdf", "held.pdf", "unused.pdf"):
        (files / name).write_bytes(pdf(name))
    site.story("h", "h-1", status="seedling", body="见[内部通报](/files/held.pdf)。")
    site.build()  # no public page links any attachment
    assert not (site.out / "files").exists()
    site.story("a", "a-1", body="见[表彰决定](/files/public.pdf)。")
    site.build()
    assert (site.out / "files/public.pdf").read_bytes() == pdf("public.pdf")
    assert not (site.out / "files/held.pdf").exists() and not (site.out / "files/unused.pdf").exists()
    page = site.html("stories/ce-shi-dian-xing-a-1-de-xian-jin-shi-ji/index.html")
    assert set(page.xpath("//a[text()='表彰决定']/@href")) == {"../../files/public.pdf"}
    # the next builds do not read the linking story again: what it links comes with what was kept of it
    site.story("b", "b-1", body="见[通报](/files/unused.pdf)。")
    site.build()
    assert sorted(p.name for p in (site.out / "files").iterdir()) == ["public.pdf", "unused.pdf"]
    site.story("a", "a-1", status="seedling", body="见[表彰决定](/files/public.pdf)。")
    site.build()
    assert sorted(p.name for p in (site.out / "files").iterdir()) == ["unused.pdf"]


@pytest.mark.parametrize("name,link", [("a&b.pdf", "/files/a&b.pdf"), ("通报.pdf", "/files/%E9%80%9A%E6%8A%A5.pdf"),
                                       ("a'b.pdf", "/files/a'b.pdf"), ("表彰决定.pdf", "/files/表彰决定.pdf?v=2#p3")])
def test_an_attachment_is_published_whatever_its_link_escapes(site: Site, name: str, link: str) -> None:
    (site.root / "content/files").mkdir()
    (site.root / "content/files" / name).write_bytes(pdf("x"))
    site.story("a", "a-1", slug="a", body=f"见[附件]({link})。")
    site.build()
    assert (site.out / "files" / name).read_bytes() == pdf("x")
    href = site.html("stories/a/index.html").xpath("//a[text()='附件']/@href")[0]  # (the browser's address)
    assert (site.out / "stories/a" / unquote(urlsplit(href).path)).resolve() == (site.out / "files" / name).resolve()


def test_an_attachment_named_only_in_a_title_is_not_published(site: Site) -> None:
    (site.root / "content/files").mkdir()
    (site.root / "content/files/secret.pdf").write_bytes(pdf("secret"))
    site.story("a", "a-1", slug="a", body='正文<abbr title="site:files/secret.pdf">缩写</abbr>。')
    site.build()
    assert not (site.out / "files/secret.pdf").exists()


def test_site_theme_overrides_one_template_and_falls_back(site: Site) -> None:
    site.story("a", "a-1")
    theme = site.root / "themes" / "bureau" / "templates"
    theme.mkdir(parents=True)
    (theme / "home.html").write_text(
        '{% extends "default/home.html" %}{% block content %}<p id="custom">本局主题</p>{{ super() }}{% endblock %}',
        encoding="utf-8")
    static = site.root / "themes" / "bureau" / "static"
    static.mkdir()
    (static / "site.css").write_text("body{color:red}", encoding="utf-8")
    text = site.config.read_text(encoding="utf-8") + "theme: bureau\n"
    site.config.write_text(text, encoding="utf-8")
    site.build()
    home = site.html("index.html")
    assert home.xpath("string(//p[@id='custom'])") == "本局主题"
    assert home.xpath("//section[@aria-labelledby='hero-title']")
    assert site.text_of("static/site.css") == "body{color:red}"
    assert (site.out / "static/print.css").is_file()
    assert site.html("stories/index.html").xpath("//article")  # list.html from the default theme
