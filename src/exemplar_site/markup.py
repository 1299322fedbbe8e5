"""One configured Python-Markdown, used for every body.

Raw HTML in a story is allowed but cleaned with nh3 (no scripts, styles,
event handlers or iframes). Internal links and images become "site:<path>"
so that pages and feeds can each make them relative or absolute.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import markdown
import nh3
from markdown.extensions.toc import slugify_unicode

from . import urls

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del",
    "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr",
    "u", "ul", "video", "audio", "source", "sup",
}
_ALLOWED_ATTRS = {
    "*": {"id", "class", "title", "lang"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "loading"},
    "td": {"colspan", "rowspan", "align", "style"},
    "th": {"colspan", "rowspan", "align", "scope", "style"},
    "ol": {"start"},
    "time": {"datetime"},
    "video": {"src", "controls", "poster", "width", "height"},
    "audio": {"src", "controls"},
    "source": {"src", "type"},
}
_URL_ATTR_RE = re.compile(r'(\s(?:href|src|poster))="([^"]*)"')


@dataclass(frozen=True)
class Rendered:
    html: str
    links: tuple[str, ...]  # internal site paths linked to (for `check`)
    images: tuple[str, ...]  # internal site paths of images


class Markup:
    """Reuse one instance per process or worker; render() resets it."""

    def __init__(self, base_path: str = "/") -> None:
        self.base_path = base_path
        self._md = markdown.Markdown(
            extensions=["extra", "sane_lists", "toc", "smarty"],
            extension_configs={
                "toc": {"slugify": slugify_unicode, "permalink": False},
                "smarty": {"smart_quotes": False, "smart_angled_quotes": False},
            },
            output_format="html",
        )

    def render(self, text: str) -> Rendered:
        self._md.reset()
        raw = self._md.convert(text)
        clean = nh3.clean(raw, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRS,
                          url_schemes={"http", "https", "mailto", "tel"},
                          link_rel=None, strip_comments=True)
        links: list[str] = []
        images: list[str] = []

        def fix(match: re.Match[str]) -> str:
            attr, value = match.group(1), html.unescape(match.group(2))
            site = urls.normalise_internal(value, self.base_path)
            if site is None:
                return match.group(0)
            (images if attr.strip() in ("src", "poster") else links).append(site.split("#")[0])
            return f'{attr}="{urls.SITE_SCHEME}{html.escape(site, quote=True)}"'

        out = _URL_ATTR_RE.sub(fix, clean)
        return Rendered(out, tuple(links), tuple(images))
