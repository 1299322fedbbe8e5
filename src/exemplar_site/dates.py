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
    s = raw.strip().replace("/", "-")
    m = re.match(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$", s)
    if m:
        s = f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    try:
        value = dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _date_only(raw: Any) -> bool:
    """A date written without a time of day (2026-03-18, 2026年3月18日)."""
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return True
    return isinstance(raw, str) and ":" not in raw and "T" not in raw.strip()


def parse_date(raw: Any, tz: dt.tzinfo) -> dt.date | None:
    parsed = parse_datetime(raw, tz)
    return parsed.date() if parsed else None
