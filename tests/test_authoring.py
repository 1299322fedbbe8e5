"""`new` scaffolding, `check`, and progress output."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from conftest import Site, dedent
from exemplar_site import i18n
from exemplar_site.check import valid_id_number
from exemplar_site.cli import main
from exemplar_site.progress import Progress

NOW_ARGS = ["--now", "2026-11-24"]


def test_new_story_has_every_field_a_fresh_id_and_passes_once_filled(
        site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.story("a", "cs-2026-007")
    site.story("b", "cs-2025-012")
    assert main(["new", "story", "守护一方平安的老片警", "--config", str(site.config), *NOW_ARGS]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == site.root / "content/stories/2026/shou-hu-yi-fang-ping-an-de-lao-pian-jing.md"
    text = path.read_text(encoding="utf-8")
    for field in ("id:", "title:", "slug:", "name:", "kind:", "unit:", "field:", "level:", "date:", "status:",
                  "vetting:", "approved_by:", "summary:", "sms:", "tags:", "campaigns:", "images:", "honors:",
                  "featured:", "exemplar_of:", "private:", "updated:"):
        assert field in text, field
    assert "id: cs-2026-013" in text and "status: seedling" in text and "date: 2026-11-24" in text
    assert all("#" in line for line in text.split("---")[1].splitlines() if line.strip() and
               not line.startswith(("  ", "#")))  # a comment on every field
    assert 'unit: ""' in text and "n1（北一派出所）" in text  # no one's unit preselected: the list in the comment
    # as written it never stops a build: the seedling is left out, and the build says what it lacks
    assert main(["check", "--config", str(site.config), *NOW_ARGS]) == 0
    err = capsys.readouterr().err
    assert "[name]" in err and "'name' is not filled in yet" in err and "left out" in err
    site.build()  # (no error)
    # filled in, it validates (and as a seedling it is held back, not published)
    filled = text.replace('name: ""', "name: 王建国").replace('unit: ""', "unit: 北一派出所")
    path.write_text(filled.replace('field: ""', "field: jiaojing"), encoding="utf-8")
    assert main(["check", "--config", str(site.config), *NOW_ARGS]) == 0
    report = site.build()
    assert ("cs-2026-013", "status") in {(h.id, h.reason) for h in report.held}


def test_new_page_and_campaign_and_no_overwrite(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "page", "联系我们", "--config", str(site.config), *NOW_ARGS]) == 0
    assert main(["new", "campaign", "向英模学习", "--config", str(site.config), *NOW_ARGS]) == 0
    out = capsys.readouterr().out.split()
    assert out == [str(site.root / "content/pages/lian-xi-wo-men.md"),
                   str(site.root / "content/campaigns/xiang-ying-mo-xue-xi.md")]
    site.story("a", "a-1")
    assert site.build().public == 1
    assert main(["new", "page", "联系我们", "--config", str(site.config), *NOW_ARGS]) == 1
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_page_or_campaign_whose_text_is_still_what_new_wrote_is_held_back(
        site: Site, capsys: pytest.CaptureFixture[str], lang: str) -> None:
    """Made with `new` in one language and built in the other, it is not published until written."""
    assert main(["new", "page", "联系我们", "--config", str(site.config), *NOW_ARGS, "--lang", lang]) == 0
    assert main(["new", "campaign", "向英模学习", "--config", str(site.config), *NOW_ARGS, "--lang", lang]) == 0
    page, campaign = map(Path, capsys.readouterr().out.split())
    assert ("在这里写" in page.read_text(encoding="utf-8")) == (lang == "zh")
    site.story("a", "a-1", campaigns=["xiang-ying-mo-xue-xi"])
    i18n.use("en" if lang == "zh" else "zh")
    report = site.build()
    public = site.root / "public"
    assert not (public / "lian-xi-wo-men").exists() and not (public / "campaigns/xiang-ying-mo-xue-xi").exists()
    warned = {(Path(p.path).name, p.line) for p in report.warnings}
    assert {("lian-xi-wo-men.md", len(page.read_text(encoding="utf-8").splitlines())),
            ("xiang-ying-mo-xue-xi.md", len(campaign.read_text(encoding="utf-8").splitlines()))} <= warned
    assert main(["check", "--config", str(site.config), *NOW_ARGS]) == 0
    told = capsys.readouterr().err  # (check says the same, at the same lines)
    for held in (page, campaign):
        line = len(held.read_text(encoding="utf-8").splitlines())
        assert f"{held.relative_to(site.root).as_posix()}:{line}: warning: held back" in told, told
    # written, they are published
    page.write_text(page.read_text(encoding="utf-8").rsplit("---", 1)[0] + "---\n电话：0511-85551234。\n",
                    encoding="utf-8")
    campaign.write_text(campaign.read_text(encoding="utf-8").rsplit("---", 1)[0] + "---\n学习活动说明。\n",
                        encoding="utf-8")
    site.build()
    assert (public / "lian-xi-wo-men/index.html").exists() and (public / "campaigns/xiang-ying-mo-xue-xi").exists()


def test_a_page_that_quotes_the_sentence_new_writes_is_published(site: Site) -> None:
    site.write("content/pages/help.md", "---\ntitle: 写作帮助\n---\n新建页面里的“在这里写页面正文。”要换成正文。\n")
    site.story("a", "a-1")
    site.build()
    assert (site.root / "public/help/index.html").exists()


def test_valid_id_number_check_digit() -> None:
    assert valid_id_number("11010519491231002X")
    assert not valid_id_number("110105194912310021")  # wrong check digit
    assert not valid_id_number("110105194913310025")  # month 13


def test_check_catches_each_kind_of_problem(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.write("content/stories/pd.md", dedent("""
        ---
        id: pd-1
        title: 个人信息泄露测试
        name: 王某
        kind: individual
        unit: n1
        field: shequ
        level: city
        date: 2026-03-01
        status: approved
        vetting: {cleared_by: 纪委, date: 2026-02-01, ref: 1号}
        approved_by: 党委
        summary: 联系电话13912345678。
        private:
          phone: "13800001111"
          id_number: "11010519491231002X"
        ---
        身份证号11010519491231002X，不是身份证的数字110105194913310025。
        见[不存在的稿件](/stories/no-such/)和![缺图](images/missing.png)。
        """))
    site.story("w", "w-1", status="withdrawn", slug="gone")
    site.story("l", "l-1", body="链接到[撤下的](/stories/gone/)。", sms="中" * 80)
    assert main(["check", "--config", str(site.config), *NOW_ARGS]) == 1
    err = capsys.readouterr().err
    errors, _, warnings = err.partition("Warnings")
    assert "content/stories/pd.md:13: error [summary]: public text holds a mobile phone number" in errors
    assert "content/stories/pd.md:18: error [body]: public text holds an ID card number" in errors
    assert errors.count("public text holds") == 2  # private block and the number with no date are not flagged
    assert "13912345678" not in err and "11010519491231002X" not in err  # never echoed
    assert "pd.md:19: error: broken internal link: no page at stories/no-such/" in errors
    assert "broken internal link: no image or file at images/missing.png" in errors
    assert "content/stories/l.md:20: error: the text links to the withdrawn story stories/gone/" in errors
    assert "content/stories/l.md" in errors and "the cap is 1 message(s)" in errors
    assert errors.index("Errors") < err.index("Check failed")
    # a public story without a slug: its address follows the title
    assert "content/stories/l.md:3: warning [slug]: no slug: the address stories/" in warnings
    assert warnings.count("no slug:") == 2  # pd.md and l.md; not the withdrawn one


def test_check_passes_the_sample_site(sample: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", str(sample.config), *NOW_ARGS]) == 0
    out = capsys.readouterr()
    assert "Check passed" in out.out
    assert not (sample.root / "public").exists()  # check writes nothing


def test_progress_plain_lines_off_a_terminal() -> None:
    stream = io.StringIO()
    p = Progress(stream, delay=0.0)
    p("reading", 0, 1)
    p("pages", 10, 100)
    p("pages", 100, 100)
    p("writing", 0, 5)
    p.done()
    lines = stream.getvalue().splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == ["reading and checking", "pages", "writing"]
    assert "\r" not in stream.getvalue()


def test_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    stream = Tty()
    p = Progress(stream, delay=0.0)
    p("pages", 50, 100)
    p.done()
    text = stream.getvalue()
    assert "\r" in text and "50%" in text and "█" * 15 in text and text.endswith("\r\x1b[K")
