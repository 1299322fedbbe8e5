"""The one publication decision: StoryRecord → PublicStory or HeldBack.

A story is public when its status is approved or commended, it carries a
vetting record (纪检监察 clearance) that is not older than
`vetting_valid_days`, and its date has come. Everything downstream receives
only what this module returns, and what it returns has no private field.
This is also the only place that renders bodies, and it renders only what it
admits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from dataclasses import dataclass
from typing import Any, Callable

from . import text as textmod
from .jobs import CODE_VERSION
from .config import SiteConfig
from .errors import Problems
from .markup import Markup, Rendered
from .model import Campaign, HeldBack, Honor, Image, Named, Page, PublicStory, WithdrawnNotice
from .records import KINDS, PUBLIC_STATUSES, CampaignRecord, PageRecord, Records, StoryRecord

REASONS = {
    "status": "not yet selected (status)",
    "no-vetting": "no discipline-inspection vetting",
    "vetting-expired": "vetting out of date",
    "vetting-incomplete": "vetting record blank or a placeholder",
    "vetting-future": "vetting dated after the build date",
    "exemplar-withdrawn": "the exemplar's earlier story was withdrawn",
    "scheduled": "scheduled for a later date",
    "withdrawn": "withdrawn",
}


@dataclass(frozen=True)
class GateResult:
    stories: tuple[PublicStory, ...]  # public (and, in drafts builds, drafts marked as such)
    held: tuple[HeldBack, ...]
    withdrawn: tuple[WithdrawnNotice, ...]
    pages: tuple[Page, ...]
    campaigns: tuple[Campaign, ...]

    @property
    def public(self) -> tuple[PublicStory, ...]:
        """Only what may reach feeds, SMS and search: never drafts."""
        return tuple(s for s in self.stories if s.draft is None)


def decide(record: StoryRecord, config: SiteConfig, now: dt.datetime) -> HeldBack | None:
    """None when the story may be published now, else why not."""
    def held(reason: str, detail: str, until: dt.datetime | None = None) -> HeldBack:
        return HeldBack(record.path, record.id, reason, detail, until)

    if record.status == "withdrawn":
        return held("withdrawn", "status: withdrawn")
    if record.status not in PUBLIC_STATUSES:
        return held("status", f"status is '{record.status}'; only approved or commended stories are published")
    if record.vetting is None:
        return held("no-vetting", "approved, but there is no vetting record (cleared_by, date, ref)")
    blank = [k for k in ("cleared_by", "ref") if not getattr(record.vetting, k).strip()]
    if blank or placeholder_ref(record.vetting.ref):
        what = f"{' and '.join(blank)} blank" if blank else f"ref '{record.vetting.ref}' is a placeholder"
        return held("vetting-incomplete", f"the vetting record is not filled in ({what}); it does not count")
    if record.vetting.date > now.date():
        return held("vetting-future", f"the vetting is dated {record.vetting.date}, after the build date "
                                      f"{now.date()}; it does not count until then")
    age = (now.date() - record.vetting.date).days
    if age > config.vetting_valid_days:
        return held("vetting-expired", f"vetting of {record.vetting.date} is {age} days old "
                                       f"(valid for {config.vetting_valid_days}); renew it with the discipline office")
    if record.date > now:
        return held("scheduled", f"scheduled for {record.date:%Y-%m-%d %H:%M}", record.date)
    return None


# What the `new` template writes, and what people type while the number is not known yet.
_PLACEHOLDER_REFS = {"文号", "待定", "待补", "暂无", "无", "未定", "tbd", "todo", "xxx", "-", "—", "?", "？", "…", "..."}


def placeholder_ref(ref: str) -> bool:
    """A vetting reference that is not one: the template's '文号', '待定', or a number left as XX/××."""
    r = ref.strip()
    return r.lower() in _PLACEHOLDER_REFS or bool(re.search(r"(?i)xx|××|xx号|〔\s*〕|\[\s*\]", r)) \
        or not re.search(r"\w", r)


def next_change(records: Records, config: SiteConfig, now: dt.datetime) -> dt.datetime:
    """The first moment after `now` at which any story's verdict would change by time alone."""
    moments = [dt.datetime.max.replace(tzinfo=now.tzinfo)]
    for r in records.stories:
        if r.date > now:
            moments.append(r.date)
        if r.vetting is not None:
            start = dt.datetime(r.vetting.date.year, r.vetting.date.month, r.vetting.date.day, tzinfo=now.tzinfo)
            if start > now:  # a vetting dated in the future starts to count
                moments.append(start)
            day = r.vetting.date + dt.timedelta(days=config.vetting_valid_days + 1)
            expiry = dt.datetime(day.year, day.month, day.day, tzinfo=now.tzinfo)
            if expiry > now:
                moments.append(expiry)
    return min(moments)


def admit(records: Records, config: SiteConfig, now: dt.datetime, markup: Markup, problems: Problems,
          drafts: bool = False, render_all: Callable[[list[StoryRecord]], list[Rendered]] | None = None,
          slugify: Callable[..., str] = textmod.slugify, memo: dict[str, PublicStory] | None = None) -> GateResult:
    """Decide every story; render bodies only for what is admitted.

    `render_all` renders the bodies of a list of records (the pipeline passes
    one that reads the bodies of files it did not read, reuses cached
    renderings and spreads the rest over processes); by default, `markup`
    renders each record's body in turn.
    """
    stories: list[PublicStory] = []
    held: list[HeldBack] = []
    withdrawn: list[WithdrawnNotice] = []
    chosen: list[tuple[StoryRecord, str | None]] = []
    for record in records.stories:
        verdict = decide(record, config, now)
        if verdict is None:
            chosen.append((record, None))
            continue
        held.append(verdict)
        if verdict.reason == "withdrawn":
            withdrawn.append(WithdrawnNotice(record.slug))
        else:
            if verdict.reason == "no-vetting":
                problems.warning(record.path, record.line_of("status"), "vetting",
                                 "approved story held back: no vetting record from the discipline-inspection office",
                                 "vetting: {cleared_by: 市局纪委, date: 2026-03-01, ref: 镇公纪〔2026〕12号}")
            elif verdict.reason == "vetting-expired":
                problems.warning(record.path, record.line_of("vetting"), "vetting",
                                 f"story held back: {verdict.detail}", "a vetting date within the valid period")
            elif verdict.reason in ("vetting-incomplete", "vetting-future"):
                problems.warning(record.path, record.line_of("vetting"), "vetting",
                                 f"story held back: {verdict.detail}",
                                 "vetting: {cleared_by: 市局纪委, date: 2026-03-01, ref: 镇公纪〔2026〕12号} "
                                 "with the real clearing office, date and document number")
            if drafts:
                chosen.append((record, REASONS[verdict.reason]))
    tag_keys = _tag_keys(sorted({t for r, _ in chosen for t in r.tags}), slugify)
    # a story whose digest (file, config, verdict, tag URLs) and path are unchanged is reused as it was
    digests = [story_digest(r, config, draft, tag_keys) + r.path for r, draft in chosen]
    known = [memo.get(d) if memo is not None else None for d in digests]
    todo = [i for i, k in enumerate(known) if k is None]
    shared: dict[Any, Any] = {}
    todo_records = [chosen[i][0] for i in todo]
    if render_all is None:
        assert all(r.body is not None for r in todo_records), "records without bodies need a render_all"
        rendered = [markup.render(r.body or "") for r in todo_records]
    else:
        rendered = render_all(todo_records)
    for i, body in zip(todo, rendered):
        record, draft = chosen[i]
        known[i] = public_story(record, config, body, tag_keys, draft, shared)
        if memo is not None:
            memo[digests[i]] = known[i]
    stories.extend(s for s in known if s is not None)
    pages = tuple(_page(p, markup) for p in records.pages)
    campaigns = tuple(_campaign(c, markup) for c in records.campaigns)
    return GateResult(tuple(stories), tuple(held), tuple(sorted(withdrawn, key=lambda w: w.slug)),
                      pages, campaigns)


def _tag_keys(tags: list[str], slugify: Callable[..., str]) -> dict[str, str]:
    """Tag → URL key (pinyin), made unique in a stable order."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for tag in tags:
        key = slugify(tag, max_length=40)
        n = 2
        candidate = key
        while candidate in used:
            candidate = f"{key}-{n}"
            n += 1
        used.add(candidate)
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
        summary_html = html.escape(r.summary, quote=False)
    else:
        summary_html = rendered.lead_html
        summary = textmod.strip_tags(summary_html)
    unit = config.units.get(r.unit)
    assert unit is not None
    chain = one(tuple(one(Named(u.key, u.name)) for u in config.units.ancestors(r.unit)))
    fld, lvl = config.field_cat(r.field), config.level_cat(r.level)
    return PublicStory(
        id=r.id, slug=r.slug, title=r.title, name=r.name, kind=r.kind, kind_name=KINDS[r.kind],
        unit=one(Named(unit.key, unit.name)), unit_chain=chain, field=one(Named(fld.key, fld.name)),
        level=one(Named(lvl.key, lvl.name)), level_rank=lvl.order, date=r.date, updated=r.updated or r.date,
        status=r.status, summary=summary, summary_html=summary_html, body_html=rendered.html,
        tags=tuple(one(Named(tag_keys[t], t)) for t in r.tags), campaigns=r.campaigns,
        images=tuple(Image(i.src, i.caption, i.alt, i.size, i.mime) for i in r.images),
        honors=tuple(Honor(h.title, h.by, h.date) for h in r.honors), featured=r.featured,
        sms=r.sms, exemplar_of=r.exemplar_of,
        reading_minutes=textmod.minutes_for(rendered.cjk, rendered.words, config.reading_speed),
        char_count=rendered.chars, source=r.path, sms_line=r.line_of("sms"), draft=draft,
        digest=story_digest(r, config, draft, tag_keys),
    )


def story_digest(r: StoryRecord, config: SiteConfig, draft: str | None, tag_keys: dict[str, str]) -> str:
    """Everything a PublicStory is made from: its file, the config, the gate's verdict, tag URLs."""
    parts = [r.digest, config.digest, draft or "", CODE_VERSION] + [f"{t}={tag_keys[t]}" for t in r.tags]
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=16).hexdigest()


def _page(p: PageRecord, markup: Markup) -> Page:
    return Page(p.slug, p.title, p.summary, markup.render(p.body).html, p.menu, p.path)


def _campaign(c: CampaignRecord, markup: Markup) -> Campaign:
    return Campaign(c.slug, c.title, c.summary, markup.render(c.body).html, c.date, c.until,
                    c.decision, c.path, c.exemplars)
