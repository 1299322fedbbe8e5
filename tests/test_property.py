"""Issue 11 (tests): property tests over generated stories.

1. Nothing of a story's `private:` block reaches any file the build or the SMS export writes,
   whatever the public fields are, and whether or not an author copied a private value into
   public text (plainly or disguised): such a copy either stops the build or is not published.
2. Broken story files (YAML garbage, truncation, stray `---` lines, control characters,
   invalid UTF-8, impossible dates, aliases, duplicate keys, lists where text belongs, huge keys
   and values) end in exit status 1 with the file named and no traceback; when such a file still
   builds (exit 0), nothing private leaked.

Private values are sentinels that cannot occur by chance: random strings of rare CJK characters
(never used by the public text generated here, nor by the theme), random mobile numbers and ID
numbers with a correct ISO 7064 check digit. The checker looks for each of them as UTF-8, as HTML
character references, as JSON \\uXXXX escapes and percent-encoded, in every output file (and its
name).

Bugs found while writing these properties are pinned by the plain tests at the end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import io
import re
import tempfile
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from conftest import NOW, Site, make_site, story
from exemplar_site.cli import main
from exemplar_site.errors import BuildFailed
from exemplar_site.personal import valid_id_number
from exemplar_site.pipeline import BuildOptions, build_site, export_sms

# Hypothesis keeps caches in .hypothesis/ under the current folder: not in the shared work tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "exemplar-site-hypothesis")

# Fixed seed, so that CI sees the same examples every run; no example database, so nothing is
# written into the work tree. The counts keep the whole file near 20 s on two cores: a generated
# site builds in about 0.1 s, a broken file fails in about 0.04 s.
def _settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    # a site is a few kB of generated data; on a loaded machine drawing it can take
                    # longer than Hypothesis's default budget for data generation
                    suppress_health_check=[HealthCheck.too_slow])


# ---- sentinels ----------------------------------------------------------------------------------

# Rare CJK characters (Extension A and a slice of rare unified ideographs). Neither the public text
# below nor the theme nor the code uses any of them, so a sentinel in the output can only have come
# from a private block.
_RARE = [chr(c) for c in range(0x3400, 0x3500)] + [chr(c) for c in range(0x9C7C, 0x9CE0)]
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

secrets = st.text(alphabet=st.sampled_from(_RARE), min_size=6, max_size=12)
mobiles = st.builds(lambda second, rest: f"1{second}{rest:09d}", st.sampled_from("3456789"),
                    st.integers(0, 10**9 - 1))


def id_with_check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


id_numbers = st.builds(
    lambda region, born, seq: id_with_check_digit(f"{region}{born:%Y%m%d}{seq:03d}"),
    st.sampled_from(["110101", "110105", "310104", "320102", "440305", "510107", "650102"]),
    st.dates(dt.date(1950, 1, 1), dt.date(2005, 12, 31)), st.integers(0, 999))


@settings(max_examples=50, derandomize=True, database=None)
@given(number=id_numbers, mobile=mobiles)
def test_generated_numbers_are_what_the_build_looks_for(number: str, mobile: str) -> None:
    assert id_with_check_digit("11010519491231002") == "11010519491231002X"  # as in test_safety.py
    assert valid_id_number(number)
    assert re.fullmatch(r"1[3-9]\d{9}", mobile)


# ---- public text ----------------------------------------------------------------------------------

WORDS = ["扎根社区", "调解纠纷", "服务群众", "默默奉献", "守护平安", "破获案件", "疏导交通", "救助群众",
         "爱岗敬业", "一心为民", "走访居民", "化解矛盾", "巡逻防控", "深夜出警", "帮扶困难家庭", "勇救落水儿童"]
NAMES = ["王建国", "李卫东", "张秀英", "刘志强", "陈红梅", "北一派出所", "交警支队二大队"]
TAGS = ["社区警务", "枫桥经验", "见义勇为", "交通安全", "打击犯罪", "为民服务"]
# public statuses more often than not, so that most generated stories are published
STATUSES = ["approved"] * 4 + ["commended"] * 2 + ["withdrawn", "seedling", "cultivating", "recommended"]
assert not set("".join(WORDS + NAMES + TAGS)) & set(_RARE)

sentences = st.lists(st.sampled_from(WORDS), min_size=1, max_size=5).map(lambda ws: "，".join(ws) + "。")


@st.composite
def bodies(draw: Any) -> str:
    blocks = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["p", "h", "list", "em", "quote"]))
        text = draw(sentences)
        blocks.append({"p": text, "h": "## " + text.rstrip("。"), "list": "- " + text + "\n- " + draw(sentences),
                       "em": f"**{text}**", "quote": "> " + text}[kind])
    return "\n\n".join(blocks)


# ---- stories ------------------------------------------------------------------------------------

# Private leaves an author's copy of which into public text must be caught (docs/content-format.md:
# "any value of the story's own private: block"). Assessment grades, assessors and dates are
# common words on purpose (personal.private_needles), and one line of a multi-line note is not
# a whole value: those are only checked for never being published by the build itself.
INJECTABLE = ("family", "family.spouse", "family.children", "address", "health", "notes", "phone",
              "id_number", "assessments.notes")
TARGETS = ("body-lead", "body-lead", "body-end", "summary", "sms", "title", "name", "tags", "honor", "caption", "alt")
DISGUISES = ("plain", "zero-width", "strong", "em", "entity", "comment", "span", "full-width")


@dataclass
class Story:
    file: str
    meta: dict[str, Any]  # public front matter, in order
    private: dict[str, Any]
    private_at: int  # position of the private block among the public fields
    body: str

    def leaves(self) -> Iterator[tuple[str, str]]:
        """(label, value) of every value of the private block."""
        for key, value in self.private.items():
            if key == "family" and isinstance(value, dict):
                yield "family.spouse", value["spouse"]
                for child in value["children"]:
                    yield "family.children", child
            elif key == "assessments":
                for a in value:
                    for k in ("result", "by", "notes"):
                        if k in a:
                            yield f"assessments.{k}", a[k]
            elif key == "notes" and isinstance(value, list):
                for line in value:
                    yield "notes.line", line
            else:
                yield key, str(value)

    def text(self) -> str:
        parts = [yaml.safe_dump({k: v}, allow_unicode=True, sort_keys=False, width=1000)
                 for k, v in self.meta.items()]
        if self.private:
            parts.insert(min(self.private_at, len(parts)), self.private_yaml())
        return "---\n" + "".join(parts) + "---\n" + self.body + "\n"

    def private_yaml(self) -> str:
        lines = ["private:"]
        for key, value in self.private.items():
            if key == "family" and isinstance(value, dict):
                lines += ["  family:", f"    spouse: {value['spouse']}", "    children:"]
                lines += [f"    - {c}" for c in value["children"]]
            elif key == "assessments":
                lines.append("  assessments:")
                for a in value:
                    lines.append(f"  - date: {a['date']}")
                    lines += [f"    {k}: {a[k]}" for k in ("result", "by", "notes") if k in a]
            elif key == "notes" and isinstance(value, list):
                lines.append("  notes: |")
                lines += [f"    {line}" for line in value]
            elif key in ("phone", "id_number"):
                lines.append(f"  {key}: '{value}'")
            else:
                lines.append(f"  {key}: {value}")
        return "\n".join(lines) + "\n"


@st.composite
def private_blocks(draw: Any) -> dict[str, Any]:
    """Every value a sentinel; private.notes a list when written as a `|` block, one line each."""
    private: dict[str, Any] = {}
    if draw(st.booleans()):
        private["family"] = draw(secrets | st.fixed_dictionaries(
            {"spouse": secrets, "children": st.lists(secrets, min_size=1, max_size=2)}))
    if draw(st.booleans()):
        private["id_number"] = draw(id_numbers)
    if draw(st.booleans()):
        private["phone"] = draw(mobiles)
    if draw(st.booleans()):
        private["address"] = draw(secrets)
    if draw(st.booleans()):
        private["notes"] = draw(st.lists(secrets, min_size=2, max_size=3) | secrets)
    if draw(st.booleans()):
        private["assessments"] = draw(st.lists(st.fixed_dictionaries(
            {"date": st.dates(dt.date(2024, 1, 1), dt.date(2026, 10, 31)), "result": secrets},
            optional={"by": secrets, "notes": secrets}), min_size=1, max_size=2))
    if not private:
        private["health"] = draw(secrets)
    order = draw(st.permutations(list(private)))
    return {k: private[k] for k in order}


@st.composite
def stories(draw: Any, index: int, earlier: list[str]) -> Story:
    sid = f"p{index}-{draw(st.integers(0, 99))}"
    meta: dict[str, Any] = {
        "id": sid,
        "title": f"{draw(st.sampled_from(NAMES))}第{'一二三四五'[index]}篇{draw(st.sampled_from(WORDS))}",
        "name": draw(st.sampled_from(NAMES)),
        "kind": draw(st.sampled_from(["individual", "collective", "个人", "集体"])),
        "unit": draw(st.sampled_from(["n1", "n2", "s1", "traffic", "北一派出所"])),
        "field": draw(st.sampled_from(["shequ", "jiaojing", "xingzhen", "交警"])),
        "level": draw(st.sampled_from(["city", "district", "provincial", "省级"])),
        "date": draw(st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31))),
        "status": draw(st.sampled_from(STATUSES)),
        "vetting": {"cleared_by": "市局纪委", "date": draw(st.dates(dt.date(2026, 1, 1), dt.date(2026, 11, 24))),
                    "ref": f"纪审〔2026〕{index + 1}号"},
        "approved_by": "市局党委",
        "tags": draw(st.lists(st.sampled_from(TAGS), max_size=3, unique=True)),
    }
    if draw(st.booleans()):
        meta["slug"] = f"story-{index}"
    if draw(st.booleans()):
        meta["summary"] = draw(sentences)
    if draw(st.booleans()):
        meta["sms"] = draw(sentences)
    if earlier and draw(st.booleans()):
        meta["exemplar_of"] = draw(st.sampled_from(earlier))
        if draw(st.booleans()):
            meta["stays_public"] = True
    if draw(st.booleans()):
        meta["featured"] = True
    if draw(st.booleans()):
        meta["images"] = [{"src": "images/a.png", "caption": draw(sentences), "alt": draw(st.sampled_from(WORDS))}]
    if draw(st.booleans()):
        meta["honors"] = [{"title": "全市优秀人民警察", "by": "市公安局", "date": dt.date(2025, 12, 20)}]
    private = draw(private_blocks())
    # the private block comes last as in docs/content-format.md, or anywhere
    private_at = draw(st.sampled_from([len(meta), len(meta), draw(st.integers(0, len(meta)))]))
    return Story(f"s{index}", meta, private, private_at, draw(bodies()))


@dataclass
class Injection:
    """An author's copy of one private value into public text of the same story."""

    story: int
    leaf: int
    target: str
    disguise: str
    value: str = field(default="", init=False)


def disguise(value: str, how: str) -> str:
    mid = len(value) // 2
    head, tail = value[:mid], value[mid:]
    return {
        "plain": value,
        "zero-width": head + "\u200b" + tail,
        "strong": f"{head}**{tail}**",
        "em": f"{head}*{tail}*",
        "entity": f"&#{ord(value[0])};{value[1:]}",
        "comment": f"{head}<!-- -->{tail}",
        "span": f"{head}<span></span>{tail}",
        "full-width": value.translate({c: c + 0xFEE0 for c in range(ord("0"), ord("9") + 1)}),
    }[how]


def inject(story: Story, inj: Injection) -> None:
    leaves = [v for label, v in story.leaves() if label in INJECTABLE]
    if not leaves:
        return
    inj.value = leaves[inj.leaf % len(leaves)]
    text = disguise(inj.value, inj.disguise)
    sentence = f"他的家人{text}一直支持他的工作"
    meta = story.meta
    if inj.target == "body-lead":
        story.body = sentence + "。\n\n" + story.body
    elif inj.target == "body-end":
        story.body = story.body + "\n\n" + sentence + "。"
    elif inj.target in ("summary", "sms", "title", "name"):
        meta[inj.target] = sentence
    elif inj.target == "tags":
        meta["tags"] = [*meta["tags"], text]
    elif inj.target == "honor":
        meta["honors"] = [{"title": sentence, "by": "市公安局"}]
    else:  # caption, alt
        image = {"src": "images/a.png", "caption": "走访居民", "alt": "走访居民"}
        image[inj.target] = sentence
        meta["images"] = [image]


@dataclass
class SiteSpec:
    stories: list[Story]
    injection: Injection | None

    def write(self, root: Path) -> Site:
        site = make_site(root)
        for s in self.stories:
            site.write(f"content/stories/{s.file}.md", s.text())
        return site

    def secrets(self) -> set[str]:
        return {v for s in self.stories for _, v in s.leaves()}


@st.composite
def sites(draw: Any) -> SiteSpec:
    made: list[Story] = []
    for i in range(draw(st.integers(1, 4))):
        made.append(draw(stories(i, [s.meta["id"] for s in made])))
    injection = None
    if draw(st.integers(0, 3)):  # three times in four: an author copied a private value
        injection = Injection(draw(st.integers(0, len(made) - 1)), draw(st.integers(0, 20)),
                              draw(st.sampled_from(TARGETS)), draw(st.sampled_from(DISGUISES)))
        inject(made[injection.story], injection)
    return SiteSpec(made, injection)


# ---- the checker ----------------------------------------------------------------------------------

def spellings(value: str) -> set[bytes]:
    """The ways a value can be written into HTML, XML, JSON, CSV, text or an address."""
    forms = {value, html.escape(value), "".join(f"&#{ord(c)};" for c in value),
             "".join(f"&#x{ord(c):x};" for c in value), "".join(f"&#x{ord(c):X};" for c in value),
             urllib.parse.quote(value), urllib.parse.quote(value).lower()}
    if not value.isascii():
        forms |= {"".join(f"\\u{ord(c):04x}" for c in value), "".join(f"\\u{ord(c):04X}" for c in value)}
    return {f.encode("utf-8") for f in forms}


def leaks(roots: Iterable[Path], values: Iterable[str]) -> list[str]:
    """'file: value' for every private value found in (or in the name of) a file under `roots`."""
    needles = {v: spellings(v) for v in values}
    found = []
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            data = path.read_bytes() + b"\n" + str(path).encode("utf-8", "surrogateescape")
            found += [f"{path}: {v!r}" for v, forms in needles.items() if any(f in data for f in forms)]
    return found


def written_by_build(root: Path) -> list[Path]:
    """Everything in the site folder except what the test wrote: output, SMS, caches, maps."""
    return [p for p in root.iterdir() if p.name not in ("content", "site_config.yaml")]


# ---- 1. no private value in any output ------------------------------------------------------------

@_settings(60)
@given(spec=sites())
def test_no_private_value_reaches_any_output(spec: SiteSpec) -> None:
    secret = spec.secrets()
    note(f"injection: {spec.injection}")
    for s in spec.stories:
        note(f"--- content/stories/{s.file}.md\n{s.text()}")
    with tempfile.TemporaryDirectory() as tmp:
        site = spec.write(Path(tmp) / "site")
        try:
            report = build_site(site.config, BuildOptions(now=NOW, drafts=False))
        except BuildFailed as failed:
            messages = "\n".join(p.format() for p in failed.problems)
            # only a private value copied into public text may stop a generated site
            assert spec.injection is not None and spec.injection.value, messages
            event("build refused the copied private value")
            assert not [v for v in secret if v in messages], f"a message repeats a private value:\n{messages}"
            return
        event(f"built: {report.public} public of {len(spec.stories)}")
        found = leaks(written_by_build(site.root), secret)
        assert not found, found
        sms = export_sms(site.config, BuildOptions(now=NOW), dt.date(2020, 1, 1), NOW.date(), Path(tmp) / "sms")
        assert len(sms.messages) == report.public
        found = leaks([Path(tmp) / "sms"], secret)
        assert not found, found


# ---- 2. broken input: exit 1 naming the file, never a traceback ---------------------------------

# Public fields holding one piece of text, and dates, that the mutations below aim at.
TEXT_FIELDS = ("id", "title", "name", "kind", "unit", "field", "level", "status", "approved_by", "summary", "sms",
               "slug", "exemplar_of", "tags", "vetting", "private")
DATE_FIELDS = ("date", "updated", "approved_date", "vetting.date", "assessment.date")
BAD_DATES = ("2026-02-30", "2026-13-01", "2026-00-10", "2025-02-29", "0000-01-01", "0001-01-01", "9999-12-31",
             "10000-01-01", "2026年2月30日", "'2026-02-30'", "2026-02-28 25:61:00", "2026-03-01 10:00:00+14:00",
             "0001-01-01 00:00:00+14:00", "9999-12-31 23:59:59-12:00", "-1", "2026-1-1", "1e9", "2026-W10")
NOT_TEXT = ("[a, b]", "{k: v}", "[]", "{}", "[[1]]", "\n- a\n- b", "\n  k: v", "true", "null", "1.5",
            "!!binary aGVsbG8=")
GARBAGE = ("key: [unclosed", "{a: b", "- item", "  - nested", "? complex", "&anchor x", "*alias",
           "!!python/object:os.system", "!tag x", "|", ">", "'unterminated", '"esc \\q"', "%YAML 1.2", "...",
           "@at", "`tick", "\ttab: x", ": no key", "key:value", "a: b: c", "[", "]", "}", "- - -", "#", "  #",
           "---x", "<<: {x: 1}", "!!set {a}", "? [a]\n: b")
UNICODE = ("\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\u200b",
           "\u202e", "\ufffe", "\uffff", "\r", "\r\n", "\t", "\u3000", "\U0001f600", "\U0010ffff", "\u0301", "：",
           "－－－")
BAD_BYTES = (b"\xff", b"\xfe", b"\xc0\x80", b"\xed\xa0\x80", b"\xe4\xb8", b"\x80", b"\xf8\x88\x80\x80\x80", b"\xef\xbf")
# Known field names: a garbage line that starts with one could legitimately move text into that field.
_FIELD_LINE = re.compile(r"^\s*[?\-]?\s*(id|title|slug|name|kind|unit|field|level|date|updated|status|vetting|"
                         r"approved_by|approved_date|summary|sms|tags|campaigns|featured|exemplar_of|stays_public|"
                         r"images|honors|private|family|id_number|phone|address|notes|assessments|health)\s*:", re.I)

garbage_lines = (st.sampled_from(GARBAGE)
                 | st.text(alphabet=st.sampled_from([*":-[]{}&*!|>%@`#'\"?,\\ \tab键值", "\u3000"]),
                           max_size=30)).filter(lambda s: not _FIELD_LINE.match(s))
Op = tuple[Any, ...]
ops: st.SearchStrategy[Op] = st.one_of(
    st.tuples(st.just("garbage"), st.integers(0, 200), garbage_lines),
    st.tuples(st.just("dashes"), st.integers(0, 200), st.sampled_from(["---", "--- ", "----", "---\t", " ---", "..."])),
    # the typo the build must catch: a stray '---' inside the private block (0: right after 'private:')
    st.tuples(st.just("dashes-in-private"), st.integers(0, 12)),
    # valid YAML that changes nothing, so that more broken files get as far as a build
    st.tuples(st.just("comment"), st.integers(0, 200), st.sampled_from(["", "# 备注", "  # 备注", "#---"])),
    st.tuples(st.just("unicode"), st.integers(0, 5000), st.sampled_from(UNICODE)),
    st.tuples(st.just("bytes"), st.integers(0, 5000), st.sampled_from(BAD_BYTES)),
    st.tuples(st.just("truncate"), st.integers(0, 5000)),
    st.tuples(st.just("date"), st.sampled_from(DATE_FIELDS), st.sampled_from(BAD_DATES)),
    st.tuples(st.just("alias"), st.integers(0, 3)),
    st.tuples(st.just("duplicate"), st.integers(0, 200)),
    st.tuples(st.just("not-text"), st.sampled_from(TEXT_FIELDS), st.sampled_from(NOT_TEXT)),
    st.tuples(st.just("huge-key"), st.integers(0, 200), st.integers(1000, 20000), st.sampled_from([0, 2, 4]),
              st.sampled_from(["k", "键"])),
    st.tuples(st.just("huge-value"), st.sampled_from(TEXT_FIELDS[:-3]), st.integers(1000, 6000),
              st.sampled_from(["9", "字", "a"])),
)


def _front_matter_end(lines: list[bytes]) -> int:
    """Index of the closing '---' line (or the number of lines when there is none)."""
    for i, line in enumerate(lines[1:], 1):
        if line == b"---":
            return i
    return len(lines)


def _field_line(lines: list[bytes], name: str) -> int | None:
    """Index of the line holding top-level field `name` (or `vetting.date`, `assessment.date`)."""
    if name == "vetting.date":
        start = _field_line(lines, "vetting")
        key, lines_from = b"  date:", start
    elif name == "assessment.date":
        key, lines_from = b"  - date:", 0
    else:
        key, lines_from = name.encode() + b":", 0
    if lines_from is None:
        return None
    for i in range(lines_from, _front_matter_end(lines)):
        if lines[i].startswith(key):
            return i
    return None


def mutate(data: bytes, op: Op) -> bytes:
    """Apply one mutation to a story file's bytes."""
    kind = op[0]
    if kind in ("unicode", "bytes"):
        pos = op[1] % (len(data) + 1)
        add: bytes = op[2].encode("utf-8") if kind == "unicode" else op[2]
        return data[:pos] + add + data[pos:]
    if kind == "truncate":
        return data[: op[1] % (len(data) + 1)]
    lines = data.split(b"\n")
    end = _front_matter_end(lines)
    if kind == "dashes-in-private":
        at = _field_line(lines, "private")
        if at is not None:
            inside = at + 1
            while inside < end and lines[inside][:1] in (b" ", b"-"):
                inside += 1
            lines.insert(at + 1 + op[1] % (inside - at), b"---")
    elif kind in ("garbage", "comment", "duplicate", "huge-key"):  # somewhere inside the front matter
        pos = 1 + op[1] % max(end - 1, 1)
        if kind in ("garbage", "comment"):
            lines.insert(pos, op[2].encode("utf-8"))
        elif kind == "duplicate":
            lines.insert(pos, lines[min(pos, len(lines) - 1)])
        else:
            lines.insert(pos, b" " * op[3] + op[4].encode("utf-8") * op[2] + b": 1")
    elif kind == "dashes":  # anywhere, the first line included
        lines.insert(op[1] % (len(lines) + 1), op[2].encode())
    elif kind == "alias":
        variant = op[1]
        at = _field_line(lines, "private") if variant == 0 else _field_line(lines, "title")
        if variant == 0 and at is not None:  # the private block aliased into public text
            lines[at] = b"private: &p"
            lines.insert(1, b"summary: *p")
        elif variant == 1 and at is not None:
            lines[at] = lines[at].replace(b"title: ", b"title: &t ", 1)
            lines.insert(at + 1, b"name: *t")
        elif variant == 2:
            lines[1:1] = [b"base: &b {unit: n1, level: city}", b"<<: *b"]
        else:
            lines[1:1] = [b'x: &a ["lol","lol","lol"]', b"y: &c [*a,*a,*a]", b"z: [*c,*c,*c]"]
    else:  # a field's value replaced: "date", "not-text", "huge-value"
        name = op[1]
        value = {"date": lambda: op[2], "not-text": lambda: op[2], "huge-value": lambda: op[3] * op[2]}[kind]()
        at = _field_line(lines, name)
        indent = b"  " if name == "vetting.date" else b"    " if name == "assessment.date" else b""
        key = name.rsplit(".", 1)[-1].encode()
        new = (b"  - " if name == "assessment.date" else indent) + key + b": " + value.encode("utf-8")
        if at is None:
            if name in ("vetting.date", "assessment.date"):
                return data
            at = 1
            lines.insert(at, b"")
        # a field written over several lines (tags, vetting, private) loses its indented continuation
        following = at + 1
        while name in ("tags", "vetting", "private") and following < end and lines[following][:1] in (b" ", b"-"):
            following += 1
        lines[at:following] = [new]
    return b"\n".join(lines)


@dataclass
class Broken:
    other: Story  # a valid story beside the broken one
    story: Story  # before mutation
    ops: list[Op]

    def data(self) -> bytes:
        data = self.story.text().encode("utf-8")
        for op in self.ops:
            data = mutate(data, op)
        return data


@st.composite
def broken_sites(draw: Any) -> Broken:
    other = draw(stories(0, []))
    story = draw(stories(1, []))
    other.file, story.file = "ok", "broken"
    if draw(st.booleans()):  # often: a note of several lines closing the private block, where a '---' hurts most
        story.private.pop("notes", None)
        story.private["notes"] = draw(st.lists(secrets, min_size=2, max_size=3))
    return Broken(other, story, draw(st.lists(ops, min_size=1, max_size=3)))


def run_build(broken: Broken, root: Path) -> tuple[int, str]:
    site = make_site(root)
    site.write("content/stories/ok.md", broken.other.text())
    (site.root / "content/stories/broken.md").write_bytes(broken.data())
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(["build", "--config", str(site.config), "--now", "2026-11-24"])
    return code, err.getvalue()


def check_broken(broken: Broken) -> None:
    note(f"ops: {broken.ops}")
    note("--- content/stories/broken.md\n" + broken.data().decode("utf-8", "replace"))
    secret = {v for s in (broken.other, broken.story) for _, v in s.leaves()}
    with tempfile.TemporaryDirectory() as tmp:
        code, err = run_build(broken, Path(tmp) / "site")  # an exception escaping main() fails the test
        note(f"exit {code}; stderr:\n{err}")
        assert code in (0, 1)
        assert "Traceback" not in err
        assert not [v for v in secret if v in err], "a message repeats a private value"
        event(f"exit {code}")
        if code == 1:
            assert "content/stories/broken.md" in err
            assert re.search(r"content/stories/broken\.md(:\d+)?: error", err), err
        else:
            found = leaks(written_by_build(Path(tmp) / "site"), secret)
            assert not found, found


@_settings(150)
@given(broken=broken_sites())
def test_broken_story_files_end_in_a_clear_error(broken: Broken) -> None:
    check_broken(broken)


# ---- bugs the properties found, minimised ------------------------------------------------------
# Each failed on 7147632 (an exception escaped `build`, or the value was published) and is fixed
# in 2324920; the properties above would find them again, these say exactly what broke.

FAMILY = "㐀㐁㐂㐃㐄㐅"  # what a generated sentinel looks like
PHONE = "13905111234"


def _story_text(private_lines: list[str] | None = None, **fields: Any) -> str:
    """A valid story (conftest.story) with `private:` written last, line by line as given."""
    text = story("b-1", slug="b-one", **fields)
    if private_lines:
        head, _, body = text.partition("\n---\n")
        text = head + "\nprivate:\n" + "".join(line + "\n" for line in private_lines) + "---\n" + body
    return text


def _main(config: Path) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["build", "--config", str(config), "--now", "2026-11-24"])
    return code, err.getvalue()


@pytest.mark.parametrize("how", ["strong", "em", "entity", "comment", "span"])
@pytest.mark.parametrize("value, key", [(FAMILY, "family"), (PHONE, "phone")])
def test_private_value_disguised_by_inline_markup_in_the_body(tmp_path: Path, value: str, key: str, how: str) -> None:
    """The scan read the Markdown source line by line: inline markup split the value there
    ('㐀㐁㐂**㐃㐄㐅**', '1390511&#49;234' …), while the summary derived from the body, the listings,
    the feeds and the SMS texts carried it whole."""
    site = make_site(tmp_path / "site")
    site.story("a", "a-1", slug="a-one", private={key: value},
               body=f"他的家人{disguise(value, how)}一直支持他的工作。\n\n默默奉献，服务群众。")
    try:
        site.build()
    except BuildFailed as failed:
        assert value not in "\n".join(p.format() for p in failed.problems)
        return
    found = leaks(written_by_build(site.root), [value])
    assert not found, found


def test_stray_dashes_inside_a_multi_line_private_value(tmp_path: Path) -> None:
    """A stray '---' typed inside a `|` block of the private block, written last as in
    docs/content-format.md, ended the front matter; the block's remaining lines do not look like
    fields, so they were published as the story's first paragraph (an indented code block)."""
    site = make_site(tmp_path / "site")
    site.write("content/stories/broken.md", _story_text(["  notes: |", "    㐆㐇㐈㐉㐊㐋", "---", "    " + FAMILY]))
    code, err = _main(site.config)
    assert code in (0, 1) and "Traceback" not in err
    assert FAMILY not in err
    if code == 1:
        assert "content/stories/broken.md:" in err
    else:
        found = leaks(written_by_build(site.root), [FAMILY])
        assert not found, found


@pytest.mark.parametrize("field, value", [
    ("title", "9" * 5000),  # longer than Python converts to int: ValueError from the YAML loader
    ("date", "0001-01-01"),  # OverflowError: the SMS digest window reaches before year 1
    # OverflowError in gate.next_change
    ("vetting", {"cleared_by": "市局纪委", "date": "9999-12-31", "ref": "纪审1号"}),
])
def test_extreme_values_are_clear_errors(tmp_path: Path, field: str, value: Any) -> None:
    site = make_site(tmp_path / "site")
    text = _story_text(**{field: value})
    site.write("content/stories/broken.md", text.replace("'", ""))  # unquoted: a number, a date
    code, err = _main(site.config)
    assert code in (0, 1) and "Traceback" not in err
    if code == 1:
        assert "content/stories/broken.md:" in err


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet="ab-/.0123456789梅李", max_size=12),
       st.lists(st.text(alphabet="ab-/.0123456789梅李", max_size=12), max_size=40),
       st.integers(min_value=1, max_value=4), st.sampled_from([0.0, 0.5, 0.6, 0.8, 1.0]))
def test_close_matches_answers_as_difflib_does(word: str, options: list[str], n: int, cutoff: float) -> None:
    """The suggestions of an error message (errors.close_matches, which skips the full comparison
    of options that cannot enter the best n) are difflib's, in its order, ties and repeats included."""
    import difflib

    from exemplar_site.errors import close_matches

    assert close_matches(word, options, n, cutoff) == difflib.get_close_matches(word, options, n, cutoff)
    for bad_n, bad_cutoff in ((0, cutoff), (n, 1.5), (n, -0.1)):
        with pytest.raises(ValueError):
            difflib.get_close_matches(word, options, bad_n, bad_cutoff)
        with pytest.raises(ValueError):
            close_matches(word, options, bad_n, bad_cutoff)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 14)), min_size=1, max_size=15))
def test_series_are_the_chains_of_exemplar_of_walked_from_each_story(links: list[int | None]) -> None:
    """taxonomy._series (each chain walked once) groups as walking exemplar_of from every story to
    its first would: loops, links to stories not published and long chains included."""
    from types import SimpleNamespace

    from exemplar_site.taxonomy import _series

    stories = tuple(SimpleNamespace(id=f"s{i}", exemplar_of=None if to is None else f"s{to}",
                                    date=dt.datetime(2026, 1, 1 + (i * 7) % 28)) for i, to in enumerate(links))
    by_id = {s.id: s for s in stories}

    def walked(sid: str) -> str:
        seen: list[str] = []
        cur = sid
        while cur in by_id and by_id[cur].exemplar_of in by_id and cur not in seen:
            seen.append(cur)
            cur = by_id[cur].exemplar_of
        return cur

    groups: dict[str, list[Any]] = {}
    for s in stories:
        groups.setdefault(walked(s.id), []).append(s)
    expected = {s.id: tuple(sorted(groups[walked(s.id)], key=lambda o: (o.date, o.id)))
                for s in stories if len(groups[walked(s.id)]) > 1}
    assert _series(stories) == expected  # type: ignore[arg-type]


_TZ = dt.timezone(dt.timedelta(hours=8))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(st.sampled_from(["approved", "withdrawn", "draft"]), st.integers(-400, 400),
                          st.one_of(st.none(), st.integers(-1200, 400), st.sampled_from([-1, 0, 1])),
                          st.one_of(st.none(), st.integers(-400, 40)),
                          st.integers(0, 23)), max_size=12),
       st.integers(1, 1100), st.integers(0, 60), st.integers(0, 86_399))
def test_the_next_change_is_the_first_moment_a_verdict_changes(
        stories: list[tuple[str, int, int | None, int | None, int]], valid_days: int, tombstone_days: int,
        second: int) -> None:
    # (a vetting date on today, and on the day whose validity ends today, met often: -1, 0, 1 are
    # taken as days from the end of its validity for odd stories)
    """gate.next_change (the first start and the first expiry of a vetting found by their dates) is
    the earliest of every moment a verdict changes, each made as a datetime: a story's date, a
    vetting dated ahead, the midnight after a vetting's last valid day, a withdrawal's end."""
    from types import SimpleNamespace

    from exemplar_site.gate import next_change, withdrawal_time

    now = dt.datetime(2026, 11, 24, tzinfo=_TZ) + dt.timedelta(seconds=second)
    config = SimpleNamespace(vetting_valid_days=valid_days, feeds=SimpleNamespace(
        tombstone_days=tombstone_days, publish_time=dt.time(12, 0)))
    records = SimpleNamespace(stories=tuple(SimpleNamespace(
        status=status, date=now + dt.timedelta(days=days, hours=hour), untimed=(), updated=None,
        withdrawn_date=None if gone is None else now + dt.timedelta(days=gone),
        vetting=None if vetted is None else SimpleNamespace(date=now.date() + dt.timedelta(
            days=vetted - (valid_days + 1) * (k % 2) if vetted in (-1, 0, 1) else vetted)))
        for k, (status, days, vetted, gone, hour) in enumerate(stories)))
    moments = [dt.datetime.max.replace(tzinfo=now.tzinfo)]
    for r in records.stories:
        if r.status == "withdrawn":
            ends = withdrawal_time(r, config) + dt.timedelta(days=tombstone_days)  # type: ignore[arg-type]
            if ends > now:
                moments.append(ends)
        if r.date > now:
            moments.append(r.date)
        if r.vetting is not None:
            start = dt.datetime(r.vetting.date.year, r.vetting.date.month, r.vetting.date.day, tzinfo=now.tzinfo)
            if start > now:
                moments.append(start)
            day = r.vetting.date + dt.timedelta(days=valid_days + 1)
            expiry = dt.datetime(day.year, day.month, day.day, tzinfo=now.tzinfo)
            if expiry > now:
                moments.append(expiry)
    assert next_change(records, config, now) == min(moments)  # type: ignore[arg-type]
