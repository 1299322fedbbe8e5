"""A unit of output work: a path, a key, and how to make the bytes.

The key is a hash of everything the output's bytes depend on; when the
previous build produced the same path with the same key, the file is reused
without rendering. An empty key means "always render" (cheap outputs).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from exemplar_site import __version__
from .model import Output

def _code_version() -> str:
    """The package version plus a hash of its source: any code change invalidates every cached output."""
    h = hashlib.blake2b(digest_size=8)
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.read_bytes())
    return f"{__version__}+{h.hexdigest()}"


CODE_VERSION = _code_version()


@dataclass(frozen=True)
class Job:
    path: str
    key: str
    make: Callable[[], Output]


def key_of(*parts: object) -> str:
    """Hash of the parts' repr: strings, numbers, dates, tuples/lists and frozen dataclasses
    of those, whose repr is stable and complete."""
    return "k:" + hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=16).hexdigest()


def ready(outputs: Iterable[Output]) -> list[Job]:
    """Jobs for outputs already in memory (cheap ones): keyed by their bytes."""
    out = []
    for o in outputs:
        if o.data is not None:
            data = o.data
            out.append(Job(o.path, "b:" + hashlib.blake2b(data, digest_size=16).hexdigest(), lambda o=o: o))
        else:
            assert o.source is not None
            st = o.source.stat()  # ctime and inode too: a copy "preserving times" still changes them
            out.append(Job(o.path, f"f:{o.source}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}",
                           lambda o=o: o))
    return out
