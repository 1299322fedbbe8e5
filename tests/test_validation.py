"""Each validation error: file, line, field, what is accepted; all at once; nothing written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import Site, make_site, story
from exemplar_site.cli import main
from exemplar_site.errors import BuildFailed, Problem


def errors_of(site: Site) -> list[Problem]:
    with pytest.raises(BuildFailed) as info:
        site.build()
    return [p for p in info.value.problems if p.is_error]


def line_of(path: Path, text: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(text):
            return i
    raise AssertionError(text)


def test_unknown_unit_names_line_and_closest_units(site: Site) -> None:
    path = site.story("a", "a-1", unit="n3")
    (p,) = errors_of(site)
    assert p.path == "content/stories/a.md"
    assert p.line == line_of(path, "unit:")
    assert p.field == "unit"
    assert "unknown unit 'n3'; did you mean:" in p.message and "n1" in p.message and "n2" in p.message
    assert "n1 (北一派出所)" in (p.accepted or "")


def test_unit_by_display_name_is_accepted(site: Site) -> None:
    site.story("a", "a-1", unit="北一派出所", field="交警", level="市级")
    report = site.build()
    assert report.public == 1


def test_bad_date_shows_accepted_form(site: Site) -> None:
    path = site.story("a", "a-1", date="2026-13-45")
    (p,) = errors_of(site)
    assert (p.field, p.line) == ("date", line_of(path, "date:"))
    assert "'2026-13-45' is not a date" in p.message
    assert "YYYY-MM-DD" in (p.accepted or "")


@pytest.mark.parametrize(("written", "said"), [
    ("2026年11月31日", "month 11 of 2026 has no day 31"),
    ("2026-02-30", "month 2 of 2026 has no day 30"),
    ("2026/13/01", "there is no month 13"),
])
def test_a_day_no_calendar_has_is_told_as_such(site: Site, written: str, said: str) -> None:
    site.story("a", "a-1", date=written)
    (p,) = errors_of(site)
    assert p.field == "date" and said in p.message, p.message


def test_a_private_day_no_calendar_has_is_never_echoed(site: Site) -> None:
    site.story("a", "a-1", private={"assessments": [{"date": "1973-02-30", "result": "优秀"}]})
    (p,) = errors_of(site)
    assert (p.field or "").startswith("private.assessments") and "1973" not in p.message and "30" not in p.message


@pytest.mark.parametrize("written", ["2026-3-5", "2026/3/5", "2026.03.05", "2026年3月5日", "2026-3-5 09:30",
                                     "2026-3-5 9:30"])
def test_a_day_written_without_leading_zeros_or_with_other_separators_is_read(site: Site, written: str) -> None:
    site.story("a", "a-1", slug="a", date=written)
    assert site.build().public == 1
    assert "2026年3月5日" in site.text_of("stories/a/index.html")


@pytest.mark.parametrize(("misspelt", "meant"), [("feild", "field"), ("kidn", "kind"), ("tittle", "title")])
def test_a_misspelt_field_is_one_error_at_its_line_not_also_a_missing_one(site: Site, misspelt: str,
                                                                          meant: str) -> None:
    path = site.story("a", "a-1", **{meant: None, misspelt: "shequ" if meant == "field" else "individual"
                                     if meant == "kind" else "标题"})
    (p,) = errors_of(site)
    assert (p.field, p.line) == (misspelt, line_of(path, f"{misspelt}:")) and meant in p.message


def test_a_field_left_out_is_still_missing_beside_an_unknown_one_unlike_it(site: Site) -> None:
    path = site.story("a", "a-1", field=None, remarks="备注")
    found = {(p.field, p.line) for p in errors_of(site)}
    assert ("remarks", line_of(path, "remarks:")) in found and "field" in {f for f, _line in found}


def test_duplicate_id_names_both_files(site: Site) -> None:
    site.story("a", "same-1")
    site.story("b", "same-1", title="另一篇不同标题")
    (p,) = errors_of(site)
    assert p.path == "content/stories/b.md" and p.field == "id"
    assert "content/stories/a.md:2" in p.message


def test_a_copied_story_file_is_a_duplicate_not_a_crash(site: Site) -> None:
    """Two files with the same bytes (a story copied to start a new one) share one content hash."""
    path = site.story("a", "same-1", slug="same")
    site.write("content/stories/copy.md", path.read_text(encoding="utf-8"))
    found = errors_of(site)
    assert {(p.path, p.field) for p in found} == {("content/stories/copy.md", "id"),
                                                  ("content/stories/copy.md", "slug")}


def test_duplicate_slug_names_both_files(site: Site) -> None:
    site.story("a", "a-1", slug="same-slug")
    path = site.story("b", "b-1", slug="same-slug")
    (p,) = errors_of(site)
    assert p.path == "content/stories/b.md" and p.field == "slug" and p.line == line_of(path, "slug:")
    assert "stories/same-slug/" in p.message and "content/stories/a.md" in p.message


def test_broken_yaml_reports_the_yaml_line(site: Site) -> None:
    site.write("content/stories/a.md", "---\nid: a-1\ntitle: 标题: 副标题\nname: x\n---\n正文\n")
    (p,) = errors_of(site)
    assert p.line == 3
    assert "second ': '" in p.message and "quotation marks" in p.message


def test_unclosed_front_matter(site: Site) -> None:
    site.write("content/stories/a.md", "---\nid: a-1\ntitle: x\n正文\n")
    (p,) = errors_of(site)
    assert "not closed" in p.message


def test_unknown_field_suggests_the_right_one(site: Site) -> None:
    path = site.write("content/stories/a.md", story("a-1").replace("tags:", "tagz:"))
    (p,) = errors_of(site)
    assert p.field == "tagz" and p.line == line_of(path, "tagz:")
    assert "did you mean: tags?" in p.message


def test_vetting_incomplete_is_held_back_with_a_warning(site: Site) -> None:
    """Issue 11: a vetting record without its reference is no vetting: held back, said so."""
    site.story("a", "a-1", vetting={"cleared_by": "市局纪委", "date": dt.date(2026, 2, 1)})
    report = site.build()
    assert [(h.id, h.reason) for h in report.held] == [("a-1", "vetting-incomplete")]
    (w,) = [w for w in report.warnings if w.field == "vetting"]
    assert "ref" in w.message


def test_approved_without_vetting_is_held_back_with_a_warning(site: Site) -> None:
    path = site.story("a", "a-1", vetting=None)
    site.story("b", "b-1")
    report = site.build()
    assert report.public == 1
    assert [(h.id, h.reason) for h in report.held] == [("a-1", "no-vetting")]
    (w,) = [w for w in report.warnings if w.field == "vetting"]
    assert w.path == "content/stories/a.md" and w.line == line_of(path, "status:")
    assert "no vetting" in w.message


def test_approved_needs_approved_by(site: Site) -> None:
    site.story("a", "a-1", approved_by=None)
    (p,) = errors_of(site)
    assert "needs 'approved_by'" in p.message


def test_all_errors_of_a_run_are_reported_together(site: Site) -> None:
    site.story("a", "a-1", unit="nowhere")
    site.story("b", "b-1", level="galactic")
    site.story("c", "c-1", status="published")
    site.write("content/stories/d.md", "---\nid: [\n---\n")
    problems = errors_of(site)
    assert {p.path for p in problems} == {f"content/stories/{n}.md" for n in "abcd"}
    assert {p.field for p in problems if p.path != "content/stories/d.md"} == {"unit", "level", "status"}


def test_unknown_campaign_and_exemplar_of(site: Site) -> None:
    site.story("a", "a-1", campaigns=["no-such"], exemplar_of="zz-9")
    problems = errors_of(site)
    assert {p.field for p in problems} == {"campaigns", "exemplar_of"}


def test_missing_image_is_reported_with_close_names(site: Site) -> None:
    site.story("a", "a-1", images=[{"src": "images/b.png", "caption": "图"}])
    (p,) = errors_of(site)
    assert p.field == "images" and "did you mean: images/a.png" in p.message


def test_config_unknown_option_and_missing_required(tmp_path: Path) -> None:
    s = make_site(tmp_path / "s", config={"titel": "x"})
    text = s.config.read_text(encoding="utf-8").replace("title: 测试先进典型\n", "")
    s.config.write_text(text, encoding="utf-8")
    problems = errors_of(s)
    messages = " | ".join(p.message for p in problems)
    assert "unknown option 'titel'; did you mean: title" in messages
    assert "required option 'title' is missing" in messages
    assert all(p.path.endswith("site_config.yaml") for p in problems)


def test_config_bad_base_url_and_duplicate_unit(tmp_path: Path) -> None:
    cfg = {"base_url": "intranet/publicity", "units": {"a": {"name": "甲", "children": {"a": "乙"}}}}
    s = make_site(tmp_path / "s", config=cfg)
    problems = errors_of(s)
    fields = {p.field for p in problems}
    assert "base_url" in fields and "units.a" in fields


def test_failed_build_leaves_previous_output_byte_for_byte(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.story("a", "a-1")
    site.build()
    before = site.files()
    mtimes = {p: (site.out / p).stat().st_mtime_ns for p in before}
    site.story("a", "a-1", unit="nowhere", title="新标题")
    site.story("b", "b-1")
    code = main(["build", "--config", str(site.config), "--now", "2026-11-24T10:00:00+08:00"])
    assert code == 1
    err = capsys.readouterr().err
    assert "content/stories/a.md:" in err and "unknown unit 'nowhere'" in err
    assert "previous output is unchanged" in err
    assert site.files() == before
    assert {p: (site.out / p).stat().st_mtime_ns for p in before} == mtimes
    assert not (site.root / ".public.staging").exists()


def test_non_utf8_file_is_reported(site: Site) -> None:
    (site.root / "content/stories/gbk.md").write_bytes("---\ntitle: 王建国\n---\n".encode("gbk"))
    (p,) = errors_of(site)
    assert "not UTF-8" in p.message and p.path == "content/stories/gbk.md"


# ---- names that must work on Windows too (issue 14) ------------------------------------------

@pytest.mark.parametrize("name, words", [
    ("CON.md", "reserved device name"), ("aux.md", "reserved device name"), ("a:b.md", "does not allow"),
    ("trailing..md", None), ("x" * 200 + ".md", "characters long"),
])
def test_file_names_windows_cannot_hold_are_refused_everywhere(site: Site, name: str, words: str | None) -> None:
    site.write(f"content/stories/{name}", "---\nid: w-1\n---\n正文\n")
    problems = [p for p in errors_of(site) if p.path.endswith(name)]
    if words is None:  # 'trailing..md' is a fine name: only a name ending in a dot is not
        assert not [p for p in problems if "Windows" in p.message]
    else:
        assert any(words in p.message for p in problems), problems


def test_names_that_differ_only_in_case_are_refused(site: Site) -> None:
    site.write("content/images/Photo.png", "x")
    site.write("content/images/photo.png", "x")
    site.story("a", "Ab-1")
    site.story("b", "ab-1")
    site.story("c", "con")
    messages = [(p.path, p.field, p.message) for p in errors_of(site)]
    assert any(path == "content/images/photo.png" and "upper and lower case" in m for path, _, m in messages)
    assert any(f == "id" and "upper and lower case" in m for _, f, m in messages), messages
    assert any(f == "id" and "reserved device name" in m for _, f, m in messages), messages


def test_a_unit_is_found_by_key_or_name_the_first_in_the_config_winning() -> None:
    """UnitTree.resolve looks a value up (key or display name), as walking the units in config
    order and taking the first whose key or name it is; children and descendants keep tree order."""
    from exemplar_site.config import Unit, UnitTree

    tree = UnitTree((Unit("city", "市局", "city", None, 0), Unit("a", "b", "station", "city", 1),
                     Unit("b", "乙所", "station", "city", 1), Unit("c", "a", "team", "b", 2),
                     Unit("d", "丁队", "team", "b", 2)))
    walked = {v: next((u.key for u in tree.units if v in (u.key, u.name)), None)
              for v in ("city", "市局", "a", "b", "乙所", "c", "丁队", "nowhere", "")}
    assert {v: tree.resolve(v) for v in walked} == walked == {
        "city": "city", "市局": "city", "a": "a", "b": "a", "乙所": "b", "c": "c", "丁队": "d",
        "nowhere": None, "": None}
    assert [u.key for u in tree.children("b")] == ["c", "d"] and tree.children("nowhere") == []
    assert tree.descendants("city") == ["city", "a", "b", "c", "d"]


def test_follow_ups_that_go_round_in_a_circle_are_refused_at_the_earliest_story(site: Site) -> None:
    """a → b → c → a names no first story: the series, the exemplar's report and the withdrawals
    each read such a loop their own way, so it is an error naming every story of it, at the line
    of the earliest one's exemplar_of; `check` says the same."""
    site.story("lead", "x-0", slug="lead", date=dt.date(2024, 1, 1), exemplar_of="x-2")  # leads into it
    site.story("b", "x-2", slug="second", date=dt.date(2025, 5, 1), exemplar_of="x-3")
    site.story("a", "x-1", slug="first", date=dt.date(2024, 3, 1))
    site.story("c", "x-3", slug="third", date=dt.date(2026, 5, 1), exemplar_of="x-1")
    site.story("fine", "y-1", slug="fine", date=dt.date(2026, 1, 1))
    site.story("fine2", "y-2", slug="fine2", date=dt.date(2026, 2, 1), exemplar_of="y-1")
    assert site.build().public == 6  # a chain: x-1 is the first story
    path = site.story("a", "x-1", slug="first", date=dt.date(2024, 3, 1), exemplar_of="x-2")  # one edit closes it
    (p,) = errors_of(site)
    assert (p.path, p.field, p.line) == ("content/stories/a.md", "exemplar_of", line_of(path, "exemplar_of:"))
    assert ("x-1 (content/stories/a.md) → x-2 (content/stories/b.md) → x-3 (content/stories/c.md) → "
            "x-1 (content/stories/a.md)") in p.message
    assert "x-0" not in p.message
    assert main(["check", "--config", str(site.root / "site_config.yaml"), "--now", "2026-11-24"]) == 1
    site.story("a", "x-1", slug="first", date=dt.date(2024, 3, 1))  # put back
    assert site.build().public == 6
