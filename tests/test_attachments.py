"""Attachments (PDF, Word, Excel, WPS files) are checked before they are published: personal
data in their text, in any part of the file, and content hidden in them (tracked changes,
comments, hidden text and sheets, files embedded in a PDF) stop the build; an archive cannot be
checked and is refused. Only what public pages link is published, so only that is checked.

The files are made here as Word, Excel and a PDF writer lay them out, and read by the build with
PDFium and the zip's XML.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest

from conftest import NOW, Site, pdf
from exemplar_site.cli import main
from exemplar_site.errors import BuildFailed

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx(body: str, comments: str | None = None) -> bytes:
    """A Word file: `body` is the XML of the paragraphs."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("docProps/core.xml", '<?xml version="1.0"?><cp:coreProperties xmlns:cp="x" xmlns:dc="y">'
                   "<dc:creator>市局政治部</dc:creator></cp:coreProperties>")
        z.writestr("word/document.xml", f'<?xml version="1.0"?><w:document {W}><w:body>{body}</w:body></w:document>')
        if comments is not None:
            z.writestr("word/comments.xml", f'<?xml version="1.0"?><w:comments {W}><w:comment w:id="0" '
                       f'w:author="王科长"><w:p><w:r><w:t>{comments}</w:t></w:r></w:p></w:comment></w:comments>')
    return buf.getvalue()


def _zip(parts: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return buf.getvalue()


def _photo(text: str | None = None, fmt: str = "PNG") -> bytes:
    """A small photo, with a phone's everyday EXIF (maker, model, time; no place) and, if given, a
    text chunk (PNG) or description (JPEG) holding `text`."""
    from PIL import Image, PngImagePlugin

    im = Image.new("RGB", (40, 30), (200, 30, 30))
    exif = im.getexif()
    exif.update({0x010F: "Apple", 0x0110: "iPhone 15", 0x0132: "2026:11:24 10:00:00"})
    if text is not None and fmt == "JPEG":
        exif[0x010E] = text
    buf = io.BytesIO()
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        if text is not None:
            info.add_text("Comment", text)
        im.save(buf, "PNG", pnginfo=info, exif=exif)
    else:
        im.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def _with_photo(photo: bytes, name: str = "word/media/image1.png") -> bytes:
    return _zip({"word/document.xml": f"<w:document {W}><w:body>{para('正文。')}</w:body></w:document>",
                 name: photo})


def para(*runs: str) -> str:
    return "<w:p>" + "".join(f"<w:r><w:t>{r}</w:t></w:r>" for r in runs) + "</w:p>"


def xlsx(cells: list[str], hidden_sheet: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        state = ' state="hidden"' if hidden_sheet else ""
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook><sheets>'
                   f'<sheet name="名单" sheetId="1" r:id="r1"/><sheet name="备注" sheetId="2"{state} r:id="r2"/>'
                   "</sheets></workbook>")
        z.writestr("xl/sharedStrings.xml", '<?xml version="1.0"?><sst>'
                   + "".join(f"<si><t>{c}</t></si>" for c in cells) + "</sst>")
    return buf.getvalue()


def _attach(site: Site, files: dict[str, bytes], linked: list[str] | None = None) -> None:
    for name, data in files.items():
        path = site.root / "content/files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    links = "\n\n".join(f"[附件{n}](files/{name})" for n, name in enumerate(linked or list(files)))
    site.story("a", "a-1", slug="a", body=f"他的事迹材料见附件。\n\n{links}")


def _errors(site: Site) -> list[str]:
    with pytest.raises(BuildFailed) as info:
        site.build()
    return [p.format() for p in info.value.problems if p.is_error]


@pytest.mark.parametrize("headers", ["chinese", "english"])
def test_a_copy_of_an_internal_report_among_the_attachments_stops_check_and_build(
        tmp_path: Path, headers: str) -> None:
    """The leaders' reports hold private assessment notes and stories not yet public. A copy among
    the site's files (the CSV as written, its cells saved as a sheet, a page of it printed) is refused
    whatever it is named; a table that merely shares some of its words goes out."""
    from conftest import make_site
    from exemplar_site.check import check_site
    from exemplar_site.runs import BuildOptions

    site = make_site(tmp_path / "s", csv_headers=headers)
    site.story("z", "z-1", private={"assessments": [{"date": dt.date(2025, 6, 20), "result": "合格",
                                                     "notes": "家庭变故情绪低落需重点关注"}]})
    site.story("p", "p-1", status="recommended", vetting=None)
    assert main(["report", "--config", str(site.config), "--as-of", "2026-11-24"]) == 0
    reports = site.root / "reports"
    assert "家庭变故" in (reports / "assessments.csv").read_text(encoding="utf-8-sig")
    with (reports / "assessments.csv").open(encoding="utf-8-sig") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    with (reports / "assessments.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    cut = io.StringIO()  # (the last column taken out in Excel, a column name retyped)
    csv.writer(cut).writerows([[c if c not in ("姓名/名称", "name") else "姓名" for c in r[:-1]] for r in rows])
    files = {"kaohe.csv": (reports / "assessments.csv").read_bytes(),
             "kaohe2.csv": cut.getvalue().encode(), "renwu.csv": (reports / "quotas.csv").read_bytes(),
             "jindu.csv": (reports / "pipeline.csv").read_bytes(),
             "kaohe.xlsx": xlsx(cells), "baobiao.pdf": pdf("Test site: internal management reports"),
             # (the same words, out of a report's order, in a table of its own)
             "ok.csv": "单位,典型编号,级别,类别\n市看守所,jc-1,市级,个人\n".encode()}
    _attach(site, files)
    errors = _errors(site)
    for name in ("kaohe.csv", "kaohe2.csv", "renwu.csv", "jindu.csv", "kaohe.xlsx", "baobiao.pdf"):
        assert any(f"content/files/{name}" in e and "copy of an internal report" in e for e in errors), (name, errors)
    assert not any("ok.csv" in e for e in errors) and not site.out.exists()
    assert {p.path for p in check_site(site.config, BuildOptions(now=NOW)).errors} >= \
        {f"content/files/{n}" for n in ("kaohe.csv", "jindu.csv", "kaohe.xlsx", "baobiao.pdf")}


def test_clean_attachments_are_published(site: Site) -> None:
    """Clean documents go out: page set-up, theme and numbering measures are not text, and the
    figures of a table's neighbouring cells or columns are not one number."""
    table = "<w:tbl><w:tr>" + "".join(f"<w:tc><w:p><w:r><w:t>{c}</w:t></w:r></w:p></w:tc>"
                                      for c in ("东城分局", "1352", "2468", "987")) + "</w:tr></w:tbl>"
    sect = ('<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1800" w:bottom="1440" '
            'w:left="1800" w:header="851" w:footer="992"/></w:sectPr>')
    layout = _zip({"word/document.xml": f"<w:document {W}><w:body>{para('正文。')}{table}{sect}</w:body></w:document>",
                   "word/theme/theme1.xml": '<a:theme><a:gs pos="15000"/><a:gs pos="350000"/></a:theme>',
                   "word/numbering.xml": '<w:numbering><w:ind w:left="1440" w:hanging="1440" w:firstLine="360"/>'
                                         "</w:numbering>",
                   "ppt/printerSettings/printerSettings1.bin": b"\x00\x01",
                   # counts side by side, each its own value (1, 3, 8, 12…): never read as one number
                   "docProps/app.xml": "<Properties><TotalTime>1</TotalTime><Pages>3</Pages><Words>8</Words>"
                                       "<Characters>12</Characters><Lines>3</Lines><Paragraphs>4</Paragraphs>"
                                       "<CharactersWithSpaces>5678</CharactersWithSpaces></Properties>"})
    _attach(site, {"事迹.docx": docx(para("张警官扎根社区十五年。")), "表彰.pdf": pdf("Award 2026, No. 12"),
                   "照片.docx": _with_photo(_photo()),
                   "照片2.docx": _with_photo(_photo(fmt="JPEG"), "word/media/a.jpg"),
                   "名单.xlsx": xlsx(["张三", "2026"]), "统计.docx": layout,
                   "统计.pdf": pdf("Xicheng 20,173 1665 6140 45,750,450.98 -5.99%")})
    site.build()
    for name in ("事迹.docx", "表彰.pdf", "名单.xlsx", "统计.docx", "统计.pdf", "照片.docx", "照片2.docx"):
        assert (site.out / "files" / name).is_file()


@pytest.mark.parametrize(("name", "data", "where"), [
    ("a.docx", docx(para("联系电话：139", "0511", "1234"), ), "the text"),  # split over runs, as Word does
    ("b.pdf", pdf("Tel: 139 0511 1234"), "page 1"),
    ("c.pdf", pdf("Award", author="张三 13905111234"), "document properties"),
    ("c2.pdf", pdf("Award", note="call 13905111234"), "page 1"),  # a comment
    ("c3.pdf", pdf("Award", field="13905111234"), "page 1"),  # a form field's value
    ("c4.pdf", pdf("Award", bookmark="Contact 13905111234"), "bookmarks"),
    ("d.xlsx", xlsx(["姓名", "身份证号", "320102197305120033"]), "cells"),
    ("e.doc", b"\xd0\xcf\x11\xe0" + "联系电话13905111234".encode("utf-16-le") + bytes(64), ""),  # the old binary format
    # a document's custom properties (Word's "Telephone number"), its company, OpenDocument's meta.xml
    ("f.docx", _zip({"word/document.xml": f"<w:document {W}><w:body>{para('正文。')}</w:body></w:document>",
                     "docProps/custom.xml": '<Properties><property name="Telephone number"><vt:lpwstr>139 0511 1234'
                                            "</vt:lpwstr></property></Properties>"}), "document properties"),
    ("g.docx", _zip({"word/document.xml": f"<w:document {W}><w:body>{para('正文。')}</w:body></w:document>",
                     "docProps/app.xml": "<Properties><Pages>1</Pages><Company>东城分局 13905111234</Company>"
                                         "</Properties>"}), "document properties"),
    ("h.odt", _zip({"content.xml": "<office:text><text:p>正文。</text:p></office:text>",
                    "meta.xml": '<office:meta><meta:user-defined meta:name="电话">13905111234</meta:user-defined>'
                                "</office:meta>"}), "document properties"),
    # what a photo inside a document carries besides its picture
    ("i.docx", _with_photo(_photo("call 13905111234")), "word/media/image1.png"),
    ("j.docx", _with_photo(_photo("联系人 13905111234", "JPEG"), "word/media/image2.jpeg"), "word/media/image2.jpeg"),
])
def test_personal_data_anywhere_in_an_attachment_stops_the_build(site: Site, name: str, data: bytes,
                                                                 where: str) -> None:
    _attach(site, {name: data})
    errors = _errors(site)
    mine = [e for e in errors if f"content/files/{name}" in e]
    assert mine and all("13905111234" not in e and "1973" not in e for e in errors), errors
    assert any(("mobile phone number" in e or "ID card number" in e) and where in e for e in mine), mine
    assert not site.out.exists()


@pytest.mark.parametrize(("data", "kind"), [
    (docx(para("张警官扎根社区。") + '<w:p><w:del w:id="1" w:author="王科长"><w:r><w:delText>他曾因病住院三个月'
          "</w:delText></w:r></w:del></w:p>"), "tracked changes"),
    (docx(para("张警官扎根社区。"), comments="这段家属情况不宜公开，请删去——王科长，分机 8123"), "comments"),
    (docx('<w:p><w:r><w:rPr><w:vanish/></w:rPr><w:t>内部掌握：其子在外地服刑</w:t></w:r></w:p>'), "hidden text"),
    (xlsx(["张三"], hidden_sheet=True), "hidden sheets"),
])
def test_content_hidden_in_a_document_stops_the_build(site: Site, data: bytes, kind: str) -> None:
    name = "材料.xlsx" if data.startswith(b"PK") and b"xl/" in data else "材料.docx"
    _attach(site, {name: data})
    errors = _errors(site)
    assert any(f"content/files/{name}" in e and kind in e for e in errors), errors


def _gps_jpeg() -> bytes:
    from PIL import Image

    im = Image.new("RGB", (40, 30), (200, 30, 30))
    exif = im.getexif()
    exif.get_ifd(0x8825).update({1: "N", 2: (31.0, 14.0, 3.0), 3: "E", 4: (121.0, 28.0, 5.0)})
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


@pytest.mark.parametrize(("name", "data", "kind"), [
    ("a.docx", docx(para("正文。") + "<w:p><w:r><w:rPr><w:vanish w:val='1'/></w:rPr><w:t>内部掌握</w:t></w:r></w:p>"),
     "hidden text"),
    ("b.docx", _zip({"WORD/document.xml": f"<w:document {W}><w:body><w:p><w:del><w:r><w:delText>删去的话"
                                          "</w:delText></w:r></w:del></w:p></w:body></w:document>"}),
     "tracked changes"),
    ("c.xlsx", _zip({"xl/workbook.xml": "<workbook><sheets><sheet name='备注' state='hidden'/></sheets></workbook>"}),
     "hidden sheets"),
    ("d.xlsx", _zip({"xl/worksheets/sheet1.xml": '<worksheet><sheetData><row r="2" hidden="1"><c><v>1</v></c>'
                                                 "</row></sheetData></worksheet>"}), "hidden rows or columns"),
    ("e.docx", _zip({"word/document.xml": f"<w:document {W}/>", "word/embeddings/oleObject1.bin": b"\xd0\xcf"}),
     "files embedded in it"),
    ("f.docx", _zip({"word/document.xml": f"<w:document {W}/>", "word/media/image1.jpeg": _gps_jpeg()}), "GPS"),
    ("g.docx", docx(para("正文。"), comments="短"), "comments"),
    ("h.pdf", pdf("Award", attached=True), "files embedded in it"),
])
def test_hidden_content_in_any_spelling_stops_the_build(site: Site, name: str, data: bytes, kind: str) -> None:
    _attach(site, {name: data})
    assert any(f"content/files/{name}" in e and kind in e for e in _errors(site))


@pytest.mark.parametrize(("name", "data"), [
    ("通讯录.vcf", "BEGIN:VCARD\nFN:张三\nTEL:13905111234\nEND:VCARD\n".encode()),  # any other kind of file
    ("名单.txt", "身份证号：32010219730512\n0033\n".encode()),  # a number split over two lines
    ("说明.docx", docx('<w:p><w:r><w:drawing><wp:docPr id="1" descr="联系电话13905111234"/></w:drawing></w:r></w:p>')),
    ("表.xlsx", _zip({"xl/workbook.xml": "<workbook><sheets><sheet name='13905111234'/></sheets></workbook>"})),
])
def test_numbers_in_other_files_attributes_and_split_lines_stop_the_build(site: Site, name: str, data: bytes) -> None:
    _attach(site, {name: data})
    assert any(f"content/files/{name}" in e and ("mobile phone number" in e or "ID card number" in e)
               for e in _errors(site))


def test_an_archive_is_refused_and_an_attachment_nobody_links_is_left_alone(site: Site) -> None:
    _attach(site, {"材料.zip": b"PK\x05\x06" + bytes(18), "底稿.docx": docx(para("x"), comments="请核实")},
            linked=["材料.zip"])
    errors = _errors(site)
    assert any("content/files/材料.zip" in e and "archive" in e for e in errors), errors
    assert not any("底稿.docx" in e for e in errors)  # (not linked: never published, so not refused)


def test_a_damaged_document_cannot_be_checked_and_is_refused(site: Site) -> None:
    _attach(site, {"坏.docx": b"PK\x03\x04 not really a zip", "坏.pdf": b"%PDF-1.4\n garbage"})
    errors = _errors(site)
    assert any("content/files/坏.docx" in e and "cannot be read" in e for e in errors), errors
    assert any("content/files/坏.pdf" in e and "cannot be read" in e for e in errors), errors


def test_an_attachment_changed_after_a_build_is_checked_again_and_check_agrees(
        site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    _attach(site, {"事迹.pdf": pdf("Award 2026")})
    site.build()
    (site.root / "content/files/事迹.pdf").write_bytes(pdf("Tel: 13905111234"))
    assert any("content/files/事迹.pdf" in e for e in _errors(site))
    assert main(["check", "--config", str(site.config), "--now", NOW.strftime("%Y-%m-%d")]) == 1
    assert "content/files/事迹.pdf" in capsys.readouterr().err
    (site.root / "content/files/事迹.pdf").write_bytes(pdf("Award 2026, again"))
    site.build()
    assert b"again" in (site.out / "files/事迹.pdf").read_bytes()


def test_the_pdf_made_here_is_read_as_a_pdf(tmp_path: Path) -> None:
    """(The test's own PDF: PDFium reads its text and author, so the build is tested on a real one.)"""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf("Tel: 139", author="张三"))
    assert doc.get_metadata_dict()["Author"] == "张三"
    assert "Tel: 139" in doc[0].get_textpage().get_text_range()
