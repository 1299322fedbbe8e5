"""The one publication decision: StoryRecord → PublicStory or HeldBack.

A story is public when its status is approved or commended, it carries a
vetting record (纪检监察 clearance) that is not older than
`vetting_valid_days`, and its date has come. Everything downstream receives
only what this module returns, and what it returns has no private field.
This is also the only place that renders bodies, and it renders only what it
admits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import html
import posixpath
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from . import personal, urls
from . import text as textmod
from .config import SiteConfig
from .errors import Problem, Problems
from .i18n import _, every_language, t
from .images import is_raster
from .jobs import CODE_VERSION
from .markup import Markup, Rendered
from .model import REASONS, Campaign, GateResult, HeldBack, Honor, Image, Named, Page, PublicStory, WithdrawnNotice
from .records import (
    CAMPAIGN_PLACEHOLDER,
    KINDS,
    PAGE_PLACEHOLDER,
    PUBLIC_STATUSES,
    CampaignRecord,
    PageRecord,
    Records,
    StoryRecord,
    Vetting,
)
from .sources import ASSET_DIRS

# the vetting record a story needs, as it is written in the front matter
_VETTING_EXAMPLE = "vetting: {cleared_by: 市局纪委, date: 2026-03-01, ref: 镇公纪〔2026〕12号}"


def decide(record: StoryRecord, config: SiteConfig, now: dt.datetime) -> HeldBack | None:
    """None when the story may be published now, else why not."""
    def held(reason: str, detail: str, until: dt.datetime | None = None) -> HeldBack:
        return HeldBack(record.path, record.id, reason, detail, until)

    if config.external and record.external is None:
        # (first: a withdrawn story never shown outside gets no notice page outside either)
        return held("internal-only", t("no external: clearance; it stays in the intranet edition, not in '{edition}'",
                                       edition=config.edition))
    if record.status == "withdrawn":
        return held("withdrawn", _("status: withdrawn"))
    if record.status not in PUBLIC_STATUSES:
        return held("status", t("status is '{status}'; only approved or commended stories are published",
                                status=record.status))
    if record.vetting is None:
        return held("no-vetting", _("approved, but there is no vetting record (cleared_by, date, ref)"))
    blank = [k for k in ("cleared_by", "ref") if not getattr(record.vetting, k).strip()]
    if not filled_in(record.vetting):
        if len(blank) == 2:
            what = t("{first} and {second} blank", first=blank[0], second=blank[1])
        elif blank:
            what = t("{field} blank", field=blank[0])
        elif placeholder_ref(record.vetting.ref):
            what = t("ref '{ref}' is a placeholder", ref=record.vetting.ref)
        else:
            what = t("cleared_by '{office}' is a placeholder", office=record.vetting.cleared_by)
        return held("vetting-incomplete", t("the vetting record is not filled in ({what}); it does not count",
                                            what=what))
    if record.vetting.date > now.date():
        return held("vetting-future", t("the vetting is dated {date}, after the build date {today}; it does not "
                                        "count until then", date=record.vetting.date, today=now.date()))
    age = (now.date() - record.vetting.date).days
    if age > config.vetting_valid_days:
        return held("vetting-expired", t("vetting of {date} is {age} days old (valid for {valid}); renew it with "
                                         "the discipline office", date=record.vetting.date, age=age,
                                         valid=config.vetting_valid_days))
    if record.date > now:
        return held("scheduled", t("scheduled for {when}", when=f"{record.date:%Y-%m-%d %H:%M}"), record.date)
    return None


# What the `new` template writes, and what people type while the number is not known yet.
_PLACEHOLDER_REFS = {"文号", "待定", "待补", "暂无", "无", "未定", "tbd", "todo", "xxx", "-", "—", "?", "？", "…",
                     "..."}


def placeholder_ref(ref: str) -> bool:
    """A vetting reference that is not one: no number in it (a document number always has one),
    the template's '文号', words that say it is still to come (待定, 暂无, TBD…), a number left as
    XX/××, or an empty number after the year bracket (〔2026〕号)."""
    r = ref.strip()
    return r.lower() in _PLACEHOLDER_REFS or not _DIGIT.search(r) or bool(_PLACEHOLDER_MARKS.search(r))


_DIGIT = re.compile(r"\d")
# a number left to fill in: XX, ××, ｘｘ, 〇〇, a lone X, ?, 某, __, nothing or only zeros after the year
# bracket (〔2026〕号, (2026)号, 〔2026〕, 〔2026〕00号), or words that say it is still to come
_PLACEHOLDER_MARKS = re.compile(r"(?i)xx|××|ｘｘ|〇〇|[x×ｘ]\s*号|[?？]|某|__|＿|待|暂无|未定|未知|tbd|todo"
                                r"|〔\s*〕|\[\s*\]|[〕\]）)]\s*[0０]*\s*号|[〕\]）)]\s*$")


def filled_in(v: Vetting) -> bool:
    """A vetting record whose office and reference are both filled in, neither a placeholder."""
    return bool(v.cleared_by.strip() and v.ref.strip()) and not placeholder_ref(v.ref) \
        and not placeholder_office(v.cleared_by)


def placeholder_office(office: str) -> bool:
    """A clearing office that is none: words that say it is still to come (待定, 未审核, TBD…)."""
    o = office.strip()
    return o.lower() in _PLACEHOLDER_REFS or bool(_PLACEHOLDER_OFFICE.search(o))


_PLACEHOLDER_OFFICE = re.compile(r"(?i)^(?:待|未审|未定|暂无|tbd|todo|xx|××|某)|[?？]")


def at_publish_time(value: dt.datetime, written_without_time: bool, config: SiteConfig) -> dt.datetime:
    """A date written without a time of day gets `feeds.publish_time` (noon unless set): a
    newsroom system that stores UTC would show a story stamped 00:00 +08:00 on the day before."""
    if not written_without_time:
        return value
    return value.replace(hour=config.feeds.publish_time.hour, minute=config.feeds.publish_time.minute)


def withdrawal_time(r: StoryRecord, config: SiteConfig) -> dt.datetime:
    """When a withdrawn story was withdrawn: its withdrawn_date, else its updated date, else its date."""
    for name in ("withdrawn_date", "updated", "date"):
        value = getattr(r, name)
        if value is not None:
            return at_publish_time(value, name in r.untimed, config)
    return r.date


def was_public(r: StoryRecord, config: SiteConfig, now: dt.datetime) -> bool:
    """Whether a withdrawn story can have been public before it was withdrawn: a vetting record
    that counts (its date may be a later renewal), and its day come before the withdrawal and
    before now. One that never was gets no notice page, no entry in the withdrawal map and no
    tombstone: each would name a story that was never out (its address is its title in pinyin)."""
    return r.vetting is not None and filled_in(r.vetting) and r.date <= min(withdrawal_time(r, config), now)


def next_change(records: Records, config: SiteConfig, now: dt.datetime) -> dt.datetime:
    """The first moment after `now` at which any story's verdict would change by time alone, or
    a withdrawal stops being announced to newsrooms (feeds.tombstone_days)."""
    moments = [dt.datetime.max.replace(tzinfo=now.tzinfo)]
    # a vetting starts to count at the midnight (in now's zone) of its date, and stops at the
    # midnight after its last valid day: the first of each, by the date (a midnight in now's zone
    # is after now exactly when its date is after today): one datetime each, not two a story
    today, valid = now.date(), dt.timedelta(days=config.vetting_valid_days + 1)
    first_start: dt.date | None = None
    first_expiry: dt.date | None = None
    for r in records.stories:
        if r.status == "withdrawn":
            ends = withdrawal_time(r, config) + dt.timedelta(days=config.feeds.tombstone_days)
            if ends > now:
                moments.append(ends)
        if r.date > now:
            moments.append(r.date)
        if r.vetting is not None:
            start = r.vetting.date
            if start > today and (first_start is None or start < first_start):  # a vetting dated in the future
                first_start = start
            expiry = start + valid
            if expiry > today and (first_expiry is None or expiry < first_expiry):
                first_expiry = expiry
    moments += [dt.datetime(d.year, d.month, d.day, tzinfo=now.tzinfo) for d in (first_start, first_expiry) if d]
    return min(moments)


def first_expiry(records: Records, shown: Collection[str], config: SiteConfig, now: dt.datetime) -> dt.datetime:
    """The first moment after `now` at which a story of `shown` (ids: what a build published) stops
    being public by the clock alone, which only a vetting running out does (a story coming due, a
    clearance starting, a withdrawal's tombstone ending make an output stale, never unsafe); the
    latest datetime if none does. From then on the output must not go out (deploy, export, sms)."""
    valid = dt.timedelta(days=config.vetting_valid_days + 1)
    ends = [r.vetting.date + valid for r in records.stories if r.id in shown and r.vetting is not None]
    first = min((d for d in ends if d > now.date()), default=None)
    return dt.datetime(first.year, first.month, first.day, tzinfo=now.tzinfo) if first is not None \
        else dt.datetime.max.replace(tzinfo=now.tzinfo)


@dataclass(frozen=True)
class Shown:
    """A story the gate lets through: public, or (in a drafts build) a draft with its reason."""

    record: StoryRecord
    draft: str | None
    digest: str  # story_digest: everything its PublicStory is made from


@dataclass(frozen=True)
class Decisions:
    """Every story decided, before any body is rendered."""

    shown: tuple[Shown, ...]
    held: tuple[HeldBack, ...]
    withdrawn: tuple[WithdrawnNotice, ...]
    tag_keys: dict[str, str]


def decide_all(records: Records, config: SiteConfig, now: dt.datetime, problems: Problems,
               drafts: bool = False, slugify: Callable[..., str] = textmod.slugify) -> Decisions:
    """Decide every story: shown (public, or a draft in a drafts build) or held back, and why."""
    shown: list[Shown] = []
    held: list[HeldBack] = []
    withdrawn: list[WithdrawnNotice] = []
    chosen: list[tuple[StoryRecord, str | None]] = []
    fallen = _fallen_series(records.stories)
    for record in records.stories:
        verdict = decide(record, config, now)
        cause = fallen.get(record.id)
        if cause is not None and not record.stays_public and verdict is None:
            # (a story that would not be public anyway stays held back for its own reason: no notice
            # page, which would give away the address of something never published)
            # everything about a withdrawn exemplar goes with it: the follow-ups, the earlier stories
            verdict = HeldBack(record.path, record.id, "exemplar-withdrawn",
                               t("the story {id} ({path}) about the same exemplar is withdrawn",
                                 id=cause.id, path=cause.path))
            problems.warning(record.path, record.line_of("exemplar_of" if record.exemplar_of else "id"),
                             "exemplar_of", t("held back: {detail}, so this one is withdrawn too",
                                              detail=verdict.detail),
                             _("stays_public: true  (only if this story must stay public on its own)"))
        if verdict is None:
            chosen.append((record, None))
            continue
        held.append(verdict)
        if verdict.reason == "withdrawn" and not was_public(record, config, now):
            pass  # never published (no vetting, or not due before it was withdrawn): nothing to take down
        elif verdict.reason in ("withdrawn", "exemplar-withdrawn"):
            # (a story withdrawn with its exemplar: at the time the exemplar's story was)
            when = withdrawal_time(cause if cause is not None and verdict.reason != "withdrawn" else record, config)
            withdrawn.append(WithdrawnNotice(record.slug, record.id, when))
        else:
            if verdict.reason == "no-vetting":
                problems.warning(record.path, record.line_of("status"), "vetting",
                                 _("approved story held back: no vetting record from the discipline-inspection "
                                   "office"),
                                 t("e.g. {example}", example=_VETTING_EXAMPLE))
            elif verdict.reason == "vetting-expired":
                problems.warning(record.path, record.line_of("vetting"), "vetting",
                                 t("story held back: {detail}", detail=verdict.detail),
                                 _("a vetting date within the valid period"))
            elif verdict.reason in ("vetting-incomplete", "vetting-future"):
                problems.warning(record.path, record.line_of("vetting"), "vetting",
                                 t("story held back: {detail}", detail=verdict.detail),
                                 t("{example} with the real clearing office, date and document number",
                                   example=_VETTING_EXAMPLE))
            if drafts:
                chosen.append((record, _(REASONS[verdict.reason])))
    tag_keys = _tag_keys(records.stories, slugify, problems)
    shown = [Shown(r, draft, story_digest(r, config, draft, tag_keys)) for r, draft in chosen]
    return Decisions(tuple(shown), tuple(held), tuple(sorted(withdrawn, key=lambda w: w.slug)), tag_keys)


def render_body(text: str, markup: Markup) -> Rendered:
    """A story's Markdown body as HTML: called only for what `decide_all` shows."""
    return markup.render(text)


def publish(shown: Shown, config: SiteConfig, rendered: Rendered, tag_keys: dict[str, str], problems: Problems,
            shared: dict[Any, Any] | None = None) -> PublicStory:
    """The public object of a shown story, from its record and its rendered body. External media in
    the body are errors (an intranet site loads nothing from outside)."""
    _external_media(shown.record.path, shown.record.body_line, rendered, problems)
    return public_story(shown.record, config, rendered, tag_keys, shown.draft, shared)


def finish(records: Records, decisions: Decisions, stories: list[PublicStory], config: SiteConfig, markup: Markup,
           problems: Problems, bodies: dict[str, str] | None = None,
           line_in: Callable[[str, str, int], int | None] | None = None) -> GateResult:
    """The gate's result: the stories published, pages and campaigns rendered, and no public body
    linking to a withdrawn story. `line_in` (the first line of a content file, from a given line on,
    that names a text, or None: sources.line_naming) and `bodies` (path → Markdown, where at hand,
    when there is no `line_in`) only sharpen the line numbers of errors."""
    pages, campaigns = [], []
    if config.external:  # an edition that goes outside holds only what was cleared for it
        records = Records(records.stories, tuple(p for p in records.pages if p.external),
                          tuple(c for c in records.campaigns if c.external))
    where = _Lines(records, bodies or {}, line_in)
    records = _without_campaigns_of_withdrawn(records, decisions, problems, where)
    records = _without_placeholders(records, problems)
    for p in records.pages:
        rendered_page = markup.render(p.body)
        _external_media(p.path, p.body_line, rendered_page, problems)
        pages.append(_page(p, rendered_page, config))
    for c in records.campaigns:
        rendered_campaign = markup.render(c.body)
        _external_media(c.path, c.body_line, rendered_campaign, problems)
        campaigns.append(_campaign(c, rendered_campaign, config))
    # the addresses of stories held back (not public, and no withdrawal notice: one never published has
    # none; a drafts build shows them; a story only an edition that goes outside leaves out is public
    # inside: _outside unlinks it; one whose vetting ran out was public until then, its address known,
    # and a build refused for a link to it would keep it online)
    shown = {s.record.path for s in decisions.shown}
    slugs = {r.path: r.slug for r in records.stories}
    notices = {w.url.strip("/") for w in decisions.withdrawn}
    hidden = {urls.story(slugs[h.source]).strip("/") for h in decisions.held if h.source in slugs
              and h.source not in shown and h.reason not in ("internal-only", "vetting-expired")} - notices
    _links_to_withdrawn(decisions.withdrawn, stories, pages, campaigns, config, problems, where, hidden)
    if config.external:
        stories, pages, campaigns = _outside(stories, pages, campaigns, records, config, problems, where)
    return GateResult(tuple(stories), decisions.held, decisions.withdrawn, tuple(pages), tuple(campaigns))


_ANCHOR_RE = re.compile(r'<a\s[^>]*?href="([^"]*)"[^>]*>(.*?)</a>', re.DOTALL)


def _outside(stories: list[PublicStory], pages: list[Page], campaigns: list[Campaign], records: Records,
             config: SiteConfig, problems: Problems,
             where: _Lines) -> tuple[list[PublicStory], list[Page], list[Campaign]]:
    """An edition that goes outside: a link to what is not in it becomes plain text (its words
    stay), and an intranet host name anywhere in public text is an error."""
    inside = {urls.story(s.slug).strip("/") for s in stories} | {p.url.strip("/") for p in pages} \
        | {c.url.strip("/") for c in campaigns}
    internal = {urls.story(r.slug).strip("/") for r in records.stories} | {f"{p.slug}" for p in records.pages} \
        | {f"campaigns/{c.slug}" for c in records.campaigns}

    own = _addresses(config)

    def unlink(fragment: str) -> tuple[str, tuple[str, ...]]:
        dropped: list[str] = []

        def one(m: re.Match[str]) -> str:
            target = _story_path(m.group(1), own)
            if target is not None and target not in inside and (target in internal or target.startswith(
                    ("stories/", "campaigns/"))):
                dropped.append(target)
                return m.group(2)
            return m.group(0)

        return _ANCHOR_RE.sub(one, fragment), tuple(dropped)

    hosts = [h for h in config.intranet_hosts if h]

    def leaks(source: str, *fragments: str) -> None:
        read = [textmod.as_browsers_read(f) for f in fragments]  # (any spelling a browser follows to it)
        for host in hosts:
            if any(host in f for f in read):
                problems.error(source, where.line(source, host, in_body=False), None,
                               t("the intranet address {host} appears in a story cleared for the '{edition}' "
                                 "edition, which goes outside", host=host, edition=config.edition),
                               _("remove the intranet address, or link to the story itself (site: links are "
                                 "rewritten for each edition)"))

    out_stories = []
    for story in stories:
        body, dropped = unlink(story.body_html)
        summary, dropped2 = unlink(story.summary_html)
        if dropped or dropped2:
            digest = hashlib.blake2b(f"{story.digest}|{sorted(dropped + dropped2)}".encode(),
                                     digest_size=16).hexdigest()
            story = dataclasses.replace(story, body_html=body, summary_html=summary, digest=digest)  # noqa: PLW2901
        leaks(story.source, story.title, story.name, story.summary, story.body_html, story.sms or "",
              *[i.caption + i.alt + i.credit for i in story.images], *story.authors,
              *[h.title + h.by for h in story.honors], *[tag.name for tag in story.tags])
        out_stories.append(story)
    out_pages = [dataclasses.replace(p, body_html=unlink(p.body_html)[0]) for p in pages]
    out_campaigns = [dataclasses.replace(c, body_html=unlink(c.body_html)[0]) for c in campaigns]
    for page in out_pages:
        leaks(page.source, page.title, page.summary, page.body_html)
    for campaign in out_campaigns:
        leaks(campaign.source, campaign.title, campaign.summary, campaign.decision, campaign.body_html)
    return out_stories, out_pages, out_campaigns


def admit(records: Records, config: SiteConfig, now: dt.datetime, markup: Markup, problems: Problems,
          bodies: dict[str, str], drafts: bool = False, slugify: Callable[..., str] = textmod.slugify) -> GateResult:
    """The whole gate in one call, without any cache: decide every story, render the bodies
    (`bodies`: story path → Markdown) of those shown, publish them. The build's incremental layer
    (incremental.py) makes the same calls, reusing what earlier builds made."""
    decisions = decide_all(records, config, now, problems, drafts, slugify)
    shared: dict[Any, Any] = {}
    stories = [publish(s, config, render_body(bodies[s.record.path], markup), decisions.tag_keys, problems, shared)
               for s in decisions.shown]
    result = finish(records, decisions, stories, config, markup, problems, bodies)
    needles = {r.path: r.needles for r in records.stories}
    line = error_lines(records, None, bodies)
    for item in related_texts(records, result, config):
        problems.extend(private_leaks(item, needles, line))
    return result


def _series(stories: tuple[StoryRecord, ...]) -> Callable[[str], str]:
    """Story id → the id standing for its series (the stories about one exemplar, linked by
    exemplar_of either way); for ids of stories only."""
    parent: dict[str, str] = {r.id: r.id for r in stories}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in stories:
        if r.exemplar_of and r.exemplar_of in parent:
            parent[find(r.id)] = find(r.exemplar_of)
    return find


def _fallen_series(stories: tuple[StoryRecord, ...]) -> dict[str, StoryRecord]:
    """Story id → a withdrawn story about the same exemplar (the series linked by exemplar_of)."""
    find = _series(stories)
    cause: dict[str, StoryRecord] = {}
    for r in stories:
        if r.status == "withdrawn":
            cause.setdefault(find(r.id), r)
    if not cause:  # (most builds: no story is withdrawn, and no series is looked up)
        return {}
    out: dict[str, StoryRecord] = {}
    for r in stories:
        if r.status != "withdrawn":
            fallen = cause.get(find(r.id))
            if fallen is not None:
                out[r.id] = fallen
    return out


class _Lines:
    """The line of a content file an error names: the first line that holds the text the error is
    about (in the body only, for a link: `in_body`), else the body's first line."""

    def __init__(self, records: Records, texts: Mapping[str, str],
                 line_in: Callable[[str, str, int], int | None] | None) -> None:
        self.records, self.texts, self.line_in = records, texts, line_in
        self.body_line: dict[str, int] = {}  # (made at the first error: most builds have none)

    def line(self, source: str, needle: str, in_body: bool = True) -> int:
        r = self.records
        if not self.body_line:  # (a page's or a campaign's text is always at hand)
            self.body_line = {x.path: x.body_line for x in r.stories}
            self.body_line.update({x.path: x.body_line for x in r.pages})
            self.body_line.update({x.path: x.body_line for x in r.campaigns})
            self.texts = {**self.texts, **{x.path: x.body for x in r.pages}, **{x.path: x.body for x in r.campaigns}}
        first = self.body_line.get(source, 1)
        found = self.line_in(source, needle, first if in_body else 1) if self.line_in and needle else None
        return found if found is not None else _line_in(self.texts.get(source, ""), first, needle)


def _line_in(body: str, body_line: int, needle: str) -> int:
    for i, line in enumerate(body.split("\n")):
        if needle and needle in line:
            return body_line + i
    return body_line


def _external_media(path: str, body_line: int, rendered: Rendered, problems: Problems) -> None:
    for url, offset in zip(rendered.external, rendered.external_lines, strict=False):
        problems.error(path, body_line + offset, None,
                       # TRANSLATORS: 原文：图片或音视频来自外部网站（{url}）：内网站点不能从外部加载任何内容
                       t("a picture, sound or video comes from an outside website ({url}): an intranet site "
                         "cannot load anything from outside", url=url[:80]),
                       # TRANSLATORS: 原文：把文件放进 content/images/ 或 content/media/，再用 images/文件名 引用
                       _("put the file in content/images/ or content/media/, then refer to it as "
                         "images/<file name>"))


_HREF_RE = re.compile(r'\s(?:href|src)="([^"]*)"')


Address = tuple[str, int | None, str, str]  # host, port, scheme, base path


def _addresses(config: SiteConfig) -> tuple[Address, ...]:
    """Every address the site is served at: this edition's and each other edition's (a link to a
    story's address in another edition leads to that story as much)."""
    out = []
    for base_url, base_path in [(config.base_url, config.base_path), *((e.base_url, e.base_path)
                                                                       for e in config.editions)]:
        own = urlsplit(base_url)
        out.append((textmod.browser_host(own.hostname or ""), own.port or _PORTS.get(own.scheme), own.scheme,
                    base_path))
    return tuple(out)


_PORTS = {"http": 80, "https": 443}
_URL_IGNORED = re.compile(r"[\t\n\r]")  # (what a browser drops anywhere in an address)
_URL_STRIPPED = "".join(map(chr, range(0x21)))  # (and at its ends: controls and spaces)


def _story_path(href: str, own: tuple[Address, ...]) -> str | None:
    """The site path a link in a rendered body leads to ('stories/x'), from a site: link or an
    absolute link to one of the site's addresses (`_addresses`); None for anything else. Read as
    a browser reads it: tabs and line breaks dropped, '\\' taken for '/'."""
    target = _URL_IGNORED.sub("", html.unescape(href)).strip(_URL_STRIPPED).replace("\\", "/")
    target = unquote(target)
    if target.startswith(urls.SITE_SCHEME):
        target = target[len(urls.SITE_SCHEME):]
    else:
        parts = urlsplit(target if "//" in target[:8] or target.startswith("//") else "")
        if not parts.hostname:
            return None
        for host, port, scheme, base_path in own:
            try:
                given = parts.port or _PORTS.get(parts.scheme or scheme)
            except ValueError:
                return None
            if textmod.browser_host(parts.hostname) == host and given == port and parts.path.startswith(base_path):
                target = parts.path[len(base_path):]
                break
        else:
            return None
    target = re.split(r"[?#]", target, maxsplit=1)[0]
    target = posixpath.normpath("/" + target).lstrip("/")  # stories/./x/, stories/y/../x/
    if target.endswith("index.html"):
        target = target[: -len("index.html")]
    return target.strip("/")


def story_links(body_html: str, config: SiteConfig) -> tuple[str, ...]:
    """The stories a rendered body links to or loads from ('stories/x', sorted, each once): its
    site: links and absolute links to the site's addresses, in any spelling `_story_path` reads."""
    own = _addresses(config)
    found = {p for p in (_story_path(h, own) for h in _HREF_RE.findall(body_html)) if p and p.startswith(_STORIES)}
    return tuple(sorted(found))


_STORIES = urls.story("x")[: -len("x/")]  # ('stories/': where every story's address begins)


def site_files(html_text: str) -> tuple[str, ...]:
    """The files of the site's media folders other than images (attachments) that a rendered text
    links to or loads by site: links ('files/a.pdf', sorted, each once): those are published. Only
    links and sources count (an address written into a title is not a link), read as the browser
    and the web server will: entities and percent escapes decoded."""
    return tuple(sorted(p for p in urls.site_paths(html_text) if p.startswith(_MEDIA) and not is_raster(p)))


_MEDIA = tuple(f"{folder}/" for folder in ASSET_DIRS)


def _without_campaigns_of_withdrawn(records: Records, decisions: Decisions, problems: Problems,
                                    where: _Lines) -> Records:
    """A campaign about a withdrawn exemplar (`exemplars:`) goes with the exemplar: its title and
    text name them ("向王建国同志学习"), and a withdrawn exemplar vanishes from every output. It is
    held back with a warning at that line, not refused: refusing would keep the whole old site, the
    exemplar included, online until someone deleted the campaign too."""
    gone = {h.id for h in decisions.held if h.reason in ("withdrawn", "exemplar-withdrawn")}
    if not gone or not any(e in gone for c in records.campaigns for e in c.exemplars):
        return records
    kept = []
    for c in records.campaigns:
        exemplar = next((e for e in c.exemplars if e in gone), None)
        if exemplar is None:
            kept.append(c)
            continue
        problems.warning(c.path, where.line(c.path, exemplar, in_body=False), "exemplars",
                         # TRANSLATORS: 原文：学习活动暂不发布：它是关于已撤下的典型 {id} 的，随典型一起撤下
                         t("campaign held back: it is about {id}, an exemplar who is withdrawn, and goes with "
                           "them", id=exemplar),
                         # TRANSLATORS: 原文：不用处理；如果活动并不是关于这位典型的，从 exemplars: 里去掉 {id}
                         t("nothing to do; if the campaign is not about this exemplar, remove {id} from "
                           "exemplars:", id=exemplar))
    return Records(records.stories, records.pages, tuple(kept))


def _without_placeholders(records: Records, problems: Problems) -> Records:
    """A page or campaign whose body still holds the sentence `new` wrote in place of its text (in
    any language) is held back with a warning at that line: it was made and never written."""
    def unwritten(r: PageRecord | CampaignRecord, placeholders: frozenset[str]) -> bool:
        for n, line in enumerate(r.body.splitlines()):
            text = line.strip()
            if text in placeholders:  # (a line of its own: quoted inside a line, it is meant)
                problems.warning(r.path, r.body_line + n, None,
                                 # TRANSLATORS: 原文：暂不发布：正文里还是新建时写的提示语“{text}”
                                 t("held back: its text is still the sentence written when it was made ('{text}')",
                                   text=text),
                                 # TRANSLATORS: 原文：把这句提示语换成要发布的正文
                                 _("write the text to publish in place of that sentence"))
                return True
        return False

    pages, campaigns = every_language(PAGE_PLACEHOLDER), every_language(CAMPAIGN_PLACEHOLDER)
    kept_pages = tuple(p for p in records.pages if not unwritten(p, pages))
    kept_campaigns = tuple(c for c in records.campaigns if not unwritten(c, campaigns))
    if len(kept_pages) == len(records.pages) and len(kept_campaigns) == len(records.campaigns):
        return records
    return Records(records.stories, kept_pages, kept_campaigns)


def _links_to_withdrawn(notices: tuple[WithdrawnNotice, ...], stories: list[PublicStory], pages: list[Page],
                        campaigns: list[Campaign], config: SiteConfig, problems: Problems, where: _Lines,
                        hidden: set[str] | frozenset[str] = frozenset()) -> None:
    """A public body may not link to a withdrawn story: the link would lead readers to the exemplar;
    nor to a story `hidden` (held back, or not due yet): its address (the title in pinyin) would
    give it away before it is public."""
    gone = {w.url.strip("/") for w in notices}
    if not gone and not hidden:
        return
    # (a story's links were read when its body was rendered, and are kept with it: a site with a
    # withdrawn story no longer reads every body again on every build, 0.3 s at 10,000 stories)
    found = [(s.source, s.story_links) for s in stories if s.draft is None]
    found += [(p.source, p.story_links) for p in pages]
    found += [(c.source, c.story_links) for c in campaigns]
    for source, linked in found:
        for url in (p for p in linked if p in gone):
            problems.error(source, where.line(source, url.rsplit("/", 1)[-1]), None,
                           # TRANSLATORS: 原文：正文链接到已撤下的稿件 {url}/：撤下的典型不能再从任何公开页面链接过去
                           t("the text links to the withdrawn story {url}/: no public page may link to a "
                             "withdrawn exemplar any more", url=url),
                           # TRANSLATORS: 原文：删除这个链接（保留文字即可）
                           _("delete the link (the words may stay)"))
        for url in (p for p in linked if p in hidden):
            problems.error(source, where.line(source, url.rsplit("/", 1)[-1]), None,
                           # TRANSLATORS: 原文：正文链接到还没有公开的稿件 {url}/（暂不发布或定时未到）：
                           # 链接会提前泄露它的网址
                           t("the text links to {url}/, a story that is not public (held back, or not due "
                             "yet): the link would give its address away before it is public", url=url),
                           # TRANSLATORS: 原文：先删除这个链接（保留文字即可），等那篇稿件公开后再加上
                           _("delete the link for now (the words may stay); add it once that story is public"))


@dataclass(frozen=True)
class Related:
    """A public text about an exemplar, in which the private values of related stories are looked
    for (`related_texts`, `private_leaks`)."""

    source: str  # its content file
    texts: tuple[tuple[str, str], ...]  # (field, text) of everything of it that is published
    stories: tuple[str, ...]  # the files of the stories whose private values are looked for in it
    own: str | None  # a story's own file: its own values were looked for in it (records.py)
    key: str  # changes whenever `texts` may change (with the stories' digests: what a finding depends on)


def related_texts(records: Records, result: GateResult, config: SiteConfig) -> list[Related]:
    """What is published about the same exemplar as a story, where that story's private values may
    not appear: the other stories of its series (exemplar_of, either way: a follow-up naming the
    spouse), the campaigns naming a story of it, the pages and campaigns linking one. (records.py
    looks for them in the story's own text. Not in every public text: a common name, 李梅, in an
    unrelated story is most likely someone else.)"""
    stories = records.stories
    in_series = {r.id for r in stories if r.exemplar_of} | {r.exemplar_of for r in stories if r.exemplar_of}
    if not (in_series or result.pages or result.campaigns):
        return []
    series = _series(stories)
    members: dict[str, list[str]] = {}  # series → its stories' files (of series of more than one)
    for r in stories:
        if r.id in in_series:
            members.setdefault(series(r.id), []).append(r.path)
    by_id = {r.id: r for r in stories}
    by_url = {urls.story(r.slug).strip("/"): r.id for r in stories} if result.pages or result.campaigns else {}

    def of(ids: Iterable[str]) -> tuple[str, ...]:
        found = [members.get(series(i), [by_id[i].path]) for i in ids if i in by_id]
        return tuple(dict.fromkeys(p for paths in found for p in paths))

    def key(*parts: str) -> str:
        return hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()

    def body(fragment: str) -> str:  # (its text, and what is in its tags: alt text, addresses, decoded)
        raw = html.unescape(fragment)
        return textmod.strip_tags(fragment) + "\x00" + raw + "\x00" + unquote(raw)

    out = []
    for s in result.stories:
        if s.id not in in_series or s.id not in by_id:
            continue
        own = by_id[s.id].path
        related = tuple(p for p in of([s.id]) if p != own)
        if related:
            out.append(Related(s.source, (
                ("title", s.title), ("name", s.name), ("summary", s.summary), ("body", body(s.body_html)),
                ("sms", s.sms or ""), ("authors", "\x00".join(s.authors)),
                ("images", "\x00".join(f"{i.caption}\x00{i.alt}\x00{i.credit}\x00{i.src}\x00{unquote(i.src)}"
                                       for i in s.images)),
                ("honors", "\x00".join(f"{h.title}\x00{h.by}" for h in s.honors)),
                ("tags", "\x00".join(tag.name for tag in s.tags))), related, own, key(s.source, s.digest)))
    for p in result.pages:
        related = of(by_url[u] for u in p.story_links if u in by_url)
        if related:
            texts: tuple[tuple[str, str], ...] = (("title", p.title), ("summary", p.summary),
                                                  ("body", body(p.body_html)))
            out.append(Related(p.source, texts, related, None, key(p.source, *(t for _f, t in texts))))
    named: dict[str, list[str]] = {}  # campaign slug → the stories naming it (campaigns: in a story)
    for r in stories:
        for slug in r.campaigns:
            named.setdefault(slug, []).append(r.id)
    for c in result.campaigns:
        related = of([*c.story_ids, *named.get(c.slug, ()), *(by_url[u] for u in c.story_links if u in by_url)])
        if related:
            texts = (("title", c.title), ("summary", c.summary), ("decision", c.decision), ("body", body(c.body_html)))
            out.append(Related(c.source, texts, related, None, key(c.source, *(t for _f, t in texts))))
    return out


def private_leaks(item: Related, needles: Mapping[str, Sequence[tuple[str, str]]],
                  line: Callable[[str, str, bool], int], stories: Sequence[str] | None = None,
                  normalised: Callable[[str], str] | None = None) -> list[Problem]:
    """The related stories' private values (`needles`: file → personal.private_needles) found in
    the item's text, as errors naming the field and the story it is from, never the value, story by
    story. `line`: (file, text, in its body only) → the line of the file that names the text
    (`error_lines`). `stories`: those of the item's stories to look for (default: all of them);
    `normalised`: a memo of personal.normalise for an item looked at in several calls (each of its
    texts is normalised once, not once for each story: a series of k stories is k items of k-1)."""
    if normalised is None:
        normalised = functools.cache(personal.normalise)
    own = set(v for _label, v in needles.get(item.own, ())) if item.own else set()
    joined = "\x00".join(text for _f, text in item.texts)
    out = Problems()
    for path in item.stories if stories is None else stories:
        wanted = [(f"{label}\x00{path}", value) for label, value in needles.get(path, ()) if value not in own]
        if not wanted or not personal.private_in(joined, wanted, normalised):
            continue
        value = dict(wanted)
        for name, text in item.texts:
            for label in dict.fromkeys(personal.private_in(text, wanted, normalised)):
                field_label = label.split("\x00")[0]
                out.error(item.source, line(item.source, value[label], name == "body"), name,
                          # TRANSLATORS: 原文：公开的文字里有 {path} 的私密字段 {label} 里写的内容（这里不显示）
                          t("public text holds what is written in the private field {label} of {path} "
                            "(not shown here)", label=field_label, path=path),
                          # TRANSLATORS: 原文：删除或改写这段公开文字：{path} 里 private: 下的内容一律不公开，
                          # 关于同一位典型的其他稿件、学习活动和链接它的页面里也不能有
                          t("delete or rewrite this public text: what is under private: in {path} is never "
                            "published, in the other stories about the same exemplar, the campaigns and the "
                            "pages linking it neither", path=path))
    return list(out.items)


def error_lines(records: Records, line_in: Callable[[str, str, int], int | None] | None = None,
                bodies: Mapping[str, str] | None = None) -> Callable[[str, str, bool], int]:
    """(file, text, in its body only) → the line of a content file an error about that text names
    (see finish for `line_in` and `bodies`)."""
    return _Lines(records, bodies or {}, line_in).line


TAG_SLUG_LENGTH = 40


def tag_slug(tag: str, slugify: Callable[..., str]) -> str:
    """A tag's pinyin, the start of its URL key (`_tag_keys`)."""
    return slugify(tag, max_length=TAG_SLUG_LENGTH)


def _tag_keys(stories: tuple[StoryRecord, ...], slugify: Callable[..., str], problems: Problems) -> dict[str, str]:
    """Tag → URL key (pinyin), the same in every build: of tags whose pinyin collides (look-alikes,
    traditional and simplified forms, homophones), the one first used (by its earliest approved
    or commended story, then by its earliest story of any status) keeps the plain key and a newcomer
    gets '-2', '-3'…, so an address once published
    never moves to another tag."""
    first: dict[str, tuple[bool, dt.datetime, str, StoryRecord]] = {}
    for r in stories:
        for name in r.tags:
            # a tag with an approved or commended story outranks one without (a backdated seedling
            # cannot take the address of a published tag), then the earliest story
            mark = (r.status not in PUBLIC_STATUSES, r.date, r.id, r)
            if name not in first or mark[:3] < first[name][:3]:
                first[name] = mark
    out: dict[str, str] = {}
    owner: dict[str, str] = {}
    for tag in sorted(first, key=lambda name: (first[name][:3], name)):
        key = tag_slug(tag, slugify)
        n = 2
        candidate = key
        while candidate in owner:
            candidate = f"{key}-{n}"
            n += 1
        if candidate != key:
            r = first[tag][3]
            problems.warning(r.path, r.line_of("tags"), "tags",
                             t("tag '{tag}' reads like the tag '{other}' (both '{key}'); it gets its own address "
                               "tags/{address}/", tag=tag, other=owner[key], key=key, address=candidate),
                             t("write it exactly as '{other}' if it is the same tag", other=owner[key]))
        owner[candidate] = tag
        out[tag] = candidate
    return out


def public_story(r: StoryRecord, config: SiteConfig, rendered: Rendered, tag_keys: dict[str, str],
                  draft: str | None, shared: dict[Any, Any] | None = None) -> PublicStory:
    """`shared`: one instance of each unit, field, level and tag name for all stories of a build
    (immutable values; stored once in the cache and loaded as one object)."""
    shared = {} if shared is None else shared

    def one(value: Any) -> Any:
        return shared.setdefault(value, value)

    if r.summary:
        summary = r.summary
        summary_html = textmod.escape_text(r.summary)
    else:
        summary_html = rendered.lead_html
        summary = textmod.strip_tags(summary_html)
    unit = config.units.get(r.unit)
    assert unit is not None
    chain = one(tuple(one(Named(u.key, u.name)) for u in config.units.ancestors(r.unit)))
    fld, lvl = config.field_cat(r.field), config.level_cat(r.level)
    date = at_publish_time(r.date, "date" in r.untimed, config)
    updated = at_publish_time(r.updated, "updated" in r.untimed, config) if r.updated else date
    return PublicStory(
        id=r.id, slug=r.slug, title=r.title, name=r.name, kind=r.kind, kind_name=KINDS[r.kind],
        unit=one(Named(unit.key, unit.name)), unit_chain=chain, field=one(Named(fld.key, fld.name)),
        level=one(Named(lvl.key, lvl.name)), level_rank=lvl.order, date=date, updated=max(updated, date),
        status=r.status, summary=summary, summary_html=summary_html, body_html=rendered.html,
        tags=tuple(one(Named(tag_keys[tag], tag)) for tag in r.tags), campaigns=r.campaigns,
        images=tuple(Image(i.src, i.caption, i.alt, i.size, i.mime, i.credit) for i in r.images),
        honors=tuple(Honor(h.title, h.by, h.date) for h in r.honors), featured=r.featured,
        sms=r.sms, exemplar_of=r.exemplar_of,
        reading_minutes=textmod.minutes_for(rendered.cjk, rendered.words, config.reading_speed),
        char_count=rendered.chars, source=r.path, sms_line=r.line_of("sms"), authors=r.authors, draft=draft,
        story_links=story_links(rendered.html, config), site_files=site_files(rendered.html),
        digest=story_digest(r, config, draft, tag_keys),
    )


def story_digest(r: StoryRecord, config: SiteConfig, draft: str | None, tag_keys: dict[str, str]) -> str:
    """Everything a PublicStory is made from: its file and where it is, the config, the media it
    shows (their sizes and types: feeds give an enclosure's length), the gate's verdict, tag URLs."""
    parts = [r.digest, r.path, config.digest, draft or "", CODE_VERSION] + [f"{tag}={tag_keys[tag]}" for tag in r.tags]
    parts += [f"{i.src}|{i.size}|{i.mime}" for i in r.images]
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=16).hexdigest()


def _page(p: PageRecord, rendered: Rendered, config: SiteConfig) -> Page:
    return Page(p.slug, p.title, p.summary, rendered.html, p.menu, p.path, story_links(rendered.html, config))


def _campaign(c: CampaignRecord, rendered: Rendered, config: SiteConfig) -> Campaign:
    return Campaign(c.slug, c.title, c.summary, rendered.html, c.date, c.until,
                    c.decision, c.path, c.exemplars, story_links(rendered.html, config))
