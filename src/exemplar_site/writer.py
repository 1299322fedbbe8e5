"""[Output] → the output folder, all or nothing.

The new site is assembled in a staging folder beside the target
(`.<name>.staging`): a file whose bytes did not change is hard-linked from
the current output (so its mtime, and nginx's ETag, stay the same), the rest
are written. Only when every file is in place is the staging folder swapped
with the target, atomically where the OS allows (Linux renameat2
RENAME_EXCHANGE). If anything fails before the swap, the staging folder is
removed and the target is untouched.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import filecmp
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildFailed, Problem
from .model import Output

PUBLIC = "public"
INTERNAL = "internal"
MARKER = ".exemplar-site"
INTERNAL_MARKER = ".exemplar-internal"
_MARKERS = {PUBLIC: MARKER, INTERNAL: INTERNAL_MARKER}
_MARKER_TEXT = {
    PUBLIC: b"This folder is written by exemplar-site; every build replaces its contents.\n",
    INTERNAL: "INTERNAL REPORTS (内部资料): never publish this folder. Written by exemplar-site.\n".encode(),
}


@dataclass(frozen=True)
class WriteReport:
    written: int  # new or changed files
    unchanged: int
    removed: int  # files of the previous output no longer produced


def check_outputs(outputs: list[Output]) -> list[Problem]:
    """Two outputs for one path, or a path escaping the folder, is a bug to report, not to overwrite."""
    problems = []
    seen: set[str] = set()
    for o in outputs:
        parts = o.path.split("/")
        if o.path.startswith("/") or ".." in parts or "" in parts[:-1] or not o.path:
            problems.append(Problem(o.path, None, None, "refusing to write outside the output folder"))
        if o.path in seen:
            problems.append(Problem(o.path, None, None, "two outputs want this path (path collision)",
                                    "different slugs for the pages involved"))
        seen.add(o.path)
    return problems


def staging_dir(target: Path) -> Path:
    return target.parent / f".{target.name}.staging"


def write_site(outputs: list[Output], target: Path, kind: str = PUBLIC) -> WriteReport:
    """Write a public site (or, with kind=INTERNAL, the internal reports) into `target`."""
    problems = check_outputs(outputs)
    marker = _MARKERS[kind]
    other = _MARKERS[INTERNAL if kind == PUBLIC else PUBLIC]
    target = target.resolve() if target.exists() else target.absolute()
    if target.exists() and not target.is_dir():
        problems.append(Problem(str(target), None, None, "the output path exists and is not a folder"))
    elif (target / other).exists():
        problems.append(Problem(str(target), None, None,
                                "this folder holds internal reports (内部资料)" if kind == PUBLIC
                                else "this folder holds the public site",
                                "keep the public site and the internal reports in separate folders"))
    elif target.is_dir() and any(target.iterdir()) and not (target / marker).exists():
        problems.append(Problem(str(target), None, None,
                                "the output folder is not empty and was not made by this tool; refusing to replace it",
                                "an empty or new folder, e.g. --output public"))
    if problems:
        raise BuildFailed(problems)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_dir(target)
    if staging.exists():
        shutil.rmtree(staging)  # left by an interrupted build
    written = unchanged = 0
    try:
        staging.mkdir()
        made: set[str] = set()
        for o in sorted(outputs, key=lambda o: o.path):
            dest = staging / o.path
            parent = o.path.rpartition("/")[0]
            if parent and parent not in made:
                dest.parent.mkdir(parents=True, exist_ok=True)
                made.add(parent)
            old = target / o.path
            if _same(o, old):
                os.link(old, dest)
                unchanged += 1
            elif o.data is not None:
                dest.write_bytes(o.data)
                written += 1
            else:
                assert o.source is not None
                shutil.copy2(o.source, dest)
                written += 1
        (staging / marker).write_bytes(_MARKER_TEXT[kind])
        produced = {o.path for o in outputs} | {marker}
        removed = _count_stale(target, produced)
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)  # the previous output, after the swap
    return WriteReport(written, unchanged, removed)


def _same(o: Output, old: Path) -> bool:
    try:
        st = old.stat()
    except OSError:
        return False
    if o.data is not None:
        if st.st_size != len(o.data):
            return False
        return old.read_bytes() == o.data
    assert o.source is not None
    return filecmp.cmp(o.source, old, shallow=False)


def _count_stale(target: Path, produced: set[str]) -> int:
    if not target.is_dir():
        return 0
    n = 0
    for root, _dirs, files in os.walk(target):
        rel = os.path.relpath(root, target)
        for f in files:
            path = f if rel == "." else f"{rel}/{f}".replace(os.sep, "/")
            if path not in produced:
                n += 1
    return n


_RENAME_EXCHANGE = 2
_libc = None


def _swap(staging: Path, target: Path) -> None:
    """Put staging in target's place; afterwards the old target is at staging."""
    if not target.exists():
        os.rename(staging, target)
        staging.mkdir()  # so the caller's cleanup has something to remove
        return
    if _exchange(staging, target):
        return
    old = target.parent / f".{target.name}.old"
    if old.exists():
        shutil.rmtree(old)
    os.rename(target, old)
    os.rename(staging, target)
    os.rename(old, staging)


def _exchange(a: Path, b: Path) -> bool:
    global _libc
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return False
    try:
        if _libc is None:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = _libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), _RENAME_EXCHANGE)
    return bool(rc == 0)


def write_file(path: Path, data: bytes) -> bool:
    """Replace one file atomically, only if its bytes changed. True when written."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True
