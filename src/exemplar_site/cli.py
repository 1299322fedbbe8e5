"""Command line: parse arguments, call one library function, print, exit.

    python build.py [build] [--config FILE] [--output DIR] [--drafts] [--now TIME]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from .config import load_config
from .errors import BuildFailed, Problem
from .gate import REASONS
from .pipeline import BuildOptions, BuildReport, build_site, export_sms
from .progress import Progress

COMMANDS = ("build", "serve", "new", "check", "sms", "report", "init")


def _now(value: str | None) -> dt.datetime:
    """The one clock reading of a run (or the --now the user gave)."""
    if value:
        try:
            return dt.datetime.fromisoformat(value)  # naive: the site's time zone
        except ValueError:
            raise SystemExit(f"--now: '{value}' is not a date or time; "
                             "write e.g. 2026-12-01 or '2026-12-01 08:00'") from None
    return dt.datetime.now(dt.UTC)


def _config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="site_config.yaml", metavar="FILE",
                   help="site configuration (default: site_config.yaml)")


def _common(p: argparse.ArgumentParser) -> None:
    _config(p)
    p.add_argument("--now", metavar="TIME",
                   help="build as if it were this time, e.g. 2026-12-01 or '2026-12-01 08:00' "
                        "(scheduled stories and vetting expiry are judged against it)")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py",
        description="Static-site generator for exemplar publicity (先进典型宣传). "
                    "Without a command, builds the site.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    b = sub.add_parser("build", help="build the public site (default)",
                       description="Validate every story, then write the site, feeds and SMS files. "
                                   "On any error nothing is written and the previous output stays as it was.")
    _common(b)
    b.add_argument("--output", metavar="DIR",
                   help="output folder (default: output_dir from the config, public/; with --drafts, "
                        "<output_dir>-drafts/ beside it). It belongs to the build: files it did not produce are "
                        "removed, and a folder holding internal reports or SMS files is refused")
    b.add_argument("--drafts", action="store_true",
                   help="also render stories that are not public yet, marked as drafts on every page, into a "
                        "preview folder of its own (default: <output_dir>-drafts/, e.g. public-drafts/), never "
                        "into the public output (--drafts --output public is refused); for local preview only, "
                        "never publish such a build")
    b.add_argument("--jobs", type=int, default=0, metavar="N",
                   help="processes for rendering (default 0: one per CPU core; 1: no extra processes)")
    v = sub.add_parser("serve", help="preview: build, serve, rebuild on change, reload the browser",
                       description="Build the site into a private folder, serve it at http://HOST:PORT/<base_path>, "
                                   "watch content/, themes/ and the config, rebuild after each burst of saves and "
                                   "reload the open pages that changed. A saved story's own page is shown at once, "
                                   "before the rebuild updates the rest. A failed rebuild shows its errors in the "
                                   "terminal and over the page, and the last good site keeps being served. "
                                   "Ctrl-C stops.")
    _common(v)
    v.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    v.add_argument("--drafts", action="store_true", help="also show stories that are not public yet, marked as drafts")
    n = sub.add_parser("new", help="start a new story, page or campaign file",
                       description="Write a new file with every field and a comment on each: for a story, a fresh "
                                   "unused id, the pinyin slug, today's date and status: seedling. Prints its path.")
    n.add_argument("kind", choices=("story", "page", "campaign"))
    n.add_argument("title", help='the title, e.g. "守护一方平安的老片警"')
    _config(n)
    n.add_argument("--now", metavar="DATE", help="date to write (default: today)")
    c = sub.add_parser("check", help="check everything before publishing; non-zero exit on any error",
                       description="Everything the build validates and refuses (personal data in public text, "
                                   "links to withdrawn stories, files from outside the site, …), plus broken "
                                   "internal links, missing images and SMS over the cap, with file and line. "
                                   "Writes nothing. Exit "
                                   "status 1 on any error, so it can guard a publish step.")
    _common(c)
    m = sub.add_parser("sms", help="write SMS files for a date range (digest, CSV, one text per story)",
                       description="Write the SMS digest for stories dated from --since to --until (default: the "
                                   "last sms.digest_days days up to today), a CSV for bulk import and one text file "
                                   "per story, into --output (default: sms-export/ beside the config). Only public "
                                   "stories are included. The digest is also printed.")
    _common(m)
    m.add_argument("--since", metavar="DATE", help="first story date to include, YYYY-MM-DD")
    m.add_argument("--until", metavar="DATE", help="last story date to include, YYYY-MM-DD (default: today)")
    m.add_argument("--output", metavar="DIR",
                   help="folder for the SMS files (default: sms-export/); a folder of their own, never the site's "
                        "output or the reports folder, nor a folder inside them")
    r = sub.add_parser("report", help="write the internal management reports (内部资料)",
                       description="Write the internal reports as of --as-of (default: today): assessment schedule "
                                   "(定期考核), yearly quotas (年内选树), coverage, and what waits for vetting or "
                                   "approval, as HTML pages and CSV files in reports_dir (default reports/). "
                                   "They contain private data: never publish that folder.")
    _config(r)
    r.add_argument("--as-of", dest="now", metavar="DATE",
                   help="report date, e.g. 2026-12-31 (default: today); the same date gives the same report")
    r.add_argument("--output", metavar="DIR",
                   help="folder for the reports (default: reports_dir from the config); never the public output, "
                        "a folder inside it or around it, nor a folder inside any site output")
    i = sub.add_parser("init", help="新建一个网站文件夹 (create a new site)",
                       description="在 DIR 里新建一个网站：带注释的 site_config.yaml（把“某某”换成本局的内容）、"
                                   "content/ 下的 stories、pages、campaigns、images 文件夹、一篇不会发布的示例稿件和"
                                   "使用说明.md。DIR 必须是空文件夹或还不存在。--sample 则复制完整的江城示例网站。")
    i.add_argument("dir", metavar="DIR", help="新网站的文件夹，如 网站 或 D:\\先进典型\\网站")
    i.add_argument("--sample", action="store_true",
                   help="复制完整的江城示例网站（示例稿件、学习活动、页面和图片），而不是空网站")
    return parser


def print_problems(problems: Sequence[Problem], out: object = None) -> None:
    stream = out or sys.stderr
    errors = [p for p in problems if p.is_error]
    warnings = [p for p in problems if not p.is_error]
    for p in errors:
        print(p.format(), file=stream)  # type: ignore[arg-type]
    for p in warnings:
        print(p.format(), file=stream)  # type: ignore[arg-type]


def format_report(report: BuildReport, seconds: float) -> str:
    lines = []
    held = Counter(h.reason for h in report.held)
    w = report.write
    lines.append(f"Built {report.output_dir} in {seconds:.2f} s"
                 + (" — DRAFTS BUILD, do not publish" if report.drafts else ""))
    lines.append(f"  stories: {report.stories_read} read, {report.public} public, {len(report.held)} held back")
    for reason, n in sorted(held.items()):
        lines.append(f"    {REASONS.get(reason, reason)}: {n}")
        for h in report.held:
            if h.reason == reason:
                lines.append(f"      {h.source} ({h.id}): {h.detail}")
    if w is not None:
        lines.append(f"  files: {report.files} ({report.pages} pages); {report.rendered} rendered, "
                     f"{w.written} new or changed, {w.unchanged} unchanged, {w.removed} removed")
    for key, value in report.extra.items():
        lines.append(f"  {key}: {value}")
    if report.warnings:
        lines.append(f"  warnings: {len(report.warnings)} (listed above)")
    return "\n".join(lines)


def cmd_build(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    options = BuildOptions(now=_now(args.now), output=Path(args.output) if args.output else None,
                           drafts=args.drafts, workers=args.jobs, one_off=True)
    progress = Progress()
    try:
        report = build_site(args.config, options, progress)
    except BuildFailed as failed:
        progress.done()
        print_problems(failed.problems)
        n = sum(1 for p in failed.problems if p.is_error)
        print(f"\nBuild failed: {n} error(s). Nothing was written; the previous output is unchanged.",
              file=sys.stderr)
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
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}; try --port 8001", file=sys.stderr)
        return 1
    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    server.start()
    print(f"Serving {server.url}  (drafts {'shown' if args.drafts else 'hidden'}; Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nStopping…", file=sys.stderr)
    finally:
        server.stop()
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from .scaffold import scaffold

    try:
        config = load_config(args.config)
        today = _now(args.now).date() if args.now else dt.datetime.now(config.tz).date()
        made = scaffold(config, args.kind, args.title, today)
    except BuildFailed as failed:
        print_problems(failed.problems)
        return 1
    print(made.path)
    if made.id:
        print(f"id: {made.id}   slug: {made.slug}   status: seedling (not published until approved and vetted)",
              file=sys.stderr)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .check import check_site

    result = check_site(args.config, BuildOptions(now=_now(args.now)))
    if result.errors:
        print(f"Errors ({len(result.errors)}): these block publication", file=sys.stderr)
        for p in result.errors:
            print(p.format(), file=sys.stderr)
    if result.warnings:
        print(f"\nWarnings ({len(result.warnings)}): worth a look, do not block", file=sys.stderr)
        for p in result.warnings:
            print(p.format(), file=sys.stderr)
    if result.ok:
        print(f"Check passed: {result.stories} stories, {result.public} public, {len(result.warnings)} warning(s).")
        return 0
    print(f"\nCheck failed: {len(result.errors)} error(s), {len(result.warnings)} warning(s).", file=sys.stderr)
    return 1


def _date_arg(value: str | None, flag: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SystemExit(f"{flag}: '{value}' is not a date; write YYYY-MM-DD, e.g. 2026-11-01") from None


def cmd_sms(args: argparse.Namespace) -> int:
    since, until = _date_arg(args.since, "--since"), _date_arg(args.until, "--until")
    try:
        result = export_sms(args.config, BuildOptions(now=_now(args.now)), since, until,
                            Path(args.output) if args.output else None)
    except BuildFailed as failed:
        print_problems(failed.problems)
        print("\nSMS export failed: nothing was written.", file=sys.stderr)
        return 1
    print_problems(result.warnings)
    for m in result.digest:
        print(m.text)
    print(f"\n{len(result.digest)} message(s) dated {result.since} to {result.until}, "
          f"{sum(m.count.segments for m in result.digest)} billed segment(s); "
          f"{len(result.messages)} story text(s) in all → {result.output_dir}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .reports import write_reports

    try:
        result = write_reports(args.config, BuildOptions(now=_now(args.now)),
                               Path(args.output) if args.output else None)
    except BuildFailed as failed:
        print_problems(failed.problems)
        print("\nReport failed: nothing was written.", file=sys.stderr)
        return 1
    print_problems(result.warnings)
    rep = result.reports
    overdue = sum(1 for r in rep.schedule if r.overdue)
    short = sum(1 for q in rep.quotas if not q.met and q.year == rep.as_of.year)
    print(f"Internal reports as of {rep.as_of} → {result.output_dir} (内部资料: do not publish)")
    print(f"  assessments: {len(rep.schedule)} exemplars, {overdue} overdue")
    print(f"  quotas {rep.as_of.year}: {short} unit(s) short of target")
    print(f"  waiting for vetting or approval: {len(rep.waiting)}; withdrawn: {len(rep.withdrawn)}")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from .init_site import InitFailed, init_site, next_steps

    try:
        made = init_site(Path(args.dir), sample=args.sample)
    except InitFailed as failed:
        print(f"没有新建网站：{failed}", file=sys.stderr)
        return 1
    print(next_steps(made))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    # A build allocates millions of long-lived objects (cached pages, records); the default
    # collector thresholds make it rescan them over and over (a third of a 10,000-story rebuild).
    gc.set_threshold(100_000, 50, 1000)
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0] not in COMMANDS and args_list[0] not in ("-h", "--help")):
        args_list.insert(0, "build")
    parser = make_parser()
    args = parser.parse_args(args_list)
    handlers = {"build": cmd_build, "serve": cmd_serve, "new": cmd_new, "check": cmd_check, "sms": cmd_sms,
                "report": cmd_report, "init": cmd_init}
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        return 130
