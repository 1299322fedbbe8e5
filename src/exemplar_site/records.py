"""RawDoc → typed records (private block included), or Problems.

This is where every front-matter field is checked. Messages name the field
and say what would be accepted, with an example. Records still carry the
private block; only gate.py turns them into public objects.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import mimetypes
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from . import personal
from . import text as textmod
from .config import SiteConfig
from .errors import Problems, did_you_mean
from .frontmatter import RawDoc

STATUSES = ("seedling", "cultivating", "recommended", "approved", "commended", "withdrawn")
PUBLIC_STATUSES = ("approved", "commended")
KINDS = {"individual": "个人", "collective": "集体"}
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
DATE_FORMS = "YYYY-MM-DD, e.g. 2026-03-18 (or '2026-03-18 09:30')"
# site paths that a plain page may not take
RESERVED = {"stories", "fields", "units", "levels", "tags", "campaigns", "years", "feeds", "sms",
            "images", "media", "files", "static", "page", "404", "withdrawn", "search"}

STORY_FIELDS = {
    "id": "stable unique id, e.g. zj-2026-001; never change it (feeds use it)",
    "title": "headline of the story",
    "name": "the exemplar: a person's or a collective's name",
    "kind": "individual (个人) or collective (集体)",
    "unit": "owning unit: a key or name from the unit tree in site_config.yaml",
    "field": "field (警种/行业): a key or name from site_config.yaml",
    "level": "national, ministry, provincial, city or district (or 国家级/部级/省级/市级/区县级)",
    "date": "publication date, YYYY-MM-DD",
    "updated": "date of the last real change, YYYY-MM-DD (optional)",
    "status": "seedling, cultivating, recommended, approved, commended or withdrawn",
    "vetting": "discipline-inspection clearance: {cleared_by, date, ref}",
    "approved_by": "who approved the selection, e.g. 区委、区政府",
    "approved_date": "when it was approved, YYYY-MM-DD (optional)",
    "summary": "one or two sentences for listings and feeds (optional: derived from the body)",
    "sms": "the SMS text (optional: derived from the summary)",
    "tags": "list of tags, e.g. [见义勇为, 社区警务]",
    "campaigns": "list of campaign slugs from content/campaigns/",
    "images": "list of {src, caption, alt}; src under content/images/",
    "honors": "list of {title, by, date}",
    "slug": "URL name (optional; default: pinyin of the title)",
    "featured": "true to show on the home page",
    "exemplar_of": "id of an earlier story about the same exemplar (a follow-up story)",
    "stays_public": "true: stay public even if another story about the same exemplar is withdrawn",
    "private": "never published: family, id_number, phone, assessments, notes …",
}
PAGE_FIELDS = {"title": "page title", "slug": "URL name (default: the file name)",
               "summary": "one sentence", "menu": "position in the main menu (a number), optional",
               "date": "date, optional"}
CAMPAIGN_FIELDS = {"title": "campaign title", "slug": "URL name (default: the file name)",
                   "summary": "one sentence", "date": "start date, YYYY-MM-DD",
                   "until": "end date, YYYY-MM-DD (optional)",
                   "decision": "the learning decision (学习决定), e.g. its document number",
                   "exemplars": "list of story ids (stories can also name the campaign)"}
VETTING_FIELDS = ("cleared_by", "date", "ref")
IMAGE_FIELDS = ("src", "caption", "alt")
HONOR_FIELDS = ("title", "by", "date")
ASSESSMENT_FIELDS = ("date", "result", "by", "notes")


@dataclass(frozen=True)
class Vetting:
    cleared_by: str
    date: dt.date
    ref: str


@dataclass(frozen=True)
class ImageRecord:
    src: str
    caption: str
    alt: str
    size: int
    mime: str


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
    lines: dict[str, int] = dataclass_field(compare=False, hash=False, default_factory=dict)
    # ---- private: never leaves records/gate/reports ----
    private: dict[str, Any] = dataclass_field(compare=False, hash=False, default_factory=dict)
    assessments: tuple[Assessment, ...] = ()

    def line_of(self, name: str) -> int:
        return self.lines.get(name, 1)


@dataclass(frozen=True)
class PageRecord:
    path: str
    slug: str
    title: str
    summary: str
    menu: int | None
    body: str
    body_line: int


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


@dataclass(frozen=True)
class Records:
    stories: tuple[StoryRecord, ...]
    pages: tuple[PageRecord, ...]
    campaigns: tuple[CampaignRecord, ...]


class _Reader:
    """Reads typed values from one document's front matter, noting problems."""

    def __init__(self, doc: RawDoc, problems: Problems, config: SiteConfig, known: dict[str, str]):
        self.doc, self.problems, self.config = doc, problems, config
        for key in doc.meta:
            if key not in known:
                name = _clip(key)
                self.err(name, f"unknown field '{name}'"
                         + (did_you_mean(str(key), known) if len(str(key)) < 80 else ""),
                         ", ".join(known), line=doc.line_of(key))

    def line(self, name: str) -> int:
        return self.doc.line_of(name)

    def err(self, name: str, message: str, accepted: str | None = None, line: int | None = None) -> None:
        self.problems.error(self.doc.path, line or self.line(name), name, message, accepted)

    def warn(self, name: str, message: str, accepted: str | None = None, line: int | None = None) -> None:
        self.problems.warning(self.doc.path, line or self.line(name), name, message, accepted)

    def has(self, name: str) -> bool:
        return name in self.doc.meta and self.doc.meta[name] not in (None, "")

    def text(self, name: str, required: bool = False, example: str = "") -> str:
        value = self.doc.meta.get(name)
        if value is None or value == "":
            if required:
                self.err(name, f"required field '{name}' is missing or empty",
                         f"e.g. {name}: {example}" if example else None, line=self.doc.meta.line or 1)
            return ""
        if isinstance(value, (dict, list)):
            self.err(name, f"'{name}' must be text, not a list or mapping",
                     f"e.g. {name}: {example}" if example else None)
            return ""
        if isinstance(value, bool):
            self.err(name, f"'{name}' must be text; write it in quotes if you mean the word {value}")
            return ""
        return textmod.XML_ILLEGAL.sub("", str(value)).strip()

    def scalar(self, value: Any, label: str, line: int | None, example: str = "") -> str:
        """A nested value that must be one piece of text (a caption, a vetting reference)."""
        if value is None:
            return ""
        if isinstance(value, (dict, list)):
            self.err(label, f"'{label}' must be text, not a list or mapping",
                     f"e.g. {label.rsplit('.', 1)[-1]}: {example}" if example else None, line=line)
            return ""
        return str(value).strip()

    def choice(self, name: str, choices: dict[str, str] | tuple[str, ...], required: bool = True) -> str:
        value = self.text(name, required, example=next(iter(choices)))
        if value and value not in choices:
            if isinstance(choices, dict):
                for k, v in choices.items():
                    if value == v:
                        return k
            self.err(name, f"'{value}' is not a known {name}" + did_you_mean(value, choices), ", ".join(choices))
            return ""
        return value

    def date(self, name: str, required: bool = False, value: Any = None, line: int | None = None,
             field_name: str | None = None) -> dt.datetime | None:
        raw = self.doc.meta.get(name) if value is None else value
        label = field_name or name
        if raw is None or raw == "":
            if required:
                self.err(label, f"required field '{label}' is missing", DATE_FORMS, line=line or self.doc.meta.line)
            return None
        parsed = parse_datetime(raw, self.config.tz)
        shown = "this value" if label.startswith("private") else f"'{_clip(raw)}'"  # never echo a private value
        if parsed is None:
            self.err(label, f"{shown} is not a date", DATE_FORMS, line=line)
        elif not 1900 <= parsed.year <= 2200:
            self.err(label, f"{shown} is not a plausible date (year {parsed.year})", DATE_FORMS, line=line)
            return None
        return parsed

    def string_list(self, name: str) -> tuple[str, ...]:
        value = self.doc.meta.get(name)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [v for v in re.split(r"[,，、]\s*", value) if v.strip()]
        if not isinstance(value, list) or any(isinstance(v, (dict, list)) or v is None for v in value):
            self.err(name, f"'{name}' must be a list", f"e.g. {name}: [甲, 乙] or one '- 甲' per line")
            return ()
        out: list[str] = []
        for v in value:
            s = str(v).strip()
            if s and s not in out:
                out.append(s)
        return tuple(out)

    def mapping_list(self, name: str, allowed: tuple[str, ...], example: str) -> list[Any]:
        value = self.doc.meta.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.err(name, f"'{name}' must be a list of {{{', '.join(allowed)}}}", example)
            return []
        out = []
        for given in value:
            item = {"src": given} if isinstance(given, str) and name == "images" else given
            if not isinstance(item, dict):
                self.err(name, f"each entry of '{name}' must be {{{', '.join(allowed)}}}", example)
                continue
            line = getattr(item, "line", None) or self.line(name)
            for k in item:
                if k not in allowed:
                    self.err(f"{name}.{k}", f"unknown field '{k}' in {name}" + did_you_mean(str(k), allowed),
                             ", ".join(allowed), line=getattr(item, "line_of", lambda _k, _line=line: _line)(k))
            out.append((item, line))
        return out


def _clip(value: Any, n: int = 40) -> str:
    text = str(value)
    return text if len(text) <= n else text[:n] + "…"


def parse_datetime(raw: Any, tz: dt.tzinfo) -> dt.datetime | None:
    """Dates as YAML gives them, or text: 2026-03-18, 2026-03-18 09:30[:00][+08:00]."""
    if isinstance(raw, dt.datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=tz)
    if isinstance(raw, dt.date):
        return dt.datetime(raw.year, raw.month, raw.day, tzinfo=tz)
    if not isinstance(raw, str):
        return None
    s = raw.strip().replace("/", "-")
    m = re.match(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$", s)
    if m:
        s = f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    try:
        value = dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=tz)


def parse_date(raw: Any, tz: dt.tzinfo) -> dt.date | None:
    parsed = parse_datetime(raw, tz)
    return parsed.date() if parsed else None


def story_record(doc: RawDoc, config: SiteConfig, assets: dict[str, int], problems: Problems,
                 slugify: Callable[[str], str] = textmod.slugify) -> StoryRecord | None:
    before = len(problems.errors)
    r = _Reader(doc, problems, config, STORY_FIELDS)
    sid = r.text("id", required=True, example="zj-2026-001")
    if sid and not ID_RE.match(sid):
        r.err("id", f"id '{sid}' may only hold letters, digits, '-', '_' and '.' (2 to 64)",
              "e.g. id: zj-2026-001")
    title = r.text("title", required=True, example="守护一方平安的“老片警”")
    name = r.text("name", required=True, example="王建国 or 大市口派出所")
    kind = r.choice("kind", KINDS)
    unit_value = r.text("unit", required=True, example=config.units.units[0].key if config.units.units else "city")
    unit = config.units.resolve(unit_value) if unit_value else None
    if unit_value and unit is None:
        keys = [u.key for u in config.units.units] + [u.name for u in config.units.units]
        close = did_you_mean(unit_value, keys)
        r.err("unit", f"unknown unit '{unit_value}'" + close,
              ", ".join(f"{u.key} ({u.name})" for u in config.units.units))
    field_value = r.text("field", required=True, example=config.fields[0].key if config.fields else "jiaojing")
    fld = config.field_key(field_value) if field_value else None
    if field_value and fld is None:
        r.err("field", f"unknown field '{field_value}'"
              + did_you_mean(field_value, [c.key for c in config.fields] + [c.name for c in config.fields]),
              ", ".join(f"{c.key} ({c.name})" for c in config.fields))
    level_value = r.text("level", required=True, example="city")
    level = config.level_key(level_value) if level_value else None
    if level_value and level is None:
        r.err("level", f"unknown level '{level_value}'"
              + did_you_mean(level_value, [c.key for c in config.levels] + [c.name for c in config.levels]),
              ", ".join(f"{c.key} ({c.name})" for c in config.levels))
    date = r.date("date", required=True)
    updated = r.date("updated")
    if date and updated and updated < date:
        r.err("updated", "'updated' is earlier than 'date'", "a date on or after the publication date")
    status = r.choice("status", STATUSES)
    vetting = _vetting(r)
    approved_by = r.text("approved_by")
    approved_date_dt = r.date("approved_date")
    if status in PUBLIC_STATUSES and not approved_by:
        r.err("approved_by" if "approved_by" in doc.meta else "status",
              f"status '{status}' needs 'approved_by': who approved the selection",
              "e.g. approved_by: 京口区委、区政府")
    summary = r.text("summary") or None
    sms = r.text("sms") or None
    if sms and ("\n" in sms or "【" in sms or "】" in sms):
        r.err("sms", "the SMS text must be one line without 【 or 】 (the platform adds the signature)",
              "e.g. sms: 王建国扎根社区二十年，调解纠纷三千余起。")
    tags = tuple(dict.fromkeys(t for t in (textmod.clean_label(t) for t in r.string_list("tags")) if t))
    campaigns = r.string_list("campaigns")
    images = _images(r, assets)
    honors = _honors(r)
    slug = r.text("slug")
    if slug and not SLUG_RE.match(slug):
        r.err("slug", f"slug '{slug}' must be lower-case letters, digits and '-'",
              "e.g. slug: wang-jian-guo (or leave it out to use the title's pinyin)")
    if not slug and title:
        slug = slugify(title)
    featured = doc.meta.get("featured", False)
    if not isinstance(featured, bool):
        r.err("featured", f"'featured' must be true or false, got {featured!r}", "true, false")
        featured = False
    exemplar_of = r.text("exemplar_of") or None
    stays_public = doc.meta.get("stays_public", False)
    if not isinstance(stays_public, bool):
        r.err("stays_public", "'stays_public' must be true or false", "true, false")
        stays_public = False
    private = doc.meta.get("private") or {}
    if not isinstance(private, dict):
        r.err("private", "'private' must be a mapping of fields",
              "e.g. private: {family: …, phone: …, assessments: [...]}")
        private = {}
    assessments = _assessments(r, private)
    _nested_duplicates(r, doc.meta, "")
    _body_shape(r)  # (a body that would stall the renderer is never rendered)
    if len(problems.errors) > before:
        return None
    # errors that leave a well-formed record (the build still fails on them, but `check` goes on
    # to links and the rest with the record in place)
    _body_keys(r, _STORY_KEY_LINE, skip_code=False)
    _personal_data(r, private)  # withdrawn stories too: public fields never hold personal data
    assert date is not None and unit and fld and level
    return StoryRecord(
        path=doc.path, id=sid, title=title, name=name, kind=kind, unit=unit, field=fld, level=level,
        date=date, updated=updated, status=status, vetting=vetting, approved_by=approved_by,
        approved_date=approved_date_dt.date() if approved_date_dt else None, summary=summary, sms=sms,
        tags=tags, campaigns=campaigns, images=images, honors=honors, slug=slug, featured=featured,
        exemplar_of=exemplar_of, body_line=doc.body_line, digest=doc.digest, stays_public=stays_public,
        lines={sys.intern(str(k)): v for k, v in doc.meta.lines.items()},  # interned: stored once in the cache
        private=dict(private), assessments=assessments,
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
            r.err("private", "正文一开头就是缩进的行，紧接在 private 私密信息块之后：多半是 private 里多了一行 '---'，"
                             "让信息块提前结束了，后面的私密内容会被当作正文公开",
                  "删除 private 中多出来的 '---' 行；正文的第一行不要缩进", line=r.doc.body_line + first)
            return
    fenced = False
    for i, line in enumerate(body.split("\n")):
        if skip_code and _FENCE_RE.match(line):
            fenced = not fenced
            continue
        m = None if fenced else pattern.match(line)
        if m:
            key = m.group(1)
            r.err(key, f"这一行像是信息块里的字段 '{key}:'，却出现在正文里：多半是它上面多了一行 '---'，"
                       "让开头的信息块提前结束了，后面的内容（可能包括 private 私密信息）会被当作正文公开",
                  "删除多出来的 '---' 行，让所有字段都写在开头两行 '---' 之间；正文里确实需要这样的行时，"
                  "把冒号换成别的写法", line=r.doc.body_line + i)
            return  # one message is enough: the cause is one line above the first


# Python-Markdown's link patterns take time that grows with the square of the '[' in a body
# (10,000 take minutes): far more than any story has, far fewer than would stall a build.
MAX_BRACKETS = 1000


def _body_shape(r: _Reader) -> None:
    body = r.doc.body or ""
    if body.count("[") > MAX_BRACKETS:
        at = next((i for i, line in enumerate(body.split("\n")) if line.count("[") > 50), 0)
        r.err("body", f"正文里有 {body.count('[')} 个“[”，远远超过正常文章（最多 {MAX_BRACKETS} 个）："
                      "这样的正文会让网页生成卡住很久", "删去多余的“[”（多半是粘贴进来的乱码或程序输出）",
              line=r.doc.body_line + at)


def _nested_duplicates(r: _Reader, value: Any, label: str) -> None:
    if isinstance(value, dict):
        for key, line in getattr(value, "duplicates", ()):
            if label:  # top-level duplicates are reported by frontmatter.parse
                r.err(f"{label}.{key}", f"field '{_clip(key)}' is given twice in {label}", "each field once",
                      line=line)
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


def _personal_data(r: _Reader, private: Any) -> None:
    """Personal data in what would be published: the front matter outside `private:` and the body.
    The same scan runs in `build`, `serve` and `check`. One quick pass over everything; only when
    it finds something is each value, paragraph and line looked at to say where."""
    allowed = frozenset(r.config.public_numbers)
    needles = personal.private_needles(private) if private else []
    hint = ("把它移到 private: 下（如 private.phone、private.id_number），或删除；公开的值班电话请列入 "
            "site_config.yaml 的 public_numbers")
    found: list[tuple[int, str, str]] = []
    texts = [(text, line, str(key)) for key, value in r.doc.meta.items() if key != "private"
             for text, line in _public_texts(value, r.line(key))]
    if personal.find("\x00".join(t for t, _, _ in texts), allowed, needles):
        for text, line, key in texts:
            found += [(line, key, f) for f in _describe(personal.find(text, allowed, needles))]
    found += [(line, "", f) for line, f in _body_findings(r.doc.body or "", r.doc.body_line, allowed, needles)]
    for line, key, message in found:
        r.err(key or "body", message, hint if "private" not in message else
              "删除或改写这段公开文字：private 中的内容永远不能公开", line=line)


_TAG_RE = re.compile(r"<[^<>]*>")  # (no nested '<': linear, whatever the text)
_MARKUP_RE = re.compile(r"\]\([^()]*\)|[*_~`\[\]\\]")
_BLANK_LINE_RE = re.compile(r"\n[ \t\u3000]*\n")


def _as_read(text: str) -> str:
    """Markdown roughly as a reader sees it: tags and comments gone (also over several lines),
    entities decoded, emphasis, code and link marks removed (so '王**小梅**' or '1390&#53;111234' is
    seen whole)."""
    return _MARKUP_RE.sub("", html.unescape(_TAG_RE.sub("", text)))


_LINK_TARGET_RE = re.compile(r"\]\(([^()]*)\)")


def _both(text: str) -> str:
    """What a reader sees (`_as_read`) and what that leaves out but is published all the same (tags
    with their attributes, link targets), kept apart: one pass of the scan covers everything."""
    hidden = _TAG_RE.findall(text) + _LINK_TARGET_RE.findall(text)
    return _as_read(text) + ("\x00" + "\x00".join(hidden) if hidden else "")


def _body_findings(body: str, body_line: int, allowed: frozenset[str],
                   needles: list[tuple[str, str]]) -> list[tuple[int, str]]:
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
        whole = _describe(personal.find(_both(paragraph), allowed, needles))
        for message in dict.fromkeys(whole):
            at = next((i for i, x in enumerate(lines[start:end])
                       if message in _describe(personal.find(_both(x), allowed, needles))), 0)
            out.append((body_line + start + at, message))
        start = end
    if not out:  # found only across a blank line (a tag spanning paragraphs): say where the body starts
        out = [(body_line, m) for m in dict.fromkeys(
            _describe(personal.find(_both(body), allowed, needles)))]
    return out


def _describe(findings: list[personal.Finding]) -> list[str]:
    numbers = [f for f in findings if f.kind != "private"]
    out = [f"公开内容里有{f.label}（为保护个人信息，这里不显示号码）" for f in numbers]
    labels = sorted({f.label for f in findings if f.kind == "private"})
    if labels and not numbers:  # a number already reported need not be reported again as a private value
        out += [f"公开内容里出现了私密信息 {label} 的内容（这里不显示）" for label in labels]
    return out


def _vetting(r: _Reader) -> Vetting | None:
    value = r.doc.meta.get("vetting")
    if value in (None, "", {}):
        return None
    example = "vetting: {cleared_by: 市局纪委, date: 2026-03-01, ref: 镇公纪〔2026〕12号}"
    if not isinstance(value, dict):
        r.err("vetting", "'vetting' must be {cleared_by, date, ref}", example)
        return None
    for k in value:
        if k not in VETTING_FIELDS:
            r.err(f"vetting.{k}", f"unknown field '{k}' in vetting" + did_you_mean(str(k), VETTING_FIELDS),
                  ", ".join(VETTING_FIELDS), line=value.line_of(k) if hasattr(value, "line_of") else None)
    line_of = getattr(value, "line_of", lambda _k: None)
    # blank or placeholder values are kept as they are: the gate holds such a story back, with a warning
    cleared_by = r.scalar(value.get("cleared_by"), "vetting.cleared_by", line_of("cleared_by"), "市局纪委")
    ref = r.scalar(value.get("ref"), "vetting.ref", line_of("ref"), "镇公纪〔2026〕12号")
    if value.get("date") in (None, ""):
        r.err("vetting", "the vetting record lacks its date", example)
        return None
    when = r.date("vetting", value=value["date"], line=line_of("date"), field_name="vetting.date")
    if when is None:
        return None
    return Vetting(cleared_by, when.date(), ref)


def _images(r: _Reader, assets: dict[str, int]) -> tuple[ImageRecord, ...]:
    out = []
    example = "images: [{src: images/wang.jpg, caption: 王建国在社区走访, alt: 民警与居民交谈}]"
    for item, line in r.mapping_list("images", IMAGE_FIELDS, example):
        at = getattr(item, "line_of", lambda _k, _line=line: _line)
        src = r.scalar(item.get("src"), "images.src", at("src"), "images/wang.jpg")
        caption = r.scalar(item.get("caption"), "images.caption", at("caption"), "王建国在社区走访")
        alt = r.scalar(item.get("alt"), "images.alt", at("alt"), "民警与居民交谈") or caption
        if not src:
            r.err("images", "an image needs 'src'", example, line=line)
            continue
        site = src.lstrip("/")
        while site.startswith("../"):
            site = site[3:]
        if site.startswith("content/"):
            site = site[len("content/"):]
        if site not in assets:
            known = [a for a in assets if a.startswith("images/")]
            r.err("images", f"image '{src}' not found under content/" + did_you_mean(site, known),
                  "a path such as images/wang.jpg for the file content/images/wang.jpg", line=line)
            continue
        if not alt:
            r.warn("images", f"image '{src}' has neither alt nor caption: screen readers cannot describe it",
                   "alt: 一句话描述图片内容", line=line)
        mime = mimetypes.guess_type(site)[0] or "application/octet-stream"
        out.append(ImageRecord(site, caption, alt, assets[site], mime))
    return tuple(out)


def _honors(r: _Reader) -> tuple[HonorRecord, ...]:
    out = []
    example = "honors: [{title: 全国优秀人民警察, by: 公安部, date: 2025-12-01}]"
    for item, line in r.mapping_list("honors", HONOR_FIELDS, example):
        at = getattr(item, "line_of", lambda _k, _line=line: _line)
        title = r.scalar(item.get("title"), "honors.title", at("title"), "全国优秀人民警察")
        by = r.scalar(item.get("by"), "honors.by", at("by"), "公安部")
        if not title:
            r.err("honors", "an honor needs 'title'", example, line=line)
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
    example = "assessments: [{date: 2026-06-30, result: 优秀, by: 市局政治部}]"
    if not isinstance(value, list):
        r.err("private.assessments", "'assessments' must be a list of {date, result, by, notes}", example, line=line)
        return ()
    out = []
    for item in value:
        iline = getattr(item, "line", line)
        if not isinstance(item, dict) or not item.get("date"):
            r.err("private.assessments", "each assessment needs at least a date", example, line=iline)
            continue
        for k in item:
            if k not in ASSESSMENT_FIELDS:
                r.err(f"private.assessments.{k}", f"unknown field '{k}' in an assessment"
                      + did_you_mean(str(k), ASSESSMENT_FIELDS), ", ".join(ASSESSMENT_FIELDS), line=iline)
        when = r.date("private", value=item["date"], line=iline, field_name="private.assessments.date")
        texts = [r.scalar(item.get(k), f"private.assessments.{k}", iline) for k in ("result", "by", "notes")]
        if when:
            out.append(Assessment(when.date(), *texts))
    return tuple(sorted(out, key=lambda a: a.date))


def page_record(doc: RawDoc, config: SiteConfig, problems: Problems) -> PageRecord | None:
    before = len(problems.errors)
    r = _Reader(doc, problems, config, PAGE_FIELDS)
    title = r.text("title", required=True, example="关于本站")
    slug = r.text("slug") or _file_slug(doc.path)
    if not SLUG_RE.match(slug):
        r.err("slug", f"page slug '{slug}' must be lower-case letters, digits and '-'", "e.g. slug: about")
    elif slug in RESERVED:
        r.err("slug", f"page slug '{slug}' is reserved for the site's own pages",
              "any other name, e.g. about, media")
    menu = doc.meta.get("menu")
    if menu is not None and (isinstance(menu, bool) or not isinstance(menu, int)):
        r.err("menu", f"'menu' must be a number, got {menu!r}", "e.g. menu: 1")
        menu = None
    _nested_duplicates(r, doc.meta, "")
    _body_shape(r)  # (a body that would stall the renderer is never rendered)
    if len(problems.errors) > before:
        return None
    _body_keys(r, _STORY_KEY_LINE, skip_code=True)
    _personal_data(r, None)
    return PageRecord(doc.path, slug, title, r.text("summary"), menu, doc.body, doc.body_line)


def campaign_record(doc: RawDoc, config: SiteConfig, problems: Problems) -> CampaignRecord | None:
    before = len(problems.errors)
    r = _Reader(doc, problems, config, CAMPAIGN_FIELDS)
    title = r.text("title", required=True, example="向王建国同志学习")
    slug = r.text("slug") or _file_slug(doc.path)
    if not SLUG_RE.match(slug):
        r.err("slug", f"campaign slug '{slug}' must be lower-case letters, digits and '-'",
              "e.g. slug: xiang-wang-jian-guo-xue-xi")
    date = r.date("date", required=True)
    until = r.date("until")
    if date and until and until < date:
        r.err("until", "'until' is before 'date'", "an end date on or after the start date")
    exemplars = r.string_list("exemplars")
    _nested_duplicates(r, doc.meta, "")
    _body_shape(r)  # (a body that would stall the renderer is never rendered)
    if len(problems.errors) > before:
        return None
    _body_keys(r, _STORY_KEY_LINE, skip_code=True)
    _personal_data(r, None)
    assert date is not None
    return CampaignRecord(doc.path, slug, title, r.text("summary"), date.date(),
                          until.date() if until else None, r.text("decision"), exemplars, doc.body, doc.body_line)


def _file_slug(path: str) -> str:
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return stem if SLUG_RE.match(stem) else textmod.slugify(stem)


def cacheable(entry: tuple[StoryRecord, Any]) -> tuple[StoryRecord, Any]:
    """A memo entry as it may be stored on disk: the record without its private block
    (builds never use it; reports and `check` read the files themselves)."""
    record, problems = entry
    return dataclasses.replace(record, private={}, assessments=()), problems


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
    for s in stories:
        if s.id in by_id:
            other = by_id[s.id]
            problems.error(s.path, s.line_of("id"), "id",
                           f"id '{s.id}' is already used by {other.path}:{other.line_of('id')}",
                           "a new unique id, e.g. the next free number")
        else:
            by_id[s.id] = s
        if s.slug in by_slug:
            other = by_slug[s.slug]
            field_name = "slug" if "slug" in s.lines else "title"
            problems.error(s.path, s.line_of(field_name), "slug",
                           f"URL stories/{s.slug}/ is also used by "
                           f"{other.path}:{other.line_of('slug' if 'slug' in other.lines else 'title')}",
                           "a different 'slug:' in one of the two files")
        else:
            by_slug[s.slug] = s
    campaign_slugs: dict[str, CampaignRecord] = {}
    for c in campaigns:
        if c.slug in campaign_slugs:
            problems.error(c.path, 1, "slug",
                           f"campaign URL campaigns/{c.slug}/ is also used by {campaign_slugs[c.slug].path}",
                           "a different slug or file name")
        campaign_slugs[c.slug] = c
        for sid in c.exemplars:
            if sid not in by_id:
                problems.error(c.path, 1, "exemplars", f"no story has id '{sid}'" + did_you_mean(sid, by_id),
                               "ids of stories in content/stories/")
    page_slugs: dict[str, PageRecord] = {}
    for p in pages:
        if p.slug in page_slugs:
            problems.error(p.path, 1, "slug", f"page URL {p.slug}/ is also used by {page_slugs[p.slug].path}",
                           "a different slug or file name")
        page_slugs[p.slug] = p
    for s in stories:
        for slug in s.campaigns:
            if slug not in campaign_slugs:
                problems.error(s.path, s.line_of("campaigns"), "campaigns",
                               f"unknown campaign '{slug}'" + did_you_mean(slug, campaign_slugs),
                               ", ".join(campaign_slugs) or "slugs of files in content/campaigns/")
        if s.exemplar_of:
            earlier = by_id.get(s.exemplar_of)
            if earlier is None:
                problems.error(s.path, s.line_of("exemplar_of"), "exemplar_of",
                               f"no story has id '{s.exemplar_of}'" + did_you_mean(s.exemplar_of, by_id),
                               "the id of an earlier story about the same exemplar")
            elif earlier.id == s.id:
                problems.error(s.path, s.line_of("exemplar_of"), "exemplar_of",
                               "a story cannot follow up itself", "the id of an earlier story")
