"""File-system operations on an output tree, each on its own: compare, link, remove, prune, swap.

Nothing here deletes or recreates a tree wholesale: on file systems where a big delete stalls
the next writes, that would cost more than the build (docs/performance.md). Errors are plain
OSErrors; the writer decides what they mean.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import filecmp
import os
import shutil
from pathlib import Path

from .model import Output


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


def same(o: Output, old: Path) -> bool:
    """True when the file `old` already holds exactly the bytes of `o`."""
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


def link(source: str, dest: str) -> None:
    """Make `dest` a hard link of `source`, replacing (atomically) whatever file is there."""
    try:
        os.link(source, dest)  # the usual case after a first build: the twin does not have it yet
        return
    except FileExistsError:
        pass
    if os.stat(dest).st_ino == os.stat(source).st_ino:
        return  # already the same file (rename() between two links of one file does nothing)
    head, _, name = dest.rpartition("/")
    tmp = f"{head}/.{name}.link"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    os.link(source, tmp)
    os.replace(tmp, dest)


def remove(tree: Path, paths: list[str]) -> int:
    """Remove these files (and empty folders, written with a trailing /), then every folder
    they leave empty. Returns the number of files."""
    base = str(tree) + os.sep
    parents: set[str] = set()
    files = 0
    for p in paths:
        if p.endswith("/"):
            parents.add(p[:-1])
            continue
        files += 1
        try:
            os.unlink(base + p)
        except FileNotFoundError:
            pass
        if "/" in p:
            parents.add(p.rpartition("/")[0])
    for folder in sorted(parents, key=len, reverse=True):
        d = folder
        while d:
            try:
                os.rmdir(base + d)  # only succeeds when empty
            except OSError:
                break
            d = d.rpartition("/")[0]
    return files


def prune(tree: Path, produced: set[str]) -> int:
    """Remove everything not produced (a link is removed, never followed); the number of files."""
    removed = 0

    def walk(path: str, prefix: str) -> bool:  # True: the folder is empty now
        nonlocal removed
        empty = True
        with os.scandir(path) as entries:
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    if walk(e.path, prefix + e.name + "/"):
                        os.rmdir(e.path)
                    else:
                        empty = False
                elif prefix + e.name in produced:
                    empty = False
                else:
                    os.unlink(e.path)
                    removed += 1
        return empty

    walk(str(tree), "")
    return removed


_RENAME_EXCHANGE = 2
_libc = None


def swap(staging: Path, target: Path) -> None:
    """Put staging in target's place; afterwards the old target is at staging."""
    if not target.exists():
        os.rename(staging, target)
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
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE); False where it cannot."""
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
