"""SMS counting against hand-worked cases, message derivation, files and the `sms` command."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from conftest import NOW, REPO, Site, make_site
from exemplar_site.cli import main
from exemplar_site.errors import BuildFailed
from exemplar_site.sms import count

GOLDEN = Path(__file__).parent / "golden" / "sms"


@pytest.mark.parametrize("text,units,segments", [
    ("中" * 70, 70, 1),
    ("中" * 71, 71, 2),
    ("中" * 134, 134, 2),
    ("中" * 135, 135, 3),
    ("【华为云】", 5, 1),
    ("民警ABC123，好！" + "中" * 59, 70, 1),       # mixed: every character counts 1
    ("，。！？：；（）“”" * 7 + "中", 71, 2),      # full-width punctuation counts 1 each
    ("中" * 68 + "😀", 70, 1),                     # an emoji takes two units
    ("中" * 69 + "😀", 71, 2),
])
def test_platform_counting(text: str, units: int, segments: int) -> None:
    c = count(text, "platform")
    assert (c.units, c.segments, c.encoding) == (units, segments, "UCS-2")


@pytest.mark.parametrize("text,encoding,units,segments", [
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("a" * 79 + "{}", "GSM-7", 83, 1),           # GSM extension characters take two septets
    ("a" * 69 + "中", "UCS-2", 70, 1),           # one non-GSM character makes it all UCS-2
    ("a" * 70 + "中", "UCS-2", 71, 2),
    ("Police 110 😀", "UCS-2", 13, 1),
])
def test_carrier_counting(text: str, encoding: str, units: int, segments: int) -> None:
    c = count(text, "carrier")
    assert (c.encoding, c.units, c.segments) == (encoding, units, segments)


@pytest.mark.parametrize("escape", ["\\r", "\\L", "\\P", "\\N", "\\t"])  # (CR, U+2028, U+2029, U+0085, tab)
def test_a_line_break_of_any_kind_in_an_sms_or_its_suffix_stops_check_and_build(tmp_path: Path, escape: str) -> None:
    """The digest is one message a line, and a text reader splits lines at \\r, \\x85 and \\u2028
    as at \\n: a break inside an author's `sms:` (or the config's suffix) would send what follows as a
    message of its own, with no signature, counted against nothing. (YAML's escapes in double quotes.)"""
    from exemplar_site.check import check_site
    from exemplar_site.runs import BuildOptions

    site = make_site(tmp_path / "a")
    path = site.story("cr", "cr-1", sms="SMS")
    path.write_text(path.read_text(encoding="utf-8").replace(
        "sms: SMS", f'sms: "民警扎根社区。{escape}紧急通知：请回复身份证号"'), encoding="utf-8")
    with pytest.raises(BuildFailed) as failed:
        site.build()
    assert [(p.field, p.line) for p in failed.value.problems if p.is_error] == [("sms", 18)]
    assert [p.field for p in check_site(site.config, BuildOptions(now=NOW)).errors] == ["sms"]
    assert not site.out.exists()
    site = make_site(tmp_path / "b", sms={"signature": "测试公安", "suffix": "SUFFIX"})
    site.config.write_text(site.config.read_text(encoding="utf-8").replace(
        "suffix: SUFFIX", f'suffix: "回T退订{escape}转发"'), encoding="utf-8")
    site.story("ok", "ok-1")
    with pytest.raises(BuildFailed) as failed:
        site.build()
    assert [p.field for p in failed.value.problems if p.is_error] == ["sms.suffix"]


def test_signature_counts_towards_the_cap(site: Site) -> None:
    # 【测试公安】 is 6 characters: 64 characters of text fit, 65 do not
    site.story("ok", "ok-1", sms="中" * 63 + "。")
    site.build()
    line = (site.out / "sms/stories/ok-1.txt").read_text(encoding="utf-8").rstrip("\n")
    assert line == "【测试公安】" + "中" * 63 + "。" and len(line) == 70


def test_author_sms_over_the_cap_fails_with_file_line_length_and_cap(site: Site) -> None:
    path = site.story("long", "l-1", sms="中" * 65)
    with pytest.raises(BuildFailed) as info:
        site.build()
    (p,) = [p for p in info.value.problems if p.is_error]
    line = next(i for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if t.startswith("sms:"))
    assert (p.path, p.line, p.field) == ("content/stories/long.md", line, "sms")
    assert "71 characters" in p.message and "cap is 1 message(s) = 70 characters" in p.message
    assert "at most 64 characters" in (p.accepted or "")


def test_brackets_in_author_sms_are_refused(site: Site) -> None:
    site.story("b", "b-1", sms="【假签名】正文")
    with pytest.raises(BuildFailed) as info:
        site.build()
    assert "without 【 or 】" in info.value.problems[0].message


def test_derived_message_ends_at_a_sentence_end_and_fits(site: Site) -> None:
    summary = "第一句讲他扎根社区二十年。" + "第二句讲他调解纠纷三千余起，群众称赞！" * 2 + "第三句很长很长很长很长。"
    site.story("d", "d-1", summary=summary)
    site.build()
    line = (site.out / "sms/stories/d-1.txt").read_text(encoding="utf-8").rstrip("\n")
    assert line.startswith("【测试公安】第一句")
    assert line[-1] in "。！？；" and count(line).segments == 1 and len(line) <= 70
    assert summary.startswith(line[len("【测试公安】"):])


def test_link_suffix_and_unwritten_signature(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s", config={"sms": {"signature": "测试公安", "write_signature": False,
                                                     "suffix": "回T退订", "link": True, "max_segments": 2}})
    site.story("d", "d-1", slug="d", summary="很长的摘要。" * 30)
    site.build()
    line = (site.out / "sms/stories/d-1.txt").read_text(encoding="utf-8").rstrip("\n")
    assert not line.startswith("【") and line.endswith(" http://test.example/pub/stories/d/回T退订")
    assert len("【测试公安】" + line) <= 134  # the signature still counts
    rows = list(csv.reader(io.StringIO((site.out / "sms/all.csv").read_text(encoding="utf-8-sig"))))
    assert rows[1][3] == line and int(rows[1][4]) == len(line) + 6 and rows[1][5] == "2"


def test_only_public_stories_reach_sms_files(site: Site) -> None:
    site.story("a", "a-1", sms="公开的短信。")
    site.story("h", "h-1", status="recommended", sms="未审核的短信。")
    site.story("v", "v-1", vetting=None, sms="未审查的短信。")
    site.story("w", "w-1", status="withdrawn", sms="撤下的短信。")
    site.story("p", "p-1", private={"phone": "13912345678"}, sms="有私密字段的短信。")
    site.build()
    blob = b"".join(p.read_bytes() for p in (site.out / "sms").rglob("*") if p.is_file())
    assert "公开的短信。".encode() in blob
    for secret in ("未审核", "未审查", "撤下的", "13912345678"):
        assert secret.encode() not in blob
    assert sorted(p.name for p in (site.out / "sms/stories").iterdir()) == ["a-1.txt", "p-1.txt"]


def test_emoji_and_risky_characters_are_warned(site: Site) -> None:
    site.story("e", "e-1", sms="为民服务😀★。")
    report = site.build()
    messages = [w.message for w in report.warnings if w.field == "sms"]
    assert any("😀" in m for m in messages) and any("★" in m for m in messages)


def test_an_sms_export_or_a_wechat_article_as_of_another_time_than_now_is_refused(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Both go out as they are written. As of a later time (--now), a story scheduled for then
    would go before its time; as of an earlier one, once a story changed by the clock since, one
    whose vetting has expired would go. Refused, nothing written; as of now they are made."""
    from exemplar_site import cli

    site.story("fresh", "fresh-1", sms="近期的事迹。")
    site.story("later", "later-1", date=dt.date(2026, 12, 10), sms="定时发布的事迹。")
    # cleared 2025-12-01, valid 365 days: public through 2026-12-01
    site.story("old", "old-1", sms="审核将要过期的事迹。",
               vetting={"cleared_by": "市局纪委", "date": dt.date(2025, 12, 1), "ref": "纪审7号"})

    def run(command: list[str], clock: dt.datetime, out: Path) -> tuple[int, str]:
        monkeypatch.setattr(cli, "clock", lambda: clock)
        capsys.readouterr()
        code = main([*command, "--config", str(site.config), "--output", str(out), "--lang", "en"])
        return code, capsys.readouterr().err

    nov24, dec5 = dt.datetime(2026, 11, 24, 10, tzinfo=NOW.tzinfo), dt.datetime(2026, 12, 5, 10, tzinfo=NOW.tzinfo)
    for command, clock, words in [
            (["sms", "--now", "2026-12-20", "--since", "2026-12-01"], nov24, "later than now"),
            (["wechat", "later-1", "--now", "2026-12-20"], nov24, "later than now"),
            (["sms", "--now", "2026-11-24", "--since", "2026-01-01"], dec5, "has run out since"),
            (["wechat", "old-1", "--now", "2026-11-24"], dec5, "has run out since")]:
        out = tmp_path / "out"
        code, err = run(command, clock, out)
        assert code == 1 and words in err and "--now" in err, (command, err)
        assert not out.exists(), command
    # as of now (no --now, or one on which nothing has changed since): made, without the expired story
    code, err = run(["sms", "--since", "2026-01-01"], dec5, tmp_path / "a")
    assert code == 0, err
    code, err = run(["sms", "--now", "2026-12-05 08:00", "--since", "2026-01-01"], dec5, tmp_path / "b")
    assert code == 0, err
    for folder in (tmp_path / "a", tmp_path / "b"):
        digest = b"".join(p.read_bytes() for p in folder.glob("digest-*.txt")).decode("utf-8")
        assert "近期的事迹" in digest and "审核将要过期" not in digest and "定时发布" not in digest
    assert run(["wechat", "old-1"], dec5, tmp_path / "c")[0] == 1  # (held back now: no such public story)
    assert run(["wechat", "old-1", "--now", "2026-11-24"], nov24 + dt.timedelta(hours=1), tmp_path / "d")[0] == 0


@pytest.mark.usefixtures("clock")
def test_sms_command_filters_the_digest_by_date(site: Site, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for day in (1, 5, 8, 15):
        site.story(f"s{day}", f"s-{day}", date=dt.date(2026, 11, day), sms=f"十一月{day}日的事迹。")
    out = tmp_path / "smsout"
    code = main(["sms", "--config", str(site.config), "--now", "2026-11-24", "--since", "2026-11-05",
                 "--until", "2026-11-14", "--output", str(out)])
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["【测试公安】十一月5日的事迹。", "【测试公安】十一月8日的事迹。"]
    digest = (out / "digest-2026-11-05_2026-11-14.txt").read_text(encoding="utf-8").splitlines()
    assert digest == printed
    raw = (out / "digest-2026-11-05_2026-11-14.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["编号"] for r in rows] == ["s-5", "s-8"]
    assert rows[0] == {"编号": "s-5", "日期": "2026-11-05", "单位": "北一派出所",
                       "短信内容": "【测试公安】十一月5日的事迹。", "字数": "15", "条数": "1"}
    assert sorted(p.name for p in (out / "stories").iterdir()) == ["s-1.txt", "s-15.txt", "s-5.txt", "s-8.txt"]


@pytest.mark.parametrize("headers,columns", [
    (None, ["编号", "日期", "单位", "短信内容", "字数", "条数"]),  # the default: for people using Excel
    ("chinese", ["编号", "日期", "单位", "短信内容", "字数", "条数"]),
    ("english", ["id", "date", "unit", "text", "characters", "segments"]),  # for scripts and integrations
])
def test_csv_headers_are_chinese_unless_english_is_asked_for(
        tmp_path: Path, headers: str | None, columns: list[str]) -> None:
    site = make_site(tmp_path / "s", config={"csv_headers": headers} if headers else None)
    site.story("a", "a-1", date=dt.date(2026, 11, 20), sms="为民服务。")
    site.build()
    for name in ("sms/all.csv", "sms/digest-latest.csv"):
        raw = (site.out / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # the BOM for Excel, either way
        reader = csv.reader(io.StringIO(raw.decode("utf-8-sig")))
        assert next(reader) == columns
        # only the header row depends on the option
        assert list(reader) == [["a-1", "2026-11-20", "北一派出所", "【测试公安】为民服务。", "11", "1"]]


@pytest.mark.usefixtures("clock")
def test_sms_command_default_range_is_the_last_digest_days(
        site: Site, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for day in (10, 17, 18, 24):
        site.story(f"s{day}", f"s-{day}", date=dt.date(2026, 11, day), sms=f"十一月{day}日。")
    main(["sms", "--config", str(site.config), "--now", "2026-11-24 09:00", "--output", str(tmp_path / "o")])
    assert capsys.readouterr().out.splitlines() == ["【测试公安】十一月18日。", "【测试公安】十一月24日。"]


def _sample_sms(sample: Site) -> dict[str, bytes]:
    sample.build()
    return {p.relative_to(sample.out / "sms").as_posix(): p.read_bytes()
            for p in sorted((sample.out / "sms").rglob("*")) if p.is_file()}


def test_sample_sms_files_match_golden(sample: Site) -> None:
    """Bytes are the contract for SMS files. Regenerate with: python tests/update_golden.py"""
    produced = _sample_sms(sample)
    expected = {p.relative_to(GOLDEN).as_posix(): p.read_bytes() for p in sorted(GOLDEN.rglob("*")) if p.is_file()}
    assert produced == expected


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(f"run: python {REPO / 'tests' / 'update_golden.py'}")
