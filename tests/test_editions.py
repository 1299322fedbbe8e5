"""Inside and outside publicity: the intranet edition and an internet edition built from one site.
The internet edition holds only what carries an `external:` clearance, and not one byte of it
names the intranet (issue 16)."""

from __future__ import annotations

import datetime as dt
import gc
import json
import zipfile
from pathlib import Path
from typing import Any

import feedparser
import pytest

from conftest import NOW, Site, copy_sample, make_site
from exemplar_site.cli import main
from exemplar_site.config import load_config
from exemplar_site.errors import BuildFailed
from exemplar_site.pipeline import BuildOptions, build_site

INTERNET = {"internet": {"base_url": "https://www.test.gov.cn", "base_path": "/xj/", "output_dir": "public-net",
                         "title_suffix": "（互联网版）", "external": True}}
CLEARED = {"approved_by": "市局宣传处", "date": dt.date(2026, 3, 1)}


def _site(tmp_path: Path) -> Site:
    site = make_site(tmp_path / "site", editions=INTERNET,
                     feeds={"guid_prefix": "tag:test.gov.cn,2025:"})
    site.story("out", "out-1", slug="out", title="可以外宣的稿件", external=CLEARED,
               body="正文。另见[内部稿件](/stories/in/)和[可公开的](/stories/out2/)。")
    site.story("out2", "out-2", slug="out2", title="第二篇外宣稿件", external=CLEARED)
    site.story("in", "in-1", slug="in", title="只在内网的稿件", body="内部正文。详见 http://test.example/pub/about/ 。")
    site.write("content/pages/about.md", "---\ntitle: 关于\n---\n内网的关于页。\n")
    site.write("content/pages/open.md", "---\ntitle: 公开页\nexternal: {approved_by: 宣传处, date: 2026-01-01}\n"
                                        "---\n对外的页面。\n")
    return site


def _net(site: Site) -> dict[str, bytes]:
    return {str(p.relative_to(site.root / "public-net")): p.read_bytes()
            for p in (site.root / "public-net").rglob("*") if p.is_file()}


def test_the_internet_edition_holds_only_cleared_content_and_never_names_the_intranet(tmp_path: Path) -> None:
    site = _site(tmp_path)
    intranet = site.build()
    net = build_site(site.config, BuildOptions(now=NOW, edition="internet"))
    assert intranet.public == 3 and net.public == 2
    assert {h.reason for h in net.held} == {"internal-only"}
    files = _net(site)
    for name, data in files.items():  # every byte of every file
        assert b"test.example" not in data, name
        assert "只在内网的稿件".encode() not in data and b"stories/in/" not in data, name
        assert "内网的关于页".encode() not in data, name
    assert "stories/out/index.html" in files and "open/index.html" in files and "about/index.html" not in files
    page = files["stories/out/index.html"].decode()
    assert "内部稿件" in page and "可公开的" in page  # the link to the internal story is plain text
    assert 'href="../out2/"' in page or "stories/out2/" in page
    assert "（互联网版）" in page


def test_an_edition_built_where_another_was_built_never_names_the_other_ones_address(tmp_path: Path) -> None:
    """Into the intranet edition's folder (and beside its cache), the internet edition: the compiled
    templates kept in the cache are kept by the config they were compiled with, so the home page's
    canonical link, which Jinja works out when it compiles, is not the intranet's address."""
    site = _site(tmp_path)
    site.build()
    build_site(site.config, BuildOptions(now=NOW, output=site.out, edition="internet"))
    shared = {str(p.relative_to(site.out)): p.read_bytes() for p in site.out.rglob("*") if p.is_file()}
    assert [name for name, data in shared.items() if b"test.example" in data] == []
    assert '<link rel="canonical" href="https://www.test.gov.cn/xj/">' in shared["index.html"].decode()
    build_site(site.config, BuildOptions(now=NOW, edition="internet", cache=False))
    assert shared == _net(site)


def test_guids_are_the_same_in_every_edition(tmp_path: Path) -> None:
    site = _site(tmp_path)
    site.build()
    build_site(site.config, BuildOptions(now=NOW, edition="internet"))
    inside = feedparser.parse((site.out / "feeds" / "all.atom.xml").read_bytes())
    outside = feedparser.parse((site.root / "public-net" / "feeds" / "all.atom.xml").read_bytes())
    ids_in = {e.title: e.id for e in inside.entries}
    ids_out = {e.title: e.id for e in outside.entries}
    assert ids_out and all(ids_in[t] == ids_out[t] for t in ids_out)
    assert all(e.link.startswith("https://www.test.gov.cn/xj/") for e in outside.entries)


def test_an_internet_edition_whose_guids_name_an_intranet_host_is_refused(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", editions=INTERNET)  # default prefix: tag:<intranet host>,2025:
    with pytest.raises(BuildFailed) as info:
        load_config(site.config, edition="internet")
    (p,) = info.value.problems
    assert p.field == "feeds.guid_prefix" and "test.example" in p.message
    load_config(site.config)  # the intranet edition is fine as it is


@pytest.mark.parametrize("host", ["test.example", "TEST.example.", "test%2Eexample", "test&#46;example",
                                  "test。example", "test｡example", "ｔｅｓｔ．ｅｘａｍｐｌｅ", "te\u200bst.example",
                                  "te&#9;st.example", "te&#10;st.example"])
def test_an_intranet_address_typed_into_a_cleared_story_stops_the_internet_build(tmp_path: Path, host: str) -> None:
    """In any spelling a browser's URL parser follows to the intranet host."""
    site = _site(tmp_path)
    site.story("leak", "leak-1", slug="leak", external=CLEARED,
               body=f"第一行。\n\n见 http://{host}/pub/stories/in/ 。")
    with pytest.raises(BuildFailed) as info:
        build_site(site.config, BuildOptions(now=NOW, edition="internet"))
    (p,) = [p for p in info.value.problems if p.is_error]
    start = story_body_line(site, "leak")
    assert p.path == "content/stories/leak.md" and p.line == start + 2  # (the line the address is on)
    site.build()  # the intranet edition does not mind


@pytest.mark.parametrize("host", ["10.33.1.20", "0xa.0x21.1.20", "169935124", "10.33.276", "012.041.1.20",
                                  "10.33.1.20."])
def test_an_intranet_ip_address_in_any_spelling_a_browser_follows_stops_the_internet_build(
        tmp_path: Path, host: str) -> None:
    site = make_site(tmp_path / "site", base_url="http://10.33.1.20", editions=INTERNET,
                     feeds={"guid_prefix": "tag:test.gov.cn,2025:"})
    site.story("leak", "leak-1", slug="leak", external=CLEARED, body=f"第一行。\n\n见 http://{host}/pub/ 。")
    with pytest.raises(BuildFailed) as info:
        build_site(site.config, BuildOptions(now=NOW, edition="internet"))
    assert [p.path for p in info.value.problems if p.is_error] == ["content/stories/leak.md"]


def test_an_intranet_address_in_a_cleared_storys_sms_text_names_that_line(tmp_path: Path) -> None:
    site = _site(tmp_path)
    site.story("leak", "leak-1", slug="leak", external=CLEARED, sms="详见 test.example/pub/ 内网。")
    with pytest.raises(BuildFailed) as info:
        build_site(site.config, BuildOptions(now=NOW, edition="internet"))
    (p,) = [p for p in info.value.problems if p.is_error]
    lines = (site.root / "content/stories/leak.md").read_text(encoding="utf-8").split("\n")
    assert p.path == "content/stories/leak.md" and p.line is not None
    assert lines[p.line - 1].startswith("sms:"), (p.line, lines)


def story_body_line(site: Site, name: str) -> int:
    lines = (site.root / "content" / "stories" / f"{name}.md").read_text(encoding="utf-8").split("\n")
    return [i for i, line in enumerate(lines, 1) if line == "---"][1] + 1


def test_all_editions_and_unknown_editions_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    site = _site(tmp_path)
    args = ["build", "--config", str(site.config), "--now", "2026-11-24"]
    collected: list[bool] = []  # (what one edition's build left frozen is collected before the next)
    real_collect = gc.collect

    def collect(generation: int = 2) -> int:
        collected.append(gc.isenabled())
        return real_collect(generation)

    monkeypatch.setattr(gc, "collect", collect)
    assert main([*args, "--all-editions"]) == 0
    assert collected == [True]
    assert (site.out / "index.html").exists() and (site.root / "public-net" / "index.html").exists()
    assert main([*args, "--edition", "internt"]) == 1
    assert "internet" in capsys.readouterr().err  # did you mean


def test_an_edition_that_is_not_there_is_never_answered_with_the_intranet_one(
        site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    """A site with no other edition: asked for `internet`, the build says how to declare one, and
    does not suggest `intranet` (which would build, and be taken for, what stays inside)."""
    assert main(["build", "--config", str(site.config), "--now", "2026-11-24", "--edition", "internet"]) == 1
    err = capsys.readouterr().err
    assert "there is no edition 'internet'" in err and "external: true" in err
    assert "intranet?" not in err and not site.out.exists()


def test_the_sample_site_has_both_editions(tmp_path: Path) -> None:
    sample = copy_sample(tmp_path / "sample").root
    when = dt.datetime(2026, 11, 24, 10, 0)
    inside = build_site(sample / "site_config.yaml", BuildOptions(now=when))
    outside = build_site(sample / "site_config.yaml", BuildOptions(now=when, edition="internet"))
    assert 0 < outside.public < inside.public
    for path in (sample / "public-internet").rglob("*"):
        if path.is_file():
            assert b".intra" not in path.read_bytes(), path



# ---- the one-way transfer: export on the intranet side, a checked import outside -------------

def _exported(tmp_path: Path) -> tuple[Site, Path]:
    site = _site(tmp_path)
    # (a story withdrawn after it went out: its address is in the archive's withdrawal map)
    site.story("gone", "gone-1", slug="gone", status="withdrawn", withdrawn_date=dt.date(2026, 6, 1),
               external=CLEARED)
    build_site(site.config, BuildOptions(now=NOW, edition="internet"))
    archive = tmp_path / "net.zip"
    assert main(["export", "--config", str(site.config), "--edition", "internet", "--output", str(archive)]) == 0
    return site, archive


@pytest.mark.usefixtures("clock")
def test_export_import_round_trip_is_exact_and_reproducible(tmp_path: Path) -> None:
    site, archive = _exported(tmp_path)
    first = archive.read_bytes()
    assert main(["export", "--config", str(site.config), "--edition", "internet", "--output", str(archive)]) == 0
    assert archive.read_bytes() == first  # the same build, the same archive
    with zipfile.ZipFile(archive) as z:
        manifest = json.loads(z.read("MANIFEST.json"))
    assert manifest["edition"] == "internet" and manifest["site_url"] == "https://www.test.gov.cn/xj/"
    assert manifest["built_at"].startswith("2026-11-24")
    outside = tmp_path / "www" / "xj"
    assert main(["import", str(archive), str(outside)]) == 0
    built = _net(site)
    got = {str(p.relative_to(outside)): p.read_bytes() for p in outside.rglob("*") if p.is_file()}
    assert got == {k: v for k, v in built.items() if k in got} and set(got) == {f["path"] for f in manifest["files"]}
    # the withdrawal map nginx reads comes along, as written for the edition
    assert b"/xj/stories/gone/ 1;" in (tmp_path / "www" / "xj-withdrawn.map").read_bytes()
    assert (tmp_path / "www" / "xj-withdrawn.map").read_bytes() == (site.root / "public-net-withdrawn.map").read_bytes()
    # importing again replaces the folder in one step
    assert main(["import", str(archive), str(outside)]) == 0


def _tampered(archive: Path, out: Path, change: str) -> Path:
    with zipfile.ZipFile(archive) as z:
        items = [(i.filename, z.read(i)) for i in z.infolist()]
    with zipfile.ZipFile(out, "w") as z:
        for name, data in items:
            if name == "withdrawn.map" and change in ("directives", "unlisted", "dropped"):
                continue
            altered = change == "altered" and name == "site/index.html"
            z.writestr(name, data + b"<!-- x -->" if altered else data)
        if change == "extra":
            z.writestr("site/evil.html", b"<script>alert(1)</script>")
        if change == "escape":
            z.writestr("site/../../outside.txt", b"x")
        if change in ("directives", "unlisted", "dropped"):  # (the map nginx includes in a `map` block)
            mapped = dict(items)["withdrawn.map"]
            mapped = {"directives": mapped + b"}\nserver { listen 8081; root /; autoindex on; }\nmap $uri $x {\n",
                      "unlisted": mapped + b"/xj/stories/out/ 1;\n",
                      "dropped": b"".join(line for line in mapped.splitlines(True) if b"gone" not in line)}[change]
            z.writestr("withdrawn.map", mapped)
    return out


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize("change, words", [("altered", "not the file that was exported"),
                                           ("extra", "does not list"), ("escape", "lead out"),
                                           ("directives", "withdrawn addresses"),
                                           ("unlisted", "withdrawn addresses"), ("dropped", "withdrawn addresses")])
def test_import_refuses_a_tampered_archive_and_changes_nothing(tmp_path: Path, change: str, words: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    archive = _exported(tmp_path)[1]
    outside = tmp_path / "www" / "xj"
    assert main(["import", str(archive), str(outside)]) == 0
    before = {p: p.read_bytes() for p in outside.rglob("*") if p.is_file()}
    capsys.readouterr()
    bad = _tampered(archive, tmp_path / f"{change}.zip", change)
    assert main(["import", str(bad), str(outside)]) == 1
    assert words in capsys.readouterr().err
    assert {p: p.read_bytes() for p in outside.rglob("*") if p.is_file()} == before
    assert not (tmp_path / "outside.txt").exists() and not (tmp_path / "www" / "outside.txt").exists()


@pytest.mark.usefixtures("clock")
def test_the_intranet_edition_is_never_exported_nor_an_archive_of_it_imported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`export` carries an edition outside the intranet: the intranet edition (every story, not only
    those cleared for outside, and the intranet's address everywhere) is refused, so `export` with no
    --edition packs the first edition that goes outside; `import` takes only such an archive."""
    from exemplar_site.transfer import export_edition, import_edition

    site = _site(tmp_path)
    site.build()
    with pytest.raises(BuildFailed) as failed:
        export_edition(load_config(site.config), tmp_path / "in.zip", now=NOW + dt.timedelta(hours=1))
    assert "not one that goes outside" in failed.value.problems[0].message
    assert main(["export", "--config", str(site.config), "--edition", "intranet", "--output",
                 str(tmp_path / "in.zip"), "--lang", "en"]) == 1
    assert "not one that goes outside" in capsys.readouterr().err and not (tmp_path / "in.zip").exists()
    build_site(site.config, BuildOptions(now=NOW, edition="internet"))
    assert main(["export", "--config", str(site.config), "--output", str(tmp_path / "net.zip")]) == 0
    with zipfile.ZipFile(tmp_path / "net.zip") as z:
        items = {i.filename: z.read(i) for i in z.infolist()}
    manifest = json.loads(items["MANIFEST.json"])
    assert (manifest["edition"], manifest["external"]) == ("internet", True)
    # an archive that does not say it is of an outside edition (made by hand, or by an older version)
    items["MANIFEST.json"] = json.dumps({**manifest, "edition": "intranet", "external": False}).encode()
    with zipfile.ZipFile(tmp_path / "in.zip", "w") as z:
        for name, data in items.items():
            z.writestr(name, data)
    with pytest.raises(BuildFailed) as failed:
        import_edition(tmp_path / "in.zip", tmp_path / "outside", now=NOW + dt.timedelta(hours=1))
    assert "not the export of an edition that goes outside" in failed.value.problems[0].message
    assert not (tmp_path / "outside").exists()


@pytest.mark.usefixtures("clock")
def test_an_imported_edition_can_be_deployed(tmp_path: Path) -> None:
    site, archive = _exported(tmp_path)
    outside = tmp_path / "www" / "import"
    assert main(["import", str(archive), str(outside)]) == 0
    target = tmp_path / "srv"
    assert main(["deploy", "--config", str(site.config), str(target), "--from", str(outside)]) == 0
    served = target / "current"
    got = {str(p.relative_to(served)): p.read_bytes() for p in served.rglob("*") if p.is_file()}
    assert got and all(_net(site)[k] == v for k, v in got.items() if k in _net(site))


@pytest.mark.parametrize("where", ["author", "honors", "credit", "tags", "name", "page summary", "campaign decision",
                                   "press_contact", "unit"])
def test_an_intranet_address_in_any_shown_field_stops_the_internet_build(tmp_path: Path, where: str) -> None:
    """Every field an edition that goes outside shows, not the text alone: the story's author,
    honours, photo credit, tags and name, a page's summary, a campaign's decision, and the
    config's texts and unit names."""
    host = "test.example"
    extra: dict[str, Any] = {"press_contact": f"宣传处 http://{host}/press"} if where == "press_contact" else {}
    site = make_site(tmp_path / "site", None, editions=INTERNET, feeds={"guid_prefix": "tag:test.gov.cn,2025:"},
                     **extra)
    if where == "unit":
        text = site.config.read_text(encoding="utf-8").replace("南一派出所", f"南一派出所（{host}）")
        site.config.write_text(text, encoding="utf-8")
    fields: dict[str, Any] = {"author": [f"李明 {host}"]} if where == "author" else \
        {"honors": [{"title": f"见 {host}", "by": "市局"}]} if where == "honors" else \
        {"images": [{"src": "images/a.png", "alt": "照片", "credit": f"{host} 摄"}]} if where == "credit" else \
        {"tags": [f"tag-{host}"]} if where == "tags" else {"name": f"张三{host}"} if where == "name" else {}
    site.story("out", "out-1", slug="out", external=CLEARED, unit="s1", **fields)
    if where == "page summary":
        site.write("content/pages/open.md", f"---\ntitle: 公开页\nsummary: 见 {host}\n"
                   "external: {approved_by: 宣传处, date: 2026-01-01}\n---\n对外的页面。\n")
    if where == "campaign decision":
        site.write("content/campaigns/c.md", f"---\ntitle: 学习活动\ndate: 2026-03-01\ndecision: {host}/1号\n"
                   "external: {approved_by: 宣传处, date: 2026-01-01}\n---\n学习。\n")
    site.build()  # (the intranet edition may name its own host)
    with pytest.raises(BuildFailed) as info:
        build_site(site.config, BuildOptions(now=NOW, edition="internet"))
    assert any(host in p.message and p.is_error for p in info.value.problems), info.value.problems


def test_check_of_an_edition_agrees_with_its_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = _site(tmp_path)
    site.story("out2", "out-2", slug="out2", title="第二篇外宣稿件", external=CLEARED,
               body="详见 http://test.example/pub/about/ 。")
    site.build()
    with pytest.raises(BuildFailed):
        build_site(site.config, BuildOptions(now=NOW, edition="internet"))
    assert main(["check", "--config", str(site.config), "--now", "2026-11-24"]) == 0
    assert main(["check", "--config", str(site.config), "--now", "2026-11-24", "--edition", "internet"]) == 1
    assert "test.example" in capsys.readouterr().err
    assert main(["check", "--config", str(site.config), "--now", "2026-11-24", "--edition", "nope"]) == 1
