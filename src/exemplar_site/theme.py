"""Theme lookup and the Jinja environment.

Lookup order for a template or static file:
  1. themes/<theme>/            (the site's chosen theme, if not "default")
  2. themes/default/            (the site's own copy of the default theme, if any)
  3. the default theme shipped with this project
A theme template can extend the one it replaces with
`{% extends "default/base.html" %}`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup as Safe

from . import urls
from .config import SiteConfig

BUILTIN_DEFAULT = Path(__file__).resolve().parents[2] / "themes" / "default"
WEEKDAYS = "一二三四五六日"


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


def static_files(config: SiteConfig) -> dict[str, Path]:
    """Output path (static/...) → source file; a site theme's file wins."""
    found: dict[str, Path] = {}
    for folder in reversed(theme_dirs(config)):
        static = folder / "static"
        if not static.is_dir():
            continue
        for path in sorted(static.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                found["static/" + path.relative_to(static).as_posix()] = path
    return dict(sorted(found.items()))


def templates_digest(config: SiteConfig) -> str:
    """Hash of every template the site can use (part of each page's cache key)."""
    h = hashlib.blake2b(digest_size=16)
    for folder in theme_dirs(config):
        for path in sorted((folder / "templates").rglob("*")):
            if path.is_file():
                h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def date_cn(value: dt.date | dt.datetime | None, with_weekday: bool = False) -> str:
    if value is None:
        return ""
    text = f"{value.year}年{value.month}月{value.day}日"
    if with_weekday:
        text += f" 星期{WEEKDAYS[value.weekday()]}"
    return text


@jinja2.pass_context
def _rel(context: Any, path: str) -> str:
    """Link from the page being rendered to a site path.

    Relative by default; pages served at any depth (404.html) get links from
    `link_base` (the base_path) instead.
    """
    base = context.get("link_base")
    if base:
        return base + path
    mark = context.get("root_mark")
    if mark:  # a fragment reused at several depths: the caller puts the way up in place of the mark
        return mark + urls.relative("", path)
    return urls.relative(context["page_path"], path)


@jinja2.pass_context
def _site_links(context: Any, fragment: str) -> Safe:
    """Turn a body's site: links into links relative to the current page."""
    here, base, mark = context["page_path"], context.get("link_base"), context.get("root_mark")
    if base:
        return Safe(urls.rewrite_site_links(fragment, lambda p: base + p))
    if mark:
        return Safe(urls.rewrite_site_links(fragment, lambda p: mark + urls.relative("", p)))
    return Safe(urls.rewrite_site_links(fragment, lambda p: urls.relative(here, p)))


def _abs(path: str, site_url: str) -> str:
    return urls.absolute(site_url, path)


def make_environment(config: SiteConfig) -> jinja2.Environment:
    dirs = theme_dirs(config)
    default_dir = dirs[-1]
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader([str(d / "templates") for d in dirs]),
        jinja2.PrefixLoader({"default": jinja2.FileSystemLoader(str(default_dir / "templates"))}),
    ])
    env = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["rel"] = _rel
    env.filters["site_links"] = _site_links
    env.filters["date_cn"] = date_cn
    env.filters["abs"] = lambda path: _abs(path, config.site_url)
    return env


@dataclass(frozen=True)
class SiteView:
    """Site-wide values every template sees as `site`."""

    title: str
    subtitle: str
    description: str
    organisation: str
    language: str
    base_path: str
    url: str  # absolute site URL
    drafts: bool


def site_view(config: SiteConfig, drafts: bool) -> SiteView:
    return SiteView(config.title, config.subtitle, config.description, config.organisation,
                    config.language, config.base_path, config.site_url, drafts)
