"""Output is safe for the programs that open it (issue 11, item 9).

- spreadsheets: no CSV cell the tool writes starts a formula (OWASP "CSV injection");
- feed readers: RSS/Atom titles and summaries are text, never markup;
- browsers: author HTML in a story body cannot style, position or impersonate site
  chrome (no style, no free id/class), and loads no media from another host.

Every check reads the real output back with a real parser: csv, feedparser, lxml.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from lxml import html as lxml_html

from conftest import NOW, Site, make_site
from exemplar_site.errors import BuildFailed
from exemplar_site.markup import Markup, Rendered
from exemplar_site.pipeline import BuildOptions
from exemplar_site.reports import write_reports

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PAYLOAD = "<img src=x onerror=alert(1)>"


def csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def assert_no_formula(rows: list[list[str]], where: str) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), (where, cell)


# --- CSV ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sms", ['=HYPERLINK("http://evil.example","点击")', "+1 110 报警求助",
                                 "-SUM(A1:A9) 为民服务", "@SUM(1+1) 为民服务", "\t=1+1 为民服务"])
def test_sms_csv_cells_cannot_start_a_formula(tmp_path: Path, sms: str) -> None:
    cfg = {"sms": {"signature": "测试公安", "write_signature": False}}
    site = make_site(tmp_path / "site", cfg)
    site.story("a", "a-1", sms=sms)
    site.story("b", "b-1", sms="张某扎根社区多年，群众称赞。")
    site.build()
    for name in ("sms/all.csv", "sms/digest-latest.csv"):
        rows = csv_rows(site.out / name)
        assert rows[0] == ["编号", "日期", "单位", "短信内容", "字数", "条数"]  # csv_headers: chinese (default)
        row, plain = sorted(rows[1:])
        assert plain[3] == "张某扎根社区多年，群众称赞。"  # ordinary text is untouched
        assert_no_formula(rows, name)
        assert row[3] == "'" + sms.strip()  # neutralised, not altered (the front matter loses the tab)
        assert row[4].isdigit() and row[5].isdigit()  # numbers stay numbers
    # the TXT files are for the SMS platform, not for a spreadsheet: unchanged
    assert (site.out / "sms/stories/a-1.txt").read_text(encoding="utf-8") == sms.strip() + "\n"


def test_report_csv_cells_cannot_start_a_formula(site: Site, tmp_path: Path) -> None:
    site.story("a", "a-1", level="city", title="=HYPERLINK(\"http://evil.example\",\"详情\")",
               private={"assessments": [{"date": dt.date(2025, 1, 10), "result": "=1+1",
                                         "by": "+北一派出所", "notes": "@SUM(A1)"}]})
    site.story("b", "b-1", status="recommended", title="-2+3 的先进事迹")
    write_reports(site.config, BuildOptions(now=NOW), tmp_path / "reports")
    files = sorted((tmp_path / "reports").glob("*.csv"))
    assert {p.name for p in files} >= {"assessments.csv", "pipeline.csv", "quotas.csv", "coverage.csv"}
    for path in files:
        assert_no_formula(csv_rows(path), path.name)
    (assess,) = list(csv.DictReader(io.StringIO((tmp_path / "reports/assessments.csv").read_text("utf-8-sig"))))
    assert assess["上次考核结果"] == "'=1+1" and assess["上次考核备注"] == "'@SUM(A1)"
    assert assess["考核周期（月）"].isdigit() and assess["逾期天数"].isdigit()
    pipeline = list(csv.DictReader(io.StringIO((tmp_path / "reports/pipeline.csv").read_text("utf-8-sig"))))
    assert "'-2+3 的先进事迹" in {r["标题"] for r in pipeline}


@pytest.mark.parametrize("value,cell", [
    ("=1+1", "'=1+1"), ("+86 110", "'+86 110"), ("-5", "'-5"), ("@cmd", "'@cmd"), ("\tx", "'\tx"),
    ("\r=1", "'\r=1"), ("正常文字", "正常文字"), ("a=1", "a=1"), ("", ""), ("【测试】=1", "【测试】=1"),
    (-5, -5), (3, 3),
])
def test_one_rule_for_every_csv_cell(value: object, cell: object) -> None:
    from exemplar_site.reports import _csv
    from exemplar_site.text import csv_cell

    assert csv_cell(value) == cell
    # the report CSVs use the same rule
    data = _csv(["h"], [[value]]).decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(data, newline=""))) == ["h"]
    assert list(csv.reader(io.StringIO(data, newline="")))[1] == [str(cell)]


# --- feeds ----------------------------------------------------------------------------------


def _feed_site(tmp_path: Path) -> Site:
    site = make_site(tmp_path / "site")
    site.story("a", "a-1", title=f"危险{PAYLOAD}标题", summary=PAYLOAD + "群众称赞 A&B。",
               body="正文 <b>加粗</b> 保留。\n")
    site.build()
    return site


def _no_img(fragment: str) -> bool:
    tree = lxml_html.fragment_fromstring(fragment, create_parent="div")
    return not tree.xpath("//img")


def test_rss_title_and_description_are_text_for_a_reader(tmp_path: Path) -> None:
    site = _feed_site(tmp_path)
    root = etree.fromstring((site.out / "feeds/all.rss.xml").read_bytes())
    (item,) = root.findall(".//item")
    title, description = item.findtext("title"), item.findtext("description")
    assert title is not None and description is not None
    # what a reader gets after XML decoding, read as HTML, is no element at all
    assert "<" not in title and ">" not in title and _no_img(title)
    assert "危险" in title and "标题" in title
    assert _no_img(description)
    assert description.startswith("&lt;img src=x")
    shown = lxml_html.fragment_fromstring(description, create_parent="div").text_content()
    assert shown == PAYLOAD + "群众称赞 A&B。"  # shown exactly as the author wrote it
    # the full body stays HTML
    ns = {"content": "http://purl.org/rss/1.0/modules/content/"}
    assert "<b>加粗</b>" in (item.findtext("content:encoded", namespaces=ns) or "")
    # and a real client agrees
    (entry,) = feedparser.parse((site.out / "feeds/all.rss.xml").read_bytes()).entries
    assert _no_img(entry.title) and _no_img(entry.summary)


def test_atom_title_and_summary_are_type_text(tmp_path: Path) -> None:
    site = _feed_site(tmp_path)
    atom = "{http://www.w3.org/2005/Atom}"
    root = etree.fromstring((site.out / "feeds/all.atom.xml").read_bytes())
    (entry,) = root.findall(f"{atom}entry")
    title, summary, content = (entry.find(f"{atom}{n}") for n in ("title", "summary", "content"))
    assert title is not None and summary is not None and content is not None
    assert title.get("type") == "text" and summary.get("type") == "text"
    assert summary.text == PAYLOAD + "群众称赞 A&B。"
    assert content.get("type") == "html" and "<b>加粗</b>" in (content.text or "")
    for el in (root.find(f"{atom}title"), root.find(f"{atom}subtitle")):
        assert el is None or el.get("type") in (None, "text")
    (parsed,) = feedparser.parse((site.out / "feeds/all.atom.xml").read_bytes()).entries
    assert parsed.title_detail.type == "text/plain" and parsed.summary_detail.type == "text/plain"


# --- story bodies ---------------------------------------------------------------------------

HOSTILE_BODY = """\
<div id="main" class="site-header nav" style="position:fixed;top:0">假冒的页头</div>

<p class="notice" style="color:red" id="story-title">冒充</p>

| 列 | 数 |
|---|---:|
| <span style="font-size:99px" class="x">大</span> | 1 |

<table><tr><td style="background:url(x)">格</td><th style="color:red" id="t">头</th></tr></table>

段落带属性
{: .hero #site-nav style="position:absolute" }

## 正常标题

### Second heading

## 自定义标题 {: .big style="color:red" }

脚注引用[^1]和另一个[^注]。

[^1]: 第一条。
[^注]: 第二条。
"""


def test_author_html_has_no_style_id_or_class_but_headings_and_footnotes_work(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    site.story("a", "a-1", slug="a", body=HOSTILE_BODY)
    site.build()
    doc = site.html("stories/a/index.html")
    (body,) = doc.xpath("//*[contains(concat(' ', @class, ' '), ' story-body ')]")
    assert not body.xpath(".//*[@style]"), [etree.tostring(e) for e in body.xpath(".//*[@style]")]
    ids = {e.get("id") for e in body.xpath(".//*[@id]")}
    classes = {c for e in body.xpath(".//*[@class]") for c in e.get("class").split()}
    assert classes <= {"footnote", "footnote-ref", "footnote-backref", "toc"}, classes
    for bad in ("main", "story-title", "site-nav", "t"):
        assert bad not in ids
    assert len(doc.xpath("//*[@id='main']")) <= 1
    # headings keep their generated ids
    heads = {h.text_content().strip(): h.get("id") for h in body.xpath(".//h2|.//h3")}
    assert heads["正常标题"] == "正常标题" and heads["Second heading"] == "second-heading"
    assert heads["自定义标题"]
    for e in body.xpath(".//*[@id]"):
        assert e.tag in {"h1", "h2", "h3", "h4", "h5", "h6", "sup", "li"}, e.tag
    # footnotes still link both ways
    refs = body.xpath(".//sup[starts-with(@id, 'fnref')]/a[@class='footnote-ref']")
    assert len(refs) == 2
    for a in refs:
        target = a.get("href").split("#", 1)[1]
        (li,) = body.xpath(f".//li[@id='{target}']")
        (back,) = li.xpath(".//a[@class='footnote-backref']")
        assert back.get("href").split("#", 1)[1] == a.getparent().get("id")
    assert body.xpath(".//div[@class='footnote']")
    # the aligned Markdown column keeps its alignment without a style attribute
    assert body.xpath(".//td[@align='right']")


@pytest.mark.parametrize("text", [
    '段落\n{: #main .site-header style="position:fixed" }',
    '> 引用\n{: class="x" id="y" style="color:red" }',
    '![图](images/a.png){: .x #y style="float:left" } 和 *强调*{: .nav #nav }',
    '<li id="fn:x" class="footnote evil">x</li>',
    '<sup id="fnref:1" class="footnote-ref"><a class="footnote-ref site-header" href="#fn:1">1</a></sup>',
    '<table><tr><td style="position:fixed" class="x" id="main">格</td></tr></table>',
])
def test_attr_list_and_raw_html_cannot_set_free_ids_or_classes(text: str) -> None:
    out = Markup("/pub/").render(text).html
    tree = lxml_html.fragment_fromstring(out, create_parent="div")
    assert not tree.xpath("//*[@style]"), out
    for e in tree.xpath("//*[@class]"):
        assert set(e.get("class").split()) <= {"footnote", "footnote-ref", "footnote-backref", "toc"}, out
    for e in tree.xpath("//*[@id]"):
        assert e.get("id").startswith(("fn:", "fnref")), out
    assert not {"main", "nav", "site-header", "x", "y"} & {v for e in tree.iter() for v in e.attrib.values()}


@pytest.mark.parametrize("src", ["http://other.example/a.png", "https://other.example/a.png",
                                 "//other.example/a.png", "HTTPS://other.example/a.png",
                                 " https://other.example/a.png"])
def test_external_media_is_removed_and_reported(src: str) -> None:
    text = (f'<img src="{src}" alt="外">\n\n'
            f'<video controls src="{src}" poster="{src}"><source src="{src}" type="video/mp4"></video>\n\n'
            f'<audio controls src="{src}"></audio>\n\n'
            f'![外链]({src.strip()})\n\n'
            '![本站](images/a.png) [外链文字](https://other.example/page)\n')
    r = Markup("/pub/").render(text)
    tree = lxml_html.fragment_fromstring(r.html, create_parent="div")
    for e in tree.xpath("//img|//video|//audio|//source"):
        for attr in ("src", "poster"):
            value = e.get(attr)
            assert value is None or value.startswith("site:"), r.html
    assert len(r.external) == 6  # img, video src and poster, source, audio, Markdown image
    assert all("other.example/a.png" in u for u in r.external)
    assert r.images == ("images/a.png",)
    # links to other hosts are fine: only media loads are refused
    assert tree.xpath("//a[@href='https://other.example/page']")


@pytest.mark.parametrize("src", ["/\\other.example/a.png", "\\\\other.example/a.png", "https:other.example/a.png",
                                 "&#x2F;&#x2F;other.example/a.png"])
def test_external_media_in_browser_spellings(src: str) -> None:
    r = Markup("/pub/").render(f'<img src="{src}" alt="外">')
    assert r.html == '<p><img alt="外"></p>' and len(r.external) == 1 and r.images == ()


def test_external_media_in_a_built_page(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    site.story("a", "a-1", slug="a", body='正文。\n\n<img src="https://other.example/x.png" alt="外">\n')
    site.write("content/pages/p.md", "---\ntitle: 页面\n---\n![外](//cdn.example/y.png)\n")
    with pytest.raises(BuildFailed) as info:
        site.build()
    where = {(p.path, p.line) for p in info.value.problems if p.is_error and "outside website" in p.message}
    text = (site.root / "content/stories/a.md").read_text(encoding="utf-8").split("\n")
    line = next(i for i, t in enumerate(text, 1) if "other.example" in t)
    assert where == {("content/stories/a.md", line), ("content/pages/p.md", 4)}
    assert not site.out.exists()
    # the same again on the next build (nothing reused from a cache hides it)
    with pytest.raises(BuildFailed):
        site.build()


def test_rendered_external_defaults_to_empty_and_plain_bodies_keep_markdown_ids() -> None:
    r = Markup("/pub/").render("普通正文，![图](images/a.png)。")
    assert r.external == ()
    assert Rendered("", (), ()).external == ()
    # headings and footnotes keep exactly the ids and classes Python-Markdown gives them
    out = Markup("/pub/").render("## 标题\n\n正文[^1]。\n\n[^1]: 注。\n").html
    assert out.startswith('<h2 id="标题">标题</h2>\n<p>正文<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">')
    assert '<div class="footnote">' in out and '<li id="fn:1">' in out and 'class="footnote-backref"' in out


@pytest.mark.parametrize("heading", ["## main", "## 标题 {#main}", "## x {#story-title}"])
def test_a_heading_cannot_take_the_id_of_site_chrome(heading: str) -> None:
    out = Markup("/pub/").render(f"{heading}\n\n正文。\n").html
    assert 'id="main"' not in out and 'id="story-title"' not in out
    assert 'id="section-' in out
