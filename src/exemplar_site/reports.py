"""Internal management reports for the political department (政治部).

The only consumer of private data besides the gate. Reads records (with
their private assessments), computes the assessment schedule, yearly
quotas, coverage and the vetting/approval pipeline as of a given date, and
writes an internal site plus CSV files into `reports_dir`, which is never
inside the public output (the config refuses it, and the writer refuses to
mix an internal folder with a public one).

The report pages are the theme's templates/reports/*.html (Chinese, like the
rest of the default theme); the labels made here (status and kind names, what
a story waits for) come from the message catalogue. The CSV files are for
Excel: Chinese headers and 是/否 by default; with `csv_headers: english` in
site_config.yaml, the machine-friendly English headers and yes/no that scripts
and integrations read. Only the headers and the yes/no cells depend on that
option (and the `waiting_for` column: a label in Chinese, approval/vetting in
English); every other cell is the same in both.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import jinja2

from .config import LEVELS, SiteConfig, load_config
from .errors import BuildFailed, Problem
from .gate import decide
from .i18n import N_, _, t
from .model import Output
from .pipeline import BuildOptions, LoadedSite, load_site, template_problem
from .records import PUBLIC_STATUSES, STATUSES, StoryRecord
from .runs import local_now
from .safetree import ASSESSMENT_COLUMNS, PIPELINE_COLUMNS
from .text import csv_cell
from .theme import make_environment
from .writer import INTERNAL, WriteReport, check_target, write_site

LEVEL_RANK = {key: i for i, (key, _name) in enumerate(LEVELS)}
STATUS_NAMES = {  # a story's status, as the internal reports name it
    # TRANSLATORS: a story's status in the internal reports. 原文：典型苗子
    "seedling": N_("potential exemplar"),
    # TRANSLATORS: a story's status in the internal reports. 原文：培养中
    "cultivating": N_("being cultivated"),
    # TRANSLATORS: a story's status in the internal reports. 原文：已推荐待审批
    "recommended": N_("recommended, awaiting approval"),
    # TRANSLATORS: a story's status in the internal reports. 原文：已审批选树
    "approved": N_("approved and selected"),
    # TRANSLATORS: a story's status in the internal reports. 原文：已命名表彰
    "commended": N_("named and commended"),
    # TRANSLATORS: a story's status in the internal reports. 原文：已撤销
    "withdrawn": N_("withdrawn"),
}
KIND_NAMES = {
    # TRANSLATORS: an exemplar who is one person. 原文：个人
    "individual": N_("individual"),
    # TRANSLATORS: an exemplar that is a unit or team. 原文：集体
    "collective": N_("collective"),
}
UNIT_TYPE_NAMES = {  # the unit types of site_config.yaml, in the quota CSV
    # TRANSLATORS: a kind of unit (quota CSV). 原文：市局
    "city": N_("city bureau"),
    # TRANSLATORS: a kind of unit (quota CSV). 原文：分局
    "district": N_("district bureau"),
    # TRANSLATORS: a kind of unit (quota CSV). 原文：派出所
    "station": N_("police station"),
    # TRANSLATORS: a kind of unit (quota CSV). 原文：机关部门
    "department": N_("bureau department"),
    # TRANSLATORS: a kind of unit (quota CSV). 原文：社区警务室
    "community": N_("community police office"),
}
# TRANSLATORS: who assesses provincial-level collectives and ministry-level individuals. 原文：市局政治部
POLITICAL_DEPT = N_("the city bureau's political department")
WAITING_NAMES = {  # what a story in the pipeline report waits for
    # TRANSLATORS: what a story waits for (pipeline report). 原文：党委审批
    "approval": N_("approval by the Party committee"),
    # TRANSLATORS: what a story waits for (pipeline report). 原文：纪检监察审核
    "vetting": N_("vetting by discipline inspection"),
}
DUE_SOON_DAYS = 30  # an assessment due within this many days is shown in amber


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months later, clamped to the month's end (Aug 31 + 6 → Feb 28/29)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def assessment_rule(kind: str, level: str) -> tuple[str, int]:
    """Who assesses and every how many months (定期考核).

    Provincial-level-and-above collectives and ministry-level-and-above
    individuals: the political department, every half year. All others: their
    own unit, every year.
    """
    rank = LEVEL_RANK[level]
    if (kind == "collective" and rank <= LEVEL_RANK["provincial"]) or \
            (kind == "individual" and rank <= LEVEL_RANK["ministry"]):
        return "political", 6
    return "unit", 12


@dataclass(frozen=True)
class Exemplar:
    """One exemplar across its stories (a follow-up chain via exemplar_of)."""

    id: str  # id of the first story
    name: str
    kind: str
    unit: str
    field: str
    level: str  # the highest level among its stories
    status: str  # status of the latest story
    selected: dt.date  # approval date (or story date) of the first selected story
    stories: tuple[StoryRecord, ...]


@dataclass(frozen=True)
class AssessmentRow:
    exemplar: Exemplar
    assessor: str
    period_months: int
    last: dt.date | None
    last_result: str
    last_notes: str
    due: dt.date
    overdue: bool
    days: int  # days overdue (>0) or until due (<=0)

    @property
    def urgency(self) -> str:
        """'overdue' (red), 'due-soon' (amber: due today or within DUE_SOON_DAYS) or 'later' (neutral)."""
        if self.overdue:
            return "overdue"
        return "due-soon" if -self.days <= DUE_SOON_DAYS else "later"


@dataclass(frozen=True)
class QuotaRow:
    unit: str
    unit_name: str
    unit_type: str
    year: int
    level: str
    minimum: int
    counts: dict[str, int]  # level → exemplars selected that year (unit and sub-units)
    qualifying: int

    @property
    def met(self) -> bool:
        return self.qualifying >= self.minimum


@dataclass(frozen=True)
class PipelineRow:
    record: StoryRecord
    waiting_for: str  # "approval" | "vetting"
    detail: str


@dataclass(frozen=True)
class Reports:
    as_of: dt.date
    exemplars: tuple[Exemplar, ...]
    schedule: tuple[AssessmentRow, ...]
    quotas: tuple[QuotaRow, ...]
    coverage_units: tuple[tuple[str, str], ...]  # (key, name) columns
    coverage: dict[tuple[str, str], int]  # (field, unit) → exemplars
    by_level: dict[str, int]
    status_counts: dict[str, int]
    waiting: tuple[PipelineRow, ...]
    withdrawn: tuple[StoryRecord, ...]


def _selected_on(r: StoryRecord) -> dt.date:
    return r.approved_date or r.date.date()


def group_exemplars(records: tuple[StoryRecord, ...]) -> list[Exemplar]:
    by_id = {r.id: r for r in records}

    def root(r: StoryRecord) -> str:
        seen: set[str] = set()
        cur = r
        while cur.exemplar_of and cur.exemplar_of in by_id and cur.id not in seen:
            seen.add(cur.id)
            cur = by_id[cur.exemplar_of]
        return cur.id

    groups: dict[str, list[StoryRecord]] = defaultdict(list)
    for r in records:
        groups[root(r)].append(r)
    out = []
    for rid, stories in groups.items():
        stories.sort(key=lambda r: (r.date, r.id))
        latest = stories[-1]
        chosen = [r for r in stories if r.status in PUBLIC_STATUSES] or stories
        level = min((r.level for r in stories), key=lambda lv: LEVEL_RANK[lv])
        out.append(Exemplar(rid, latest.name, latest.kind, latest.unit, latest.field, level,
                            "withdrawn" if any(r.status == "withdrawn" for r in stories) else latest.status,
                            min(_selected_on(r) for r in chosen), tuple(stories)))
    return sorted(out, key=lambda e: (e.selected, e.id))


def schedule(exemplars: list[Exemplar], config: SiteConfig, as_of: dt.date) -> list[AssessmentRow]:
    rows = []
    for e in exemplars:
        if e.status not in PUBLIC_STATUSES:
            continue
        who, months = assessment_rule(e.kind, e.level)
        assessments = sorted((a for r in e.stories for a in r.assessments), key=lambda a: a.date)
        last = assessments[-1] if assessments else None
        due = add_months(last.date if last else e.selected, months)
        unit = config.units.get(e.unit)
        assessor = _(POLITICAL_DEPT) if who == "political" else (unit.name if unit else e.unit)
        rows.append(AssessmentRow(e, assessor, months, last.date if last else None,
                                  last.result if last else "", last.notes if last else "",
                                  due, due < as_of, (as_of - due).days))
    return sorted(rows, key=lambda r: (not r.overdue, r.due, r.exemplar.id))


def quotas(exemplars: list[Exemplar], config: SiteConfig, as_of: dt.date) -> list[QuotaRow]:
    selected = [e for e in exemplars if e.status in PUBLIC_STATUSES]
    years = sorted({e.selected.year for e in selected} | {as_of.year})
    rows = []
    for q in config.quotas:
        for unit in config.units.units:
            if unit.type != q.unit_type:
                continue
            scope = set(config.units.descendants(unit.key))
            for year in years:
                counts = Counter(e.level for e in selected if e.unit in scope and e.selected.year == year)
                qualifying = sum(n for lv, n in counts.items() if LEVEL_RANK[lv] <= LEVEL_RANK[q.level])
                rows.append(QuotaRow(unit.key, unit.name, unit.type, year, q.level, q.minimum, dict(counts),
                                     qualifying))
    return sorted(rows, key=lambda r: (-r.year, r.met, r.unit))


def _vetting_detail(r: StoryRecord, config: SiteConfig, as_of: dt.datetime) -> str | None:
    """Why an approved story still waits for vetting (None: it does not)."""
    verdict = decide(r, config, as_of)
    reason = verdict.reason if verdict else None
    if reason == "no-vetting":
        # TRANSLATORS: 原文：已审批，尚无纪检监察审核意见
        return _("approved, but there is no vetting opinion from discipline inspection yet")
    if reason == "vetting-expired" and r.vetting:
        # TRANSLATORS: 原文：审核意见（{date}，{ref}）已超过{days}天有效期，需重新审核
        return t("the vetting opinion ({date}, {ref}) is older than its {days} days of validity: it must be "
                 "vetted again", date=r.vetting.date, ref=r.vetting.ref, days=config.vetting_valid_days)
    if reason == "vetting-incomplete":
        # TRANSLATORS: 原文：审核意见没有填完整（审核单位或文号空着，或文号还是占位文字）
        return _("the vetting opinion is not complete (the vetting body or the reference number is empty, or "
                 "the number is still the placeholder text)")
    if reason == "vetting-future" and r.vetting:
        # TRANSLATORS: 原文：审核意见的日期 {date} 还没到
        return t("the date of the vetting opinion, {date}, has not come yet", date=r.vetting.date)
    return None


def build_reports(site: LoadedSite, as_of: dt.datetime) -> Reports:
    config = site.config
    records = site.records.stories
    today = as_of.date()
    exemplars = group_exemplars(records)
    selected = [e for e in exemplars if e.status in PUBLIC_STATUSES]
    top = [u for u in config.units.units if u.depth == 1] or list(config.units.units[:1])
    coverage: dict[tuple[str, str], int] = Counter()
    for e in selected:
        for u in top:
            if e.unit in config.units.descendants(u.key):
                coverage[(e.field, u.key)] += 1
        if e.unit == config.units.units[0].key:
            coverage[(e.field, "__root")] += 1
    columns = tuple((u.key, u.name) for u in top)
    if any(k[1] == "__root" for k in coverage):
        # TRANSLATORS: a coverage column: exemplars of the top unit itself, not of its sub-units. 原文：{unit}（本级）
        columns = (("__root", t("{unit} (own level)", unit=config.units.units[0].name)), *columns)
    waiting = []
    for r in records:
        if r.status == "recommended":
            # TRANSLATORS: 原文：已推荐，待党委审批
            waiting.append(PipelineRow(r, "approval", _("recommended, waiting for approval by the Party committee")))
        elif r.status in PUBLIC_STATUSES:
            detail = _vetting_detail(r, config, as_of)
            if detail:
                waiting.append(PipelineRow(r, "vetting", detail))
    waiting.sort(key=lambda w: (w.record.date, w.record.id))
    return Reports(
        as_of=today, exemplars=tuple(exemplars), schedule=tuple(schedule(exemplars, config, today)),
        quotas=tuple(quotas(exemplars, config, today)), coverage_units=columns, coverage=dict(coverage),
        by_level=dict(Counter(e.level for e in selected)),
        status_counts={s: sum(1 for r in records if r.status == s) for s in STATUSES},
        waiting=tuple(waiting),
        withdrawn=tuple(sorted((r for r in records if r.status == "withdrawn"), key=lambda r: (r.date, r.id))),
    )


QUOTA_COLUMNS_BEFORE = (("unit", "单位"), ("unit_type", "单位类型"), ("year", "年度"),
                        ("target_level", "任务级别"), ("target", "任务数"))
QUOTA_COLUMNS_AFTER = (("qualifying", "计入任务数"), ("met", "是否完成"))
COVERAGE_FIRST_COLUMN = ("field", "警种行业")
YES_NO = {"english": ("yes", "no"), "chinese": ("是", "否")}


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    """UTF-8 CSV with BOM for Excel; no cell can start a formula (text.csv_cell)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([csv_cell(v) for v in header])
    w.writerows([csv_cell(v) for v in row] for row in rows)
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def _headers(columns: tuple[tuple[str, str], ...], config: SiteConfig) -> list[str]:
    return [english if config.csv_headers == "english" else chinese for english, chinese in columns]


def report_csvs(rep: Reports, config: SiteConfig, names: dict[str, dict[str, str]]) -> list[Output]:
    """assessments.csv, quotas.csv, coverage.csv and pipeline.csv, with the headers `csv_headers` chooses."""
    english = config.csv_headers == "english"
    yes, no = YES_NO["english" if english else "chinese"]
    n = names
    level_names = {k: n["level"].get(k, k) for k, _name in LEVELS}
    out = [Output("assessments.csv", _csv(_headers(ASSESSMENT_COLUMNS, config), [
        [r.exemplar.id, r.exemplar.name, n["kind"][r.exemplar.kind], n["unit"][r.exemplar.unit],
         n["level"][r.exemplar.level], r.assessor, r.period_months, r.last.isoformat() if r.last else "",
         r.last_result, r.last_notes, r.due.isoformat(), yes if r.overdue else no, max(0, r.days)]
        for r in rep.schedule]))]
    levels = tuple((k, level_names[k]) for k, _name in LEVELS)  # a column per level: key / Chinese name
    out.append(Output("quotas.csv", _csv(
        _headers((*QUOTA_COLUMNS_BEFORE, *levels, *QUOTA_COLUMNS_AFTER), config),
        [[q.unit_name, q.unit_type if english else _(UNIT_TYPE_NAMES.get(q.unit_type, q.unit_type)), q.year,
          n["level"][q.level], q.minimum, *[q.counts.get(k, 0) for k, _name in LEVELS], q.qualifying,
          yes if q.met else no] for q in rep.quotas])))
    out.append(Output("coverage.csv", _csv(
        [_headers((COVERAGE_FIRST_COLUMN,), config)[0], *[name for _key, name in rep.coverage_units]],
        [[c.name, *[rep.coverage.get((c.key, u), 0) for u, _name in rep.coverage_units]] for c in config.fields])))
    out.append(Output("pipeline.csv", _csv(_headers(PIPELINE_COLUMNS, config), [
        [w.record.id, w.record.title, w.record.name, n["unit"][w.record.unit], n["status"][w.record.status],
         w.record.date.date().isoformat(), w.waiting_for if english else n["waiting"][w.waiting_for], w.detail,
         w.record.path] for w in rep.waiting])))
    return out


def render_reports(rep: Reports, config: SiteConfig) -> list[Output]:
    env = make_environment(config)
    names = {
        "unit": {u.key: u.name for u in config.units.units} | {"__root": config.units.units[0].name},
        "field": {c.key: c.name for c in config.fields},
        "level": {c.key: c.name for c in config.levels},
        "status": {key: _(name) for key, name in STATUS_NAMES.items()},
        "kind": {key: _(name) for key, name in KIND_NAMES.items()},
        "waiting": {key: _(name) for key, name in WAITING_NAMES.items()},
    }
    # TRANSLATORS: the title of the internal reports. 原文：{site}：内部管理报表
    title = t("{site}: internal management reports", site=config.title)
    ctx = dict(rep=rep, names=names, config=config, fields=config.fields, levels=config.levels, title=title,
               link_base=None, due_soon_days=DUE_SOON_DAYS)
    out = []
    for page, template in (("index.html", "reports/index.html"), ("assessments.html", "reports/assessments.html"),
                           ("quotas.html", "reports/quotas.html"), ("coverage.html", "reports/coverage.html"),
                           ("pipeline.html", "reports/pipeline.html")):
        try:
            html = env.get_template(template).render(page_path=page, page=page, **ctx)
        except jinja2.TemplateError as exc:
            raise BuildFailed([template_problem(exc)]) from None
        out.append(Output(page, html.encode("utf-8")))
    return out + report_csvs(rep, config, names)


@dataclass(frozen=True)
class ReportResult:
    output_dir: Path
    reports: Reports
    write: WriteReport
    warnings: tuple[Problem, ...]


def write_reports(config_path: str | Path, options: BuildOptions, output: Path | None = None) -> ReportResult:
    """`build.py report`: compute as of options.now and write the internal site, into a folder of
    its own: never the public output, inside it or around it, nor inside any site folder."""
    config = load_config(config_path, options.output)
    target = output.resolve() if output else config.reports_dir
    public = config.output_dir.resolve()
    if target == public or target.is_relative_to(public) or public.is_relative_to(target):
        # TRANSLATORS: 原文：内部报表不能写进公开网站的输出文件夹 {public}，也不能写在包含它的文件夹里
        message = t("internal reports may not be written inside or around the public output folder {public} "
                    "(neither into it nor into a folder that holds it)", public=public)
        # TRANSLATORS: 原文：另选一个网站以外的文件夹，例如 --output reports
        accepted = _("choose a folder outside the site, e.g. --output reports")
        raise BuildFailed([Problem(str(target), None, "--output", message, accepted)])
    own = next((d for d in (config.content_dir.resolve(), config.themes_dir.resolve())
                if target == d or target.is_relative_to(d)), None)
    if own is not None:  # (the build refuses such a folder too: safetree)
        # TRANSLATORS: 原文：内部报表不能写进网站自己的文件（{folder}）里：下次生成网站时会被一起发布
        message = t("internal reports may not be written among the site's own files ({folder}): the next build "
                    "would publish them with the site", folder=own)
        raise BuildFailed([Problem(str(target), None, "--output", message,
                                   _("choose a folder outside the site, e.g. --output reports"))])
    refused = check_target(target, INTERNAL)  # e.g. inside a site built with --output elsewhere
    if refused:
        raise BuildFailed(refused)
    site = load_site(config_path, options)
    config = site.config
    rep = build_reports(site, local_now(options, config))
    outputs = render_reports(rep, config)
    written = write_site(outputs, target, kind=INTERNAL)
    return ReportResult(target, rep, written, site.problems + written.warnings)


__all__ = ["add_months", "assessment_rule", "build_reports", "render_reports", "write_reports"]
