"""Command line: parse arguments, call one library function, print, exit.

    python build.py [build] [--config FILE] [--output DIR] [--drafts] [--now TIME] [--lang zh|en]

Every text a user reads here goes through the catalogue (i18n.py); the language is chosen first,
from --lang, EXEMPLAR_SITE_LANG or the config's `language`, so that --help is in it too.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import difflib
import gc
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import i18n
from .config import load_config
from .dates import parse_datetime
from .errors import BuildFailed, Problem
from .i18n import N_, _, ngettext, t
from .model import REASONS
from .nochange import skipped_build
from .progress import Progress
from .runs import BuildOptions, BuildReport

COMMANDS = ("build", "serve", "new", "check", "sms", "report", "init", "deploy", "rollback", "nginx-conf", "export",
            "import", "wechat", "pdf")

# argparse's own words (usage, errors), so that they are in the catalogue too: argparse looks
# them up through its module's `_` and `ngettext`, which main() points at the catalogue.
ARGPARSE_MESSAGES = (
    N_("usage: "), N_("positional arguments"), N_("options"), N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"), N_("the following arguments are required: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"), N_("unrecognized arguments: %s"),
    N_("expected one argument"), N_("argument %(argument_name)s: %(message)s"),
    N_("invalid %(type)s value: %(value)r"), N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"), N_("expected at least one argument"), N_("expected at most one argument"),
    N_("ignored explicit argument %r"), N_("one of the arguments %s is required"),
)


def _when(value: str, flag: str) -> dt.datetime:
    """A date or time as the user may write it, as in front matter: 2026-12-01, '2026-12-01 08:00',
    2026/12/01 or 2026年12月1日. Naive: the site's time zone applies."""
    parsed = parse_datetime(value, dt.UTC)
    if parsed is None:
        raise SystemExit(t("{flag}: '{value}' is not a date or time; write e.g. 2026-12-01, 2026年12月1日 or "
                           "'2026-12-01 08:00'", flag=flag, value=value))
    return parsed.replace(tzinfo=None) if "+" not in value and "Z" not in value else parsed


def clock() -> dt.datetime:
    """The computer's clock, read once a run, here only (tests replace it)."""
    return dt.datetime.now(dt.UTC)


def _now(value: str | None, flag: str = "--now") -> dt.datetime:
    """The one clock reading of a run (or the --now the user gave)."""
    if value:
        return _when(value, flag)
    return clock()


def _config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="site_config.yaml", metavar="FILE",
                   help=_("site configuration (default: site_config.yaml)"))
    p.add_argument("--lang", metavar="zh|en",
                   help=_("language of the messages: zh (Chinese, the default) or en (English); also "
                          "EXEMPLAR_SITE_LANG or language in site_config.yaml"))


def _common(p: argparse.ArgumentParser) -> None:
    _config(p)
    p.add_argument("--now", metavar="TIME",
                   help=_("build as if it were this time, e.g. 2026-12-01, 2026年12月1日 or '2026-12-01 08:00' "
                          "(scheduled stories and vetting expiry are judged against it)"))


def program_name(argv0: str) -> str:
    """How the user ran the program, for usage lines: `build.py` in a checkout, `exemplar-site`
    when installed (exemplar-site.exe on Windows), `python -m exemplar_site`."""
    name = os.path.basename(argv0)
    if name.lower().endswith(".exe"):
        name = name[:-4]
    if name in ("__main__.py", "", "-c"):
        return "python -m exemplar_site"
    return name


def make_parser(prog: str = "build.py") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=_("Static-site generator for exemplar publicity (先进典型宣传). Without a command, builds "
                      "the site."))
    sub = parser.add_subparsers(dest="command", metavar=_("COMMAND"))
    b = sub.add_parser("build", help=_("build the public site (default)"),
                       description=_("Validate every story, then write the site, feeds and SMS files. On any "
                                     "error nothing is written and the previous output stays as it was."))
    _common(b)
    b.add_argument("--output", metavar="DIR",
                   help=_("output folder (default: output_dir from the config, public/; with --drafts, "
                          "<output_dir>-drafts/ beside it). It belongs to the build: files it did not produce "
                          "are removed, and a folder holding internal reports or SMS files is refused"))
    b.add_argument("--drafts", action="store_true",
                   help=_("also render stories that are not public yet, marked as drafts on every page, into a "
                          "preview folder of its own (default: <output_dir>-drafts/), never into the public "
                          "output; for local preview only, never publish such a build"))
    b.add_argument("--edition", metavar="NAME",
                   help=_("build this edition (declared under editions: in site_config.yaml, e.g. internet); "
                          "default: the intranet edition"))
    b.add_argument("--all-editions", action="store_true", help=_("build the intranet edition and every other one"))
    b.add_argument("--jobs", type=int, default=0, metavar="N",
                   help=_("processes for rendering (default 0: one per CPU core; 1: no extra processes)"))
    v = sub.add_parser("serve", help=_("preview: build, serve, rebuild on change, reload the browser"),
                       description=_("Build the site into a private folder, serve it at http://HOST:PORT/"
                                     "<base_path>, watch content/, themes/ and the config, rebuild after each "
                                     "burst of saves and reload the open pages that changed. A failed rebuild "
                                     "shows its problems over the page, and the last good site keeps being "
                                     "served. Ctrl-C stops."))
    _common(v)
    v.add_argument("--port", type=int, default=8000, help=_("port (default 8000)"))
    v.add_argument("--host", default="127.0.0.1", help=_("address to listen on (default 127.0.0.1)"))
    v.add_argument("--drafts", action="store_true",
                   help=_("also show stories that are not public yet, marked as drafts"))
    n = sub.add_parser("new", help=_("start a new story, page or campaign file"),
                       description=_("Write a new file with every field and a comment on each: for a story, a "
                                     "fresh unused id, the pinyin slug, today's date and status: seedling. "
                                     "Prints its path."))
    n.add_argument("kind", choices=("story", "page", "campaign"), help=_("story, page or campaign"))
    n.add_argument("title", help=_('the title, e.g. "守护一方平安的老片警"'))
    _config(n)
    n.add_argument("--now", metavar="DATE", help=_("date to write (default: today)"))
    n.add_argument("--unit", metavar=_("UNIT"),
                   help=_("the story's unit: a key or the unit's Chinese name from site_config.yaml (default: the "
                          "unit you saved with --remember-unit, else none: pick it from the list in the file)"))
    n.add_argument("--remember-unit", action="store_true",
                   help=_("save --unit as your own default for later new stories (in your user folder, not in "
                          "the site)"))
    c = sub.add_parser("check", help=_("check everything before publishing; non-zero exit on any error"),
                       description=_("Everything the build validates and refuses (personal data in public text, "
                                     "links to withdrawn stories, files from outside the site…), plus broken "
                                     "internal links, missing images and SMS over the cap, with file and line. "
                                     "Writes nothing. Exit status 1 on any error, so it can guard a publish "
                                     "step."))
    _common(c)
    c.add_argument("--edition", metavar="NAME",
                   help=_("check this edition as build --edition builds it (declared under editions: in "
                          "site_config.yaml, e.g. internet: only what is cleared for it, no intranet address in "
                          "it); default: the intranet edition"))
    c.add_argument("--drafts", action="store_true",
                   help=_("check as build --drafts builds: stories that are not public yet too (the drafts "
                          "preview refuses what the public build refuses)"))
    m = sub.add_parser("sms", help=_("write SMS files for a date range (digest, CSV, one text per story)"),
                       description=_("Write the SMS digest for stories dated from --since to --until (default: "
                                     "the last sms.digest_days days up to today), a CSV for bulk import and one "
                                     "text file per story, into --output (default: sms-export/ beside the "
                                     "config). Only public stories are included. The digest is also printed. "
                                     "It goes out as it is written: a --now other than now is refused where the "
                                     "stories would differ."))
    _common(m)
    m.add_argument("--since", metavar="DATE", help=_("first story date to include, e.g. 2026-11-01 or 2026年11月1日"))
    m.add_argument("--until", metavar="DATE", help=_("last story date to include (default: today)"))
    m.add_argument("--output", metavar="DIR",
                   help=_("folder for the SMS files (default: sms-export/); a folder of their own, never the "
                          "site's output or the reports folder, nor a folder inside them"))
    r = sub.add_parser("report", help=_("write the internal management reports (内部资料)"),
                       description=_("Write the internal reports as of --as-of (default: today): assessment "
                                     "schedule (定期考核), yearly quotas (年内选树), coverage, and what waits for "
                                     "vetting or approval, as HTML pages and CSV files in reports_dir (default "
                                     "reports/). They contain private data: never publish that folder."))
    _config(r)
    r.add_argument("--as-of", dest="now", metavar="DATE",
                   help=_("report date, e.g. 2026-12-31 or 2026年12月31日 (default: today); the same date gives "
                          "the same report"))
    r.add_argument("--output", metavar="DIR",
                   help=_("folder for the reports (default: reports_dir from the config); never the public "
                          "output, a folder inside it or around it, nor a folder inside any site output"))
    i = sub.add_parser("init", help=_("create a new site folder"),
                       description=_("Create a new site in DIR: a commented site_config.yaml (replace the "
                                     "placeholders with your bureau's details), the folders stories, pages, "
                                     "campaigns and images under content/, one example story that is never "
                                     "published, and 使用说明.md. DIR must be empty or not exist yet. --sample "
                                     "copies the full 江城 sample site instead."))
    # TRANSLATORS: 原文：新网站的文件夹，如 网站 或 D:\先进典型\网站
    i.add_argument("dir", metavar="DIR", help=_("folder of the new site, e.g. 网站 or D:\\先进典型\\网站"))
    i.add_argument("--sample", action="store_true",
                   help=_("copy the full 江城 sample site (sample stories, campaigns, pages and images) instead of "
                          "an empty site"))
    d = sub.add_parser("deploy", help=_("publish the built site to the web server as a new release"),
                       description=_("Copy the built site into TARGET/releases/<time>-<digest>/ (unchanged files "
                                     "hard-linked from the current release, so browsers keep their copies), verify "
                                     "it, then switch TARGET/current to it at once. TARGET: a folder, or "
                                     "user@host:/path over ssh and rsync (default: deploy.target). Drafts builds, "
                                     "internal reports and builds that must no longer go out (the site's files changed "
                                     "since, or a story's vetting has run out since) are refused: build, then "
                                     "deploy right after."))
    _config(d)
    d.add_argument("target", nargs="?", metavar="TARGET", help=_("folder or user@host:/path (default: deploy.target)"))
    d.add_argument("--from", dest="source", metavar="DIR", help=_("the built site (default: output_dir, public/)"))
    d.add_argument("--keep", type=int, metavar="N", help=_("releases to keep (default: deploy.keep, 5)"))
    rb = sub.add_parser("rollback", help=_("switch the web server back to an earlier release"),
                        description=_("Switch TARGET/current back to RELEASE (default: the newest release before "
                                      "the current one that is not marked bad), at once."))
    _config(rb)
    rb.add_argument("target", nargs="?", metavar="TARGET", help=_("folder or user@host:/path (default: deploy.target)"))
    rb.add_argument("release", nargs="?", metavar="RELEASE", help=_("a release name from --list"))
    rb.add_argument("--mark-bad", action="store_true",
                    help=_("mark the release left behind as bad: later rollbacks skip it"))
    rb.add_argument("--list", action="store_true", help=_("only list the releases"))
    g = sub.add_parser("nginx-conf", help=_("print or write the nginx configuration for a deploy target"),
                       description=_("A server block serving TARGET/current under base_path, with the feeds' MIME "
                                     "types, caching headers, the 404 page and 410 for withdrawn addresses."))
    _config(g)
    g.add_argument("target", nargs="?", metavar="TARGET",
                   help=_("the deploy folder on the server (default: deploy.target's folder)"))
    g.add_argument("--output", metavar="FILE", help=_("write to FILE instead of printing"))
    g.add_argument("--listen", default="80", metavar="PORT", help=_("port or address:port (default 80)"))
    g.add_argument("--server-name", metavar="NAME", help=_("server_name (default: the host of base_url)"))
    x = sub.add_parser("export", help=_("pack a built edition for the one-way transfer to the outside host"),
                       description=_("Write the built edition (default: the first one with external: true; never the "
                                     "intranet edition) as one zip with a manifest of every file's size and "
                                     "SHA-256, the build time and the withdrawn addresses. Build the edition first. "
                                     "The same build gives the same archive, byte for byte."))
    _config(x)
    x.add_argument("--edition", metavar="NAME", help=_("the edition to pack, e.g. internet"))
    x.add_argument("--output", metavar="FILE", help=_("the archive to write (default: beside the output folder)"))
    im = sub.add_parser("import", help=_("unpack a transfer archive on the outside host, checking every file"),
                        description=_("Check every file of the archive against its manifest (size and SHA-256), "
                                      "refuse anything not listed, altered or with a path leading out, then put "
                                      "the site into DIR in one step. Nothing changes when a check fails."))
    im.add_argument("archive", metavar="ARCHIVE", help=_("the archive made by export"))
    im.add_argument("dir", metavar="DIR", help=_("the folder the web server serves the edition from"))
    im.add_argument("--lang", metavar="zh|en", help=_("language of the messages: zh (Chinese, the default) or en "
                                                       "(English)"))
    wx = sub.add_parser("wechat", help=_("one story as article HTML for the WeChat official account (公众号)"),
                        description=_("Write the story as HTML to paste into the 公众号 editor: inline styles only, "
                                      "outside links turned into numbered footnotes (参考链接), the pictures listed "
                                      "for upload with their credits, a warning above 20,000 characters; and a "
                                      "preview page with a copy button. Default edition: the first external one "
                                      "(only stories cleared for outside publicity), else the intranet edition. "
                                      "A --now other than now is refused where the stories would differ."))
    _common(wx)
    wx.add_argument("id", metavar="ID", help=_("the story's id, e.g. jc-2025-002"))
    wx.add_argument("--edition", metavar="NAME", help=_("the edition whose stories and addresses to use"))
    wx.add_argument("--output", metavar="DIR", help=_("folder to write to (default: wechat/<ID>/ beside the config)"))
    pdf = sub.add_parser("pdf", help=_("print a page of the built site to PDF (needs Chromium)"),
                         description=_("Print a page of the built site to PDF with headless Chromium, if it is "
                                       "installed: campaigns/<slug> prints the campaign's booklet (学习资料汇编), any "
                                       "other address that page. Build the site first."))
    _config(pdf)
    pdf.add_argument("page", metavar="PAGE", help=_("a site address, e.g. campaigns/<slug> or stories/<slug>"))
    pdf.add_argument("--edition", metavar="NAME", help=_("the edition whose output to print (default: intranet)"))
    pdf.add_argument("--output", metavar="FILE", help=_("the PDF to write (default: <page>.pdf here)"))
    return parser


def print_problems(problems: Sequence[Problem], out: object = None) -> None:
    stream = out or sys.stderr
    errors = [p for p in problems if p.is_error]
    warnings = [p for p in problems if not p.is_error]
    if errors or warnings:  # one write: a site with many warnings is not printed line by line
        print("\n".join(p.format() for p in errors + warnings), file=stream)  # type: ignore[arg-type]


def format_report(report: BuildReport, seconds: float) -> str:
    lines = []
    held = Counter(h.reason for h in report.held)
    w = report.write
    lines.append(t("Built {folder} in {seconds:.2f} s", folder=report.output_dir, seconds=seconds)
                 + (_(" — DRAFTS BUILD, do not publish") if report.drafts else ""))
    lines.append("  " + t("stories: {read} read, {public} public, {held} held back", read=report.stories_read,
                          public=report.public, held=len(report.held)))
    for reason, n in sorted(held.items()):
        lines.append(f"    {_(REASONS[reason]) if reason in REASONS else reason}: {n}")
        for h in report.held:
            if h.reason == reason:
                lines.append(f"      {h.source} ({h.id}): {h.detail}")
    if w is not None:
        lines.append("  " + t("files: {files} ({pages} pages); {rendered} rendered, {written} new or changed, "
                              "{unchanged} unchanged, {removed} removed", files=report.files, pages=report.pages,
                              rendered=report.rendered, written=w.written, unchanged=w.unchanged,
                              removed=w.removed))
    for key, value in report.extra.items():
        lines.append(f"  {key}: {value}")
    if report.warnings:
        lines.append("  " + t("warnings: {n} (listed above)", n=len(report.warnings)))
    return "\n".join(lines)


def _failed_line(n: int) -> str:
    return ngettext("Build failed: {n} error. Nothing was written; the previous output is unchanged.",
                    "Build failed: {n} errors. Nothing was written; the previous output is unchanged.",
                    n).format(n=n)


def cmd_build(args: argparse.Namespace) -> int:
    if args.all_editions:
        if args.edition or args.output:
            print(_("--all-editions builds every edition into its own folder: leave out --edition and --output"),
                  file=sys.stderr)
            return 2
        try:
            names = [None] + [e.name for e in load_config(args.config).editions]
        except BuildFailed as failed:
            print_problems(failed.problems)
            return 1
        for k, name in enumerate(names):
            if k:  # what the last edition's build left frozen (_collector_off) is collected first
                gc.unfreeze()
                gc.collect()
            code = _build_one(args, name)
            if code:
                return code
        return 0
    return _build_one(args, args.edition)


@contextlib.contextmanager
def _collector_off() -> Iterator[None]:
    """A build of this process runs without Python's cyclic garbage collector: it makes millions of
    objects that live to its end and few reference cycles (Markdown leaves ~1 KB of cyclic garbage
    per body it renders; a cold 10,000-story build peaks at the same memory with and without the
    collector), and collecting takes a tenth of a one-story edit. Forked workers inherit it. The
    collector is back after the build, with everything the build left frozen: its first pass would
    otherwise walk all of it (cycles still hold the site model until then), which is the time saved.
    The process ends after it; `--all-editions` unfreezes and collects between editions. (The
    library leaves the collector alone: `serve` and other callers that keep running keep it.)"""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was:
            gc.enable()


def _build_one(args: argparse.Namespace, edition: str | None) -> int:
    start = time.perf_counter()
    options = BuildOptions(now=_now(args.now), output=Path(args.output) if args.output else None,
                           drafts=args.drafts, workers=args.jobs, edition=edition)
    progress = Progress()
    try:
        # nothing changed since the last build: answered without loading the pipeline (Markdown, Jinja…)
        report, taken = skipped_build(args.config, options)
        if report is None:
            from .pipeline import build_site
            with _collector_off():
                report = build_site(args.config, options, progress, taken=taken)
    except BuildFailed as failed:
        progress.done()
        print_problems(failed.problems)
        print("\n" + _failed_line(sum(1 for p in failed.problems if p.is_error)), file=sys.stderr)
        return 1
    progress.done()
    print_problems(report.warnings)
    print(format_report(report, time.perf_counter() - start))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import PreviewServer  # watchdog and the HTTP server: only when serving

    fixed = _now(args.now) if args.now else None
    try:
        server = PreviewServer(args.config, host=args.host, port=args.port, drafts=args.drafts,
                               now=(lambda: fixed) if fixed else None,
                               log=lambda message: print(message, file=sys.stderr, flush=True))
    except BuildFailed as failed:
        print_problems(failed.problems)
        return 1
    except OSError as exc:
        print(t("cannot listen on {host}:{port} ({reason}); try another port, e.g. --port 8001", host=args.host,
                port=args.port, reason=exc.strerror), file=sys.stderr)
        return 1

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:  # (Ctrl-C during the first build stops cleanly too: the preview folder is removed)
        server.start()
        shown = _("drafts shown") if args.drafts else _("drafts hidden")
        print(t("Serving {url}  ({drafts}; Ctrl-C to stop)", url=server.url, drafts=shown), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\n" + _("Stopping…"), file=sys.stderr)
    finally:
        server.stop()
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from .scaffold import choose_unit, remember_unit, scaffold

    try:
        config = load_config(args.config)
        today = _now(args.now).date() if args.now else dt.datetime.now(config.tz).date()
        unit = choose_unit(config, args.unit) if args.kind == "story" else ""
        made = scaffold(config, args.kind, args.title, today, unit)
    except BuildFailed as failed:
        print_problems(failed.problems)
        return 1
    print(made.path)
    if made.id:
        print(t("id: {id}   slug: {slug}   status: seedling (not published until approved and vetted)",
                id=made.id, slug=made.slug), file=sys.stderr)
        if not unit:
            print(_("unit: not filled in yet; pick it from the list in the file's comment (or use --unit next "
                    "time)"), file=sys.stderr)
    if args.remember_unit and unit:
        print(t("{unit} is now your default unit for new stories ({file})", unit=unit, file=remember_unit(unit)),
              file=sys.stderr)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .check import check_site

    result = check_site(args.config, BuildOptions(now=_now(args.now), edition=args.edition, drafts=args.drafts))
    if result.errors:
        print(t("Errors ({n}): these block publication", n=len(result.errors)), file=sys.stderr)
        for p in result.errors:
            print(p.format(), file=sys.stderr)
    if result.warnings:
        print("\n" + t("Warnings ({n}): worth a look, do not block", n=len(result.warnings)), file=sys.stderr)
        for p in result.warnings:
            print(p.format(), file=sys.stderr)
    if result.ok:
        print(t("Check passed: {stories} stories, {public} public, {warnings} warning(s).", stories=result.stories,
                public=result.public, warnings=len(result.warnings)))
        return 0
    print("\n" + t("Check failed: {errors} error(s), {warnings} warning(s).", errors=len(result.errors),
                   warnings=len(result.warnings)), file=sys.stderr)
    return 1


def _date_arg(value: str | None, flag: str) -> dt.date | None:
    return _when(value, flag).date() if value is not None else None


def cmd_sms(args: argparse.Namespace) -> int:
    since, until = _date_arg(args.since, "--since"), _date_arg(args.until, "--until")
    try:
        from .pipeline import export_sms
        reading = clock()
        result = export_sms(args.config, BuildOptions(now=_now(args.now) if args.now else reading), since, until,
                            Path(args.output) if args.output else None, clock=reading)
    except BuildFailed as failed:
        print_problems(failed.problems)
        print("\n" + _("SMS export failed: nothing was written."), file=sys.stderr)
        return 1
    print_problems(result.warnings)
    for m in result.digest:
        print(m.text)
    print("\n" + t("{n} message(s) dated {since} to {until}, {segments} billed segment(s); {all} story text(s) in "
                   "all → {folder}", n=len(result.digest), since=result.since, until=result.until,
                   segments=sum(m.count.segments for m in result.digest), all=len(result.messages),
                   folder=result.output_dir), file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .reports import write_reports

    try:
        result = write_reports(args.config, BuildOptions(now=_now(args.now, "--as-of")),
                               Path(args.output) if args.output else None)
    except BuildFailed as failed:
        print_problems(failed.problems)
        print("\n" + _("Report failed: nothing was written."), file=sys.stderr)
        return 1
    print_problems(result.warnings)
    rep = result.reports
    overdue = sum(1 for r in rep.schedule if r.overdue)
    short = sum(1 for q in rep.quotas if not q.met and q.year == rep.as_of.year)
    print(t("Internal reports as of {date} → {folder} (内部资料: do not publish)", date=rep.as_of,
            folder=result.output_dir))
    print("  " + t("assessments: {n} exemplars, {overdue} overdue", n=len(rep.schedule), overdue=overdue))
    print("  " + t("quotas {year}: {short} unit(s) short of target", year=rep.as_of.year, short=short))
    print("  " + t("waiting for vetting or approval: {waiting}; withdrawn: {withdrawn}", waiting=len(rep.waiting),
                   withdrawn=len(rep.withdrawn)))
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from .init_site import InitFailed, init_site, next_steps

    try:
        made = init_site(Path(args.dir), sample=args.sample)
    except InitFailed as failed:
        print(t("No site was created: {reason}", reason=failed), file=sys.stderr)
        return 1
    print(next_steps(made))
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from .deploy import deploy

    try:
        config = load_config(args.config)
        r = deploy(config, args.target, Path(args.source) if args.source else None, args.keep,
                   now=clock().astimezone(config.tz))
    except BuildFailed as failed:
        print_problems(failed.problems)
        print("\n" + _("Deploy failed: the web server still serves what it served before."), file=sys.stderr)
        return 1
    print_problems(r.warnings)
    if r.unchanged:
        print(t("{target}: {release} already is the current release; nothing to do", target=r.target,
                release=r.release))
        return 0
    print(t("Deployed {release} to {target} ({linked} files kept from the previous release, {copied} copied)",
            release=r.release, target=r.target, linked=r.linked, copied=r.copied))
    if r.removed:
        print("  " + t("old releases removed: {names}", names=", ".join(r.removed)))
    if r.map_changed and not r.reloaded:
        print("  " + _("the withdrawn addresses changed: reload nginx (nginx -s reload) for them to answer 410"))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from .deploy import NAME_RE, releases, rollback

    try:
        config = load_config(args.config)
        if args.target and not args.release and config.deploy.target and NAME_RE.match(args.target):
            args.target, args.release = None, args.target  # (rollback RELEASE, with deploy.target set)
        if args.list:
            for rel in releases(config, args.target):
                print(rel.name + (" " + _("(current)") if rel.current else "") + (" " + _("(bad)") if rel.bad else ""))
            return 0
        r = rollback(config, args.target, args.release, args.mark_bad, now=clock().astimezone(config.tz))
    except BuildFailed as failed:
        print_problems(failed.problems)
        print("\n" + _("Rollback failed: the web server still serves what it served before."), file=sys.stderr)
        return 1
    print_problems(r.warnings)
    print(t("{target} now serves {release} (was {previous})", target=r.target, release=r.release,
            previous=r.previous or "—") + (" " + t("; {name} marked bad", name=r.marked_bad) if r.marked_bad else ""))
    if r.map_changed and not r.reloaded:
        print("  " + _("the withdrawn addresses changed: reload nginx (nginx -s reload) for them to answer 410"))
    return 0


def cmd_nginx_conf(args: argparse.Namespace) -> int:
    from .deploy import server_path
    from .nginxconf import NginxOptions, nginx_conf

    try:
        config = load_config(args.config)
        root = server_path(args.target or config.deploy.target, config.root)
        text = nginx_conf(config, NginxOptions(root, args.listen, args.server_name or ""))
    except BuildFailed as failed:
        print_problems(failed.problems)
        return 1
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(t("nginx configuration written to {file}; check it with nginx -t, then nginx -s reload",
                file=args.output), file=sys.stderr)
    else:
        print(text, end="")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .transfer import export_edition

    try:
        edition = args.edition or next((e.name for e in load_config(args.config).editions if e.external), None)
        config = load_config(args.config, None, edition)
        made = export_edition(config, Path(args.output) if args.output else None, now=clock().astimezone(config.tz))
    except BuildFailed as failed:
        print_problems(failed.problems)
        return 1
    print(t("{archive}: {n} files, SHA-256 {digest}", archive=made.archive, n=made.files, digest=made.sha256))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .transfer import import_edition

    try:
        done = import_edition(Path(args.archive), Path(args.dir), now=clock())
    except BuildFailed as failed:
        print_problems(failed.problems)
        print("\n" + _("Nothing was changed."), file=sys.stderr)
        return 1
    print(t("{folder}: {n} files of the {edition} edition built at {built}, all checked", folder=done.folder,
            n=done.files, edition=done.edition, built=done.built_at or "?"))
    return 0


def cmd_wechat(args: argparse.Namespace) -> int:
    import shutil

    from .pipeline import goes_out_as_of, load_site
    from .theme import make_environment
    from .wechat import LIMIT, article, preview

    try:
        config = load_config(args.config)
        edition = args.edition or next((e.name for e in config.editions if e.external), None)
        reading = clock()
        site = load_site(args.config, BuildOptions(now=_now(args.now) if args.now else reading, edition=edition))
        refused = goes_out_as_of(site, reading)
        if refused is not None:
            raise BuildFailed([refused])
    except BuildFailed as failed:
        print_problems(failed.problems)
        return 1
    config = site.config
    story = next((s for s in site.index.stories if s.id == args.id), None)
    if story is None:
        print(t("no public story with id {id} in the {edition} edition (held back, not cleared for it, or a typo)",
                id=args.id, edition=config.edition), file=sys.stderr)
        return 1
    out = Path(args.output) if args.output else config.root / "wechat" / story.id
    if out.resolve().is_relative_to(config.output_dir.resolve()):
        print(t("write outside the site's output folder {folder}", folder=config.output_dir), file=sys.stderr)
        return 2
    env = make_environment(config)
    made = article(story, config, env)
    out.mkdir(parents=True, exist_ok=True)
    (out / "article.html").write_text(made.html, encoding="utf-8")
    (out / "index.html").write_text(preview(made, env), encoding="utf-8")
    for u in made.uploads:
        # only a picture the site publishes (re-encoded, without metadata, at a path of the site): never
        # a file a link names by other means (images/../../content/images/x.jpg, escaped or not)
        source = site.media.get(u.path)
        if source is not None and source.is_file():
            (out / u.path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, out / u.path)
        else:
            print(t("{path}: not in the built site; build it first to get the picture to upload", path=u.path),
                  file=sys.stderr)
    print(t("{folder}: article.html to paste, index.html to preview and copy ({chars} characters, {notes} "
            "footnote(s))", folder=out, chars=made.chars, notes=len(made.footnotes)))
    for u in made.uploads:
        credit = t("photo: {credit}", credit=u.credit) if u.credit else ""
        print("  " + t("picture {n} to upload: {path} {caption} {credit}", n=u.number, path=out / u.path,
                       caption=u.caption, credit=credit))
    if made.too_long:
        print(t("warning: {chars} characters; the 公众号 editor takes at most {limit} (and about 1 MB): shorten it "
                "before pasting", chars=made.chars, limit=LIMIT), file=sys.stderr)
    return 0


def cmd_pdf(args: argparse.Namespace) -> int:
    from .printpdf import PdfFailed, print_pdf

    try:
        printed = print_pdf(load_config(args.config, None, args.edition), args.page,
                            Path(args.output) if args.output else None)
    except BuildFailed as failed:
        print_problems(failed.problems)
        return 1
    except PdfFailed as failed:
        print(str(failed), file=sys.stderr)
        return 1
    print(t("{pdf} (from {page})", pdf=printed.pdf, page=printed.page))
    return 0


def _prescan(args: list[str]) -> tuple[str | None, str, list[str]]:
    """--lang and --config, read before the parser is made (its help is in the chosen language);
    and the arguments without --lang, which may stand anywhere, before or after the command."""
    lang, config, rest = None, "site_config.yaml", []
    skip = False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a == "--lang" or a.startswith("--lang="):
            lang = a.split("=", 1)[1] if "=" in a else (args[i + 1] if i + 1 < len(args) else "")
            skip = "=" not in a
            continue
        if a.startswith("--config="):
            config = a.split("=", 1)[1]
        elif a == "--config" and i + 1 < len(args):
            config = args[i + 1]
        rest.append(a)
    return lang, config, rest


def main(argv: Sequence[str] | None = None) -> int:
    # A build allocates millions of long-lived objects (cached pages, records); the default
    # collector thresholds make it rescan them over and over (a third of a 10,000-story rebuild).
    gc.set_threshold(100_000, 50, 1000)
    args_list = list(sys.argv[1:] if argv is None else argv)
    lang, config_path, args_list = _prescan(args_list)
    if lang is not None and not i18n.normalise(lang):
        print(f"--lang: '{lang}' — zh (中文) | en (English)", file=sys.stderr)
        return 2
    i18n.choose(lang, config_path)
    argparse._ = i18n._  # type: ignore[attr-defined]  # (argparse's own words, through the catalogue)
    argparse.ngettext = i18n.ngettext  # type: ignore[attr-defined]
    if args_list and not args_list[0].startswith("-") and args_list[0] not in COMMANDS:
        close = difflib.get_close_matches(args_list[0], COMMANDS, n=2, cutoff=0.5)
        print(t("unknown command '{command}'", command=args_list[0])
              + (t("; did you mean: {choices}?", choices=", ".join(close)) if close else "")
              + "\n" + t("commands: {commands} (without a command: build)", commands=", ".join(COMMANDS)),
              file=sys.stderr)
        return 2
    if not args_list or (args_list[0] not in COMMANDS and args_list[0] not in ("-h", "--help")):
        args_list.insert(0, "build")
    parser = make_parser(program_name(sys.argv[0]) if argv is None else "build.py")
    args = parser.parse_args(args_list)
    handlers = {"build": cmd_build, "serve": cmd_serve, "new": cmd_new, "check": cmd_check, "sms": cmd_sms,
                "report": cmd_report, "init": cmd_init, "deploy": cmd_deploy, "rollback": cmd_rollback,
                "nginx-conf": cmd_nginx_conf, "export": cmd_export, "import": cmd_import, "wechat": cmd_wechat,
                "pdf": cmd_pdf}
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        return 130
