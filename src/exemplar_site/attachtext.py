"""The text of an attachment, for the personal-data scan: what a reader who downloads it can see,
and what the file holds besides that they could find.

`extract(path)` gives each part of the text with where it is (a page of a PDF, the body, the
comments or a sheet of an Office file), the kinds of hidden content the file holds (tracked
changes, comments, hidden text or sheets, files embedded in a PDF: content the author most
likely never meant to publish), or why it cannot be read. Pure functions of the file.

- Plain text (.txt, .csv, .tsv, .md, .json): UTF-8, UTF-16 or GB18030.
- Word, Excel and PowerPoint files (.docx, .xlsx, .pptx and their macro twins) and
  OpenDocument files (.odt, .ods, .odp): every XML part of the zip, its text with a line break
  at each paragraph, cell and row (Word splits a number over runs as it likes: runs are joined).
- PDF: each page's text, its annotations' (a comment's text and author, a form field's value),
  and the document's properties (title, author, creator…), read by PDFium (pypdfium2); a file
  attached to it, in its list or by an annotation, is hidden content; its bookmarks' titles. Not
  read: XMP metadata, the text of earlier versions kept by an incremental save.
- Any other zip (WPS, OFD, EPUB, templates): as an Office file.
- The older binary formats (.doc, .xls, .ppt and WPS's .wps, .et, .dps) and any other file (a
  .vcf, a .log): no structure is read; the bytes are read as UTF-16 (from either byte) and as
  GB18030, which finds the digits of a number written as text in either, but not hidden content,
  nor a number stored as a number (an old Excel cell).
- Sound and video in other containers than MP4's (`UNSCANNED_SUFFIXES`) are not read.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .i18n import N_

TEXT_SUFFIXES = frozenset({".txt", ".csv", ".tsv", ".md", ".json"})
OFFICE_SUFFIXES = frozenset({".docx", ".docm", ".dotx", ".xlsx", ".xlsm", ".pptx", ".pptm", ".ppsx",
                             ".odt", ".ods", ".odp"})
PDF_SUFFIXES = frozenset({".pdf"})
# archives: what they hold cannot be checked here (each file is to be published on its own)
ARCHIVE_SUFFIXES = frozenset({".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".cab", ".iso"})
# sound and video in other containers than MP4's: copied as they are, not read (mediameta.py clears MP4's)
UNSCANNED_SUFFIXES = frozenset({".webm", ".mkv", ".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".ts", ".mp3", ".wav",
                                ".ogg", ".oga", ".ogv", ".opus", ".flac", ".amr", ".aac", ".wma"})

_MAX_PART = 64 * 1024 * 1024  # an XML part unpacked past this is not read whole (a zip bomb)


@dataclass(frozen=True)
class Extracted:
    parts: tuple[tuple[str, str], ...]  # (where, text): where is a page ("第 3 页"), a part of the file
    hidden: tuple[str, ...] = ()  # message ids of the kinds of hidden content found
    unreadable: str = ""  # why the file cannot be read (then nothing else is known)


def decode(raw: bytes) -> str:
    """Text as Chinese Windows PCs write it: UTF-16 with its mark ("Unicode text" from Excel),
    UTF-8, else GB18030 (GBK)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    text = raw.decode("utf-8-sig", errors="replace")
    if "\ufffd" in text:
        text = raw.decode("gb18030", errors="replace")
    return text


def extract(path: str | Path) -> Extracted:
    suffix = Path(path).suffix.lower()
    try:
        if suffix in TEXT_SUFFIXES:
            return Extracted((("", decode(Path(path).read_bytes())),))
        if suffix in OFFICE_SUFFIXES:
            return _office(path)
        if suffix in PDF_SUFFIXES:
            return _pdf(path)
        if zipfile.is_zipfile(path):  # (WPS, OFD, EPUB, templates and macro files are zips of XML too)
            return _office(path)
        size = Path(path).stat().st_size
        if size > _MAX_TEXT:
            return Extracted((), (), N_("too large to check"))
        return Extracted((("", _bytes_text(Path(path).read_bytes())),))  # the old binary formats, and any other
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged or unusual file of any kind: not readable, said so
        return Extracted((), (), type(exc).__name__)


# ---- Office files (zip of XML) -----------------------------------------------------------------

# elements whose end (or which, empty) part text: paragraphs, cells, rows, line and tab breaks
_BREAK = re.compile(r"</(?:w:p|a:p|text:p|text:h|w:tc|c|si|row|table:table-cell|table:table-row|x:c)>|"
                    r"<(?:w:br|w:tab|w:cr|a:br|text:line-break|text:tab|text:s)\b[^>]*/>")
_TAG = re.compile(r"<[^<>]*>")

# hidden content, by what marks it (any namespace prefix, either quote)
_TRACKED = re.compile(rb"<[\w.-]+:(?:del|ins|moveFrom|moveTo)\b|<text:tracked-changes\b|<text:changed-region\b")
_VANISH = re.compile(rb"<[\w.-]+:(?:vanish|specVanish)\b([^>]*)>")
_OFF = re.compile(rb"""val=["'](?:0|false|off)["']""")
_ODF_HIDDEN = re.compile(rb"<text:hidden-(?:paragraph|text)\b|"
                         rb"""text:display=["']none["']|text:is-hidden=["']true["']""")
_HIDDEN_SHEET = re.compile(rb"""<(?:[\w.-]+:)?sheet\b[^>]*\bstate=["'](?:hidden|veryHidden)["']""")
_HIDDEN_ROWS = re.compile(rb"""<(?:[\w.-]+:)?(?:row|col)\b[^>]*\bhidden=["'](?:1|true)["']""")
_HIDDEN_SLIDE = re.compile(rb"""<(?:[\w.-]+:)?sld\b[^>]*\bshow=["'](?:0|false)["']""")
_COMMENT = re.compile(rb"<(?:[\w.-]+:)?(?:comment|threadedComment|cm)\b|<office:annotation\b")
_REVISIONS = re.compile(r"xl/revisions/")
_EMBEDDED = re.compile(r"(?:word|xl|ppt)/embeddings/|^object ?\d+/")
# parts that lay a document out (page set-up, styles, theme, numbering, fonts, printer): their
# numbers are measures, and no text a reader sees is in them
_LAYOUT = re.compile(r"(?:^|/)(?:theme\d*|styles|stylesWithEffects|numbering|settings|websettings|fonttable|"
                     r"viewprops|presprops|tablestyles|printersettings\d*|calcchain|"
                     r"slidemaster\d*|slidelayout\d*|notesmaster\d*|handoutmaster\d*)\.(?:xml|bin)$|"
                     r"/printersettings/|/theme/|^settings\.xml$|^styles\.xml$")
# a document's properties besides its title and author (docProps/core.xml, read as any part): the
# company and manager (docProps/app.xml), the custom ones (custom.xml: Word's "Telephone number",
# say), OpenDocument's meta.xml; beside counts of pages, words and lines, each value a line of its own
_PROPERTIES = re.compile(r"^docprops/(?:app|custom)\.xml$|^meta\.xml$")
_ELEMENT_TEXT = re.compile(r">([^<]+)<")
_PHOTO = re.compile(r"\.(?:jpe?g|jfif|tiff?|png|heic|heif|webp)$")
# attributes that hold text a reader sees or follows: alt text, titles, names (of sheets, objects),
# tooltips, link targets
_ATTRIBUTE = re.compile(r"""\b(?:descr|title|name|tooltip|Target|alt|xlink:href|text:string-value)="""
                        r"""(?:"([^"]*)"|'([^']*)')""")
_MAX_TEXT = 32 * 1024 * 1024  # all the text of one file: past this it is not read (nor published)


def xml_text(xml: str) -> str:
    """The text of an Office XML part: line breaks where paragraphs, cells and rows end."""
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", xml)))


def _attributes(xml: str) -> str:
    """The values of an XML part's attributes that hold text, a line each (alt text, sheet names,
    link targets)."""
    return html.unescape("\n".join(a or b for a, b in _ATTRIBUTE.findall(xml)))


def _photo(data: bytes) -> tuple[bool, str]:
    """What a photo inside a document carries besides its picture: whether it records where it was
    taken (GPS, in EXIF or XMP), and its text, a value a line (PNG text chunks, the JPEG comment,
    EXIF strings: a description, the artist, Windows' title, comment, author…; XMP). One look."""
    gps = b"GPSLatitude" in data or b"GPSLongitude" in data  # (XMP)
    out: list[str] = []
    xmp = data.find(b"<x:xmpmeta")
    if xmp != -1:
        end = data.find(b"</x:xmpmeta>", xmp)
        out.append(xml_text(decode(data[xmp:end + 12 if end != -1 else len(data)])))
    try:
        from PIL import Image  # (only for a document with photos in it)

        with Image.open(io.BytesIO(data)) as im:
            out += [v.decode("utf-8", "replace") if isinstance(v, bytes) else v
                    for k, v in im.info.items() if isinstance(v, (str, bytes)) and k not in ("icc_profile", "exif",
                                                                                         "xmp", "XML:com.adobe.xmp")]
            exif = im.getexif()
            # (a latitude or longitude: not a version tag alone)
            gps = gps or any(tag in exif.get_ifd(0x8825) for tag in (2, 4))
            for ifd in (exif, exif.get_ifd(0x8769)):
                for tag, v in ifd.items():
                    if isinstance(v, str):
                        out.append(v)
                    elif isinstance(v, bytes):
                        # Windows' XP* tags are UTF-16; a UserComment starts with its encoding's name
                        out.append(v.decode("utf-16-le", "replace") if 0x9C9B <= tag <= 0x9C9F
                                   else v[8:].decode("utf-8", "replace") if tag == 0x9286 else "")
    except Exception:  # noqa: BLE001 - not a photo Pillow reads: it is what the document shows, no more
        pass
    return gps, "\n".join(x.replace("\x00", "") for x in out if x)


def _office(path: str | Path) -> Extracted:
    """Any zip of XML (Office, WPS, OpenDocument, OFD, EPUB…): the text and attribute values of
    every XML part, the other parts read as bytes; hidden content and files embedded in it."""
    parts: list[tuple[str, str]] = []
    hidden: set[str] = set()
    total = 0
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            name, lname = info.filename, info.filename.lower()
            if name.endswith("/"):
                continue
            total += info.file_size
            if info.file_size > _MAX_PART or total > _MAX_TEXT:
                return Extracted((), (), N_("too large to check"))
            if _EMBEDDED.search(lname):
                hidden.add(N_("files embedded in it"))
                continue
            raw = z.read(info)
            if _PHOTO.search(lname):
                gps, text = _photo(raw)
                if gps:
                    hidden.add(N_("photos that record where they were taken (GPS)"))
                if text:
                    parts.append((name, text))
                continue
            if _PROPERTIES.search(lname):
                parts.append((name, "\n".join(html.unescape(v) for v in _ELEMENT_TEXT.findall(decode(raw)))))
                continue
            if _LAYOUT.search(lname):
                continue
            if not lname.endswith((".xml", ".rels", ".xhtml", ".html", ".htm", ".txt", ".ncx", ".opf")):
                parts.append((name, _bytes_text(raw)))
                continue
            if _TRACKED.search(raw) or _REVISIONS.match(lname):
                hidden.add(N_("tracked changes (deleted or inserted text, shown only in review)"))
            if any(not _OFF.search(m.group(1)) for m in _VANISH.finditer(raw)) or _ODF_HIDDEN.search(raw):
                hidden.add(N_("hidden text"))
            if ("comment" in lname or "annotation" in lname or lname.endswith("content.xml")) and _COMMENT.search(raw):
                hidden.add(N_("comments"))
            if _HIDDEN_SHEET.search(raw):
                hidden.add(N_("hidden sheets"))
            if _HIDDEN_ROWS.search(raw):
                hidden.add(N_("hidden rows or columns"))
            if _HIDDEN_SLIDE.search(raw):
                hidden.add(N_("hidden slides"))
            xml = decode(raw)
            parts.append((name, xml_text(xml) + "\n" + _attributes(xml)))
    return Extracted(tuple(parts), tuple(sorted(hidden)))


def _bytes_text(raw: bytes) -> str:
    """A file of no known structure read as text every way a number may be stored in it: UTF-16
    (from either byte) and GB18030 (ASCII digits as they are)."""
    return "\n".join((raw.decode("utf-16-le", errors="replace"), raw[1:].decode("utf-16-le", errors="replace"),
                      raw.decode("gb18030", errors="replace")))


# ---- PDF ---------------------------------------------------------------------------------------

def _pdf(path: str | Path) -> Extracted:
    import ctypes

    import pypdfium2 as pdfium  # (only when a site has a PDF: its import is ~40 ms)
    import pypdfium2.raw as pdfium_c

    parts: list[tuple[str, str]] = []
    hidden: set[str] = set()
    pdf = pdfium.PdfDocument(str(path))
    try:
        meta = pdf.get_metadata_dict(skip_empty=True)
        info = "\n".join(str(v) for k, v in meta.items() if not k.endswith("Date"))
        if info:
            parts.append(("document properties", info))
        if pdf.count_attachments():
            hidden.add(N_("files embedded in it"))
        marks = "\n".join(str(b.get_title()) for b in pdf.get_toc())
        if marks:
            parts.append(("bookmarks", marks))
        for n in range(len(pdf)):
            page = pdf[n]
            try:
                textpage = page.get_textpage()
                parts.append((f"page {n + 1}", textpage.get_text_range()))
                textpage.close()
                notes = []
                for i in range(pdfium_c.FPDFPage_GetAnnotCount(page.raw)):
                    annot = pdfium_c.FPDFPage_GetAnnot(page.raw, i)
                    try:
                        if pdfium_c.FPDFAnnot_GetSubtype(annot) == pdfium_c.FPDF_ANNOT_FILEATTACHMENT:
                            hidden.add(N_("files embedded in it"))
                        # a comment's text and author, a form field's value, name and tooltip
                        for key in (b"Contents", b"T", b"V", b"TU", b"RC"):
                            size = pdfium_c.FPDFAnnot_GetStringValue(annot, key, None, 0)
                            if size > 2:
                                buffer = ctypes.create_string_buffer(size)
                                pdfium_c.FPDFAnnot_GetStringValue(
                                    annot, key, ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR)), size)
                                notes.append(buffer.raw[:size - 2].decode("utf-16-le", errors="replace"))
                    finally:
                        pdfium_c.FPDFPage_CloseAnnot(annot)
                if notes:
                    parts.append((f"page {n + 1}", "\n".join(notes)))
            finally:
                page.close()
    finally:
        pdf.close()
    return Extracted(tuple(parts), tuple(sorted(hidden)))
