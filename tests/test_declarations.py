"""Each option and front-matter field is declared once (schema.py); the checks of simple values,
the user documentation's tables and the `new` templates come from those declarations, and these
tests hold them together."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, load_tool, make_site
from exemplar_site import config as config_module
from exemplar_site import records, scaffold, schema
from exemplar_site.config import load_config
from exemplar_site.errors import BuildFailed

CONFIG_DOC = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
CONTENT_DOC = (REPO / "docs" / "content-format.md").read_text(encoding="utf-8")


def _section(doc: str, heading: str) -> str:
    start = doc.index(heading)
    end = doc.find("\n## ", start + len(heading))
    return doc[start:end if end != -1 else len(doc)]


def _keys_in_yaml(text: str) -> set[str]:
    """Keys written (or commented out) at the start of a YAML line, at any indentation."""
    return set(re.findall(r"^\s*(?:#\s*)?([a-z_]+):", text, re.MULTILINE))


def _docs_tool() -> Any:
    return load_tool("docs")


def test_the_docs_tables_are_the_declarations() -> None:
    """docs/configuration.md and docs/content-format.md show exactly what schema.py declares
    (`python tools/docs.py` rewrites them)."""
    tool = _docs_tool()
    for (file, name), table in tool.tables().items():
        doc = (REPO / "docs" / file).read_text(encoding="utf-8")
        assert tool.rewritten(doc, name, table) == doc, f"docs/{file} table '{name}': run python tools/docs.py"
    assert set(re.findall(r"^\| `([a-z_]+)` \|", _section(CONFIG_DOC, "# site_config.yaml"), re.MULTILINE)) \
        == set(config_module._OPTIONS)


def test_every_option_is_checked_by_its_declaration(tmp_path: Path) -> None:
    """A wrong value of each simple option is refused with the declaration's words, at its line."""
    for option in schema.SITE_OPTIONS:
        if option.kind not in ("int", "bool", "choice"):
            continue
        site = make_site(tmp_path / option.name, config={option.name: "不是这个"})
        with pytest.raises(BuildFailed) as info:
            load_config(site.config)
        (p,) = [p for p in info.value.problems if p.field == option.name]
        assert p.line and "不是这个" in site.config.read_text(encoding="utf-8").splitlines()[p.line - 1]
        assert p.accepted == option.accepted()


def test_every_story_field_is_in_the_docs_example_and_the_new_template(tmp_path: Path) -> None:
    example = _section(CONTENT_DOC, "## A full story")
    front = example.split("---")[1]
    top_level = set(re.findall(r"^#?\s?([a-z_]+):", front, re.MULTILINE))
    assert top_level == set(records.STORY_FIELDS), "docs/content-format.md example vs records.STORY_FIELDS"
    site = make_site(tmp_path / "s")
    template = scaffold.story_text(load_config(site.config), "标题", "x-2026-001", "biao-ti", dt.date(2026, 1, 1))
    front = template.split("---")[1]
    assert set(re.findall(r"^#?\s?([a-z_]+):", front, re.MULTILINE)) == set(records.STORY_FIELDS)
    assert set(records.VETTING_FIELDS) <= _keys_in_yaml(front)


def test_every_page_and_campaign_field_is_in_the_new_templates() -> None:
    page = scaffold.page_text("关于", "about").split("---")[1]
    assert set(re.findall(r"^#?\s?([a-z_]+):", page, re.MULTILINE)) == set(records.PAGE_FIELDS)
    campaign = scaffold.campaign_text("活动", "huo-dong", dt.date(2026, 1, 1)).split("---")[1]
    assert set(re.findall(r"^#?\s?([a-z_]+):", campaign, re.MULTILINE)) == set(records.CAMPAIGN_FIELDS)
    documented = _keys_in_yaml(_section(CONTENT_DOC, "## Campaigns"))
    assert set(records.CAMPAIGN_FIELDS) - {"slug"} <= documented


@pytest.mark.parametrize("value", [None, {}])
def test_a_required_option_left_empty_is_refused_at_its_line(tmp_path: Path, value: object) -> None:
    site = make_site(tmp_path / "s", units=value)
    with pytest.raises(BuildFailed) as info:
        load_config(site.config)
    (p,) = [p for p in info.value.problems if p.field == "units"]
    assert p.line and site.config.read_text(encoding="utf-8").splitlines()[p.line - 1].startswith("units:")
