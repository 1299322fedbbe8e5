"""The URL scheme in one place.

Site paths are '/'-separated, relative to the site root, with no leading
slash: "stories/<slug>/" for a page (a folder holding index.html),
"feeds/all.xml" for a file. Pages link to each other with relative links
that end in index.html, so the site works under any base_path and when
opened from disk; feeds and the sitemap use absolute pretty URLs.

Story bodies carry internal links as "site:<path>" until a renderer turns
them into relative (pages) or absolute (feeds) links.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Callable
from urllib.parse import quote, unquote

SITE_SCHEME = "site:"
_SAFE_RE = re.compile(r"^[A-Za-z0-9/._~-]*$")
# href/src/poster="site:…" (what the browser follows: other attributes link nothing), found by the
# text `="site:` and then the name before it: a pattern that starts with a literal is searched for
# far faster than one that starts with \s (~4 times, for the bodies of a site: every page's links
# and every body's images are read this way); _SITE_ATTR_RE is what the two together match
_SITE_VALUE_RE = re.compile(r'="site:([^"]*)"')
_LINK_NAME_RE = re.compile(r"\s(?:href|src|poster)\Z")  # (searched for in the 7 characters before it)
_SITE_ATTR_RE = re.compile(r'(\s(?:href|src|poster))="site:([^"]*)"')
_SRCSET_VALUE_RE = re.compile(r'srcset="([^"]*site:[^"]*)"')  # (after a space: \ssrcset="…")
_SRCSET_ITEM_RE = re.compile(r"site:(\S+)", re.ASCII)  # (a srcset's items are split at ASCII spaces only)
_ATTR_UNSAFE_RE = re.compile(r'[% #?&<>"]')
_ATTR_ESCAPES = str.maketrans({"%": "%25", " ": "%20", "#": "%23", "?": "%3F", "&": "&amp;", "<": "&lt;", ">": "&gt;",
                               '"': "&quot;"})


def story(slug: str) -> str:
    return f"stories/{slug}/"


def listing(family: str, key: str, page: int = 1) -> str:
    base = f"{family}/{key}/"
    return base if page <= 1 else f"{base}page/{page}/"


def paged(base: str, page: int) -> str:
    return base if page <= 1 else f"{base}page/{page}/"


def file_of(path: str) -> str:
    """The file a site path is written to."""
    return path + "index.html" if path == "" or path.endswith("/") else path


def up(from_path: str) -> str:
    """The prefix that leads from the page at `from_path` back to the site root."""
    return "../" * from_path.count("/")


def relative(from_path: str, to_path: str) -> str:
    """Link from the page at `from_path` to `to_path`, both site paths.

    Always up to the root and down again ("../../stories/b/index.html"): correct
    from any depth, cheap, and the same for every page at one depth.
    """
    if to_path.startswith(("#", "?")):  # (this page, another part or query of it)
        return to_path
    fragment = ""
    if "#" in to_path:
        to_path, frag = to_path.split("#", 1)
        fragment = "#" + frag
    if "?" in to_path:  # a query is the author's (images/a.png?v=2): the file is the path before it
        to_path, query = to_path.split("?", 1)
        fragment = "?" + query + fragment
    target = file_of(to_path)
    if not _SAFE_RE.match(target):
        target = quote(target, safe="/#%:@!$&'()*+,;=-._~")
    return up(from_path) + target + fragment


_ABSOLUTE_SAFE = "/#%:@!$&'()*+,;=?-._~"
# a path that `quote(path, safe=_ABSOLUTE_SAFE)` leaves as it is (nearly every path: a slug is pinyin)
_ABSOLUTE_PLAIN = re.compile("[A-Za-z0-9" + re.escape(_ABSOLUTE_SAFE) + "]*")


def absolute(site_url: str, path: str) -> str:
    """Absolute pretty URL: site_url ends in '/', path is a site path."""
    if _ABSOLUTE_PLAIN.fullmatch(path):  # (quote's own work is ~1.5 µs a path: every sitemap and feed entry)
        return site_url + path
    return site_url + quote(path, safe=_ABSOLUTE_SAFE)  # (a query is kept, as relative keeps it)


def normalise_internal(url: str, base_path: str) -> str | None:
    """An author's link → a site path, or None if it points outside the site.

    Accepts 'images/a.png', '../images/a.png', '/images/a.png' and
    '/<base_path>/images/a.png'.
    """
    if not url or url.startswith(("#", "//", "mailto:", "tel:", "data:")) \
            or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        return None
    path = url.replace("\\", "/")  # (as a browser reads a web address)
    if path.startswith(base_path) and base_path != "/":
        path = path[len(base_path):]
    while path.startswith(("../", "./", "/")):
        path = path[3:] if path.startswith("../") else path[2:] if path.startswith("./") else path[1:]
    if path.startswith("content/"):
        path = path[len("content/"):]
    return path


def site_path(raw: str) -> str:
    """A site: link as it stands in an attribute ('images/a&amp;b.png?v=2') → the site path the
    browser and the web server read from it ('images/a&b.png'): entities and percent escapes
    decoded, without its #fragment or ?query, '.' and '..' segments resolved. Every reader of
    site: links goes through this, so the image that is published, the attachment that is copied,
    the link `check` follows and the address the browser asks for are one and the same."""
    if "&" not in raw and "%" not in raw and "#" not in raw and "?" not in raw:
        return _without_dots(raw)
    return _without_dots(unquote(html.unescape(raw).split("#", 1)[0].split("?", 1)[0]))


def _without_dots(path: str) -> str:
    """A path with its '.' and '..' segments and empty ones resolved, as the browser resolves them
    ('images/sub/../a.png' → 'images/a.png'; a folder keeps its '/'; one that climbs out of the site
    keeps its leading '..')."""
    if not ("./" in path or "//" in path or path.endswith(("/.", "/..")) or path in (".", "..")):
        return path
    folder = path.endswith(("/", "/.", "/..")) or path in (".", "..")
    norm = posixpath.normpath(path)
    if norm == ".":
        return ""
    return norm + "/" if folder else norm


def site_attributes(fragment: str) -> list[tuple[str, str]]:
    """(name, value as written after site:) of every href/src/poster="site:<path>" of a fragment,
    in order: _SITE_ATTR_RE.findall's, without the space before the name."""
    if "site:" not in fragment:
        return []
    out = []
    for m in _SITE_VALUE_RE.finditer(fragment):
        at = m.start()
        name = _LINK_NAME_RE.search(fragment, max(0, at - 7), at)
        if name is not None:
            out.append((fragment[name.start() + 1:at], m.group(1)))
    return out


def site_links(fragment: str) -> list[str]:
    """The site path (site_path) of every href/src/poster="site:<path>" of a fragment, in order:
    those rewrite_site_links rewrites. (Other attributes, a title say, link nothing.)"""
    return [site_path(raw) for _, raw in site_attributes(fragment)]


def site_paths(fragment: str) -> set[str]:
    """site_links, each once."""
    return set(site_links(fragment))


def attribute_path(path: str) -> str:
    """A file's site path as written after site: into a double-quoted attribute, srcset included:
    what the browser would read otherwise (%, space, #, ?) percent-escaped, and &, <, >, " as
    entities, so that site_path reads back `path` itself."""
    if not _ATTR_UNSAFE_RE.search(path):
        return path
    return path.translate(_ATTR_ESCAPES)


def rewrite_site_links(fragment: str, convert: Callable[[str], str]) -> str:
    """Replace every href/src="site:<path>" with convert(path), and each site:<path> of a srcset."""
    out = _sub_after(_SITE_VALUE_RE, _LINK_NAME_RE, 7, fragment, lambda m: f'="{convert(m.group(1))}"') \
        if "site:" in fragment else fragment
    if "srcset=" not in out:
        return out
    return _sub_after(_SRCSET_VALUE_RE, _SPACE_RE, 1, out,
                      lambda m: 'srcset="' + _SRCSET_ITEM_RE.sub(lambda i: convert(i.group(1)), m.group(1)) + '"')


_SPACE_RE = re.compile(r"\s\Z")


def _sub_after(pattern: re.Pattern[str], before: re.Pattern[str], width: int, text: str,
               replace: Callable[[re.Match[str]], str]) -> str:
    """pattern.sub(replace, text) for the matches that `before` finds in the `width` characters
    in front of them (each match's own text has a quote at each end only: a match left alone
    never hides another)."""
    pieces: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        at = m.start()
        if before.search(text, max(0, at - width), at) is not None:
            pieces += (text[last:at], replace(m))
            last = m.end()
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)
