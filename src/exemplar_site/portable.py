"""Names that work on every platform the site is built or served on (Linux and Windows).

A file name Windows cannot hold (CON, a trailing dot, a ':'), two names that differ only in case
(one file on Windows and macOS), or a path near Windows' 260-character limit builds on Linux and
fails, or silently loses a page, on a Windows PC. They are refused when the site is validated, on
every platform, so that a site that builds on Linux also builds on Windows.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from .i18n import t

# Windows' reserved device names, also with any extension (con.txt) and in any case
RESERVED = frozenset({"con", "prn", "aux", "nul", "conin$", "conout$"}
                     | {f"com{i}" for i in "123456789¹²³"} | {f"lpt{i}" for i in "123456789¹²³"})
_BAD = re.compile(r'[<>:"|?*\\\x00-\x1f]')
# A path inside the site or output folder may take this many characters, leaving the rest of
# Windows' 260 (MAX_PATH) for the folder the site is copied into (e.g. D:\先进典型\网站\public\).
MAX_RELATIVE = 180


# What sends a name (or a path) to the full check (`_suspect`, a superset: the check decides): a
# character Windows refuses, a name ending in a dot or a space, a name that is a reserved device
# name before its first dot (spaces around it). (A search for each name that merely started with
# "con" sent every path under content/ name by name; with these, 10,000 paths take 5 ms, not 67.)
_REFUSED_CHAR = re.compile(r'[<>:"|?*\\\x00-\x1f]')
_DEVICE = re.compile(r'/\s*(?:con|prn|aux|nul|conin\$|conout\$|com[1-9¹²³]|lpt[1-9¹²³])\s*(?:[./]|$)')


def _suspect(text: str) -> bool:
    """Whether a name, a path, or paths joined by '/' may hold a name Windows refuses."""
    return bool(_REFUSED_CHAR.search(text) or " /" in text or "./" in text or text.endswith((".", " "))
                or _DEVICE.search("/" + text.lower()))


def name_problem(name: str) -> str | None:
    """Why one file or folder name does not work on Windows, or None."""
    if not _suspect(name):
        return None
    bad = _BAD.search(name)
    if bad:
        shown = repr(bad.group()) if bad.group() < " " else bad.group()
        return t("the name '{name}' holds {char}, which Windows does not allow in file names", name=name,
                 char=shown)
    if name.endswith((".", " ")):
        return t("the name '{name}' ends with a dot or a space, which Windows drops", name=name)
    if name.split(".", 1)[0].strip().lower() in RESERVED:
        return t("'{name}' is a reserved device name on Windows (CON, PRN, AUX, NUL, COM1…, LPT1…)", name=name)
    return None


def path_problem(relative: str) -> str | None:
    """Why a '/'-separated path inside the site (or the output) does not work on Windows, or None."""
    if len(relative) <= MAX_RELATIVE and not _suspect(relative):
        return None  # (most paths: one search instead of one per name)
    for part in relative.split("/"):
        problem = name_problem(part)
        if problem:
            return problem
    if len(relative) > MAX_RELATIVE:
        return t("the path is {n} characters long; Windows allows 260 for the whole path, so at most {most} are "
                 "left for it inside the site", n=len(relative), most=MAX_RELATIVE)
    return None


def path_problems(paths: list[str]) -> list[tuple[str, str]]:
    """(path, why) for every path path_problem refuses, in order. Ordinary paths take one search
    of them all, joined by '/' (a path's end then reads as a name's end, as it does alone)."""
    if not paths or (max(map(len, paths)) <= MAX_RELATIVE and not _suspect("/".join(paths))):
        return []
    return [(p, why) for p in paths if (why := path_problem(p)) is not None]


def names_fine(names: list[str]) -> bool:
    """True when name_problem has nothing to say of any of the names: one search of them all,
    joined by '/' as path_problems joins paths (most sites: ~1 µs a name less)."""
    return not _suspect("/".join(names))


def fold(name: str) -> str:
    """The name as a case-insensitive file system compares it."""
    if name.isascii():  # (an id or a slug nearly always: NFC leaves it as it is, and casefold is lower)
        return name.lower()
    return unicodedata.normalize("NFC", name).casefold()


def collisions(names: Iterable[str]) -> list[tuple[str, str]]:
    """(earlier, later) pairs of names that differ but are the same file on Windows or macOS."""
    seen: dict[str, str] = {}
    out = []
    for name in names:
        key = fold(name)
        if key in seen and seen[key] != name:
            out.append((seen[key], name))
        else:
            seen.setdefault(key, name)
    return out
