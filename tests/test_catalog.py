"""The message catalogue is complete: every message the code can show has Chinese, the Chinese is
Chinese, the placeholders survive translation, and the compiled catalogue is the one in the .po."""

from __future__ import annotations

import re
from typing import Any

import pytest
from babel.messages.pofile import read_po

from conftest import REPO, load_tool
from exemplar_site import i18n

PO = REPO / "src" / "exemplar_site" / "locale" / "zh_CN" / "LC_MESSAGES" / "exemplar_site.po"


def _tool() -> Any:
    return load_tool("catalog")


@pytest.fixture(scope="module")
def catalog() -> Any:
    with PO.open("rb") as f:
        return read_po(f, locale="zh_CN")


def _strings(message: Any) -> list[str]:
    return [s for s in (message.string if isinstance(message.string, tuple) else (message.string,))]


def test_every_message_in_the_code_has_a_chinese_translation(catalog: Any) -> None:
    extracted = {m.id for m in _tool().template() if m.id}
    translated = {m.id for m in catalog if m.id and all(_strings(m))}
    missing = sorted(str(x) for x in extracted - translated)
    assert not missing, f"{len(missing)} without Chinese (run python tools/catalog.py, translate): {missing[:10]}"


def test_the_compiled_catalogue_is_up_to_date() -> None:
    assert _tool().main(["--check"]) == 0, "run python tools/catalog.py"


_PLACEHOLDER = re.compile(r"\{[a-z_]*(?:[:!][^{}\s]*)?\}|%\([a-z_]+\)[sdr]|%[sdr]")
# three English words in a row, outside placeholders, quotes, paths and code: an untranslated sentence
_ENGLISH = re.compile(r"\b[A-Za-z]{2,}\b(?:[ ,]+\b[A-Za-z]{2,}\b){2,}")


def _without_code(text: str) -> str:
    text = _PLACEHOLDER.sub(" ", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`|“[^”]*”|‘[^’]*’", " ", text)  # quoted: what the user types
    text = re.sub(r"\b(?:e\.g\.|e\. g\.)", " ", text)
    text = re.sub(r"[\w.-]+:\s*[^\s，。；）]*", " ", text)  # 'field: value' examples
    text = re.sub(r"\S*[/\\<>{}\[\]=@|_]\S*", " ", text)  # paths, options, markup
    return text


def test_chinese_messages_are_chinese_with_the_same_placeholders(catalog: Any) -> None:
    bad_placeholders, english = [], []
    for m in catalog:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        for text in _strings(m):
            if not text:
                continue
            if sorted(_PLACEHOLDER.findall(ids[0])) != sorted(_PLACEHOLDER.findall(text)):
                bad_placeholders.append((ids[0], text))
            if _ENGLISH.search(_without_code(text)):
                english.append(text)
    assert not bad_placeholders, bad_placeholders[:5]
    assert not english, f"Chinese messages with an English sentence left in them: {english[:8]}"


def test_chinese_is_the_default_and_english_is_there_on_request() -> None:
    assert i18n.use(None) == "zh_CN"
    assert i18n._("error") == "错误"
    assert i18n.use("en") == "en" and i18n._("error") == "error"
    assert i18n.normalise("zh-CN") == i18n.normalise("中文") == "zh_CN"
    assert i18n.normalise("fr") is None
