"""Personal data in public text: mainland ID numbers, mobile numbers, and a story's own private values.

Pure functions over text. Text is normalised before matching, so that the
usual ways of writing (or disguising) a number still match: NFKC (full-width
digits and letters), zero-width characters, spaces, dashes, dots, brackets,
`tel:`, and the `+86` / `0086` / `86` country prefixes.

Messages never repeat the value found: they say what kind of data it is and
where it is.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

# Characters people put inside numbers (or that are invisible), removed before matching.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−﹣－.．·・•_/()（）\[\]【】〔〕]+")
_TEL = re.compile(r"tel:", re.IGNORECASE)
_PREFIX = re.compile(r"(?:\+|＋)?(?<!\d)(?:00)?86(?=1[3-9]\d{9}(?!\d))")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_ID18 = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_CLAUSE = re.compile(r"[，。；！？、,.;!?\n：:（）()“”\"'‘’]+")


def normalise(text: str) -> str:
    """The text as a number-matcher should see it (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = _TEL.sub("", text)
    text = _SEPARATORS.sub("", text)
    return _PREFIX.sub("", text)


def normalise_number(value: str | int) -> str:
    """A phone number as configured in `public_numbers`: its digits, without a country prefix."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", str(value)))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11 and digits[len(prefix)] == "1":
            return digits[len(prefix):]
    return digits


def valid_id_number(number: str) -> bool:
    """A mainland resident ID: 18 digits with a plausible birth date and a correct ISO 7064
    check digit, or the old 15-digit form with a plausible birth date (19YYMMDD)."""
    try:
        if re.fullmatch(r"\d{17}[\dXx]", number):
            dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
            total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True))
            return _CHECK[total % 11] == number[17].upper()
        if re.fullmatch(r"\d{15}", number):
            dt.date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))
            return 1 <= int(number[:2]) and number[:1] in "123456789"
    except ValueError:
        return False
    return False


@dataclass(frozen=True)
class Finding:
    kind: str  # "id" | "mobile" | "private"
    label: str  # what to tell the author (never the value itself)


def find(text: str, allowed: frozenset[str] = frozenset(), private: Iterable[tuple[str, str]] = ()) -> list[Finding]:
    """Personal data in one piece of public text. `allowed`: normalised public numbers that may
    appear. `private`: (label, normalised value) pairs of the story's own private block."""
    flat = normalise(text)
    out: list[Finding] = []
    for m in _ID18.finditer(flat):
        if valid_id_number(m.group()):
            out.append(Finding("id", "身份证号码"))
    for m in _ID15.finditer(flat):
        if valid_id_number(m.group()):
            out.append(Finding("id", "身份证号码（15位）"))
    for m in _MOBILE.finditer(flat):
        if m.group() not in allowed:
            out.append(Finding("mobile", "手机号码"))
    if private:
        for label, value in private:
            if value and value in flat:
                out.append(Finding("private", label))
    return out


def private_needles(private: Any, path: str = "private") -> list[tuple[str, str]]:
    """Every private value worth looking for in public text, normalised: (field path, value).

    Whole values of three or more characters, and for long texts also each clause of eight or
    more characters, so a sentence copied from the family notes into the body is caught too.
    Assessment grades, assessors and dates are common words ("优秀", "市局政治部"), not secrets.
    """
    out: list[tuple[str, str]] = []
    for label, value in _leaves(private, path):
        if label.startswith("private.assessments") and not label.endswith(".notes"):
            continue
        text = normalise(value)
        if (len(text) >= 3 and not text.isdigit()) or len(text) >= 6:
            out.append((label, text))
        if len(value) >= 16:
            for clause in _CLAUSE.split(value):
                c = normalise(clause)
                if len(c) >= 8 and c != text:
                    out.append((label, c))
    return out


def _leaves(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}")
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v, path)
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        yield path, str(value)
