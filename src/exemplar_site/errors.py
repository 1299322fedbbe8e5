"""Problems found in the input, collected so that a run reports all of them.

Stages never print: they return or raise `Problem` values, and only the
command-line layer formats them for people.
"""

from __future__ import annotations

import difflib
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .i18n import _

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one file: where, which field, what, what instead."""

    path: str
    line: int | None
    field: str | None
    message: str
    accepted: str | None = None
    severity: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    @property
    def field_shown(self) -> str | None:
        """The field as its author knows it: the text under the front matter has no key of its own."""
        # TRANSLATORS: the field at fault when it is the text under the front matter. 原文：正文
        return _("body") if self.field == "body" else self.field

    def format(self) -> str:
        """For people: what kind, where (file, line, field), what is wrong, what would be accepted."""
        label = _("error") if self.is_error else _("warning")
        where = _("{path}:{line}").format(path=self.path, line=self.line) if self.line else self.path
        if self.field:
            text = _("{where}: {label} [{field}]: {message}").format(where=where, label=label, field=self.field_shown,
                                                                   message=self.message)
        else:
            text = _("{where}: {label}: {message}").format(where=where, label=label, message=self.message)
        if self.accepted:
            text += "\n    " + _("accepted: {accepted}").format(accepted=self.accepted)
        return text


@dataclass
class Problems:
    """A collector passed down a stage; never a global."""

    items: list[Problem] = field(default_factory=list)

    def error(self, path: str | Path, line: int | None, field: str | None, message: str,
              accepted: str | None = None) -> None:
        self.items.append(Problem(str(path), line, field, message, accepted, ERROR))

    def warning(self, path: str | Path, line: int | None, field: str | None, message: str,
                accepted: str | None = None) -> None:
        self.items.append(Problem(str(path), line, field, message, accepted, WARNING))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.items.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if not p.is_error]

    def __bool__(self) -> bool:
        return bool(self.errors)


class BuildFailed(Exception):
    """Raised before anything is written when the input has errors."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=_sort_key)
        super().__init__(f"{len([p for p in problems if p.is_error])} error(s)")


def _sort_key(p: Problem) -> tuple[str, int, str]:
    return (p.path, p.line or 0, p.message)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(problems, key=_sort_key)


def close_matches(word: str, options: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """difflib.get_close_matches, the same answer, with the full comparison (`ratio`, the costly
    part) only for the options whose upper bound (`quick_ratio`) may still beat the n-th best
    found: one missing image among 10,000 took 0.31 s to suggest a name for, and a site of
    many broken links has one such error per story."""
    if not n > 0 or not 0.0 <= cutoff <= 1.0:  # (as difflib refuses them)
        raise ValueError(f"n must be > 0 and cutoff in [0.0, 1.0]: {n!r}, {cutoff!r}")
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(word)
    bounded: list[tuple[float, str]] = []
    for x in options:
        matcher.set_seq1(x)
        if matcher.real_quick_ratio() >= cutoff:
            bound = matcher.quick_ratio()
            if bound >= cutoff:
                bounded.append((bound, x))
    bounded.sort(key=lambda c: c[0], reverse=True)
    best: list[tuple[float, str]] = []  # a heap of the n best (score, option), as difflib's nlargest
    for bound, x in bounded:
        if len(best) >= n and bound < best[0][0]:
            break  # (ratio <= quick_ratio: no option left can enter; an equal one may, by its name)
        matcher.set_seq1(x)
        score = matcher.ratio()
        if score >= cutoff:
            (heapq.heappush if len(best) < n else heapq.heappushpop)(best, (score, x))
    return [x for _score, x in sorted(best, reverse=True)]


def meant(value: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The choices `value` is most likely a slip for (what did_you_mean names), closest first."""
    options = list(choices)
    return close_matches(str(value), options, n=n, cutoff=0.6) or close_matches(str(value), options, n=n, cutoff=0.5)


def did_you_mean(value: str, choices: Iterable[str], n: int = 3) -> str:
    """Return ' (did you mean: a, b?)' for the closest choices, or ''."""
    close = meant(value, choices, n)
    return _("; did you mean: {choices}?").format(choices=", ".join(close)) if close else ""
