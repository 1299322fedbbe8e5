"""`build.py wechat ID` (公众号 article HTML) and the campaign booklet page (issue 20)."""

from __future__ import annotations

import datetime as dt
import random
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import NOW, Site, make_site
from exemplar_site.cli import main
from exemplar_site.pipeline import BuildOptions, build_site
from exemplar_site.wechat import LIMIT

pytestmark = pytest.mark.usefixtures("clock")  # (wechat checks its --now against the clock)

BODY = ("他扎根社区多年，见[市局通报](https://www.example.gov.cn/tongbao/1.html)和"
        "[另一篇事迹](/pub/stories/b/)。\n\n## 事迹\n\n"
        "详见[公众号旧文](https://mp.weixin.qq.com/s/abc)，再见[市局通报](https://www.example.gov.cn/tongbao/1.html)。"
        "[^1]\n\n[^1]: 据市局政治部材料。\n")


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(text: str) -> list[tuple[str, dict[str, str | None]]]:
    p = _Elements()
    p.feed(text)
    return p.found


def wechat_site(tmp_path: Path) -> Site:
    site = make_site(tmp_path / "s")
    site.story("a", "a-1", slug="a", body=BODY, images=[{"src": "images/a.png", "alt": "民警在社区走访",
                                                         "caption": "走访群众"}])
    site.story("b", "b-1", slug="b", date=dt.date(2026, 3, 2))
    site.build()
    return site


def test_wechat_article_is_inline_styled_with_links_footnoted(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                              ) -> None:
    site = wechat_site(tmp_path)
    out = tmp_path / "wx"
    assert main(["wechat", "a-1", "--config", str(site.config), "--output", str(out), "--now", "2026-11-24",
                 "--lang", "en"]) == 0
    printed = capsys.readouterr()
    text = (out / "article.html").read_text(encoding="utf-8")
    for banned in ("<style", "<script", "class=", " id=", "var(", "<link"):
        assert banned not in text, banned
    found = elements(text)
    unstyled = [tag for tag, a in found if not a.get("style") and tag not in ("section", "br", "a", "strong", "em")]
    assert found and not unstyled  # every element's look is in its own style attribute
    assert all(set(a) <= {"style", "href", "src", "alt"} for _, a in found)
    # outside links → numbered footnotes (the same address once), the platform's own link stays live
    hrefs = [a["href"] for tag, a in found if tag == "a"]
    assert hrefs == ["https://mp.weixin.qq.com/s/abc"]
    assert text.count("[1]") >= 2 and "参考链接" in text
    assert "[1] 市局通报：https://www.example.gov.cn/tongbao/1.html" in text
    assert "[2] 另一篇事迹：http://test.example/pub/stories/b/" in text
    # footnotes within the story (Markdown's) keep their text, lose their in-page links
    assert "据市局政治部材料" in text and "#fn" not in text
    # the picture for upload, in its place, with its caption; copied beside the preview
    assert re.search(r'<img alt="民警在社区走访" src="images/a.png" style="[^"]+">', text)
    assert "图1　走访群众" in text and (out / "images" / "a.png").is_file()
    assert "picture 1 to upload" in printed.out and "走访群众" in printed.out
    # the preview page: the article and a copy button
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="copy"' in page and "复制正文" in page and "走访群众" in page
    assert "warning" not in printed.err


def test_wechat_copies_a_picture_in_the_text_whatever_its_name(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site(tmp_path / "s")
    shutil.copyfile(site.root / "content/images/a.png", site.root / "content/images/工作照 (1)&.png")
    site.story("a", "a-1", slug="a", body="他扎根社区。\n\n![路牌](<images/工作照 (1)&.png>)\n")
    site.build()
    out = tmp_path / "wx"
    assert main(["wechat", "a-1", "--config", str(site.config), "--output", str(out), "--now", "2026-11-24",
                 "--lang", "en"]) == 0
    printed = capsys.readouterr()
    assert "not in the built site" not in printed.out + printed.err
    assert (out / "images" / "工作照 (1)&.png").is_file()
    assert "picture 1 to upload" in printed.out


def test_wechat_copies_only_pictures_the_site_publishes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A link that climbs out of the site (escaped or not) names no picture to upload: nothing is
    copied from content/ (an original, metadata and all) nor written outside the export folder."""
    site = make_site(tmp_path / "s")
    shutil.copyfile(site.root / "content/images/a.png", site.root / "content/images/secret.png")
    site.story("a", "a-1", slug="a", body="正文。\n\n![图](images/a.png)\n\n"
                                         "![x](images/..%2F..%2Fcontent%2Fimages%2Fsecret.png)\n\n"
                                         "![y](images/../../content/images/secret.png)\n")
    site.build()
    out = tmp_path / "wx" / "a-1"
    main(["wechat", "a-1", "--config", str(site.config), "--output", str(out), "--now", "2026-11-24", "--lang", "en"])
    capsys.readouterr()
    assert not [p for p in tmp_path.rglob("*secret*") if not p.is_relative_to(site.root / "content")]
    assert [p.relative_to(out).as_posix() for p in out.rglob("*.png")] == ["images/a.png"]


def test_wechat_warns_above_the_editors_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site(tmp_path / "s")
    site.story("a", "a-1", slug="a", body="\n\n".join("群众都说他是贴心人，事事办在心坎上。" * 40 for _ in range(40)))
    assert main(["wechat", "a-1", "--config", str(site.config), "--output", str(tmp_path / "wx"),
                 "--now", "2026-11-24", "--lang", "en"]) == 0
    err = capsys.readouterr().err
    assert f"at most {LIMIT}" in err


def test_wechat_refuses_an_unknown_story_and_writing_into_the_site(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    site = wechat_site(tmp_path)
    assert main(["wechat", "nope", "--config", str(site.config), "--now", "2026-11-24", "--lang", "en"]) == 1
    assert "no public story with id nope" in capsys.readouterr().err
    assert main(["wechat", "a-1", "--config", str(site.config), "--output", str(site.out / "wx"),
                 "--now", "2026-11-24", "--lang", "en"]) == 2
    assert not (site.out / "wx").exists()


def test_campaign_booklet_holds_cover_contents_and_every_story(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s")
    for i in range(3):
        site.story(f"s{i}", f"s-{i}", slug=f"p{i}", date=dt.date(2026, 3, 1 + i), campaigns=["c"],
                   title=f"第{i}篇", body=f"正文{i}[^1]\n\n[^1]: 注{i}\n")
    site.story("x", "x-1", slug="x", date=dt.date(2026, 3, 9))  # in no campaign
    site.write("content/campaigns/c.md",
               "---\ntitle: 学习活动甲\ndate: 2026-01-01\ndecision: 江公政〔2026〕1号\n---\n说明。\n")
    site.build()
    page = site.html("campaigns/c/print/index.html")
    assert page.xpath("//header[@class='booklet-cover']//h1")[0].text_content() == "学习活动甲"
    toc = [a.text_content() for a in page.xpath("//nav[@class='booklet-toc']//a")]
    assert toc == ["第2篇", "第1篇", "第0篇"]
    sections = page.xpath("//section[@class='booklet-story']")
    assert [s.get("id") for s in sections] == ["story-s-2", "story-s-1", "story-s-0"]
    ids = page.xpath("//@id")
    assert len(ids) == len(set(ids))  # each story's footnote ids made its own
    assert "第" not in "".join(x.text_content() for x in page.xpath("//section[@id='story-x-1']"))
    assert 'campaigns/c/print/index.html">学习资料汇编' in site.text_of("campaigns/c/index.html")


def test_booklet_incremental_build_equals_clean(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s")
    for i in range(3):
        site.story(f"s{i}", f"s-{i}", slug=f"p{i}", date=dt.date(2026, 3, 1 + i), campaigns=["c"])
    site.write("content/campaigns/c.md", "---\ntitle: 活动\ndate: 2026-01-01\n---\n说明。\n")
    site.build()
    site.story("s1", "s-1", slug="p1", date=dt.date(2026, 3, 2), campaigns=["c"], body="改过的正文。")
    site.build()
    assert "改过的正文" in site.text_of("campaigns/c/print/index.html")
    site.write("content/campaigns/c.md", "---\ntitle: 改名的活动\ndate: 2026-01-01\n---\n说明。\n")
    site.build()
    assert "改名的活动" in site.text_of("campaigns/c/print/index.html")
    site.story("s2", "s-2", slug="p2", date=dt.date(2026, 3, 3), campaigns=[])
    site.build()
    assert "p2" not in site.text_of("campaigns/c/print/index.html")
    clean = tmp_path / f"clean-{random.random()}"
    build_site(site.config, BuildOptions(now=NOW, output=clean, cache=False))
    tree = {p.relative_to(clean).as_posix(): p.read_bytes() for p in sorted(clean.rglob("*")) if p.is_file()}
    assert {p.relative_to(site.out).as_posix(): p.read_bytes()
            for p in sorted(site.out.rglob("*")) if p.is_file()} == tree
    shutil.rmtree(clean)
