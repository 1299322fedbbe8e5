"""Personal data in public text: mainland ID numbers, mobile numbers, and a story's own private values.

Pure functions over text. Text is normalised before matching, so that the
usual ways of writing (or disguising) a number still match: full-width
letters and digits, circled, parenthesised, superscript and subscript
digits (as NFKC folds them), digits of any script, zero-width and other
invisible characters, spaces, dashes, dots, brackets, `tel:`, digits
written in Chinese (一三九〇五…, 壹贰叁, 幺两拐勾洞) where seven or more run together, and the
`+86` / `0086` / `86` country prefixes. (Only the characters that matter are
folded: NFKC of a whole story costs more than the rest of the scan.)

Messages never repeat the value found: they say what kind of data it is and
where it is.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .i18n import N_, _, t

# Invisible characters, removed before matching: every format character (Unicode category Cf:
# zero-width spaces and joiners, direction marks and embeddings, invisible operators, soft hyphen),
# and the fillers and selectors that show nothing; and the combining marks that enclose the
# character before them (a keycap 1️⃣, a circle or square round a digit): the digit is what is read.
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F),
    (0x0890, 0x0891), (0x08E2, 0x08E2), (0x115F, 0x1160), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x2064), (0x2066, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0),
    (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F), (0xE0100, 0xE01EF),
    (0x20DD, 0x20E4))  # (the enclosing marks)
_INVISIBLE_CHARS = frozenset(chr(c) for low, high in _INVISIBLE_RANGES for c in range(low, high + 1))
_SEPARATOR = r"[\s\-‐‑‒–—―−﹣－.．·・•‧∙⁃ー_/／()（）\[\]【】〔〕,，、]"
_SEPARATORS = re.compile(_SEPARATOR + "+")
# digits in groups apart (139 0511 1234, 0511-85551234 / 13905111234): removing what parts them
# makes one run of the groups, where two numbers side by side are a run of no known length
_CHAIN = re.compile(r"\d+(?:" + _SEPARATOR + r"+\d+)*[Xx]?")  # (a group of digits alone is a chain too)
# the line breaks, tabs and cell bars of a document's text (`find(strict=True)`): numbers in
# neighbouring cells or lines of a table are not run together
_HARD = re.compile(r"[\n\r\t\f\v|]+")
# a figure written with thousands separators (20,173 or 45,750,450.98): one figure, never part of a
# number written in groups (the next column's figures are not run together with it)
_FORMATTED = re.compile(r"\d{1,3}(?:[,，]\d{3}(?!\d))+(?:\.\d+)?")  # (138，1234，5678 is no figure)
_COMMA_DIGIT = re.compile(r"[,，]\d")  # (where there is none, there is no such figure: a quicker test)
# how people write the groups of a number apart (139 0511 1234, 110105 19491231 002X): only groups
# of these lengths are read as one number, so a row of figures (1352 2468 987) is not taken for one
_MOBILE_SHAPES = {(3, 4, 4), (3, 8), (7, 4), (4, 3, 4)}
_SHAPES = frozenset({*_MOBILE_SHAPES, *((2, *s) for s in _MOBILE_SHAPES), *((4, *s) for s in _MOBILE_SHAPES),
                     (2, 11), (4, 11), (6, 8, 4), (6, 4, 4, 4), (6, 12), (14, 4), (6, 6, 3)})
_GROUP = re.compile(r"\d+")
_LONGEST = 22  # digits of the longest number looked for: 0086 and 18
_TEL = re.compile(r"tel:", re.IGNORECASE)
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_CLAUSE = re.compile(r"[，。；！？、,.;!?\n：:（）()“”\"'‘’]+")


def _folding() -> dict[str, str]:
    """NFKC of the characters that can stand for a digit, a Latin letter, ':' or '+' (full-width forms,
    circled ①, parenthesised ⑴, ⒈, superscript ¹ and subscript ₁ digits, ⓪, ❶…)."""
    ranges = [(0xFF0B, 0xFF0B), (0xFF10, 0xFF1A), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A), (0x00B2, 0x00B3),
              (0x00B9, 0x00B9), (0x2070, 0x2079), (0x2080, 0x2089),
              (0x2460, 0x249B), (0x24EA, 0x24FF), (0x2776, 0x2793), (0x1F100, 0x1F10A),
              # parenthesised and circled ideographs ㈠ ㊀ … (to 一 …, read as Chinese digits below)
              (0x3220, 0x3229), (0x3280, 0x3289),
              # characters that look like (and NFKC folds to) ordinary Chinese ones: Kangxi and
              # supplementary radicals (⼀ ⼆), compatibility ideographs (李 U+F9E1 for 李, 六 U+F9D1)
              (0x2E80, 0x2EF3), (0x2F00, 0x2FD5), (0xF900, 0xFAD9), (0x2F800, 0x2FA1D)]
    table = {}
    for low, high in ranges:
        for c in range(low, high + 1):
            folded = unicodedata.normalize("NFKC", chr(c))
            if len(folded) > 2 and folded[0] == "(" and folded[-1] == ")":  # ⑴ ㈠: the digit, not "(1)"
                folded = folded[1:-1]
            if folded != chr(c):
                table[chr(c)] = folded
    return table


_FOLD = _folding()


def _char_class(chars: Iterable[str]) -> str:
    """A regular expression's class of those characters, as ranges (a class of a thousand single
    characters is matched many times slower)."""
    codes = sorted(ord(c) for c in chars)
    out, i = [], 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        out.append(re.escape(chr(codes[i])) + (f"-{re.escape(chr(codes[j]))}" if j > i else ""))
        i = j + 1
    return "[" + "".join(out) + "]"


# What one pass replaces (`_spaced`): a character folded, or an invisible one dropped (as folding
# then dropping did: no folded form holds an invisible character, tests/test_text.py). Apart
# for the Basic Multilingual Plane, which a regular expression tests by table, and the planes
# above, which it tests range by range (3-4 times slower), passed only when the text has such a
# character.
_SPECIAL = {**dict.fromkeys(_INVISIBLE_CHARS, ""), **{c: "".join(x for x in f if x not in _INVISIBLE_CHARS)
                                                       for c, f in _FOLD.items()}}
_SPECIAL_BMP = re.compile(_char_class(c for c in _SPECIAL if c <= "\uffff"))
_SPECIAL_ASTRAL = re.compile(_char_class(c for c in _SPECIAL if c > "\uffff"))
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")

# Digits written in Chinese (一三九〇五…), in the financial forms (壹贰叁) and as the police radio
# reads them out (幺 1, 两 2, 拐 7, 勾 9, 洞 0): read as digits where seven or more digits of any
# kind run together (separators between them allowed): a number spelled out, never the words
# 一一 or 两个 of a sentence.
_CN_DIGITS = {**dict.fromkeys("〇零洞○◯", "0"), **dict.fromkeys("一壹幺么", "1"), **dict.fromkeys("二贰貳两兩", "2"),
              **dict.fromkeys("三叁參", "3"), **dict.fromkeys("四肆", "4"), **dict.fromkeys("五伍", "5"),
              **dict.fromkeys("六陆陸", "6"), **dict.fromkeys("七柒拐", "7"), **dict.fromkeys("八捌", "8"),
              **dict.fromkeys("九玖勾", "9")}
_CN_VALUE = {**_CN_DIGITS, "O": "0", "o": "0"}  # (the letter O for a zero, among Chinese digits)
_CN_SPACE = frozenset("，、,:：~～|｜")  # (what parts the groups of a number spelled out, as a space does)
_CN_CLASS = "".join(_CN_DIGITS)
# between the digits of a number spelled out: what parts digits anywhere, and commas, colons, bars
_CN_GAP = _SEPARATOR[:-1] + "".join(sorted(_CN_SPACE)) + "]"
_CN_RUN = re.compile(f"[{_CN_CLASS}0-9Oo](?:{_CN_GAP}*+[{_CN_CLASS}0-9Oo]){{6,}}+")
_CN_ANY = re.compile(f"[{_CN_CLASS}]")


def _cn_digits(m: re.Match[str]) -> str:
    """A run with a Chinese digit in it, its digits as digits; a Chinese digit written against an
    Arabic one is set apart from it (张三13905111234: the name's 三 is not part of the number)."""
    run = m.group()
    if not _CN_ANY.search(run):
        return run
    out: list[str] = []
    last = ""  # "cn" or "ascii": the kind of the digit before
    for c in run:
        kind = "cn" if c in _CN_VALUE else "ascii" if c.isdigit() else ""
        if kind and last and kind != last:
            out.append(" ")
        out.append(_CN_VALUE.get(c, " " if c in _CN_SPACE else c))
        last = kind or last
    return "".join(out)


def _special(m: re.Match[str]) -> str:
    return _SPECIAL[m.group()]


def normalise(text: str) -> str:
    """The text as a number-matcher should see it (see the module docstring)."""
    # (one pass replacing the few such characters a story has, the full-width colon above all:
    # several times faster than str.translate, which looks every character up in the table)
    return _SEPARATORS.sub("", _spaced(text))


def _spaced(text: str) -> str:
    """normalise, with what parts digits kept."""
    if "&" in text:  # (a character reference is the character, in a page as in a link: &#49; is 1)
        text = html.unescape(text)
    text = _SPECIAL_BMP.sub(_special, text)
    if _ASTRAL.search(text):
        text = _SPECIAL_ASTRAL.sub(_special, text)
    text = _CN_RUN.sub(_cn_digits, text)
    # (any case of "tel:", looked for only where the two letters before the colon are: most texts)
    return _TEL.sub("", text) if "el:" in text or "EL:" in text or "eL:" in text or "El:" in text else text


def _ascii(digits: str) -> str:
    return "".join(str(int(d)) if d.isdigit() else d for d in digits)


def normalise_number(value: str | int) -> str:
    """A phone number as configured in `public_numbers`: its digits, without a country prefix."""
    digits = _ascii(re.sub(r"\D", "", normalise(str(value))))
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
    label: str  # what to tell the author (never the value itself): an English message id, or a field path
    digits: str = ""  # the number found, or a private value that is a number (never shown: it says which is which)


def find(text: str, allowed: frozenset[str] = frozenset(), private: Iterable[tuple[str, str]] = (),
         strict: bool = False) -> list[Finding]:
    """Personal data in one piece of public text. `allowed`: normalised public numbers that may
    appear. `private`: (label, normalised value) pairs of the story's own private block. `strict`:
    a document's text, whose line breaks, tabs and bars part the cells of tables: a number is not
    looked for across them.

    Digits in groups apart are read as one number when the groups are a number's usual shape
    (`_SHAPES`: 139 0511 1234, +86 139…, 110105 19491231 002X), or one digit each; every run of
    whole neighbouring groups is looked at, so a number beside other digits is found too."""
    spaced = _spaced(text)
    figures = _FORMATTED.sub("#", spaced) if _COMMA_DIGIT.search(spaced) else spaced
    out: list[Finding] = []
    for line in _HARD.split(figures) if strict else (figures,):
        for m in _CHAIN.finditer(line):
            chain = m.group()
            groups, x = _GROUP.findall(chain), chain[-1] in "Xx"
            if sum(map(len, groups)) < 11:
                continue
            last = len(groups) - 1
            for i in range(len(groups)):
                digits = ""
                for j in range(i, len(groups)):
                    digits += groups[j]
                    if len(digits) > _LONGEST:
                        break
                    if len(digits) < 11:
                        continue
                    shape = tuple(len(g) + (1 if x and k == last else 0) for k, g in enumerate(groups[i:j + 1], i))
                    if i == j or shape in _SHAPES or all(n == 1 for n in shape):
                        out += _numbers(digits + ("X" if x and j == last else ""), allowed)
    # (a value is in the text without its separators only if each of its characters is in the text:
    # most texts hold none of the story's private values, and are not copied without separators)
    present = [(label, value) for label, value in private if value and all(c in spaced for c in value)]
    if present:
        flat = _SEPARATORS.sub("", spaced)  # (normalise)
        out += [Finding("private", label, value if _NUMBER.fullmatch(value) else "") for label, value in present
                if value in flat]
    return out


_NUMBER = re.compile(r"[+\dXx]+")  # (a normalised value that is a number)
PRIVATE_MARK = "\u2060"  # (an invisible mark on messages about private values: they get another hint)


def describe(findings: list[Finding]) -> list[str]:
    """What to tell the author of each finding, never the value itself."""
    numbers = [f for f in findings if f.kind != "private"]
    out = [t("public text holds {what} (not shown here, to protect personal data)", what=_(f.label))
           for f in numbers]
    # (a private value that is a number already reported as one need not be reported again)
    found = {f.digits.upper() for f in numbers}
    labels = sorted({f.label for f in findings if f.kind == "private" and not (f.digits and any(
        f.digits.upper() in d for d in found))})
    if labels:
        out += [PRIVATE_MARK + t("public text holds what is written in the private field {label} (not shown here)",
                                 label=label) for label in labels]
    return out


def private_in(text: str, needles: Iterable[tuple[str, str]],
               normalised: Callable[[str], str] = normalise) -> list[str]:
    """The labels of those (label, normalised value) pairs whose value is in the text (another
    story's private values, say: `find` looks for numbers too). `normalised`: `normalise`, or a
    memo of it for a text looked in many times."""
    flat = normalised(text)
    return [label for label, value in needles if value and value in flat]


def id_shaped(number: str) -> bool:
    """Whether 18 characters read as a mainland resident ID whatever its check digit: a region
    (first digit 1–9), a birth date from 1900 to 2010, three digits and a check character. A number
    mistyped in its last digit still tells where and when the person was born. (A later date is
    more likely an alarm or case number that begins with a district's code and the day it was
    made, 320106 20261124 0012, than the ID of a child in a story.)"""
    if not re.fullmatch(r"[1-9]\d{5}(?:19\d\d|200\d|2010)\d{7}[\dXx]", number):
        return False
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return True


def _numbers(run: str, allowed: frozenset[str]) -> list[Finding]:
    """The ID or mobile number a run of digits is (none, or one of each)."""
    out = []
    if len(run) == 18 and (valid_id_number(run) or id_shaped(run)):
        out.append(Finding("id", N_("an ID card number"), run))
    elif len(run) == 15 and valid_id_number(run):
        out.append(Finding("id", N_("an ID card number (15 digits)"), run))
    number = _ascii(run)
    for prefix in ("", "86", "0086"):  # (+86: the '+' is not a digit)
        mobile = number[len(prefix):]
        if number.startswith(prefix) and len(mobile) == 11 and mobile[0] == "1" and mobile[1] in "3456789":
            if mobile not in allowed:
                out.append(Finding("mobile", N_("a mobile phone number"), mobile))
            break
    return out


# Private fields that hold people's names (and a diagnosis): two characters (李梅, 肝癌) are enough
# to look for. (人: 爱人, 联系人, 家人, 证人, 当事人…; 病: 疾病, 病情, 病史)
_NAME_KEYS = ("name", "spouse", "wife", "husband", "child", "son", "daughter", "father", "mother", "parent",
              "family", "relative", "partner", "brother", "sister", "sibling", "guardian", "contact", "person",
              "informant", "witness", "victim", "illness", "disease", "diagnosis",
              "姓名", "配偶", "妻", "夫", "子", "女", "父", "母", "家属", "亲属", "人", "病")


# A name in family notes: a word for a relative, then (after a colon or a space, or nothing) a
# common surname and one or two more characters (妻子李秀英, 女儿：陈雨, 小女儿 陈小雨). The surnames
# are the commonest ones that are not also everyday words at the start of a phrase (高中, 于是, 方便…
# are left out): what follows 爱人是, 父亲早逝 or 妻子很支持 is no name.
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
             "姚卢姜崔钟谭陆汪范廖石贾韦夏付邹熊孟秦邱侯薛雷贺顾龙段郝孔邵史毛钱严覃武戴莫汤尹黎易")
_KIN_NAME = re.compile(r"(?:妻子|丈夫|爱人|配偶|老伴|老婆|老公|媳妇|前妻|前夫|未婚妻|未婚夫|"
                       r"[大小二三长次幼]?(?:女儿|儿子)|孩子|长子|次子|长女|次女|儿媳|女婿|孙子|孙女|外孙|外孙女|"
                       r"父亲|母亲|岳父|岳母|公公|婆婆|继父|继母|养父|养母|祖父|祖母|外公|外婆|爷爷|奶奶|"
                       r"哥哥|姐姐|弟弟|妹妹|伯父|叔叔|姑姑|舅舅|姨妈)[:：\s]*"
                       rf"([{_SURNAMES}])([\u4e00-\u9fff])([\u4e00-\u9fff]?)")
# characters that end a name of two characters rather than being its third (李梅很支持, 李梅在…)
_AFTER_NAME = frozenset("在是的和与及很也都已今现曾从为于等同住系任")


def _kin_names(value: str) -> list[str]:
    """The names written after a word for a relative in family notes (one or several in a text)."""
    names = []
    for m in _KIN_NAME.finditer(value):
        surname, second, third = m.groups()
        names.append(surname + second + (third if third and third not in _AFTER_NAME else ""))
    return names


def private_needles(private: Any, path: str = "private") -> list[tuple[str, str]]:
    """Every private value worth looking for in public text, normalised: (field path, value).

    Whole values of three or more characters (two for fields that hold a name: family, spouse, …),
    and for long texts also each clause of eight or more characters, so a sentence copied from the
    family notes into the body is caught too; and in a field that holds names, each name written
    after a word for a relative (妻子李秀英，女儿：陈雨 → 李秀英, 陈雨): family notes name several people.
    Assessment grades, assessors and dates are common words ("优秀", "市局政治部"), not secrets.
    """
    out: list[tuple[str, str]] = []
    for label, value, keys in _leaves(private, path):
        if label.startswith("private.assessments") and not label.endswith(".notes"):
            continue
        text = normalise(value)
        # (a key in Chinese, 配偶 or 家属, is never part of the label shown, but says a name is under it)
        name = any(word in key.lower() for key in (label, *keys) for word in _NAME_KEYS)
        if (len(text) >= (2 if name else 3) and not text.isdigit()) or len(text) >= 6:
            out.append((label, text))
        if len(value) >= 16:
            for clause in _CLAUSE.split(value):
                c = normalise(clause)
                if len(c) >= 8 and c != text:
                    out.append((label, c))
        if name:
            out += [(label, person) for person in map(normalise, _kin_names(value)) if person != text]
    return list(dict.fromkeys(out))


_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _leaves(value: Any, path: str, keys: tuple[str, ...] = ()) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """(label, text, the keys above it that are not field names) of every value, and of every key
    that is not a field name: a name written as a key (`family: {李秀梅: 配偶}`) is private too, and
    never part of a label (labels are shown)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and _FIELD_NAME.fullmatch(k):
                yield from _leaves(v, f"{path}.{k}", keys)
            else:
                yield path, str(k), keys
                yield from _leaves(v, path, (*keys, str(k)))
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v, path, keys)
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        yield path, str(value), keys
    elif isinstance(value, dt.date):  # (a birthday YAML reads as a date: as it is written in a text)
        day = value.date() if isinstance(value, dt.datetime) else value
        yield path, day.isoformat(), keys
        yield path, f"{day.year}年{day.month}月{day.day}日", keys
