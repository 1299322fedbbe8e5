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
twin is marked stale and rebuilt from the live tree next time. A write that
fails (a full or read-only disk) is a WriteFailed, which the callers turn
into a BuildFailed naming the folder; after the swap only bookkeeping is left
(the manifest, the files beside the folder), and its failures are warnings.
A manifest beside the folders (`.public.manifest`) records, per generation,
every file's key (a hash of everything its bytes depend on).

Each output folder holds one kind of thing, named by a marker file in it:
the public site (`.exemplar-site`), the internal reports
(`.exemplar-internal`) or an SMS export (`.exemplar-sms`). A folder holding
another kind, lying inside an output folder of any kind, or holding another
kind's folder anywhere below it, is refused. The live folder holds exactly
what was produced plus its marker: before each swap the live tree is walked
(one walk), and whatever the manifest does not know — a file dropped in by
hand — is removed from the old tree right after the swap.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import filecmp
import hashlib
import os
import pickle
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import WARNING, BuildFailed, Problem
from .model import Output

PUBLIC = "public"
INTERNAL = "internal"
SMS = "sms"
MARKER = ".exemplar-site"
INTERNAL_MARKER = ".exemplar-internal"
SMS_MARKER = ".exemplar-sms"
_MARKERS = {PUBLIC: MARKER, INTERNAL: INTERNAL_MARKER, SMS: SMS_MARKER}
_KIND_OF = {marker: kind for kind, marker in _MARKERS.items()}
_MARKER_TEXT = {
    PUBLIC: b"This folder is written by exemplar-site; every build replaces its contents.\n",
    INTERNAL: "INTERNAL REPORTS (内部资料): never publish this folder. Written by exemplar-site.\n".encode(),
    SMS: "SMS export (短信导出) written by exemplar-site; every export replaces its contents.\n".encode(),
}
# what a user reads about each kind of folder, and where it usually goes
_NAMES = {PUBLIC: "公开网站", INTERNAL: "内部报表（内部资料 internal reports）", SMS: "短信导出文件"}
_EXAMPLES = {PUBLIC: "--output public", INTERNAL: "--output reports", SMS: "--output sms-export"}
MANIFEST_VERSION = 2


@dataclass(frozen=True)
class WriteReport:
    written: int  # new or changed files
    unchanged: int
    removed: int  # files of the previous output no longer produced (and files it never produced)
    warnings: tuple[Problem, ...] = ()  # after the swap: the output is live, but some bookkeeping failed


class WriteFailed(OSError):
    """Writing the output failed (disk full, read-only, no permission...). Keeps the errno and
    the file of the original error, and crosses intact from a worker process (it pickles)."""


def _failed(exc: OSError, path: object = None) -> WriteFailed:
    if isinstance(exc, WriteFailed):
        return exc
    return WriteFailed(exc.errno or 0, exc.strerror or str(exc), str(exc.filename or path or ""))


_DISK = {  # errno → (what happened, what to do), for people
    errno.ENOSPC: ("磁盘已满", "腾出磁盘空间后再运行一次"),
    errno.EDQUOT: ("超出了磁盘配额", "腾出空间或请管理员提高配额后再运行一次"),
    errno.EROFS: ("磁盘是只读的", "确认磁盘没有以只读方式挂载，或用 --output 换一个可以写入的文件夹"),
    errno.EACCES: ("没有写入权限", "检查这个文件夹和它上级文件夹的权限，或用 --output 换一个文件夹"),
    errno.EPERM: ("没有写入权限", "检查这个文件夹和它上级文件夹的权限，或用 --output 换一个文件夹"),
    errno.EIO: ("磁盘读写出错", "检查磁盘后再运行一次"),
    errno.ENOENT: ("要用的文件不见了（可能被别的程序移走或删除了）", "再运行一次"),
}


def _reason(exc: OSError) -> tuple[str, str]:
    return _DISK.get(exc.errno or 0, (f"系统报错：{exc.strerror or exc}", "排除这个问题后再运行一次"))


def disk_problem(folder: Path, exc: OSError) -> Problem:
    """A failed write as an error naming the output folder (nothing in it was changed)."""
    reason, todo = _reason(exc)
    where = f"（{exc.filename}）" if exc.filename else ""
    return Problem(str(folder), None, None, f"写入失败：{reason}{where}。这个文件夹保持原样，没有任何改动", todo)


def late_problem(path: Path, exc: OSError) -> Problem:
    """A file that could not be written once the new output was live: a warning."""
    reason, todo = _reason(exc)
    return Problem(str(path), None, None, f"输出已经更新，但这个文件没能写入：{reason}",
                   f"{todo}（下次运行会重新写它）", WARNING)


def after_swap(path: Path, action: Callable[[], object]) -> list[Problem]:
    """Bookkeeping once the new output is live: a failure is a warning, not a failed build."""
    try:
        action()
        return []
    except OSError as exc:
        return [late_problem(path, exc)]


def drafts_folder(public: Path, requested: Path | None) -> Path:
    """Where a drafts build goes: by default a preview folder of its own beside the public
    output (`public-drafts/`), never into the public output or a folder inside it."""
    default = public.parent / f"{public.name}-drafts"
    wanted, site = (requested or default).resolve(), public.resolve()  # (a link to public/ is public/)
    if wanted == site or wanted.is_relative_to(site) or site.is_relative_to(wanted):
        raise BuildFailed([Problem(str(wanted), None, "--output",
                                   f"草稿预览（--drafts）不能写进公开网站的输出文件夹 {site}，"
                                   "否则还没审核通过的稿件会和网站一起发布出去",
                                   f"去掉 --output（草稿预览默认写到 {default}），或换一个网站以外的文件夹")])
    return requested or default


@contextlib.contextmanager
def failed_writes(target: Path) -> Iterator[None]:
    """A WriteFailed inside (from this process or a worker) as a BuildFailed naming `target`."""
    try:
        yield
    except WriteFailed as exc:
        raise BuildFailed([disk_problem(target, exc)]) from None


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
        problems.append(Problem(path, None, None, "这个路径指向输出文件夹以外，拒绝写入"))
    if path in seen:
        problems.append(Problem(path, None, None, "路径冲突：两个输出要写同一个文件",
                                "给相关的页面各自不同的 slug"))
    seen.add(path)
    return problems


def check_target(target: Path, kind: str, configured: Iterable[tuple[str, Path]] = ()) -> list[Problem]:
    """Why output of `kind` may not go into the folder `target` ([] when it may): each output
    folder holds one kind of thing, made by this tool, and never lies inside another one.
    `configured`: (kind, folder) of the other outputs in the config, which may not exist yet."""
    t, name = target, _NAMES[kind]
    for other, folder in configured:
        f = folder.resolve()
        if other != kind and (t == f or t.is_relative_to(f)):
            where = "" if t == f else "里面"
            return [Problem(str(t), None, "--output", f"这个文件夹是配置里{_NAMES[other]}的文件夹 {f}{where}，"
                                                      f"{name}不能写在那里",
                            f"另选一个文件夹，例如 {_EXAMPLES[kind]}")]
    if t.exists() and not t.is_dir():
        return [Problem(str(t), None, None, "输出位置已经有一个同名的文件，它不是文件夹",
                        f"换一个文件夹，例如 {_EXAMPLES[kind]}")]
    others = [k for m, k in _KIND_OF.items() if k != kind and (t / m).exists()]
    if others:
        return [Problem(str(t), None, None, f"这个文件夹里是{_NAMES[others[0]]}，{name}不能写在这里",
                        f"为{name}另选一个文件夹，例如 {_EXAMPLES[kind]}")]
    for up in t.parents:
        inside = [k for m, k in _KIND_OF.items() if (up / m).exists()]
        if inside:
            why = "（放在网站里会被一起发布出去）" if inside[0] == PUBLIC and kind != PUBLIC else ""
            return [Problem(str(t), None, None, f"这个文件夹在{_NAMES[inside[0]]}的文件夹 {up} 里面，"
                                                f"{name}不能放在那里{why}",
                            f"{up} 以外的文件夹，例如 {_EXAMPLES[kind]}")]
    if t.is_dir() and not (t / _MARKERS[kind]).exists() and any(t.iterdir()):
        return [Problem(str(t), None, None, "这个文件夹不是空的，也不是本工具生成的，不能替换它的内容",
                        f"一个空的或新的文件夹，例如 {_EXAMPLES[kind]}")]
    return []


@contextlib.contextmanager
def exclusive(target: Path) -> Iterator[None]:
    """One build at a time per output folder (a lock file beside it)."""
    lock = target.parent / f".{target.name}.lock"
    with contextlib.ExitStack() as stack:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            f = stack.enter_context(open(lock, "a"))
        except OSError as exc:
            try:  # a read-only disk: a lock all the same (a build that must write fails later, clearly)
                f = stack.enter_context(open(lock))
            except OSError:
                raise BuildFailed([disk_problem(target, exc)]) from None
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BuildFailed([Problem(str(target), None, None, "另一个生成过程正在写这个文件夹",
                                       "等它结束后再运行一次")]) from None
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
    live_mtime: int = 0  # the live folder's mtime (ns) after the build: a file dropped in at its top changes it


def _load_manifest(target: Path) -> _Manifest:
    try:
        data = pickle.loads(manifest_path(target).read_bytes())
        if data.get("version") == MANIFEST_VERSION:
            return _Manifest(data["live"], data["staged"], data["live_inode"], data["staged_inode"],
                             data.get("live_mtime", 0))
    except Exception:  # noqa: BLE001 - a manifest that cannot be read (any way) is none: everything is written
        pass
    return _Manifest()


def _save_manifest(target: Path, m: _Manifest) -> None:
    data = {"version": MANIFEST_VERSION, "live": m.live, "staged": m.staged, "live_inode": m.live_inode,
            "staged_inode": m.staged_inode, "live_mtime": m.live_mtime}
    write_file(manifest_path(target), pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))


def _identity(tree: Path) -> tuple[int, int]:
    """(inode, mtime) of a tree we wrote, or (0, 0) if it is not one of ours
    (a folder recreated by hand can get a recycled inode, but not our marker file)."""
    try:
        if not tree.is_dir() or not any((tree / m).exists() for m in _MARKERS.values()):
            return 0, 0
        st = tree.stat()
        return st.st_ino, st.st_mtime_ns
    except OSError:
        return 0, 0


def _inode(tree: Path) -> int:
    return _identity(tree)[0]


def unchanged(target: Path, keys: dict[str, str]) -> bool:
    """True when the live output already is exactly this build: nothing to write at all
    (and nothing was added at its top since: that would be removed)."""
    m = _load_manifest(target)
    return bool(m.live) and m.live == keys and m.live_inode != 0 and _identity(target) == (m.live_inode, m.live_mtime)


def intact(target: Path) -> bool:
    """True when the live output is the tree the manifest describes (nothing added at its top)."""
    m = _load_manifest(target)
    return bool(m.live) and m.live_inode != 0 and _identity(target) == (m.live_inode, m.live_mtime)


class Staging:
    """One build's view of the two trees. Workers (forked processes) may call put()."""

    def __init__(self, target: Path, kind: str = PUBLIC, in_place: bool = False):
        """in_place: update the live folder file by file (each file atomically) instead of
        swapping whole trees; for the preview server, where nobody else reads the folder.
        Raises BuildFailed for a folder that may not hold this output, WriteFailed if the disk fails."""
        self.target = target.resolve() if target.exists() else target.absolute()
        self.kind = kind
        self.in_place = in_place
        self.dir = self.target if in_place else staging_dir(self.target)
        self.marker = _MARKERS[kind]
        try:
            self._open()
        except OSError as exc:
            raise _failed(exc) from None

    def _open(self) -> None:
        t = self.target
        problems = check_target(t, self.kind)
        if problems:
            raise BuildFailed(problems)
        self.manifest = m = _load_manifest(t)
        if _inode(t) != m.live_inode or not m.live_inode:
            m.live = {}
        # what is in the live folder besides the last build's files: removed from it by the swap
        self._strays: list[str] = []
        if not self.in_place and (t / self.marker).exists():
            self._strays, marked = _scan(t, m.live, self.kind)
            if not m.live:
                self._strays = []  # nothing known to compare with: the twin is pruned by a walk next time
            if marked:
                raise BuildFailed([self._marked(sub) for sub in marked])
        if self.in_place:
            self.dir.mkdir(parents=True, exist_ok=True)
            live, m.live, m.staged = m.live, {}, {}
            _save_manifest(t, m)  # files are about to change under the manifest
            m.live = live
        elif _inode(self.dir) != m.staged_inode or not m.staged_inode:
            m.staged = {}
            if self.dir.exists():
                shutil.rmtree(self.dir)  # unknown state: start the twin afresh
        self.empty = not self.dir.exists() or not os.listdir(self.dir)  # nothing to prune at the end
        # nothing to compare with or link from either: files are written straight away
        self.fresh = self.empty and not self.in_place and (not t.exists() or not os.listdir(t))
        self.dir.mkdir(parents=True, exist_ok=True)
        # the twin is about to change: if this build dies, the next one must not trust it
        staged, m.staged = m.staged, {}
        _save_manifest(t, m)
        m.staged = staged
        self.keys: dict[str, str] = {}
        self._made: set[str] = set()
        self._dir_s, self._target_s = str(self.dir) + os.sep, str(self.target) + os.sep

    def _marked(self, sub: str) -> Problem:
        """Another kind of output found inside this folder: refused, naming it."""
        where = self.target / sub
        other = next(k for m, k in _KIND_OF.items() if (where / m).exists())
        why = "，留在网站里会被一起发布出去" if self.kind == PUBLIC else "，会被这次写入删掉"
        return Problem(str(where), None, None,
                       f"输出文件夹 {self.target} 里有{_NAMES[other]}（{sub}/）{why}",
                       f"先把 {where} 移到 {self.target} 以外，再运行一次")

    # ---- decisions (parent process) -------------------------------------------------

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
            try:
                self._link_live(path)
            except OSError as exc:
                raise _failed(exc) from None
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
        """Stage one output; True if bytes were written (False: identical file reused).
        Raises WriteFailed (which crosses from a worker) when the disk fails."""
        tmp = None
        try:
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
        except OSError as exc:
            if tmp is not None:  # give back what a half-written file took (a full disk)
                with contextlib.suppress(OSError):
                    tmp.unlink()
            raise _failed(exc) from None

    # ---- the end ------------------------------------------------------------------------

    def commit(self, keys: dict[str, str], written: int) -> WriteReport:
        """Remove what is no longer produced, swap the trees, save the manifest. A failure
        before the swap raises WriteFailed (the live folder untouched); after it, a warning."""
        produced = set(keys) | {self.marker}
        try:
            if self.in_place:
                removed = _remove(self.dir, [p for p in self.manifest.live if p not in produced]) \
                    if self.manifest.live else _prune(self.dir, produced)
                marker = self.dir / self.marker
                if not marker.exists():
                    marker.write_bytes(_MARKER_TEXT[self.kind])
                ino, mtime = _identity(self.target)
                self.manifest = _Manifest(dict(keys), {}, ino, 0, mtime)
                return WriteReport(written, len(keys) - written, removed,
                                   tuple(after_swap(manifest_path(self.target),
                                                    lambda: _save_manifest(self.target, self.manifest))))
            if self.manifest.staged:  # the twin is exactly the previous generation: the manifest says what is there
                pruned = _remove(self.dir, [p for p in self.manifest.staged if p not in produced])
            elif self.empty:  # started empty: holds only what this build put there
                pruned = 0
            else:
                pruned = _prune(self.dir, produced)
            marker = self.dir / self.marker
            if not marker.exists():
                marker.write_bytes(_MARKER_TEXT[self.kind])
            previous_live = self.manifest.live
            _swap(self.dir, self.target)
        except OSError as exc:
            raise _failed(exc) from None
        # the new output is live; the old one (now the twin) still holds what was dropped into it
        strays = [p for p in self._strays if not p.endswith("/")]
        removed = (sum(1 for p in previous_live if p not in keys) if previous_live else pruned) + len(strays)
        warnings: list[Problem] = []
        if self._strays:
            shown = "、".join(self._strays[:5]) + ("……" if len(self._strays) > 5 else "")
            warnings.append(Problem(str(self.target), None, None,
                                    f"删除了输出文件夹里 {len(self._strays)} 个不是生成出来的文件或文件夹（{shown}）："
                                    "输出文件夹只放生成的文件",
                                    "不要把别的文件放进输出文件夹；需要和网站一起发布的文件，部署时另外复制",
                                    WARNING))
            failed = after_swap(self.dir, lambda: _remove(self.dir, self._strays))
            if failed:
                previous_live = {}  # the twin holds files the manifest does not list: a walk prunes it next time
            warnings += failed
        ino, mtime = _identity(self.target)
        self.manifest = _Manifest(dict(keys), previous_live, ino, _inode(self.dir), mtime)
        warnings += after_swap(manifest_path(self.target), lambda: _save_manifest(self.target, self.manifest))
        return WriteReport(written, len(keys) - written, removed, tuple(warnings))

    def abort(self) -> None:
        """The live tree is untouched; the twin is already recorded as untrusted."""


def _scan(tree: Path, known: dict[str, str], kind: str) -> tuple[list[str], list[str]]:
    """One walk of a live tree: what `known` (the manifest) does not list — files, and empty
    folders with a trailing / — and the folders inside that hold another kind's marker."""
    strays: list[str] = []
    marked: list[str] = []
    own = _MARKERS[kind]

    def walk(path: str, prefix: str) -> bool:  # True: the folder is empty
        empty = True
        with os.scandir(path) as entries:
            for e in entries:
                empty = False
                name = e.name
                if e.is_dir(follow_symlinks=False):
                    if walk(e.path, prefix + name + "/"):
                        strays.append(prefix + name + "/")
                    continue
                rel = prefix + name
                if rel in known:
                    continue
                if prefix and name in _KIND_OF and name != own:
                    marked.append(prefix[:-1])
                elif prefix or name != own:
                    strays.append(rel)  # (a link is removed, never followed)
        return empty

    walk(str(tree), "")
    return strays, marked


def _remove(tree: Path, paths: list[str]) -> int:
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


def _prune(tree: Path, produced: set[str]) -> int:
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


def write_site(outputs: list[Output], target: Path, kind: str = PUBLIC) -> WriteReport:
    """Write a complete set of outputs (every file rendered); used for reports and small trees.
    Raises BuildFailed for a folder that may not hold them, or when the disk fails."""
    problems = check_outputs(outputs)
    if problems:
        raise BuildFailed(problems)
    with exclusive(target), failed_writes(target):
        staging = Staging(target, kind)
        written = 0
        keys: dict[str, str] = {}
        try:
            for o in sorted(outputs, key=lambda o: o.path):
                try:
                    keys[o.path] = content_key(o.data) if o.data is not None else file_key(o.source)  # type: ignore[arg-type]
                except OSError as exc:
                    raise _failed(exc) from None
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
