"""Internal reports: assessment schedule, quotas, coverage, pipeline; never inside the public output."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from conftest import NOW, Site
from exemplar_site.cli import main
from exemplar_site.errors import BuildFailed
from exemplar_site.pipeline import BuildOptions
from exemplar_site.reports import Reports, add_months, assessment_rule, write_reports


@pytest.mark.parametrize("day,months,expected", [
    (dt.date(2026, 1, 31), 6, dt.date(2026, 7, 31)),
    (dt.date(2026, 8, 31), 6, dt.date(2027, 2, 28)),
    (dt.date(2027, 8, 31), 6, dt.date(2028, 2, 29)),
    (dt.date(2024, 2, 29), 12, dt.date(2025, 2, 28)),
    (dt.date(2026, 12, 31), 12, dt.date(2027, 12, 31)),
    (dt.date(2026, 6, 30), 6, dt.date(2026, 12, 30)),
])
def test_add_months_clamps_to_month_end(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize("kind,level,rule", [
    ("collective", "national", ("political", 6)),
    ("collective", "provincial", ("political", 6)),
    ("collective", "city", ("unit", 12)),
    ("individual", "national", ("political", 6)),
    ("individual", "ministry", ("political", 6)),
    ("individual", "provincial", ("unit", 12)),
    ("individual", "district", ("unit", 12)),
])
def test_assessment_rule_from_the_document(kind: str, level: str, rule: tuple[str, int]) -> None:
    assert assessment_rule(kind, level) == rule


def report(site: Site, as_of: dt.date, tmp_path: Path) -> Reports:
    return write_reports(site.config, BuildOptions(now=dt.datetime(as_of.year, as_of.month, as_of.day)),
                         tmp_path / "reports").reports


def rows(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_due_dates_at_half_year_and_year_boundaries(site: Site, tmp_path: Path) -> None:
    site.story("half", "c-1", kind="collective", level="provincial",
               private={"assessments": [{"date": dt.date(2026, 5, 31), "result": "优秀"}]})
    site.story("year", "i-1", level="city",
               private={"assessments": [{"date": dt.date(2025, 11, 30), "result": "合格"},
                                        {"date": dt.date(2024, 11, 30), "result": "合格"}]})
    site.story("never", "n-1", level="district", date=dt.date(2025, 8, 31), approved_date=dt.date(2025, 8, 31))
    rep = report(site, dt.date(2026, 11, 30), tmp_path)
    by_id = {r.exemplar.id: r for r in rep.schedule}
    c1 = by_id["c-1"]
    assert (c1.assessor, c1.period_months, c1.due) == ("the city bureau's political department", 6,
                                                       dt.date(2026, 11, 30))
    assert not by_id["c-1"].overdue  # due today is not overdue yet
    assert by_id["i-1"].due == dt.date(2026, 11, 30) and by_id["i-1"].assessor == "北一派出所"
    assert by_id["n-1"].last is None and by_id["n-1"].due == dt.date(2026, 8, 31) and by_id["n-1"].overdue
    assert rep.schedule[0].exemplar.id == "n-1"  # overdue first
    rep = report(site, dt.date(2026, 12, 1), tmp_path)
    assert {r.exemplar.id for r in rep.schedule if r.overdue} == {"c-1", "i-1", "n-1"}
    csv_rows = rows(tmp_path / "reports" / "assessments.csv")
    assert csv_rows[0]["是否逾期"] == "是" and {r["典型编号"] for r in csv_rows} == {"c-1", "i-1", "n-1"}
    assert next(r for r in csv_rows if r["典型编号"] == "n-1")["上次考核日期"] == ""


def test_follow_up_stories_are_one_exemplar(site: Site, tmp_path: Path) -> None:
    site.story("a", "a-1", date=dt.date(2024, 3, 1),
               private={"assessments": [{"date": dt.date(2025, 3, 1), "result": "合格"}]})
    site.story("b", "a-2", date=dt.date(2026, 3, 1), exemplar_of="a-1",
               private={"assessments": [{"date": dt.date(2026, 3, 1), "result": "优秀"}]})
    rep = report(site, dt.date(2026, 11, 24), tmp_path)
    (row,) = rep.schedule
    assert row.exemplar.id == "a-1" and row.last == dt.date(2026, 3, 1) and row.last_result == "优秀"


def test_quotas_met_and_missed(site: Site, tmp_path: Path) -> None:
    site.story("n", "n-1", unit="n1", level="city", date=dt.date(2026, 4, 1))       # north: city-level → met
    site.story("s", "s-1", unit="s1", level="district", date=dt.date(2026, 4, 1))   # south: district only → short
    site.story("p", "p-1", unit="traffic", level="provincial", date=dt.date(2025, 6, 1),
               approved_date=dt.date(2025, 6, 1))                                  # city bureau 2025: met
    site.story("w", "w-1", unit="s1", level="city", status="withdrawn", date=dt.date(2026, 5, 1))  # does not count
    rep = report(site, dt.date(2026, 11, 24), tmp_path)
    q = {(r.unit, r.year): r for r in rep.quotas}
    assert q[("north", 2026)].met and q[("north", 2026)].qualifying == 1
    assert not q[("south", 2026)].met and q[("south", 2026)].counts == {"district": 1}
    assert q[("city", 2025)].met and not q[("city", 2026)].met
    csv_rows = rows(tmp_path / "reports" / "quotas.csv")
    south = next(r for r in csv_rows if r["单位"] == "南区分局" and r["年度"] == "2026")
    assert south["是否完成"] == "否" and south["区县级"] == "1" and south["单位类型"] == "district bureau"
    page = (tmp_path / "reports" / "quotas.html").read_text(encoding="utf-8")
    assert page.count('class="short"') == sum(1 for r in rep.quotas if not r.met)


def test_coverage_and_pipeline(site: Site, tmp_path: Path) -> None:
    site.story("a", "a-1", unit="n1", field="shequ")
    site.story("b", "b-1", unit="s1", field="jiaojing", level="provincial")
    site.story("r", "r-1", status="recommended", date=dt.date(2026, 2, 1))
    site.story("v", "v-1", vetting=None, date=dt.date(2026, 1, 1))
    site.story("x", "x-1", vetting={"cleared_by": "纪委", "date": dt.date(2024, 1, 1), "ref": "旧审1号"})
    site.story("y", "y-1", vetting={"cleared_by": "纪委", "date": dt.date(2026, 2, 1), "ref": "文号"},
               date=dt.date(2026, 6, 1), unit="traffic")
    rep = report(site, dt.date(2026, 11, 24), tmp_path)
    assert rep.coverage[("shequ", "north")] == 3 and rep.coverage[("jiaojing", "south")] == 1  # selected, vetted or not
    assert ("xingzhen", "north") not in rep.coverage
    assert [w.record.id for w in rep.waiting] == ["v-1", "r-1", "x-1", "y-1"]  # oldest first
    assert [w.waiting_for for w in rep.waiting] == ["vetting", "approval", "vetting", "vetting"]
    assert rep.status_counts["recommended"] == 1 and rep.status_counts["approved"] == 5


def test_withdrawn_in_report_but_absent_from_public_output(site: Site, tmp_path: Path) -> None:
    site.story("w", "w-1", status="withdrawn", name="落马者", private={"notes": "立案审查"})
    site.story("a", "a-1")
    site.build()
    public = b"".join(p.read_bytes() for p in site.out.rglob("*") if p.is_file())
    assert "落马者".encode() not in public
    rep = report(site, dt.date(2026, 11, 24), tmp_path)
    assert [r.id for r in rep.withdrawn] == ["w-1"] and rep.status_counts["withdrawn"] == 1
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert "落马者" in index and "内部资料" in index and "noindex" in index


def test_private_data_is_in_the_report_only(site: Site, tmp_path: Path) -> None:
    site.story("a", "a-1", private={"assessments": [{"date": dt.date(2026, 6, 1), "result": "优秀",
                                                     "notes": "SENTINEL-NOTE"}]})
    site.build()
    report(site, dt.date(2026, 11, 24), tmp_path)
    assert "SENTINEL-NOTE" in (tmp_path / "reports" / "assessments.html").read_text(encoding="utf-8")
    assert not any(b"SENTINEL-NOTE" in p.read_bytes() for p in site.out.rglob("*") if p.is_file())


def test_reports_never_land_inside_the_public_output(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.story("a", "a-1")
    site.build()
    before = sorted(p.relative_to(site.out) for p in site.out.rglob("*"))
    code = main(["report", "--config", str(site.config), "--as-of", "2026-11-24",
                 "--output", str(site.out / "internal")])
    assert code == 1 and "inside or around the public output" in capsys.readouterr().err
    assert sorted(p.relative_to(site.out) for p in site.out.rglob("*")) == before
    # the default location is separate, and a public build refuses a folder holding reports
    assert main(["report", "--config", str(site.config), "--as-of", "2026-11-24"]) == 0
    assert (site.root / "reports" / "index.html").is_file()
    with pytest.raises(BuildFailed) as info:
        site.build(output=site.root / "reports")
    assert "internal reports" in info.value.problems[0].message


def test_config_refuses_reports_dir_inside_output(tmp_path: Path) -> None:
    from conftest import make_site
    site = make_site(tmp_path / "s", reports_dir="public/reports")
    with pytest.raises(BuildFailed) as info:
        site.build()
    assert info.value.problems[0].field == "reports_dir"


def test_report_is_reproducible_for_an_as_of_date(site: Site, tmp_path: Path) -> None:
    site.story("a", "a-1")
    write_reports(site.config, BuildOptions(now=dt.datetime(2026, 11, 24)), tmp_path / "one")
    write_reports(site.config, BuildOptions(now=dt.datetime(2026, 11, 24, 23, 0)), tmp_path / "two")
    one = {p.name: p.read_bytes() for p in (tmp_path / "one").iterdir()}
    two = {p.name: p.read_bytes() for p in (tmp_path / "two").iterdir()}
    assert one == two
    assert NOW.date() == dt.date(2026, 11, 24)


def csv_table(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def test_csv_headers_are_chinese_by_default_and_english_on_request(tmp_path: Path) -> None:
    from conftest import make_site
    expected = {
        "assessments.csv": (
            ["典型编号", "姓名/名称", "类别", "单位", "级别", "考核单位", "考核周期（月）", "上次考核日期",
             "上次考核结果", "上次考核备注", "下次应考核日期", "是否逾期", "逾期天数"],
            ["exemplar_id", "name", "kind", "unit", "level", "assessor", "period_months", "last_assessed",
             "last_result", "last_notes", "next_due", "overdue", "days_overdue"]),
        "quotas.csv": (
            ["单位", "单位类型", "年度", "任务级别", "任务数", "国家级", "部级", "省级", "市级", "区县级",
             "计入任务数", "是否完成"],
            ["unit", "unit_type", "year", "target_level", "target", "national", "ministry", "provincial", "city",
             "district", "qualifying", "met"]),
        "coverage.csv": (["警种行业", "北区分局", "南区分局", "市局交警支队"],
                         ["field", "北区分局", "南区分局", "市局交警支队"]),
        "pipeline.csv": (["编号", "标题", "典型", "单位", "状态", "日期", "等待", "说明", "文件"],
                         ["id", "title", "name", "unit", "status", "date", "waiting_for", "detail", "file"]),
    }
    for headers, (yes, no), which in (("chinese", ("是", "否"), 0), ("english", ("yes", "no"), 1)):
        site = make_site(tmp_path / headers, {"csv_headers": headers} if headers == "english" else None)
        site.story("o", "o-1", level="district", date=dt.date(2025, 1, 1), approved_date=dt.date(2025, 1, 1))
        site.story("f", "f-1", level="district", date=dt.date(2026, 11, 1), approved_date=dt.date(2026, 11, 1))
        site.story("r", "r-1", status="recommended", date=dt.date(2026, 2, 1))
        report(site, dt.date(2026, 11, 24), tmp_path / f"out-{headers}")
        out = tmp_path / f"out-{headers}" / "reports"
        for name, forms in expected.items():
            table = csv_table(out / name)
            assert table[0] == forms[which], (headers, name)
            assert all(len(row) == len(table[0]) for row in table), (headers, name)
        assessed = {row[0]: row for row in csv_table(out / "assessments.csv")[1:]}
        assert assessed["o-1"][11] == yes and assessed["f-1"][11] == no
        assert {row[-1] for row in csv_table(out / "quotas.csv")[1:]} <= {yes, no}
        (waiting,) = csv_table(out / "pipeline.csv")[1:]
        assert waiting[6] == ("approval" if headers == "english" else "approval by the Party committee")
        assert waiting[7] == "recommended, waiting for approval by the Party committee"


def report_page(root: Path, name: str) -> Any:
    return lxml_html.fromstring((root / "reports" / name).read_bytes())


def test_assessments_due_soon_amber_overdue_red_later_neutral(site: Site, tmp_path: Path) -> None:
    # yearly assessments (city level, own unit): due a year after the last one
    def assessed(day: dt.date) -> dict[str, Any]:
        return {"assessments": [{"date": day, "result": "合格"}]}

    site.story("late", "late-1", level="city", private=assessed(dt.date(2025, 11, 1)))    # due 2026-11-01
    site.story("today", "today-1", level="city", private=assessed(dt.date(2025, 11, 24)))  # due today
    site.story("soon", "soon-1", level="city", private=assessed(dt.date(2025, 12, 20)))   # due in 26 days
    site.story("edge", "edge-1", level="city", private=assessed(dt.date(2025, 12, 24)))   # due in 30 days
    site.story("far", "far-1", level="city", private=assessed(dt.date(2026, 6, 1)))       # due in 189 days
    report(site, dt.date(2026, 11, 24), tmp_path)
    page = report_page(tmp_path, "assessments.html")
    rows = {}
    for tr in page.xpath("//tbody/tr"):
        rows[tr.xpath("string(./td[1]/span)").strip()] = tr
    assert set(rows) == {"late-1", "today-1", "soon-1", "edge-1", "far-1"}
    classes = {key: tr.get("class") for key, tr in rows.items()}
    assert classes == {"late-1": "overdue", "today-1": "due-soon", "soon-1": "due-soon", "edge-1": "due-soon",
                       "far-1": "later"}
    flags = {key: tr.xpath("./td[last()]/span")[0].get("class") for key, tr in rows.items()}
    assert flags["late-1"] == "flag flag-bad" and flags["far-1"] == "flag flag-plain"
    assert flags["soon-1"] == flags["today-1"] == "flag flag-warn"
    assert rows["late-1"].xpath("string(./td[last()])").strip() == "逾期 23 天"
    assert rows["today-1"].xpath("string(./td[last()])").strip() == "今天到期"
    css = page.xpath("string(//style)")
    assert "tr.overdue td" in css and "tr.due-soon td" in css
    assert "tr.later" not in css  # far-off is neutral: no colour of its own
    index = report_page(tmp_path, "index.html")
    cards = {d.xpath("string(span)"): d.xpath("string(strong)") for d in index.xpath("//div[@class='cards']/div")}
    assert cards["逾期未考核"] == "1" and cards["30 天内到期的考核"] == "3"


def test_pipeline_dates_and_ids_do_not_wrap(site: Site, tmp_path: Path) -> None:
    site.story("r", "recommended-story-2026-0001", status="recommended", date=dt.date(2026, 2, 1))
    report(site, dt.date(2026, 11, 24), tmp_path)
    page = report_page(tmp_path, "pipeline.html")
    (row,) = page.xpath("//tbody/tr")
    date, ident = row.xpath("./td")[:2]
    assert date.get("class") == "date" and date.text_content() == "2026年2月1日"
    assert ident.get("class") == "id" and ident.text_content() == "recommended-story-2026-0001"
    assert len(page.xpath("//table/colgroup/col")) == len(page.xpath("//thead/tr/th"))
    assert ".nowrap, td.date, td.id { white-space: nowrap; }" in page.xpath("string(//style)")


@pytest.mark.parametrize("name", ["index.html", "assessments.html", "quotas.html", "coverage.html",
                                  "pipeline.html"])
def test_every_report_prints_on_a4_without_navigation(site: Site, tmp_path: Path, name: str) -> None:
    site.story("a", "a-1")
    report(site, dt.date(2026, 11, 24), tmp_path)
    css = report_page(tmp_path, name).xpath("string(//style)")
    assert "@page { size: A4; margin:" in css
    wide = name in ("assessments.html", "quotas.html", "pipeline.html")
    assert ("@page { size: A4 landscape; }" in css) == wide  # the wide tables turn the page
    print_css = css[css.index("@media print"):]
    assert "nav, .no-print { display: none !important; }" in print_css
    assert "thead { display: table-header-group; }" in print_css and "break-inside: avoid" in print_css
