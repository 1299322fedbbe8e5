"""The feed table → RSS 2.0 and Atom files via feedgen, plus an OPML list.

What newsrooms rely on, and how it is kept:
- GUIDs come from the story id (`feeds.guid_prefix` + id), never the URL,
  so a renamed slug is not a new story.
- Every date comes from content: the feed's updated/lastBuildDate is the
  newest item's updated time, so an unchanged site gives identical bytes.
- Items are added oldest-last in reading order with order='append'
  (feedgen prepends by default).
- feedgen 1.0.0 drops rel/type/length from Atom entry links, which turns an
  enclosure into a second "alternate" link; the Atom output is patched with
  lxml after feedgen writes it. Atom content is type="html" (feedgen's CDATA
  type is not valid Atom).
- XML-illegal characters are removed before text reaches lxml.
- Titles and summaries are text for the reader, never markup (a summary of
  "<img src=x onerror=…>" must show as those characters): in RSS the item
  description is the summary HTML-escaped, and titles carry no < or >
  (see plain_title); in Atom they are type="text". Only the full body
  (content:encoded, Atom content) is HTML, the body nh3 cleaned.

What a newsroom's system can rely on besides (issue 16):
- Withdrawals are announced for `feeds.tombstone_days` after the withdrawal: every Atom feed
  carries an RFC 6721 tombstone (at:deleted-entry, with the story's GUID and the time) for each
  (a reader ignores those of entries it never had), feeds/withdrawals.rss.xml and .atom.xml carry
  a neutral notice item for each, and feeds/withdrawn.json lists every withdrawal for scripts. No
  title, name or address of a withdrawn story is in any of them: only its GUID.
- Bylines: dc:creator in RSS, author in Atom and JSON Feed (the unit when there is none); the unit,
  field, level, kind, campaigns and tags are categories.
- Times: a date written without a time of day has `feeds.publish_time` (gate.at_publish_time);
  an edited story carries its updated time (Atom updated; atom:updated in RSS).
- The RSS <channel><link> is the HTML listing (feedgen takes the last link given for it).
- JSON Feed 1.1 beside RSS and Atom for every feed of the table (feeds/<…>.json).

How a build makes them: a story's entry is made once a build in each format (`FeedParts`), by
feedgen and the fixes above, and put into every feed that holds it; a feed file is its own head,
made by feedgen with no entries, with its entries put in. The bytes are what feedgen writes for
the whole feed at once (a test holds them to it; `FeedParts` says where they once were not); a
story is in ~3 feeds on average, so this is about half the work.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from . import urls
from .config import SiteConfig
from .errors import Problems
from .feedspec import FeedSpec
from .i18n import _, t
from .jobs import CODE_VERSION, Job, deep_fingerprint, fingerprint, key_of, ready
from .model import Honor, Output, PublicStory, WithdrawnNotice
from .taxonomy import FAMILY_NAMES, SiteIndex
from .text import XML_ILLEGAL

if TYPE_CHECKING:  # (feedgen and lxml are imported when a feed is written: ~30 ms that an edit
    # which changes no feed does without)
    from feedgen.feed import FeedGenerator
    from lxml import etree

_ATOM = "{http://www.w3.org/2005/Atom}"
TOMBSTONES = "http://purl.org/atompub/tombstones/1.0"  # RFC 6721
JSON_FEED = "https://jsonfeed.org/version/1.1"
GENERATOR = "exemplar-site"
MAX_FEED_BYTES = 512 * 1024
WITHDRAWALS_RSS, WITHDRAWALS_ATOM, WITHDRAWN_JSON = ("feeds/withdrawals.rss.xml", "feeds/withdrawals.atom.xml",
                                                     "feeds/withdrawn.json")
# what a withdrawal notice says: neutral, without the story's title or the exemplar's name
TAKE_DOWN = "已转载、引用该稿件的媒体，请撤下相关内容。"
WITHDRAWAL_LINE = "该稿件已撤稿。" + TAKE_DOWN
_PERIOD_START = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # the date of a feed with nothing in it
KINDS = ("rss", "atom", "json")  # the formats of a feed's entries (`FeedParts.entry`)


def clean_xml(text: str) -> str:
    return XML_ILLEGAL.sub("", text)


def guid(config: SiteConfig, story_id: str) -> str:
    return f"{config.feeds.guid_prefix}{story_id}"


def full_html(story: PublicStory, config: SiteConfig) -> str:
    """The story body for re-publication: absolute links, lead image, source line."""
    site = config.site_url
    body = urls.rewrite_site_links(story.body_html, lambda p: urls.absolute(site, p))
    parts = []
    if story.lead_image:
        img = story.lead_image
        shown = img.web.largest if img.web else None
        size = f' width="{shown.width}" height="{shown.height}"' if shown else ""
        # (the site's words, as the theme's caption: not the language the program speaks to its user)
        credit = f"摄影：{img.credit}" if img.credit else ""
        words = "　".join(w for w in (img.caption, credit) if w)
        parts.append(f'<figure><img src="{_attr(urls.absolute(site, shown.path if shown else img.src))}" '
                     f'alt="{_attr(img.alt)}"{size}>'
                     + (f"<figcaption>{_text(words)}</figcaption>" if words else "") + "</figure>")
    parts.append(body)
    if story.honors:
        parts.append('<h2>荣誉</h2>\n<ul class="honors">' + "".join(_honour(h) for h in story.honors) + "</ul>")
    if story.authors:
        parts.append(f'<p class="byline">作者：{_text("、".join(story.authors))}</p>')
    source = config.feeds.source.format(organisation=config.organisation, site=config.title,
                                        title=story.title, url=urls.absolute(site, story.url))
    if source:
        parts.append(f'<p class="source">{_text(source)}　<a href="{urls.absolute(site, story.url)}">'
                     f"{_text(urls.absolute(site, story.url))}</a></p>")
    return clean_xml("\n".join(parts))


def _honour(h: Honor) -> str:
    """<li>title（awarded by，date）</li>, as the story page shows it."""
    said = [_text(h.by)] if h.by else []
    if h.date:
        said.append(f"{h.date.year}年{h.date.month}月{h.date.day}日")
    return f"<li>{_text(h.title)}" + (f"（{'，'.join(said)}）" if said else "") + "</li>"


def plain_title(s: str) -> str:
    """Text for an RSS <title> or channel <description>.

    RSS 2.0 never says whether these hold text or HTML, and readers differ: some
    show them as they are, some parse them as HTML. So they contain no character
    a reader could take for a tag: < and > become the full-width ＜ and ＞
    (U+FF1C, U+FF1E), which read the same in Chinese text and are never markup.
    & stays: whatever a reader makes of an entity is text, not an element.
    """
    return clean_xml(s).replace("<", "＜").replace(">", "＞")


def rss_description(s: str) -> str:
    """An item's RSS <description>: readers take it as HTML, so plain text goes in escaped
    (after XML decoding a reader sees "&lt;img…" and shows "<img…")."""
    return _text(clean_xml(s))


def _text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(s: str) -> str:
    return _text(s).replace('"', "&quot;")


def tombstones(withdrawn: tuple[WithdrawnNotice, ...], config: SiteConfig,
               now: dt.datetime) -> tuple[WithdrawnNotice, ...]:
    """The withdrawals still announced at `now` (for feeds.tombstone_days after each), newest first."""
    period = dt.timedelta(days=config.feeds.tombstone_days)
    return tuple(sorted((w for w in withdrawn if w.id and w.when is not None and now < w.when + period),
                        key=lambda w: (w.when, w.id), reverse=True))


def _when(w: WithdrawnNotice) -> dt.datetime:
    return w.when if w.when is not None else _PERIOD_START


def _feed_updated(spec: FeedSpec, index: SiteIndex, stones: tuple[WithdrawnNotice, ...] = ()) -> dt.datetime:
    """The newest item's updated time, or the newest withdrawal announced in the feed."""
    moments = [s.updated for s in spec.stories] + [_when(w) for w in stones]
    if moments:
        return max(moments)
    if spec.family == "campaigns":
        c = next((c for c in index.campaigns if f"campaigns/{c.slug}" == spec.key), None)
        if c is not None:
            return dt.datetime(c.date.year, c.date.month, c.date.day, tzinfo=dt.UTC)
    return _PERIOD_START


def _generator(spec: FeedSpec, config: SiteConfig, updated: dt.datetime, atom: bool) -> FeedGenerator:
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    # (after feedgen.feed, which imports the lxml.etree that feedgen.util needs)
    from feedgen.ext.dc import DcEntryExtension, DcExtension
    from feedgen.ext.media import MediaEntryExtension, MediaExtension

    # (as load_extension("dc") and ("media") do, without the import it tries first of a module
    # feedgen.ext.dc_entry, which does not exist: a search of sys.path on every call, ~0.1 ms)
    fg.register_extension("dc", DcExtension, DcEntryExtension, atom=False, rss=True)
    if not atom:
        fg.register_extension("media", MediaExtension, MediaEntryExtension, atom=False, rss=True)
    fg.id(f"{config.feeds.guid_prefix}feed/{spec.key}")
    # Atom: type="text" is set on both in _fix_atom; RSS: no markup characters (plain_title)
    fg.title(clean_xml(spec.title) if atom else plain_title(spec.title))
    fg.subtitle(clean_xml(spec.description) if atom else plain_title(spec.description))
    fg.language(config.language)
    fg.link(href=urls.absolute(config.site_url, spec.atom if atom else spec.rss), rel="self")
    # (last: feedgen makes the last link given the RSS <channel><link>, which is the HTML listing)
    fg.link(href=urls.absolute(config.site_url, spec.listing), rel="alternate")
    if config.organisation:
        fg.author({"name": config.organisation})
    fg.generator(GENERATOR)
    fg.updated(updated)
    fg.lastBuildDate(updated)
    fg.pubDate(updated)
    fg.ttl(60)
    return fg


def creators(s: PublicStory) -> tuple[str, ...]:
    """Who wrote it: the bylines, or the unit when there is none."""
    return s.authors or (s.unit.name,)


def categories(s: PublicStory, config: SiteConfig,
               campaigns: dict[str, str]) -> list[tuple[str, str | None]]:
    """(name, scheme) of every category of a story: field, level, unit, kind, campaigns, tags."""
    def scheme(family: str) -> str:
        return urls.absolute(config.site_url, f"{family}/")

    out: list[tuple[str, str | None]] = [(s.field.name, scheme("fields")), (s.level.name, scheme("levels")),
                                         (s.unit.name, scheme("units")), (s.kind_name, None)]
    out += [(campaigns[c], scheme("campaigns")) for c in s.campaigns if c in campaigns]
    out += [(tag.name, None) for tag in s.tags]
    return out


def campaign_names(index: SiteIndex) -> dict[str, str]:
    return {c.slug: c.title for c in index.campaigns}


def _add_entry(fg: FeedGenerator, s: PublicStory, config: SiteConfig, atom: bool, html: str,
               campaigns: dict[str, str] | None = None) -> None:
    fe = fg.add_entry(order="append")
    gid = guid(config, s.id)
    fe.id(gid)
    fe.guid(gid, permalink=False)
    fe.title(clean_xml(s.title) if atom else plain_title(s.title))  # Atom: type="text" (_fix_atom)
    fe.link(href=urls.absolute(config.site_url, s.url), rel="alternate")
    fe.published(s.date)
    fe.updated(s.updated)
    if atom:
        fe.summary(clean_xml(s.summary), type="text")
    else:
        fe.summary(rss_description(s.summary))
    if atom:
        for name in creators(s):
            fe.author({"name": clean_xml(name)})
    else:
        fe.dc.dc_creator([plain_title(name) for name in creators(s)])
    for name, scheme in categories(s, config, campaigns or {}):
        if scheme:
            fe.category(term=clean_xml(name), scheme=scheme, label=clean_xml(name))
        else:
            fe.category(term=clean_xml(name), label=clean_xml(name))
    if atom:
        fe.content(html, type="html")
    else:
        fe.content(html, type="CDATA")
        if s.lead_image:
            url, length, mime = _enclosure(s, config)
            fe.enclosure(url, length, mime)
            web = s.lead_image.web
            if web is not None:  # Media RSS: the large web size, and the small one as thumbnail
                big, small = web.largest, web.smallest
                fe.media.content({"url": url, "fileSize": length, "type": mime, "medium": "image",
                                  "width": str(big.width), "height": str(big.height)}, group=None)
                fe.media.thumbnail({"url": urls.absolute(config.site_url, small.path), "width": str(small.width),
                                    "height": str(small.height)}, group=None)


def _enclosure(s: PublicStory, config: SiteConfig) -> tuple[str, str, str]:
    """(URL, length, type) of a story's enclosure: the lead image's largest web size (never an original)."""
    img = s.lead_image
    assert img is not None
    if img.web is not None:
        v = img.web.largest
        return urls.absolute(config.site_url, v.path), str(v.size), v.mime
    return urls.absolute(config.site_url, img.src), str(img.size), img.mime


def _fix_atom(data: bytes, stories: tuple[PublicStory, ...], config: SiteConfig,
              stones: tuple[WithdrawnNotice, ...] = ()) -> bytes:
    """Restore rel/type/length on entry links and add the enclosure (feedgen 1.0.0 drops them);
    mark every title and the subtitle type="text" (feedgen cannot); add the tombstones."""
    from lxml import etree

    root = etree.fromstring(data)
    _add_tombstones(root, config, stones)
    for name in ("title", "subtitle"):
        el = root.find(f"{_ATOM}{name}")
        if el is not None:
            el.set("type", "text")
    by_id = {guid(config, s.id): s for s in stories}
    for entry in root.iter(f"{_ATOM}entry"):
        sid = entry.findtext(f"{_ATOM}id")
        s = by_id.get(sid or "")
        title = entry.find(f"{_ATOM}title")
        if title is not None:
            title.set("type", "text")
        links = entry.findall(f"{_ATOM}link")
        for link in links:
            link.set("rel", "alternate")
            link.set("type", "text/html")
        if s is not None and s.lead_image and links:
            url, length, mime = _enclosure(s, config)
            enc = etree.Element(f"{_ATOM}link", href=url, rel="enclosure", type=mime, length=length)
            enc.tail = links[-1].tail
            links[-1].addnext(enc)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _add_tombstones(root: etree._Element, config: SiteConfig, stones: tuple[WithdrawnNotice, ...]) -> None:
    """RFC 6721: <at:deleted-entry ref="GUID" when="…"> after the entries, one per withdrawal."""
    if not stones:
        return
    from lxml import etree

    entries = root.findall(f"{_ATOM}entry")
    last = entries[-1] if entries else root[-1]
    for w in reversed(stones):  # (each is put right after the last entry: newest first in the end)
        el = etree.Element(f"{{{TOMBSTONES}}}deleted-entry", ref=guid(config, w.id), when=_when(w).isoformat(),
                           nsmap={"at": TOMBSTONES})
        comment = etree.SubElement(el, f"{{{TOMBSTONES}}}comment")
        comment.text = WITHDRAWAL_LINE
        last.addnext(el)
    etree.cleanup_namespaces(root, top_nsmap={"at": TOMBSTONES})
    etree.indent(root, space="  ")


def _fix_rss(data: bytes, stories: tuple[PublicStory, ...], config: SiteConfig) -> bytes:
    """atom:updated on the items of stories edited after publication (RSS has no element of its own)."""
    edited = {guid(config, s.id): s.updated for s in stories if s.updated != s.date}
    if not edited:
        return data
    from lxml import etree

    root = etree.fromstring(data, etree.XMLParser(strip_cdata=False))
    for item in root.iter("item"):
        when = edited.get(item.findtext("guid") or "")
        if when is not None and len(item):
            last = item[-1]
            el = etree.SubElement(item, f"{_ATOM}updated")
            el.text = when.isoformat()
            el.tail, last.tail = last.tail, item.text  # (the same indentation as its siblings)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


class FeedParts:
    """What the feeds of one build share, made once a story however many feeds hold it: its full
    text, and its entry as RSS, Atom and JSON Feed text. A story's entry is the same in every feed
    (it is made from the story, the config and the campaigns' names only), so each feed file is
    its head, made alone, with the entries of its stories put in; `tests/test_feeds.py` holds the
    result to feedgen's whole document, byte for byte. (One difference, in the reader's favour: an
    RSS item is no longer parsed again because another story of its feed was edited (`_fix_rss`),
    which used to turn a carriage return in its body into a newline and an empty element into
    `<x/>` in that feed only; an item's bytes are now the same in every feed.)"""

    def __init__(self, config: SiteConfig, campaigns: dict[str, str]):
        self.config, self.campaigns = config, campaigns
        # what every entry is made from besides its story (whose digest covers the story whole)
        self._shared = key_of(config.digest, CODE_VERSION, sorted(campaigns.items()))
        self._bodies: dict[str, str] = {}
        self._entries: dict[str, str] = {}
        self._made: list[str] = []  # keys of the entries made here since `take_made`

    def key(self, s: PublicStory, kind: str) -> str:
        """What the story's entry in this format is made from: the story (its digest), the config,
        the campaigns' names and the code and library versions. The same key, the same text."""
        return f"{kind}\x1f{self._shared}\x1f{s.digest}"

    def keys(self, specs: Iterable[FeedSpec]) -> set[str]:
        """The keys of every entry of those feeds, in every format."""
        return {self.key(s, kind) for spec in specs for s in spec.stories for kind in KINDS}

    def given(self, entries: Mapping[str, str]) -> None:
        """Entries made before (by `key`), used instead of making them again."""
        self._entries.update(entries)

    def take_made(self) -> dict[str, str]:
        """The entries made here (not given) since the last call, by key."""
        made = {k: self._entries[k] for k in self._made}
        self._made = []
        return made

    def body(self, s: PublicStory) -> str:
        html = self._bodies.get(s.id)
        if html is None:
            html = self._bodies[s.id] = full_html(s, self.config)
        return html

    def entry(self, s: PublicStory, kind: str) -> str:
        """The story's <item> ("rss"), <entry> ("atom") or JSON Feed item ("json"), as it stands in
        a feed file (without the indentation of its first line)."""
        key = self.key(s, kind)
        text = self._entries.get(key)
        if text is None:
            text = self._entries[key] = self._json(s) if kind == "json" else self._xml(s, kind == "atom")
            self._made.append(key)
        return text

    def _xml(self, s: PublicStory, atom: bool) -> str:
        """A feed of this story alone, written and fixed as every feed is, and its one entry cut out
        (before it, only the feed's own elements, whose text is escaped: the first tag <entry> or
        <item> is the entry's; after its end tag, only the feed's end tags)."""
        # (any feed's head will do, here the withdrawals feed's: the entry is cut out of it)
        fg = _generator(_withdrawals_spec(self.config), self.config, s.updated, atom=atom)
        _add_entry(fg, s, self.config, atom=atom, html=self.body(s), campaigns=self.campaigns)
        if atom:
            data, tag = _fix_atom(fg.atom_str(pretty=True), (s,), self.config), "entry"
        else:
            data, tag = _fix_rss(fg.rss_str(pretty=True), (s,), self.config), "item"
        text = data.decode("utf-8")
        return text[text.index(f"<{tag}>"):text.rindex(f"</{tag}>") + len(tag) + 3]

    def _json(self, s: PublicStory) -> str:
        site = self.config.site_url
        item = {
            "id": guid(self.config, s.id),
            "url": urls.absolute(site, s.url),
            "title": s.title,
            "content_html": self.body(s),
            "summary": s.summary,
            "date_published": s.date.isoformat(),
            "date_modified": s.updated.isoformat(),
            "authors": [{"name": name} for name in creators(s)],
            "tags": list(dict.fromkeys(name for name, _scheme in categories(s, self.config, self.campaigns))),
        }
        # (json.dumps writes a newline inside a string as \n: every newline of the text is indentation)
        return json.dumps(item, ensure_ascii=False, indent=2).replace("\n", "\n    ")


def render_feed(spec: FeedSpec, index: SiteIndex, config: SiteConfig, atom: bool, parts: FeedParts,
                stones: tuple[WithdrawnNotice, ...] = ()) -> Output:
    """One feed file; `parts`: the stories' entries, shared by the feeds of a build (a story is in
    many); `stones`: the withdrawals announced now (tombstones in Atom)."""
    fg = _generator(spec, config, _feed_updated(spec, index, stones), atom=atom)
    if atom:  # the entries go after the feed's own elements, before the tombstones
        head = _fix_atom(fg.atom_str(pretty=True), (), config, stones).decode("utf-8")
        at = head.find("\n  <at:deleted-entry")
        at = head.rindex("\n</feed>") if at < 0 else at
    else:
        head = fg.rss_str(pretty=True).decode("utf-8")
        at = head.rindex("\n  </channel>")
    entries = "".join(("\n  " if atom else "\n    ") + parts.entry(s, "atom" if atom else "rss")
                      for s in spec.stories)
    return Output(spec.atom if atom else spec.rss, (head[:at] + entries + head[at:]).encode("utf-8"))


def render_json_feed(spec: FeedSpec, config: SiteConfig, parts: FeedParts) -> Output:
    """The feed as JSON Feed 1.1 (https://jsonfeed.org/version/1.1), which feedgen does not write."""
    site = config.site_url
    feed: dict[str, object] = {
        "version": JSON_FEED,
        "title": spec.title,
        "home_page_url": urls.absolute(site, spec.listing),
        "feed_url": urls.absolute(site, spec.json),
        "description": spec.description,
        "language": config.language,
    }
    if config.organisation:
        feed["authors"] = [{"name": config.organisation}]
    feed["items"] = []
    text = json.dumps(feed, ensure_ascii=False, indent=2)
    if spec.stories:  # (the last key: its empty list is the text's end but for the closing brace)
        assert text.endswith('"items": []\n}')
        text = text[:-4] + "[\n    " + ",\n    ".join(parts.entry(s, "json") for s in spec.stories) + "\n  ]\n}"
    return Output(spec.json, (text + "\n").encode("utf-8"))


def _withdrawals_spec(config: SiteConfig) -> FeedSpec:
    return FeedSpec("withdrawals", f"{config.title}：撤稿通知",
                    "已撤下稿件的通知：请转载过这些稿件的媒体撤下相关内容", WITHDRAWALS_RSS, WITHDRAWALS_ATOM,
                    "feeds/", (), "withdrawals")


def render_withdrawals(config: SiteConfig, stones: tuple[WithdrawnNotice, ...], atom: bool) -> Output:
    """feeds/withdrawals.rss.xml or .atom.xml: one 撤稿通知 item per withdrawal announced now, with
    the story's GUID and the time, a neutral line, and nothing that names the story."""
    spec = _withdrawals_spec(config)
    updated = max((_when(w) for w in stones), default=_PERIOD_START)
    fg = _generator(spec, config, updated, atom=atom)
    page = urls.absolute(config.site_url, "feeds/") + "#withdrawals"
    for w in stones[: config.feeds.items]:
        story_guid, when = guid(config, w.id), _when(w)
        fe = fg.add_entry(order="append")
        fe.id(f"{config.feeds.guid_prefix}withdrawn/{w.id}")
        fe.guid(f"{config.feeds.guid_prefix}withdrawn/{w.id}", permalink=False)
        fe.title(clean_xml(f"撤稿通知：{story_guid}") if atom else plain_title(f"撤稿通知：{story_guid}"))
        fe.link(href=page, rel="alternate")
        fe.published(when)
        fe.updated(when)
        line = f"稿件 {story_guid} 已于{when.year}年{when.month}月{when.day}日撤稿。{TAKE_DOWN}"
        if atom:
            fe.summary(clean_xml(line), type="text")
        else:
            fe.summary(rss_description(line))
        fe.category(term="撤稿通知", label="撤稿通知")
        if not atom:
            fe.dc.dc_relation(story_guid)  # the withdrawn story's GUID, for systems that match on it
    if atom:
        return Output(spec.atom, _fix_atom(fg.atom_str(pretty=True), spec.stories, config, stones))
    return Output(spec.rss, fg.rss_str(pretty=True))


def render_withdrawn_json(config: SiteConfig, withdrawn: tuple[WithdrawnNotice, ...]) -> Output:
    """feeds/withdrawn.json: every withdrawal (not only those still announced), newest first, for
    scripts: the story's GUID, when it was withdrawn, until when the feeds announce it."""
    period = dt.timedelta(days=config.feeds.tombstone_days)
    ordered = sorted((w for w in withdrawn if w.id), key=lambda w: (_when(w), w.id), reverse=True)
    data = {
        "version": 1,
        "title": f"{config.title}：撤稿通知",
        "notice": WITHDRAWAL_LINE,
        "withdrawn": [{"id": guid(config, w.id), "withdrawn": _when(w).isoformat(),
                       "announced_until": (_when(w) + period).isoformat()} for w in ordered],
    }
    return Output(WITHDRAWN_JSON, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def feed_parts(index: SiteIndex, config: SiteConfig) -> FeedParts:
    """The entries a build's feeds share (`feed_jobs`), none made yet."""
    return FeedParts(config, campaign_names(index))


def feed_jobs(specs: tuple[FeedSpec, ...], index: SiteIndex, config: SiteConfig, parts: FeedParts,
              now: dt.datetime | None = None) -> list[Job]:
    """Every feed of the table as RSS, Atom and JSON Feed, and (when there is any feed) the
    withdrawals feeds and withdrawn.json, their stories' entries made by `parts` (`feed_parts`).
    `now`: the build's time, which decides the withdrawals still announced (None: none are)."""
    stones = tombstones(index.withdrawn, config, now) if now is not None else ()
    # the campaigns' names and the withdrawals announced now (they depend on the build's date),
    # which every feed is made from: hashed once, not once a feed (feeds × campaigns and withdrawals)
    shared = key_of(sorted(campaign_names(index).items()), stones)
    jobs = []
    for spec in specs:
        updated = _feed_updated(spec, index, stones)
        # everything the feed is made from: the spec whole (its stories too), its date, the config,
        # what all feeds share
        base = key_of(config.digest, CODE_VERSION, fingerprint(spec), deep_fingerprint(spec.stories),
                      updated.isoformat(), shared)
        jobs.append(Job(spec.rss, base + "r", functools.partial(render_feed, spec, index, config, False, parts)))
        jobs.append(Job(spec.atom, base + "a",
                        functools.partial(render_feed, spec, index, config, True, parts, stones)))
        jobs.append(Job(spec.json, base + "j", functools.partial(render_json_feed, spec, config, parts)))
    if specs:
        base = key_of(config.digest, CODE_VERSION, stones)
        jobs.append(Job(WITHDRAWALS_RSS, base + "r", functools.partial(render_withdrawals, config, stones, False)))
        jobs.append(Job(WITHDRAWALS_ATOM, base + "a", functools.partial(render_withdrawals, config, stones, True)))
        jobs += ready([render_withdrawn_json(config, index.withdrawn)])
    return jobs


def feed_size_warnings(sizes: dict[str, int], specs: tuple[FeedSpec, ...], config: SiteConfig,
                       problems: Problems) -> None:
    for spec in specs:
        for path in (spec.rss, spec.atom):
            if sizes.get(path, 0) > MAX_FEED_BYTES:
                problems.warning(str(config.path.name), config.line_of.get("feeds"), "feeds.items",
                                 t("{path} is {size} KB; media readers may refuse feeds over 512 KB",
                                   path=path, size=sizes[path] // 1024),
                                 _("a smaller feeds.items"))


def render_opml(specs: tuple[FeedSpec, ...], config: SiteConfig) -> list[Output]:
    """feeds/feeds.opml: every feed, grouped by family, for one-click import."""
    if not specs:
        return []
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = f"{config.title}订阅列表"
    if config.organisation:
        ET.SubElement(head, "ownerName").text = config.organisation
    body = ET.SubElement(opml, "body")
    groups: dict[str, ET.Element] = {}
    for spec in specs:
        label = "全部" if spec.family == "all" else FAMILY_NAMES[spec.family]
        if label not in groups:
            groups[label] = ET.SubElement(body, "outline", text=label, title=label)
        ET.SubElement(groups[label], "outline", type="rss", text=spec.title, title=spec.title,
                      xmlUrl=urls.absolute(config.site_url, spec.rss),
                      htmlUrl=urls.absolute(config.site_url, spec.listing), description=spec.description)
    withdrawals = _withdrawals_spec(config)
    group = ET.SubElement(body, "outline", text="撤稿通知", title="撤稿通知")
    ET.SubElement(group, "outline", type="rss", text=withdrawals.title, title=withdrawals.title,
                  xmlUrl=urls.absolute(config.site_url, withdrawals.rss),
                  htmlUrl=urls.absolute(config.site_url, "feeds/"), description=withdrawals.description)
    ET.indent(opml)
    data = ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(opml, encoding="unicode") + "\n").encode()
    return [Output("feeds/feeds.opml", data)]
