"""SiteIndex → the HTML pages, sitemap.xml and robots.txt, as Outputs."""

from __future__ import annotations

import math
from html import escape as html_escape
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import Markup as Safe

from . import urls
from .config import SiteConfig
from .feedspec import FeedSpec, feeds_for_story
from .jobs import CODE_VERSION, Job, key_of, ready
from .model import Output, PublicStory
from .taxonomy import FAMILIES, FAMILY_NAMES, SiteIndex, Term
from .theme import SiteView, template_digests


@dataclass(frozen=True)
class Pager:
    number: int
    total: int
    base: str  # site path of page 1

    def url(self, n: int) -> str:
        return urls.paged(self.base, n)

    @property
    def previous(self) -> str | None:
        return self.url(self.number - 1) if self.number > 1 else None

    @property
    def next(self) -> str | None:
        return self.url(self.number + 1) if self.number < self.total else None

    @property
    def numbers(self) -> list[int | None]:
        """First, last and two either side of the current page; None marks a gap (…)."""
        keep = {1, self.total} | set(range(self.number - 2, self.number + 3))
        out: list[int | None] = []
        for n in range(1, self.total + 1):
            if n in keep:
                out.append(n)
            elif out and out[-1] is not None:
                out.append(None)
        return out


@dataclass(frozen=True)
class NavItem:
    title: str
    path: str
    section: str


@dataclass(frozen=True)
class FeedLink:
    title: str
    rss: str
    atom: str


_ROOT_MARK = "\x00root\x00"  # cannot occur in a page: XML forbids the character


class PageRenderer:
    """Renders one kind of page at a time; holds only read-only inputs."""

    def __init__(self, env: jinja2.Environment, config: SiteConfig, index: SiteIndex,
                 site: SiteView, specs: tuple[FeedSpec, ...]):
        self.env, self.config, self.index, self.site, self.specs = env, config, index, site, specs
        self.nav = self._nav()
        self.spec_by_key = {s.key: s for s in specs}
        self.all_feed = self._links(["all"])
        self._cards: dict[tuple[str, bool], str] = {}

    def card(self, story: PublicStory, page_path: str, show_image: bool = True) -> Safe:
        """A story's card (_card.html). Its links lead up to the site root and down again, so a
        card is rendered once, with a mark where the way up goes, and reused on every page."""
        key = (story.id, show_image)
        html = self._cards.get(key)
        if html is None:
            html = self._cards[key] = self.env.get_template("_card.html").render(
                site=self.site, page_path="", link_base=None, root_mark=_ROOT_MARK, s=story, show_image=show_image)
        return Safe(html.replace(_ROOT_MARK, urls.up(page_path)))

    def _nav(self) -> tuple[NavItem, ...]:
        items = [NavItem("首页", "", "home"), NavItem("全部典型", "stories/", "stories")]
        for fam in ("fields", "units", "levels", "campaigns"):
            if self.index.terms.get(fam):
                items.append(NavItem(FAMILY_NAMES[fam], f"{fam}/", fam))
        for p in self.index.pages:
            if p.menu is not None:
                items.append(NavItem(p.title, p.url, p.slug))
        return tuple(items)

    def _links(self, keys: list[str]) -> tuple[FeedLink, ...]:
        return tuple(FeedLink(s.title, s.rss, s.atom) for k in keys if (s := self.spec_by_key.get(k)))

    def render(self, template: str, path: str, section: str, feeds: tuple[FeedLink, ...] | None = None,
               link_base: str | None = None, **values: Any) -> Output:
        ctx = dict(site=self.site, page_path=path, nav=self.nav, section=section,
                   feeds=self.all_feed if feeds is None else feeds, link_base=link_base,
                   family_names=FAMILY_NAMES, card=lambda s, show_image=True: self.card(s, path, show_image),
                   **values)
        html = self.env.get_template(template).render(ctx)
        return Output(urls.file_of(path), html.encode("utf-8"))

    # ---- page kinds -------------------------------------------------------------

    def home(self) -> Output:
        idx = self.index
        featured = idx.featured(6)
        featured_ids = {s.id for s in featured}
        latest = tuple(s for s in idx.stories if s.id not in featured_ids)[: self.config.home_latest]
        return self.render("home.html", "", "home", featured=featured, latest=latest,
                           fields=idx.terms["fields"], levels=idx.terms["levels"],
                           campaigns=idx.terms["campaigns"][:3], total=len(idx.stories))

    def story(self, s: PublicStory) -> Output:
        idx = self.index
        feeds = tuple(FeedLink(f.title, f.rss, f.atom) for f in feeds_for_story(s, idx, self.specs))
        campaigns = [t for t in idx.terms_for(s) if t.family == "campaigns"]
        return self.render("story.html", s.url, "stories", feeds=feeds, story=s,
                           previous=idx.previous.get(s.id), next=idx.next.get(s.id),
                           related=idx.related.get(s.id, ()), series=idx.series.get(s.id, ()),
                           campaigns=campaigns)

    def listing_page(self, title: str, base: str, section: str, stories: tuple[PublicStory, ...],
                     term: Term | None, feed_key: str | None, n: int, total: int) -> Output:
        size = self.config.page_size
        feeds = self._links([feed_key]) if feed_key else None
        pager = Pager(n, total, base)
        return self.render("list.html", pager.url(n), section, feeds=feeds or self.all_feed,
                           title=title, term=term, stories=stories[(n - 1) * size: n * size],
                           pager=pager, count=len(stories))

    def listing_jobs(self, g: str, title: str, base: str, section: str, stories: tuple[PublicStory, ...],
                     term: Term | None, feed_key: str | None) -> list[Job]:
        size = self.config.page_size
        total = max(1, math.ceil(len(stories) / size))
        campaign = term.campaign if term else None
        extra = (campaign.title, campaign.decision, campaign.date, campaign.until, campaign.body_html) \
            if campaign else ()
        jobs = []
        digests = [s.digest for s in stories]
        for n in range(1, total + 1):
            key = key_of(g, "list", base, title, section, feed_key, extra, n, total, len(stories),
                         digests[(n - 1) * size: n * size])
            jobs.append(Job(urls.file_of(urls.paged(base, n)), key,
                            lambda n=n: self.listing_page(title, base, section, stories, term, feed_key, n, total)))
        return jobs

    def family_index(self, family: str) -> Output:
        return self.render("terms.html", f"{family}/", family, family=family, title=FAMILY_NAMES[family],
                           terms=self.index.terms.get(family, ()))

    def page(self, p: Any) -> Output:
        return self.render("page.html", p.url, p.slug, page=p)

    def media(self) -> Output:
        return self.render("media.html", "feeds/", "feeds", specs=self.specs,
                           families=FAMILY_NAMES)

    def withdrawn(self, path: str) -> Output:
        return self.render("withdrawn.html", path, "", feeds=())

    def not_found(self) -> Output:
        return self.render("404.html", "404.html", "", link_base=self.config.base_path)


def page_jobs(env: jinja2.Environment, config: SiteConfig, index: SiteIndex, site: SiteView,
              specs: tuple[FeedSpec, ...], memo: dict[str, Any] | None = None) -> list[Job]:
    """Every page as a Job whose key covers what the page shows.

    Keys name the digests of the stories a page shows (a story's digest covers
    its whole public content), the page's position and totals, and a global
    part: templates, config, navigation, feed list, drafts flag.
    """
    r = PageRenderer(env, config, index, site, specs)
    names = ("home.html", "story.html", "list.html", "terms.html")
    tpl = template_digests(env, names, also=("_card.html",), memo=memo)
    for name in names + ("_card.html",):  # compiled here, once: forked workers inherit them
        env.get_template(name)
    g = key_of(config.digest, site, r.nav, [s.key for s in specs], CODE_VERSION)
    d = lambda stories: [s.digest for s in stories]  # noqa: E731
    jobs: list[Job] = []
    idx = index
    featured = idx.featured(6)
    featured_ids = {s.id for s in featured}
    latest = tuple(s for s in idx.stories if s.id not in featured_ids)[: config.home_latest]
    jobs.append(Job("index.html", key_of(g, tpl["home.html"], d(featured), d(latest), len(idx.stories),
                                         [(t.key, len(t.stories)) for t in idx.terms["fields"] + idx.terms["levels"]],
                                         [(t.key, t.name) for t in idx.terms["campaigns"][:3]]), r.home))
    jobs += ready([r.not_found(), r.media()])
    # a story page names the listings it is in: all but campaigns follow from the story and the config
    # (both in the key already); campaigns also list stories by id, and their titles may change
    in_campaigns: dict[str, list[tuple[str, str]]] = {}
    for t in idx.terms.get("campaigns", ()):
        for s in t.stories:
            in_campaigns.setdefault(s.id, []).append((t.key, t.name))
    for s in idx.stories:
        prev, nxt = idx.previous.get(s.id), idx.next.get(s.id)
        key = key_of(g, tpl["story.html"], s.digest, prev.digest if prev else "", nxt.digest if nxt else "",
                     d(idx.related.get(s.id, ())), d(idx.series.get(s.id, ())), in_campaigns.get(s.id))
        jobs.append(Job(urls.file_of(s.url), key, lambda s=s: r.story(s)))
    jobs += r.listing_jobs(key_of(g, tpl["list.html"]), "全部先进典型", "stories/", "stories", idx.stories, None, "all")
    for family in FAMILIES:
        terms = idx.terms.get(family, ())
        jobs.append(Job(f"{family}/index.html", key_of(g, tpl["terms.html"], family,
                                                        [(t.key, t.name, len(t.stories), t.depth) for t in terms]),
                        lambda family=family: r.family_index(family)))
        for term in terms:
            title = term.name if family != "units" else f"{term.name}先进典型"
            jobs += r.listing_jobs(key_of(g, tpl["list.html"]), title, term.url, family, term.stories, term,
                                   f"{family}/{term.key}")
    cheap = [r.page(p) for p in idx.pages] + [r.withdrawn(w.url) for w in idx.withdrawn]
    cheap.append(r.withdrawn("withdrawn.html"))  # served by nginx with status 410 (see README)
    cheap += [sitemap(config, index), robots(config, site.drafts)]
    jobs += ready(cheap)
    return jobs


def story_page(env: jinja2.Environment, config: SiteConfig, index: SiteIndex, site: SiteView,
               specs: tuple[FeedSpec, ...], story: PublicStory) -> Output:
    """One story's page on its own (the preview server shows an edited story with it at once)."""
    return PageRenderer(env, config, index, site, specs).story(story)


def sitemap(config: SiteConfig, index: SiteIndex) -> Output:
    public = [s for s in index.stories if s.draft is None]
    entries: list[tuple[str, str | None]] = [("", public[0].updated.date().isoformat() if public else None)]
    entries += [(s.url, s.updated.date().isoformat()) for s in public]
    entries += [("stories/", None)]
    for family in FAMILIES:
        entries.append((f"{family}/", None))
        entries += [(t.url, None) for t in index.terms.get(family, ()) if any(s.draft is None for s in t.stories)
                    or family == "campaigns"]
    entries += [(p.url, None) for p in index.pages]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for path, lastmod in entries:
        lines.append(f"  <url><loc>{html_escape(urls.absolute(config.site_url, path), quote=False)}</loc>"
                     + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "") + "</url>")
    lines.append("</urlset>\n")
    return Output("sitemap.xml", "\n".join(lines).encode("utf-8"))


def robots(config: SiteConfig, drafts: bool) -> Output:
    if drafts:
        text = "# drafts build: not for publication\nUser-agent: *\nDisallow: /\n"
    else:
        text = (f"User-agent: *\nAllow: /\nDisallow: {config.base_path}sms/\n"
                f"Sitemap: {urls.absolute(config.site_url, 'sitemap.xml')}\n")
    return Output("robots.txt", text.encode("utf-8"))
