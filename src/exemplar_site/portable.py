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


# What sends a name (or a path) to the full check: a character Windows refuses, a name ending
# in a dot or a space, a name that may start with a reserved device name (a superset: the check decides)
_SUSPECT = re.compile(r'[<>:"|?*\\\x00-\x1f]|[. ](?:/|$)|(?:^|/)\s*(?:con|prn|aux|nul|com|lpt)', re.IGNORECASE)


def name_problem(name: str) -> str | None:
    """Why one file or folder name does not work on Windows, or None."""
    if not _SUSPECT.search(name):
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
    if len(relative) <= MAX_RELATIVE and not _SUSPECT.search(relative):
        return None  # (most paths: one search instead of one per name)
    for part in relative.split("/"):
        problem = name_problem(part)
        if problem:
            return problem
    if len(relative) > MAX_RELATIVE:
        return t("the path is {n} characters long; Windows allows 260 for the whole path, so at most {most} are "
                 "left for it inside the site", n=len(relative), most=MAX_RELATIVE)
    return None


def fold(name: str) -> str:
    """The name as a case-insensitive file system compares it."""
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
