"""The installed versions of libraries, for the keys of what they made (jobs.CODE_VERSION,
images.settings_key): found where importlib.metadata finds them, without importing it (its
import and search cost ~40 ms at the start of every build, a quarter of one with nothing to do)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable

# the metadata of an entry of a sys.path folder or zip (by its name) as text, "" if it has none
Read = Callable[[str], str]


def installed(names: tuple[str, ...]) -> str:
    """"name=version" of each library: the Version of the first `<name>-<version>.dist-info` (or
    `.egg-info`, or an `.egg`'s EGG-INFO) on sys.path, in the order of sys.path and of each
    folder's listing, as importlib.metadata.version gives it; "-" for one not installed."""
    wanted = {_normal(n): n for n in names}
    legacy = {n.lower().replace("-", "_"): _normal(n) for n in names}  # (how an .egg's name is compared)
    found: dict[str, str] = {}
    for entry in sys.path:
        if len(found) == len(wanted):
            break
        listed, read = _listing(entry or ".")
        egg = os.path.basename(entry).lower()
        egg_info = False
        for name in listed:
            low = name.lower()
            if low.endswith((".dist-info", ".egg-info")):
                key = _normal(low.rpartition(".")[0].partition("-")[0])
                if key in wanted and key not in found:  # (the first found is the one, whatever it says)
                    found[key] = str(_version(read(name)))
            elif low == "egg-info" and egg.endswith(".egg"):
                egg_info = True
        if egg_info:  # an .egg folder or zip (setup.py install, buildout): its EGG-INFO, after the rest
            egg_key = legacy.get(egg.rpartition(".")[0].partition("-")[0].replace("-", "_"))
            if egg_key is not None and egg_key not in found:
                found[egg_key] = str(_version(read("EGG-INFO")))
    return ",".join(f"{name}={found.get(key, '-')}" for key, name in wanted.items())


def _normal(name: str) -> str:
    """A distribution's name as importlib.metadata compares them (PEP 503, with underscores)."""
    return re.sub(r"[-_.]+", "_", name).lower()


# the lines of metadata as the email parser splits them (with their ends), and what starts a line
# of its headers (email.feedparser's headerRE: a name and a colon, or a folded line's space)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
_HEADER_LINE = re.compile(r"From |[\041-\071\073-\176]*:|[\t ]")


def _version(text: str) -> str | None:
    """The first Version header of metadata as the email parser that importlib.metadata uses
    reads it: the headers end at the first line that is not one (an empty line, say); a name in
    any case; the value without the spaces after the colon, folded lines kept, the line end not."""
    lines = [m.group() for m in _LINE.finditer(text) if m.group()]
    value: list[str] | None = None
    for k, line in enumerate(lines):
        if k == 0 and line.startswith("From "):
            continue  # (a Unix "From " line: not a header)
        if not _HEADER_LINE.match(line):
            break
        if line[0] in " \t":
            if value is not None:
                value.append(line)
            continue
        if value is not None:
            break  # (the Version header has ended)
        name, colon, rest = line.partition(":")
        if colon and name.lower() == "version":
            value = [rest.lstrip(" \t")]
    if value is None:
        return None
    text = "".join(value).rstrip("\r\n")
    if "\n" in text:  # (importlib.metadata's own repair of a folded value, _adapters.Message)
        import textwrap
        text = textwrap.dedent(" " * 8 + text)
    return text


# where importlib.metadata looks for the text of a distribution's metadata, in its order (an
# egg-info may be the file itself)
_FILES = ("METADATA", "PKG-INFO", "")


def _listing(entry: str) -> tuple[list[str], Read]:
    """The names at the top of a sys.path entry — a folder, or a zip file (a Windows embedded
    Python's stdlib, say) — and how to read a metadata file of one of them (an egg-info may be
    the file itself)."""
    try:
        names = os.listdir(entry)
    except OSError:  # (a file: importlib.metadata reads it as a zip; nothing else can be read there)
        return _zip_listing(entry) if os.path.isfile(entry) else ([], lambda name: "")

    def read(name: str) -> str:
        for file in _FILES:
            try:
                with open(os.path.join(entry, name, file) if file else os.path.join(entry, name),
                          encoding="utf-8", errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            if text:
                return text
        return ""
    return names, read


def _zip_listing(entry: str) -> tuple[list[str], Read]:
    import zipfile
    try:
        archive = zipfile.ZipFile(entry)
    except (OSError, zipfile.BadZipFile):
        return [], lambda name: ""

    def read(name: str) -> str:
        for file in _FILES[:2]:  # (an egg-info file in a zip is not read as metadata by importlib.metadata)
            try:
                text = archive.read(f"{name}/{file}").decode("utf-8", "replace")
            except KeyError:
                continue
            if text:
                return text
        return ""
    return list(dict.fromkeys(n.split("/")[0] for n in archive.namelist())), read
