"""SMS text for the SMS platform (短信平台): one message per public story,
a digest for a date range, and a CSV for bulk import.

Counting follows ../shared/domain/SMS-AND-FEEDS.md:
- counting "platform" (default; Aliyun, Huawei Cloud, Tencent Cloud): every
  character counts 1 — Chinese, Latin, digits, punctuation alike — and the
  signature counts with its 【】; ≤ 70 is one message, above that
  ceil(n / 67). Characters outside the BMP count 2 and are warned about.
- counting "carrier" (GSM 03.38): all-GSM-7 text is 160 / 153 septets
  (extension characters take two); anything else is UCS-2, 70 / 67 units,
  characters outside the BMP taking two units.

The CSV files are for Excel: Chinese headers by default; with `csv_headers: english` in
site_config.yaml, the machine-friendly English headers (id,date,unit,text,characters,segments)
that scripts and integrations read. Only the header row depends on that option.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass
from typing import TypeVar

from . import text as textmod
from . import urls
from .config import SiteConfig
from .errors import Problem, Problems
from .i18n import _, t
from .model import Output, PublicStory

GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")
RISKY = set("¥★※√")  # garbled on some handsets
MAX_TOTAL = 500  # signature + body, platform limit
# The CSV columns, (English header, Chinese header): a file format chosen by `csv_headers`, not a
# message in the user's language (as for the report CSVs).
CSV_COLUMNS = (("id", "编号"), ("date", "日期"), ("unit", "单位"), ("text", "短信内容"),
               ("characters", "字数"), ("segments", "条数"))


@dataclass(frozen=True)
class SmsCount:
    characters: int  # as a person counts them
    units: int  # what the platform bills on (septets or UCS-2 units)
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int


_NON_GSM_RE = re.compile("[^" + re.escape("".join(sorted(GSM_BASIC | GSM_EXTENDED))) + "]")
_GSM_EXT_RE = re.compile("[" + re.escape("".join(sorted(GSM_EXTENDED))) + "]")
_ASTRAL_RE = re.compile("[\U00010000-\U0010FFFF]")


def count(text: str, counting: str = "platform") -> SmsCount:
    chars = len(text)
    if counting == "carrier" and not _NON_GSM_RE.search(text):
        units = chars + len(_GSM_EXT_RE.findall(text))
        segments = 1 if units <= 160 else math.ceil(units / 153)
        return SmsCount(chars, units, "GSM-7", segments)
    units = chars + len(_ASTRAL_RE.findall(text))
    segments = 1 if units <= 70 else math.ceil(units / 67)
    return SmsCount(chars, units, "UCS-2", segments)


def capacity(max_segments: int) -> int:
    """UCS-2 units that fit in max_segments (Chinese text is always UCS-2)."""
    return 70 if max_segments == 1 else 67 * max_segments


@dataclass(frozen=True)
class SmsMessage:
    id: str
    date: dt.date
    unit: str
    text: str  # as written to the files (with or without the signature, per config)
    counted: str  # signature + text: what the recipient's phone shows and the platform bills
    count: SmsCount
    derived: bool


def _signature(config: SiteConfig) -> str:
    return f"【{config.sms.signature}】" if config.sms.signature else ""


def _tail(story: PublicStory, config: SiteConfig) -> str:
    tail = ""
    if config.sms.link:
        tail += " " + urls.absolute(config.site_url, story.url)
    return tail + config.sms.suffix


def _derive_source(story: PublicStory) -> str:
    text = " ".join(story.summary.split())
    return text.replace("【", "〔").replace("】", "〕")


def compose(story: PublicStory, config: SiteConfig, problems: Problems) -> SmsMessage | None:
    sig = _signature(config)
    tail = _tail(story, config)
    cap_units = capacity(config.sms.max_segments)
    counting = config.sms.counting
    if story.sms:
        body = story.sms
        derived = False
    else:
        room = cap_units - count(sig + tail, counting).units
        if room < 10:
            problems.error(config.path.name, config.line_of.get("sms"), "sms",
                           t("signature, link and suffix leave only {room} characters for the story", room=room),
                           _("a shorter suffix, link: false, or a larger max_segments"))
            return None
        body = _fit(_derive_source(story), room, counting)
        derived = True
    counted = sig + body + tail
    c = count(counted, counting)
    where = (story.source, story.sms_line if story.sms else None)
    if not derived and c.segments > config.sms.max_segments:
        limit = cap_units - count(sig + tail, counting).units
        problems.error(where[0], where[1], "sms",
                       t("the SMS is {characters} characters with signature and suffix ({segments} messages); "
                         "the cap is {cap} message(s) = {units} characters",
                         characters=c.characters, segments=c.segments, cap=config.sms.max_segments,
                         units=cap_units),
                       t("at most {limit} characters of text (signature {signature} and suffix/link {tail} "
                         "included in the cap)", limit=limit, signature=count(sig, counting).units,
                         tail=count(tail, counting).units))
    if c.characters > MAX_TOTAL:
        problems.error(where[0], where[1], "sms",
                       t("the SMS is {characters} characters; platforms take at most {limit}",
                         characters=c.characters, limit=MAX_TOTAL),
                       _("a shorter text"))
    astral = [ch for ch in body if ord(ch) > 0xFFFF]
    if astral:
        problems.warning(where[0], where[1], "sms",
                         t("characters outside the basic set ({characters}): emoji and rare characters may be "
                           "rejected by the platform or cost two", characters="".join(astral)),
                         _("replace them or check with the platform"))
    risky = sorted({ch for ch in body if ch in RISKY})
    if risky:
        problems.warning(where[0], where[1], "sms",
                         t("{characters} shows garbled on some phones", characters="".join(risky)),
                         _("write it out in words"))
    text = counted if config.sms.write_signature else body + tail
    return SmsMessage(story.id, story.date.date(), story.unit.name, text, counted, c, derived)


def _fit(text: str, room: int, counting: str) -> str:
    """Cut at a sentence end so the text takes at most `room` units."""
    if count(text, counting).units <= room:
        return text
    limit = room
    while limit > 0:
        cut = textmod.cut_at_sentence(text, limit)
        if count(cut, counting).units <= room:
            return cut
        limit -= 1
    return ""


def messages(stories: tuple[PublicStory, ...], config: SiteConfig, problems: Problems) -> list[SmsMessage]:
    """One message per public story, oldest first."""
    return collect([(s, composed(s, config)) for s in stories], problems)


M = TypeVar("M")


def collect(made: list[tuple[PublicStory, tuple[M | None, tuple[Problem, ...]]]], problems: Problems) -> list[M]:
    """Messages made by `composed` (story, (message, problems)), oldest story first. (A message
    may stand in for itself, e.g. as the bytes it is stored as: it is only put in order.)"""
    out: list[M] = []
    for _story, (m, found) in sorted(made, key=lambda pair: (pair[0].date, pair[0].id)):
        if found:
            problems.extend(found)
        if m is not None:
            out.append(m)
    return out


def composed(story: PublicStory, config: SiteConfig) -> tuple[SmsMessage | None, tuple[Problem, ...]]:
    """A story's message and what is wrong with it: a function of the story and the config only."""
    mine = Problems()
    return compose(story, config, mine), tuple(mine.items)


def in_range(msgs: list[SmsMessage], since: dt.date | None, until: dt.date | None) -> list[SmsMessage]:
    return [m for m in msgs if (since is None or m.date >= since) and (until is None or m.date <= until)]


def digest_text(msgs: list[SmsMessage]) -> bytes:
    """Plain TXT for import: one message per line, in date order."""
    return "".join(m.text + "\n" for m in msgs).encode("utf-8")


def csv_bytes(msgs: list[SmsMessage], bom: bool, headers: str = "chinese") -> bytes:
    """The messages as CSV: `headers` "chinese" (for Excel) or "english" (for scripts), as
    `csv_headers` in site_config.yaml chooses; the rows are the same either way."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([english if headers == "english" else chinese for english, chinese in CSV_COLUMNS])
    for m in msgs:
        # with write_signature: false the text is the author's own first character: "=…" must not
        # become a formula in the spreadsheet the import file is checked in
        w.writerow([textmod.csv_cell(v) for v in (m.id, m.date.isoformat(), m.unit, m.text,
                                                  m.count.characters, m.count.segments)])
    return ("\ufeff" if bom else "").encode("utf-8") + buf.getvalue().encode("utf-8")


def latest_window(msgs: list[SmsMessage], days: int) -> tuple[dt.date, dt.date] | None:
    """The `days` ending on the newest story's date: a digest that depends on content only."""
    if not msgs:
        return None
    until = max(m.date for m in msgs)
    return until - dt.timedelta(days=days - 1), until


def sms_outputs(msgs: list[SmsMessage], config: SiteConfig, since: dt.date | None, until: dt.date | None,
                prefix: str = "sms/") -> list[Output]:
    """Per-story texts, the digest for [since, until] and the CSVs, under `prefix`."""
    out = [Output(f"{prefix}stories/{m.id}.txt", (m.text + "\n").encode("utf-8")) for m in msgs]
    chosen = in_range(msgs, since, until)
    label = f"{since.isoformat() if since else 'start'}_{until.isoformat() if until else 'end'}"
    out.append(Output(f"{prefix}digest-{label}.txt", digest_text(chosen)))
    out.append(Output(f"{prefix}digest-{label}.csv", csv_bytes(chosen, config.sms.csv_bom, config.csv_headers)))
    out.append(Output(f"{prefix}all.csv", csv_bytes(msgs, config.sms.csv_bom, config.csv_headers)))
    return out


def render_sms(stories: tuple[PublicStory, ...], config: SiteConfig, problems: Problems) -> list[Output]:
    """The SMS files of a site build: sms/stories/<id>.txt, sms/digest-latest.{txt,csv}, sms/all.csv."""
    return sms_files(messages(stories, config, problems), config)


def sms_files(msgs: list[SmsMessage], config: SiteConfig) -> list[Output]:
    """The SMS files of a site build from its messages (oldest first)."""
    window = latest_window(msgs, config.sms.digest_days)
    out = [Output(f"sms/stories/{m.id}.txt", (m.text + "\n").encode("utf-8")) for m in msgs]
    chosen = in_range(msgs, *window) if window else []
    out.append(Output("sms/digest-latest.txt", digest_text(chosen)))
    out.append(Output("sms/digest-latest.csv", csv_bytes(chosen, config.sms.csv_bom, config.csv_headers)))
    out.append(Output("sms/all.csv", csv_bytes(msgs, config.sms.csv_bom, config.csv_headers)))
    return out
