"""Extract every user-facing message from the source and update the catalogues.

    python tools/catalog.py          # extract, merge into the .po files, compile the .mo files
    python tools/catalog.py --check  # exit 1 if the .po/.mo files are not up to date (no writing)

Message ids are English (`_("...")`, `N_("...")`, `ngettext("...", "...", n)` in
src/exemplar_site); translators fill the msgstr of locale/zh_CN/LC_MESSAGES/exemplar_site.po,
then run this again to compile. Needs Babel (a test and maintainer dependency, not a run-time one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "exemplar_site"
LOCALE = PACKAGE / "locale"
DOMAIN = "exemplar_site"
LANGS = ("zh_CN",)
FIXED_DATE = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
KEYWORDS = {"_": None, "N_": None, "t": None, "ngettext": (1, 2)}


def template() -> Catalog:
    cat = Catalog(project="exemplar-site", domain=DOMAIN, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
            str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=("TRANSLATORS:",),
            strip_comment_tags=True):
        cat.add(message, None, [(f"src/exemplar_site/{filename}", lineno)], auto_comments=comments,
                context=context)
    return cat


def po_bytes(cat: Catalog) -> bytes:
    buf = io.BytesIO()
    write_po(buf, cat, width=100, omit_header=False, sort_output=False, include_lineno=False)
    return buf.getvalue()


def mo_bytes(cat: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, cat, use_fuzzy=False)
    return buf.getvalue()


def updated(lang: str) -> tuple[Path, Catalog]:
    po_path = LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if po_path.exists():
        with po_path.open("rb") as f:
            cat = read_po(f, locale=lang, domain=DOMAIN)
    else:
        cat = Catalog(locale=lang, domain=DOMAIN, project="exemplar-site")
    cat.update(template(), no_fuzzy_matching=True, update_header_comment=False)
    cat.obsolete.clear()
    cat.revision_date = cat.creation_date = FIXED_DATE  # (the same input gives the same file)
    return po_path, cat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check that the files are up to date")
    args = parser.parse_args(argv)
    stale = []
    for lang in LANGS:
        po_path, cat = updated(lang)
        mo_path = po_path.with_suffix(".mo")
        new_po, new_mo = po_bytes(cat), mo_bytes(cat)
        for path, data in ((po_path, new_po), (mo_path, new_mo)):
            if not path.exists() or path.read_bytes() != data:
                stale.append(path)
                if not args.check:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
        missing = [m.id for m in cat if m.id and not m.string]
        if missing:
            print(f"{lang}: {len(missing)} message(s) without a translation", file=sys.stderr)
    if args.check and stale:
        print("out of date: " + ", ".join(str(p) for p in stale) + "; run python tools/catalog.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
