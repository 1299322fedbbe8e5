from __future__ import annotations

from typing import Any

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


def test_an_absolute_address_is_the_path_quoted_whatever_the_path() -> None:
    """`absolute` skips `quote` for a path it would leave as it is: the same address either way,
    for every character of the first pages of Unicode, alone and among others."""
    import random
    from urllib.parse import quote

    safe = "/#%:@!$&'()*+,;=?-._~"
    chars = [chr(c) for c in range(0x800)] + ["见", "义", "\u3000", "\U0001f600"]
    rng = random.Random(26)
    paths = chars + ["stories/" + c + "/" for c in chars]
    paths += ["".join(rng.choice(chars) for _ in range(rng.randint(0, 12))) for _ in range(20_000)]
    for path in paths:
        assert urls.absolute("http://h/pub/", path) == "http://h/pub/" + quote(path, safe=safe), repr(path)
    assert urls.absolute("http://h/", "tags/见义/") == "http://h/tags/%E8%A7%81%E4%B9%89/"


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


def test_a_query_stays_a_query() -> None:
    assert urls.relative("stories/a/", "files/a.pdf?v=2#p3") == "../../files/a.pdf?v=2#p3"
    assert urls.relative("stories/a/", "stories/b/?from=a") == "../../stories/b/index.html?from=a"
    assert urls.absolute("http://h/pub/", "files/a.pdf?v=2") == "http://h/pub/files/a.pdf?v=2"


def test_a_path_written_into_an_attribute_reads_back_as_itself() -> None:
    """attribute_path → (the HTML parser's entities, relative's escapes, the browser's decoding)
    → the same path; and site_path reads it back the same."""
    import html
    from urllib.parse import unquote, urlsplit

    for name in ["a.png", "a&b.png", "a&copy.png", "a'b.png", 'a"b.png', "工作照 (1).png", "c#1.png",
                 "100%.png", "100%41.png", "a?b.png", "<x>.png", "a b,c.png"]:
        path = f"images/{name}"
        written = urls.attribute_path(path)
        assert urls.site_path(written) == path, name
        assert not any(c in written for c in ' #?"<>'), written  # (one item of a srcset, inside quotes)
        fragment = f'<img src="site:{written}" srcset="site:{written} 480w">'
        assert urls.site_links(fragment) == [path]
        out = urls.rewrite_site_links(fragment, lambda p: urls.relative("stories/a/", p))
        for address in [out.split('src="', 1)[1].split('"', 1)[0],
                        out.split('srcset="', 1)[1].split(" ", 1)[0]]:
            browser = unquote(urlsplit(html.unescape(address)).path)
            assert browser == "../../" + path, (name, address)


def test_site_links_are_the_three_link_attributes_decoded() -> None:
    fragment = ('<a href="site:files/a&amp;b.pdf?v=2#p">x</a><abbr title="site:images/t.png">t</abbr>'
                '<video poster="site:images/%E5%9B%BE.png"></video>'
                '<img alt="site:images/u.png" src="site:images/v.png">')
    assert urls.site_links(fragment) == ["files/a&b.pdf", "images/图.png", "images/v.png"]


def test_a_link_to_this_page_stays_on_it() -> None:
    assert urls.relative("stories/a/", "?page=2") == "?page=2"
    assert urls.relative("stories/a/", "?page=2#top") == "?page=2#top"


def test_site_path_resolves_what_the_browser_resolves() -> None:
    assert urls.site_path("images/sub/../a.png") == "images/a.png"
    assert urls.site_path("images/./a.png") == "images/a.png"
    assert urls.site_path("images/%2e/a.png") == "images/a.png"
    assert urls.site_path("images//a.png") == "images/a.png"
    assert urls.site_path("stories/a/./") == "stories/a/"
    assert urls.site_path("stories/a/..") == "stories/"
    assert urls.site_path("../../etc/passwd").startswith("../")
    assert urls.normalise_internal("images\\a.png", "/") == "images/a.png"


def test_site_links_found_by_their_text_as_by_the_plain_pattern() -> None:
    """site_attributes and rewrite_site_links look for `="site:` and then at the name before it (far
    quicker than a pattern that starts with a space): on any text, what the plain patterns find."""
    import random
    import re

    srcset_re = re.compile(r'(\ssrcset)="([^"]*site:[^"]*)"')
    item_re = re.compile(r"site:(\S+)", re.ASCII)

    def plain_rewrite(fragment: str, convert: Any) -> str:
        out = urls._SITE_ATTR_RE.sub(lambda m: f'{m.group(1)}="{convert(m.group(2))}"', fragment)
        return srcset_re.sub(lambda m: m.group(1) + '="' + item_re.sub(lambda i: convert(i.group(1)), m.group(2))
                             + '"', out)

    pieces = [' src="site:a.png"', '\thref="site:x/y.html#f"', '\nposter="site:v.jpg"', ' title="site:t"',
              'xsrc="site:n"', ' srcset="site:a-480w.png 480w, site:a.png 800w"', 'data-srcset="site:d 1w"',
              ' href="https://e.example/"', '"', "=", "site:", " ", "src", "href", "<img", ">", "文", "\u3000src"]
    rng = random.Random(20261201)
    for _ in range(5000):
        fragment = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert urls.site_attributes(fragment) == [(name[1:], raw) for name, raw in urls._SITE_ATTR_RE.findall(fragment)]
        assert urls.rewrite_site_links(fragment, str.upper) == plain_rewrite(fragment, str.upper), fragment
