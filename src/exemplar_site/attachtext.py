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
- PDF: each page's text and its annotations' (comments), and the document's title, author,
  subject and keywords, read by PDFium (pypdfium2).
- The older binary formats (.doc, .xls, .ppt and WPS's .wps, .et, .dps): no structure is read;
  the bytes are read as UTF-16 and as GB18030, which finds the digits of a number in either,
  but not hidden content.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .i18n import N_

TEXT_SUFFIXES = frozenset({".txt", ".csv", ".tsv", ".md", ".json"})
OFFICE_SUFFIXES = frozenset({".docx", ".docm", ".dotx", ".xlsx", ".xlsm", ".pptx", ".pptm", ".ppsx",
                             ".odt", ".ods", ".odp"})
BINARY_OFFICE_SUFFIXES = frozenset({".doc", ".dot", ".xls", ".ppt", ".pps", ".wps", ".et", ".dps", ".rtf"})
PDF_SUFFIXES = frozenset({".pdf"})
# archives: what they hold cannot be checked here (each file is to be published on its own)
ARCHIVE_SUFFIXES = frozenset({".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".cab", ".iso"})
SCANNED_SUFFIXES = TEXT_SUFFIXES | OFFICE_SUFFIXES | BINARY_OFFICE_SUFFIXES | PDF_SUFFIXES

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
        if suffix in BINARY_OFFICE_SUFFIXES:
            raw = Path(path).read_bytes()
            return Extracted((("", raw.decode("utf-16-le", errors="replace")), ("", raw.decode("gb18030", "replace"))))
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged or unusual file of any kind: not readable, said so
        return Extracted((), (), type(exc).__name__)
    return Extracted(())


# ---- Office files (zip of XML) -----------------------------------------------------------------

# elements whose end (or which, empty) part text: paragraphs, cells, rows, line and tab breaks
_BREAK = re.compile(r"</(?:w:p|a:p|text:p|text:h|w:tc|c|si|row|table:table-cell|table:table-row|x:c)>|"
                    r"<(?:w:br|w:tab|w:cr|a:br|text:line-break|text:tab|text:s)\b[^>]*/>")
_TAG = re.compile(r"<[^<>]*>")
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}

# hidden content, by the part it is in and what marks it
_TRACKED = re.compile(rb"<w:(?:del|ins|moveFrom|moveTo)\b|<text:tracked-changes\b|<text:changed-region\b")
_HIDDEN_TEXT = re.compile(rb"<w:vanish\s*/>|<w:vanish\s+w:val=\"(?:1|true|on)\"")
_HIDDEN_SHEET = re.compile(rb"<sheet\b[^>]*\bstate=\"(?:hidden|veryHidden)\"")
_ANNOTATION = re.compile(rb"<office:annotation\b")


def _entity(m: re.Match[str]) -> str:
    name = m.group(1)
    if name.startswith("#x"):
        return chr(int(name[2:], 16))
    if name.startswith("#"):
        return chr(int(name[1:]))
    return _NAMED[name]


def xml_text(xml: str) -> str:
    """The text of an Office XML part: line breaks where paragraphs, cells and rows end."""
    return _ENTITY.sub(_entity, _TAG.sub("", _BREAK.sub("\n", xml)))


def _office(path: str | Path) -> Extracted:
    parts: list[tuple[str, str]] = []
    hidden: set[str] = set()
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            name = info.filename
            if not name.lower().endswith((".xml", ".rels")) or name.endswith("/"):
                continue
            if info.file_size > _MAX_PART:
                return Extracted((), (), "a part too large to read")
            raw = z.read(info)
            if (name.startswith("word/") and _TRACKED.search(raw)) or (name == "content.xml" and _TRACKED.search(raw)):
                hidden.add(N_("tracked changes (deleted or inserted text, shown only in review)"))
            if name.startswith("word/") and _HIDDEN_TEXT.search(raw):
                hidden.add(N_("hidden text"))
            if (re.fullmatch(r"(word/comments[^/]*|xl/comments[^/]*|xl/threadedComments/.*|ppt/comments/.*|"
                            r"ppt/commentAuthors)\.xml", name) and len(raw) > 200) or _ANNOTATION.search(raw):
                hidden.add(N_("comments"))
            if name == "xl/workbook.xml" and _HIDDEN_SHEET.search(raw):
                hidden.add(N_("hidden sheets"))
            text = xml_text(decode(raw))
            if text.strip():
                parts.append((name, text))
    return Extracted(tuple(parts), tuple(sorted(hidden)))


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
        info = "\n".join(str(meta[k]) for k in ("Title", "Author", "Subject", "Keywords") if k in meta)
        if info:
            parts.append(("document properties", info))
        if pdf.count_attachments():
            hidden.add(N_("files embedded in it"))
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
                        size = pdfium_c.FPDFAnnot_GetStringValue(annot, b"Contents", None, 0)
                        if size > 2:
                            buffer = ctypes.create_string_buffer(size)
                            pdfium_c.FPDFAnnot_GetStringValue(
                                annot, b"Contents", ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR)), size)
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
