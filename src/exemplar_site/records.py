"""RawDoc → typed records (private block included), or Problems.

This is where every front-matter field is checked. Messages name the field
and say what would be accepted, with an example. Records still carry the
private block; only gate.py turns them into public objects.
"""

from __future__ import annotations

import datetime as dt
import html
import mimetypes
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any
from urllib.parse import unquote

from . import personal, portable
from . import text as textmod
from .config import SiteConfig
from .dates import _date_only, impossible_day, parse_datetime
from .errors import Problems, did_you_mean, meant
from .frontmatter import RawDoc
from .i18n import N_, _, t
from .model import replaced
from .schema import (
    ASSESSMENT_FIELDS,
    CAMPAIGN,
    HONOR_FIELDS,
    IMAGE_FIELDS,
    PAGE,
    STORY,
    VETTING_FIELDS,
    Field,
    by_name,
)

STATUSES = ("seedling", "cultivating", "recommended", "approved", "commended", "withdrawn")
PUBLIC_STATUSES = ("approved", "commended")
KINDS = {"individual": "个人", "collective": "集体"}
# the Chinese words the `new` template shows for each status: accepted as they are
STATUS_NAMES = {"seedling": "苗子", "cultivating": "培养", "recommended": "推荐", "approved": "审批",
                "commended": "表彰", "withdrawn": "撤销"}
# statuses of a story still being prepared, and what such a story may still lack without stopping a build
DRAFT_STATUSES = frozenset({"seedling", "cultivating", "recommended", "苗子", "培养", "推荐"})
DRAFT_MAY_LACK = frozenset({"name", "unit", "field"})
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
# site paths that a plain page may not take
RESERVED = {"stories", "fields", "units", "levels", "tags", "campaigns", "years", "feeds", "sms",
            "images", "media", "files", "static", "page", "404", "withdrawn", "search"}

# the declarations (schema.py), by name
STORY_FIELDS = by_name(STORY)
PAGE_FIELDS = by_name(PAGE)
CAMPAIGN_FIELDS = by_name(CAMPAIGN)
__all__ = ["ASSESSMENT_FIELDS", "HONOR_FIELDS", "IMAGE_FIELDS", "VETTING_FIELDS"]  # (re-exported)


def _date_forms() -> str:
    return t("YYYY-MM-DD, e.g. 2026-03-18 (or '2026-03-18 09:30', or 2026年3月18日)")


@dataclass(frozen=True)
class Vetting:
    cleared_by: str
    date: dt.date
    ref: str


@dataclass(frozen=True)
class External:
    """The clearance for outside publicity (外宣): who cleared it, when."""

    approved_by: str
    date: dt.date


@dataclass(frozen=True)
class ImageRecord:
    src: str
    caption: str
    alt: str
    size: int
    mime: str
    credit: str = ""  # the photographer (摄影)


@dataclass(frozen=True)
class HonorRecord:
    title: str
    by: str
    date: dt.date | None


@dataclass(frozen=True)
class Assessment:
    date: dt.date
    result: str
    by: str
    notes: str


@dataclass(frozen=True)
class StoryRecord:
    path: str
    id: str
    title: str
    name: str
    kind: str
    unit: str
    field: str
    level: str
    date: dt.datetime
    updated: dt.datetime | None
    status: str
    vetting: Vetting | None
    approved_by: str
    approved_date: dt.date | None
    summary: str | None
    sms: str | None
    tags: tuple[str, ...]
    campaigns: tuple[str, ...]
    images: tuple[ImageRecord, ...]
    honors: tuple[HonorRecord, ...]
    slug: str
    featured: bool
    exemplar_of: str | None
    body_line: int  # the Markdown body itself stays in the file: the gate renders it (gate.render_body)
    digest: str = ""  # hash of the source file
    stays_public: bool = False  # a follow-up that stays when its exemplar's other stories are withdrawn
    authors: tuple[str, ...] = ()  # 作者/通讯员
    external: External | None = None  # cleared for the editions that go outside
    withdrawn_date: dt.datetime | None = None  # when it was withdrawn (status: withdrawn)
    untimed: tuple[str, ...] = ()  # date fields written without a time of day (feeds.publish_time applies)
    lines: dict[str, int] = dataclass_field(compare=False, hash=False, default_factory=dict)
    # ---- private: never leaves records/gate/reports ----
    private: dict[str, Any] = dataclass_field(compare=False, hash=False, default_factory=dict)
    assessments: tuple[Assessment, ...] = ()
    # the private values worth looking for in public text, normalised: (field path, value)
    # (personal.private_needles): the gate looks for them in what is published about the same
    # exemplar (gate.related_texts); like the private block, never stored (`cacheable`)
    needles: tuple[tuple[str, str], ...] = dataclass_field(compare=False, hash=False, repr=False, default=())

    def line_of(self, name: str) -> int:
        return self.lines.get(name, 1)


# what `new page` and `new campaign` write as the body (scaffold): still there, it is not published (gate)
PAGE_PLACEHOLDER = N_("Write the text of the page here.")
CAMPAIGN_PLACEHOLDER = N_("Describe the campaign here.")


@dataclass(frozen=True)
class PageRecord:
    path: str
    slug: str
    title: str
    summary: str
    menu: int | None
    body: str
    body_line: int
    external: External | None = None


@dataclass(frozen=True)
class CampaignRecord:
    path: str
    slug: str
    title: str
    summary: str
    date: dt.date
    until: dt.date | None
    decision: str
    exemplars: tuple[str, ...]
    body: str
    body_line: int
    external: External | None = None


@dataclass(frozen=True)
class Records:
    stories: tuple[StoryRecord, ...]
    pages: tuple[PageRecord, ...]
    campaigns: tuple[CampaignRecord, ...]


class _Reader:
    """Reads typed values from one document's front matter, noting problems."""

    def __init__(self, doc: RawDoc, problems: Problems, config: SiteConfig, known: dict[str, Field]):
        self.doc, self.problems, self.config, self.known = doc, problems, config, known
        self.draft = False  # a story not meant for publication yet: what it still lacks is only noted
        self.incomplete = False
        self.misspelt: set[str] = set()  # known fields an unknown one was taken for (feild → field)
        for key in doc.meta:
            if key not in known:
                name = _clip(key)
                taken_for = meant(str(key), known) if len(str(key)) < 80 else []
                self.err(name, t("unknown field '{name}'", name=name) + did_you_mean(str(key), taken_for),
                         ", ".join(known), line=doc.line_of(key))
                self.misspelt.update(k for k in taken_for if k not in doc.meta)

    def line(self, name: str) -> int:
        return self.doc.line_of(name)

    def err(self, name: str, message: str, accepted: str | None = None, line: int | None = None) -> None:
        self.problems.error(self.doc.path, line or self.line(name), name, message, accepted)

    def warn(self, name: str, message: str, accepted: str | None = None, line: int | None = None) -> None:
        self.problems.warning(self.doc.path, line or self.line(name), name, message, accepted)

    def has(self, name: str) -> bool:
        return name in self.doc.meta and self.doc.meta[name] not in (None, "")

    def _accepted(self, name: str, example: str = "") -> str | None:
        declared = self.known.get(name)
        accepted = _(declared.accepted) if declared and declared.accepted else ""
        example = example or (declared.example if declared else "")
        if example:
            shown = t("e.g. {example}", example=f"{name}: {example}")
            accepted = t("{first}; {second}", first=accepted, second=shown) if accepted else shown
        return accepted or None

    def missing(self, name: str, example: str = "") -> None:
        """A required field left out or left empty: said at its own line when it is there; not said
        when it is left out because its name was misspelt (the misspelling is the error, at its line)."""
        if name in self.misspelt:
            return
        declared = self.known.get(name)
        meaning = _(declared.help) if declared else name
        line = self.doc.line_of(name) if name in self.doc.meta else (self.doc.meta.line or 1)
        if self.draft and name in DRAFT_MAY_LACK:
            # a fresh `new story` (status seedling) must never stop a build: it is left out, with a note
            self.incomplete = True
            self.warn(name, t("'{name}' is not filled in yet: {meaning}; the story is left out (not in reports "
                              "or previews) until it is", name=name, meaning=meaning),
                      self._accepted(name, example), line=line)
            return
        self.err(name, t("'{name}' is not filled in yet: {meaning}", name=name, meaning=meaning),
                 self._accepted(name, example), line=line)

    def text(self, name: str, required: bool = False, example: str = "") -> str:
        value = self.doc.meta.get(name)
        if value is None or value == "":
            if required:
                self.missing(name, example)
            return ""
        if isinstance(value, (dict, list)):
            self.err(name, t("'{name}' must be one piece of text, not a list or mapping", name=name),
                     self._accepted(name, example))
            return ""
        if isinstance(value, bool):
            self.err(name, t("'{name}' must be text; write it in quotation marks if you mean the word {value}",
                             name=name, value=value))
            return ""
        return textmod.XML_ILLEGAL.sub("", str(value)).strip()

    def scalar(self, value: Any, label: str, line: int | None, example: str = "") -> str:
        """A nested value that must be one piece of text (a caption, a vetting reference)."""
        if value is None:
            return ""
        if isinstance(value, (dict, list)):
            self.err(label, t("'{name}' must be one piece of text, not a list or mapping", name=label),
                     t("e.g. {example}", example=f"{label.rsplit('.', 1)[-1]}: {example}") if example else None,
                     line=line)
            return ""
        return str(value).strip()

    def choice(self, name: str, choices: dict[str, str] | tuple[str, ...], required: bool = True) -> str:
        value = self.text(name, required, example=next(iter(choices)))
        if value and value not in choices:
            if isinstance(choices, dict):
                for k, v in choices.items():
                    if value == v:
                        return k
            self.err(name, t("'{value}' is not a known {name}", value=value, name=name)
                     + did_you_mean(value, choices), self._accepted(name))
            return ""
        return value

    def date(self, name: str, required: bool = False, value: Any = None, line: int | None = None,
             field_name: str | None = None) -> dt.datetime | None:
        raw = self.doc.meta.get(name) if value is None else value
        label = field_name or name
        if raw is None or raw == "":
            if required:
                self.err(label, t("'{name}' is not filled in yet: a date is needed", name=label), _date_forms(),
                         line=line or (self.doc.line_of(name) if name in self.doc.meta else self.doc.meta.line))
            return None
        parsed = parse_datetime(raw, self.config.tz)
        # never echo a private value
        shown = _("this value") if label.startswith("private") else f"'{_clip(raw)}'"
        impossible = impossible_day(raw) if parsed is None and not label.startswith("private") else None
        if impossible is not None:
            year, month, day = impossible
            message = t("{value} is not a date: there is no month {month}", value=shown, month=month) \
                if not 1 <= month <= 12 else \
                t("{value} is not a date: month {month} of {year} has no day {day}", value=shown, year=year,
                  month=month, day=day)
            self.err(label, message, _date_forms(), line=line)
        elif parsed is None:
            self.err(label, t("{value} is not a date", value=shown), _date_forms(), line=line)
        elif not 1900 <= parsed.year <= 2200:
            self.err(label, t("{value} is not a plausible date (year {year})", value=shown, year=parsed.year),
                     _date_forms(), line=line)
            return None
        return parsed

    def string_list(self, name: str) -> tuple[str, ...]:
        value = self.doc.meta.get(name)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [v for v in re.split(r"[,，、]\s*", value) if v.strip()]
        if not isinstance(value, list) or any(isinstance(v, (dict, list)) or v is None for v in value):
            self.err(name, t("'{name}' must be a list", name=name),
                     t("e.g. {name}: [甲, 乙] or one '- 甲' per line", name=name))
            return ()
        out: list[str] = []
        for v in value:
            parts = [str(v).strip()]
            if isinstance(v, str) and re.search(r"[，、]", v):
                # 'tags: [见义勇为，社区警务]': a full-width comma is not YAML's separator, but it is
                # what the writer meant
                parts = [x.strip() for x in re.split(r"[，、]", v)]
                self.warn(name, t("'{value}' was split at the full-width comma or 、 into {parts}", value=_clip(v),
                                  parts=" | ".join(x for x in parts if x)),
                          t("write the items with a half-width comma: {name}: [甲, 乙]", name=name))
            for part in parts:
                if part and part not in out:
                    out.append(part)
        return tuple(out)

    def mapping_list(self, name: str, allowed: tuple[str, ...], example: str) -> list[Any]:
        value = self.doc.meta.get(name)
        if value is None:
            return []
        shape = "{" + ", ".join(allowed) + "}"
        if not isinstance(value, list):
            self.err(name, t("'{name}' must be a list of {shape}", name=name, shape=shape), example)
            return []
        out = []
        for given in value:
            item = {"src": given} if isinstance(given, str) and name == "images" else given
            if not isinstance(item, dict):
                self.err(name, t("each entry of '{name}' must be {shape}", name=name, shape=shape), example)
                continue
            line = getattr(item, "line", None) or self.line(name)
            for k in item:
                if k not in allowed:
                    self.err(f"{name}.{k}", t("unknown field '{key}' in {name}", key=k, name=name)
                             + did_you_mean(str(k), allowed),
                             ", ".join(allowed), line=getattr(item, "line_of", lambda _k, _line=line: _line)(k))
            out.append((item, line))
        return out


def _clip(value: Any, n: int = 40) -> str:
    text = str(value)
    return text if len(text) <= n else text[:n] + "…"


def story_record(doc: RawDoc, config: SiteConfig, assets: dict[str, int], problems: Problems,
                 slugify: Callable[[str], str] = textmod.slugify) -> StoryRecord | None:
    before = len(problems.errors)
    r = _Reader(doc, problems, config, STORY_FIELDS)
    raw_status = doc.meta.get("status")
    r.draft = isinstance(raw_status, str) and raw_status.strip() in DRAFT_STATUSES
    sid = r.text("id", required=True)
    if sid and not ID_RE.match(sid):
        r.err("id", t("the id '{value}' may only hold letters, digits, '-', '_' and '.' (2 to 64)", value=sid),
              r._accepted("id"))
    title = r.text("title", required=True)
    name = r.text("name", required=True)
    kind = r.choice("kind", KINDS)
    unit_value = r.text("unit", required=True, example=config.units.units[0].key if config.units.units else "city")
    unit = config.units.resolve(unit_value) if unit_value else None
    if unit_value and unit is None:
        keys = [u.key for u in config.units.units] + [u.name for u in config.units.units]
        close = did_you_mean(unit_value, keys)
        r.err("unit", t("unknown unit '{value}'", value=unit_value) + close,
              ", ".join(f"{u.key} ({u.name})" for u in config.units.units))
    field_value = r.text("field", required=True, example=config.fields[0].key if config.fields else "jiaojing")
    fld = config.field_key(field_value) if field_value else None
    if field_value and fld is None:
        r.err("field", t("unknown field (警种) '{value}'", value=field_value)
              + did_you_mean(field_value, [c.key for c in config.fields] + [c.name for c in config.fields]),
              ", ".join(f"{c.key} ({c.name})" for c in config.fields))
    level_value = r.text("level", required=True, example="city")
    level = config.level_key(level_value) if level_value else None
    if level_value and level is None:
        r.err("level", t("unknown level '{value}'", value=level_value)
              + did_you_mean(level_value, [c.key for c in config.levels] + [c.name for c in config.levels]),
              ", ".join(f"{c.key} ({c.name})" for c in config.levels))
    date = r.date("date", required=True)
    updated = r.date("updated")
    withdrawn_date = r.date("withdrawn_date")
    untimed = tuple(n for n in ("date", "updated", "withdrawn_date") if _date_only(doc.meta.get(n)))
    if date and updated and updated < date:
        r.err("updated", _("'updated' is earlier than 'date'"), _("a date on or after the publication date"))
    status = r.choice("status", STATUS_NAMES)
    vetting = _vetting(r)
    approved_by = r.text("approved_by")
    approved_date_dt = r.date("approved_date")
    if status in PUBLIC_STATUSES and not approved_by:
        r.err("approved_by" if "approved_by" in doc.meta else "status",
              t("the status '{status}' needs 'approved_by': who approved the selection", status=status),
              t("e.g. {example}", example="approved_by: 京口区委、区政府"))
    summary = r.text("summary") or None
    sms = r.text("sms") or None
    hidden = textmod.NOT_ONE_LINE.search(sms) if sms else None
    if hidden is not None:
        # TRANSLATORS: 原文：短信内容里有一个看不见的{what}（常见于从 Excel 或网页复制的文字）：短信只能写一行
        r.err("sms", t("the SMS text holds an invisible {what} (often pasted from Excel or a web page): an SMS is "
                       "one line", what=textmod.control_named(hidden.group())),
              t("e.g. {example}", example="sms: 王建国扎根社区二十年，调解纠纷三千余起。"))
    elif sms and ("【" in sms or "】" in sms):
        r.err("sms", _("the SMS text must be one line without 【 or 】 (the platform adds the signature)"),
              t("e.g. {example}", example="sms: 王建国扎根社区二十年，调解纠纷三千余起。"))
    tags = tuple(dict.fromkeys(tag for tag in (textmod.clean_label(x) for x in r.string_list("tags")) if tag))
    campaigns = r.string_list("campaigns")
    images = _images(r, assets)
    honors = _honors(r)
    slug = r.text("slug")
    if slug and not SLUG_RE.match(slug):
        r.err("slug", t("the slug '{value}' must be lower-case letters, digits and '-'", value=slug),
              _("e.g. slug: wang-jian-guo (or leave it out to use the title's pinyin)"))
    if not slug and title:
        slug = slugify(title)
    featured = doc.meta.get("featured", False)
    if not isinstance(featured, bool):
        r.err("featured", t("'{name}' must be true or false, got {value}", name="featured", value=featured),
              "true, false")
        featured = False
    exemplar_of = r.text("exemplar_of") or None
    authors = r.string_list("author")
    external = _external(r)
    stays_public = doc.meta.get("stays_public", False)
    if not isinstance(stays_public, bool):
        r.err("stays_public", t("'{name}' must be true or false, got {value}", name="stays_public",
                                value=stays_public), "true, false")
        stays_public = False
    private = doc.meta.get("private") or {}
    if not isinstance(private, dict):
        r.err("private", _("'private' must be a mapping of fields"),
              t("e.g. {example}", example="private: {family: …, phone: …, assessments: [...]}"))
        private = {}
    assessments = _assessments(r, private)
    _nested_duplicates(r, doc.meta, "")
    _body_shape(r)  # (a body that would stall the renderer is never rendered)
    # every problem of the file in one run: the schema's, and personal data and a stray '---'
    # whatever the schema found (withdrawn stories too: public fields never hold personal data)
    shape_errors = len(problems.errors) > before
    _body_keys(r, _STORY_KEY_LINE, skip_code=False)
    needles = tuple(personal.private_needles(private)) if private else ()
    _personal_data(r, needles)
    if shape_errors or r.incomplete:
        return None
    # (errors found after this point leave a well-formed record: the build still fails on them,
    # but `check` goes on to links and the rest with the record in place)
    assert date is not None and unit and fld and level
    return StoryRecord(
        path=doc.path, id=sid, title=title, name=name, kind=kind, unit=unit, field=fld, level=level,
        date=date, updated=updated, status=status, vetting=vetting, approved_by=approved_by,
        approved_date=approved_date_dt.date() if approved_date_dt else None, summary=summary, sms=sms,
        tags=tags, campaigns=campaigns, images=images, honors=honors, slug=slug, featured=featured,
        exemplar_of=exemplar_of, body_line=doc.body_line, digest=doc.digest, stays_public=stays_public,
        authors=authors, external=external, withdrawn_date=withdrawn_date, untimed=untimed,
        lines={sys.intern(str(k)): v for k, v in doc.meta.lines.items()},  # interned: stored once in the cache
        private=dict(private), assessments=assessments, needles=needles,
    )


# Private-block keys authors use (docs/content-format.md); with the schema's own fields, a line
# starting with one of them in a body means the front matter ended too early (a stray '---').
PRIVATE_KEYS = ("family", "id_number", "phone", "mobile", "address", "notes", "assessments", "health",
                "spouse", "children", "contact", "result", "by")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")


def _key_line_re(keys: Any) -> re.Pattern[str]:
    names = "|".join(sorted((re.escape(k) for k in keys), key=len, reverse=True))
    return re.compile(rf"^\s*(?:-\s+)?[\"']?({names})[\"']?\s*[:：]", re.IGNORECASE)


_STORY_KEY_LINE = _key_line_re(list(STORY_FIELDS) + list(PRIVATE_KEYS))


def _body_keys(r: _Reader, pattern: re.Pattern[str], skip_code: bool) -> None:
    """A body line that looks like a front-matter field: the block ended too early, and what
    follows (often the private block) would be published as text."""
    body = r.doc.body or ""
    keys = list(r.doc.meta)
    if keys and keys[-1] == "private":
        first = next((i for i, line in enumerate(body.split("\n")) if line.strip()), None)
        if first is not None and body.split("\n")[first][:1] in (" ", "\t"):
            r.err("private", _("the text starts with an indented line right after the private block: most likely "
                               "a stray '---' inside private ended the block early, and the private lines after "
                               "it would be published as text"),
                  _("delete the extra '---' line inside private; do not indent the first line of the text"),
                  line=r.doc.body_line + first)
            return
    fenced = False
    for i, line in enumerate(body.split("\n")):
        if skip_code and _FENCE_RE.match(line):
            fenced = not fenced
            continue
        m = None if fenced else pattern.match(line)
        if m:
            key = m.group(1)
            r.err(key, t("this line looks like the field '{key}:' but is in the text: most likely a stray '---' "
                         "above it ended the front matter early, and what follows (perhaps private data) "
                         "would be published as text", key=key),
                  _("delete the extra '---' line, so that every field stands between the first two '---' lines; "
                    "if the text really needs such a line, write it without the colon"),
                  line=r.doc.body_line + i)
            return  # one message is enough: the cause is one line above the first


# Python-Markdown's link patterns take time that grows with the square of the '[' in a body
# (10,000 take minutes): far more than any story has, far fewer than would stall a build.
MAX_BRACKETS = 1000


def _body_shape(r: _Reader) -> None:
    body = r.doc.body or ""
    if body.count("[") > MAX_BRACKETS:
        at = next((i for i, line in enumerate(body.split("\n")) if line.count("[") > 50), 0)
        r.err("body", t("the text holds {n} '[', far more than any article (at most {most}): such a text "
                        "would stall the build", n=body.count("["), most=MAX_BRACKETS),
              _("delete the extra '[' (most likely pasted garbage or program output)"), line=r.doc.body_line + at)


def _nested_duplicates(r: _Reader, value: Any, label: str) -> None:
    if isinstance(value, dict):
        for key, line in getattr(value, "duplicates", ()):
            if label:  # top-level duplicates are reported by frontmatter.parse
                r.err(f"{label}.{key}", t("the field '{key}' is given twice in {name}", key=_clip(key), name=label),
                      _("each field once"), line=line)
        for k, v in value.items():
            _nested_duplicates(r, v, f"{label}.{k}" if label else str(k))
    elif isinstance(value, list):
        for v in value:
            _nested_duplicates(r, v, label)


def _public_texts(value: Any, line: int) -> Any:
    """(text, line) for every piece of text in a public front-matter value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _public_texts(v, value.line_of(k) if hasattr(value, "line_of") else line)
    elif isinstance(value, list):
        for v in value:
            yield from _public_texts(v, getattr(v, "line", 0) or line)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        yield str(value), line


def _personal_data(r: _Reader, needles: Sequence[tuple[str, str]] = ()) -> None:
    """Personal data in what would be published: the front matter outside `private:` and the body.
    The same scan runs in `build`, `serve` and `check`. One quick pass over everything; only when
    it finds something is each value, paragraph and line looked at to say where."""
    allowed = frozenset(r.config.public_numbers)
    hint = _("move it under private: (e.g. private.phone, private.id_number), or delete it; list public duty "
             "numbers under public_numbers in site_config.yaml")
    found: list[tuple[int, str, str]] = []
    texts = [(text, line, str(key)) for key, value in r.doc.meta.items() if key != "private"
             for text, line in _public_texts(value, r.line(key))]
    if personal.find("\x00".join(text for text, _line, _key in texts), allowed, needles):
        for text, line, key in texts:
            found += [(line, key, f) for f in personal.describe(personal.find(text, allowed, needles))]
    found += [(line, "", f) for line, f in _body_findings(r.doc.body or "", r.doc.body_line, allowed, needles)]
    for line, key, message in found:  # (the mark says which hint; it is never shown: an invisible character)
        r.err(key or "body", message.removeprefix(personal.PRIVATE_MARK),
              hint if not message.startswith(personal.PRIVATE_MARK) else
              _("delete or rewrite this public text: what is under private: is never published"), line=line)


_TAG_RE = re.compile(r"<[^<>]*>")  # (no nested '<': linear, whatever the text)
_MARKUP_RE = re.compile(r"\]\([^()]*\)|[*_~`\[\]\\]")
_BLANK_LINE_RE = re.compile(r"\n[ \t\u3000]*\n")


def _as_read(text: str) -> str:
    """Markdown roughly as a reader sees it: tags and comments gone (also over several lines),
    entities decoded, emphasis, code and link marks removed (so '王**小梅**' or '1390&#53;111234' is
    seen whole)."""
    return _MARKUP_RE.sub("", html.unescape(_TAG_RE.sub("", text)))


_LINK_TARGET_RE = re.compile(r"\]\(([^()]*)\)")
# a reference-style link's definition (`[p]: images/x.png "title"`), whose target is as published
# as an inline link's (Python-Markdown: up to three spaces, the label, a colon, the target, maybe
# on the next line, maybe in <>)
_LINK_DEFINITION_RE = re.compile(r"^[ ]{0,3}\[[^\[\]]*\]:[ \t]*\n?[ \t]*(\S+)", re.M)


def _both(text: str) -> str:
    """What a reader sees (`_as_read`) and what that leaves out but is published all the same (tags
    with their attributes, link targets), kept apart: one pass of the scan covers everything."""
    hidden = _TAG_RE.findall(text) + _LINK_TARGET_RE.findall(text) + _LINK_DEFINITION_RE.findall(text)
    joined = "\x00".join(hidden)
    if "%" in joined:  # (and as the browser and the server read them: images/%E6%9D%8E.png is images/李.png)
        joined += "\x00" + unquote(joined)
    return _as_read(text) + ("\x00" + joined if hidden else "")


def _body_findings(body: str, body_line: int, allowed: frozenset[str],
                   needles: Sequence[tuple[str, str]]) -> list[tuple[int, str]]:
    """Personal data in a body, as written and as read (a value may be split over the lines of a
    paragraph, or by inline markup or a tag), each at the line where it is, or where its paragraph
    starts. Paragraphs are never joined to each other."""
    if not body.strip():
        return []
    apart = _BLANK_LINE_RE.sub("\n\x00\n", body)
    if not personal.find(_both(apart), allowed, needles):
        return []  # the usual case: one pass over the body
    out: list[tuple[int, str]] = []
    lines = body.split("\n")
    start = 0
    while start < len(lines):
        if not lines[start].strip():
            start += 1
            continue
        end = start
        while end < len(lines) and lines[end].strip():
            end += 1
        paragraph = "\n".join(lines[start:end])
        whole = personal.describe(personal.find(_both(paragraph), allowed, needles))
        for message in dict.fromkeys(whole):
            at = next((i for i, x in enumerate(lines[start:end])
                       if message in personal.describe(personal.find(_both(x), allowed, needles))), 0)
            out.append((body_line + start + at, message))
        start = end
    if not out:  # found only across a blank line (a tag spanning paragraphs): say where the body starts
        out = [(body_line, m) for m in dict.fromkeys(
            personal.describe(personal.find(_both(body), allowed, needles)))]
    return out


def _external(r: _Reader) -> External | None:
    value = r.doc.meta.get("external")
    if value in (None, "", {}):
        return None
    example = t("e.g. {example}", example="external: {approved_by: 市局宣传处, date: 2026-04-15}")
    if not isinstance(value, dict):
        r.err("external", _("'external' must be {approved_by, date}"), example)
        return None
    line_of = getattr(value, "line_of", lambda _k: None)
    for k in value:
        if k not in ("approved_by", "date"):
            r.err(f"external.{k}", t("unknown field '{key}' in {name}", key=k, name="external")
                  + did_you_mean(str(k), ("approved_by", "date")), "approved_by, date", line=line_of(k))
    by = r.scalar(value.get("approved_by"), "external.approved_by", line_of("approved_by"), "市局宣传处")
    when = r.date("external", value=value.get("date"), line=line_of("date") or r.line("external"),
                  field_name="external.date", required=True)
    if not by:
        r.err("external.approved_by", _("the clearance for outside publicity needs approved_by: who cleared it"),
              example, line=line_of("approved_by") or r.line("external"))
        return None
    return External(by, when.date()) if when else None


def _vetting(r: _Reader) -> Vetting | None:
    value = r.doc.meta.get("vetting")
    if value in (None, "", {}):
        return None
    example = t("e.g. {example}", example="vetting: {cleared_by: 市局纪委, date: 2026-03-01, ref: 镇公纪〔2026〕12号}")
    if not isinstance(value, dict):
        r.err("vetting", _("'vetting' must be {cleared_by, date, ref}"), example)
        return None
    for k in value:
        if k not in VETTING_FIELDS:
            r.err(f"vetting.{k}", t("unknown field '{key}' in {name}", key=k, name="vetting")
                  + did_you_mean(str(k), VETTING_FIELDS),
                  ", ".join(VETTING_FIELDS), line=value.line_of(k) if hasattr(value, "line_of") else None)
    line_of = getattr(value, "line_of", lambda _k: None)
    # blank or placeholder values are kept as they are: the gate holds such a story back, with a warning
    cleared_by = r.scalar(value.get("cleared_by"), "vetting.cleared_by", line_of("cleared_by"), "市局纪委")
    ref = r.scalar(value.get("ref"), "vetting.ref", line_of("ref"), "镇公纪〔2026〕12号")
    if value.get("date") in (None, ""):
        r.err("vetting", _("the vetting record lacks its date"), example,
              line=line_of("date") if "date" in value else None)
        return None
    when = r.date("vetting", value=value["date"], line=line_of("date"), field_name="vetting.date")
    if when is None:
        return None
    return Vetting(cleared_by, when.date(), ref)


def _images(r: _Reader, assets: dict[str, int]) -> tuple[ImageRecord, ...]:
    out = []
    example = t("e.g. {example}",
                example="images: [{src: images/wang.jpg, caption: 王建国在社区走访, alt: 民警与居民交谈}]")
    for item, line in r.mapping_list("images", IMAGE_FIELDS, example):
        at = getattr(item, "line_of", lambda _k, _line=line: _line)
        src = r.scalar(item.get("src"), "images.src", at("src"), "images/wang.jpg")
        caption = r.scalar(item.get("caption"), "images.caption", at("caption"), "王建国在社区走访")
        alt = r.scalar(item.get("alt"), "images.alt", at("alt"), "民警与居民交谈") or caption
        credit = r.scalar(item.get("credit"), "images.credit", at("credit"), "李明")
        if not src:
            r.err("images", _("an image needs 'src'"), example, line=line)
            continue
        site = src.lstrip("/")
        while site.startswith("../"):
            site = site[3:]
        if site.startswith("content/"):
            site = site[len("content/"):]
        if site not in assets:
            known = [a for a in assets if a.startswith("images/")]
            r.err("images", t("the image '{src}' is not in the content folder", src=src) + did_you_mean(site, known),
                  _("a path such as images/wang.jpg for the file content/images/wang.jpg"), line=line)
            continue
        if not alt:
            r.warn("images", t("the image '{src}' has neither alt nor caption: screen readers cannot describe it",
                               src=src), t("e.g. {example}", example="alt: 一句话描述图片内容"), line=line)
        mime = mimetypes.guess_type(site)[0] or "application/octet-stream"
        out.append(ImageRecord(site, caption, alt, assets[site], mime, credit))
    return tuple(out)


def _honors(r: _Reader) -> tuple[HonorRecord, ...]:
    out = []
    example = t("e.g. {example}", example="honors: [{title: 全国优秀人民警察, by: 公安部, date: 2025-12-01}]")
    for item, line in r.mapping_list("honors", HONOR_FIELDS, example):
        at = getattr(item, "line_of", lambda _k, _line=line: _line)
        title = r.scalar(item.get("title"), "honors.title", at("title"), "全国优秀人民警察")
        by = r.scalar(item.get("by"), "honors.by", at("by"), "公安部")
        if not title:
            r.err("honors", _("an honour needs 'title'"), example, line=line)
            continue
        when = r.date("honors", value=item.get("date"), line=line, field_name="honors.date") \
            if item.get("date") else None
        out.append(HonorRecord(title, by, when.date() if when else None))
    return tuple(out)


def _assessments(r: _Reader, private: dict[str, Any]) -> tuple[Assessment, ...]:
    value = private.get("assessments")
    if value is None:
        return ()
    line = private.line_of("assessments") if hasattr(private, "line_of") else r.line("private")
    example = t("e.g. {example}", example="assessments: [{date: 2026-06-30, result: 优秀, by: 市局政治部}]")
    if not isinstance(value, list):
        r.err("private.assessments", _("'assessments' must be a list of {date, result, by, notes}"), example,
              line=line)
        return ()
    out = []
    for item in value:
        iline = getattr(item, "line", line)
        if not isinstance(item, dict) or not item.get("date"):
            r.err("private.assessments", _("each assessment needs at least a date"), example, line=iline)
            continue
        for k in item:
            if k not in ASSESSMENT_FIELDS:
                r.err(f"private.assessments.{k}", t("unknown field '{key}' in {name}", key=k, name="assessments")
                      + did_you_mean(str(k), ASSESSMENT_FIELDS), ", ".join(ASSESSMENT_FIELDS), line=iline)
        when = r.date("private", value=item["date"], line=iline, field_name="private.assessments.date")
        texts = [r.scalar(item.get(k), f"private.assessments.{k}", iline) for k in ("result", "by", "notes")]
        if when:
            out.append(Assessment(when.date(), *texts))
    return tuple(sorted(out, key=lambda a: a.date))


def page_record(doc: RawDoc, config: SiteConfig, problems: Problems) -> PageRecord | None:
    before = len(problems.errors)
    r = _Reader(doc, problems, config, PAGE_FIELDS)
    title = r.text("title", required=True)
    slug = r.text("slug") or _file_slug(doc.path)
    if not r.text("slug"):  # (a slug: written is scanned with the other fields)
        _personal_in_address(r, slug)
    if not SLUG_RE.match(slug):
        r.err("slug", t("the slug '{value}' must be lower-case letters, digits and '-'", value=slug),
              r._accepted("slug"))
    elif slug in RESERVED:
        r.err("slug", t("the address '{value}' is reserved for the site's own pages", value=slug),
              _("any other name, e.g. about, contact"))
    menu = doc.meta.get("menu")
    if menu is not None and (isinstance(menu, bool) or not isinstance(menu, int)):
        r.err("menu", t("'{name}' must be a whole number, got {value}", name="menu", value=menu), r._accepted("menu"))
        menu = None
    external = _external(r)
    _nested_duplicates(r, doc.meta, "")
    _body_shape(r)  # (a body that would stall the renderer is never rendered)
    _body_keys(r, _STORY_KEY_LINE, skip_code=True)
    _personal_data(r)
    if len(problems.errors) > before:
        return None
    return PageRecord(doc.path, slug, title, r.text("summary"), menu, doc.body, doc.body_line, external)


def campaign_record(doc: RawDoc, config: SiteConfig, problems: Problems) -> CampaignRecord | None:
    before = len(problems.errors)
    r = _Reader(doc, problems, config, CAMPAIGN_FIELDS)
    title = r.text("title", required=True)
    slug = r.text("slug") or _file_slug(doc.path)
    if not r.text("slug"):  # (a slug: written is scanned with the other fields)
        _personal_in_address(r, slug)
    if not SLUG_RE.match(slug):
        r.err("slug", t("the slug '{value}' must be lower-case letters, digits and '-'", value=slug),
              r._accepted("slug"))
    date = r.date("date", required=True)
    until = r.date("until")
    if date and until and until < date:
        r.err("until", _("'until' is before 'date'"), _("an end date on or after the start date"))
    exemplars = r.string_list("exemplars")
    external = _external(r)
    _nested_duplicates(r, doc.meta, "")
    _body_shape(r)  # (a body that would stall the renderer is never rendered)
    _body_keys(r, _STORY_KEY_LINE, skip_code=True)
    _personal_data(r)
    if len(problems.errors) > before:
        return None
    assert date is not None
    return CampaignRecord(doc.path, slug, title, r.text("summary"), date.date(),
                          until.date() if until else None, r.text("decision"), exemplars, doc.body, doc.body_line,
                          external)


def _personal_in_address(r: _Reader, slug: str) -> None:
    """A page's or campaign's address made from its file's name is published everywhere it is
    linked: personal data in it stops the build as in any public text."""
    for message in personal.describe(personal.find(slug, frozenset(r.config.public_numbers))):
        r.err("slug", message,
              # TRANSLATORS: 原文：改个文件名（没有写 slug: 时，文件名就是页面的网址），或写一个 slug:
              _("rename the file (without a slug:, its name is the page's address), or give it a slug:"),
              line=1)


def _file_slug(path: str) -> str:
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return stem if SLUG_RE.match(stem) else textmod.slugify(stem)


def cacheable(entry: tuple[StoryRecord, Any]) -> tuple[StoryRecord, Any]:
    """A memo entry as it may be stored on disk: the record without its private block or the
    values taken from it (builds use them only while the file is read; reports and `check` read the
    files themselves, and the incremental layer reads a file again for its `needles`)."""
    record, problems = entry
    if not record.private and not record.assessments and not record.needles:
        return entry  # (nothing to take out)
    return replaced(record, private={}, assessments=(), needles=()), problems


def build_records(docs: list[RawDoc], config: SiteConfig, assets: dict[str, int], problems: Problems,
                  slugify: Callable[[str], str] = textmod.slugify) -> Records:
    """Validate every document, then what holds across files (ids, slugs, campaigns, follow-ups)."""
    stories: list[StoryRecord] = []
    pages: list[PageRecord] = []
    campaigns: list[CampaignRecord] = []
    for doc in docs:
        if doc.kind == "story":
            s = story_record(doc, config, assets, problems, slugify)
            if s:
                stories.append(s)
        elif doc.kind == "page":
            p = page_record(doc, config, problems)
            if p:
                pages.append(p)
        else:
            c = campaign_record(doc, config, problems)
            if c:
                campaigns.append(c)
    check_across(stories, pages, campaigns, problems)
    return Records(tuple(stories), tuple(pages), tuple(campaigns))


def check_across(stories: list[StoryRecord], pages: list[PageRecord], campaigns: list[CampaignRecord],
                 problems: Problems) -> None:
    """What holds across files: unique ids and addresses, known campaigns and earlier stories."""
    by_id: dict[str, StoryRecord] = {}
    by_slug: dict[str, StoryRecord] = {}
    folded: dict[str, StoryRecord] = {}  # ids as Windows compares file names (the SMS files are named by id)
    names_fine = portable.names_fine([name for s in stories for name in (s.id + ".txt", s.slug)])
    for s in stories:
        if not names_fine:  # (name by name only when the one search found something)
            for value, field_name in ((s.id + ".txt", "id"), (s.slug, "slug" if "slug" in s.lines else "title")):
                problem = portable.name_problem(value)
                if problem:
                    problems.error(s.path, s.line_of(field_name), field_name, problem,
                                   _("letters, digits and '-', e.g. jc-2026-001"))
        folded_id = portable.fold(s.id)
        other_case = folded.get(folded_id)
        if other_case is not None and other_case.id != s.id:
            problems.error(s.path, s.line_of("id"), "id",
                           t("the id '{value}' differs from {other} only in upper and lower case: on Windows their "
                             "files are one", value=s.id, other=f"{other_case.path}:{other_case.line_of('id')}"),
                           _("a new unique id, e.g. the next free number"))
        folded.setdefault(folded_id, s)
        if s.id in by_id:
            other = by_id[s.id]
            problems.error(s.path, s.line_of("id"), "id",
                           t("the id '{value}' is already used by {other}", value=s.id,
                             other=f"{other.path}:{other.line_of('id')}"),
                           _("a new unique id, e.g. the next free number"))
        else:
            by_id[s.id] = s
        if s.slug in by_slug:
            other = by_slug[s.slug]
            field_name = "slug" if "slug" in s.lines else "title"
            problems.error(s.path, s.line_of(field_name), "slug",
                           t("the address {url} is also used by {other}", url=f"stories/{s.slug}/",
                             other=f"{other.path}:{other.line_of('slug' if 'slug' in other.lines else 'title')}"),
                           _("a different 'slug:' in one of the two files"))
        else:
            by_slug[s.slug] = s
    campaign_slugs: dict[str, CampaignRecord] = {}
    for c in campaigns:
        if c.slug in campaign_slugs:
            problems.error(c.path, 1, "slug",
                           t("the address {url} is also used by {other}", url=f"campaigns/{c.slug}/",
                             other=campaign_slugs[c.slug].path),
                           _("a different slug or file name"))
        campaign_slugs[c.slug] = c
        for sid in c.exemplars:
            if sid not in by_id:
                problems.error(c.path, 1, "exemplars", t("no story has the id '{value}'", value=sid)
                               + did_you_mean(sid, by_id), _("ids of stories in content/stories/"))
    for path, slug in [(c.path, c.slug) for c in campaigns] + [(p.path, p.slug) for p in pages]:
        problem = portable.name_problem(slug)
        if problem:
            problems.error(path, 1, "slug", problem, _("any other name, e.g. about, contact"))
    page_slugs: dict[str, PageRecord] = {}
    for p in pages:
        if p.slug in page_slugs:
            problems.error(p.path, 1, "slug", t("the address {url} is also used by {other}", url=f"{p.slug}/",
                                                other=page_slugs[p.slug].path),
                           _("a different slug or file name"))
        page_slugs[p.slug] = p
    for s in stories:
        for slug in s.campaigns:
            if slug not in campaign_slugs:
                problems.error(s.path, s.line_of("campaigns"), "campaigns",
                               t("unknown campaign '{value}'", value=slug) + did_you_mean(slug, campaign_slugs),
                               ", ".join(campaign_slugs) or _("names of files in content/campaigns/"))
        if s.exemplar_of:
            earlier = by_id.get(s.exemplar_of)
            if earlier is None:
                problems.error(s.path, s.line_of("exemplar_of"), "exemplar_of",
                               t("no story has the id '{value}'", value=s.exemplar_of)
                               + did_you_mean(s.exemplar_of, by_id),
                               _("the id of an earlier story about the same exemplar"))
            elif earlier.id == s.id:
                problems.error(s.path, s.line_of("exemplar_of"), "exemplar_of",
                               _("a story cannot follow up itself"), _("the id of an earlier story"))
    for circle in _circles(by_id):
        first = min(circle, key=lambda r: (r.date, r.id))
        at = circle.index(first)
        chain = " → ".join(f"{r.id} ({r.path})" for r in circle[at:] + circle[:at] + [first])
        problems.error(first.path, first.line_of("exemplar_of"), "exemplar_of",
                       t("the follow-up links go round in a circle: {chain}; the first story about an exemplar "
                         "names no earlier one", chain=chain),
                       _("no exemplar_of in this story (the earliest of the circle), or the id of a story "
                         "outside the circle"))


def _circles(by_id: Mapping[str, StoryRecord]) -> list[list[StoryRecord]]:
    """The loops of two or more stories in the chains of exemplar_of, each once, each in the order
    of its links (each story names at most one: one walk from each story, none walked twice)."""
    done: set[str] = set()
    circles = []
    for start in by_id:
        path: list[str] = []
        on_path: set[str] = set()
        cur: str | None = start
        while cur is not None and cur in by_id and cur not in done and cur not in on_path:
            path.append(cur)
            on_path.add(cur)
            earlier = by_id[cur].exemplar_of
            cur = earlier if earlier != cur else None  # (following up itself is reported above)
        if cur is not None and cur in on_path:
            circles.append([by_id[sid] for sid in path[path.index(cur):]])
        done |= on_path
    return circles
