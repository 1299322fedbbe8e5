"""Outputs → the output folder, all or nothing, touching only what changed.

Two trees take turns: the live output (`public/`) and its staging twin
(`.public.staging/`), which holds the previous generation. A build brings the
staging tree up to date — a file whose key matches what staging already has
is left alone, one that matches the live tree is hard-linked from it, the
rest are written — removes what is no longer produced, and then swaps the
two folders atomically (Linux renameat2 RENAME_EXCHANGE; two renames
elsewhere). Nothing is ever deleted or recreated wholesale, which matters on
file systems where a big delete stalls the next writes, and unchanged files
keep their mtime, so nginx ETags and newsroom caches stay valid.

If anything fails before the swap, the live folder is untouched; the staging
twin is marked stale and rebuilt from the live tree next time.
A manifest beside the folders (`.public.manifest`) records, per generation,
every file's key (a hash of everything its bytes depend on).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import filecmp
import hashlib
import os
import pickle
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

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
MANIFEST_VERSION = 2


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
        problems.extend(check_path(o.path, seen))
    return problems


def check_path(path: str, seen: set[str]) -> list[Problem]:
    problems = []
    parts = path.split("/")
    if path.startswith("/") or ".." in parts or "" in parts[:-1] or not path:
        problems.append(Problem(path, None, None, "refusing to write outside the output folder"))
    if path in seen:
        problems.append(Problem(path, None, None, "two outputs want this path (path collision)",
                                "different slugs for the pages involved"))
    seen.add(path)
    return problems


@contextlib.contextmanager
def exclusive(target: Path) -> Iterator[None]:
    """One build at a time per output folder (a lock file beside it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BuildFailed([Problem(str(target), None, None, "another build is writing this folder right now",
                                       "wait for it to finish, then build again")]) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def staging_dir(target: Path) -> Path:
    return target.parent / f".{target.name}.staging"


def manifest_path(target: Path) -> Path:
    return target.parent / f".{target.name}.manifest"


def content_key(data: bytes) -> str:
    return "b:" + hashlib.blake2b(data, digest_size=16).hexdigest()


def file_key(path: Path) -> str:
    st = path.stat()
    return f"f:{path}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


@dataclass
class _Manifest:
    live: dict[str, str] = field(default_factory=dict)  # path → key of the live tree
    staged: dict[str, str] = field(default_factory=dict)  # path → key of the staging twin
    live_inode: int = 0  # identity of the folder the manifest describes
    staged_inode: int = 0


def _load_manifest(target: Path) -> _Manifest:
    try:
        data = pickle.loads(manifest_path(target).read_bytes())
        if data.get("version") == MANIFEST_VERSION:
            return _Manifest(data["live"], data["staged"], data["live_inode"], data["staged_inode"])
    except Exception:
        pass
    return _Manifest()


def _save_manifest(target: Path, m: _Manifest) -> None:
    data = {"version": MANIFEST_VERSION, "live": m.live, "staged": m.staged, "live_inode": m.live_inode,
            "staged_inode": m.staged_inode}
    write_file(manifest_path(target), pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))


def _inode(tree: Path) -> int:
    """Identity of a tree we wrote: its folder's inode, or 0 if it is not one of ours
    (a folder recreated by hand can get a recycled inode, but not our marker file)."""
    try:
        if not tree.is_dir() or not any((tree / m).exists() for m in _MARKERS.values()):
            return 0
        return tree.stat().st_ino
    except OSError:
        return 0


def unchanged(target: Path, keys: dict[str, str]) -> bool:
    """True when the live output already is exactly this build: nothing to write at all."""
    m = _load_manifest(target)
    return bool(m.live) and m.live == keys and _inode(target) == m.live_inode != 0


def intact(target: Path) -> bool:
    """True when the live output is the tree the manifest describes."""
    m = _load_manifest(target)
    return bool(m.live) and _inode(target) == m.live_inode != 0


class Staging:
    """One build's view of the two trees. Workers (forked processes) may call put()."""

    def __init__(self, target: Path, kind: str = PUBLIC, in_place: bool = False):
        """in_place: update the live folder file by file (each file atomically) instead of
        swapping whole trees; for the preview server, where nobody else reads the folder."""
        self.target = target.resolve() if target.exists() else target.absolute()
        self.kind = kind
        self.in_place = in_place
        self.dir = self.target if in_place else staging_dir(self.target)
        problems: list[Problem] = []
        marker, other = _MARKERS[kind], _MARKERS[INTERNAL if kind == PUBLIC else PUBLIC]
        t = self.target
        if t.exists() and not t.is_dir():
            problems.append(Problem(str(t), None, None, "the output path exists and is not a folder"))
        elif (t / other).exists():
            problems.append(Problem(str(t), None, None,
                                    "this folder holds internal reports (内部资料)" if kind == PUBLIC
                                    else "this folder holds the public site",
                                    "keep the public site and the internal reports in separate folders"))
        elif t.is_dir() and any(t.iterdir()) and not (t / marker).exists():
            problems.append(Problem(str(t), None, None,
                                    "the output folder is not empty and was not made by this tool; refusing to replace it",
                                    "an empty or new folder, e.g. --output public"))
        if problems:
            raise BuildFailed(problems)
        self.marker = marker
        self.manifest = _load_manifest(self.target)
        m = self.manifest
        if _inode(self.target) != m.live_inode or not m.live_inode:
            m.live = {}
        if in_place:
            self.dir.mkdir(parents=True, exist_ok=True)
            live, m.live, m.staged = m.live, {}, {}
            _save_manifest(self.target, m)  # files are about to change under the manifest
            m.live = live
        elif _inode(self.dir) != m.staged_inode or not m.staged_inode:
            m.staged = {}
            if self.dir.exists():
                shutil.rmtree(self.dir)  # unknown state: start the twin afresh
        self.empty = not self.dir.exists() or not os.listdir(self.dir)  # nothing to prune at the end
        # nothing to compare with or link from either: files are written straight away
        self.fresh = self.empty and not in_place and (not t.exists() or not os.listdir(t))
        self.dir.mkdir(parents=True, exist_ok=True)
        # the twin is about to change: if this build dies, the next one must not trust it
        staged, m.staged = m.staged, {}
        _save_manifest(self.target, m)
        m.staged = staged
        self.keys: dict[str, str] = {}
        self._made: set[str] = set()
        self._dir_s, self._target_s = str(self.dir) + os.sep, str(self.target) + os.sep

    # ---- decisions (parent process) -------------------------------------------------

    def fresh(self, path: str, key: str) -> bool:
        """True if the staging twin or the live tree already holds this exact file."""
        if not key:
            return False
        if self.manifest.staged.get(path) == key:
            return True
        return self.manifest.live.get(path) == key

    def keep(self, path: str, key: str) -> bool:
        """Put an unchanged file in place without rendering it; False if it must be rendered."""
        if not key:
            return False
        if self.in_place:
            if self.manifest.live.get(path) == key and os.path.exists(self._target_s + path):
                self.keys[path] = key
                return True
            return False
        if self.manifest.staged.get(path) == key and os.path.exists(self._dir_s + path):
            self.keys[path] = key
            return True
        if self.manifest.live.get(path) == key and os.path.exists(self._target_s + path):
            self._link_live(path)
            self.keys[path] = key
            return True
        return False

    # ---- writing (any process) ------------------------------------------------------

    def _parent(self, path: str) -> Path:
        dest = self.dir / path
        parent = path.rpartition("/")[0]
        if parent and parent not in self._made:
            try:
                os.mkdir(self._dir_s + parent)
            except FileExistsError:
                pass
            except FileNotFoundError:
                os.makedirs(self._dir_s + parent, exist_ok=True)
            self._made.add(parent)
        return dest

    def _link_live(self, path: str) -> None:
        self._parent(path)
        dest, live = self._dir_s + path, self._target_s + path
        try:
            os.link(live, dest)  # the usual case after a first build: the twin does not have it yet
            return
        except FileExistsError:
            pass
        if os.stat(dest).st_ino == os.stat(live).st_ino:
            return  # already the same file (rename() between two links of one file does nothing)
        head, _, name = dest.rpartition("/")
        tmp = f"{head}/.{name}.link"
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        os.link(live, tmp)
        os.replace(tmp, dest)

    def put(self, o: Output, key: str) -> bool:
        """Stage one output; True if bytes were written (False: identical file reused)."""
        dest = self._parent(o.path)
        if not self.fresh:  # (a new private tree with no live one: nothing to compare or link)
            if _same(o, dest):
                return False
            if not self.in_place and _same(o, self.target / o.path):
                self._link_live(o.path)
                return False
        # a new inode, never writing through a link into the live tree; in a fresh tree nobody reads yet
        tmp = dest if self.fresh else dest.with_name(f".{dest.name}.tmp")
        if o.data is not None:
            tmp.write_bytes(o.data)
        else:
            assert o.source is not None
            shutil.copy2(o.source, tmp)
        if tmp is not dest:
            os.replace(tmp, dest)
        return True

    # ---- the end ------------------------------------------------------------------------

    def commit(self, keys: dict[str, str], written: int) -> WriteReport:
        """Remove what is no longer produced, swap the trees, save the manifest."""
        produced = set(keys) | {self.marker}
        if self.in_place:
            removed = _remove(self.dir, [p for p in self.manifest.live if p not in produced]) if self.manifest.live \
                else _prune(self.dir, produced)
            marker = self.dir / self.marker
            if not marker.exists():
                marker.write_bytes(_MARKER_TEXT[self.kind])
            self.manifest = _Manifest(dict(keys), {}, _inode(self.target), 0)
            _save_manifest(self.target, self.manifest)
            return WriteReport(written, len(keys) - written, removed)
        if self.manifest.staged:  # the twin is exactly the previous generation: the manifest says what is there
            pruned = _remove(self.dir, [p for p in self.manifest.staged if p not in produced])
        elif self.empty:  # started empty: holds only what this build put there
            pruned = 0
        else:
            pruned = _prune(self.dir, produced)
        removed = sum(1 for p in self.manifest.live if p not in keys) if self.manifest.live else pruned
        marker = self.dir / self.marker
        if not marker.exists():
            marker.write_bytes(_MARKER_TEXT[self.kind])
        previous_live = self.manifest.live
        _swap(self.dir, self.target)
        self.manifest = _Manifest(dict(keys), previous_live, _inode(self.target), _inode(self.dir))
        _save_manifest(self.target, self.manifest)
        return WriteReport(written, len(keys) - written, removed)

    def abort(self) -> None:
        """The live tree is untouched; the twin is already recorded as untrusted."""


def _remove(tree: Path, paths: list[str]) -> int:
    for p in paths:
        try:
            os.unlink(tree / p)
        except FileNotFoundError:
            pass
    for d in sorted({p.rpartition("/")[0] for p in paths if "/" in p}, key=len, reverse=True):
        while d:
            try:
                os.rmdir(tree / d)  # only succeeds when empty
            except OSError:
                break
            d = d.rpartition("/")[0]
    return len(paths)


def _prune(tree: Path, produced: set[str]) -> int:
    removed = 0
    for root, dirs, files in os.walk(tree, topdown=False):
        rel = os.path.relpath(root, tree)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        for f in files:
            if prefix + f not in produced:
                os.unlink(os.path.join(root, f))
                removed += 1
        if prefix and not os.listdir(root):
            os.rmdir(root)
    return removed


def write_site(outputs: list[Output], target: Path, kind: str = PUBLIC) -> WriteReport:
    """Write a complete set of outputs (every file rendered); used for reports and small trees."""
    problems = check_outputs(outputs)
    if problems:
        raise BuildFailed(problems)
    staging = Staging(target, kind)
    written = 0
    keys: dict[str, str] = {}
    try:
        for o in sorted(outputs, key=lambda o: o.path):
            keys[o.path] = content_key(o.data) if o.data is not None else file_key(o.source)  # type: ignore[arg-type]
            if staging.put(o, keys[o.path]):
                written += 1
        return staging.commit(keys, written)
    except BaseException:
        staging.abort()
        raise


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


_RENAME_EXCHANGE = 2
_libc = None


def _swap(staging: Path, target: Path) -> None:
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
