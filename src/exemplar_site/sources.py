"""Deterministic walk of content/ → SourceFile and Asset values.

Skips dotfiles and editor leftovers (foo.md~, #foo.md#, .foo.swp) so a file
open in an editor never breaks a build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .config import SiteConfig
from .errors import Problems

KINDS = ("stories", "pages", "campaigns")
# Characters XML 1.0 forbids (text pasted from Word often has them): removed, with a warning.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
ASSET_DIRS = ("images", "media", "files")


@dataclass(frozen=True)
class SourceFile:
    kind: str  # "story" | "page" | "campaign"
    path: str  # as shown to people: relative to the site folder, '/' separated
    text: str


@dataclass(frozen=True)
class Asset:
    """A file copied as-is: content/images/a.png → images/a.png."""

    source: Path
    out_path: str
    size: int


@dataclass(frozen=True)
class Sources:
    files: tuple[SourceFile, ...]
    assets: tuple[Asset, ...]


def _ignored(name: str) -> bool:
    return (name.startswith((".", "#", "~")) or name.endswith(("~", ".swp", ".tmp", ".bak"))
            or name.startswith("__"))


def _walk(top: Path) -> list[Path]:
    out: list[Path] = []
    if not top.is_dir():
        return out
    for entry in sorted(top.iterdir(), key=lambda p: p.name):
        if _ignored(entry.name):
            continue
        if entry.is_dir():
            out.extend(_walk(entry))
        elif entry.is_file():
            out.append(entry)
    return out


def _strip_illegal(shown: str, text: str, problems: Problems) -> str:
    for line_no, line in enumerate(text.split("\n"), 1):
        for m in _ILLEGAL.finditer(line):
            problems.warning(shown, line_no, None,
                             f"removed invisible control character U+{ord(m.group()):04X} at column {m.start() + 1} "
                             "(often pasted from Word); it is not allowed in feeds",
                             "retype the text around it, or leave it: the build removes it")
    return _ILLEGAL.sub("", text)


def display_path(config: SiteConfig, path: Path) -> str:
    try:
        return path.relative_to(config.root).as_posix()
    except ValueError:
        return str(path)


def discover(config: SiteConfig, problems: Problems) -> Sources:
    files: list[SourceFile] = []
    for folder, kind in (("stories", "story"), ("pages", "page"), ("campaigns", "campaign")):
        for path in _walk(config.content_dir / folder):
            shown = display_path(config, path)
            if path.suffix.lower() != ".md":
                if path.suffix.lower() in (".markdown", ".txt", ".docx", ".doc"):
                    problems.warning(shown, None, None, f"ignored: only .md files are read in {folder}/",
                                     "rename it to end in .md")
                continue
            try:
                text = path.read_bytes().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                line = path.read_bytes()[: exc.start].count(b"\n") + 1
                problems.error(shown, line, None, "the file is not UTF-8 text (perhaps saved as GBK/ANSI)",
                               "save it as UTF-8 (记事本: 另存为 → 编码 UTF-8)")
                continue
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            if _ILLEGAL.search(text):
                text = _strip_illegal(shown, text, problems)
            files.append(SourceFile(kind, shown, text))
    assets: list[Asset] = []
    for folder in ASSET_DIRS:
        for path in _walk(config.content_dir / folder):
            rel = path.relative_to(config.content_dir).as_posix()
            assets.append(Asset(path, rel, path.stat().st_size))
    return Sources(tuple(files), tuple(assets))
