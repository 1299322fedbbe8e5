"""File-system operations on an output tree, each on its own: compare, link, remove, prune, swap.

Nothing here deletes or recreates a tree wholesale: on file systems where a big delete stalls
the next writes, that would cost more than the build (docs/performance.md). Errors are plain
OSErrors; the writer decides what they mean.
"""

from __future__ import annotations

import errno
import filecmp
import os
import shutil
import stat
import time
from pathlib import Path

from .mediameta import BadMedia, clear
from .model import Output
from .platforms import portable


def write_file(path: Path, data: bytes, compare: bool = True) -> bool:
    """Replace one file atomically, only if its bytes changed (`compare`: False where they always
    have, so the old file is not read). True when written."""
    try:
        if compare and path.read_bytes() == data:
            return False
    except OSError:
        pass
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def clear_metadata(path: Path) -> None:
    """Clear a copied video's or sound file's metadata in place (mediameta.clear). One that cannot
    be read as such fails as a write does (discovery refused it, unless it changed since)."""
    with path.open("r+b") as f:
        try:
            clear(f)
        except BadMedia as exc:
            raise OSError(errno.EINVAL, f"not a readable video or sound file ({exc})", str(path)) from None


def same(o: Output, old: Path) -> bool:
    """True when the file `old` already holds exactly the bytes of `o` (a symbolic link does not:
    it is not a file of the tree, whatever it leads to)."""
    try:
        st = old.lstat()
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    if o.data is not None:
        if st.st_size != len(o.data):
            return False
        return old.read_bytes() == o.data
    assert o.source is not None
    if o.clear:  # (its bytes are not the source's: written again, which is rare: when its source changed)
        return False
    return filecmp.cmp(o.source, old, shallow=False)


def link(source: str, dest: str) -> None:
    """Make `dest` a hard link of `source`, replacing (atomically) whatever file is there."""
    try:
        os.link(source, dest)  # the usual case after a first build: the twin does not have it yet
        return
    except FileExistsError:
        pass
    if os.lstat(dest).st_ino == os.stat(source).st_ino:  # (a symbolic link at dest is not the file it names)
        return  # already the same file (rename() between two links of one file does nothing)
    head, name = os.path.split(dest)  # (a path may hold both separators on Windows)
    tmp = os.path.join(head, f".{name}.link")
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


def old_dir(target: Path) -> Path:
    """Where the live tree waits during a swap by renames (`.public.old`)."""
    return target.parent / f".{target.name}.old"


def swap(staging: Path, target: Path) -> None:
    """Put staging in target's place; afterwards the old target is at staging.

    One step where Linux renameat2(RENAME_EXCHANGE) works; else (Windows, other systems, or the
    portable paths forced: platforms.portable) by renames: target → `.public.old`, staging →
    target, `.public.old` → staging. A process killed between two of them leaves `.public.old`,
    which `recover` sorts out before the next build touches anything."""
    if not target.exists():
        _rename(staging, target)
        return
    if not portable() and _exchange(staging, target):
        return
    old = old_dir(target)
    if old.exists():  # (recover has run before every build: only a folder made by hand is here)
        shutil.rmtree(old)
    _rename(target, old)
    _rename(staging, target)
    _rename(old, staging)


def recover(staging: Path, target: Path) -> None:
    """Finish or undo a swap by renames that was cut short (the process killed, the power gone).

    - target missing, `.public.old` there: killed after the first rename; the old tree goes back
      to its place (the new one, at staging, was never live and is not trusted: the manifest
      still describes the old one);
    - target there, staging missing: killed after the second; the swap is finished (the old tree
      becomes the twin);
    - all three there: `.public.old` is left from something else (a swap cut short while it was
      being cleared): removed.
    """
    old = old_dir(target)
    if not old.is_dir():
        return
    if not target.exists():
        _rename(old, target)
    elif not staging.exists():
        _rename(old, staging)
    else:
        shutil.rmtree(old)


def _rename(src: Path, dest: Path) -> None:
    """os.rename, tried again for a moment when refused: on Windows a folder cannot be renamed while
    another program (a virus scanner, the search indexer, an Explorer window) has a file in it open,
    which such programs do only briefly."""
    for wait in (0.05, 0.1, 0.2, 0.4, 0.8, 1.6):
        try:
            os.rename(src, dest)
            return
        except PermissionError:
            if os.name != "nt":
                raise
            time.sleep(wait)  # pragma: no cover - Windows
    os.rename(src, dest)  # pragma: no cover - Windows


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE); False where it cannot."""
    global _libc
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return False
    try:
        if _libc is None:
            import ctypes.util  # (here: ~10 ms to import, and only Linux swaps folders this way)
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = _libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), _RENAME_EXCHANGE)
    return bool(rc == 0)
