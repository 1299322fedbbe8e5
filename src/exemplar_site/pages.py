"""SiteIndex → the HTML pages, sitemap.xml and robots.txt, as Outputs."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from html import escape as html_escape
from typing import Any

import jinja2
from markupsafe import Markup as Safe

from . import urls
from .config import SiteConfig
from .feedspec import FeedSpec
from .jobs import CODE_VERSION, Job, deep_fingerprint, fingerprint, key_of, ready, text_fingerprint
from .model import Output, PublicStory
from .taxonomy import FAMILIES, FAMILY_NAMES, SiteIndex, Term
from .theme import SiteView, template_digests


@dataclass(frozen=True, repr=False)
class Pager:
    number: int
    total: int
    base: str  # site path of page 1

    def __repr__(self) -> str:  # (part of every listing page's key: plain and quick)
        return f"Pager({self.number!r}, {self.total!r}, {self.base!r})"

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
        keep = sorted(n for n in {1, self.total, *range(self.number - 2, self.number + 3)} if 1 <= n <= self.total)
        out: list[int | None] = []
        for n in keep:  # (the kept numbers only: a listing of P pages costs P, not P², to number)
            if out and out[-1] != n - 1:
                out.append(None)
            out.append(n)
        return out


@dataclass(frozen=True)
class NavItem:
    title: str
    path: str
    section: str


@dataclass(frozen=True, repr=False)
class FeedLink:
    title: str
    rss: str
    atom: str

    def __repr__(self) -> str:  # (part of every page's key: plain and quick)
        return f"FeedLink({self.title!r}, {self.rss!r}, {self.atom!r})"


_ROOT_MARK = "\x00root\x00"  # cannot occur in a page: XML forbids the character


class _Reads:
    """What one rendering read beyond its key (the story lists of terms and feeds)."""

    def __init__(self) -> None:
        self.deep: set[str] = set()


class _StoryList(Sequence[PublicStory]):
    """A term's or feed's stories as a template sees them: counting them (`|length`, `if`) is
    covered by the page key; reading them is recorded."""

    def __init__(self, stories: tuple[PublicStory, ...], name: str, reads: _Reads):
        self._stories, self._name, self._reads = stories, name, reads

    def __len__(self) -> int:
        return len(self._stories)

    def __bool__(self) -> bool:
        return bool(self._stories)

    def __getitem__(self, i: Any) -> Any:
        self._reads.deep.add(self._name)
        return self._stories[i]

    def __iter__(self) -> Iterator[PublicStory]:
        self._reads.deep.add(self._name)
        return iter(self._stories)

    def __repr__(self) -> str:  # (printing them reads them all)
        self._reads.deep.add(self._name)
        return repr(self._stories)

    def __eq__(self, other: object) -> bool:
        self._reads.deep.add(self._name)
        return self._stories == (other._stories if isinstance(other, _StoryList) else other)

    __hash__ = None  # type: ignore[assignment]  # (a sequence compared by value, as a tuple is not hashed here)


class _Watched:
    """A Term or FeedSpec as a template sees it: every attribute as it is, `stories` watched."""

    __slots__ = ("_name", "_obj", "_reads")

    def __init__(self, obj: Any, name: str, reads: _Reads):
        self._obj, self._name, self._reads = obj, name, reads

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._obj, attr)
        return _StoryList(value, self._name, self._reads) if attr == "stories" else value

    # printed or compared in a template, it is the term itself (its repr leaves out the stories)
    def __repr__(self) -> str:
        return repr(self._obj)

    def __str__(self) -> str:
        return str(self._obj)

    def __eq__(self, other: object) -> bool:
        return bool(self._obj == (other._obj if isinstance(other, _Watched) else other))

    def __hash__(self) -> int:
        return hash(self._obj)


def _deep_name(obj: Any) -> str | None:
    if isinstance(obj, Term):
        return f"term:{obj.family}/{obj.key}"
    if isinstance(obj, FeedSpec):
        return f"feed:{obj.key}"
    return None


def _watch(value: Any, reads: _Reads) -> Any:
    name = _deep_name(value)
    if name is not None:
        return _Watched(value, name, reads)
    if isinstance(value, (tuple, list)) and value and _deep_name(value[0]) is not None:
        return type(value)(_watch(v, reads) for v in value)
    return value


@dataclass(frozen=True)
class PageCall:
    """One page: its template and everything the template receives (but the helpers every page gets)."""

    template: str
    path: str
    section: str
    feeds: tuple[FeedLink, ...] | None
    link_base: str | None
    values: tuple[tuple[str, Any], ...]


# A page as a recipe: (its name, the function that makes what its template receives). A name is
# given only to a page whose call reads nothing but the index's shape (which stories are where,
# terms and feeds without their stories, pages, campaigns: incremental.index_shape), the config,
# the templates and the stories its call holds (each one whole, by its digest): story pages and
# listings. Such a page's key is the same as long as those are (the incremental layer relies on
# it to skip building and hashing the call). Pages that look at stories they do not hold (the home
# page picks the featured ones out of all stories) have no name and are keyed on every build.
Recipe = tuple[str | None, Callable[[], PageCall]]


class PageRenderer:
    """Renders one kind of page at a time; holds only read-only inputs."""

    def __init__(self, env: jinja2.Environment, config: SiteConfig, index: SiteIndex,
                 site: SiteView, specs: tuple[FeedSpec, ...]):
        self.env, self.config, self.index, self.site, self.specs = env, config, index, site, specs
        self.nav = self._nav()
        self.spec_by_key = {s.key: s for s in specs}
        self.spec_at = {s.key: i for i, s in enumerate(specs)}
        self._feed_links: dict[str, FeedLink] = {}
        self.all_feed = self._links(["all"])
        self._cards: dict[tuple[str, bool], str] = {}
        self._deep: dict[str, str] = {}

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

    def _feed_link(self, spec: FeedSpec) -> FeedLink:
        """One FeedLink per feed, shared by every page that links it (its key is computed once)."""
        link = self._feed_links.get(spec.key)
        if link is None:
            link = self._feed_links[spec.key] = FeedLink(spec.title, spec.rss, spec.atom)
        return link

    def _links(self, keys: list[str]) -> tuple[FeedLink, ...]:
        return tuple(self._feed_link(s) for k in keys if (s := self.spec_by_key.get(k)))

    def call(self, template: str, path: str, section: str, feeds: tuple[FeedLink, ...] | None = None,
             link_base: str | None = None, **values: Any) -> PageCall:
        return PageCall(template, path, section, feeds, link_base, tuple(values.items()))

    def render(self, template: str, path: str, section: str, feeds: tuple[FeedLink, ...] | None = None,
               link_base: str | None = None, **values: Any) -> Output:
        return self.make(self.call(template, path, section, feeds, link_base, **values))

    def make(self, c: PageCall) -> Output:
        reads = _Reads()
        ctx = dict(site=self.site, page_path=c.path, nav=self.nav, section=c.section,
                   feeds=self.all_feed if c.feeds is None else c.feeds, link_base=c.link_base,
                   family_names=FAMILY_NAMES, card=lambda s, show_image=True: self.card(s, c.path, show_image),
                   **{k: _watch(v, reads) for k, v in c.values})
        html = self.env.get_template(c.template).render(ctx)
        return Output(urls.file_of(c.path), html.encode("utf-8"), deps=tuple(sorted(reads.deep)))

    def job(self, c: PageCall, g: str, tpl: dict[str, str]) -> Job:
        """The page as a Job: its key is everything `make` passes the template (fingerprinted whole),
        the templates it can load and the site-wide part `g`; `rekey` adds the story lists a
        rendering read (Output.deps)."""
        return self.keyed(c, g, tpl)[0]

    def keyed(self, c: PageCall, g: str, tpl: dict[str, str]) -> tuple[Job, str]:
        """`job`, and the text its key hashes (the repr of what the template receives)."""
        text = repr((self.all_feed if c.feeds is None else c.feeds, c.values))
        shallow = key_of(g, tpl[c.template], c.path, c.section, c.link_base, text_fingerprint(text))
        return self.known(urls.file_of(c.path), shallow, lambda: c), text

    def known(self, path: str, shallow: str, call: Callable[[], PageCall]) -> Job:
        """A page whose key (without the story lists its rendering reads) is `shallow`; `call`
        makes what its template receives, only if it must be rendered."""
        def rekey(deps: tuple[str, ...]) -> str:
            return key_of(shallow, [(d, self.deep_digest(d)) for d in deps]) if deps else shallow

        return Job(path, shallow, lambda: self.make(call()), rekey)

    def deep_digest(self, name: str) -> str:
        """The digests of every story of a term or feed named in Output.deps."""
        found = self._deep.get(name)
        if found is None:
            kind, _, key = name.partition(":")
            if kind == "term":
                family, _, term_key = key.partition("/")
                term = self.index.term_of.get((family, term_key))
                stories: tuple[PublicStory, ...] = term.stories if term is not None else ()
            else:
                spec = self.spec_by_key.get(key)
                stories = spec.stories if spec is not None else ()
            found = self._deep[name] = deep_fingerprint(stories)
        return found

    # ---- page kinds: each returns what its template receives ------------------------------

    def home(self) -> PageCall:
        idx = self.index
        featured = idx.featured(6)
        featured_ids = {s.id for s in featured}
        latest = tuple(itertools.islice((s for s in idx.stories if s.id not in featured_ids), self.config.home_latest))
        return self.call("home.html", "", "home", featured=featured, latest=latest,
                         fields=idx.terms["fields"], levels=idx.terms["levels"],
                         campaigns=idx.terms["campaigns"][:3], total=len(idx.stories))

    def story(self, s: PublicStory) -> PageCall:
        idx = self.index
        terms = idx.terms_for(s)
        # its feeds, in the order of the feed list (as feeds_for_story, without a pass over every feed)
        found = [self.spec_at[k] for k in {"all", *(f"{t.family}/{t.key}" for t in terms)} if k in self.spec_at]
        feeds = tuple(self._feed_link(self.specs[i]) for i in sorted(found))
        campaigns = [t for t in terms if t.family == "campaigns"]
        return self.call("story.html", s.url, "stories", feeds=feeds, story=s,
                         previous=idx.previous.get(s.id), next=idx.next.get(s.id),
                         related=idx.related.get(s.id, ()), series=idx.series.get(s.id, ()),
                         campaigns=campaigns)

    def listing_page(self, title: str, base: str, section: str, stories: tuple[PublicStory, ...],
                     term: Term | None, feed_key: str | None, n: int, total: int) -> PageCall:
        size = self.config.page_size
        feeds = self._links([feed_key]) if feed_key else None
        pager = Pager(n, total, base)
        return self.call("list.html", pager.url(n), section, feeds=feeds or self.all_feed,
                         title=title, term=term, stories=stories[(n - 1) * size: n * size],
                         pager=pager, count=len(stories))

    def listing(self, title: str, base: str, section: str, stories: tuple[PublicStory, ...],
                term: Term | None, feed_key: str | None) -> list[PageCall]:
        return [make() for _, make in self.listing_recipes(title, base, section, stories, term, feed_key)]

    def listing_recipes(self, title: str, base: str, section: str, stories: tuple[PublicStory, ...],
                        term: Term | None, feed_key: str | None) -> list[Recipe]:
        total = max(1, math.ceil(len(stories) / self.config.page_size))
        return [(f"list\x1f{base}\x1f{n}",
                 functools.partial(self.listing_page, title, base, section, stories, term, feed_key, n, total))
                for n in range(1, total + 1)]

    def family_index(self, family: str) -> PageCall:
        return self.call("terms.html", f"{family}/", family, family=family, title=FAMILY_NAMES[family],
                         terms=self.index.terms.get(family, ()))

    def page(self, p: Any) -> PageCall:
        return self.call("page.html", p.url, p.slug, page=p)

    def booklet(self, term: Term) -> PageCall:
        """A campaign's stories on one page to print (学习资料汇编): cover, contents, every story."""
        return self.call("booklet.html", f"{term.url}print/", "campaigns", term=term, stories=term.stories,
                         booklet=True)

    def media(self) -> PageCall:
        fs = self.config.feeds
        return self.call("media.html", "feeds/", "feeds", specs=self.specs, families=FAMILY_NAMES,
                         press_contact=self.config.press_contact, tombstone_days=fs.tombstone_days,
                         publish_time=f"{fs.publish_time:%H:%M}")

    def withdrawn(self, path: str) -> PageCall:
        # the notice nginx serves with 410 at any withdrawn address: links from base_path, not from
        # where the file lies (as 404.html)
        base = self.config.base_path if path == "withdrawn.html" else None
        return self.call("withdrawn.html", path, "", feeds=(), link_base=base)

    def not_found(self) -> PageCall:
        return self.call("404.html", "404.html", "", link_base=self.config.base_path)


TEMPLATES = ("home.html", "story.html", "list.html", "terms.html", "page.html", "media.html", "withdrawn.html",
             "404.html", "booklet.html")
CARD = ("_card.html",)  # rendered from Python for every page with story cards


@dataclass(frozen=True)
class PagePlan:
    """Every page of the site, not yet keyed: `page_jobs` keys them all; the incremental layer
    reuses the keys of named recipes whose inputs are unchanged."""

    renderer: PageRenderer
    site_key: str  # `g`: the config, the site view, the navigation, the code
    tpl: dict[str, str]
    recipes: list[Recipe]
    extra: list[Job]  # sitemap.xml, robots.txt

    def keyed(self, call: PageCall) -> tuple[Job, str]:
        return self.renderer.keyed(call, self.site_key, self.tpl)


def page_plan(env: jinja2.Environment, config: SiteConfig, index: SiteIndex, site: SiteView,
              specs: tuple[FeedSpec, ...], tpl: dict[str, str] | None = None) -> PagePlan:
    """Every page as a recipe, with what keys them (see page_jobs)."""
    r = PageRenderer(env, config, index, site, specs)
    tpl = tpl if tpl is not None else template_digests(env, TEMPLATES, also=CARD)
    for name in TEMPLATES + CARD:  # compiled here, once: forked workers inherit them
        env.get_template(name)
    g = key_of(config.digest, fingerprint(site), fingerprint(r.nav), CODE_VERSION)
    idx = index
    recipes: list[Recipe] = [(None, r.home), (None, r.not_found), (None, r.media)]
    recipes += [(f"story\x1f{s.id}", functools.partial(r.story, s)) for s in idx.stories]
    recipes += r.listing_recipes("全部先进典型", "stories/", "stories", idx.stories, None, "all")
    for family in FAMILIES:
        recipes.append((None, functools.partial(r.family_index, family)))
        for term in idx.terms.get(family, ()):
            title = term.name if family != "units" else f"{term.name}先进典型"
            recipes += r.listing_recipes(title, term.url, family, term.stories, term, f"{family}/{term.key}")
            if family == "campaigns" and term.stories:  # its booklet, to print
                recipes.append((f"booklet\x1f{term.key}", functools.partial(r.booklet, term)))
    recipes += [(None, functools.partial(r.page, p)) for p in idx.pages]
    recipes += [(None, functools.partial(r.withdrawn, w.url)) for w in idx.withdrawn]
    recipes.append((None, functools.partial(r.withdrawn, "withdrawn.html")))  # served by nginx with 410 (README)
    return PagePlan(r, g, tpl, recipes, ready([*sitemap(config, index), robots(config, site.drafts)]))


def page_jobs(env: jinja2.Environment, config: SiteConfig, index: SiteIndex, site: SiteView,
              specs: tuple[FeedSpec, ...], tpl: dict[str, str] | None = None) -> list[Job]:
    """Every page as a Job. A page's key is everything its template receives (PageRenderer.job),
    the templates it can load (its own and all it extends, includes or imports, and the card:
    `tpl`, from theme.template_digests(env, TEMPLATES, CARD)), the config and the code: no list
    of fields that someone must keep up to date."""
    plan = page_plan(env, config, index, site, specs, tpl)
    return [plan.keyed(make())[0] for _, make in plan.recipes] + plan.extra


def story_page(env: jinja2.Environment, config: SiteConfig, index: SiteIndex, site: SiteView,
               specs: tuple[FeedSpec, ...], story: PublicStory) -> Output:
    """One story's page on its own (the preview server shows an edited story with it at once)."""
    r = PageRenderer(env, config, index, site, specs)
    return r.make(r.story(story))


# The sitemap protocol's limit per file (sitemaps.org: 50,000 URLs, 50 MB): a larger site's
# sitemap.xml is an index of sitemap-1.xml, sitemap-2.xml… of at most this many URLs each.
SITEMAP_URLS = 50_000
_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def sitemap(config: SiteConfig, index: SiteIndex, per_file: int = SITEMAP_URLS) -> list[Output]:
    """sitemap.xml (what robots.txt names): every public page's address; over `per_file`
    addresses, an index of numbered sitemaps."""
    public = [s for s in index.stories if s.draft is None]
    entries: list[tuple[str, str | None]] = [("", public[0].updated.date().isoformat() if public else None)]
    entries += [(s.url, s.updated.date().isoformat()) for s in public]
    entries += [("stories/", None)]
    for family in FAMILIES:
        entries.append((f"{family}/", None))
        entries += [(t.url, None) for t in index.terms.get(family, ()) if any(s.draft is None for s in t.stories)
                    or family == "campaigns"]
    entries += [(p.url, None) for p in index.pages]

    def urlset(part: list[tuple[str, str | None]]) -> bytes:
        lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{_SITEMAP_NS}">']
        for path, lastmod in part:
            lines.append(f"  <url><loc>{html_escape(urls.absolute(config.site_url, path), quote=False)}</loc>"
                         + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "") + "</url>")
        lines.append("</urlset>\n")
        return "\n".join(lines).encode("utf-8")

    if len(entries) <= per_file:
        return [Output("sitemap.xml", urlset(entries))]
    parts = [entries[i:i + per_file] for i in range(0, len(entries), per_file)]
    out = [Output(f"sitemap-{n}.xml", urlset(part)) for n, part in enumerate(parts, 1)]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<sitemapindex xmlns="{_SITEMAP_NS}">']
    for n, part in enumerate(parts, 1):
        newest = max((lastmod for _, lastmod in part if lastmod), default=None)
        lines.append(f"  <sitemap><loc>{html_escape(urls.absolute(config.site_url, f'sitemap-{n}.xml'), quote=False)}"
                     f"</loc>" + (f"<lastmod>{newest}</lastmod>" if newest else "") + "</sitemap>")
    lines.append("</sitemapindex>\n")
    return [Output("sitemap.xml", "\n".join(lines).encode("utf-8")), *out]


def robots(config: SiteConfig, drafts: bool) -> Output:
    if drafts:
        text = "# drafts build: not for publication\nUser-agent: *\nDisallow: /\n"
    else:
        text = (f"User-agent: *\nAllow: /\nDisallow: {config.base_path}sms/\n"
                f"Sitemap: {urls.absolute(config.site_url, 'sitemap.xml')}\n")
    return Output("robots.txt", text.encode("utf-8"))
