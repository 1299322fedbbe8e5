"""YAML loading that remembers the line of every key.

Uses libyaml's C parser when present (7x faster on front matter). Mappings
come back as `LineDict`, a dict that also knows the 1-based line of each key,
so every later error can name the line an author has to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from .i18n import N_, _, t

try:
    _Base: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Base = yaml.SafeLoader


class LineDict(dict):  # type: ignore[type-arg]
    """A mapping from YAML that knows where each key stood."""

    line: int = 0
    lines: dict[Any, int]
    duplicates: list[tuple[Any, int]]

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


class _LineLoader(_Base):  # type: ignore[misc]  # a base class chosen at run time: mypy cannot type it
    depth = 0  # lists and mappings being built, one inside the other (_construct_object)


# Front matter is a few levels deep (vetting:, private:, honors: lists of mappings). Deeper values
# are refused at the line of the first one too deep, the same however deep the caller's own stack is
# (Python's recursion limit used to decide, a few hundred levels in); libyaml stops at 1,000.
MAX_DEPTH = 64
_TOO_DEEP = N_("the fields are nested far too deeply (lists in lists in lists…)")


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    mapping = LineDict()
    mapping.line = node.start_mark.line + 1
    mapping.lines = {}
    mapping.duplicates = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise _Refused(
                None, None, _("a field name must be a plain word, not a list or mapping"),
                key_node.start_mark) from None
        value = loader.construct_object(value_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in mapping:
            mapping.duplicates.append((key, line))
        mapping[key] = value
        mapping.lines[key] = line
    return mapping


_STR = "tag:yaml.org,2002:str"


def _construct_object(loader: Any, node: yaml.Node, deep: bool = False) -> Any:
    """Every node is built once: a second visit is an alias (`*name`), refused, since a few
    hundred bytes of anchors and aliases can expand to gigabytes."""
    if node in loader.constructed_objects or node in loader.recursive_objects:
        raise _Refused(
            None, None, _("a value starts with & or *, which YAML reads as a reference; put the value in "
                          "quotation marks"), node.start_mark)
    if node.tag == _STR and type(node) is yaml.ScalarNode:
        # (most values: what the constructor makes of one, without its Python-level steps; recorded
        # as it records what it makes, so that a second visit is refused above)
        value = loader.constructed_objects[node] = node.value
        return value
    collection = type(node) is not yaml.ScalarNode
    if collection and loader.depth >= MAX_DEPTH:  # (before Python's recursion limit decides, wherever called from)
        raise _Refused(None, None, _(_TOO_DEEP), node.start_mark)
    loader.depth += collection
    try:
        return yaml.constructor.BaseConstructor.construct_object(loader, node, deep)
    except (ValueError, OverflowError) as exc:  # e.g. a 5,000-digit number
        if isinstance(exc, yaml.YAMLError):
            raise
        raise _Refused(
            None, None, _("this value cannot be read (a number far too long, or a value of an unknown kind); "
                          "put it in quotation marks"),
            node.start_mark) from None
    finally:
        loader.depth -= collection


def _construct_timestamp(loader: Any, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:
        # no such day (2026-02-30): kept as text, so that the field's own check says so at its line
        return loader.construct_scalar(node)


_LineLoader.construct_object = _construct_object
_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


class _Refused(yaml.constructor.ConstructorError):
    """A value this loader refuses on purpose (its message is for people already)."""


@dataclass(frozen=True)
class YamlError:  # (a problem to report: its line, and words for people)
    line: int | None
    message: str


def load(text: str, first_line: int = 1) -> tuple[Any, YamlError | None]:
    """Parse YAML text; `first_line` is the file line the text starts on."""
    try:
        return yaml.load(text, Loader=_LineLoader), None  # _LineLoader is a SafeLoader
    except _Refused as exc:  # our own refusals already say what to do
        mark = exc.problem_mark
        return None, YamlError(mark.line + first_line if mark is not None else None, exc.problem or "")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        context = exc.context or ""
        if exc.context_mark is not None and ("quoted scalar" in context or "flow" in context):
            # an unclosed quote or bracket: the reader should look where it was opened, not where
            # the parser gave up (often many lines later)
            mark = exc.context_mark
        line = mark.line + first_line if mark is not None else None
        if mark is not None:
            found = _full_width_after_key(text, mark.line)
            if found is not None:
                return None, YamlError(found[0] + first_line, found[1])
        return None, YamlError(line, _explain(context, exc.problem or ""))
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        return None, YamlError(None, _explain("", str(exc)))
    except RecursionError:  # (not from a document: MAX_DEPTH stops those first; a caller already very deep)
        return None, YamlError(first_line + 1, _(_TOO_DEEP))


# a field name followed by a full-width colon (name：王建国), or by ':' and a full-width or no-break
# space (field:　shequ): YAML reads neither as "field: value", and says so at the line after
_FULL_WIDTH_COLON = re.compile(r"[ \t]*(?:-[ \t]+)?([A-Za-z_][A-Za-z0-9_-]*)[ \t\u3000]*：")
_FULL_WIDTH_SPACE = re.compile(r"[ \t]*(?:-[ \t]+)?([A-Za-z_][A-Za-z0-9_-]*):[\u3000\u00a0]")


def _full_width_after_key(text: str, error_line: int) -> tuple[int, str] | None:
    """(line, message) for the line at or just above where YAML gave up (0-based) whose field name
    is followed by a full-width colon or space, the commonest slip of a Chinese keyboard; None if
    neither is there."""
    lines = text.split("\n")
    above = error_line - 1
    while 0 < above < len(lines) and not lines[above].strip():  # (blank lines between: YAML read past them)
        above -= 1
    for n in (above, error_line):
        if not 0 <= n < len(lines):
            continue
        m = _FULL_WIDTH_COLON.match(lines[n])
        if m:
            # TRANSLATORS: 原文：项名 {field} 后面是中文冒号“：”；改成英文冒号加一个空格，如 {field}: 值
            return n, t("the field name {field} is followed by a full-width colon '：'; write an English colon and a "
                        "space instead, e.g. {field}: value", field=m.group(1))
        m = _FULL_WIDTH_SPACE.match(lines[n])
        if m:
            # TRANSLATORS: 原文：项名 {field} 的冒号后面是全角空格；改成一个普通（半角）空格，如 {field}: 值
            return n, t("the colon after the field name {field} is followed by a full-width space; write an "
                        "ordinary space instead, e.g. {field}: value", field=m.group(1))
    return None


def _explain(context: str, problem: str) -> str:
    """PyYAML's English diagnosis → what a writer can do about it."""
    both = f"{context} {problem}"
    if "maximum nesting depth" in problem:  # (libyaml's own limit: brackets or indentation 1,000 deep)
        return _(_TOO_DEEP)
    if "quoted scalar" in context:
        text = _("a quotation mark opened on this line is never closed")
        hint = _('close it on the same line, e.g. title: "标题"; or leave out the quotation marks')
    elif "flow" in context or "flow" in problem:
        text = _("a bracket [ or { opened on this line is never closed, or a comma is missing")
        hint = _("e.g. tags: [见义勇为, 社区警务]; write full-width brackets （） and 【】 only inside text")
    elif "mapping values are not allowed" in both:
        text = _("this line has a second ': ' after the field name")
        hint = _('put the value in quotation marks, e.g. title: "标题：副标题" (a full-width ： is fine as it is)')
    elif "could not find expected ':'" in both:
        text = _("a line has no ':' after its field name")
        hint = _("every line is 'field: value'; text of the story goes below the closing ---")
    elif "\\t" in both or "tab" in both or "cannot start any token" in both:
        text = _("a tab or a character that cannot start a value")
        hint = _("indent with spaces, not tabs; put a value starting with @ or ` in quotation marks")
    elif "expected <block end>" in both or "did not find expected key" in both or "block mapping" in both:
        text = _("the indentation of this line does not match the lines above")
        hint = _("fields inside vetting:, private: and lists are indented with the same number of spaces")
    elif "found duplicate anchor" in both or "alias" in both or "anchor" in both:
        text = _("a value starts with & or *, which YAML reads as a reference")
        hint = _("put the value in quotation marks")
    else:  # (PyYAML's own words, in English, only where we have none better)
        text = _("the front matter cannot be read") + f" ({both.strip() or 'YAML'})"
        hint = _("check this line and the one above it: quotation marks, brackets, ': ' and indentation")
    return _("{what}; {hint}").format(what=text, hint=hint)
