"""Every page of the built sample is valid HTML by the Nu HTML Checker (issue 20), and the theme's
reading aids are in the pages (checked without a browser).

The checker is vnu.jar from the npm registry's `vnu-jar`, installed into .test-tools/ by `.ci/run`,
run with the system's Java; skipped when either is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, Site, copy_sample, make_site

VNU = REPO / ".test-tools" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
JAVA = shutil.which("java")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Site:
    root = tmp_path_factory.mktemp("valid") / "sample"
    site = copy_sample(root)
    site.build(workers=1)
    return site


@pytest.mark.skipif(JAVA is None or not VNU.is_file(),
                    reason="the Nu HTML checker needs Java and vnu-jar in .test-tools/ (.ci/run installs them)")
def test_every_page_of_the_sample_is_valid_html(built: Site) -> None:
    pages = sorted(str(p) for p in built.out.rglob("*.html"))
    assert len(pages) > 50 and any("/print/" in p for p in pages)
    run = subprocess.run([str(JAVA), "-jar", str(VNU), "--errors-only", "--format", "json", *pages],
                         capture_output=True, text=True, timeout=300, check=False)
    messages = json.loads(run.stderr or run.stdout or '{"messages": []}')["messages"]
    errors = [f"{m.get('url', '')}:{m.get('lastLine')}: {m['message']}" for m in messages if m.get("type") == "error"]
    assert not errors, "\n".join(e.replace(built.out.as_uri(), "") for e in errors[:20])


def test_story_page_labels_source_date_and_author(site: Site) -> None:
    site.story("a", "a-1", slug="a")
    site.build()
    meta = site.html("stories/a/index.html").xpath("//dl[@class='story-meta']")[0]
    labels = [dt.text_content() for dt in meta.xpath(".//dt")]
    assert labels[:2] == ["来源", "发布时间"]
    assert meta.xpath(".//dd")[0].text_content() == "测试市公安局政治部"
    assert meta.xpath(".//dd/time")[0].get("datetime") == "2026-03-01"
    page = site.html("stories/a/index.html")
    assert page.xpath("//p[contains(@class, 'print-url')]")[0].text_content() == "本文网址：http://test.example/pub/stories/a/"
    # the reading aids: 字号 大/中/小, 适老化 and 打印 (shown by a11y.js), and the script is a file (CSP)
    assert [r.get("value") for r in page.xpath("//input[@name='a11y-size']")] == ["large", "medium", "small"]
    assert page.xpath("//*[@id='a11y-elder']") and page.xpath("//*[@id='a11y-print'][@hidden]")
    assert [s.get("src") for s in page.xpath("//head/script")] == ["../../static/a11y.js"]
    assert not [s for s in page.xpath("//script") if not s.get("src")]
    # 适老化 on every page; 字号 only where there is a story to read
    home = site.html("index.html")
    assert home.xpath("//header//*[@id='a11y-elder']") and not home.xpath("//input[@name='a11y-size']")
    assert (site.out / "static" / "a11y.css").is_file() and (site.out / "static" / "print-a4.css").is_file()


def test_no_empty_picture_box(site: Site) -> None:
    site.story("a", "a-1", slug="a", date="2026-03-01")
    site.story("b", "b-1", slug="b", date="2026-03-02", images=[{"src": "images/a.png", "alt": "一张图"}])
    site.build()
    assert not site.html("stories/a/index.html").xpath("//figure | //img[@src='']")
    assert site.html("stories/b/index.html").xpath("//figure[@class='lead-figure']//img")
    cards = site.html("stories/index.html").xpath("//article[contains(@class, 'card')]")
    with_image = [c for c in cards if c.xpath(".//*[@class='card-image']")]
    assert len(cards) == 2 and len(with_image) == 1 and with_image[0].xpath(".//img")


def test_listing_style_list_gives_the_dense_title_and_date_list(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s", listing_style="list")
    for i in range(4):
        site.story(f"s{i}", f"s-{i}", slug=f"s{i}", date=f"2026-03-0{i + 1}", title=f"第{i}篇事迹")
    site.build()
    page = site.html("stories/index.html")
    rows = page.xpath("//ul[@class='title-list']/li")
    assert len(rows) == 3  # page_size 3
    assert rows[0].xpath(".//a")[0].text_content() == "第3篇事迹"
    assert rows[0].xpath(".//time")[0].text_content() == "2026-03-04"
    assert not page.xpath("//*[contains(@class, 'card')]")
    assert page.xpath("//h2[@class='sr-only']")  # the outline: h1, then the list's heading
    # the default stays cards
    default = make_site(tmp_path / "d")
    default.story("a", "a-1", slug="a")
    default.build()
    assert default.html("stories/index.html").xpath("//div[@class='cards']/article")


def test_listing_style_is_checked_from_its_declaration(tmp_path: Path) -> None:
    from exemplar_site.config import load_config
    from exemplar_site.errors import BuildFailed

    site = make_site(tmp_path / "s", listing_style="lists")
    with pytest.raises(BuildFailed) as failed:
        load_config(site.config)
    [problem] = failed.value.problems
    assert problem.field == "listing_style"
    assert "lists" in problem.message and "list" in problem.message  # did you mean
    assert problem.accepted and "cards, list" in problem.accepted
