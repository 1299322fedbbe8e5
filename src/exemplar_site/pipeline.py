"""build_site(): the stages in order. The only module that knows the order.

config → sources → front matter → records → gate → index → pages / feeds /
SMS → writer. Every problem of the input is collected before anything is
written; with any error, BuildFailed is raised and the output is untouched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import posixpath
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import jinja2

from . import media, nochange, urls
from .cache import (
    BodyMissing,
    BuildCache,
    BuildState,
    Scrub,
    cache_path,
    load_state,
    save_state,
    state_path,
)
from .config import SiteConfig, load_config
from .errors import BuildFailed, Problem, Problems, sort_problems
from .feeds import FeedParts, feed_jobs, feed_parts, feed_size_warnings, render_opml
from .feedspec import FeedSpec, feed_specs
from .frontmatter import cacheable as doc_cacheable
from .frontmatter import parse
from .gate import decide, decide_all, finish, first_expiry, next_change, public_story, render_body, story_links
from .i18n import _, t
from .images import is_raster, metadata_in
from .imagestore import ImageStore, store_path
from .incremental import Incremental, compiled_cache, feed_entries_made
from .jobs import Job, ready
from .manifest import load_manifest
from .markup import Markup
from .mediameta import ISO_SUFFIXES
from .model import GateResult, Output
from .outguard import unreachable
from .pages import CARD, TEMPLATES, PagePlan, page_plan, story_page
from .parallel import Spawned, WorkerDied, default_workers, run_map
from .records import Records, story_record
from .records import cacheable as records_cacheable
from .runs import BuildOptions as BuildOptions  # (re-exported: callers and tests import them from here)
from .runs import BuildReport as BuildReport
from .runs import WriteReport, local_now
from .sms import SmsMessage, in_range, messages, sms_files, sms_outputs
from .sources import Asset, SourceFile, discover, display_path
from .sources import read as read_source
from .taxonomy import SiteIndex, build_index, related_key
from .theme import make_environment, site_view, static_files, template_digests, theme_problems
from .urls import file_of
from .writer import (
    INTERNAL,
    PUBLIC,
    SMS,
    Staging,
    after_swap,
    check_paths,
    check_target,
    drafts_folder,
    exclusive,
    failed_writes,
    late_problem,
    unchanged,
    write_file,
    write_site,
)

# what is stored beside the output of a record and of front matter: never their private block
_SCRUB: Scrub = {"records": records_cacheable, "docs": doc_cacheable}


@dataclass(frozen=True)
class LoadedSite:
    """Everything read and decided, before any rendering."""

    config: SiteConfig
    assets: tuple[Asset, ...]
    records: Records
    gate: GateResult
    index: SiteIndex
    problems: tuple[Problem, ...]  # warnings only (errors raise)
    options: BuildOptions
    media: dict[str, Path] = field(default_factory=dict)  # published image path → its file in the image store
    image_work: int = 0  # images processed by this build (the rest came from the store)
    attachments: tuple[Asset, ...] = ()  # the other files of the media folders public output uses (checked)


Progress = Callable[[str, int, int], None]  # (stage, done, total)


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def _workers(options: BuildOptions) -> int:
    return default_workers() if options.workers == 0 else max(1, options.workers)


def load_site(config_path: str | Path, options: BuildOptions, cache: BuildCache | None = None,
              strict: bool = True, stats: Mapping[str, os.stat_result] | None = None) -> LoadedSite:
    """Read, validate and decide: the stages up to the index, in order, through the incremental
    layer (incremental.py), which reuses what earlier builds made from the same inputs.
    Any error raises BuildFailed; with strict=False (for `check`, which writes nothing) the site
    is returned with the errors among its problems, as far as it could be loaded. `stats`: the
    source files' stats this run has taken already (nochange.Taken), by path."""
    config = load_config(config_path, options.output, options.edition)
    with workers_watched(config):
        return _load_site(config, options, cache, strict, stats)


def _load_site(config: SiteConfig, options: BuildOptions, cache: BuildCache | None, strict: bool,
               stats: Mapping[str, os.stat_result] | None = None) -> LoadedSite:
    now = local_now(options, config)
    problems = Problems()
    layer = Incremental(cache or BuildCache(None), config, _workers(options))
    sources = discover(config, problems, stats)
    problems.extend(theme_problems(config))
    assets = {a.out_path: a.size for a in sources.assets}
    records = layer.records(layer.read(sources, problems), assets, problems)
    decisions = decide_all(records, config, now, problems, options.drafts, layer.slugify)
    stories = layer.publish(decisions, problems)
    gate = finish(records, decisions, stories, config, layer.markup, problems, line_in=layer.line_in)
    layer.related_private(records, gate, problems)
    gate, published, image_work = _media(config, gate, sources.assets, layer, problems)
    attachments = media.attached_files(gate, sources.assets)
    layer.attachments(attachments, problems)
    key = related_key(gate)
    index = build_index(gate, config, layer.related(key))
    layer.remember_related(key, index)
    if problems.errors and strict:
        raise BuildFailed(problems.items)
    layer.finish()
    problems.extend(layer.cache.take_notices())
    return LoadedSite(config, sources.assets, records, gate, index,
                      tuple(sort_problems(problems.warnings if strict else problems.items)), options,
                      published, image_work, attachments)


def _media(config: SiteConfig, gate: GateResult, assets: tuple[Asset, ...], layer: Incremental,
           problems: Problems) -> tuple[GateResult, dict[str, Path], int]:
    """Every raster image public output uses, re-encoded (images.py, through the store and the
    incremental layer) and joined to the public objects (media.py); its problems at the line
    of each reference. → (the gate's result with its images, published path → store file, images
    processed now)."""
    per_story = layer.story_media(gate, problems)
    refs = media.references(gate, per_story)
    by_path = {a.out_path: a for a in assets}
    wanted = {src: by_path[src].source for src in refs if src in by_path}
    store = ImageStore(store_path(config.output_dir))
    made, bad, work = layer.images(wanted, config.images, store)
    for src, (code, detail) in sorted(bad.items()):
        message, accepted = media.bad_image(src, code, detail)
        for source, needle in refs[src]:
            problems.error(source, layer.line_in(source, needle), "images", message, accepted)
    published = {src: media.published_files(src, p) for src, (_key, p) in made.items()}
    table = {src: media.web_image(src, key, p, published[src]) for src, (key, p) in made.items()}
    notes = {src: p.notes for src, (_, p) in made.items()}
    sizes = {src: a.size for src, a in by_path.items()}
    for n in media.notices(gate, sizes, table, notes, config.images.max_bytes, refs, per_story):
        (problems.error if n.error else problems.warning)(
            n.source, layer.line_in(n.source, n.needle), "images", n.message, n.accepted)
    gate = layer.attach(gate, table, per_story, problems)
    files: dict[str, Path] = {}
    for src, (key, _made) in made.items():
        folder = store.folder(key)
        for path, m in published[src].items():
            files[path] = folder / m.name
    press = {src: store.file(key, media.press_file(p).name) for src, (key, p) in made.items()}
    for s in gate.stories:
        if s.press is not None and s.images and s.images[0].src in press:
            files[s.press.path] = press[s.images[0].src]
    return gate, files, work


class SiteJobs(NamedTuple):
    jobs: list[Job]  # every output of the public site, keyed (nothing rendered yet but the cheap ones)
    specs: tuple[FeedSpec, ...]  # the feed table
    recipes: int  # how many of the jobs, first, are the page plan's recipes (in its order: spawned
    # workers make them again by their number, `_spawned_puts`)
    parts: FeedParts  # the feeds' entries, made as the feed jobs need them (or given: Incremental.feed_entries)


def site_jobs(site: LoadedSite, problems: Problems, layer: Incremental | None = None) -> SiteJobs:
    """Every output of the public site as a keyed Job, and what goes with them (`SiteJobs`).
    With the incremental layer, compiled templates, template digests and SMS messages of
    earlier builds are reused."""
    config, index = site.config, site.index
    env = make_environment(config, layer.bytecode() if layer else None)
    view = site_view(config, site.options.drafts)
    specs = feed_specs(index, config)
    tpl = layer.template_digests(env, TEMPLATES, CARD) if layer else template_digests(env, TEMPLATES, CARD)
    plan = page_plan(env, config, index, view, specs, tpl)
    recipes = len(plan.recipes)
    if layer:  # the keys of pages whose inputs are as they were are the last build's
        jobs = layer.page_jobs(plan, index, specs)
    else:  # (as pages.page_jobs)
        jobs = [plan.keyed(make())[0] for _, make in plan.recipes] + plan.extra
    parts = feed_parts(index, config)
    jobs += feed_jobs(specs, index, config, parts, local_now(site.options, config))
    if config.search:  # (site search: the page and its index files; none with `search: false`)
        from .search import search_docs, search_jobs
        if layer:  # each document's tokens, and shards no document of which changed, are the last build's
            docs = search_docs(index)
            jobs += search_jobs(env, config, index, view, specs, (docs, layer.search_shards(docs)),
                                kept=layer.kept_shard)
        else:
            jobs += search_jobs(env, config, index, view, specs, workers=_workers(site.options))
    jobs += ready(render_opml(specs, config))
    public = site.gate.public
    jobs += layer.sms_jobs(public, problems) if layer else ready(sms_files(messages(public, config, problems), config))
    jobs += ready([Output(path, source=src) for path, src in static_files(config).items()])
    jobs += [_verified(job) for job in ready([Output(p, source=f) for p, f in sorted(site.media.items())])]
    jobs += ready(_assets(site, {j.path for j in jobs}))
    return SiteJobs(jobs, specs, recipes, parts)


def render_site(site: LoadedSite) -> tuple[list[Output], list[Problem]]:
    """All output files of the public site, rendered now in memory (for `check`), and the problems found."""
    problems = Problems()
    try:
        jobs, specs, _, _ = site_jobs(site, problems)
        outputs = [make(job) for job in jobs]
    except TemplateFailed as failed:
        raise BuildFailed([failed.problem(), *problems.items]) from None
    except jinja2.TemplateError as exc:
        raise BuildFailed([template_problem(exc), *problems.items]) from None
    feed_size_warnings({o.path: len(o.data or b"") for o in outputs}, specs, site.config, problems)
    return outputs, problems.items


def _assets(site: LoadedSite, produced: set[str]) -> list[Output]:
    """Copy only the media that public pages use: a held-back story's photos stay home."""
    # (photos are re-encoded, never copied: with no other file in the media folders — a site of
    # photos only, the benchmark's corpora — no body is looked into: 10,000 of them took 50–100 ms
    # of every build, a one-story edit's included)
    # (a video's or sound file's metadata, where it was filmed above all, is cleared in the copy)
    return [Output(a.out_path, source=a.source, clear=posixpath.splitext(a.out_path)[1].lower() in ISO_SUFFIXES)
            for a in site.attachments if a.out_path not in produced]


class ImageLeak(Exception):
    """An image about to be published holds metadata (images.metadata_in): the build stops."""

    def __init__(self, path: str, found: list[str]):
        super().__init__(path, found)
        self.path, self.found = path, found

    def problem(self) -> Problem:
        return Problem(self.path, None, None,
                       t("the published image {path} still holds {found}: nothing was published",
                         path=self.path, found=", ".join(self.found)),
                       _("report this as a bug of exemplar-site; delete the image store beside the output "
                         "folder and build again"))


def _verified(job: Job) -> Job:
    """The safety net: whatever made an image file, its bytes are read back before it is written,
    and metadata in them stops the build."""
    def make() -> Output:
        out = job.make()
        data = out.data if out.data is not None else out.source.read_bytes() if out.source else b""
        found = metadata_in(data)
        if found:
            raise ImageLeak(job.path, found)
        return out
    return Job(job.path, job.key, make, job.rekey)  # (as dataclasses.replace, a tenth of its cost)


def verify_images(target: Path, paths: list[str]) -> list[Problem]:
    """The end of every build that wrote images: each one written is read back from the tree it was
    written into (the twin, before it is swapped in)."""
    out = []
    for path in paths:
        try:
            found = metadata_in((target / path).read_bytes())
        except OSError:
            continue
        if found:
            out.append(ImageLeak(path, found).problem())
    return out


def last_build_times(output_dir: Path) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(built_at, valid_until) of the last successful build into `output_dir`, each None where it is
    not known: the `now` it was built as of, and the first moment after it at which a story it
    published stops being public by the clock alone (gate.first_expiry: its vetting runs out)."""
    state = load_state(state_path(output_dir))
    return (state.built_at, state.unsafe_after) if state is not None else (None, None)


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


def build_site(config_path: str | Path, options: BuildOptions, progress: Progress = _no_progress,
               memory: BuildCache | None = None, loaded: Callable[[LoadedSite], None] | None = None,
               taken: nochange.Taken | None = None) -> BuildReport:
    """Load, decide, render what changed, write atomically. Raises BuildFailed before writing on any error.

    `memory`: a cache kept in memory between builds by a long-running caller (serve),
    instead of the one stored beside the output; `loaded` is then given the site
    that was built. `taken`: the input signature (and the files' stats) this run already took for
    this public build (nochange.skipped_build); taken before anything is read, it is never newer
    than the inputs.
    """
    config = load_config(config_path, options.output, options.edition)
    if options.drafts:  # never into the public output: a preview folder of its own (<output_dir>-drafts)
        public = load_config(config_path, None, options.edition).output_dir if options.output else config.output_dir
        options = dataclasses.replace(options, output=drafts_folder(public, options.output))
        config = load_config(config_path, options.output, options.edition)
    dead = unreachable(config.output_dir, "--output" if options.output else "output_dir")
    if dead is not None:  # (refused before the lock or anything else is written beside it)
        raise BuildFailed([dead])
    with exclusive(config.output_dir), failed_writes(config.output_dir), workers_watched(config):
        try:
            return _build(config_path, config, options, progress, memory, loaded,
                          None if options.drafts else taken)
        except TemplateFailed as failed:
            raise BuildFailed([failed.problem()]) from None
        except jinja2.TemplateError as exc:  # a template that cannot even be compiled
            raise BuildFailed([template_problem(exc)]) from None
        except ImageLeak as leak:
            raise BuildFailed([leak.problem()]) from None
        except BodyMissing as missing:  # (the cache dropped the file it names: the next build does without)
            raise BuildFailed([missing.problem()]) from None


@contextlib.contextmanager
def workers_watched(config: SiteConfig) -> Iterator[None]:
    """A worker that died (parallel.WorkerDied, whose own text is for developers) as the error a
    user can act on. Every command that runs workers passes here: build (nothing was swapped in,
    the live site is the last build's), check, reports and the SMS export (through load_site)."""
    try:
        yield
    except WorkerDied:
        raise BuildFailed([worker_died(config)]) from None


def worker_died(config: SiteConfig) -> Problem:
    return Problem(str(config.output_dir), None, None,
                   # TRANSLATORS: 原文：生成网站的一个辅助进程意外结束了，多半是电脑内存不够，
                   # 或者它被别的程序结束了；已发布的网站没有改动
                   _("a helper process of the build ended unexpectedly: most often the computer ran out of "
                     "memory, or another program ended it; the site already published is unchanged"),
                   # TRANSLATORS: 原文：关掉占内存多的程序后再生成一次，或者少用几个辅助进程（--jobs 1）
                   _("close programs that use much memory and build again, or use fewer helper processes "
                     "(--jobs 1)"))


def _build(config_path: str | Path, config: SiteConfig, options: BuildOptions, progress: Progress,
           memory: BuildCache | None, loaded: Callable[[LoadedSite], None] | None = None,
           taken: nochange.Taken | None = None) -> BuildReport:
    progress("reading", 0, 1)
    output = config.output_dir
    now = local_now(options, config)
    signature, stats = "", None
    if options.cache:
        if taken is not None and taken.signature:
            signature, stats = taken
        else:
            stats = {}
            signature = nochange.signature(config, options, stats)
        skipped = nochange.unchanged_report(config, options, signature)
        if skipped is not None:  # nothing any output depends on has changed: the live site already is this build
            return skipped
    if memory is not None:
        cache, notice = memory, None
    else:
        cache, notice = BuildCache.load(cache_path(output) if options.cache else None)
    site = load_site(config_path, options, cache, stats=stats)
    problems = Problems()
    if notice:
        problems.items.append(notice)
    # the front matter and renderings are not needed past this point: written now, not held through
    # rendering (a write that fails is a warning, as the rest of the cache's, after the swap)
    early = after_swap(cache_path(output), lambda: cache.save_lazy(_SCRUB)) if memory is None else []
    kept = options.cache or memory is not None
    layer = Incremental(cache, config, _workers(options)) if kept else None
    jobs, specs, recipes, parts = site_jobs(site, problems, layer)
    if memory is None:  # the search documents' tokens made the index: written now, not held through rendering
        early += after_swap(cache_path(output), cache.save_search)
    problems.extend(cache.take_notices())  # (the tokens' file is first read while the index is made)
    # a page's key names the story lists its last rendering read (pages.PageRenderer.job)
    deps: dict[str, tuple[str, ...]] = layer.page_deps if layer else {}
    jobs = [job._replace(key=job.rekey(deps[job.path])) if job.rekey is not None and job.path in deps
            else job for job in jobs]
    problems.extend(check_paths([job.path for job in jobs]))
    if problems.errors:
        raise BuildFailed(problems.items + list(site.problems))
    keys = {job.path: job.key for job in jobs}
    target = site.config.output_dir
    written = rendered = 0
    changed: list[str] = []
    manifest = load_manifest(target)
    if not options.rewrite and unchanged(target, keys, manifest):
        report = WriteReport(0, len(keys), 0)
    else:
        staging = Staging(target, in_place=options.in_place, manifest=manifest, rewrite=options.rewrite)
        try:
            todo = [job for job in jobs if not staging.keep(job.path, job.key)]
            fed = parts if layer else None  # (the feeds' entries made are kept for the next build)
            if layer:
                layer.feed_entries(parts, specs, {job.path for job in todo})
                layer.read_bodies(site.index.stories, {job.path for job in todo})
            progress("pages", 0, len(todo))
            if options.in_place:  # render everything first: a failing template must not leave half a site
                made = []
                for i, job in enumerate(todo):  # (each page reported: the preview server stops a build so)
                    made.append(make(job))
                    progress("pages", i + 1, len(todo))
                results: list[Put] = [(staging.put(o, job.key), len(o.data or b""), o.deps, {})
                                      for job, o in zip(todo, made, strict=True)]
                changed = [job.path for job, (wrote, _, _, _) in zip(todo, results, strict=False) if wrote]
            else:
                results = run_map(lambda i: _put(staging, todo[i], fed), range(len(todo)), _workers(options),
                                  lambda: _spawned_puts(site, staging, todo, jobs[:recipes], specs, layer),
                                  min_items=200)
            if layer:  # (made in this process, or by workers and handed back with their results)
                layer.keep_feed_entries(feed_entries_made(parts))
                for _, _, _, entries in results:
                    if entries:
                        layer.keep_feed_entries(entries)
            written = sum(1 for wrote, _, _, _ in results if wrote)
            rendered = len(todo)
            # a page that read more (or less) than its last rendering did: its key names what it read now
            for job, (_, _, read, _) in zip(todo, results, strict=False):
                if job.rekey is not None:
                    keys[job.path] = job.rekey(read)
            if layer:
                layer.remember_deps({job.path: read for job, (_, _, read, _) in zip(todo, results, strict=True)
                                     if job.rekey is not None})
            feed_size_warnings({job.path: size for job, (_, size, _, _) in zip(todo, results, strict=True)}, specs,
                               site.config,
                               problems)
            progress("writing", len(todo), len(todo))
            # every image written, read back before the swap: the live output stays the last build's
            leaked = verify_images(staging.dir, [job.path for job in todo if is_raster(job.path)])
            if leaked:
                if options.in_place:  # (the preview's own folder, written file by file: those files go,
                    for problem in leaked:  # no state is kept, the next build looks again)
                        (staging.dir / problem.path).unlink(missing_ok=True)
                    state_path(output).unlink(missing_ok=True)
                raise BuildFailed(leaked)
            report = staging.commit(keys, written)
        except BaseException:
            staging.abort()
            raise
    # the new output is live: what fails from here on is a warning, and the next build writes it again
    late = early + list(report.warnings)
    late += after_swap(withdrawn_map_path(site.config),
                       lambda: write_file(withdrawn_map_path(site.config), withdrawn_map(site)))
    if memory is None:  # what is stored beside the output holds no private block
        late += after_swap(cache_path(output), lambda: cache.save(scrub=_SCRUB))
    else:
        cache.forget_unused()
    problems.extend(cache.take_notices())  # (a cache file found unreadable while writing or saving: said too)
    retry = len(late) > len(report.warnings)
    result = BuildReport(
        output_dir=site.config.output_dir,
        stories_read=len(site.records.stories),
        public=len(site.gate.public),
        held=site.gate.held,
        pages=sum(1 for p in keys if p.endswith(".html")),
        files=len(keys),
        write=report,
        warnings=tuple(sort_problems(list(site.problems) + problems.warnings)),
        drafts=options.drafts,
        rendered=rendered,
        changed=tuple(changed),
    )
    if loaded is not None:
        loaded(site)
    if options.cache and not retry:
        try:
            # (a notice that a cache file was discarded is about this run: a build skipped later says none)
            about_site = dataclasses.replace(result, warnings=tuple(
                w for w in result.warnings if not w.path.startswith(str(cache_path(output)))))
            shown = {s.id for s in site.gate.public}
            save_state(state_path(output),
                       BuildState(signature, next_change(site.records, config, now), about_site, now,
                                  first_expiry(site.records, shown, config, now)))
        except OSError as exc:
            late.append(late_problem(state_path(output), exc))
            retry = True
    if options.cache and retry:  # no state: the next build must not be skipped, and writes what failed again
        try:
            state_path(output).unlink(missing_ok=True)
        except OSError:
            pass
    return dataclasses.replace(result, warnings=tuple(sort_problems(list(result.warnings) + late))) if late \
        else result


class TemplateFailed(Exception):
    """A theme template failed while rendering a page (crosses from a worker process as plain values)."""

    def __init__(self, page: str, template: str, line: int | None, message: str):
        super().__init__(page, template, line, message)
        self.page, self.template, self.line, self.message = page, template, line, message

    def problem(self) -> Problem:
        return Problem(self.template, self.line, None,
                       f"主题模板出错，生成 {self.page} 时停下了：{self.message}",
                       "改正这个模板（或删去主题里的这个文件，用默认主题的）")


def template_problem(exc: jinja2.TemplateError) -> Problem:
    where = getattr(exc, "filename", None) or getattr(exc, "name", None) or "主题模板"
    return Problem(str(where), getattr(exc, "lineno", None), None, f"主题模板出错：{exc.message or exc}",
                   "改正这个模板（或删去主题里的这个文件，用默认主题的）")


def make(job: Job) -> Output:
    """A job's output; an error raised by a theme template's own code (a syntax error, an
    undefined name, a division by zero…) becomes TemplateFailed, naming the template and line."""
    try:
        return job.make()
    except BodyMissing:  # (not the template's doing)
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateFailed(job.path, exc.filename or exc.name or "?", exc.lineno, str(exc.message)) from None
    except Exception as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith((".html", ".xml"))]
        if not frames:
            raise
        raise TemplateFailed(job.path, frames[-1].filename, frames[-1].lineno,
                             f"{type(exc).__name__}: {exc}") from None


# what staging a job gave: whether bytes were written, their length, what the rendering read
# (Output.deps), and the feed entries made for it (for the cache: those a worker made would
# otherwise end with the worker)
Put = tuple[bool, int, tuple[str, ...], dict[str, bytes]]


def _put(staging: Staging, job: Job, parts: FeedParts | None = None) -> Put:
    """Make and stage a job (`Put`); `parts`: the feeds' entries, those made for it handed back."""
    out = make(job)
    made = feed_entries_made(parts) if parts is not None else {}
    return staging.put(out, job.key), len(out.data) if out.data is not None else 0, out.deps, made


def _spawned_puts(site: LoadedSite, staging: Staging, todo: list[Job], pages: list[Job],
                  specs: tuple[FeedSpec, ...], layer: Incremental | None) -> Spawned:
    """`_put` for workers started afresh (spawn: Windows, or EXEMPLAR_SITE_PORTABLE=1), which
    cannot inherit the jobs. They render the pages (`pages`: the page plan's recipes, in order):
    each is given, once, what the plan is made from — the config, the index, the feed table (no
    record: no private block crosses to a renderer), the compiled templates — makes the same plan
    (pages.page_plan) and is given each page by its number. The other jobs (feeds, search, images,
    files already in memory) are done in this process meanwhile."""
    number = {job.path: k for k, job in enumerate(pages)}
    if layer:  # (each story is pickled with its body: those the cache held back, read in one go)
        layer.read_bodies(site.index.stories, None)
    context = (site.config, site.index, site.options.drafts, specs, layer.compiled() if layer else {}, staging)
    items = [(number[job.path], job.path, job.key) if job.path in number else None for job in todo]
    return Spawned(_page_worker, context, _page_put, items)


def _page_worker(context: tuple[SiteConfig, SiteIndex, bool, tuple[FeedSpec, ...], dict[str, Any], Staging]
                 ) -> tuple[Staging, PagePlan]:
    """A spawned worker's page plan (made as site_jobs makes it; the templates' digests, which only
    keys need, are left out) and the staging tree it writes into."""
    config, index, drafts, specs, compiled, staging = context
    env = make_environment(config, compiled_cache(compiled, config))
    return staging, page_plan(env, config, index, site_view(config, drafts), specs, tpl={})


def _page_put(state: tuple[Staging, PagePlan], item: tuple[int, str, str]) -> Put:
    staging, plan = state
    number, path, key = item
    call = plan.recipes[number][1]()
    if file_of(call.path) != path:  # (never: the plan is made from the same values)
        raise RuntimeError(f"page {number} of the plan is {file_of(call.path)}, not {path}")
    return _put(staging, Job(path, key, lambda: plan.renderer.make(call)))


class StoryPreview:
    """One edited story's page, rendered at once against the last good build (for `serve`).

    The edited file is read and checked on its own; its page is rendered with
    the previous index (neighbours, related stories, listings). Only a story
    that was public, stays public at the same address and uses only known
    tags, is in no series (exemplar_of) and links only public stories qualifies: what
    only the checks across stories can refuse waits for the full build;
    otherwise, and for anything else that changed, None: the caller runs the
    full rebuild, which follows this preview in any case and puts right
    whatever the previous index showed differently.
    """

    def __init__(self, site: LoadedSite):
        self.site = site
        config = site.config
        self.by_path = {r.path: r for r in site.records.stories}
        self.public = {s.id: s for s in site.gate.public}
        self.heads = {r.exemplar_of for r in site.records.stories if r.exemplar_of}  # (stories followed up)
        self.public_paths = {urls.story(s.slug).strip("/") for s in site.gate.public}
        self.tag_keys = {t.name: t.key for s in site.gate.stories for t in s.tags}
        self.assets = {a.out_path: a.size for a in site.assets}
        self.markup = Markup(config.base_path, config.summary_length)
        self.env = make_environment(config)
        self.view = site_view(config, site.options.drafts)
        self.specs = feed_specs(site.index, config)

    def render(self, path: Path) -> Output | None:
        site, config = self.site, self.site.config
        shown = display_path(config, path)
        old = self.by_path.get(shown)
        before = self.public.get(old.id) if old is not None else None
        if old is None or before is None or before.draft is not None:
            return None
        problems = Problems()
        src = read_source(config, SourceFile("story", shown, None), problems)
        doc = parse(src, problems) if src is not None else None
        record = story_record(doc, config, self.assets, problems) if doc is not None else None
        if record is None or doc is None or problems.errors or record.id != old.id or record.slug != old.slug \
                or record.path != old.path or decide(record, config, local_now(site.options, config)) is not None \
                or any(t not in self.tag_keys for t in record.tags) or record.exemplar_of != old.exemplar_of \
                or record.campaigns != old.campaigns:
            return None
        # what only checks across stories can refuse waits for the full build: a story of a series (the
        # private values of the others, a withdrawal that takes the series with it), or one linking a story
        # that was not public in the last good build (a held-back or withdrawn story's address)
        if record.exemplar_of or record.id in self.heads or record.stays_public != old.stays_public:
            return None
        rendered = render_body(doc.body or "", self.markup)
        if not set(story_links(rendered.html, config)) <= self.public_paths:  # (held back, withdrawn, unknown)
            return None
        story = public_story(record, config, rendered, self.tag_keys, None)
        return story_page(self.env, config, site.index, self.view, self.specs, story)


@dataclass(frozen=True)
class SmsExport:
    output_dir: Path
    since: dt.date
    until: dt.date
    messages: tuple[SmsMessage, ...]  # every public story
    digest: tuple[SmsMessage, ...]  # those in [since, until], oldest first
    warnings: tuple[Problem, ...]


def goes_out_as_of(site: LoadedSite, clock: dt.datetime) -> Problem | None:
    """For what goes out as it is made (the SMS export, a WeChat article): None when the site as of
    the run's `now` (a --now) shows what it shows as of the computer's `clock`; otherwise the error.
    As of a later time it shows stories scheduled for then, before their time; as of an earlier one,
    once the vetting of a story public then has run out (gate.first_expiry), it shows that story."""
    config = site.config
    now, clock = local_now(site.options, config), clock.astimezone(config.tz)
    shown = {"now": now.isoformat(timespec="minutes"), "clock": clock.isoformat(timespec="minutes")}
    if now > clock:
        # TRANSLATORS: 原文：--now {now} 比现在（{clock}）晚：短信和微信稿一写出就发出去，
        # 会把定时发布、还没到时间的稿件提前发出
        message = t("--now {now} is later than now ({clock}): an SMS export or a WeChat article goes out as it is, "
                    "and would carry stories scheduled for later before their time", **shown)
    elif first_expiry(site.records, {s.id for s in site.gate.public}, config, now) <= clock:
        # TRANSLATORS: 原文：--now {now} 比现在（{clock}）早，按那时公开的稿件里，有一篇的审核意见已经过期：
        # 写出的短信或微信稿里会有它，不能发出
        message = t("--now {now} is earlier than now ({clock}), and the vetting of a story public as of then has "
                    "run out since: the SMS export or WeChat article would carry it, and must not go out", **shown)
    else:
        return None
    # TRANSLATORS: 原文：不带 --now（按现在的时间写出）
    return Problem("--now", None, None, message, _("leave out --now (made as of now)"))


def export_sms(config_path: str | Path, options: BuildOptions, since: dt.date | None, until: dt.date | None,
               output: Path | None = None, clock: dt.datetime | None = None) -> SmsExport:
    """`build.py sms`: the SMS files for a date range, on their own, written atomically into a folder
    of their own (never the public site or the reports, nor inside them). `clock`: the computer's
    (the command line's one reading), which a --now must agree with (goes_out_as_of)."""
    config = load_config(config_path, options.output)
    target = output.resolve() if output else config.root / "sms-export"
    refused = check_target(target, SMS, [(PUBLIC, config.output_dir), (INTERNAL, config.reports_dir)])
    if refused:
        raise BuildFailed(refused)
    site = load_site(config_path, options)
    config = site.config
    too_late = goes_out_as_of(site, clock) if clock is not None else None
    if too_late is not None:
        raise BuildFailed([too_late])
    problems = Problems()
    msgs = messages(site.gate.public, config, problems)
    if problems.errors:
        raise BuildFailed(problems.items)
    today = local_now(options, config).date()
    until = until or today
    since = since or until - dt.timedelta(days=config.sms.digest_days - 1)
    if since > until:
        # TRANSLATORS: 原文：--since {since} 比 --until {until} 晚
        raise BuildFailed([Problem("--since", None, None, t("--since {since} is after --until {until}",
                                                            since=since, until=until),
                                   # TRANSLATORS: 原文：开始日期要早于或等于结束日期，如 ……
                                   _("a start date on or before the end date, such as --since 2026-11-01 "
                                     "--until 2026-11-30"))])
    written = write_site(sms_outputs(msgs, config, since, until, prefix=""), target, kind=SMS)
    return SmsExport(target, since, until, tuple(msgs), tuple(in_range(msgs, since, until)),
                     tuple(sort_problems(list(site.problems) + problems.warnings + list(written.warnings))))
