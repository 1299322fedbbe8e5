"""portable.name_problem and path_problem: the one-search shortcut for ordinary names and paths
never lets a bad name through."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from exemplar_site import portable


def _bad_name(name: str) -> bool:
    """Windows' rules written out plainly (no shortcut): a refused character, a trailing dot or
    space, a reserved device name before the first dot (any case, spaces around it)."""
    return any(c in '<>:"|?*\\' or ord(c) < 32 for c in name) or name.endswith((".", " ")) \
        or name.split(".", 1)[0].strip().lower() in portable.RESERVED


def _name_by_name(relative: str) -> bool:
    """Is any name of the path bad, or the path too long?"""
    return any(_bad_name(part) for part in relative.split("/")) or len(relative) > portable.MAX_RELATIVE


@pytest.mark.parametrize("path", ["con", "a/CON.txt", "x/ nul", "stories/com¹.md", "conin$", "LPT3/a.md", "a/b.",
                                  "a /b", "a/b:c.md", "a/b\tc.md", "images/aux.png", "a/" + "长" * 181,
                                  "a/CONOUT$.txt", "\u3000conin$ .md", "x/COM²/a.md", "lpt³", "Nul .txt/a"])
def test_bad_paths_are_refused(path: str) -> None:
    assert portable.path_problem(path) is not None


@pytest.mark.parametrize("path", ["content/stories/2024/bm-04000.md", "content/images/con-x.png", "comics/a.md",
                                  "images/console.png", "stories/王芳：派出所.md".replace("：", "-"),
                                  "contact/a.md", "com/lpt.md", "a/con x.md", "auxiliary.png", "com10.md"])
def test_ordinary_paths_pass(path: str) -> None:
    assert portable.path_problem(path) is None


@pytest.mark.parametrize(("check", "rules", "chars", "longest"), [
    (portable.path_problem, _name_by_name, "aBcoCONnprulxtmiPRAUXLT1¹$./ :\t\x01中\u3000\u00a0-_", 14),  # paths
    (portable.name_problem, _bad_name, "aBcoCONnprulxtmiPRAUXLT1¹²$. :\t\x1f中\u3000-_", 9),  # single names
])
def test_the_shortcut_agrees_with_the_rules(check: Callable[[str], str | None], rules: Callable[[str], bool],
                                            chars: str, longest: int) -> None:
    rng = random.Random(20261129)
    for _ in range(60_000):
        text = "".join(rng.choice(chars) for _ in range(rng.randint(0, longest)))
        assert (check(text) is not None) == rules(text), repr(text)


def test_the_search_of_many_paths_agrees_with_each_path_alone() -> None:
    """path_problems' one search over the joined paths finds what path_problem finds path by path."""
    rng = random.Random(20261130)
    chars = "aBcoCONnprulxtmiPRAUXLT1¹²$./ :\t中\u3000-_"
    for _ in range(3_000):
        paths = ["".join(rng.choice(chars) for _ in range(rng.randint(1, 12))) for _ in range(rng.randint(1, 6))]
        paths = [p.strip("/") or "a" for p in paths]
        expected = [(p, why) for p in paths if (why := portable.path_problem(p)) is not None]
        assert portable.path_problems(paths) == expected, paths
    assert portable.path_problems(["a/b.md", "x" * (portable.MAX_RELATIVE + 1)])[0][0] == "x" * 181


def test_the_search_of_many_names_agrees_with_each_name_alone() -> None:
    """names_fine's one search over the joined names says "fine" only when name_problem has nothing
    to say of any of them (records.check_across then skips the names one by one)."""
    rng = random.Random(20261203)
    chars = "aBcoCONnprulxtmiPRAUXLT1¹²$. :\t\x1f中\u3000-_/"
    fine_seen = refused_seen = 0
    for _ in range(20_000):
        names = ["".join(rng.choice(chars) for _ in range(rng.randint(0, 9))) for _ in range(rng.randint(1, 5))]
        each_fine = all(portable.name_problem(n) is None for n in names)
        if portable.names_fine(names):
            assert each_fine, names
            fine_seen += 1
        refused_seen += not each_fine
    assert fine_seen > 1000 and refused_seen > 1000
    assert portable.names_fine(["jc-2026-001.txt", "zhang-san"]) and not portable.names_fine(["a.txt", "con"])


def test_a_name_folded_as_windows_compares_names() -> None:
    """fold's shortcut for ASCII names gives what NFC and casefold give, for every ASCII character
    among others; and names beyond ASCII are folded in full (ß, a composed accent, Kelvin's K)."""
    import unicodedata

    rng = random.Random(26)
    ascii_chars = [chr(c) for c in range(128)]
    for _ in range(5_000):
        name = "".join(rng.choice(ascii_chars) for _ in range(rng.randint(0, 10)))
        assert portable.fold(name) == unicodedata.normalize("NFC", name).casefold(), repr(name)
    assert portable.fold("Straße") == portable.fold("STRASSE") == "strasse"
    assert portable.fold("e\u0301") == portable.fold("\u00c9") and portable.fold("\u212a") == "k"
