"""Theme lookup and the Jinja environment.

Lookup order for a template or static file:
  1. themes/<theme>/            (the site's chosen theme, if not "default")
  2. themes/default/            (the site's own copy of the default theme, if any)
  3. the default theme shipped inside this package (exemplar_site/themes/default/)
A theme template can extend the one it replaces with
`{% extends "default/base.html" %}`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import types
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import jinja2
import jinja2.bccache
import jinja2.meta
import jinja2.runtime
import jinja2.sandbox
import jinja2.utils
from jinja2.utils import missing
from markupsafe import Markup as Safe

from . import personal, safetree, urls
from .config import BUILTIN_DEFAULT as BUILTIN_DEFAULT  # (re-exported: where the default theme is)
from .config import SiteConfig, theme_root
from .config import theme_dirs as theme_dirs
from .errors import Problem
from .i18n import _, t
from .images import is_raster, metadata_in

WEEKDAYS = "一二三四五六日"


def static_files(config: SiteConfig) -> dict[str, Path]:
    """Output path (static/...) → source file; a site theme's file wins. Links out of a theme
    folder are left out here and reported by `theme_problems`."""
    found: dict[str, Path] = {}
    for folder in reversed(theme_dirs(config)):
        static = folder / "static"
        if not static.is_dir():
            continue
        files, _ = safetree.walk(str(static), str(theme_root(config, folder)), lambda name: name.startswith("."))
        for f in files:
            found["static/" + Path(f.path).relative_to(static).as_posix()] = Path(f.path)
    return dict(sorted(found.items()))


def theme_problems(config: SiteConfig) -> list[Problem]:
    """Links in a theme folder that lead out of it (or nowhere, or in a loop): a template or
    static file must be the theme's own, never a server file reached through a link. And what a
    site's own theme would publish as it is (its templates' text, its static files): personal data
    in its text (as in a story's: `public_numbers` lists the duty numbers that may appear), and
    metadata in its images (copied, not re-encoded as a story's photos are). (The built-in theme is
    the package's own.)"""
    problems: list[Problem] = []
    allowed = frozenset(config.public_numbers)
    for folder in theme_dirs(config):
        files, found = safetree.walk(str(folder), str(theme_root(config, folder)), shown_base=str(config.root))
        problems.extend(found)
        if folder.resolve() != BUILTIN_DEFAULT:
            for f in files:
                if Path(f.path).relative_to(folder).parts[0] in ("templates", "static"):
                    problems.extend(_published_data(f.path, safetree.shown(f.path, str(config.root)), allowed))
    return problems


_TEXT_SUFFIXES = frozenset({".html", ".htm", ".xml", ".txt", ".css", ".js", ".json", ".csv", ".md", ".svg"})


def _published_data(path: str, shown: str, allowed: frozenset[str]) -> list[Problem]:
    """Personal data in a theme file's text, or metadata in its image, each as an error."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in _TEXT_SUFFIXES and not is_raster(path):
        return []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []  # (the build that copies it says why it cannot)
    if is_raster(path):
        blocks = metadata_in(data)
        # TRANSLATORS: 原文：主题里的图片带有 {found}，会原样发布出去
        # （主题文件是直接复制的，不会像稿件照片那样重新压缩）
        return [Problem(shown, None, None, t("this theme image holds {found}: it would be published as it is (a "
                                             "theme's files are copied, not re-encoded as a story's photos are)",
                                             found=", ".join(blocks)),
                        # TRANSLATORS: 原文：把图片另存一份不带这些信息的（例如用“导出为网页格式”），替换这个文件
                        _("save the picture again without that information (e.g. 'export for web') and "
                          "replace this file"))] if blocks else []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return []  # (not text: nothing to read in it)
    if not personal.find(text, allowed):
        return []
    lines = text.split("\n")
    out = []
    for message in dict.fromkeys(personal.describe(personal.find(text, allowed))):
        line = next((i for i, x in enumerate(lines, 1) if message in personal.describe(personal.find(x, allowed))),
                    None)
        out.append(Problem(shown, line, None, message,
                           # TRANSLATORS: 原文：从主题文件里删掉它；可以公开的值班电话，
                           # 写在 site_config.yaml 的 public_numbers 里
                           _("delete it from the theme's file; list public duty numbers under public_numbers in "
                             "site_config.yaml")))
    return out


def template_digests(env: jinja2.Environment, names: tuple[str, ...], also: tuple[str, ...] = ()) -> dict[str, str]:
    """For each template, a hash of it and every template it extends, includes or imports (as the
    loader finds them now: a theme's override counts), and of `also` (used from Python, e.g. the
    card). A page's key names its own template's, so editing story.html re-renders story pages only.
    A template naming another by an expression (which cannot be followed) counts as using them all.
    The result depends on nothing but `sources_digest(env)`, `names` and `also`."""
    def closure(roots: tuple[str, ...]) -> list[tuple[str, str]]:
        seen: dict[str, str] = {}
        todo = list(roots)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            try:
                source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
            except jinja2.TemplateNotFound:
                seen[name] = "\0missing"
                continue
            seen[name] = source
            try:
                refs = list(jinja2.meta.find_referenced_templates(env.parse(source)))
            except jinja2.TemplateSyntaxError:
                continue  # rendering reports it
            if any(r is None for r in refs):
                return [("*", everything)]
            todo += [r for r in refs if r is not None]
        return sorted(seen.items())

    everything = sources_digest(env)
    out = {}
    for name in names:
        h = hashlib.blake2b(repr(closure((name, *also))).encode("utf-8"), digest_size=16)
        out[name] = h.hexdigest()
    return out


def sources_digest(env: jinja2.Environment) -> str:
    """A hash of every template the environment can load, by name."""
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(env.list_templates()):
        try:
            source = env.loader.get_source(env, name)[0].encode()  # type: ignore[union-attr]
        except (UnicodeDecodeError, jinja2.TemplateNotFound):  # (Thumbs.db, a GBK file: only a template
            source = b"\0unreadable"  # that uses it fails, with its own message)
        h.update(name.encode() + b"\0" + source + b"\0")
    return h.hexdigest()


def date_cn(value: dt.date | dt.datetime | None, with_weekday: bool = False) -> str:
    if value is None:
        return ""
    text = f"{value.year}年{value.month}月{value.day}日"
    if with_weekday:
        text += f" 星期{WEEKDAYS[value.weekday()]}"
    return text


def _page_var(context: Any, name: str) -> Any:
    """A variable of the page (link_base, root_mark), None when it is not set. (As context.get,
    without the KeyError it raises inside for a variable most pages do not set: the `rel` filter
    runs some fifty times a page. Any value set is returned as it is, an undefined one included,
    so that a theme's mistake fails the build as before.)"""
    value = context.resolve_or_missing(name)
    return None if value is missing else value


@jinja2.pass_context
def _rel(context: Any, path: str) -> str:
    """Link from the page being rendered to a site path.

    Relative by default; pages served at any depth (404.html) get links from
    `link_base` (the base_path) instead.
    """
    base: str | None = _page_var(context, "link_base")
    if base:
        return base + path
    mark: str | None = _page_var(context, "root_mark")
    if mark:  # a fragment reused at several depths: the caller puts the way up in place of the mark
        return mark + urls.relative("", path)
    return urls.relative(context["page_path"], path)


@jinja2.pass_context
def _site_links(context: Any, fragment: str) -> Safe:
    """Turn a body's site: links into links relative to the current page."""
    here, base, mark = context["page_path"], _page_var(context, "link_base"), _page_var(context, "root_mark")
    if base:
        return Safe(urls.rewrite_site_links(fragment, lambda p: base + p))
    if mark:
        return Safe(urls.rewrite_site_links(fragment, lambda p: mark + urls.relative("", p)))
    return Safe(urls.rewrite_site_links(fragment, lambda p: urls.relative(here, p)))


_ID_ATTR_RE = re.compile(r'\b(id|href)="(#?)([^"]*)"')


def scope_ids(fragment: str, prefix: str) -> Safe:
    """A body's own ids (footnotes, headings) and the in-page links to them, prefixed, so that
    several bodies can stand on one page (the campaign booklet) without two elements sharing an id."""
    def fix(m: re.Match[str]) -> str:
        attr, hash_, value = m.groups()
        if attr == "id":
            return f'id="{prefix}{value}"'
        return f'href="#{prefix}{value}"' if hash_ else m.group(0)

    return Safe(_ID_ATTR_RE.sub(fix, str(fragment)))


def _abs(path: str, site_url: str) -> str:
    return urls.absolute(site_url, path)


class _Sandbox(jinja2.sandbox.SandboxedEnvironment):
    """Jinja's sandbox, and no file operations: a path a template is given (the config's folders,
    in the leaders' report) shows its name and no more: its methods read, write and list files.

    As fast as it can be made: each attribute's verdict depends on the object's class and the
    attribute's name only (Jinja's `is_internal_attribute` and the checks here look at nothing
    else), so it is decided once per pair (each time for an object whose `__class__` is not its
    type, a proxy: `isinstance` believes `__class__`); and a macro of the theme's own is called
    without asking whether it is safe to call (no template can mark one unsafe). Pages rendered in the
    stock sandbox took ~1.9 times as long as without it; with this, ~1.1 times (docs/performance.md)."""

    _PATH_ATTRIBUTES = frozenset({"name", "stem", "suffix", "suffixes", "parts", "as_posix"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._verdicts: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        kind = type(obj)
        if obj.__class__ is not kind:  # (a proxy, say: isinstance reads __class__; decided each time)
            return self._decide(obj, attr, value)
        key = (kind, attr)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = self._decide(obj, attr, value)
        return verdict

    def _decide(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, PurePath) and attr not in self._PATH_ATTRIBUTES:
            return False
        if isinstance(obj, (os.DirEntry, io.IOBase)):
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Jinja's own, with its `str.format` test only for what may be a method (its type says
        so, or its `__class__` is not its type: a proxy), the attribute read once, and the verdict
        looked up here (is_safe_attribute, without its call: the commonest operation of a page)."""
        try:
            value = getattr(obj, attribute)
        except AttributeError:
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                return self.undefined(obj=obj, name=attribute)
        kind = type(value)
        if kind is types.MethodType or kind is types.BuiltinMethodType or value.__class__ is not kind:
            wrapped = self.wrap_str_format(value)
            if wrapped is not None:
                return wrapped
        owner = type(obj)
        verdict = self._verdicts.get((owner, attribute)) if obj.__class__ is owner else None
        if verdict is None:
            verdict = self.is_safe_attribute(obj, attribute, value)
        if verdict:
            return value
        return self.unsafe_undefined(obj, attribute)

    # (the double underscores, as in Jinja: a call may pass its own `self`, `context` or `obj`)
    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any,
             **kwargs: Any) -> Any:
        if type(__obj) is jinja2.runtime.Macro:
            if not _MACRO_TAKES_EVAL_CONTEXT:
                return __context.call(__obj, *args, **kwargs)
            # what Context.call does for a macro, without its questions (a macro's __call__ takes
            # the evaluation context first; the variables of a loop or block are not passed on)
            if kwargs:
                kwargs.pop("_block_vars", None)
                kwargs.pop("_loop_vars", None)
            try:
                return __obj(__context.eval_ctx, *args, **kwargs)
            except StopIteration:
                return __context.environment.undefined(
                    "value was undefined because a callable raised a StopIteration exception")
        return super().call(__context, __obj, *args, **kwargs)


# Context.call gives a macro the evaluation context first (Jinja 3.x marks Macro.__call__ with
# pass_eval_context); _Sandbox.call does the same itself only while that holds.
_MACRO_TAKES_EVAL_CONTEXT = (
    jinja2.utils._PassArg.from_obj(jinja2.runtime.Macro.__call__) is jinja2.utils._PassArg.eval_context
    and jinja2.utils._PassArg.from_obj(jinja2.runtime.Macro) is None)


def make_environment(config: SiteConfig, bytecode_cache: jinja2.BytecodeCache | None = None) -> jinja2.Environment:
    """The theme's Jinja environment (`bytecode_cache`: Jinja's own hook for compiled templates).

    Sandboxed: a template reaches the public objects it is given and nothing else. Without it,
    `{{ lipsum.__globals__.os.popen(...) }}` or `{{ ''.__class__.__mro__ }}` in a theme (one
    passed on from another office, say) could read any file, a story's private block included,
    and print it into every page. Attributes that start with `_`, Python's internals and a path's
    file operations (`config.root.joinpath(…).read_text()` in a report) are refused with an error
    naming the template and line. (`_Sandbox` says what it costs.)"""
    dirs = theme_dirs(config)
    default_dir = dirs[-1]
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader([str(d / "templates") for d in dirs]),
        jinja2.PrefixLoader({"default": jinja2.FileSystemLoader(str(default_dir / "templates"))}),
    ])
    env = _Sandbox(
        loader=loader,
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=bytecode_cache,
        # an environment serves one build (or one preview after it): a template compiled when a page
        # first uses it is not looked at again (the default stats each template file, some eight
        # times a page, whenever a page imports or extends it)
        auto_reload=False,
    )
    env.filters["rel"] = _rel
    env.filters["site_links"] = _site_links
    env.filters["date_cn"] = date_cn
    env.filters["scope_ids"] = scope_ids
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
    listing_style: str = "cards"  # listing pages: cards, or list (dense titles and dates)
    search: bool = True  # site search (the `search` option): the header's box leads to it


def site_view(config: SiteConfig, drafts: bool) -> SiteView:
    return SiteView(config.title, config.subtitle, config.description, config.organisation,
                    config.language, config.base_path, config.site_url, drafts, config.listing_style, config.search)
