"""Chinese first: each kind of problem is told in Chinese, at the line of the field at fault; the
same run in English says the same thing at the same place; a run lists every problem at once."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Site, make_site
from exemplar_site import i18n
from exemplar_site.cli import main
from exemplar_site.errors import BuildFailed, Problem
from exemplar_site.pipeline import BuildOptions, build_site

NOW = ["--now", "2026-11-24"]
GOOD = """\
id: {id}
title: 标题{id}
slug: s-{id}
name: 王建国
kind: individual
unit: n1
field: jiaojing
level: district
date: 2026-03-01
status: approved
approved_by: 区委
vetting: {{cleared_by: 纪委, date: 2026-02-01, ref: 1号}}
"""
ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{3,}\b(?: \b[A-Za-z]{3,}\b){2,}")


def _story(site: Site, name: str, front: str, body: str = "正文。") -> None:
    site.write(f"content/stories/{name}.md", "---\n" + front + "---\n" + body + "\n")


def _replace(front: str, field: str, line: str) -> str:
    return re.sub(rf"^{field}:.*$", line, front, count=1, flags=re.MULTILINE)


# (case, front matter (from GOOD), body, file line of the problem, field, English words in the message)
CASES: list[tuple[str, str, str, int, str | None, str]] = [
    ("empty name", _replace(GOOD, "name", 'name: ""'), "正文。", 5, "name", "not filled in yet"),
    ("unknown field", GOOD + "titel: 错字\n", "正文。", 14, "titel", "unknown field"),
    ("wrong kind", _replace(GOOD, "kind", "kind: 个体"), "正文。", 6, "kind", "is not a known kind"),
    ("unknown unit", _replace(GOOD, "unit", "unit: 北三派出所"), "正文。", 7, "unit", "unknown unit"),
    ("not a date", _replace(GOOD, "date", "date: 2026-13-45"), "正文。", 10, "date", "is not a date"),
    ("unclosed quote", _replace(GOOD, "title", 'title: "没有结束的引号'), "正文。", 3, None, "never closed"),
    ("mobile in body", GOOD, "第一段。\n\n联系电话13800138000。", 17, "body", "mobile phone number"),
    ("stray ---", GOOD, "private:\n  phone: 1\n", 15, "private", "looks like the field"),
    # a Chinese keyboard's colon or space after a field name: told at its own line (YAML gives up at the next)
    ("full-width colon", _replace(GOOD, "name", "name：王建国"), "正文。", 5, None, "full-width colon"),
    ("full-width colon, spaced", _replace(GOOD, "field", "field ： jiaojing"), "正文。", 8, None,
     "full-width colon"),
    ("full-width colon, last line", _replace(GOOD, "vetting", "vetting：无"), "正文。", 13, None,
     "full-width colon"),
    ("full-width space", _replace(GOOD, "field", "field:\u3000jiaojing"), "正文。", 8, None, "full-width space"),
    ("full-width colon, blank line after", _replace(GOOD, "kind", "kind：individual\n"), "正文。", 6, None,
     "full-width colon"),
]


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[Site]:
    yield make_site(tmp_path / "site")


def _problems(site: Site, lang: str) -> list[Problem]:
    i18n.use(lang)
    with pytest.raises(BuildFailed) as info:
        build_site(site.config, BuildOptions(now=__import__("datetime").datetime(2026, 11, 24)))
    return [p for p in info.value.problems if p.is_error]


@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_each_kind_of_problem_is_told_in_chinese_at_its_line(site: Site, case: str) -> None:
    _, front, body, line, field, english = next(c for c in CASES if c[0] == case)
    _story(site, "a", front.format(id="a-1"), body)
    zh = _problems(site, "zh_CN")
    en = _problems(site, "en")
    assert [(p.line, p.field) for p in zh] == [(p.line, p.field) for p in en]
    (p_zh,), (p_en,) = zh, en
    assert (p_en.line, p_en.field) == (line, field), p_en
    assert english in p_en.message
    i18n.use("zh_CN")
    text = p_zh.format()
    assert re.search(r"[\u4e00-\u9fff]", p_zh.message), text
    assert f"第{line}行" in text and text.startswith("错误"), text
    assert not ENGLISH_SENTENCE.search(re.sub(r"\([^()]*\)|'[^']*'|\"[^\"]*\"", "", p_zh.message)), text
    if field == "body":  # (no key of the author's own: it is told as the text's part, 正文)
        assert " 正文：" in text and "body" not in text, text


def test_chinese_status_words_and_full_width_tag_commas_are_understood(site: Site) -> None:
    front = _replace(GOOD, "status", "status: 审批") + "tags: [见义勇为，社区警务]\n"
    _story(site, "a", front.format(id="a-1"))
    i18n.use("zh_CN")
    report = build_site(site.config, BuildOptions(now=__import__("datetime").datetime(2026, 11, 24)))
    assert report.public == 1
    (warning,) = [w for w in report.warnings if w.field == "tags"]
    assert warning.line == 14 and "见义勇为 | 社区警务" in warning.message
    assert "tags/jian-yi-yong-wei/" in site.text_of("stories/s-a-1/index.html")


def test_one_run_lists_every_problem_of_every_file(site: Site) -> None:
    """Schema, personal data and a stray '---' in one file, and a clash between two others: all in
    the first run (nothing appears only after something else is fixed)."""
    bad = _replace(GOOD, "kind", "kind: 个体").format(id="a-1")
    _story(site, "a", bad, "电话13800138000。\n\nphone: 1")
    _story(site, "b", GOOD.format(id="dup"))
    _story(site, "c", _replace(GOOD.format(id="dup"), "slug", "slug: other"))
    problems = _problems(site, "en")
    found = {(Path(p.path).name, p.field) for p in problems}
    assert {("a.md", "kind"), ("a.md", "body"), ("a.md", "phone"), ("c.md", "id")} <= found, found


def test_the_command_line_speaks_chinese_unless_asked_otherwise(site: Site, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(i18n.ENV)
    _story(site, "a", _replace(GOOD, "name", 'name: ""').format(id="a-1"))
    assert main(["check", "--config", str(site.config), *NOW]) == 1
    err = capsys.readouterr().err
    assert "第5行" in err and "not filled in" not in err
    assert main(["check", "--config", str(site.config), *NOW, "--lang", "en"]) == 1
    err = capsys.readouterr().err
    assert "content/stories/a.md:5: error [name]: 'name' is not filled in yet" in err
    # the config's own language is the default when neither --lang nor the environment says
    site.config.write_text(site.config.read_text(encoding="utf-8") + "language: en\n", encoding="utf-8")
    assert main(["check", "--config", str(site.config), *NOW]) == 1
    assert "is not filled in yet" in capsys.readouterr().err


def test_dates_on_the_command_line_take_the_front_matter_forms_and_typos_get_a_suggestion(
        site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    _story(site, "a", GOOD.format(id="a-1"))
    assert main(["report", "--config", str(site.config), "--as-of", "2026年11月23日"]) == 0
    assert "2026-11-23" in capsys.readouterr().out
    assert main(["chekc", "--config", str(site.config)]) == 2
    assert "check" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["check", "--config", str(site.config), "--now", "2026年13月1日"])


def test_a_start_date_after_the_end_date_is_told_in_chinese(site: Site, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(i18n.ENV)
    _story(site, "a", GOOD.format(id="a-1"))
    assert main(["sms", "--config", str(site.config), *NOW, "--since", "2026-11-20", "--until", "2026-11-01",
                 "--output", str(tmp_path / "sms")]) == 1
    err = capsys.readouterr().err
    assert "--since 2026-11-20 比 --until 2026-11-01 晚" in err and "is after" not in err
    assert "开始日期要早于或等于结束日期" in err


@pytest.mark.parametrize(("argv0", "shown"), [
    ("/opt/site/env/bin/exemplar-site", "exemplar-site"),
    (r"C:\\site\\env\\Scripts\\exemplar-site.exe", "exemplar-site"),
    ("build.py", "build.py"), ("/usr/lib/python3/site-packages/exemplar_site/__main__.py", "python -m exemplar_site"),
])
def test_usage_names_the_program_as_it_was_run(argv0: str, shown: str, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The offline package's users type exemplar-site (or double-click a .bat running it): the usage
    line must not tell them to type build.py."""
    import ntpath
    import os
    import sys

    monkeypatch.setattr(sys, "argv", [argv0, "--help"])
    if "\\" in argv0:
        monkeypatch.setattr(os, "path", ntpath)
    with pytest.raises(SystemExit):
        main()
    assert capsys.readouterr().out.splitlines()[0].startswith(f"usage: {shown} [-h]")


def test_help_is_chinese(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(i18n.ENV)
    with pytest.raises(SystemExit):
        main(["--help", "--config", "/nonexistent/site_config.yaml"])
    out = capsys.readouterr().out
    assert "用法" in out and "生成" in out, textwrap.shorten(out, 300)


def test_a_cached_build_never_shows_messages_in_the_language_of_an_earlier_run(site: Site) -> None:
    _story(site, "a", GOOD.format(id="a-1") + "tags: [见义勇为，社区警务]\n")
    when = __import__("datetime").datetime(2026, 11, 24)
    i18n.use("zh_CN")
    (zh,) = [w for w in build_site(site.config, BuildOptions(now=when)).warnings if w.field == "tags"]
    i18n.use("en")
    (en,) = [w for w in build_site(site.config, BuildOptions(now=when)).warnings if w.field == "tags"]
    assert "split at" not in zh.message and not ENGLISH_SENTENCE.search(zh.message) and "split at" in en.message
