"""site_config.yaml → a frozen `SiteConfig`, every problem with its line.

Each option is declared once in `_OPTIONS` with its default and a one-line
description; an unknown key is an error with a "did you mean" suggestion.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import personal, yamlio
from .errors import BuildFailed, Problem, Problems, did_you_mean
from .personal import normalise_number

# The five levels of the tiered management (分级管理), highest first. Keys are
# fixed because assessment rules depend on them; display names can be changed.
LEVELS: tuple[tuple[str, str], ...] = (
    ("national", "国家级"),
    ("ministry", "部级"),
    ("provincial", "省级"),
    ("city", "市级"),
    ("district", "区县级"),
)
UNIT_TYPES = ("city", "district", "station", "department", "community")
FEED_FAMILIES = ("all", "field", "unit", "level", "campaign", "tag")
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Category:
    """A field (警种/行业) or level: a URL-safe key and a display name."""

    key: str
    name: str
    order: int


@dataclass(frozen=True)
class Unit:
    key: str
    name: str
    type: str
    parent: str | None
    depth: int


@dataclass(frozen=True)
class UnitTree:
    units: tuple[Unit, ...]  # depth-first order, as written in the config

    def get(self, key: str) -> Unit | None:
        return self._by_key.get(key)

    @functools.cached_property
    def _by_key(self) -> dict[str, Unit]:
        return {u.key: u for u in self.units}

    def children(self, key: str | None) -> list[Unit]:
        return [u for u in self.units if u.parent == key]

    def descendants(self, key: str) -> list[str]:
        """The unit and every unit below it, in tree order."""
        out = [key]
        for child in self.children(key):
            out.extend(self.descendants(child.key))
        return out

    def ancestors(self, key: str) -> list[Unit]:
        """From the root down to the unit itself."""
        by_key = self._by_key
        chain: list[Unit] = []
        unit = by_key.get(key)
        while unit is not None:
            chain.append(unit)
            unit = by_key.get(unit.parent) if unit.parent else None
        return list(reversed(chain))

    def resolve(self, value: str) -> str | None:
        """A unit key or a unit's display name → key."""
        for u in self.units:
            if value in (u.key, u.name):
                return u.key
        return None


@dataclass(frozen=True)
class FeedSettings:
    families: tuple[str, ...]
    items: int
    tags: tuple[str, ...]  # tags that get their own feed when "tag" is on; ("*",) = all
    source: str  # source line (来源) appended to the full text
    guid_prefix: str  # GUID = prefix + story id; never change it once feeds are public


@dataclass(frozen=True)
class SmsSettings:
    signature: str  # without 【】
    write_signature: bool
    max_segments: int
    link: bool
    suffix: str
    csv_bom: bool
    digest_days: int
    counting: str  # "platform" (mainland SMS platforms) or "carrier" (GSM 03.38)


@dataclass(frozen=True)
class Quota:
    unit_type: str
    level: str  # this level or higher counts
    minimum: int


@dataclass(frozen=True)
class SiteConfig:
    root: Path
    path: Path
    title: str
    subtitle: str
    description: str
    organisation: str
    base_url: str  # scheme://host, no trailing slash
    base_path: str  # always starts and ends with "/"
    language: str
    timezone: str
    theme: str
    content_dir: Path
    output_dir: Path
    reports_dir: Path
    themes_dir: Path
    page_size: int
    home_latest: int
    summary_length: int
    reading_speed: int
    vetting_valid_days: int
    units: UnitTree
    fields: tuple[Category, ...]
    levels: tuple[Category, ...]
    feeds: FeedSettings
    sms: SmsSettings
    quotas: tuple[Quota, ...]
    public_numbers: tuple[str, ...] = ()  # phone numbers allowed in public text (digits only)
    digest: str = ""  # hash of the config file: part of every output's cache key
    line_of: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def field_key(self, value: str) -> str | None:
        return _resolve(self.fields, value)

    def level_key(self, value: str) -> str | None:
        return _resolve(self.levels, value)

    def field_cat(self, key: str) -> Category:
        return next(c for c in self.fields if c.key == key)

    def level_cat(self, key: str) -> Category:
        return next(c for c in self.levels if c.key == key)

    @property
    def site_url(self) -> str:
        """Absolute URL of the site root, ending in '/'."""
        return self.base_url + self.base_path


def _resolve(categories: tuple[Category, ...], value: str) -> str | None:
    for c in categories:
        if value in (c.key, c.name):
            return c.key
    return None


# name: (default, description). A default of None means required.
_OPTIONS: dict[str, tuple[Any, str]] = {
    "title": (None, "site title shown in the header and feeds"),
    "subtitle": ("", "a line under the title"),
    "description": ("", "one sentence for feeds and search engines"),
    "organisation": ("", "the publishing body, shown in the footer and as feed author"),
    "base_url": (None, "scheme and host of the intranet server, e.g. http://xc.gaj.zj"),
    "base_path": ("/", "sub-path the site is served under, e.g. /publicity/"),
    "language": ("zh-CN", "language of the content"),
    "timezone": ("Asia/Shanghai", "time zone for dates without one"),
    "theme": ("default", "theme folder under themes/; falls back to themes/default"),
    "content_dir": ("content", "folder holding stories/, pages/, campaigns/, images/"),
    "output_dir": ("public", "where the public site is written"),
    "reports_dir": ("reports", "where internal reports are written; never inside output_dir"),
    "page_size": (10, "stories per listing page"),
    "home_latest": (8, "latest stories on the home page"),
    "summary_length": (120, "characters in a derived summary"),
    "reading_speed": (400, "Chinese characters read per minute, for reading time"),
    "vetting_valid_days": (365, "days a discipline-inspection clearance stays valid"),
    "units": (None, "the unit tree: key → {name, type, children}"),
    "fields": (None, "fields (警种/行业): key → display name"),
    "levels": ({}, "display names for levels: national/ministry/provincial/city/district"),
    "feeds": ({}, "feed settings: families, items, tags, source"),
    "sms": ({}, "SMS settings: signature, write_signature, max_segments, link, suffix, csv_bom, digest_days"),
    "quotas": (None, "yearly selection targets (年内选树); default: district→city, city→provincial"),
    "public_numbers": ([], ("phone numbers that may appear in public text: public duty lines such as a community "
                            "officer's work mobile; every other mobile or ID number in public text stops the build")),
}
_FEED_OPTIONS = {"families": list(FEED_FAMILIES), "items": 50, "tags": [], "source": "来源：{organisation}",
                 "guid_prefix": ""}
_SMS_OPTIONS = {"signature": "", "write_signature": True, "max_segments": 1, "link": False,
                "suffix": "", "csv_bom": True, "digest_days": 7, "counting": "platform"}
_DEFAULT_QUOTAS = (Quota("district", "city", 1), Quota("city", "provincial", 1))


def load_config(path: str | Path, output_dir: str | Path | None = None) -> SiteConfig:
    """Read and validate the config; raise BuildFailed listing every problem."""
    path = Path(path)
    problems = Problems()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BuildFailed([_p(path, None, None, "config file not found",
                              "a site_config.yaml file; pass another one with --config FILE")]) from None
    except UnicodeDecodeError:
        raise BuildFailed([_p(path, None, None, "the file is not UTF-8 text",
                              "save it as UTF-8 (UTF-8 编码)")]) from None
    data, err = yamlio.load(text)
    if err:
        raise BuildFailed([_p(path, err.line, None, err.message)])
    if not isinstance(data, yamlio.LineDict):
        raise BuildFailed([_p(path, 1, None, "the config must be a mapping of options",
                              "lines like 'title: 先进典型'")])
    config = _build(path, data, problems, output_dir, text)
    if problems or config is None:
        raise BuildFailed(problems.items)
    return config


def _p(path: Path, line: int | None, fld: str | None, msg: str, accepted: str | None = None) -> Problem:
    return Problem(str(path), line, fld, msg, accepted)


def _build(path: Path, data: yamlio.LineDict, problems: Problems,
           output_override: str | Path | None, source_text: str = "") -> SiteConfig | None:
    for key, dup_line in data.duplicates:
        problems.error(path, dup_line, str(key), "this option is given twice", "each option once")
    for key in data:
        if key not in _OPTIONS:
            problems.error(path, data.line_of(key), str(key), f"unknown option '{key}'"
                           + did_you_mean(str(key), _OPTIONS), ", ".join(_OPTIONS))
    values: dict[str, Any] = {}
    for key, (default, desc) in _OPTIONS.items():
        if key in data:
            values[key] = data[key]
        elif default is None and key != "quotas":
            problems.error(path, None, key, f"required option '{key}' is missing ({desc})")
            values[key] = None
        else:
            values[key] = default
    line = data.line_of

    def text(key: str) -> str:
        v = values[key]
        if v is None:
            return ""
        if not isinstance(v, (str, int, float)):
            problems.error(path, line(key), key, "must be a single line of text")
            return ""
        return str(v).strip()

    def integer(key: str, low: int, high: int) -> int:
        v = values[key]
        if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
            problems.error(path, line(key), key, f"must be a whole number from {low} to {high}, got {v!r}")
            return int(_OPTIONS[key][0] or low)
        return v

    base_url = text("base_url").rstrip("/")
    if values["base_url"] is not None and not re.match(r"^https?://[^/\s]+$", base_url):
        problems.error(path, line("base_url"), "base_url",
                       f"must be an absolute address with scheme and host, got {base_url!r}",
                       "e.g. http://xc.gaj.zj or https://example.gov.cn (no path: use base_path)")
    base_path = text("base_path") or "/"
    if not base_path.startswith("/") or " " in base_path or "//" in base_path:
        problems.error(path, line("base_path"), "base_path", f"must be a path starting with '/', got {base_path!r}",
                       "e.g. / or /publicity/")
    base_path = "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"

    tz = text("timezone")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        problems.error(path, line("timezone"), "timezone", f"unknown time zone {tz!r}",
                       "an IANA name such as Asia/Shanghai")

    root = path.parent.resolve()
    theme = text("theme") or "default"
    themes_dir = root / "themes"
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", theme) or ".." in theme:
        problems.error(path, line("theme"), "theme", f"theme name {theme!r} must be the name of a folder under themes/",
                       "letters, digits, '-', '_' and '.', e.g. theme: jiangcheng")
    elif theme != "default" and not (themes_dir / theme).is_dir():
        have = sorted(p.name for p in themes_dir.iterdir() if p.is_dir()) if themes_dir.is_dir() else []
        problems.error(path, line("theme"), "theme", f"theme '{theme}' not found in {themes_dir}"
                       + did_you_mean(theme, have), ", ".join(have) or "a folder under themes/")
    content_dir = root / text("content_dir")
    if not content_dir.is_dir():
        problems.error(path, line("content_dir"), "content_dir", f"content folder {content_dir} does not exist",
                       "a folder holding stories/, pages/ and campaigns/")
    for key, folder in (("content_dir", content_dir), ("theme", themes_dir)):
        real = folder.resolve()  # (root is resolved): a folder, or a link to one, outside the site is refused
        if folder.exists() and not real.is_relative_to(root):
            problems.error(path, line(key), key,
                           f"{folder.name}/ 在网站文件夹以外（{real}）：构建只读取网站文件夹里的内容",
                           "把它放回网站文件夹（site_config.yaml 所在的文件夹）里，不要用链接或绝对路径")
    output_dir = Path(output_override).resolve() if output_override else root / text("output_dir")
    reports_dir = root / text("reports_dir")
    if output_dir == root or output_dir == content_dir or content_dir.is_relative_to(output_dir) \
            or root.is_relative_to(output_dir):
        problems.error(path, line("output_dir"), "output_dir",
                       f"output folder {output_dir} would overwrite the site's sources",
                       "a folder of its own, e.g. public")
    if reports_dir == output_dir or reports_dir.is_relative_to(output_dir) or output_dir.is_relative_to(reports_dir):
        problems.error(path, line("reports_dir"), "reports_dir",
                       "internal reports must never be written inside the public output (or around it)",
                       "a separate folder, e.g. reports")

    units = _units(path, values["units"], line("units"), problems)
    fields = _fields(path, values["fields"], line("fields"), problems)
    levels = _levels(path, values["levels"], line("levels"), problems)
    feeds = _feeds(path, values["feeds"], line("feeds"), problems, base_url)
    sms = _sms(path, values["sms"], line("sms"), problems)
    quotas = _quotas(path, values["quotas"], line("quotas"), problems)
    public_numbers = _public_numbers(path, values["public_numbers"], line("public_numbers"), problems)
    # the config's text goes on every page, feed item or SMS (titles, unit and field names, the
    # source line, the SMS signature…): the same personal-data scan, over every value but the list
    # of public numbers itself
    for key, where, value in _config_texts(data):
        if key == "public_numbers":
            continue
        for found in personal.find(value, frozenset(public_numbers)):
            problems.error(path, where, key, f"设置里有{found.label}（为保护个人信息，这里不显示号码）",
                           "删除它；公开的值班电话请列入 public_numbers")

    config = SiteConfig(
        root=root, path=path, title=text("title"), subtitle=text("subtitle"),
        description=text("description"), organisation=text("organisation"),
        base_url=base_url, base_path=base_path, language=text("language") or "zh-CN",
        timezone=tz, theme=theme, content_dir=content_dir, output_dir=output_dir,
        reports_dir=reports_dir, themes_dir=themes_dir,
        page_size=integer("page_size", 1, 500), home_latest=integer("home_latest", 0, 100),
        summary_length=integer("summary_length", 20, 1000),
        reading_speed=integer("reading_speed", 50, 5000),
        vetting_valid_days=integer("vetting_valid_days", 1, 3650),
        units=units, fields=fields, levels=levels, feeds=feeds, sms=sms, quotas=quotas,
        public_numbers=public_numbers,
        digest=hashlib.blake2b(source_text.encode("utf-8") + str(output_dir).encode("utf-8"),
                               digest_size=16).hexdigest(),
        line_of=dict(data.lines),
    )
    return None if problems else config


def _config_texts(value: Any, key: str = "", line: int = 1) -> Iterator[tuple[str, int, str]]:
    """(top-level option, line, text) for every piece of text in the config, keys included."""
    if isinstance(value, dict):
        for k, v in value.items():
            at = value.line_of(k) if isinstance(value, yamlio.LineDict) else line
            top = key or str(k)
            yield top, at, str(k)
            yield from _config_texts(v, top, at)
    elif isinstance(value, list):
        for v in value:
            yield from _config_texts(v, key, line)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        yield key, line, str(value)


def _public_numbers(path: Path, data: Any, line: int, problems: Problems) -> tuple[str, ...]:
    example = 'e.g. public_numbers: ["138 0000 1234", 0511-85551234]  (one per public duty line)'
    if data is None:
        return ()
    if not isinstance(data, list):
        problems.error(path, line, "public_numbers", "must be a list of phone numbers", example)
        return ()
    out: list[str] = []
    for item in data:
        digits = normalise_number(item) if isinstance(item, (str, int)) and not isinstance(item, bool) else ""
        if len(digits) < 7:
            problems.error(path, line, "public_numbers", f"'{item}' is not a phone number", example)
            continue
        out.append(digits)
    return tuple(out)


def _units(path: Path, data: Any, line: int, problems: Problems) -> UnitTree:
    units: list[Unit] = []
    seen: dict[str, int] = {}

    def walk(mapping: Any, parent: str | None, depth: int, where: int) -> None:
        if not isinstance(mapping, yamlio.LineDict) or not mapping:
            problems.error(path, where, "units", "must be a mapping of unit keys",
                           "e.g. units: {city: {name: 镇江市公安局, children: {...}}}")
            return
        for key, spec in mapping.items():
            kline = mapping.line_of(key)
            skey = str(key)
            if not KEY_RE.match(skey):
                problems.error(path, kline, f"units.{skey}", f"unit key '{skey}' is not URL-safe",
                               "lower-case letters, digits and '-', e.g. jingkou or jingkou-dashikou")
            if skey in seen:
                problems.error(path, kline, f"units.{skey}",
                               f"unit key '{skey}' is used twice (first on line {seen[skey]})",
                               "every unit key once in the whole tree")
            seen[skey] = kline
            if isinstance(spec, str):
                spec_d: dict[str, Any] = {"name": spec}
            elif isinstance(spec, dict):
                spec_d = spec
            else:
                problems.error(path, kline, f"units.{skey}", "must be a display name or {name, type, children}")
                continue
            for k in spec_d:
                if k not in ("name", "type", "children"):
                    problems.error(path, spec_d.line_of(k) if isinstance(spec_d, yamlio.LineDict) else kline,
                                   f"units.{skey}.{k}",
                                   f"unknown unit option '{k}'" + did_you_mean(str(k), ["name", "type", "children"]),
                                   "name, type, children")
            default_type = ("city", "district", "station")[min(depth, 2)]
            utype = str(spec_d.get("type", default_type))
            if utype not in UNIT_TYPES:
                problems.error(path, kline, f"units.{skey}.type", f"unknown unit type '{utype}'",
                               ", ".join(UNIT_TYPES))
            name = str(spec_d.get("name") or skey)
            units.append(Unit(skey, name, utype, parent, depth))
            if spec_d.get("children"):
                walk(spec_d["children"], skey, depth + 1, kline)

    if data is not None:
        walk(data, None, 0, line)
    return UnitTree(tuple(units))


def _fields(path: Path, data: Any, line: int, problems: Problems) -> tuple[Category, ...]:
    if data is None:
        return ()
    if not isinstance(data, yamlio.LineDict) or not data:
        problems.error(path, line, "fields", "must be a mapping of field keys to display names",
                       "e.g. fields: {jiaojing: 交警, xingzhen: 刑侦}")
        return ()
    out = []
    for i, (key, name) in enumerate(data.items()):
        if not KEY_RE.match(str(key)):
            problems.error(path, data.line_of(key), f"fields.{key}", f"field key '{key}' is not URL-safe",
                           "lower-case letters, digits and '-', e.g. jiaojing")
        out.append(Category(str(key), str(name), i))
    return tuple(out)


def _levels(path: Path, data: Any, line: int, problems: Problems) -> tuple[Category, ...]:
    names = dict(LEVELS)
    if data:
        if not isinstance(data, yamlio.LineDict):
            problems.error(path, line, "levels", "must map level keys to display names",
                           "e.g. levels: {city: 市级}")
        else:
            for key, name in data.items():
                if key not in names:
                    problems.error(path, data.line_of(key), f"levels.{key}", f"unknown level '{key}'"
                                   + did_you_mean(str(key), names), ", ".join(names))
                else:
                    names[key] = str(name)
    return tuple(Category(k, names[k], i) for i, (k, _) in enumerate(LEVELS))


def _section(path: Path, data: Any, line: int, name: str, defaults: dict[str, Any],
             problems: Problems) -> dict[str, Any]:
    if not isinstance(data, dict):
        problems.error(path, line, name, f"'{name}' must be a mapping of options", ", ".join(defaults))
        return dict(defaults)
    out = dict(defaults)
    for key, value in data.items():
        if key not in defaults:
            problems.error(path, data.line_of(key) if isinstance(data, yamlio.LineDict) else line,
                           f"{name}.{key}", f"unknown {name} option '{key}'" + did_you_mean(str(key), defaults),
                           ", ".join(defaults))
        else:
            out[key] = value
    return out


def _feeds(path: Path, data: Any, line: int, problems: Problems, base_url: str) -> FeedSettings:
    v = _section(path, data, line, "feeds", _FEED_OPTIONS, problems)
    fams = v["families"] if isinstance(v["families"], list) else []
    for f in fams:
        if f not in FEED_FAMILIES:
            problems.error(path, line, "feeds.families",
                           f"unknown feed family '{f}'" + did_you_mean(str(f), FEED_FAMILIES),
                           ", ".join(FEED_FAMILIES))
    items = v["items"]
    if isinstance(items, bool) or not isinstance(items, int) or not 1 <= items <= 500:
        problems.error(path, line, "feeds.items", f"must be a whole number from 1 to 500, got {items!r}")
        items = 50
    tags = v["tags"]
    if tags == "*" or tags == "all":
        tags = ["*"]
    if not isinstance(tags, list):
        problems.error(path, line, "feeds.tags", "must be a list of tags, or '*' for every tag")
        tags = []
    source = str(v["source"] or "")
    try:
        source.format(organisation="", site="", title="", url="")
    except (KeyError, IndexError, ValueError) as exc:
        problems.error(path, line, "feeds.source",
                       f"来源行里的 {{…}} 写法不对（{type(exc).__name__}: {exc}）：只能用 {{organisation}}、{{site}}、"
                       "{title}、{url}", "例如 source: 来源：{organisation}；要写花括号本身，请写成 {{ 和 }}")
        source = ""
    prefix = str(v["guid_prefix"] or "")
    if not prefix:
        host = re.sub(r"^https?://", "", base_url).split(":")[0] or "localhost"
        prefix = f"tag:{host},2025:"
    elif re.search(r"\s", prefix):
        problems.error(path, line, "feeds.guid_prefix", "must not contain spaces", "e.g. tag:xc.gaj.zj,2025:")
    return FeedSettings(tuple(str(f) for f in fams), items, tuple(str(t) for t in tags), source,
                        prefix)


def _sms(path: Path, data: Any, line: int, problems: Problems) -> SmsSettings:
    v = _section(path, data, line, "sms", _SMS_OPTIONS, problems)
    sig = str(v["signature"] or "").strip().strip("【】")
    if sig and not 2 <= len(sig) <= 12:
        problems.error(path, line, "sms.signature", f"the signature must be 2 to 12 characters, got {len(sig)}",
                       "e.g. 镇江公安 (written without 【】)")
    if re.search(r"[【】\[\]\s]", sig):
        problems.error(path, line, "sms.signature", "the signature must not contain brackets or spaces",
                       "e.g. 镇江公安 (the 【】 are added for you)")
    seg = v["max_segments"]
    if isinstance(seg, bool) or not isinstance(seg, int) or not 1 <= seg <= 7:
        problems.error(path, line, "sms.max_segments", f"must be a whole number from 1 to 7, got {seg!r}")
        seg = 1
    days = v["digest_days"]
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
        problems.error(path, line, "sms.digest_days", f"must be a whole number from 1 to 366, got {days!r}")
        days = 7
    suffix = str(v["suffix"] or "")
    if "【" in suffix or "】" in suffix or "\n" in suffix:
        problems.error(path, line, "sms.suffix", "must be one line without 【】", "e.g. 回T退订")
    counting = str(v["counting"])
    if counting not in ("platform", "carrier"):
        problems.error(path, line, "sms.counting", f"unknown counting '{counting}'",
                       "platform (mainland SMS platforms: every character counts 1, 70/67) or "
                       "carrier (GSM 03.38: 160/153 for plain Latin text, 70/67 otherwise)")
        counting = "platform"
    return SmsSettings(sig, bool(v["write_signature"]), seg, bool(v["link"]), suffix, bool(v["csv_bom"]), days,
                       counting)


def _quotas(path: Path, data: Any, line: int, problems: Problems) -> tuple[Quota, ...]:
    if data is None:
        return _DEFAULT_QUOTAS
    if not isinstance(data, list):
        problems.error(path, line, "quotas", "must be a list of {unit_type, level, min}",
                       "e.g. - {unit_type: district, level: city, min: 1}")
        return _DEFAULT_QUOTAS
    out = []
    levels = dict(LEVELS)
    for item in data:
        where = getattr(item, "line", line)
        if not isinstance(item, dict) or set(item) - {"unit_type", "level", "min"}:
            problems.error(path, where, "quotas", "each quota is {unit_type, level, min}",
                           "e.g. - {unit_type: district, level: city, min: 1}")
            continue
        ut, lv, mn = item.get("unit_type"), item.get("level"), item.get("min", 1)
        if ut not in UNIT_TYPES:
            problems.error(path, where, "quotas.unit_type", f"unknown unit type {ut!r}", ", ".join(UNIT_TYPES))
        if lv not in levels:
            problems.error(path, where, "quotas.level", f"unknown level {lv!r}", ", ".join(levels))
        if isinstance(mn, bool) or not isinstance(mn, int) or mn < 1:
            problems.error(path, where, "quotas.min", f"must be a whole number of at least 1, got {mn!r}")
            mn = 1
        out.append(Quota(str(ut), str(lv), mn))
    return tuple(out)
