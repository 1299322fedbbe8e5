"""Issue 11: nothing private, unvetted or foreign ever leaves the build.

Each test reproduces a way the build could be made to publish what it must not,
as an attacker or a careless author would, and checks the build refuses.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import NOW, PNG, Site, make_site, pdf, story
from exemplar_site.cli import main
from exemplar_site.errors import BuildFailed

SECRET = "SERVER-SECRET-3b7f"


def _all_output_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def _failed(site: Site, **options: object) -> list[str]:
    with pytest.raises(BuildFailed) as info:
        site.build(**options)  # type: ignore[arg-type]
    return [p.format() for p in info.value.problems if p.is_error]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "server"
    secret.mkdir()
    (secret / "passwd.png").write_text(SECRET)
    (secret / "story.md").write_text(story("out-1", body=SECRET), encoding="utf-8")
    return secret


# ---- 1. files from outside the site never get in ---------------------------------------------

def test_symlinked_image_outside_the_site_is_refused(site: Site, outside: Path) -> None:
    os.symlink(outside / "passwd.png", site.root / "content/images/leak.png")
    site.story("a", "a-1", images=[{"src": "images/leak.png", "alt": "x"}])
    errors = _failed(site)
    assert any("content/images/leak.png" in e and "link" in e for e in errors), errors
    assert not site.out.exists()


def test_symlinked_story_and_folder_outside_are_refused(site: Site, outside: Path) -> None:
    os.symlink(outside / "story.md", site.root / "content/stories/linked.md")
    os.symlink(outside, site.root / "content/stories/folder")
    os.symlink(outside, site.root / "content/media")
    elsewhere = site.root / "archive"  # in the site folder, but not under content/
    elsewhere.mkdir()
    (elsewhere / "x.md").write_text(story("arc-9"), encoding="utf-8")
    os.symlink(elsewhere, site.root / "content/pages/archive")
    site.story("a", "a-1")
    errors = _failed(site)
    joined = "\n".join(errors)
    assert "content/stories/linked.md" in joined
    assert "content/stories/folder" in joined
    assert "content/media" in joined
    assert "content/pages/archive" in joined


def test_symlink_in_theme_is_refused(site: Site, outside: Path) -> None:
    static = site.root / "themes/default/static"
    static.mkdir(parents=True)
    os.symlink(outside / "passwd.png", static / "logo.png")
    templates = site.root / "themes/default/templates"
    templates.mkdir(parents=True)
    os.symlink(outside / "story.md", templates / "extra.html")
    site.story("a", "a-1")
    joined = "\n".join(_failed(site))
    assert "themes/default/static/logo.png" in joined
    assert "themes/default/templates/extra.html" in joined


def test_personal_data_or_image_metadata_in_a_sites_theme_stops_check_and_build_alike(
        site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    """A site's theme is published as it is: its templates' text and its static files are looked at
    as a story's text is (a duty number listed in public_numbers may appear), and its images for
    metadata (they are copied, not re-encoded). `check` and `build` agree; nothing is written."""
    from PIL import Image

    site.story("a", "a-1")
    theme = site.root / "themes/default"
    (theme / "templates").mkdir(parents=True)
    (theme / "static").mkdir(parents=True)
    (theme / "templates/404.html").write_text('{% extends "default/404.html" %}\n{% block content %}{{ super() }}\n'
                                              "<p>值班民警手机：138 1234 5678</p>{% endblock %}\n", encoding="utf-8")
    (theme / "static/notes.txt").write_text("说明\n联系人 13912345678\n", encoding="utf-8")
    exif = Image.Exif()
    exif[0x010E] = "拍摄人 13812345678"
    Image.new("RGB", (40, 40), "red").save(theme / "static/banner.jpg", exif=exif)
    args = ["--config", str(site.config), "--now", "2026-11-24", "--lang", "en"]
    for command in ("check", "build"):
        assert main([command, *args]) == 1, command
        err = capsys.readouterr().err
        assert "themes/default/templates/404.html:3" in err and "a mobile phone number" in err, err
        assert "themes/default/static/notes.txt:2" in err, err
        assert "themes/default/static/banner.jpg" in err and "this theme image holds EXIF" in err, err
        assert "13812345678" not in err and "13912345678" not in err
    assert not site.out.exists()
    # a number the site lists as public may appear; an image saved without its metadata is copied
    site.write("site_config.yaml", site.config.read_text(encoding="utf-8")
               + "public_numbers: ['138 1234 5678', '139-1234-5678']\n")
    Image.new("RGB", (40, 40), "red").save(theme / "static/banner.jpg")
    assert main(["build", *args]) == 0
    assert "13812345678" in site.text_of("404.html").replace(" ", "")


@pytest.mark.parametrize("where", ["themes/default/static/r", "content/files/r"])
def test_internal_reports_put_among_the_sites_own_files_are_never_published(
        site: Site, where: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Reports written (or copied) into a theme's static folder or content/files would be published
    with them: a folder of the site's own files that holds the reports' or an SMS export's marker
    is refused whole, by `check` and `build` alike."""
    site.story("a", "a-1")
    args = ["report", "--config", str(site.config), "--as-of", "2026-11-24", "--lang", "en"]
    assert main([*args, "--output", str(site.root / where)]) == 1  # (refused where it would be written)
    assert "internal reports may not be written among the site's own files" in capsys.readouterr().err
    assert not (site.root / where).exists()
    assert main([*args, "--output", str(site.root / "reports")]) == 0  # (copied there by hand, then)
    shutil.copytree(site.root / "reports", site.root / where)
    assert (site.root / where / ".exemplar-internal").is_file()
    capsys.readouterr()
    args = ["--config", str(site.config), "--now", "2026-11-24", "--lang", "en"]
    for command in ("check", "build"):
        assert main([command, *args]) == 1, command
        err = capsys.readouterr().err
        assert f"{where}: error: this folder holds the internal reports or an SMS export" in err, err
    assert not site.out.exists()


def test_symlink_loop_and_dangling_link_are_clear_errors(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.story("a", "a-1")
    os.symlink(site.root / "content/stories", site.root / "content/stories/loop")
    os.symlink(site.root / "content/stories/nowhere.md", site.root / "content/stories/dangling.md")
    code = main(["build", "--config", str(site.config), "--now", "2026-11-24"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    assert "content/stories/loop" in err and "content/stories/dangling.md" in err


def test_links_inside_the_site_are_followed_and_their_changes_seen(site: Site) -> None:
    archive = site.root / "content/archive"
    archive.mkdir()
    (archive / "old.md").write_text(story("arc-1", slug="arc-one"), encoding="utf-8")
    os.symlink(archive, site.root / "content/stories/archive")
    site.story("a", "a-1")
    site.build()
    assert (site.out / "stories/arc-one/index.html").exists()
    # withdrawn inside the linked folder: the "nothing changed" shortcut must notice
    (archive / "old.md").write_text(story("arc-1", slug="arc-one", status="withdrawn"), encoding="utf-8")
    report = site.build()
    assert report.public == 1
    assert "测试典型arc-1" not in site.text_of("stories/arc-one/index.html")  # the withdrawal notice
    assert "arc-1" not in site.text_of("feeds/all.rss.xml")


def test_unreadable_and_oversized_files_are_errors(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    from exemplar_site import sources

    site.story("a", "a-1")
    site.story("big", "big-1", body="很长的正文。" * 200_000)
    real = sources._read_bytes

    def refuse(path: str) -> bytes:
        if path.endswith("a.md"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(sources, "_read_bytes", refuse)
    joined = "\n".join(_failed(site))
    assert "content/stories/a.md" in joined and "cannot be read" in joined
    assert "content/stories/big.md" in joined and "too large" in joined


def test_a_source_file_is_read_whole_up_to_one_byte_past_the_cap(tmp_path: Path) -> None:
    """_read_bytes asks for the file's size, not the cap: what it gives is still the file's first
    cap + 1 bytes, whatever the size says (a file that grows while it is read, or one whose size
    says nothing, such as /proc's files on Linux)."""
    from exemplar_site import sources

    cap = sources.MAX_SOURCE_BYTES
    for size in (0, 1, 4096, cap - 1, cap, cap + 1, cap + 4096):
        data = bytes(i % 251 for i in range(size))
        f = tmp_path / f"s{size}.md"
        f.write_bytes(data)
        assert sources._read_bytes(str(f)) == data[: cap + 1], size
    if Path("/proc/self/status").exists():  # (st_size 0, yet it has text)
        got = sources._read_bytes("/proc/self/status")
        assert got.startswith(b"Name:") and b"\nPid:" in got


# ---- 2. the private block cannot escape by a typo ---------------------------------------------

def test_a_stray_dashes_line_before_private_is_an_error(site: Site) -> None:
    text = story("a-1", slug="a-one")
    head, _, body = text.partition("\n---\n")
    site.write("content/stories/a.md", head + "\n---\nprivate:\n  family: 妻子李小梅，小学教师\n"
               "  assessments:\n  - {date: 2026-06-30, result: 优秀}\n---\n" + body)
    errors = _failed(site)
    assert any("content/stories/a.md:" in e and "private" in e and "'---'" in e for e in errors), errors
    assert not site.out.exists()


def test_key_lines_inside_code_are_fine_in_pages_but_not_in_stories(site: Site) -> None:
    site.story("a", "a-1")
    site.write("content/pages/howto.md", "---\ntitle: 写作说明\n---\n```yaml\nphone: 在这里写电话\n```\n")
    site.build()
    assert (site.out / "howto/index.html").exists()


# ---- 3. personal data stops the build, not only `check` ----------------------------------------

@pytest.mark.parametrize("written", [
    "１３８００１３８０００",  # full-width digits
    "+86 138-0013-8000",
    "0086 138 0013 8000",
    "8613800138000",
    "138\u200b0013\u200b8000",  # zero-width spaces
    "tel:138.0013.8000",
    "138—0013—8000",
    "一三八〇〇一三八〇〇〇",  # in Chinese
    "壹叁捌零零壹叁捌零零零",  # in the financial forms
    "幺三八 洞洞幺三 八洞洞洞",  # read out as on the police radio
    "138 〇〇一三 8000",  # both
    "一三八○○一三八○○○",  # the circle often typed for a zero
    "壹參捌零零壹參捌零零零",  # traditional forms
    "（一三八）〇〇一三-八〇〇〇",  # with brackets
    "一三八，〇〇一三，八〇〇〇",  # with commas
    "&#49;3800138000",  # a character reference (the page shows the digit)
    "张三13800138000",  # a name's last character against the number
    "".join(f"{d}\ufe0f\u20e3" for d in "13800138000"),  # keycap emoji digits, as in WeChat posts
    "1\u20dd3\u20dd8\u20dd0\u20dd0\u20dd1\u20dd3\u20dd8\u20dd0\u20dd0\u20dd0\u20dd",  # digits in circles
    "138，0013，8000",  # groups parted by commas
    "138、0013、8000",
    "138,0013,8000",
    "㊀㊂㊇〇〇㊀㊂㊇〇〇〇",  # circled ideographs
    "㈠㈢㈧〇〇㈠㈢㈧〇〇〇",  # parenthesised ideographs
    "138‧0013‧8000",  # look-alike dots and dashes
    "138∙0013∙8000",
    "138ー0013ー8000",
    "138／0013／8000",
])
def test_mobile_numbers_in_any_disguise_stop_the_build(site: Site, written: str) -> None:
    site.story("a", "a-1", body=f"群众都说他好。联系电话：{written}。")
    errors = _failed(site)
    assert any("content/stories/a.md" in e and "mobile phone number" in e for e in errors), errors
    assert not any("0013" in e for e in errors)  # the number is never echoed


@pytest.mark.parametrize(("written", "kind"), [
    ("居民求助电话 13905111234 13905111235", "mobile phone number"),  # two numbers side by side
    ("联系电话：0511-85551234 / 13905111234", "mobile phone number"),  # after a landline
    ("身份证号 320102197305120033 1 号楼", "ID card number"),  # followed by other digits
    ("电话 021.6543.2100 139.0511.1234", "mobile phone number"),
])
def test_a_number_beside_other_digits_stops_the_build(site: Site, written: str, kind: str) -> None:
    site.story("a", "a-1", body=f"群众都说他好。\n\n{written}。\n")
    errors = _failed(site)
    assert any("content/stories/a.md" in e and kind in e for e in errors), errors


def test_digits_in_groups_that_are_no_number_pass(site: Site) -> None:
    site.story("a", "a-1", slug="a", body="2019.03 至 2022-01-22，2019 2020 2021 连续三年，电话 0511-85551234。"
               "二〇二四年，他把一一登记的两百三十户走访了一遍，一二三四五六七八九十个名字都记得。"
               "二〇一九、二〇二〇、二〇二一、二〇二二年连续四年获评先进，一九八四、一九八五、一九八六年入警的"
               "老民警都在。请牢记一一〇、一二〇、一一九、一二二、一二三四五等服务热线。内网平台地址：172.16.135.100。"
               "东城分局 1352 2468 987，累计 20,173 1665 6140。第 1、2、3 名，2019、2020、2021、2022 年，"
               "共 1,234,567 元，编号 1352，2468，987。")
    site.build()
    assert "0511-85551234" in site.text_of("stories/a/index.html")


def test_id_numbers_both_forms_and_private_values_stop_the_build(site: Site) -> None:
    site.story("a", "a-1", body="身份证 110105 19491231 002X。")
    site.story("b", "b-1", summary="旧身份证号110105491231002。")
    site.story("c", "c-1", body="他的妻子李小梅是小学教师，一直支持他的工作。",
               private={"family": "妻子李小梅，江城市实验小学教师",
                        "notes": "曾因家中老人重病请假三个月，组织上给予了关心"})
    site.story("d", "d-1", body="他说：曾因家中老人重病请假三个月，组织上给予了关心。")
    joined = "\n".join(_failed(site))
    assert "content/stories/a.md" in joined and "ID card number" in joined
    assert "content/stories/b.md" in joined and "15 digits" in joined
    # a relative named in the family notes is private: the name alone is found (妻子李小梅 → 李小梅)
    assert "content/stories/c.md:" in joined and "private.family" in joined
    assert "李小梅" not in joined


@pytest.mark.parametrize(("family", "body"), [
    ("妻子李秀英（市一院护士），女儿陈小雨（江州一中高三）", "他的女儿陈小雨今年高三。"),
    ("妻子李秀英", "他的爱人李秀英默默支持他。"),
    (["妻子 李秀英", "女儿 陈小雨"], "女儿陈小雨很懂事。"),
    ("妻子：李梅，女儿：陈雨", "李梅很支持他。"),
    ("爱人李秀英和小女儿陈小雨", "陈小雨很懂事。"),
    ("妻子李秀英在市一医院工作", "李秀英是护士。"),
])
def test_every_person_free_family_notes_name_is_private(site: Site, family: object, body: str) -> None:
    """Family notes name several people in one text, in every way they are written."""
    site.story("a", "a-1", body=body, private={"family": family})
    joined = "\n".join(_failed(site))
    assert "content/stories/a.md:" in joined and "private.family" in joined
    assert "李" not in joined and "陈" not in joined


@pytest.mark.parametrize(("family", "body"), [
    ("爱人是教师，父亲是老党员", "作为一名老党员，他带头冲锋。他曾是一名教师。"),
    ("丈夫是军人，家庭和睦", "他是退役军人，所在社区家庭和睦。"),
    ("妻子很支持，家庭和睦", "大家都很支持他。"),
    ("父亲早逝，与母亲同住。", "战友早逝，他很难过。"),
    ("女儿高中毕业", "他高中毕业后参军。"),
])
def test_family_notes_without_a_name_do_not_stop_ordinary_words(site: Site, family: str, body: str) -> None:
    site.story("a", "a-1", body=body, private={"family": family})
    site.build()


@pytest.mark.parametrize("written", ["320102197305120031", "32010219730512003X", "320102 19730512 0032"])
def test_an_id_number_with_a_wrong_check_digit_stops_the_build_too(site: Site, written: str) -> None:
    """A mistyped last digit still gives away the region and the birth date."""
    site.story("a", "a-1", body=f"他的身份证号是{written}。")
    site.story("b", "b-1", body="案卷编号320102197313120031，金额123456789012345678元。")  # (month 13; no date)
    # (a district's code and a recent day: an alarm or case number)
    site.story("c", "c-1", body="接警单号320106202611240012，警情编号 320106-20261124-0013，处置完毕。")
    joined = "\n".join(_failed(site))
    assert "content/stories/a.md" in joined and "ID card number" in joined
    assert "content/stories/b.md" not in joined and "content/stories/c.md" not in joined


def test_a_private_date_copied_into_public_text_stops_the_build(site: Site) -> None:
    """A birthday YAML reads as a date is a private value too, as it is written in a text."""
    site.story("e", "e-1", body="他1973年5月12日出生在江城。", private={"birthday": dt.date(1973, 5, 12)})
    site.story("f", "f-1", summary="生于 1973-05-12。", private={"family": {"born": dt.date(1973, 5, 12)}})
    site.story("g", "g-1", body="他1973年5月13日出生。", private={"birthday": dt.date(1973, 5, 12)})
    joined = "\n".join(_failed(site))
    assert "content/stories/e.md" in joined and "private.birthday" in joined
    assert "content/stories/f.md" in joined and "private.family.born" in joined
    assert "content/stories/g.md" not in joined and "1973" not in joined


def test_a_private_name_in_look_alike_characters_stops_the_build(site: Site) -> None:
    """李 U+F9E1 is a compatibility character that shows (and NFKC folds to) as 李: the search
    index folds it back, so the name would be found on the site."""
    site.story("c", "c-1", body="他的妻子\uf9e1小梅是小学教师。", private={"family": {"spouse": "李小梅"}})
    assert any("content/stories/c.md" in e and "private.family.spouse" in e for e in _failed(site))


def test_private_value_copied_into_public_text(site: Site) -> None:
    site.story("c", "c-1", body="他的妻子李小梅是小学教师。",
               private={"family": {"spouse": "李小梅"}, "notes": "曾因家中老人重病请假三个月，组织上给予了关心"})
    site.story("d", "d-1", body="他说：曾因家中老人重病请假三个月。",
               private={"notes": "曾因家中老人重病请假三个月，组织上给予了关心"})
    errors = _failed(site)
    joined = "\n".join(errors)
    assert "content/stories/c.md" in joined and "private.family.spouse" in joined
    assert "content/stories/d.md" in joined and "private.notes" in joined
    assert "李小梅" not in joined and "重病" not in joined
    assert "\u2060" not in joined  # (personal.PRIVATE_MARK, which chooses the hint, is never shown)


def test_a_number_and_a_private_name_on_one_line_are_both_reported_in_one_run(site: Site) -> None:
    site.story("c", "c-1", body="联系电话13912345678，妻子赵敏。",
               private={"family": {"spouse": "赵敏"}, "phone": "13912345678"})
    errors = [e for e in _failed(site) if "content/stories/c.md" in e]
    assert len(errors) == 2, errors
    assert any("mobile phone number" in e for e in errors) and any("private.family.spouse" in e for e in errors)
    assert not any("private field private.phone" in e for e in errors)  # (the number, already told as one)


def test_a_private_landline_beside_a_mobile_is_reported_in_the_same_run(site: Site) -> None:
    site.story("c", "c-1", body="家里电话0511-85551234，手机13905111234。", private={"landline": "0511-85551234"})
    assert any("content/stories/c.md" in e and "private.landline" in e for e in _failed(site))


def test_public_duty_numbers_are_allowed_only_when_listed(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s", public_numbers=["139 0000 1234"])
    site.story("a", "a-1", slug="a-one", body="社区民警值班电话：13900001234，欢迎群众来电。")
    site.build()
    assert "13900001234" in site.text_of("stories/a-one/index.html")
    site.story("b", "b-1", body="另一个号码：13900005678。")
    assert any("content/stories/b.md" in e for e in _failed(site))


def test_check_and_build_agree_on_personal_data(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.story("a", "a-1", summary="联系电话13912345678。")
    assert main(["check", "--config", str(site.config), "--now", "2026-11-24"]) == 1
    check_err = capsys.readouterr().err
    assert main(["build", "--config", str(site.config), "--now", "2026-11-24"]) == 1
    build_err = capsys.readouterr().err
    line = "content/stories/a.md:"
    assert line in check_err and line in build_err
    assert "mobile phone number" in check_err and "mobile phone number" in build_err


# ---- 4. time cannot be cheated ---------------------------------------------------------------

def test_a_build_in_the_future_does_not_leave_embargoed_stories_public(site: Site) -> None:
    site.story("a", "a-1")
    site.story("later", "l-1", slug="later", date=dt.date(2026, 12, 25))
    future = site.build(now=dt.datetime(2026, 12, 31, tzinfo=NOW.tzinfo))
    assert future.public == 2
    normal = site.build()
    assert normal.public == 1
    assert not (site.out / "stories/later").exists()
    assert "l-1" not in site.text_of("feeds/all.rss.xml")


@pytest.mark.parametrize("vetting, reason", [
    ({"cleared_by": "   ", "date": dt.date(2026, 2, 1), "ref": "纪审1号"}, "vetting-incomplete"),
    ({"cleared_by": "市局纪委", "date": dt.date(2026, 2, 1), "ref": " "}, "vetting-incomplete"),
    ({"cleared_by": "市局纪委", "date": dt.date(2026, 2, 1), "ref": "文号"}, "vetting-incomplete"),
    ({"cleared_by": "市局纪委", "date": dt.date(2026, 2, 1), "ref": "镇公纪〔2026〕XX号"}, "vetting-incomplete"),
    ({"cleared_by": "市局纪委", "date": dt.date(2026, 2, 1), "ref": "文号待补"}, "vetting-incomplete"),
    ({"cleared_by": "市局纪委", "date": dt.date(2026, 2, 1), "ref": "（待补）"}, "vetting-incomplete"),
    ({"cleared_by": "市局纪委", "date": dt.date(2026, 2, 1), "ref": "TBD."}, "vetting-incomplete"),
    ({"cleared_by": "市局纪委", "date": dt.date(2026, 2, 1), "ref": "江公纪审〔2026〕号"}, "vetting-incomplete"),
    *(({"cleared_by": "市局纪委", "date": dt.date(2026, 2, 1), "ref": ref}, "vetting-incomplete")
      for ref in ("江公纪审〔2026〕〇〇号", "江公纪审(2026)号", "江公纪审〔2026〕ｘｘ号", "江公纪审〔2026〕？号",
                  "江公纪审〔2026〕某号", "江公纪审〔2026〕X号", "江公纪审〔2026〕__号", "江公纪审〔2026〕",
                  "江公纪审〔2026〕00号")),
    *(({"cleared_by": office, "date": dt.date(2026, 2, 1), "ref": "纪审1号"}, "vetting-incomplete")
      for office in ("待定", "未审核", "TBD", "某某纪委")),
    ({"cleared_by": "市局纪委", "date": dt.date(2026, 12, 1), "ref": "纪审1号"}, "vetting-future"),
])
def test_vetting_that_is_not_vetting_holds_the_story_back(site: Site, vetting: dict[str, object],
                                                           reason: str) -> None:
    site.story("a", "a-1", vetting=vetting)
    report = site.build()
    assert [(h.id, h.reason) for h in report.held] == [("a-1", reason)]
    assert any(w.field == "vetting" and w.path == "content/stories/a.md" for w in report.warnings)


# ---- 8. bad input: a clear error, never a traceback, bounded resources ------------------------

BAD_FRONT_MATTER = {
    "impossible-date": ("date: 2026-02-30\n", "is not a date", 2),
    "alias-bomb": ('x: &a ["lol","lol","lol"]\ny: &b [*a,*a,*a]\nz: [*b,*b,*b]\n', "reference", 2),
    "text-alias": ("x: &a 王警官\ny: *a\n", "reference", 2),  # (a text value is refused the same way)
    "long-key": ("k" * 5000 + ": 1\n", "line", 2),
    "deep-nesting": ("a: " + "[" * 900 + "]" * 900 + "\n", "nested", 2),
}


@pytest.mark.parametrize("case", sorted(BAD_FRONT_MATTER))
def test_bad_yaml_is_a_clear_error(site: Site, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    extra, needle, line = BAD_FRONT_MATTER[case]
    site.write("content/stories/bad.md", "---\n" + extra + "id: bad-1\n---\n正文\n")
    assert main(["build", "--config", str(site.config), "--now", "2026-11-24"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"content/stories/bad.md:{line}" in err and needle in err


def test_wrong_nested_types_and_nested_duplicates_are_errors(site: Site) -> None:
    site.write("content/stories/a.md", story("a-1", vetting={"cleared_by": ["a"], "date": dt.date(2026, 2, 1),
                                                              "ref": "1号"},
                                             images=[{"src": "images/a.png", "caption": {"x": 1}}]))
    text = story("b-1").replace("private:", "private:")
    site.write("content/stories/b.md", text.replace("tags:", "private:\n  family: a\n  family: b\ntags:"))
    joined = "\n".join(_failed(site))
    assert "[vetting.cleared_by]" in joined and "[images.caption]" in joined
    assert "[private.family]" in joined and "given twice" in joined


def test_a_private_value_is_never_echoed(site: Site) -> None:
    site.story("a", "a-1", private={"assessments": [{"date": "机密日期X", "result": "优秀"}]})
    joined = "\n".join(_failed(site))
    assert "private.assessments.date" in joined and "机密日期X" not in joined


# ---- 6. withdrawal reaches everything about the exemplar ----------------------------------------

def test_withdrawing_an_exemplar_holds_back_its_follow_ups(site: Site) -> None:
    site.story("one", "x-1", slug="first", date=dt.date(2024, 5, 1))
    site.story("two", "x-2", slug="second", date=dt.date(2025, 5, 1), exemplar_of="x-1")
    site.story("three", "x-3", slug="third", date=dt.date(2026, 5, 1), exemplar_of="x-2")
    site.story("kept", "x-4", slug="kept", date=dt.date(2026, 6, 1), exemplar_of="x-1", stays_public=True)
    site.story("other", "o-1", slug="other")
    site.build()
    path = site.root / "content/stories/one.md"
    path.write_text(path.read_text(encoding="utf-8").replace("status: approved", "status: withdrawn"),
                    encoding="utf-8")
    report = site.build()
    assert sorted((h.id, h.reason) for h in report.held) == [
        ("x-1", "withdrawn"), ("x-2", "exemplar-withdrawn"), ("x-3", "exemplar-withdrawn")]
    assert {w.path for w in report.warnings if w.field == "exemplar_of"} == {
        "content/stories/two.md", "content/stories/three.md"}
    feed = site.text_of("feeds/all.rss.xml")
    assert "x-2" not in feed and "x-3" not in feed and "x-4" in feed
    for slug in ("second", "third"):
        assert "该内容已撤下" in site.text_of(f"stories/{slug}/index.html")


def test_a_public_link_to_a_withdrawn_story_stops_the_build(site: Site) -> None:
    site.story("gone", "g-1", slug="gone", status="withdrawn")
    site.story("a", "a-1", body="正文。\n\n参见[他的事迹](/stories/gone/)。")
    site.write("content/pages/p.md", "---\ntitle: 页面\n---\n见[这里](../stories/gone/index.html)。\n")
    forms = ["/stories/gone", "stories/gone#top", "http://test.example/pub/stories/gone/",
             "//test.example/pub/stories/gone/?a=1", "stories/./gone/", "/stories/x/../gone/",
             "/stories/%67one/", "http://TEST.EXAMPLE:80/pub/stories/gone/"]
    for i, form in enumerate(forms):
        site.story(f"b{i}", f"b-{i}", body=f"正文。\n\n参见[他]({form})。")
    errors = _failed(site)
    for i in range(len(forms)):
        assert any(e.startswith(f"content/stories/b{i}.md:") for e in errors), (forms[i], errors)
    assert any(e.startswith("content/stories/a.md:") and "stories/gone/" in e for e in errors), errors
    assert any(e.startswith("content/pages/p.md:4") for e in errors), errors


def test_a_link_to_a_story_withdrawn_later_stops_the_next_build(site: Site) -> None:
    # (the linking stories are not read again: their links come with what the last build kept of them)
    site.story("gone", "g-1", slug="gone")
    site.story("a", "a-1", slug="a", body="正文。\n\n第二段。\n\n参见[他的事迹](/stories/gone/)。")
    site.story("b", "b-1", slug="b", body="正文。\n\n参见[他](http://test.example/pub/stories/gone/index.html#top)。")
    site.story("c", "c-1", slug="c", body="正文。\n\n参见[别人](/stories/gone-2/)。")
    site.build()
    assert site.html("stories/a/index.html").xpath('//main//p/a[@href="../../stories/gone/index.html"]')
    site.story("gone", "g-1", slug="gone", status="withdrawn")
    errors = _failed(site)
    assert sorted(e.split(":")[0] for e in errors) == ["content/stories/a.md", "content/stories/b.md"], errors
    assert all("stories/gone/" in e for e in errors)
    # each names the line the link is on, though neither file was read again
    for file in ("a", "b"):
        lines = (site.root / f"content/stories/{file}.md").read_text(encoding="utf-8").split("\n")
        (error,) = [e for e in errors if e.startswith(f"content/stories/{file}.md:")]
        assert "stories/gone" in lines[int(error.split(":")[1]) - 1], (error, lines)
    # (nothing was written)
    assert site.html("stories/a/index.html").xpath('//main//p/a[@href="../../stories/gone/index.html"]')


def test_a_link_to_a_withdrawn_story_is_named_at_its_line_when_its_address_is_in_the_front_matter_too(
        site: Site) -> None:
    # (a photo named after the exemplar: the address's last part appears in the front matter first)
    (site.root / "content/images/gone.png").write_bytes((site.root / "content/images/a.png").read_bytes())
    site.story("gone", "g-1", slug="gone")
    site.story("a", "a-1", slug="a", images=[{"src": "images/gone.png", "alt": "他的照片"}],
               body="正文。\n\n第二段。\n\n参见[他的事迹](/stories/gone/)。")
    site.build()
    site.story("gone", "g-1", slug="gone", status="withdrawn")
    (error,) = [e for e in _failed(site) if e.startswith("content/stories/a.md:")]
    lines = (site.root / "content/stories/a.md").read_text(encoding="utf-8").split("\n")
    assert "stories/gone" in lines[int(error.split(":")[1]) - 1], (error, lines)


@pytest.mark.parametrize("form", ["http://test.example/pub/stories\\gone/", "/stories\\gone/",
                                  "http://test.example/pub/stories/gone\\", "http://test.example/pub/sto&#9;ries/gone/",
                                  # (the fully qualified host, and spellings a browser's URL parser maps to it)
                                  "http://test.example./pub/stories/gone/", "http://TEST.example/pub/stories/gone/",
                                  "http://test%2Eexample/pub/stories/gone/", "http://test。example/pub/stories/gone/",
                                  "http://ｔｅｓｔ．ｅｘａｍｐｌｅ/pub/stories/gone/",
                                  "http://te\u00adst.example/pub/stories/gone/"])
def test_a_link_a_browser_reads_as_the_withdrawn_storys_address_stops_the_build(site: Site, form: str) -> None:
    # (a browser drops tabs and line breaks from an address and takes '\\' for '/')
    site.story("gone", "g-1", slug="gone", status="withdrawn")
    site.story("b", "b-1", slug="b", body=f'正文。\n\n参见<a href="{form}">他</a>。')
    errors = _failed(site)
    assert any(e.startswith("content/stories/b.md:") and "stories/gone/" in e for e in errors), errors


def test_a_link_to_another_editions_address_of_a_withdrawn_story_stops_the_build(tmp_path: Path) -> None:
    internet = {"base_url": "https://www.test.gov.cn", "base_path": "/xj/", "output_dir": "public-net",
                "title_suffix": "（互联网版）", "external": True}
    site = make_site(tmp_path / "s", feeds={"guid_prefix": "tag:test.gov.cn,2025:"}, editions={"internet": internet})
    site.story("g", "g-1", slug="gone", status="withdrawn")
    site.story("b", "b-1", slug="b", body="参见[他](https://www.test.gov.cn/xj/stories/gone/)。")
    errors = _failed(site)
    assert any(e.startswith("content/stories/b.md:") and "stories/gone/" in e for e in errors), errors


# ---- 7. addresses never move under subscribers -------------------------------------------------

@pytest.mark.parametrize("newcomer", ["社区警務", "社區警务", "射区警务", "社区\u200b警务"])
def test_a_look_alike_tag_never_takes_an_existing_address(site: Site, newcomer: str) -> None:
    site.story("a", "a-1", slug="a", date=dt.date(2026, 3, 1), tags=["社区警务"])
    site.build()
    before = site.text_of("tags/she-qu-jing-wu/index.html")
    assert "测试典型a-1" in before
    site.story("b", "b-1", slug="b", date=dt.date(2026, 4, 1), tags=[newcomer])
    report = site.build()
    page = site.text_of("tags/she-qu-jing-wu/index.html")
    assert "测试典型a-1" in page
    if "\u200b" in newcomer:  # the same tag once the invisible character is gone
        assert "测试典型b-1" in page
    else:
        assert "测试典型b-1" not in page
        assert "测试典型b-1" in site.text_of("tags/she-qu-jing-wu-2/index.html")
        assert any(w.field == "tags" and w.path == "content/stories/b.md" for w in report.warnings)


def test_personal_data_in_the_config_stops_the_build(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s", sms={"signature": "测试公安", "suffix": "咨询13800138000"})
    site.story("a", "a-1")
    with pytest.raises(BuildFailed) as info:
        site.build()
    (p,) = [p for p in info.value.problems if p.is_error]
    assert p.path.endswith("site_config.yaml") and p.field == "sms" and "13800138000" not in p.format()


def test_a_theme_name_cannot_lead_out_of_themes(tmp_path: Path, outside: Path) -> None:
    site = make_site(tmp_path / "s", theme="../../server")
    (site.root / "themes").mkdir()
    site.story("a", "a-1")
    with pytest.raises(BuildFailed) as info:
        site.build()
    assert [p.field for p in info.value.problems if p.is_error] == ["theme"]


def test_a_theme_folder_linked_from_outside_is_refused(tmp_path: Path, outside: Path) -> None:
    (outside / "templates").mkdir()
    (outside / "templates" / "base.html").write_text(SECRET)
    site = make_site(tmp_path / "s", theme="linked")
    (site.root / "themes").mkdir()
    os.symlink(outside, site.root / "themes/linked")
    site.story("a", "a-1")
    errors = _failed(site)
    assert any("themes/linked" in e for e in errors), errors


def test_a_backdated_unpublished_story_cannot_take_a_published_tag_address(site: Site) -> None:
    site.story("a", "a-1", slug="a", date=dt.date(2026, 3, 1), tags=["反诈"])
    site.build()
    site.story("old", "o-1", slug="old", date=dt.date(2019, 1, 1), status="seedling", tags=["返诈"])
    site.build()
    assert "测试典型a-1" in site.text_of("tags/fan-zha/index.html")


def test_a_drafts_build_cannot_reach_the_public_output_through_a_link(site: Site) -> None:
    site.story("a", "a-1")
    site.story("b", "b-1", status="seedling")
    site.build()
    os.symlink(site.out, site.root / "public-drafts")
    with pytest.raises(BuildFailed):
        site.build(drafts=True)
    assert "预览版本" not in site.text_of("index.html")


@pytest.mark.parametrize("how", ["content_dir", "content-link", "themes-link"])
def test_content_and_themes_must_be_inside_the_site_folder(tmp_path: Path, outside: Path, how: str) -> None:
    site = make_site(tmp_path / "s", content_dir=str(outside) if how == "content_dir" else "content")
    (outside / "stories").mkdir()
    if how == "content-link":
        import shutil

        shutil.rmtree(site.root / "content")
        os.symlink(outside, site.root / "content")
    if how == "themes-link":
        os.symlink(outside, site.root / "themes")
    site.story("a", "a-1") if how == "themes-link" else None
    with pytest.raises(BuildFailed) as info:
        site.build()
    assert [p.field for p in info.value.problems if p.is_error] == ["theme" if how == "themes-link" else "content_dir"]


def test_a_hard_link_to_a_file_elsewhere_is_refused(site: Site, outside: Path) -> None:
    os.link(outside / "passwd.png", site.root / "content/images/leak.png")
    site.story("a", "a-1", images=[{"src": "images/leak.png", "alt": "x"}])
    errors = _failed(site)
    assert any("content/images/leak.png" in e and "hard link" in e for e in errors), errors


def test_personal_data_in_unit_or_field_names_stops_the_build(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s", fields={"shequ": "社区警务（联系13812345678）", "jiaojing": "交警"})
    site.story("a", "a-1")
    with pytest.raises(BuildFailed) as info:
        site.build()
    assert [p.field for p in info.value.problems if p.is_error] == ["fields"]


def test_a_body_that_would_stall_markdown_is_a_clear_error(site: Site) -> None:
    site.story("a", "a-1", body="正文" + "[" * 20_000)
    errors = _failed(site)
    assert any(e.startswith("content/stories/a.md:") and "'['" in e for e in errors), errors


def test_attachments_that_run_scripts_or_hold_personal_data_are_refused(site: Site) -> None:
    (site.root / "content/files").mkdir()
    (site.root / "content/files/evil.html").write_text("<script>alert(1)</script>", encoding="utf-8")
    (site.root / "content/images/logo.svg").write_text("<svg onload='alert(1)'/>", encoding="utf-8")
    (site.root / "content/files/list.txt").write_text("名单\n张三 138 0013 8000\n", encoding="utf-8")
    site.story("a", "a-1", body="附件：[名单](files/list.txt)")
    joined = "\n".join(_failed(site))
    assert "content/files/evil.html" in joined and "content/images/logo.svg" in joined
    assert "content/files/list.txt:2" in joined and "mobile phone number" in joined and "0013" not in joined


def test_private_names_written_as_keys_are_looked_for_and_never_shown(site: Site) -> None:
    site.story("a", "a-1", body="李秀梅一直默默支持他的工作。", private={"family": {"李秀梅": "配偶"}})
    errors = _failed(site)
    assert any("content/stories/a.md" in e and "private.family" in e for e in errors), errors
    assert not any("李秀梅" in e for e in errors)


def test_a_changed_image_size_reaches_the_feeds_incrementally(site: Site, tmp_path: Path) -> None:
    import shutil

    from exemplar_site.pipeline import BuildOptions, build_site

    site.story("a", "a-1", images=[{"src": "images/a.png", "alt": "x"}])
    site.build()
    with (site.root / "content/images/a.png").open("ab") as f:
        f.write(b"\0" * 1000)
    site.build()
    clean = tmp_path / "clean"
    build_site(site.config, BuildOptions(now=NOW, output=clean, cache=False))
    for name in ("feeds/all.rss.xml", "feeds/all.atom.xml"):
        assert (site.out / name).read_bytes() == (clean / name).read_bytes()
    shutil.rmtree(clean)


def test_a_withdrawn_series_gives_no_notice_to_stories_never_published(site: Site) -> None:
    site.story("one", "x-1", slug="first", date=dt.date(2024, 5, 1), status="withdrawn")
    site.story("two", "x-2", slug="secret-seedling", exemplar_of="x-1", status="seedling")
    site.story("three", "x-3", slug="embargoed", exemplar_of="x-1", date=dt.date(2026, 12, 30))
    site.story("b", "b-1")
    site.build()
    assert (site.out / "stories/first/index.html").exists()
    assert not (site.out / "stories/secret-seedling").exists() and not (site.out / "stories/embargoed").exists()
    assert "secret-seedling" not in (site.root / "public-withdrawn.map").read_text(encoding="utf-8")


@pytest.mark.parametrize("template", ["{{ no_such_name.x }}", "{% if %}", "{{ 1 / 0 }}",
                                      "{% include 'missing.html' %}"])
def test_a_broken_theme_template_is_a_clear_error(site: Site, template: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    templates = site.root / "themes/mine/templates"
    templates.mkdir(parents=True)
    (templates / "story.html").write_text('{% extends "default/story.html" %}{% block title %}' + template
                                          + "{% endblock %}", encoding="utf-8")
    site.config.write_text(site.config.read_text(encoding="utf-8") + "theme: mine\n", encoding="utf-8")
    site.story("a", "a-1")
    code = main(["build", "--config", str(site.config), "--now", "2026-11-24"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "主题模板出错" in err, err


@pytest.mark.parametrize("template", [
    "{{ lipsum.__globals__['os'].popen('cat content/stories/a.md').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{{ story.__class__.__init__.__globals__ }}",
    # the sandbox's quick paths (theme._Sandbox): str.format, a macro's insides, the attr filter
    "{{ '{0.__class__.__init__.__globals__}'.format(story) }}",
    "{{ '{x.__class__}'.format_map({'x': story}) }}",
    "{% macro m() %}x{% endmacro %}{{ m() }}{{ m._func.__globals__ }}",
    "{% macro m() %}x{% endmacro %}{{ m.__call__.__func__.__globals__ }}",
    "{{ story.title }}{{ story | attr('__class__') | attr('__init__') | attr('__globals__') }}",
    "{{ story.title.upper() }}{{ story.title.upper.__self__.__class__.__mro__ }}",
])
def test_a_theme_cannot_reach_beyond_what_it_is_given(site: Site, template: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A theme passed on from elsewhere could read any file (a private block) through Python's
    internals and print it into every page: the templates run sandboxed, and such a template
    stops the build, naming it."""
    templates = site.root / "themes/mine/templates"
    templates.mkdir(parents=True)
    (templates / "story.html").write_text('{% extends "default/story.html" %}{% block title %}' + template
                                          + "{% endblock %}", encoding="utf-8")
    site.config.write_text(site.config.read_text(encoding="utf-8") + "theme: mine\n", encoding="utf-8")
    site.story("a", "a-1", private={"family": {"spouse": "李秀梅"}})
    code = main(["build", "--config", str(site.config), "--now", "2026-11-24"])
    err = capsys.readouterr().err
    assert code == 1 and "主题模板出错" in err and "story.html" in err, err
    assert "Traceback" not in err and "李秀梅" not in err and not site.out.exists()


def test_the_sandbox_quick_paths_answer_as_jinjas_own_for_objects_that_misreport_their_class() -> None:
    """theme._Sandbox decides an attribute once per (type, name) and skips the str.format test for
    values that are not methods; an object whose __class__ is not its type (a proxy) is decided
    each time, as Jinja's sandbox decides it (the site gives templates no such object today: this
    keeps a later one from opening a hole; found by a review)."""
    import weakref

    import jinja2
    import jinja2.sandbox

    from exemplar_site.theme import _Sandbox

    class Plain:
        gi_frame = "harmless"

    def numbers() -> Any:
        yield 1

    running = numbers()
    next(running)
    plain = Plain()

    class Text(str):
        def format(self, *args: Any, **kwargs: Any) -> str:
            return str.format(self, *args, **kwargs)

    holder = Plain()
    bound = Text("{0.__class__.__mro__}").format
    holder.f = weakref.proxy(bound)  # type: ignore[attr-defined]
    for template, context in [("{{ a.gi_frame }}|{{ b.gi_frame }}", {"a": weakref.proxy(plain),
                                                                      "b": weakref.proxy(running)}),
                              ("{{ h.f(x) }}", {"h": holder, "x": plain})]:
        answers = []
        for env in (jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined),
                    _Sandbox(undefined=jinja2.StrictUndefined)):
            try:
                answers.append(env.from_string(template).render(context))
            except jinja2.exceptions.SecurityError as exc:
                answers.append(f"refused: {type(exc).__name__}")
        assert answers[0].startswith("refused") and answers[1] == answers[0], answers


@pytest.mark.parametrize("template", ["{% set root_mark = nope %}{{ 'x/' | rel }}",
                                      "{% set link_base = site.base_pth %}<a href=\"{{ 'x/' | rel }}\">x</a>"])
def test_a_theme_mistake_in_the_link_variables_fails_the_build(site: Site, template: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A template that sets the variables the `rel` filter reads to something undefined fails as any
    undefined name does (not links quietly made another way)."""
    templates = site.root / "themes/mine/templates"
    templates.mkdir(parents=True)
    (templates / "story.html").write_text(template, encoding="utf-8")
    site.config.write_text(site.config.read_text(encoding="utf-8") + "theme: mine\n", encoding="utf-8")
    site.story("a", "a-1")
    code = main(["build", "--config", str(site.config), "--now", "2026-11-24"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "主题模板出错" in err, err


def test_control_characters_written_as_escapes_and_odd_theme_files(site: Site) -> None:
    (site.root / "themes/mine/templates").mkdir(parents=True)
    (site.root / "themes/mine/templates/Thumbs.db").write_bytes(b"\xff\xfe\x00\x81junk")
    site.config.write_text(site.config.read_text(encoding="utf-8") + "theme: mine\n", encoding="utf-8")
    site.write("content/stories/a.md", story("a-1", tags=["标\u0001签"]).replace("标\x01签", '"标\\u0001签"'))
    report = site.build()
    assert report.public == 1


@pytest.mark.parametrize("held", [{"status": "recommended"}, {"date": dt.date(2026, 12, 10)}])
def test_a_link_to_a_story_not_yet_public_stops_the_build(site: Site, held: dict[str, Any],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Its address (the title in pinyin) would give it away before it is public; build and check
    agree, naming the line of the link (a drafts build, which shows it, links it)."""
    site.story("h", "h-1", slug="zhao-xiao-long", **held)
    site.story("a", "a-1", slug="a", body="第一段。\n\n见[明日发布](/stories/zhao-xiao-long/)。\n")
    errors = _failed(site)
    assert any("content/stories/a.md" in e and "not public" in e for e in errors), errors
    assert main(["check", "--config", str(site.config), "--now", "2026-11-24"]) == 1
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert out.count("zhao-xiao-long") == 1, out  # one error, not a second one for a broken link
    site.build(drafts=True)


@pytest.mark.parametrize("never", [{"status": "withdrawn", "vetting": None},  # a seedling dropped: never vetted
                                   {"status": "withdrawn", "date": dt.date(2026, 12, 10),
                                    "withdrawn_date": dt.date(2026, 11, 20)}])  # withdrawn before its day
def test_a_story_withdrawn_before_it_was_ever_public_leaves_no_trace(site: Site, never: dict[str, Any]) -> None:
    """No notice page, no withdrawal map entry, no tombstone in any feed: each would name a story
    that never went out. A link to it stops the build as a link to any story not public does."""
    site.story("n", "n-1", slug="zhao-xiao-long", **never)
    site.story("b", "b-1", slug="b")
    site.build()
    everything = b"".join(p.read_bytes() for p in site.out.rglob("*") if p.is_file())
    assert b"zhao-xiao-long" not in everything and b"n-1" not in everything
    assert "zhao-xiao-long" not in (site.root / "public-withdrawn.map").read_text(encoding="utf-8")
    site.story("b", "b-1", slug="b", body="见[旧稿](/stories/zhao-xiao-long/)。")
    assert any("content/stories/b.md" in e and "not public" in e for e in _failed(site))


def test_a_private_value_or_number_percent_escaped_in_a_link_stops_the_build(site: Site) -> None:
    """A browser and the server read images/%E6%9D%8E…png as images/李秀梅.png: so does the scan."""
    site.story("c", "c-1", body="合影如下。\n\n![合影](images/%E6%9D%8E%E7%A7%80%E6%A2%85.png)\n",
               private={"family": {"spouse": "李秀梅"}})
    site.story("d", "d-1", body="见[附件](files/1390511%31234.pdf)。")
    number = "%31%33%38%31%32%33%34%35%36%37%38"  # 13812345678
    site.story("e", "e-1", body=f"走访照片：![照片][p]\n\n[p]: images/{number}.png\n")
    site.story("f", "f-1", body=f'请[拨打电话][t]。\n\n   [t]:\n   tel:{number} "电话"\n')
    joined = "\n".join(_failed(site))
    assert "content/stories/c.md" in joined and "private.family.spouse" in joined
    assert "content/stories/d.md" in joined and "mobile phone number" in joined
    # (and in a reference-style link's definition, its target on the label's line or the next)
    for name in ("e", "f"):
        assert f"content/stories/{name}.md:" in joined, joined


def test_a_name_under_a_chinese_key_of_the_private_block_stops_the_build(site: Site) -> None:
    site.story("c", "c-1", body="他的妻子李梅一直支持他的工作。", private={"配偶": "李梅"})
    site.story("e", "e-1", body="他的爱人李梅身体不好，紧急联系人周雪说，他身患肝癌仍坚守岗位。",
               private={"爱人": "李梅", "contact": "周雪", "illness": "肝癌"})
    site.story("d", "d-1", author=["赵敏"], private={"家属": {"妻子": "赵敏"}})
    joined = "\n".join(_failed(site))
    assert "content/stories/c.md" in joined and "content/stories/d.md" in joined
    assert "李梅" not in joined and "赵敏" not in joined
    mine = [e for e in _failed(site) if "content/stories/e.md" in e]
    for label in ("private", "private.contact", "private.illness"):  # (爱人 is not shown: "private")
        assert any(f"the private field {label} (not shown here)" in e for e in mine), mine


def test_an_attachment_that_is_a_content_file_is_refused(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    """A story's source copied into content/files/, or a link there to a held-back story, would
    publish the private block and the unvetted text: build and check refuse it, naming the file."""
    site.story("held", "h-1", status="recommended", private={"notes": "家中老人重病请假三个月"})
    files = site.root / "content/files"
    files.mkdir()
    (files / "原稿.md").write_text((site.root / "content/stories/held.md").read_text(encoding="utf-8"),
                                   encoding="utf-8")
    try:
        os.symlink("../stories/held.md", files / "held.pdf")
    except OSError:  # pragma: no cover - a Windows account without the right to make links
        (files / "held.pdf").write_bytes(pdf("x"))
    site.story("a", "a-1", body="见[原稿](files/原稿.md)和[附件](files/held.pdf)。")
    errors = _failed(site)
    assert any("content/files/原稿.md" in e and "source file" in e for e in errors), errors
    if (files / "held.pdf").is_symlink():
        assert any("content/files/held.pdf" in e and "content/stories/held.md" in e for e in errors), errors
    assert main(["check", "--config", str(site.config), "--now", "2026-11-24"]) == 1
    captured = capsys.readouterr()
    assert "原稿.md" in captured.out + captured.err


def test_a_campaign_about_a_withdrawn_exemplar_goes_with_them(site: Site) -> None:
    """Its title and text name the exemplar, who must vanish from every output: it is held back,
    with a warning at its exemplars: line (refusing the build would keep the old site, exemplar
    and all, online in an emergency withdrawal)."""
    site.story("w", "w-1", status="withdrawn", withdrawn_date=dt.date(2026, 10, 1))
    site.story("f", "f-1", exemplar_of="w-1")  # withdrawn with it
    site.story("b", "b-1")
    for n, ids in enumerate((["w-1"], ["b-1", "f-1"], ["b-1"])):
        site.write(f"content/campaigns/learn{n}.md", f"---\ntitle: 向张同志学习{n}号\ndate: 2026-03-01\n"
                   f"exemplars: [{', '.join(ids)}]\n---\n学习他的先进事迹。\n")
    report = site.build()
    assert [(w.path, w.line) for w in report.warnings if w.field == "exemplars"] == \
        [("content/campaigns/learn0.md", 4), ("content/campaigns/learn1.md", 4)]
    everything = b"".join(p.read_bytes() for p in site.out.rglob("*") if p.is_file())
    assert "向张同志学习0号".encode() not in everything and "向张同志学习1号".encode() not in everything
    assert "向张同志学习2号".encode() in everything and (site.out / "campaigns/learn2/index.html").is_file()
    assert main(["check", "--config", str(site.config), "--now", "2026-11-24"]) == 0


def test_personal_data_in_a_page_or_campaign_file_name_stops_the_build(site: Site) -> None:
    """Without a slug:, the file's name is the address, in every link, menu, feed and list."""
    site.story("b", "b-1")
    site.write("content/pages/13905111234.md", "---\ntitle: 联系我们\n---\n正文。\n")
    site.write("content/campaigns/320102197305120033.md", "---\ntitle: 学习活动\ndate: 2026-03-01\n---\n正文。\n")
    joined = "\n".join(_failed(site))
    assert "content/pages/13905111234.md:1" in joined and "mobile phone number" in joined
    assert "content/campaigns/320102197305120033.md:1" in joined and "ID card number" in joined


def test_a_link_to_a_story_whose_vetting_ran_out_does_not_keep_it_online(site: Site) -> None:
    """It was public until then (its address is known): the build goes on and takes it down, the
    link left pointing nowhere, instead of refusing and leaving the old site, story and all, up."""
    site.story("x", "x-1", slug="expired", vetting={"cleared_by": "市局纪委", "date": dt.date(2025, 1, 1),
                                                     "ref": "纪审1号"})
    site.story("a", "a-1", slug="a", body="见[旧稿](/stories/expired/)。")
    report = site.build()
    assert [(h.id, h.reason) for h in report.held] == [("x-1", "vetting-expired")]
    assert not (site.out / "stories/expired").exists()


def test_a_private_value_in_a_related_public_text_stops_the_build(site: Site,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A story's private values are looked for in what is published about the same exemplar: its
    follow-ups (exemplar_of, either way), the campaigns naming it, the pages linking it. A story
    about someone else that happens to name a person of the same name is left alone."""
    site.story("a", "a-1", slug="first", private={"family": {"spouse": "李梅"}, "home": "和平路十八号三单元"})
    site.story("b", "b-1", slug="second", exemplar_of="a-1", body="三年后再访，他的爱人李梅仍在社区工作。")
    site.story("k", "k-1", slug="kept", exemplar_of="a-1",
               images=[{"src": "images/p.png", "alt": "家住和平路十八号三单元"}])
    site.story("c", "c-1", slug="other", body="社区群众李梅说：他是个好民警。")  # someone else
    site.write("content/campaigns/learn.md", "---\ntitle: 学习活动\ndate: 2026-03-01\nexemplars: [a-1]\n"
               "summary: 连同家属李梅一起表彰\n---\n学习他的先进事迹。\n")
    site.write("content/pages/visit.md", "---\ntitle: 走访\n---\n走访[张警官](/stories/first/)的家属，\n\n"
               "他的爱人李梅说……\n")
    (site.root / "content/images/p.png").write_bytes(PNG)
    errors = _failed(site)
    joined = "\n".join(errors)
    assert "content/stories/b.md:" in joined and "content/stories/k.md:" in joined, joined
    assert "content/campaigns/learn.md:5" in joined and "content/pages/visit.md:6" in joined, joined
    assert "content/stories/c.md" not in joined
    assert "private.family.spouse" in joined and "private.home" in joined and "content/stories/a.md" in joined
    assert "李梅" not in joined and "和平路" not in joined
    assert main(["check", "--config", str(site.config), "--now", "2026-11-24"]) == 1
    assert "content/stories/b.md:" in capsys.readouterr().err


def test_a_private_value_added_later_is_looked_for_in_related_stories_not_read_again(site: Site) -> None:
    """The follow-up is unchanged (the build reuses it from its cache): the private value added to
    the first story is looked for in it all the same; and withdrawing the first story while the
    follow-up stays public changes nothing."""
    site.story("a", "a-1", slug="first")
    site.story("b", "b-1", slug="second", exemplar_of="a-1", stays_public=True,
               body="三年后再访，他的爱人李梅仍在社区工作。")
    site.build()
    site.story("a", "a-1", slug="first", private={"family": {"spouse": "李梅"}})
    assert any("content/stories/b.md:" in e and "private.family.spouse" in e for e in _failed(site))
    site.story("a", "a-1", slug="first", private={"family": {"spouse": "李梅"}}, status="withdrawn",
               withdrawn_date=dt.date(2026, 10, 1))
    assert any("content/stories/b.md:" in e and "private.family.spouse" in e for e in _failed(site))
    site.story("b", "b-1", slug="second", exemplar_of="a-1", stays_public=True, body="三年后再访。")
    site.build()
    assert "李梅" not in site.text_of("stories/second/index.html")
    # the other way: the first story is reused from the cache, the follow-up changed
    site.story("b", "b-1", slug="second", exemplar_of="a-1", stays_public=True, body="再访，李梅说……")
    assert any("content/stories/b.md:" in e and "private.family.spouse" in e for e in _failed(site))


def test_private_values_reach_neither_an_outside_edition_nor_a_campaign_a_story_names(tmp_path: Path) -> None:
    """The internet edition makes a link to a story it leaves out plain text: the page linking it
    is still about that story. A campaign named in a story's campaigns: is about it as much as
    one listing it under exemplars:. A follow-up's photo name and an escaped link count too."""
    site = make_site(tmp_path / "s", editions={"internet": {
        "base_url": "https://www.test.gov.cn", "base_path": "/xj/", "output_dir": "public-net", "external": True}},
        feeds={"guid_prefix": "tag:test.gov.cn,2025:"})
    site.story("a", "a-1", slug="first", private={"family": {"spouse": "李梅"}}, campaigns=["learn"])
    site.write("content/pages/visit.md", "---\ntitle: 走访\nexternal: {approved_by: 市局宣传处, date: 2026-04-15}\n"
               "---\n走访[张警官](/stories/first/)的家属李梅。\n")
    site.write("content/campaigns/learn.md", "---\ntitle: 学习活动\ndate: 2026-03-01\n---\n向张警官和李梅学习。\n")
    site.write("content/images/李梅.png", "")
    (site.root / "content/images/李梅.png").write_bytes(PNG)
    site.story("b", "b-1", slug="second", exemplar_of="a-1", images=[{"src": "images/李梅.png", "alt": "合影"}],
               body="再访。[信](files/%E6%9D%8E%E6%A2%85%E7%9A%84%E4%BF%A1.txt)")
    (site.root / "content/files").mkdir()
    (site.root / "content/files/李梅的信.txt").write_text("感谢信。", encoding="utf-8")
    for edition in (None, "internet"):
        with pytest.raises(BuildFailed) as info:
            site.build(edition=edition)
        joined = "\n".join(p.format() for p in info.value.problems if p.is_error)
        assert "content/pages/visit.md" in joined and "private.family.spouse" in joined, joined
        if edition is None:
            assert "content/campaigns/learn.md" in joined and "content/stories/b.md" in joined, joined
        assert "李梅" not in joined
    args = ["check", "--config", str(site.config), "--now", "2026-11-24", "--edition", "internet"]
    assert main(args) == 1


def test_a_report_template_cannot_read_or_write_files(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    """The leaders' report gives its templates the config, whose folders are paths: a path's
    name shows, its file operations are refused."""
    templates = site.root / "themes/evil/templates/reports"
    templates.mkdir(parents=True)
    (templates / "index.html").write_text('{{ config.root.joinpath("content/stories/a.md").read_text() }}'
                                          '{{ config.root.joinpath("pwned.txt").write_text("x") }}', encoding="utf-8")
    site.config.write_text(site.config.read_text(encoding="utf-8") + "theme: evil\n", encoding="utf-8")
    site.story("a", "a-1", private={"family": {"spouse": "李秀梅"}})
    code = main(["report", "--config", str(site.config), "--as-of", "2026-11-24"])
    err = capsys.readouterr().err
    assert code != 0 and "李秀梅" not in err and not (site.root / "pwned.txt").exists(), err


def test_check_drafts_refuses_what_build_drafts_refuses(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.story("a", "a-1", slug="first", private={"family": {"spouse": "李梅"}})
    site.story("b", "b-1", slug="second", exemplar_of="a-1", status="seedling", body="他的爱人李梅说……")
    site.build()  # (the follow-up is not public: the public build leaves it out)
    assert main(["check", "--config", str(site.config), "--now", "2026-11-24"]) == 0
    with pytest.raises(BuildFailed):
        site.build(drafts=True)
    capsys.readouterr()
    assert main(["check", "--config", str(site.config), "--now", "2026-11-24", "--drafts"]) == 1
    assert "content/stories/b.md" in capsys.readouterr().err



def test_an_edit_reads_no_other_story_again_for_a_campaign_many_stories_name(site: Site,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A campaign named by many stories is looked at story by story: editing one of them reads
    no other story's file again for its private values (they are never cached)."""
    from exemplar_site.incremental import Incremental

    for n in range(4):
        site.story(f"s{n}", f"s-{n}", campaigns=["learn"], private={"family": {"spouse": f"王{n}梅"}})
    site.write("content/campaigns/learn.md", "---\ntitle: 学习活动\ndate: 2026-03-01\n---\n向先进学习。\n")
    site.build()
    read: list[str] = []
    original = Incremental._needles

    def counting(self: Incremental, record: Any, problems: Any) -> Any:
        read.append(record.path)
        return original(self, record, problems)

    monkeypatch.setattr(Incremental, "_needles", counting)
    site.story("s0", "s-0", campaigns=["learn"], private={"family": {"spouse": "王0梅"}}, summary="改过的摘要。")
    site.build()
    assert read == []
    site.write("content/campaigns/learn.md", "---\ntitle: 学习活动\ndate: 2026-03-01\n---\n向王2梅学习。\n")
    with pytest.raises(BuildFailed) as info:
        site.build()
    assert any("content/campaigns/learn.md" in p.format() and "content/stories/s2.md" in p.format()
               for p in info.value.problems if p.is_error)


SPOUSES = ["李梅", "王芳", "张丽", "刘敏", "陈静", "杨洁", "赵燕", "黄娟", "周霞", "吴琴", "徐萍", "孙红"]


def _series(site: Site, leak: bool, edited: str = "") -> None:
    """Twelve stories about one exemplar, each a follow-up of the one before, each with its own
    private spouse value; s3's body names s6's when `leak`."""
    for n, spouse in enumerate(SPOUSES):
        named = "他的同事孙某说，孙某的爱人赵燕也来了。" if leak and n == 3 else ""
        body = f"第{n}次回访。{named}" + edited * (n == 5)
        site.story(f"s{n}", f"s-{n}", slug=f"p{n}", name="张伟", private={"family": {"spouse": spouse}},
                   exemplar_of=f"s-{n - 1}" if n else None, body=body)


def test_a_long_series_is_looked_through_once_for_each_story_not_once_for_each_pair(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each story of a series is looked through for every other story's private values: its texts
    are made plain (personal.normalise) once, not once for each other story (a series of k stories
    cost k·(k-1) passes: 300 follow-ups of one exemplar took half a minute), in a cold build as
    in one after an edit; the answers are those of a build with no cache."""
    import exemplar_site.incremental as incremental
    import exemplar_site.personal as personal

    calls = {"n": 0}
    for module in (personal, incremental):
        original = module.normalise

        def counting(text: str, _original: Any = original) -> str:
            calls["n"] += 1
            return str(_original(text))

        monkeypatch.setattr(module, "normalise", counting)
    k = len(SPOUSES)
    _series(site, leak=False)
    site.build()
    assert calls["n"] <= 4 * k, calls  # (k·(k-1) = 132 before)
    _series(site, leak=True)  # s3 edited: it looked through for the others' values, they for its
    calls["n"] = 0
    errors = _failed(site)
    leaks = [e for e in errors if "private.family.spouse" in e]
    assert leaks and all("content/stories/s3.md:" in e and "content/stories/s6.md" in e for e in leaks), errors
    assert "赵燕" not in "\n".join(errors)
    assert calls["n"] <= 4 * k, calls
    assert _failed(site, cache=False) == errors
    _series(site, leak=True, edited="又及。")  # another story edited: the same answer
    calls["n"] = 0
    assert _failed(site) == errors
    assert calls["n"] <= 4 * k, calls
    _series(site, leak=False)
    site.build()
