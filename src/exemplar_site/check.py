"""`check`: everything the build validates, plus what only a reviewer would notice.

The pipeline without the writer, then:
- broken internal links and missing images in public pages;
- (personal data in public text is found by the build itself, in records.py: `check` shows it
  with everything else the build refuses);
- as a warning, public stories without a `slug:` (their address follows the title);
- SMS over the cap (the build's own check, reported here too).
Errors and warnings are kept apart; any error gives a non-zero exit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import urls
from .errors import BuildFailed, Problem, Problems, sort_problems
from .i18n import _, t
from .outguard import unreachable
from .personal import valid_id_number as valid_id_number  # re-exported for scripts that used it here
from .pipeline import BuildOptions, LoadedSite, load_site, render_site


@dataclass(frozen=True)
class CheckResult:
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    stories: int
    public: int

    @property
    def ok(self) -> bool:
        return not self.errors


def _line_of(path: Path, needle: str, fallback: int) -> int:
    for no, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if needle and needle in line:
            return no
    return fallback


def check_site(config_path: str | Path, options: BuildOptions) -> CheckResult:
    try:
        # not strict: with errors, what did load is still checked for links and the rest
        site = load_site(config_path, options, strict=False)
        outputs, rendering = render_site(site)
    except BuildFailed as failed:
        return CheckResult(tuple(p for p in failed.problems if p.is_error),
                           tuple(p for p in failed.problems if not p.is_error), 0, 0)
    problems = Problems()
    dead = unreachable(site.config.output_dir, "--output" if options.output else "output_dir")
    if dead is not None:  # (as the build refuses it)
        problems.items.append(dead)
    produced = {o.path for o in outputs}
    _check_links(site, produced, problems)
    public = {s.id for s in site.gate.public}
    for r in site.records.stories:
        if r.status == "withdrawn":
            continue
        if r.id in public and "slug" not in r.lines:
            problems.warning(r.path, r.line_of("title"), "slug",
                             t("no slug: the address stories/{slug}/ is made from the title, so editing the "
                               "title will move the page and break links to it", slug=r.slug),
                             t("slug: {slug}   (a line after the title keeps today's address)", slug=r.slug))
    everything = list(site.problems) + list(rendering) + problems.items
    return CheckResult(tuple(sort_problems(p for p in everything if p.is_error)),
                       tuple(sort_problems(p for p in everything if not p.is_error)),
                       len(site.records.stories), len(site.gate.public))


def _check_links(site: LoadedSite, produced: set[str], problems: Problems) -> None:
    # (a link is sound when it leads to a file the build writes: a source file that is not published
    # as it is, a HEIC photo say, is none)
    bodies = [(s.source, s.body_html + s.summary_html) for s in site.gate.stories]
    bodies += [(p.source, p.body_html) for p in site.gate.pages]
    bodies += [(c.source, c.body_html) for c in site.gate.campaigns]
    withdrawn = {w.url for w in site.gate.withdrawn}
    public = {s.id for s in site.gate.public}
    # (a link to a story held back is an error of the build itself, gate.py: already among the problems)
    withdrawn |= {urls.story(r.slug) for r in site.records.stories if r.id not in public}
    for source, body in bodies:
        path = site.config.root / source
        for target in dict.fromkeys(urls.site_links(body)):  # (read as the browser reads them, as the build does)
            if not target:
                continue  # (a link to the same page's #part)
            file = urls.file_of(target)
            if target in withdrawn:
                continue  # an error of the build itself (gate.py), already among the problems
            if file not in produced:
                if "." in target.rsplit("/", 1)[-1]:
                    message = t("broken internal link: no image or file at {target}", target=target)
                else:
                    message = t("broken internal link: no page at {target}", target=target)
                problems.error(source, _line_of(path, target.rstrip("/").rsplit("/", 1)[-1], 1), None, message,
                               _("a path that exists, e.g. /stories/<slug>/ or images/<file>"))
