"""One configured Python-Markdown, used for every body.

Raw HTML in a story is allowed but cleaned with nh3 (no scripts, styles,
event handlers or iframes). Internal links and images become "site:<path>"
so that pages and feeds can each make them relative or absolute.

A story body may not dress itself up as site chrome: no `style` attribute
anywhere (aligned table columns get the `align` attribute instead), `id` only
on headings (the toc extension's, or an author's) and on footnotes in
Python-Markdown's own shape (fn:…, fnref…:…), `class` only the footnote
classes and the [TOC] box's "toc".
This holds for raw HTML and for attr_list's `{: #id .class style=…}` alike:
nh3 cleans the Markdown output, whatever wrote it. Media from another host
(img/video/audio/source src or poster of http:, https:, //host) is removed:
the intranet site loads nothing from outside; Rendered.external lists it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from xml.etree import ElementTree as etree

import markdown
import nh3
from markdown.extensions import toc
from markdown.extensions.attr_list import AttrListExtension
from markdown.extensions.fenced_code import FencedCodeExtension
from markdown.extensions.footnotes import FootnoteExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.tables import TableExtension
from markdown.extensions.toc import TocTreeprocessor, slugify_unicode
from markdown.treeprocessors import InlineProcessor

from . import text as textmod
from . import urls

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del",
    "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr",
    "u", "ul", "video", "audio", "source",
}
_ALLOWED_ATTRS = {
    "*": {"id", "class", "title", "lang"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "loading"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start"},
    "time": {"datetime"},
    "video": {"src", "controls", "poster", "width", "height"},
    "audio": {"src", "controls"},
    "source": {"src", "type"},
}
_URL_ATTR_RE = re.compile(r'(\s(?:href|src|poster))="([^"]*)"')
# nh3 writes what it keeps as the HTML serialiser does: no raw '<' in text (it is &lt;), attribute
# values in double quotes with no raw '"' in them (&quot;). So a tag with attributes is '<' up to the
# first '>' outside quotes, and any other '"' is text: escaped here, no text can pass for an
# attribute (a code sample `<img src="images/x.jpg">` published x.jpg, and had its text rewritten).
_TAG_OR_QUOTE_RE = re.compile(r'<[^>"]*"[^"]*"(?:[^>"]*"[^"]*")*[^>"]*>|"')
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# What Python-Markdown's footnotes extension writes: <sup id="fnref:1"> (fnref2:1 for a second
# reference) holding <a class="footnote-ref">, <div class="footnote"> with <li id="fn:1"> and
# <a class="footnote-backref">; and the toc extension's <div class="toc"> for a [TOC] marker.
_FOOTNOTE_IDS = {"sup": re.compile(r"fnref\d*:\S"), "li": re.compile(r"fn:\S")}
_GENERATED_CLASSES = {"div": {"footnote", "toc"}, "a": {"footnote-ref", "footnote-backref"}}
# A media source that makes the browser fetch from another host. Browsers drop leading
# spaces and control characters and read a backslash as a slash.
_EXTERNAL_RE = re.compile(r"^[\x00-\x20]*(?:https?:|[/\\][\t\n\r]*[/\\])", re.IGNORECASE)


_CHROME_IDS = {"main", "top", "header", "footer", "nav", "content", "search", "skip"}


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    """nh3's last word on each allowed attribute: ids and classes only in the shapes above."""
    if attr == "id":
        if tag in _HEADINGS:
            # never the id of a landmark the theme uses (the skip link's #main, the *-title labels)
            return f"section-{value}" if value.lower() in _CHROME_IDS or value.lower().endswith("-title") else value
        shape = _FOOTNOTE_IDS.get(tag)
        return value if shape is not None and shape.match(value) else None
    if attr == "class":
        allowed = _GENERATED_CLASSES.get(tag)
        if not allowed:
            return None
        kept = [c for c in value.split() if c in allowed]
        return " ".join(kept) if kept else None
    return value


@dataclass(frozen=True)
class Rendered:
    html: str
    links: tuple[str, ...]  # internal site paths linked to (for `check`)
    images: tuple[str, ...]  # internal site paths of images
    chars: int = 0  # visible characters, spaces excluded
    cjk: int = 0  # CJK ideographs (for reading time)
    words: int = 0  # Latin words (for reading time)
    lead_html: str = ""  # the opening paragraphs cut to the summary length: the derived summary
    external: tuple[str, ...] = ()  # media sources on other hosts, removed from `html` (an error for the build)
    external_lines: tuple[int, ...] = ()  # for each of them, its line in the Markdown text (0 = first)


# Every inline pattern Python-Markdown and our extensions register needs one of these to match:
# backslash escapes, code, emphasis, links, images, footnote references, raw HTML, entities, and
# the two-space line break. Chinese paragraphs seldom contain any.
_INLINE_TRIGGER = re.compile(r"[\\`*_\[!<&]|  \n")


# The quick passes below override a private method of Python-Markdown's inline processor and
# re-implement part of its toc pass. They are used only with the Markdown versions whose output
# tests/test_markup.py compared against the stock passes; with any other version the stock passes
# run (slower, same output).
TESTED_MARKDOWN = ((3, 5), (3, 6), (3, 7), (3, 8), (3, 9), (3, 10), (3, 11))
QUICK_PASSES = tuple(markdown.__version_info__[:2]) in TESTED_MARKDOWN \
    and hasattr(InlineProcessor, "_InlineProcessor__handleInline")


class _QuickInline(InlineProcessor):
    """Python-Markdown's inline pass, skipping text in which no inline pattern can match.

    The stock processor tries each of its ~17 patterns on every text node; for
    Chinese prose that is most of the cost of a story and never finds anything.
    The output is identical (tests/test_markup.py compares the two on varied text).
    """

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:  # the stock names
        if patternIndex == 0 and not _INLINE_TRIGGER.search(data):
            return data
        return InlineProcessor._InlineProcessor__handleInline(self, data, patternIndex)  # type: ignore[attr-defined, no-any-return]


class _QuickToc(TocTreeprocessor):
    """The toc extension's pass, giving headings the same ids, without building the table of
    contents nobody asked for: that is done (by the stock pass) only when the text has the marker.
    Identical output (tests/test_markup.py)."""

    def run(self, doc: etree.Element) -> None:
        if self.marker and any(self.marker in line for line in self.md.lines):  # type: ignore[attr-defined]
            return super().run(doc)
        used_ids = {el.attrib["id"] for el in doc.iter() if "id" in el.attrib}
        id_counters: dict[str, int] = {}
        for el in doc.iter():
            if isinstance(el.tag, str) and self.header_rgx.match(el.tag):
                self.set_level(el)
                if "id" not in el.attrib:
                    name = toc.strip_tags(toc.render_inner_html(toc.remove_fnrefs(el), self.md))
                    el.attrib["id"] = toc.unique(self.slugify(html.unescape(name), self.sep), used_ids, id_counters)
                el.attrib.pop("data-toc-label", None)
        self.md.toc_tokens = []  # type: ignore[attr-defined]
        self.md.toc = ""  # type: ignore[attr-defined]
        return None


class Markup:
    """Reuse one instance per process or worker; render() resets it."""

    def __init__(self, base_path: str = "/", summary_length: int = 120) -> None:
        self.base_path = base_path
        self.summary_length = summary_length
        self._instance: markdown.Markdown | None = None  # made on first use: many builds render nothing

    @property
    def _md(self) -> markdown.Markdown:
        md = self._instance
        if md is None:
            md = self._instance = markdown.Markdown(
                # "extra" minus abbr/def_list/md_in_html, and no smarty: it doubles the cost and
                # does nothing for Chinese punctuation. Given as the extensions themselves, not by
                # name: a name is looked up among the entry points of every installed package
                # (~30 ms the first time in a process, and a package could register its own "toc").
                extensions=[TableExtension(use_align_attribute=True),  # align="right", not style
                            FencedCodeExtension(), AttrListExtension(), FootnoteExtension(), SaneListExtension(),
                            toc.TocExtension(slugify=slugify_unicode, permalink=False)],
                output_format="html",
            )
            if QUICK_PASSES:  # same names and priorities as the stock passes
                md.treeprocessors.register(_QuickInline(md), "inline", 20)
                toc_ext = next(e for e in md.registeredExtensions if isinstance(e, toc.TocExtension))
                md.treeprocessors.register(_QuickToc(md, toc_ext.getConfigs()), "toc", 5)
        return md

    def render(self, text: str) -> Rendered:
        self._md.reset()
        raw = self._md.convert(text)
        clean = nh3.clean(raw, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRS,
                          attribute_filter=_attribute_filter,
                          url_schemes={"http", "https", "mailto", "tel"},
                          link_rel=None, strip_comments=True)
        links: list[str] = []
        images: list[str] = []
        external: list[str] = []

        def fix(match: re.Match[str]) -> str:
            attr, value = match.group(1), html.unescape(match.group(2))
            if attr.strip() in ("src", "poster") and _EXTERNAL_RE.match(value):
                external.append(value.strip())  # only media elements have src/poster (_ALLOWED_ATTRS)
                return ""
            site = urls.normalise_internal(value, self.base_path)
            if site is None:
                return match.group(0)
            (images if attr.strip() in ("src", "poster") else links).append(site.split("#")[0])
            return f'{attr}="{urls.SITE_SCHEME}{html.escape(site, quote=True)}"'

        def piece(m: re.Match[str]) -> str:
            found = m.group(0)
            return "&quot;" if found == '"' else _URL_ATTR_RE.sub(fix, found)

        out = _TAG_OR_QUOTE_RE.sub(piece, clean) if '"' in clean else clean
        plain = textmod.strip_tags(out)
        cjk, words = textmod.cjk_and_words(plain)
        lead, _ = textmod.truncate_html(_first_paragraphs(out), self.summary_length)
        lines = text.split("\n")
        where = tuple(next((i for i, line in enumerate(lines) if url in line or html.escape(url) in line), 0)
                      for url in external) if external else ()
        return Rendered(out, tuple(links), tuple(images), len(plain.replace(" ", "")), cjk, words, lead,
                        tuple(external), where)


_LEADING_HEADINGS_RE = re.compile(r"^(\s*<h[1-6][^>]*>.*?</h[1-6]>)+\s*", re.S | re.I)


def _first_paragraphs(fragment: str) -> str:
    """The body after any opening headings, up to the next heading, table or list:
    what a summary is cut from."""
    fragment = _LEADING_HEADINGS_RE.sub("", fragment)
    lowered = fragment.lower()
    cut = len(fragment)
    for marker in ("<h1", "<h2", "<h3", "<table", "<ul", "<ol", "<figure"):
        i = lowered.find(marker, 1)
        if i != -1:
            cut = min(cut, i)
    return fragment[:cut] if cut > 20 else fragment
