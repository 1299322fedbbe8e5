"""YAML loading that remembers the line of every key.

Uses libyaml's C parser when present (7x faster on front matter). Mappings
come back as `LineDict`, a dict that also knows the 1-based line of each key,
so every later error can name the line an author has to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

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
    pass


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
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain word, not a list or mapping", key_node.start_mark) from None
        value = loader.construct_object(value_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in mapping:
            mapping.duplicates.append((key, line))
        mapping[key] = value
        mapping.lines[key] = line
    return mapping


def _construct_object(loader: Any, node: yaml.Node, deep: bool = False) -> Any:
    """Every node is built once: a second visit is an alias (`*name`), refused, since a few
    hundred bytes of anchors and aliases can expand to gigabytes."""
    if node in loader.constructed_objects or node in loader.recursive_objects:
        raise yaml.constructor.ConstructorError(
            None, None, "anchors and aliases ('&name' and '*name') are not allowed here", node.start_mark)
    try:
        return yaml.constructor.BaseConstructor.construct_object(loader, node, deep)
    except (ValueError, OverflowError) as exc:  # e.g. a 5,000-digit number
        if isinstance(exc, yaml.YAMLError):
            raise
        raise yaml.constructor.ConstructorError(
            None, None, "this value cannot be read (a number far too long, or a value of an unknown kind)",
            node.start_mark) from None


def _construct_timestamp(loader: Any, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, "this date does not exist (no such day in the calendar)",
            node.start_mark) from None


_LineLoader.construct_object = _construct_object
_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


@dataclass(frozen=True)
class YamlError:
    line: int | None
    message: str


def load(text: str, first_line: int = 1) -> tuple[Any, YamlError | None]:
    """Parse YAML text; `first_line` is the file line the text starts on."""
    try:
        return yaml.load(text, Loader=_LineLoader), None  # _LineLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark is not None else None
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{exc.context}, {problem}"
        return None, YamlError(line, _explain(problem))
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        return None, YamlError(None, _explain(str(exc)))
    except RecursionError:
        return None, YamlError(first_line + 1, "the fields are nested far too deeply (lists in lists in lists…)")


def _explain(problem: str) -> str:
    hint = ""
    if "mapping values are not allowed" in problem:
        hint = (" (a value containing ': ' must be quoted, e.g. title: \"标题：副标题\";"
                " note that Chinese full-width '：' is fine)")
    elif "could not find expected ':'" in problem:
        hint = " (a line has no ':' after its field name, or the field name is far too long)"
    elif "found character '\\t'" in problem or "tab" in problem or "cannot start any token" in problem:
        hint = " (perhaps a tab: indent with spaces, not tabs)"
    return f"broken YAML: {problem}{hint}"
