"""A unit of output work: a path, a key, and how to make the bytes.

The key is a hash of everything the output's bytes depend on; when the
previous build produced the same path with the same key, the file is reused
without rendering. An empty key means "always render" (cheap outputs).

Keys are not lists someone keeps: `fingerprint` hashes every value a page
or feed is made from, whole, so a field a theme template prints is in the
key whether or not anyone thought of it. The one thing a fingerprint leaves
out is the full list of stories behind a listing (`Term.stories`,
`FeedSpec.stories`), which only its length stands for: a page that read
that list records so while it renders (`Output.deps`), and its key then
covers those stories too (`Job.rekey`), as lektor records dependencies.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

from exemplar_site import __version__

from .model import Output
from .versions import installed

# Libraries whose output ends up in cached renderings, slugs, pages or feeds: an upgrade of any
# of them must not let an incremental build reuse what the old version made.
LIBRARIES = ("markdown", "nh3", "jinja2", "markupsafe", "feedgen", "pypinyin", "pyyaml", "lxml", "pillow",
             "pillow-heif")


def library_versions() -> str:
    return installed(LIBRARIES)


def _code_version() -> str:
    """The package version, a hash of its source and the versions of the libraries it renders with:
    any change to either invalidates every cached output."""
    h = hashlib.blake2b(digest_size=8)
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.read_bytes())
    h.update(library_versions().encode("utf-8"))
    h.update(sys.version.encode("utf-8"))  # (unicodedata, html and mimetypes come with Python)
    return f"{__version__}+{h.hexdigest()}"


CODE_VERSION = _code_version()


class Job(NamedTuple):
    """One output file: where it goes, its key (same key, same bytes), and how to make it. (A named
    tuple: a build makes one for each of its ~35,000 files at 10,000 stories, every time, and a
    frozen dataclass's __init__ costs twice as much.)"""

    path: str
    key: str
    make: Callable[[], Output]
    # for outputs whose key depends on what they read while rendering: the key again, given the
    # `Output.deps` of a fresh rendering (the key above used the deps of the previous one)
    rekey: Callable[[tuple[str, ...]], str] | None = None


def fingerprint(value: Any) -> str:
    """A stable hash of a value and everything it holds: its repr. Every value a page receives is
    a string, number, date, None, tuple, list or dict, or a frozen dataclass of those, whose repr
    is complete and stable (dates included); a public story's repr is its digest (which covers its
    file, the config and the gate's verdict), and a term's or feed's stands for its stories by
    their number (see `deep_fingerprint`). (repr is the fast way to walk all of it: this runs for
    every page of every build.)"""
    return text_fingerprint(repr(value))


def text_fingerprint(text: str) -> str:
    """`fingerprint` of a value whose repr is `text`."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def deep_fingerprint(stories: Iterable[Any]) -> str:
    """The full list of stories behind a term or feed, for a page that read it."""
    return hashlib.blake2b("\x1f".join(s.digest for s in stories).encode("utf-8"), digest_size=16).hexdigest()


def key_of(*parts: object) -> str:
    """Hash of the parts' repr: strings, numbers, dates, tuples/lists and frozen dataclasses
    of those, whose repr is stable and complete."""
    return "k:" + hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=16).hexdigest()


def bytes_key(data: bytes) -> str:
    """The key of an output by its bytes (what `ready` and the writer give it)."""
    return "b:" + hashlib.blake2b(data, digest_size=16).hexdigest()


def file_key(path: Path) -> str:
    """The key of an output copied from a file: the file's name, size, times and inode (ctime and
    inode too: a copy "preserving times" still changes them)."""
    st = path.stat()
    return f"f:{path}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def copied_key(o: Output, key: str | None = None) -> str:
    """The key of an output copied from a file: the file's (`key`, when known already), marked when
    the copy is cleared of metadata (a video: its bytes are not the file's)."""
    assert o.source is not None
    return (key if key is not None else file_key(o.source)) + (":cleared" if o.clear else "")


def ready(outputs: Iterable[Output]) -> list[Job]:
    """Jobs for outputs already in memory (cheap ones): keyed by their bytes."""
    out = []
    files: dict[Path, str] = {}  # (one file published under many names, as each story's press copy: one stat)
    for o in outputs:
        if o.data is not None:
            out.append(Job(o.path, bytes_key(o.data), _given(o)))
        else:
            assert o.source is not None
            key = files.get(o.source)
            if key is None:
                key = files[o.source] = file_key(o.source)
            out.append(Job(o.path, copied_key(o, key), _given(o)))
    return out


def _given(o: Output) -> Callable[[], Output]:
    return lambda: o
