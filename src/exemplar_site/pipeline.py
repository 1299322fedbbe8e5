"""build_site(): the stages in order. The only module that knows the order.

config → sources → front matter → records → gate → index → pages / feeds /
SMS → writer. Every problem of the input is collected before anything is
written; with any error, BuildFailed is raised and the output is untouched.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .config import SiteConfig, load_config
from .errors import BuildFailed, Problem, Problems, sort_problems
from .feeds import render_feeds, render_opml
from .feedspec import feed_specs
from .frontmatter import parse
from .gate import GateResult, admit
from .markup import Markup
from .model import HeldBack, Output
from .pages import render_pages
from .records import Records, build_records
from .sms import SmsMessage, in_range, messages, render_sms, sms_outputs
from .sources import Sources, discover
from .taxonomy import SiteIndex, build_index
from .theme import make_environment, site_view, static_files
from .writer import WriteReport, write_file, write_site

_SITE_LINK_RE = re.compile(r'="site:([^"#?]*)')


@dataclass(frozen=True)
class BuildOptions:
    now: dt.datetime  # the one clock reading of a run, injected by the caller; naive = site time zone
    output: Path | None = None
    drafts: bool = False


@dataclass(frozen=True)
class LoadedSite:
    """Everything read and decided, before any rendering."""

    config: SiteConfig
    sources: Sources
    records: Records
    gate: GateResult
    index: SiteIndex
    problems: tuple[Problem, ...]  # warnings only (errors raise)
    options: BuildOptions


@dataclass(frozen=True)
class BuildReport:
    output_dir: Path
    stories_read: int
    public: int
    held: tuple[HeldBack, ...]
    pages: int  # HTML files
    files: int  # all files
    write: WriteReport | None
    warnings: tuple[Problem, ...]
    drafts: bool = False
    extra: dict[str, int] = field(default_factory=dict)


def local_now(options: BuildOptions, config: SiteConfig) -> dt.datetime:
    """The run's clock reading in the site's time zone (a naive --now means site time)."""
    if options.now.tzinfo is None:
        return options.now.replace(tzinfo=config.tz)
    return options.now.astimezone(config.tz)


def load_site(config_path: str | Path, options: BuildOptions) -> LoadedSite:
    config = load_config(config_path, options.output)
    now = local_now(options, config)
    problems = Problems()
    sources = discover(config, problems)
    docs = [d for d in (parse(s, problems) for s in sources.files) if d is not None]
    assets = {a.out_path: a.size for a in sources.assets}
    records = build_records(docs, config, assets, problems)
    markup = Markup(config.base_path)
    gate = admit(records, config, now, markup, problems, drafts=options.drafts)
    index = build_index(gate, config)
    if problems.errors:
        raise BuildFailed(problems.items)
    return LoadedSite(config, sources, records, gate, index, tuple(sort_problems(problems.warnings)), options)


Progress = Callable[[str, int, int], None]  # (stage, done, total)


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def render_site(site: LoadedSite, progress: Progress = _no_progress) -> tuple[list[Output], list[Problem]]:
    """All output files of the public site, and the problems rendering found (errors included)."""
    config, index = site.config, site.index
    problems = Problems()
    env = make_environment(config)
    view = site_view(config, site.options.drafts)
    specs = feed_specs(index, config)
    outputs = render_pages(env, config, index, view, specs, lambda done, total: progress("pages", done, total))
    progress("feeds", 0, len(specs))
    outputs += render_feeds(specs, index, config, problems)
    outputs += render_opml(specs, config)
    progress("sms", 0, 1)
    outputs += render_sms(site.gate.public, config, problems)
    outputs += [Output(path, source=src) for path, src in static_files(config).items()]
    outputs += _assets(site, outputs)
    return outputs, problems.items


def _assets(site: LoadedSite, outputs: list[Output]) -> list[Output]:
    """Copy only the media that public pages use: a held-back story's photos stay home."""
    used: set[str] = set()
    for s in site.gate.stories:
        used.update(i.src for i in s.images)
        used.update(_SITE_LINK_RE.findall(s.body_html))
    for p in site.gate.pages:
        used.update(_SITE_LINK_RE.findall(p.body_html))
    for c in site.gate.campaigns:
        used.update(_SITE_LINK_RE.findall(c.body_html))
    produced = {o.path for o in outputs}
    return [Output(a.out_path, source=a.source) for a in site.sources.assets
            if a.out_path in used and a.out_path not in produced]


def withdrawn_map_path(config: SiteConfig) -> Path:
    """Beside the output folder, not in it: the list of withdrawn addresses is not published."""
    return config.output_dir.parent / f"{config.output_dir.name}-withdrawn.map"


def withdrawn_map(site: LoadedSite) -> bytes:
    """nginx `map` entries for every withdrawn story's old address, to answer them with 410."""
    lines = ["# Written by exemplar-site: withdrawn stories' addresses. Include it in an nginx map (README)."]
    for w in site.index.withdrawn:
        path = site.config.base_path + w.url
        lines += [f"{path} 1;", f"{path}index.html 1;"]
    return ("\n".join(lines) + "\n").encode("utf-8")


def build_site(config_path: str | Path, options: BuildOptions, progress: Progress = _no_progress) -> BuildReport:
    progress("reading", 0, 1)
    site = load_site(config_path, options)
    outputs, problems = render_site(site, progress)
    if any(p.is_error for p in problems):
        raise BuildFailed(problems + list(site.problems))
    warnings = problems
    progress("writing", 0, len(outputs))
    report = write_site(outputs, site.config.output_dir)
    write_file(withdrawn_map_path(site.config), withdrawn_map(site))
    return BuildReport(
        output_dir=site.config.output_dir,
        stories_read=len(site.records.stories),
        public=len(site.gate.public),
        held=site.gate.held,
        pages=sum(1 for o in outputs if o.path.endswith(".html")),
        files=len(outputs),
        write=report,
        warnings=tuple(sort_problems(list(site.problems) + warnings)),
        drafts=options.drafts,
    )


@dataclass(frozen=True)
class SmsExport:
    output_dir: Path
    since: dt.date
    until: dt.date
    messages: tuple[SmsMessage, ...]  # every public story
    digest: tuple[SmsMessage, ...]  # those in [since, until], oldest first
    warnings: tuple[Problem, ...]


def export_sms(config_path: str | Path, options: BuildOptions, since: dt.date | None, until: dt.date | None,
               output: Path | None = None) -> SmsExport:
    """`build.py sms`: the SMS files for a date range, on their own, written atomically."""
    site = load_site(config_path, options)
    config = site.config
    problems = Problems()
    msgs = messages(site.gate.public, config, problems)
    if problems.errors:
        raise BuildFailed(problems.items)
    today = local_now(options, config).date()
    until = until or today
    since = since or until - dt.timedelta(days=config.sms.digest_days - 1)
    if since > until:
        raise BuildFailed([Problem("--since", None, None, f"--since {since} is after --until {until}",
                                   "a start date on or before the end date")])
    target = output.resolve() if output else config.root / "sms-export"
    write_site(sms_outputs(msgs, config, since, until, prefix=""), target)
    return SmsExport(target, since, until, tuple(msgs), tuple(in_range(msgs, since, until)),
                     tuple(sort_problems(list(site.problems) + problems.warnings)))
