"""`check`: everything the build validates, plus what only a reviewer would notice.

The pipeline without the writer, then:
- broken internal links and missing images in public pages;
- personal data in public text: mainland ID numbers with a valid check
  digit, mobile numbers — outside the `private:` block, with file and line;
  and, as a warning, public stories without a `slug:` (their address follows the title);
- SMS over the cap (the build's own check, reported here too).
Errors and warnings are kept apart; any error gives a non-zero exit.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from . import urls
from .errors import BuildFailed, Problem, Problems, sort_problems
from .pipeline import BuildOptions, LoadedSite, load_site, render_site
from .records import StoryRecord

_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
_LINK_RE = re.compile(r'(?:href|src)="site:([^"#?]*)')
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def valid_id_number(number: str) -> bool:
    """A mainland resident ID: plausible birth date and a correct ISO 7064 check digit."""
    if not re.fullmatch(r"\d{17}[\dXx]", number):
        return False
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS))
    return _CHECK[total % 11] == number[17].upper()


@dataclass(frozen=True)
class CheckResult:
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    stories: int
    public: int

    @property
    def ok(self) -> bool:
        return not self.errors


def _private_lines(r: StoryRecord, front_end: int) -> range:
    """File lines of the story's private block (excluded from the personal-data scan)."""
    if "private" not in r.lines:
        return range(0)
    start = r.lines["private"]
    later = [line for key, line in r.lines.items() if line > start]
    end = min(later) if later else front_end
    return range(start, end)


def scan_personal_data(path: Path, shown: str, private: range, problems: Problems) -> None:
    for no, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if no in private:
            continue
        for m in _ID_RE.finditer(line):
            if valid_id_number(m.group(1)):
                problems.error(shown, no, None, f"an ID number ({m.group(1)[:6]}…) in public text",
                               "move it under private: (private.id_number) or remove it")
        for m in _MOBILE_RE.finditer(line):
            problems.error(shown, no, None, f"a mobile number ({m.group(1)[:3]}…) in public text",
                           "move it under private: (private.phone) or remove it")


def _line_of(path: Path, needle: str, fallback: int) -> int:
    for no, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if needle and needle in line:
            return no
    return fallback


def check_site(config_path: str | Path, options: BuildOptions) -> CheckResult:
    try:
        site = load_site(config_path, options)
        outputs, rendering = render_site(site)
    except BuildFailed as failed:
        return CheckResult(tuple(p for p in failed.problems if p.is_error),
                           tuple(p for p in failed.problems if not p.is_error), 0, 0)
    problems = Problems()
    produced = {o.path for o in outputs}
    _check_links(site, produced, problems)
    public = {s.id for s in site.gate.public}
    for r in site.records.stories:
        if r.status == "withdrawn":
            continue
        path = site.config.root / r.path
        scan_personal_data(path, r.path, _private_lines(r, r.body_line), problems)
        if r.id in public and "slug" not in r.lines:
            problems.warning(r.path, r.line_of("title"), "slug",
                             f"no slug: the address stories/{r.slug}/ is made from the title, so editing the "
                             "title will move the page and break links to it",
                             f"slug: {r.slug}   (a line after the title keeps today's address)")
    for p in site.records.pages:
        scan_personal_data(site.config.root / p.path, p.path, range(0), problems)
    for c in site.records.campaigns:
        scan_personal_data(site.config.root / c.path, c.path, range(0), problems)
    everything = list(site.problems) + list(rendering) + problems.items
    return CheckResult(tuple(sort_problems(p for p in everything if p.is_error)),
                       tuple(sort_problems(p for p in everything if not p.is_error)),
                       len(site.records.stories), len(site.gate.public))


def _check_links(site: LoadedSite, produced: set[str], problems: Problems) -> None:
    assets = {a.out_path for a in site.assets}
    bodies = [(s.source, s.body_html) for s in site.gate.stories]
    bodies += [(p.source, p.body_html) for p in site.gate.pages]
    bodies += [(c.source, c.body_html) for c in site.gate.campaigns]
    withdrawn = {w.url for w in site.gate.withdrawn}
    for source, body in bodies:
        path = site.config.root / source
        for target in _LINK_RE.findall(body):
            file = urls.file_of(target)
            if target in withdrawn:
                problems.error(source, _line_of(path, target.rstrip("/"), 1), None,
                               f"link to a withdrawn story: {target}", "remove the link")
            elif file not in produced and target not in assets:
                kind = "image or file" if "." in target.rsplit("/", 1)[-1] else "page"
                problems.error(source, _line_of(path, target.rstrip("/").rsplit("/", 1)[-1], 1), None,
                               f"broken internal link: no {kind} at {target}",
                               "a path that exists, e.g. /stories/<slug>/ or images/<file>")
