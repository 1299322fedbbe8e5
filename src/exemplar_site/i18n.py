"""The message catalogue: every text a user reads goes through `_()` (or `ngettext`).

Message ids are English; the Chinese catalogue (`locale/zh_CN/LC_MESSAGES/exemplar_site.po`,
compiled to `.mo` beside it) is complete, and Chinese is the default. The language is chosen once
per process by the command line (`--lang`, else the environment variable EXEMPLAR_SITE_LANG,
else `language` in site_config.yaml), with `use()`; it is the one process-wide setting, like a
locale, and it is part of the build cache's version so that no cached message outlives it.

Maintainers: after changing a message, run `python tools/catalog.py` (extracts with Babel, updates
the .po files, compiles the .mo files); tests/test_catalog.py fails on a message without Chinese.
"""

from __future__ import annotations

import gettext
import os
import re
from pathlib import Path

DOMAIN = "exemplar_site"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("zh_CN", "en")
DEFAULT = "zh_CN"
ENV = "EXEMPLAR_SITE_LANG"

_state: dict[str, gettext.NullTranslations | str] = {}
_seen: dict[str, str] = {}  # message → its translation in the current language (emptied by `use`)


def normalise(value: str | None) -> str | None:
    """'zh', 'zh-CN', 'zh_cn', '中文' → 'zh_CN'; 'en', 'en-US', 'English' → 'en'; anything else → None."""
    if not value:
        return None
    v = value.strip().lower().replace("-", "_")
    if v in ("zh", "zh_cn", "zh_hans", "zh_hans_cn", "cn", "chinese", "中文", "简体中文"):
        return "zh_CN"
    if re.fullmatch(r"en(_[a-z]+)?|english|英文|英语", v):
        return "en"
    return None


def _load(lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()  # the message ids are the English text
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as f:
        return gettext.GNUTranslations(f)


def use(lang: str | None) -> str:
    """Make `lang` (any spelling `normalise` accepts; None or unknown: Chinese) the language of
    every later message; returns the normalised name."""
    name = normalise(lang) or DEFAULT
    if _state.get("name") != name:
        _state["translations"] = _load(name)
        _state["name"] = name
        _seen.clear()
    return name


def choose(cli: str | None, config_path: str | Path | None = None) -> str:
    """--lang, else $EXEMPLAR_SITE_LANG, else `language:` in the config file (read without
    validating it: its own errors must already be in the right language), else Chinese."""
    for value in (cli, os.environ.get(ENV)):
        if normalise(value):
            return use(value)
    if config_path is not None:
        try:
            text = Path(config_path).read_text(encoding="utf-8-sig", errors="replace")
        except OSError:
            text = ""
        m = re.search(r"^language:\s*['\"]?([A-Za-z_-]+)", text, re.MULTILINE)
        if m and normalise(m.group(1)):
            return use(m.group(1))
    return use(DEFAULT)


def language() -> str:
    if "name" not in _state:
        use(DEFAULT)
    return str(_state["name"])


def _translations() -> gettext.NullTranslations:
    if "translations" not in _state:
        use(DEFAULT)
    t = _state["translations"]
    assert isinstance(t, gettext.NullTranslations)
    return t


def _(message: str) -> str:
    """The message in the chosen language."""
    found = _seen.get(message)
    if found is None:
        found = _seen[message] = _translations().gettext(message)
    return found


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations().ngettext(singular, plural, n)


def every_language(message: str) -> frozenset[str]:
    """The message in every language of the package: for text one run wrote into a file (`new`) that
    a run in another language reads."""
    return frozenset(_load(lang).gettext(message) for lang in LANGUAGES)


def N_(message: str) -> str:
    """Marks a message for the catalogue where it is declared; `_()` translates it where it is shown."""
    return message


def t(message: str, **values: object) -> str:
    """`_(message)` with its {placeholders} filled: t("unknown unit '{value}'", value=v)."""
    text = _translations().gettext(message)
    return text.format(**values) if values else text
