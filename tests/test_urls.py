from __future__ import annotations

from exemplar_site import urls


def test_relative_links_end_in_index_html() -> None:
    assert urls.relative("stories/a/", "stories/b/") == "../../stories/b/index.html"
    assert urls.relative("", "stories/b/") == "stories/b/index.html"
    assert urls.relative("units/x/page/2/", "") == "../../../../index.html"
    assert urls.relative("stories/a/", "static/site.css") == "../../static/site.css"
    assert urls.relative("404.html", "feeds/all.rss.xml") == "feeds/all.rss.xml"
    assert urls.relative("stories/a/", "stories/a/#h") == "../../stories/a/index.html#h"
    assert urls.relative("stories/a/", "#h") == "#h"
    assert urls.relative("", "tags/见义/") == "tags/%E8%A7%81%E4%B9%89/index.html"


def test_absolute_and_paging() -> None:
    assert urls.absolute("http://h/pub/", "stories/a/") == "http://h/pub/stories/a/"
    assert urls.paged("tags/x/", 1) == "tags/x/"
    assert urls.paged("tags/x/", 3) == "tags/x/page/3/"


def test_normalise_internal_links() -> None:
    n = urls.normalise_internal
    assert n("images/a.png", "/pub/") == "images/a.png"
    assert n("../images/a.png", "/pub/") == "images/a.png"
    assert n("/pub/stories/x/", "/pub/") == "stories/x/"
    assert n("/stories/x/", "/pub/") == "stories/x/"
    assert n("https://example.com/", "/") is None
    assert n("#top", "/") is None and n("mailto:a@b", "/") is None


def test_rewrite_site_links() -> None:
    html = '<a href="site:stories/x/">x</a><img src="site:images/a.png">'
    out = urls.rewrite_site_links(html, lambda p: "/abs/" + p)
    assert out == '<a href="/abs/stories/x/">x</a><img src="/abs/images/a.png">'
