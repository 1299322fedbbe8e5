"""`new story|page|campaign "标题"`: a file with every field, a comment on each, a fresh id."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from .config import SiteConfig
from .errors import BuildFailed, Problem, did_you_mean
from .i18n import _, t
from .records import CAMPAIGN_PLACEHOLDER, PAGE_PLACEHOLDER, STATUS_NAMES
from .schema import CAMPAIGN, PAGE, STORY, Field
from .text import slugify

_ID_RE = re.compile(r"^([A-Za-z]+)-(\d{4})-(\d+)$")


@dataclass(frozen=True)
class Scaffolded:
    path: Path
    id: str | None
    slug: str


def _existing_ids(config: SiteConfig) -> list[str]:
    ids = []
    for path in sorted((config.content_dir / "stories").rglob("*.md")):
        m = re.search(r"^id:\s*['\"]?([^'\"\s#]+)", path.read_text(encoding="utf-8", errors="replace"), re.M)
        if m:
            ids.append(m.group(1))
    return ids


def fresh_id(config: SiteConfig, today: dt.date) -> str:
    """<prefix>-<year>-<NNN>: the prefix most stories use, the next free number."""
    ids = _existing_ids(config)
    parsed = [m for m in (_ID_RE.match(i) for i in ids) if m]
    prefix = Counter(m.group(1) for m in parsed).most_common(1)[0][0] if parsed else "ex"
    width = max((len(m.group(3)) for m in parsed), default=3)
    highest = max((int(m.group(3)) for m in parsed if m.group(1) == prefix), default=0)
    taken = set(ids)
    n = highest + 1
    while f"{prefix}-{today.year}-{n:0{width}d}" in taken:
        n += 1
    return f"{prefix}-{today.year}-{n:0{width}d}"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment(field: Field, extra: str = "") -> str:
    """The comment after a field: what it is (from its declaration), in the user's language."""
    text = _(field.help)
    if field.required == "yes":
        text += _(" (required)")
    return text + (": " + extra if extra else "")


def _lines(fields: tuple[Field, ...], values: dict[str, str], extras: dict[str, str], commented: set[str],
           nested: dict[str, list[str]]) -> str:
    """One line per declared field, in declaration order: `name: value   # comment`; fields in
    `commented` are written commented out, with an example value."""
    out = []
    for f in fields:
        value = values.get(f.name, f.example or '""')
        line = f"{f.name}: {value}" if value else f"{f.name}:"
        if f.name in commented:
            line = "# " + line
        out.append(f"{line:<30} # {_comment(f, extras.get(f.name, ''))}")
        out.extend(nested.get(f.name, []))
    return "\n".join(out)


def story_text(config: SiteConfig, title: str, sid: str, slug: str, today: dt.date, unit: str = "") -> str:
    units = ", ".join(f"{u.key}（{u.name}）" for u in config.units.units)
    fields = ", ".join(f"{c.key}（{c.name}）" for c in config.fields)
    levels = " | ".join(f"{c.key}（{c.name}）" for c in config.levels)
    statuses = " | ".join(f"{k}（{v}）" for k, v in STATUS_NAMES.items())
    day = today.isoformat()
    values = {"id": sid, "title": _q(title), "slug": slug, "name": '""', "kind": "individual", "unit": unit or '""',
              "field": '""', "level": "district", "date": day, "updated": day, "status": "seedling",
              "vetting": "", "approved_by": _q(_("approving body")), "approved_date": day, "summary": '""',
              "sms": '""', "tags": "[]", "campaigns": "[]", "featured": "false", "exemplar_of": '""',
              "stays_public": "true", "images": "[]", "honors": "[]", "private": "", "author": "[]",
              "withdrawn_date": day,
              "external": f"{{approved_by: 市局宣传处, date: {day}}}"}
    extras = {"kind": "individual（个人）| collective（集体）", "unit": units, "field": fields, "level": levels,
              "status": statuses}
    nested = {
        "vetting": ["#   cleared_by: 市局纪委", f"#   date: {day}", "#   ref: 文号"],
        "private": ['  family: ""', '  id_number: ""', '  phone: ""',
                    "  assessments: []             # " + _("assessments: - {date: YYYY-MM-DD, result: 优秀, by: "
                                                           "assessing body, notes: notes}")],
    }
    commented = {"updated", "withdrawn_date", "vetting", "approved_by", "approved_date", "sms", "exemplar_of",
                 "stays_public", "external"}
    front = _lines(STORY, values, extras, commented, nested)
    return f"---\n{front}\n---\n" + _("Write the story of the exemplar here. Use “## subheading” for sections and "
                                      "“- ” for lists.") + "\n"


def page_text(title: str, slug: str) -> str:
    front = _lines(PAGE, {"title": _q(title), "slug": slug, "summary": '""'}, {}, {"menu", "date", "external"}, {})
    return f"---\n{front}\n---\n" + _(PAGE_PLACEHOLDER) + "\n"


def campaign_text(title: str, slug: str, today: dt.date) -> str:
    values = {"title": _q(title), "slug": slug, "date": today.isoformat(), "until": f"{today.year}-12-31",
              "decision": '""', "summary": '""', "exemplars": "[]"}
    front = _lines(CAMPAIGN, values, {}, {"until", "external"}, {})
    return f"---\n{front}\n---\n" + _(CAMPAIGN_PLACEHOLDER) + "\n"


SETTINGS_ENV = "EXEMPLAR_SITE_SETTINGS"


def settings_path() -> Path:
    """The writer's own small settings file (their default unit for `new story`): in the user's
    folder, never in the site (a shared site must not preselect one person's unit for everyone)."""
    given = os.environ.get(SETTINGS_ENV)
    if given:
        return Path(given)
    base = os.environ.get("APPDATA") or os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "exemplar-site" / "settings.yaml"


def remembered_unit() -> str:
    try:
        data = yaml.safe_load(settings_path().read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return ""
    return str(data.get("unit") or "") if isinstance(data, dict) else ""


def remember_unit(key: str) -> Path:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"unit: {key}\n", encoding="utf-8")
    return path


def choose_unit(config: SiteConfig, given: str | None) -> str:
    """The unit for a new story: --unit (a key or a unit's Chinese name), else the writer's own
    remembered default if this site has it, else none (the writer picks from the list in the comment)."""
    if given:
        key = config.units.resolve(given.strip())
        if key is None:
            names = [u.key for u in config.units.units] + [u.name for u in config.units.units]
            raise BuildFailed([Problem(str(config.path), config.line_of.get("units"), "--unit",
                                       t("there is no unit '{value}' in the unit tree", value=given)
                                       + did_you_mean(given, names),
                                       ", ".join(f"{u.key}（{u.name}）" for u in config.units.units))])
        return key
    remembered = remembered_unit()
    return remembered if config.units.get(remembered) else ""


def scaffold(config: SiteConfig, kind: str, title: str, today: dt.date, unit: str = "") -> Scaffolded:
    slug = slugify(title)
    if kind == "story":
        sid = fresh_id(config, today)
        path = config.content_dir / "stories" / str(today.year) / f"{slug}.md"
        text = story_text(config, title, sid, slug, today, unit)
    elif kind == "page":
        sid = None
        path = config.content_dir / "pages" / f"{slug}.md"
        text = page_text(title, slug)
    else:
        sid = None
        path = config.content_dir / "campaigns" / f"{slug}.md"
        text = campaign_text(title, slug, today)
    if path.exists():
        raise BuildFailed([Problem(str(path), None, None, _("a file with this name already exists; nothing written"),
                                   _("another title, or edit the existing file"))])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return Scaffolded(path, sid, slug)
