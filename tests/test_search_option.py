"""The `search` site option: `search: false` builds a site with no search page, no index files and
no search box in any page's header; turned on again, search comes back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html
from test_search import populate

from conftest import Site, make_site
from exemplar_site.errors import BuildFailed


def header_boxes(out: Path) -> dict[str, int]:
    """Every HTML page of the output → how many search boxes it holds (a search form with its
    search field counts one; a form or a field alone counts too)."""
    found = {}
    for path in sorted(out.rglob("*.html")):
        page: Any = lxml_html.fromstring(path.read_bytes())
        forms = page.xpath("//form[@role='search' or contains(@class,'search')]")
        fields = page.xpath("//input[@type='search']")
        found[path.relative_to(out).as_posix()] = max(len(forms), len(fields))
    return found


def test_search_false_means_no_page_no_index_and_no_box(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s", {"search": False})
    populate(site)
    site.build()
    assert not (site.out / "search").exists()
    boxes = header_boxes(site.out)
    assert "index.html" in boxes and "stories/a/index.html" in boxes and len(boxes) > 10
    assert not {p: n for p, n in boxes.items() if n}, "a search box on a site without search"
    # (the theme's static folder is copied whole: its script stays, linked from no page)
    assert [p for p in site.files() if "search" in p] == ["static/search.js"]
    for path in site.out.rglob("*.html"):  # and no link to where it would be
        page: Any = lxml_html.fromstring(path.read_bytes())
        assert not [a for a in page.xpath("//@href | //@action | //@src") if "search" in a], path


def test_search_is_on_by_default_and_can_be_turned_off_and_on_again(site: Site) -> None:
    populate(site)
    site.build()
    assert (site.out / "search/index.html").is_file() and (site.out / "search/data/meta.js").is_file()
    on = header_boxes(site.out)
    # the header's box on every page but the search page (its own form instead) and the withdrawal
    # notice (the site's brand and nothing else)
    assert {p for p, n in on.items() if n != 1} == {"withdrawn.html"}, on
    assert site.html("index.html").xpath("//form[contains(@class,'header-search')]/@action") == ["search/index.html"]
    before = site.files()

    config = site.config.read_text(encoding="utf-8")
    site.config.write_text(config + "search: false\n", encoding="utf-8")
    site.build()  # an incremental build: the search files go, every page loses its box
    assert not (site.out / "search").exists()
    assert not any(header_boxes(site.out).values())

    site.config.write_text(config + "search: true\n", encoding="utf-8")
    site.build()
    assert site.files() == before


def test_search_takes_true_or_false_only(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s", {"search": "关闭"})
    populate(site)
    with pytest.raises(BuildFailed) as failed:
        site.build()
    problems = [p for p in failed.value.problems if p.field == "search"]
    assert len(problems) == 1 and problems[0].line is not None
    assert "true" in (problems[0].accepted or "") and "false" in (problems[0].accepted or "")
    assert not (site.out / "search").exists()
