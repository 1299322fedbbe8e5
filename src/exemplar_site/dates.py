"""Dates as authors and users write them (front matter, --now): one parser for both."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any


def parse_datetime(raw: Any, tz: dt.tzinfo) -> dt.datetime | None:
    """Dates as YAML gives them, or text: 2026-03-18, 2026-03-18 09:30[:00][+08:00]."""
    if isinstance(raw, dt.datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=tz)
    if isinstance(raw, dt.date):
        return dt.datetime(raw.year, raw.month, raw.day, tzinfo=tz)
    if not isinstance(raw, str):
        return None
    s = raw.strip()
    m = _DAY.match(s)
    if m:  # (2026-3-5, 2026/03/05, 2026.3.5, 2026年3月5日, with a time after it or not)
        year, month, day, rest = m.groups()
        s = f"{year}-{int(month):02d}-{int(day):02d}" + re.sub(r"^([ T])(\d):", r"\g<1>0\2:", rest)  # (9:30)
    try:
        value = dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=tz)


# a day as people write it: year, month and day apart by - / . or 年 月 (日), then a time or nothing
_DAY = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?((?:[ T]\S.*)?)$")


def impossible_day(raw: Any) -> tuple[int, int, int] | None:
    """(year, month, day) of text written as a day that no calendar has (2026-11-31, 2026年13月1日);
    None for anything else."""
    m = _DAY.match(raw.strip()) if isinstance(raw, str) else None
    if m is None:
        return None
    year, month, day = (int(g) for g in m.groups()[:3])
    try:
        dt.date(year, month, day)
    except ValueError:
        return year, month, day
    return None


def _date_only(raw: Any) -> bool:
    """A date written without a time of day (2026-03-18, 2026年3月18日)."""
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return True
    return isinstance(raw, str) and ":" not in raw and "T" not in raw.strip()


def parse_date(raw: Any, tz: dt.tzinfo) -> dt.date | None:
    parsed = parse_datetime(raw, tz)
    return parsed.date() if parsed else None
