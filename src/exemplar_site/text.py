"""Text functions that are right for Chinese: counting, cutting, slugs.

All pure. A CJK ideograph counts as one character and as one "word";
sentences end at 。！？； (and their ASCII forms), and a cut never falls
inside a tag, an entity or a character.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
import urllib.parse
from html.parser import HTMLParser

from .i18n import N_, _

SENTENCE_ENDS = "。！？；!?;"
_CLOSERS = "”’」』）)》】"
ELLIPSIS = "…"
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")  # (runs: one match each)
_LATIN_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:[.'’-][A-Za-z0-9]+)*")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def cjk_and_words(text: str) -> tuple[int, int]:
    """CJK ideographs and Latin words in a text."""
    return len(text) - len(_CJK_RE.sub("", text)), len(_LATIN_WORD_RE.findall(text))


def minutes_for(cjk: int, words: int, chars_per_minute: int = 400) -> int:
    """Reading time: CJK characters at `chars_per_minute`, Latin words at a third of it."""
    return max(1, math.ceil((cjk + words * 3) / chars_per_minute))


def reading_minutes(text: str, chars_per_minute: int = 400) -> int:
    return minutes_for(*cjk_and_words(text), chars_per_minute)


def slugify(title: str, max_length: int = 60) -> str:
    """Pinyin slug of a Chinese title: 王建国守护平安 → wang-jian-guo-shou-hu-ping-an."""
    from pypinyin import Style, lazy_pinyin  # 0.25 s to import its dictionaries: only when a slug is needed

    parts: list[str] = []
    for syllable in lazy_pinyin(title, style=Style.NORMAL, errors="default"):
        token = re.sub(r"[^a-z0-9]+", "-", syllable.lower().replace("ü", "v")).strip("-")
        if token:
            parts.append(token)
    slug = "-".join(parts)
    slug = re.sub(r"-{2,}", "-", slug)
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    return slug or "story"


# Characters XML 1.0 forbids (text pasted from Word, or YAML escapes such as "\u0001"): never in a
# page or feed. One definition for the sources, the records and the feeds.
def as_browsers_read(text: str) -> str:
    """`text` with every spelling of a host name that a browser follows to the same host made plain,
    to look for one in it: character references and percent-escapes decoded (xc%2Ejcgaj), full-width
    forms and the ideographic full stops as ASCII (ｘｃ．, xc。jcgaj: URL parsers map them so), the
    characters IDNA ignores and the tabs and line breaks a browser drops from an address dropped
    (soft hyphen, zero-width space, xc.jcg&#9;aj), lower case."""
    plain = unicodedata.normalize("NFKC", urllib.parse.unquote(html.unescape(text)))
    plain = _IDNA_IGNORED.sub("", plain).replace("。", ".").lower()
    return _AUTHORITY.sub(_ipv4_authority, plain) if "//" in plain else plain


def browser_host(host: str) -> str:
    """A host name as a browser compares it: as_browsers_read, without the trailing dot of a fully
    qualified name (xc.jcgaj.intra. is xc.jcgaj.intra), an IPv4 address in its dotted form."""
    plain = as_browsers_read(host).rstrip(".")
    return _ipv4(plain) or plain


_AUTHORITY = re.compile(r"(//(?:[^/\s?#@\\]*@)?)([^/\s?#:\\]+)")


def _ipv4_authority(m: re.Match[str]) -> str:
    return m.group(1) + (_ipv4(m.group(2).rstrip(".")) or m.group(2))


def _ipv4(host: str) -> str | None:
    """An IPv4 address as a browser's URL parser reads one, in the dotted form (0xa.0x21.1.20,
    169935124 and 10.33.276 are all 10.33.1.20), or None for a host that is not one."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        base, digits = (16, part[2:]) if part[:2] == "0x" else (8, part[1:]) if len(part) > 1 and part[0] == "0" \
            else (10, part)
        try:
            numbers.append(int(digits, base) if digits else 0)
        except ValueError:
            return None
    if not parts[-1] or any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        return None
    value = numbers[-1] + sum(n << (8 * (3 - i)) for i, n in enumerate(numbers[:-1]))
    return ".".join(str((value >> shift) & 255) for shift in (24, 16, 8, 0))


# (and the tabs and line breaks a browser drops from an address, wherever they are)
_IDNA_IGNORED = re.compile("[\t\n\r\u00ad\u034f\u180b-\u180f\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]")

# What ends a line for one reader or another (a text file's reader splits at \r, \x85, \u2028 as at
# \n: str.splitlines), and the other control characters: none belongs in a one-line text (an SMS)
NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
def control_named(ch: str) -> str:
    """A character NOT_ONE_LINE finds, named for people: 制表符 (Tab, U+0009), …"""
    names = {"\t": N_("tab"), "\n": N_("line break"), "\r": N_("carriage return"),
             "\u2028": N_("line separator"), "\u2029": N_("paragraph separator"), "\x85": N_("next line (NEL)")}
    return f"{_(names.get(ch, _CONTROL))} (U+{ord(ch):04X})"


_CONTROL = N_("control character")


XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_label(value: str) -> str:
    """A tag or other label as it is meant: NFKC (full-width letters and digits), without invisible
    format characters (zero-width spaces and joiners), inner whitespace collapsed. Two labels that
    look the same are then the same label, with one address."""
    text = unicodedata.normalize("NFKC", value)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc"))
    return " ".join(text.split())


class Slugs:
    """slugify() with a memo that a caller may keep between builds (pypinyin takes 0.25 s to load)."""

    def __init__(self, known: dict[tuple[str, int], str] | None = None):
        self.known = {} if known is None else known

    def __call__(self, title: str, max_length: int = 60) -> str:
        key = (title, max_length)
        slug = self.known.get(key)
        if slug is None:
            slug = self.known[key] = slugify(title, max_length)
        return slug

    def remember(self, title: str, max_length: int, slug: str) -> None:
        """A slug made elsewhere (by a worker process) for this memo. A known entry keeps its object:
        a cache that stores the memo writes an entry again when its value is another object."""
        self.known.setdefault((title, max_length), slug)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run as a formula (OWASP, "CSV injection").

    Text starting with = + - @, a tab or a carriage return gets a leading single
    quote, so the cell is read as text (Excel hides the quote; some programs
    show it). Anything that is not text (counts, sizes) is returned as it is:
    numbers stay numbers.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def cut_at_sentence(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """The longest prefix of at most `limit` characters that ends a sentence.

    Falls back to a hard cut ending in `ellipsis` (still within `limit`) when
    no sentence ends early enough to keep at least a third of the text.
    """
    text = text.strip()
    if len(text) <= limit:
        return text
    best = -1
    for i, ch in enumerate(text[:limit]):
        if ch in SENTENCE_ENDS:
            end = i + 1
            while end < limit and end < len(text) and text[end] in _CLOSERS:
                end += 1
            best = end
    if best >= max(1, limit // 3):
        return text[:best]
    return text[: max(0, limit - len(ellipsis))].rstrip() + ellipsis


_SCRIPT_RE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_BLOCK_TAG_RE = re.compile(r"<(?:p|br|li|h[1-6]|tr|td|th|div|blockquote|figcaption)\b[^>]*>", re.I)
_TAG_RE = re.compile(r"<[^>]*>")


def escape_text(text: str) -> str:
    """Text for an HTML fragment's text: &, <, > and " escaped (a '"' left raw in text would let
    a reader of attributes take `src="…"` in the text for one)."""
    return html.escape(text, quote=False).replace('"', "&quot;")


def strip_tags(fragment: str) -> str:
    """Visible text of an HTML fragment, entities decoded, whitespace folded.

    Meant for HTML this program produced (sanitised Markdown output), where a
    regular expression is exact and many times faster than a parser.
    """
    text = _SCRIPT_RE.sub("", fragment)
    text = _BLOCK_TAG_RE.sub(" ", text)
    text = html.unescape(_TAG_RE.sub("", text))
    return " ".join(text.split())  # (as `\s+` → " " and strip(): the same characters, without the regex engine)


def truncate_html(fragment: str, limit: int, ellipsis: str = ELLIPSIS) -> tuple[str, bool]:
    """Cut an HTML fragment after about `limit` visible characters.

    Prefers the last sentence end before the limit; never cuts inside a tag
    or an entity; closes the tags it leaves open. Returns (html, was_cut).
    """
    t = _Truncator(limit)
    t.feed(fragment)
    t.close()
    if not t.cut:
        return fragment, False
    return t.result(ellipsis), True


class _Truncator(HTMLParser):
    """Replays the fragment as events, counting visible characters."""

    def __init__(self, limit: int) -> None:
        super().__init__(convert_charrefs=True)
        self.limit = limit
        self.count = 0
        self.out: list[str] = []
        self.stack: list[str] = []
        self.cut = False
        # (index into out, stack copy) at the last sentence end seen
        self.sentence_mark: tuple[int, list[str], int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.cut:
            return
        self.out.append(self.get_starttag_text() or f"<{tag}>")
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.cut:
            self.out.append(self.get_starttag_text() or f"<{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if self.cut:
            return
        if tag in self.stack:
            while self.stack:
                top = self.stack.pop()
                self.out.append(f"</{top}>")
                if top == tag:
                    break

    def handle_data(self, data: str) -> None:
        if self.cut:
            return
        room = self.limit - self.count
        if len(data) <= room:
            self._emit(data)
            return
        self._emit(data[:room])
        self.cut = True

    def _emit(self, data: str) -> None:
        start = 0
        for i, ch in enumerate(data):
            if ch in SENTENCE_ENDS:
                self.out.append(escape_text(data[start:i + 1]))
                start = i + 1
                self.sentence_mark = (len(self.out), list(self.stack), self.count + i + 1)
        if start < len(data):
            self.out.append(escape_text(data[start:]))
        self.count += len(data)

    def result(self, ellipsis: str) -> str:
        if self.sentence_mark and self.sentence_mark[2] >= self.limit // 3:
            index, stack, _ = self.sentence_mark
            parts = self.out[:index]
            tail = ""
        else:
            parts, stack = self.out, self.stack
            tail = ellipsis
        body = "".join(parts).rstrip()
        return body + tail + "".join(f"</{tag}>" for tag in reversed(stack))
