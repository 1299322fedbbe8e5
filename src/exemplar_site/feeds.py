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
"""

from __future__ import annotations

import datetime as dt
import functools
from xml.etree import ElementTree as ET

from feedgen.feed import FeedGenerator
from lxml import etree

from . import urls
from .config import SiteConfig
from .errors import Problems
from .feedspec import FeedSpec
from .i18n import _, t
from .jobs import CODE_VERSION, Job, deep_fingerprint, fingerprint, key_of
from .model import Output, PublicStory
from .taxonomy import FAMILY_NAMES, SiteIndex
from .text import XML_ILLEGAL

_ATOM = "{http://www.w3.org/2005/Atom}"
GENERATOR = "exemplar-site"
MAX_FEED_BYTES = 512 * 1024


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
        parts.append(f'<figure><img src="{urls.absolute(site, img.src)}" alt="{_attr(img.alt)}">'
                     + (f"<figcaption>{_text(img.caption)}</figcaption>" if img.caption else "") + "</figure>")
    parts.append(body)
    source = config.feeds.source.format(organisation=config.organisation, site=config.title,
                                        title=story.title, url=urls.absolute(site, story.url))
    if source:
        parts.append(f'<p class="source">{_text(source)}　<a href="{urls.absolute(site, story.url)}">'
                     f"{_text(urls.absolute(site, story.url))}</a></p>")
    return clean_xml("\n".join(parts))


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


def _feed_updated(spec: FeedSpec, index: SiteIndex) -> dt.datetime:
    if spec.stories:
        return max(s.updated for s in spec.stories)
    if spec.family == "campaigns":
        c = next((c for c in index.campaigns if f"campaigns/{c.slug}" == spec.key), None)
        if c is not None:
            return dt.datetime(c.date.year, c.date.month, c.date.day, tzinfo=dt.UTC)
    return dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _generator(spec: FeedSpec, config: SiteConfig, updated: dt.datetime, atom: bool) -> FeedGenerator:
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.id(f"{config.feeds.guid_prefix}feed/{spec.key}")
    # Atom: type="text" is set on both in _fix_atom; RSS: no markup characters (plain_title)
    fg.title(clean_xml(spec.title) if atom else plain_title(spec.title))
    fg.subtitle(clean_xml(spec.description) if atom else plain_title(spec.description))
    fg.language(config.language)
    fg.link(href=urls.absolute(config.site_url, spec.listing), rel="alternate")
    fg.link(href=urls.absolute(config.site_url, spec.atom if atom else spec.rss), rel="self")
    if config.organisation:
        fg.author({"name": config.organisation})
    fg.generator(GENERATOR)
    fg.updated(updated)
    fg.lastBuildDate(updated)
    fg.pubDate(updated)
    fg.ttl(60)
    return fg


def _add_entry(fg: FeedGenerator, s: PublicStory, config: SiteConfig, atom: bool, html: str) -> None:
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
        fe.author({"name": s.unit.name})
    else:
        fe.dc.dc_creator(s.unit.name)
    for cat, family in ((s.field, "fields"), (s.level, "levels")):
        scheme = urls.absolute(config.site_url, f"{family}/")
        fe.category(term=cat.name, scheme=scheme, label=cat.name)
    for tag in s.tags:
        fe.category(term=tag.name, label=tag.name)
    if atom:
        fe.content(html, type="html")
    else:
        fe.content(html, type="CDATA")
        if s.lead_image:
            img = s.lead_image
            fe.enclosure(urls.absolute(config.site_url, img.src), str(img.size), img.mime)


def _fix_atom(data: bytes, spec: FeedSpec, config: SiteConfig) -> bytes:
    """Restore rel/type/length on entry links and add the enclosure (feedgen 1.0.0 drops them);
    mark every title and the subtitle type="text" (feedgen cannot)."""
    root = etree.fromstring(data)
    for name in ("title", "subtitle"):
        el = root.find(f"{_ATOM}{name}")
        if el is not None:
            el.set("type", "text")
    by_id = {guid(config, s.id): s for s in spec.stories}
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
            img = s.lead_image
            enc = etree.Element(f"{_ATOM}link", href=urls.absolute(config.site_url, img.src), rel="enclosure",
                                type=img.mime, length=str(img.size))
            enc.tail = links[-1].tail
            links[-1].addnext(enc)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def render_feed(spec: FeedSpec, index: SiteIndex, config: SiteConfig, atom: bool,
                bodies: dict[str, str] | None = None) -> Output:
    """One feed file; `bodies` caches full texts across feeds (a story is in many)."""
    bodies = {} if bodies is None else bodies
    fg = _generator(spec, config, _feed_updated(spec, index), atom=atom)
    for s in spec.stories:
        html = bodies.get(s.id)
        if html is None:
            html = bodies[s.id] = full_html(s, config)
        _add_entry(fg, s, config, atom=atom, html=html)
    if atom:
        return Output(spec.atom, _fix_atom(fg.atom_str(pretty=True), spec, config))
    return Output(spec.rss, fg.rss_str(pretty=True))


def feed_jobs(specs: tuple[FeedSpec, ...], index: SiteIndex, config: SiteConfig) -> list[Job]:
    bodies: dict[str, str] = {}
    jobs = []
    for spec in specs:
        updated = _feed_updated(spec, index)
        # everything the feed is made from: the spec whole (its stories too), its date, the config
        base = key_of(config.digest, CODE_VERSION, fingerprint(spec), deep_fingerprint(spec.stories),
                      updated.isoformat())
        jobs.append(Job(spec.rss, base + "r", functools.partial(render_feed, spec, index, config, False, bodies)))
        jobs.append(Job(spec.atom, base + "a", functools.partial(render_feed, spec, index, config, True, bodies)))
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
    ET.indent(opml)
    data = ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(opml, encoding="unicode") + "\n").encode()
    return [Output("feeds/feeds.opml", data)]
