"""site_config.yaml → a frozen `SiteConfig`, every problem with its line.

Each option is declared once in schema.py (type, default, accepted values, help); the simple
checks come from there, the checks that relate values to each other or to the folders are here.
An unknown key is an error with a "did you mean" suggestion.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import i18n, personal, yamlio
from .errors import BuildFailed, Problem, Problems, did_you_mean
from .i18n import N_, _, t
from .images import ImageSettings
from .personal import normalise_number
from .safetree import dead_link
from .schema import (
    DEPLOY_OPTIONS,
    EDITION_OPTIONS,
    FEED_FAMILIES,
    FEED_OPTIONS,
    IMAGE_OPTIONS,
    SITE_OPTIONS,
    SMS_OPTIONS,
    Option,
    options_by_name,
    typed,
)
from .text import NOT_ONE_LINE, as_browsers_read, browser_host, control_named

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
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")

BUILTIN_DEFAULT = Path(__file__).resolve().parent / "themes" / "default"  # package data: ships in the wheel


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

    @functools.cached_property
    def _by_value(self) -> dict[str, str]:  # key or display name → key (the first unit naming it)
        out: dict[str, str] = {}
        for u in reversed(self.units):
            out[u.name] = out[u.key] = u.key
        return out

    @functools.cached_property
    def _children(self) -> dict[str | None, list[Unit]]:
        out: dict[str | None, list[Unit]] = {}
        for u in self.units:
            out.setdefault(u.parent, []).append(u)
        return out

    def children(self, key: str | None) -> list[Unit]:
        return list(self._children.get(key, ()))

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
        """A unit key or a unit's display name → key (of the first unit, in config order, whose
        key or name it is: one lookup, not a walk through every unit for each story)."""
        return self._by_value.get(value)


@dataclass(frozen=True)
class FeedSettings:
    families: tuple[str, ...]
    items: int
    tags: tuple[str, ...]  # tags that get their own feed when "tag" is on; ("*",) = all
    source: str  # source line (来源) appended to the full text
    guid_prefix: str  # GUID = prefix + story id; never change it once feeds are public
    tombstone_days: int = 90  # how long a withdrawal is announced (Atom tombstones, the withdrawals feeds)
    publish_time: dt.time = dt.time(12, 0)  # the time of day of a story dated without one


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
class DeploySettings:
    target: str = ""  # a folder, or user@host:/path; "" = the command names it
    keep: int = 5  # releases kept for rollback
    reload: str = ""  # command that makes nginx read the withdrawn addresses again


@dataclass(frozen=True)
class Edition:
    """One edition of the site: where it is served from and written to, and whether it goes outside."""

    name: str
    base_url: str
    base_path: str
    output_dir: Path
    title_suffix: str
    external: bool  # only what carries an `external:` clearance; no intranet address anywhere


INTRANET = "intranet"  # the edition the top-level options describe


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
    csv_headers: str = "chinese"  # "chinese" (Excel users) or "english" (scripts)
    press_contact: str = ""  # shown to newsrooms on the media page
    deploy: DeploySettings = DeploySettings()
    images: ImageSettings = field(default_factory=ImageSettings)
    editions: tuple[Edition, ...] = ()  # the further editions declared (the intranet edition is the config itself)
    edition: str = INTRANET  # the edition this config builds
    external: bool = False  # this edition goes outside: only externally cleared content
    intranet_hosts: tuple[str, ...] = ()  # hosts of the internal editions: never in an external one
    listing_style: str = "cards"  # listing pages: cards, or list (the dense titles and dates of government sites)
    search: bool = True  # site search: the search page, the header's box, the index files
    # hash of the config file (and the edition chosen): part of every output's cache key. Not where the
    # output goes: no output's bytes depend on it (so the preview server can start from a build's cache)
    digest: str = ""
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


_OPTIONS = options_by_name(SITE_OPTIONS)
_FEED_OPTIONS = options_by_name(FEED_OPTIONS)
_SMS_OPTIONS = options_by_name(SMS_OPTIONS)
_DEPLOY_OPTIONS = options_by_name(DEPLOY_OPTIONS)
_IMAGE_OPTIONS = options_by_name(IMAGE_OPTIONS)
_EDITION_OPTIONS = options_by_name(EDITION_OPTIONS)
_DEFAULT_QUOTAS = (Quota("district", "city", 1), Quota("city", "provincial", 1))


def load_config(path: str | Path, output_dir: str | Path | None = None, edition: str | None = None) -> SiteConfig:
    """Read and validate the config; raise BuildFailed listing every problem. `edition`: one of the
    `editions:` declared (default: the intranet edition the top-level options describe)."""
    path = Path(path)
    problems = Problems()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BuildFailed([_p(path, None, None, _("the site configuration file was not found"),
                              _("run the command in the site folder (the one holding site_config.yaml), "
                                "or name the file with --config FILE"))]) from None
    except UnicodeDecodeError:
        raise BuildFailed([_p(path, None, None, _("the file is not saved as UTF-8 text"),
                              _("save it again with the encoding UTF-8"))]) from None
    data, err = yamlio.load(text)
    if err:
        raise BuildFailed([_p(path, err.line, None, err.message)])
    if not isinstance(data, yamlio.LineDict):
        raise BuildFailed([_p(path, 1, None, _("the configuration must be a list of options, one per line"),
                              _("lines like 'title: 江城公安先进典型'"))])
    config = _build(path, data, problems, output_dir, text)
    if problems or config is None:
        raise BuildFailed(problems.items)
    if edition and edition != INTRANET:
        config = _edition(config, edition, output_dir, problems)
        if problems:
            raise BuildFailed(problems.items)
    return config


def _edition(config: SiteConfig, name: str, output_override: str | Path | None, problems: Problems) -> SiteConfig:
    """The config as the edition `name` sees it: its own addresses, output folder and title."""
    chosen = next((e for e in config.editions if e.name == name), None)
    if chosen is None:
        names = [INTRANET] + [e.name for e in config.editions]
        # (the intranet edition is never the suggestion: whoever asks for another one means another one)
        problems.error(config.path, config.line_of.get("editions"), "--edition",
                       t("there is no edition '{name}'", name=name)
                       + did_you_mean(name, [e.name for e in config.editions]),
                       ", ".join(names) if config.editions else
                       # TRANSLATORS: 原文：这个网站只有内网版（intranet）；要生成对外版本，先在 site_config.yaml 的
                       # editions 下声明一个，写上 external: true（见 docs/configuration.md）
                       _("this site has the intranet edition only; to build one that goes outside, declare it "
                         "under editions in site_config.yaml with external: true (docs/configuration.md)"))
        return config
    output_dir = _resolved(Path(output_override)) if output_override else chosen.output_dir
    if chosen.external:
        host = _guid_host(config.feeds.guid_prefix)
        if host and host in config.intranet_hosts:
            problems.error(config.path, config.line_of.get("feeds"), "feeds.guid_prefix",
                           t("the GUID prefix names the intranet host {host}: an edition that goes outside cannot "
                             "carry it, and GUIDs must stay the same in every edition", host=host),
                           _("a tag URI on the bureau's public domain, set once before any outlet subscribes, e.g. "
                             "guid_prefix: \"tag:jcgaj.gov.cn,2025:\""))
        # what every page or the media page of the edition shows, from the config
        shown = {"title": config.title, "subtitle": config.subtitle, "description": config.description,
                 "organisation": config.organisation, "press_contact": config.press_contact,
                 **{f"units.{u.key}": u.name for u in config.units.units},
                 **{f"fields.{c.key}": c.name for c in config.fields},
                 **{f"levels.{c.key}": c.name for c in config.levels}}
        for name, text in shown.items():
            for host in (h for h in config.intranet_hosts if h and h in as_browsers_read(text)):
                problems.error(config.path, config.line_of.get(name.split(".")[0]), name,
                               # TRANSLATORS: 原文：{field} 里有内网地址 {host}：它会出现在对外发布的“{edition}”版本里
                               t("{field} holds the intranet address {host}: it would appear in the '{edition}' "
                                 "edition, which goes outside", field=name, host=host, edition=chosen.name),
                               _("remove the intranet address"))
    return dataclasses.replace(
        config, base_url=chosen.base_url, base_path=chosen.base_path, output_dir=output_dir,
        title=config.title + chosen.title_suffix, edition=chosen.name, external=chosen.external,
        digest=hashlib.blake2b(f"{config.digest}|{chosen}".encode(), digest_size=16).hexdigest())


def _resolved(folder: Path) -> Path:
    """An output folder as the build writes it: through its links, except a link that leads
    nowhere (kept as it is: the build that would write through it refuses it, outguard.unreachable)."""
    return folder.absolute() if dead_link(folder) is not None else folder.resolve()


def _guid_host(prefix: str) -> str:
    m = re.match(r"tag:([^,]+),", prefix) or re.match(r"https?://([^/:]+)", prefix)
    return m.group(1).lower() if m else ""


def _editions(path: Path, data: Any, line: int, problems: Problems, root: Path,
              output_dir: Path, reports_dir: Path) -> tuple[Edition, ...]:
    out: list[Edition] = []
    if not data:
        return ()
    used = {output_dir.resolve(): INTRANET}
    for name, spec in data.items():
        at = data.line_of(name) if isinstance(data, yamlio.LineDict) else line
        if not KEY_RE.match(str(name)) or name == INTRANET:
            problems.error(path, at, f"editions.{name}",
                           t("'{name}' cannot name an edition", name=name),
                           _("lower-case letters, digits and '-', e.g. internet (intranet is the main edition)"))
            continue
        v = _values(path, spec, at, f"editions.{name}.", _EDITION_OPTIONS, problems)
        where = spec.line_of if isinstance(spec, yamlio.LineDict) else (lambda key, at=at: at)
        base_url = str(v["base_url"] or "").rstrip("/")
        if v["base_url"] is not None and not _URL_RE.match(base_url):
            problems.error(path, where("base_url"), f"editions.{name}.base_url",
                           t("must be an absolute address with scheme and host, got {value}", value=base_url),
                           _("e.g. http://xc.gaj.zj or https://example.gov.cn (no path: use base_path)"))
        if NOT_ONE_LINE.search(str(v["title_suffix"] or "")):
            problems.error(path, where("title_suffix"), f"editions.{name}.title_suffix",
                           _("must be one line, without line breaks, tabs or other control characters"),
                           _("write it on one line"))
        given = str(v["base_path"] or "/")
        if not _path_ok(given):
            problems.error(path, where("base_path"), f"editions.{name}.base_path",
                           t("must be a path starting with '/' whose folder names are letters, digits, '-', '_', '.' "
                             "or '~', got {value}", value=given), _(_BASE_PATH_ACCEPTED))
        base_path = "/" + given.strip("/") + "/" if given.strip("/") else "/"
        out_dir = _resolved(root / str(v["output_dir"] or ""))
        if v["output_dir"] and (out_dir in used or out_dir == reports_dir or out_dir == root
                                or root.is_relative_to(out_dir)):
            problems.error(path, where("output_dir"), f"editions.{name}.output_dir",
                           t("the edition needs an output folder of its own, not {folder}", folder=out_dir),
                           t("e.g. {example}", example=f"output_dir: public-{name}"))
        used[out_dir] = str(name)
        out.append(Edition(str(name), base_url, base_path, out_dir, str(v["title_suffix"] or ""),
                           bool(v["external"])))
    return tuple(out)


def _p(path: Path, line: int | None, fld: str | None, msg: str, accepted: str | None = None) -> Problem:
    return Problem(str(path), line, fld, msg, accepted)


def _values(path: Path, data: Any, line: int, prefix: str, declared: dict[str, Option],
            problems: Problems) -> dict[str, Any]:
    """Every declared option of one mapping (the config, or its feeds: / sms: section) as its type:
    unknown, duplicate, missing and mistyped options are problems at their own lines."""
    if data is None or data == {}:
        data = yamlio.LineDict()
    if not isinstance(data, dict):
        problems.error(path, line, prefix.rstrip("."),
                       _("must be a mapping of options (lines like 'key: value' indented under it)"),
                       ", ".join(declared))
        data = yamlio.LineDict()
    line_of = data.line_of if isinstance(data, yamlio.LineDict) else (lambda key: line)
    for key, dup_line in getattr(data, "duplicates", ()):
        problems.error(path, dup_line, prefix + str(key), _("this option is given twice"), _("each option once"))
    for key in data:
        if key not in declared:
            problems.error(path, line_of(key), prefix + str(key),
                           _("unknown option '{key}'").format(key=key) + did_you_mean(str(key), declared),
                           ", ".join(declared))
    values: dict[str, Any] = {}
    for key, option in declared.items():
        if key in data:
            value, wrong = typed(option, data[key])
            if wrong:
                problems.error(path, line_of(key), prefix + key, wrong, option.accepted() or None)
            values[key] = value
        elif option.required:
            problems.error(path, None, prefix + key,
                           _("the required option '{key}' is missing ({meaning})").format(key=key,
                                                                                     meaning=_(option.help)),
                           option.accepted() or None)
            values[key] = None
        else:
            values[key] = option.default
    return values


# A site address: scheme and host (letters of any script, digits, '.', '-'; or an IPv6 literal), an
# optional port, nothing else. It is printed into pages, feeds and the sitemap, and the base path into
# the nginx configuration and the withdrawn-address map nginx includes: a quote, ';', a brace or a line
# break in either would write directives there (docs/deploy.md).
_URL_RE = re.compile(r"^https?://(?:[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*|\[[0-9A-Fa-f:.]+\])"
                     r"(?::[0-9]{1,5})?\Z")
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9._~-]+\Z")
_BASE_PATH_ACCEPTED = N_("e.g. / or /publicity/ (letters, digits, '-', '_', '.' and '~' between the slashes)")


def _path_ok(base_path: str) -> bool:
    """A base path: '/', then folder names of letters, digits, '-', '_', '.' and '~' ('.' and '..' are
    not names), each followed by '/' (the last one may be left out)."""
    if not base_path.startswith("/"):
        return False
    names = base_path.strip("/").split("/") if base_path.strip("/") else []
    return "//" not in base_path and all(_SEGMENT_RE.match(n) and n not in (".", "..") for n in names)


def _build(path: Path, data: yamlio.LineDict, problems: Problems,
           output_override: str | Path | None, source_text: str = "") -> SiteConfig | None:
    values = _values(path, data, 1, "", _OPTIONS, problems)
    line = data.line_of

    def text(key: str) -> str:
        return str(values[key] or "")

    base_url = text("base_url").rstrip("/")
    if values["base_url"] is not None and not _URL_RE.match(base_url):
        problems.error(path, line("base_url"), "base_url",
                       _("must be an absolute address with scheme and host, got {value}").format(value=base_url),
                       _("e.g. http://xc.gaj.zj or https://example.gov.cn (no path: use base_path)"))
    for key in ("title", "subtitle", "organisation"):  # (one line: printed into headers, feeds, nginx's comments)
        if NOT_ONE_LINE.search(text(key)):
            problems.error(path, line(key), key, _("must be one line, without line breaks, tabs or other control "
                                                   "characters"), _("write it on one line"))
    base_path = text("base_path") or "/"
    if not _path_ok(base_path):
        problems.error(path, line("base_path"), "base_path",
                       t("must be a path starting with '/' whose folder names are letters, digits, '-', '_', "
                         "'.' or '~', got {value}", value=base_path), _(_BASE_PATH_ACCEPTED))
    base_path = "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"
    language = text("language") or "zh-CN"
    if not i18n.normalise(language):
        problems.error(path, line("language"), "language", _("unknown language {value}").format(value=language),
                       _("zh-CN (Chinese) or en (English)"))

    tz = text("timezone")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        problems.error(path, line("timezone"), "timezone", _("unknown time zone {value}").format(value=tz),
                       _("an IANA name such as Asia/Shanghai"))

    root = path.parent.resolve()
    theme = text("theme") or "default"
    themes_dir = root / "themes"
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", theme) or ".." in theme:
        problems.error(path, line("theme"), "theme",
                       _("the theme name {value} must be the name of a folder under themes/").format(value=theme),
                       _("letters, digits, '-', '_' and '.', e.g. theme: jiangcheng"))
    elif theme != "default" and not (themes_dir / theme).is_dir():
        have = sorted(p.name for p in themes_dir.iterdir() if p.is_dir()) if themes_dir.is_dir() else []
        problems.error(path, line("theme"), "theme",
                       _("there is no theme folder themes/{value}").format(value=theme) + did_you_mean(theme, have),
                       ", ".join(have) or _("a folder under themes/"))
    content_dir = root / text("content_dir")
    if not content_dir.is_dir():
        problems.error(path, line("content_dir"), "content_dir",
                       _("the content folder {folder} does not exist").format(folder=content_dir),
                       _("a folder holding stories/, pages/ and campaigns/"))
    for key, folder in (("content_dir", content_dir), ("theme", themes_dir)):
        real = folder.resolve()  # (root is resolved): a folder, or a link to one, outside the site is refused
        if folder.exists() and not real.is_relative_to(root):
            problems.error(path, line(key), key,
                           _("{name}/ is outside the site folder ({real}): the build only reads what is inside "
                             "the site folder").format(name=folder.name, real=real),
                           _("move it back into the site folder (the folder holding site_config.yaml); do not "
                             "use links or absolute paths"))
    output_dir = _resolved(Path(output_override)) if output_override else root / text("output_dir")
    reports_dir = root / text("reports_dir")
    if output_dir == root or output_dir == content_dir or content_dir.is_relative_to(output_dir) \
            or root.is_relative_to(output_dir):
        problems.error(path, line("output_dir"), "output_dir",
                       _("the output folder {folder} would overwrite the site's sources").format(folder=output_dir),
                       _("a folder of its own, e.g. public"))
    if reports_dir == output_dir or reports_dir.is_relative_to(output_dir) or output_dir.is_relative_to(reports_dir):
        problems.error(path, line("reports_dir"), "reports_dir",
                       _("internal reports must never be written inside the public output (or around it)"),
                       _("a separate folder, e.g. reports"))

    units = _units(path, values["units"], line("units"), problems)
    fields = _fields(path, values["fields"], line("fields"), problems)
    levels = _levels(path, values["levels"], line("levels"), problems)
    feeds = _feeds(path, values["feeds"], line("feeds"), problems, base_url)
    sms = _sms(path, values["sms"], line("sms"), problems)
    quotas = _quotas(path, values["quotas"], line("quotas"), problems)
    deploy = _deploy(path, values["deploy"], line("deploy"), problems)
    images = _images(path, values["images"], line("images"), problems)
    editions = _editions(path, values["editions"], line("editions"), problems, root, output_dir, reports_dir)
    intranet_hosts = tuple(sorted({browser_host(urlsplit(u).hostname or "") for u in [base_url]
                                   + [e.base_url for e in editions if not e.external]} - {""}))
    public_numbers = _public_numbers(path, values["public_numbers"], line("public_numbers"), problems)
    # the config's text goes on every page, feed item or SMS (titles, unit and field names, the
    # source line, the SMS signature…): the same personal-data scan, over every value but the list
    # of public numbers itself
    for key, where, value in _config_texts(data):
        if key == "public_numbers":
            continue
        for found in personal.find(value, frozenset(public_numbers)):
            problems.error(path, where, key,
                           _("the settings contain {what} (not shown here, to protect personal data)").format(
                               what=_(found.label)),
                           _("delete it; list public duty numbers under public_numbers"))

    config = SiteConfig(
        root=root, path=path, title=text("title"), subtitle=text("subtitle"),
        description=text("description"), organisation=text("organisation"),
        base_url=base_url, base_path=base_path, language=language,
        timezone=tz, theme=theme, content_dir=content_dir, output_dir=output_dir,
        reports_dir=reports_dir, themes_dir=themes_dir,
        page_size=values["page_size"], home_latest=values["home_latest"],
        summary_length=values["summary_length"], reading_speed=values["reading_speed"],
        vetting_valid_days=values["vetting_valid_days"],
        units=units, fields=fields, levels=levels, feeds=feeds, sms=sms, quotas=quotas,
        public_numbers=public_numbers, csv_headers=values["csv_headers"], press_contact=text("press_contact"),
        deploy=deploy, images=images,
        editions=editions, intranet_hosts=intranet_hosts,
        listing_style=values["listing_style"], search=values["search"],
        digest=hashlib.blake2b(source_text.encode("utf-8"), digest_size=16).hexdigest(),
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
    example = _('e.g. public_numbers: ["138 0000 1234", 0511-85551234]  (one per public duty line)')
    if not data:
        return ()
    out: list[str] = []
    for item in data:
        digits = normalise_number(item) if isinstance(item, (str, int)) and not isinstance(item, bool) else ""
        if len(digits) < 7:
            problems.error(path, getattr(item, "line", line), "public_numbers",
                           _("'{value}' is not a phone number").format(value=item), example)
            continue
        out.append(digits)
    return tuple(out)


def _units(path: Path, data: Any, line: int, problems: Problems) -> UnitTree:
    units: list[Unit] = []
    seen: dict[str, int] = {}
    unit_options = ("name", "type", "children")

    def walk(mapping: Any, parent: str | None, depth: int, where: int) -> None:
        if not isinstance(mapping, yamlio.LineDict) or not mapping:
            problems.error(path, where, "units", _("must be a mapping of unit keys"),
                           _("e.g. units: {city: {name: 镇江市公安局, children: {...}}}"))
            return
        for key, spec in mapping.items():
            kline = mapping.line_of(key)
            skey = str(key)
            if not KEY_RE.match(skey):
                problems.error(path, kline, f"units.{skey}",
                               _("the unit key '{key}' cannot be used in addresses").format(key=skey),
                               _("lower-case letters, digits and '-', e.g. jingkou or jingkou-dashikou"))
            if skey in seen:
                problems.error(path, kline, f"units.{skey}",
                               _("the unit key '{key}' is used twice (first on line {line})").format(
                                   key=skey, line=seen[skey]),
                               _("every unit key once in the whole tree"))
            seen[skey] = kline
            if isinstance(spec, str):
                spec_d: dict[str, Any] = {"name": spec}
            elif isinstance(spec, dict):
                spec_d = spec
            else:
                problems.error(path, kline, f"units.{skey}",
                               _("must be a display name or {name, type, children}"))
                continue
            for k in spec_d:
                if k not in unit_options:
                    problems.error(path, spec_d.line_of(k) if isinstance(spec_d, yamlio.LineDict) else kline,
                                   f"units.{skey}.{k}",
                                   _("unknown unit option '{key}'").format(key=k) + did_you_mean(str(k), unit_options),
                                   ", ".join(unit_options))
            default_type = ("city", "district", "station")[min(depth, 2)]
            utype = str(spec_d.get("type", default_type))
            if utype not in UNIT_TYPES:
                problems.error(path, kline, f"units.{skey}.type",
                               _("unknown unit type '{value}'").format(value=utype), ", ".join(UNIT_TYPES))
            name = str(spec_d.get("name") or skey)
            units.append(Unit(skey, name, utype, parent, depth))
            if spec_d.get("children"):
                walk(spec_d["children"], skey, depth + 1, kline)

    if data:
        walk(data, None, 0, line)
    return UnitTree(tuple(units))


def _fields(path: Path, data: Any, line: int, problems: Problems) -> tuple[Category, ...]:
    if not data:
        return ()
    out = []
    for i, (key, name) in enumerate(data.items()):
        if not KEY_RE.match(str(key)):
            problems.error(path, data.line_of(key), f"fields.{key}",
                           _("the field key '{key}' cannot be used in addresses").format(key=key),
                           _("lower-case letters, digits and '-', e.g. jiaojing"))
        out.append(Category(str(key), str(name), i))
    return tuple(out)


def _levels(path: Path, data: Any, line: int, problems: Problems) -> tuple[Category, ...]:
    names = dict(LEVELS)
    for key, name in (data or {}).items():
        if key not in names:
            problems.error(path, data.line_of(key), f"levels.{key}",
                           _("unknown level '{key}'").format(key=key) + did_you_mean(str(key), names),
                           ", ".join(names))
        else:
            names[key] = str(name)
    return tuple(Category(k, names[k], i) for i, (k, _name) in enumerate(LEVELS))


def _feeds(path: Path, data: Any, line: int, problems: Problems, base_url: str) -> FeedSettings:
    if isinstance(data, dict) and data.get("tags") in ("*", "all"):
        data["tags"] = ["*"]  # (this load's own copy of the file)
    v = _values(path, data, line, "feeds.", _FEED_OPTIONS, problems)
    at = data.line_of if isinstance(data, yamlio.LineDict) else (lambda key: line)
    fams = v["families"] or []
    for f in fams:
        if f not in FEED_FAMILIES:
            problems.error(path, at("families"), "feeds.families",
                           _("unknown feed family '{value}'").format(value=f) + did_you_mean(str(f), FEED_FAMILIES),
                           ", ".join(FEED_FAMILIES))
    tags = v["tags"] or []
    source = str(v["source"] or "")
    try:
        source.format(organisation="", site="", title="", url="")
    except (KeyError, IndexError, ValueError) as exc:
        problems.error(path, at("source"), "feeds.source",
                       _("the {{…}} in the source line is not right ({error}): only {{organisation}}, {{site}}, "
                         "{{title}} and {{url}} can be used").format(error=f"{type(exc).__name__}: {exc}"),
                       _("e.g. source: 来源：{{organisation}}; to write a brace itself, write {{{{ or }}}}"))
        source = ""
    prefix = str(v["guid_prefix"] or "")
    if not prefix:
        host = re.sub(r"^https?://", "", base_url).split(":")[0] or "localhost"
        prefix = f"tag:{host},2025:"
    elif re.search(r"\s", prefix):
        problems.error(path, at("guid_prefix"), "feeds.guid_prefix", _("must not contain spaces"),
                       _("e.g. tag:xc.gaj.zj,2025:"))
    raw_time = data.get("publish_time") if isinstance(data, dict) else None
    publish = _time_of_day(raw_time if isinstance(raw_time, int) and not isinstance(raw_time, bool)
                           else v["publish_time"])
    if publish is None:
        problems.error(path, at("publish_time"), "feeds.publish_time",
                       _("must be a time of day HH:MM, got {value}").format(value=v["publish_time"]),
                       _('e.g. publish_time: "12:00"'))
        publish = dt.time(12, 0)
    return FeedSettings(tuple(str(f) for f in fams), v["items"], tuple(str(t) for t in tags), source, prefix,
                        v["tombstone_days"], publish)


def _time_of_day(value: Any) -> dt.time | None:
    """HH:MM, or the number of minutes YAML 1.1 makes of an unquoted 12:00 (sexagesimal)."""
    if isinstance(value, int):
        return dt.time(*divmod(value, 60)) if 0 <= value < 24 * 60 else None
    m = re.fullmatch(r"([01]?\d|2[0-3])[:：]([0-5]\d)", str(value).strip())
    return dt.time(int(m.group(1)), int(m.group(2))) if m else None


def _sms(path: Path, data: Any, line: int, problems: Problems) -> SmsSettings:
    v = _values(path, data, line, "sms.", _SMS_OPTIONS, problems)
    at = data.line_of if isinstance(data, yamlio.LineDict) else (lambda key: line)
    sig = str(v["signature"] or "").strip().strip("【】")
    if sig and not 2 <= len(sig) <= 12:
        problems.error(path, at("signature"), "sms.signature",
                       _("the signature must be 2 to 12 characters, got {n}").format(n=len(sig)),
                       _("e.g. 镇江公安 (written without 【】)"))
    if re.search(r"[【】\[\]\s]", sig):
        problems.error(path, at("signature"), "sms.signature",
                       _("the signature must not contain brackets or spaces"),
                       _("e.g. 镇江公安 (the 【】 are added for you)"))
    suffix = str(v["suffix"] or "")
    hidden = NOT_ONE_LINE.search(suffix)
    if hidden is not None:
        problems.error(path, at("suffix"), "sms.suffix",
                       t("holds an invisible {what}: it must be one line", what=control_named(hidden.group())),
                       _("e.g. 回T退订"))
    elif "【" in suffix or "】" in suffix:
        problems.error(path, at("suffix"), "sms.suffix", _("must be one line without 【】"), _("e.g. 回T退订"))
    return SmsSettings(sig, v["write_signature"], v["max_segments"], v["link"], suffix, v["csv_bom"],
                       v["digest_days"], v["counting"])


def _images(path: Path, data: Any, line: int, problems: Problems) -> ImageSettings:
    v = _values(path, data, line, "images.", _IMAGE_OPTIONS, problems)
    at = data.line_of if isinstance(data, yamlio.LineDict) else (lambda key: line)
    widths = v["widths"] or []
    if not widths or not all(isinstance(w, int) and not isinstance(w, bool) and 16 <= w <= 8000 for w in widths):
        problems.error(path, at("widths"), "images.widths", _("must be a list of widths in pixels, each 16 to 8000"),
                       _("e.g. widths: [480, 960, 1600]"))
        widths = list(ImageSettings().widths)
    return ImageSettings(tuple(sorted(set(widths))), v["max_bytes"], v["press_width"], v["quality"],
                         v["webp_quality"], v["press_quality"], v["max_megapixels"])


def _deploy(path: Path, data: Any, line: int, problems: Problems) -> DeploySettings:
    v = _values(path, data, line, "deploy.", _DEPLOY_OPTIONS, problems)
    at = data.line_of if isinstance(data, yamlio.LineDict) else (lambda key: line)
    target, reload = str(v["target"] or ""), str(v["reload"] or "")
    if "\n" in target or target.startswith("-"):
        problems.error(path, at("target"), "deploy.target", _("must be a folder or user@host:/path"),
                       _("e.g. target: /srv/publicity or target: web@xc.jcgaj.intra:/srv/publicity"))
    try:
        shlex.split(reload)
    except ValueError as exc:
        problems.error(path, at("reload"), "deploy.reload",
                       _("the command cannot be read ({error})").format(error=exc),
                       _('e.g. reload: "sudo systemctl reload nginx"'))
    return DeploySettings(target, v["keep"], reload)


def _quotas(path: Path, data: Any, line: int, problems: Problems) -> tuple[Quota, ...]:
    if data is None:
        return _DEFAULT_QUOTAS
    out = []
    levels = dict(LEVELS)
    example = _("e.g. - {unit_type: district, level: city, min: 1}")
    for item in data:
        where = getattr(item, "line", line)
        if not isinstance(item, dict) or set(item) - {"unit_type", "level", "min"}:
            problems.error(path, where, "quotas", _("each quota is {unit_type, level, min}"), example)
            continue
        ut, lv, mn = item.get("unit_type"), item.get("level"), item.get("min", 1)
        if ut not in UNIT_TYPES:
            problems.error(path, where, "quotas.unit_type", _("unknown unit type '{value}'").format(value=ut),
                           ", ".join(UNIT_TYPES))
        if lv not in levels:
            problems.error(path, where, "quotas.level", _("unknown level '{key}'").format(key=lv), ", ".join(levels))
        if isinstance(mn, bool) or not isinstance(mn, int) or mn < 1:
            problems.error(path, where, "quotas.min",
                           _("must be a whole number of at least 1, got {value}").format(value=mn))
            mn = 1
        out.append(Quota(str(ut), str(lv), mn))
    return tuple(out)


def theme_root(config: SiteConfig, folder: Path) -> Path:
    """The folder a theme's files may not lead out of: the site's themes/ for the site's own themes
    (a theme folder linked in from elsewhere counts as leading out), the package for the built-in one."""
    return config.themes_dir if folder.parent == config.themes_dir else folder


def theme_dirs(config: SiteConfig) -> list[Path]:
    """Theme folders, most specific first, without duplicates."""
    candidates = []
    if config.theme != "default":
        candidates.append(config.themes_dir / config.theme)
    candidates += [config.themes_dir / "default", BUILTIN_DEFAULT]
    out: list[Path] = []
    for c in candidates:
        if c.is_dir() and c.resolve() not in [o.resolve() for o in out]:
            out.append(c)
    return out
