"""Internal reports: assessment schedule, quotas, coverage, pipeline; never inside the public output."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

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
    assert (c1.assessor, c1.period_months, c1.due) == ("市局政治部", 6, dt.date(2026, 11, 30))
    assert not by_id["c-1"].overdue  # due today is not overdue yet
    assert by_id["i-1"].due == dt.date(2026, 11, 30) and by_id["i-1"].assessor == "北一派出所"
    assert by_id["n-1"].last is None and by_id["n-1"].due == dt.date(2026, 8, 31) and by_id["n-1"].overdue
    assert rep.schedule[0].exemplar.id == "n-1"  # overdue first
    rep = report(site, dt.date(2026, 12, 1), tmp_path)
    assert {r.exemplar.id for r in rep.schedule if r.overdue} == {"c-1", "i-1", "n-1"}
    csv_rows = rows(tmp_path / "reports" / "assessments.csv")
    assert csv_rows[0]["overdue"] == "yes" and {r["exemplar_id"] for r in csv_rows} == {"c-1", "i-1", "n-1"}
    assert next(r for r in csv_rows if r["exemplar_id"] == "n-1")["last_assessed"] == ""


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
    south = next(r for r in csv_rows if r["unit"] == "南区分局" and r["year"] == "2026")
    assert south["met"] == "no" and south["district"] == "1"
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
