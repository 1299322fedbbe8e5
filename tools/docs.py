"""Write the option and field tables of the user docs from their declarations (schema.py).

    python tools/docs.py          # rewrite the tables in docs/configuration.md and docs/content-format.md
    python tools/docs.py --check  # exit 1 if a table differs from what the declarations give

Each table stands between `<!-- generated: NAME -->` and `<!-- end: NAME -->`; the text around
it is written by hand. The Chinese column comes from the zh_CN catalogue.
"""

from __future__ import annotations

import argparse
import gettext
import re
import sys
from collections.abc import Callable
from pathlib import Path

from exemplar_site import i18n, schema

DOCS = Path(__file__).resolve().parents[1] / "docs"


def chinese() -> dict[str, str]:
    with open(i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo", "rb") as f:
        catalog = gettext.GNUTranslations(f)
    return _Lookup(catalog.gettext)


class _Lookup(dict[str, str]):
    def __init__(self, translate: Callable[[str], str]):
        super().__init__()
        self.translate = translate

    def get(self, key: str, default: str | None = None) -> str:  # type: ignore[override]
        return self.translate(key)


def tables() -> dict[tuple[str, str], str]:
    zh = chinese()
    return {
        ("configuration.md", "options"): schema.options_table(schema.SITE_OPTIONS, zh),
        ("configuration.md", "feeds"): schema.options_table(schema.FEED_OPTIONS, zh),
        ("configuration.md", "sms"): schema.options_table(schema.SMS_OPTIONS, zh),
        ("configuration.md", "deploy"): schema.options_table(schema.DEPLOY_OPTIONS, zh),
        ("configuration.md", "editions"): schema.options_table(schema.EDITION_OPTIONS, zh),
        ("configuration.md", "images"): schema.options_table(schema.IMAGE_OPTIONS, zh),
        ("content-format.md", "story"): schema.fields_table(schema.STORY, zh),
        ("content-format.md", "page"): schema.fields_table(schema.PAGE, zh),
        ("content-format.md", "campaign"): schema.fields_table(schema.CAMPAIGN, zh),
    }


def rewritten(doc: str, name: str, table: str) -> str:
    pattern = re.compile(rf"(<!-- generated: {name} -->\n)(?:.*?\n)?(<!-- end: {name} -->)", re.DOTALL)
    if not pattern.search(doc):
        raise SystemExit(f"no '<!-- generated: {name} -->' … '<!-- end: {name} -->' block")
    return pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), doc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write the docs' option and field tables")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    docs: dict[str, str] = {}
    for (file, name), table in tables().items():
        docs[file] = rewritten(docs.get(file) or (DOCS / file).read_text(encoding="utf-8"), name, table)
    stale = [f for f, text in docs.items() if (DOCS / f).read_text(encoding="utf-8") != text]
    if args.check:
        if stale:
            print("out of date: " + ", ".join(stale) + "; run python tools/docs.py", file=sys.stderr)
        return 1 if stale else 0
    for f in stale:
        (DOCS / f).write_text(docs[f], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
