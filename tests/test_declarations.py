"""Each option and front-matter field is declared once in the code (config._OPTIONS and its
sections, records.STORY_FIELDS / PAGE_FIELDS / CAMPAIGN_FIELDS); the user documentation and the
`new` templates are checked against those declarations, so none of them can drift."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from conftest import REPO, make_site
from exemplar_site import config as config_module
from exemplar_site import records, scaffold
from exemplar_site.config import load_config

CONFIG_DOC = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
CONTENT_DOC = (REPO / "docs" / "content-format.md").read_text(encoding="utf-8")


def _section(doc: str, heading: str) -> str:
    start = doc.index(heading)
    end = doc.find("\n## ", start + len(heading))
    return doc[start:end if end != -1 else len(doc)]


def _keys_in_yaml(text: str) -> set[str]:
    """Keys written (or commented out) at the start of a YAML line, at any indentation."""
    return set(re.findall(r"^\s*(?:#\s*)?([a-z_]+):", text, re.MULTILINE))


def test_every_config_option_is_documented_with_its_default() -> None:
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|", CONFIG_DOC, re.MULTILINE))
    assert set(rows) == set(config_module._OPTIONS), "docs/configuration.md table vs config._OPTIONS"
    for name, (default, _) in config_module._OPTIONS.items():
        shown = rows[name].strip().strip("`")
        if default is None and name != "quotas":  # (quotas: None means the built-in targets)
            assert shown == "required", name
        elif isinstance(default, (int, str)) and not isinstance(default, bool):
            assert shown == (str(default) if default != "" else '""'), (name, shown, default)


@pytest.mark.parametrize("heading, options", [("## Feeds", config_module._FEED_OPTIONS),
                                              ("## SMS", config_module._SMS_OPTIONS)])
def test_every_section_option_is_documented(heading: str, options: dict[str, object]) -> None:
    documented = _keys_in_yaml(_section(CONFIG_DOC, heading)) - {heading.strip("# ").lower()}
    assert documented == set(options), heading


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
