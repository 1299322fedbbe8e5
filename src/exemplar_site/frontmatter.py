"""Split a Markdown file into its YAML front matter and body."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import yamlio
from .errors import Problems
from .i18n import _, t
from .sources import SourceFile


@dataclass(frozen=True)
class RawDoc:
    kind: str
    path: str
    meta: yamlio.LineDict
    body: str
    body_line: int  # file line on which the body starts
    digest: str = ""  # hash of the source file

    def line_of(self, field: str) -> int:
        return self.meta.line_of(field)


_DASHES = re.compile(r"^---[ \t]*$\n?", re.MULTILINE)  # a '---' line (trailing spaces are invisible)


def _split(text: str) -> tuple[re.Match[str] | None, re.Match[str] | None]:
    """The front matter's opening '---' line, and its closing one (each None if missing)."""
    opening = _DASHES.match(text)
    return opening, _DASHES.search(text, opening.end()) if opening is not None else None


def body_of(text: str) -> str | None:
    """The body of a file's text, split off as `parse` splits it but without reading the front
    matter (for a file `parse` already accepted: rendering reads it again); None without one."""
    closing = _split(text)[1]
    return text[closing.end():] if closing is not None else None


def parse(source: SourceFile, problems: Problems) -> RawDoc | None:
    text = source.text
    assert text is not None
    example = _("a first line '---', fields such as 'title: 标题', then a line '---', then the story")
    opening, closing = _split(text)
    if opening is None:
        problems.error(source.path, 1, None, _("the file must start with a front-matter block"), example)
        return None
    if closing is None:
        problems.error(source.path, 1, None, _("the front matter is not closed: no line '---' after the fields"),
                       example)
        return None
    start, end = opening.end(), closing.start() - 1  # the fields: from after the first line to the closing one
    block = "\n" + text[start:end + 1]  # leading newline: YAML line numbers = file line numbers
    body = text[closing.end():]
    body_line = text[: closing.end()].count("\n") + 1
    meta, err = yamlio.load(block, first_line=1)
    if err:
        problems.error(source.path, err.line, None, err.message)
        return None
    if meta is None:
        meta = yamlio.LineDict()
        meta.lines, meta.duplicates, meta.line = {}, [], 2
    if not isinstance(meta, yamlio.LineDict):
        problems.error(source.path, 2, None, _("the front matter must be fields, one 'name: value' per line"),
                       example)
        return None
    for key, line in meta.duplicates:
        problems.error(source.path, line, str(key), t("field '{name}' is given twice", name=key),
                       _("each field once"))
    return RawDoc(source.kind, source.path, meta, body, body_line, source.digest)


def cacheable(entry: tuple[yamlio.LineDict, int, int] | None) -> tuple[yamlio.LineDict, int, int] | None:
    """Parsed front matter as it may be stored on disk: never one with a private block (nothing
    private on disk; and validating it again, after a config change, needs the private values
    for the personal-data scan: such a file is parsed again)."""
    return None if entry is None or "private" in entry[0] else entry
