"""The output guard: which folders a build may write, and which paths inside them.

Each output folder holds one kind of thing, named by a marker file in it: the public site
(`.exemplar-site`), the internal reports (`.exemplar-internal`) or an SMS export
(`.exemplar-sms`). A folder holding another kind, lying inside an output folder of any kind, or
holding another kind's folder anywhere below it, is refused; so is a folder that is neither empty
nor made by this tool, a drafts preview inside the public output, a path escaping the folder or
two outputs for one path. One build at a time writes a folder (a lock file beside it).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .errors import BuildFailed, Problem
from .i18n import N_, _, t
from .model import Output
from .platforms import portable
from .safetree import INTERNAL_MARKER as INTERNAL_MARKER  # (re-exported: the marker names live there)
from .safetree import SMS_MARKER as SMS_MARKER
from .safetree import dead_link
from .writefail import disk_problem

PUBLIC = "public"
INTERNAL = "internal"
SMS = "sms"
MARKER = ".exemplar-site"
MARKERS = {PUBLIC: MARKER, INTERNAL: INTERNAL_MARKER, SMS: SMS_MARKER}  # kind → its marker file
KIND_OF = {marker: kind for kind, marker in MARKERS.items()}
DRAFTS_ROBOTS = b"# drafts"  # how a drafts preview's robots.txt begins (pages.robots)
MARKER_TEXT = {  # what the marker file says to someone who opens the folder
    PUBLIC: b"This folder is written by exemplar-site; every build replaces its contents.\n",
    INTERNAL: "INTERNAL REPORTS (内部资料): never publish this folder. Written by exemplar-site.\n".encode(),
    SMS: "SMS export (短信导出) written by exemplar-site; every export replaces its contents.\n".encode(),
}
# what a user reads about each kind of folder, and where it usually goes
_NAMES = {PUBLIC: N_("the public site"), INTERNAL: N_("the internal reports (内部资料)"),
          SMS: N_("the SMS export files")}
_EXAMPLES = {PUBLIC: "--output public", INTERNAL: "--output reports", SMS: "--output sms-export"}


def drafts_folder(public: Path, requested: Path | None) -> Path:
    """Where a drafts build goes: by default a preview folder of its own beside the public
    output (`public-drafts/`), never into the public output or a folder inside it, nor into any
    folder that holds a site built without --drafts (one built with `--output` elsewhere, say)."""
    default = public.parent / f"{public.name}-drafts"
    wanted, site = (requested or default).resolve(), public.resolve()  # (a link to public/ is public/)
    if wanted == site or wanted.is_relative_to(site) or site.is_relative_to(wanted):
        raise BuildFailed([Problem(str(wanted), None, "--output",
                                   t("a drafts preview (--drafts) may not be written into the public site's output "
                                     "folder {site}: stories not yet cleared would be published with the site",
                                     site=site),
                                   t("leave out --output (a drafts preview goes to {default}), or choose a folder "
                                     "outside the site", default=default))])
    if (wanted / MARKER).is_file() and not drafts_build(wanted):
        raise BuildFailed([Problem(str(wanted), None, "--output",
                                   # TRANSLATORS: 原文：……里是不带 --drafts 生成的网站（可能就是要发布的网站），
                                   # 草稿预览不能写进去：还没通过审核的稿件会混进这个网站
                                   t("{folder} holds a site built without --drafts (perhaps the one to be "
                                     "published): a drafts preview may not be written into it, or stories not "
                                     "yet cleared would be mixed into that site", folder=wanted),
                                   t("choose a folder of its own for the preview (leave out --output: it goes to "
                                     "{default}); delete that folder first only if it is an old copy nobody "
                                     "publishes", default=default))])
    return requested or default


def drafts_build(folder: Path) -> bool:
    """Whether a built folder is a drafts preview: its robots.txt (pages.robots) says so."""
    robots = folder / "robots.txt"
    try:
        with robots.open("rb") as f:
            return f.read(len(DRAFTS_ROBOTS)) == DRAFTS_ROBOTS
    except OSError:
        return False


def check_outputs(outputs: list[Output]) -> list[Problem]:
    """Two outputs for one path, or a path escaping the folder, is a bug to report, not to overwrite."""
    return check_paths([o.path for o in outputs])


def check_paths(paths: list[str]) -> list[Problem]:
    """check_path of each path, in order. Most builds have nothing to report, which a few searches
    of all the paths joined show at once (every pattern check_path refuses appears in the joined
    text, and one that straddles two paths only sends the paths through check_path one by one):
    ~5 ms instead of ~50 for the 47,000 files of a 10,000-story site."""
    joined = "\n".join(paths)
    if len(set(paths)) == len(paths) and not (
            joined.startswith(("/", "\n")) or joined.endswith("\n") or "\n/" in joined or "//" in joined
            or "\n\n" in joined or ".." in joined or not paths or not paths[0]):
        return []
    problems = []
    seen: set[str] = set()
    for path in paths:
        problems.extend(check_path(path, seen))
    return problems


def check_path(path: str, seen: set[str]) -> list[Problem]:
    problems = []
    parts = path.split("/")
    if path.startswith("/") or ".." in parts or "" in parts[:-1] or not path:
        problems.append(Problem(path, None, None, _("this path leads out of the output folder: refused")))
    if path in seen:
        problems.append(Problem(path, None, None, _("two outputs would write the same file"),
                                _("give the pages concerned different slugs")))
    seen.add(path)
    return problems


def unreachable(folder: Path, key: str | None = None) -> Problem | None:
    """An output folder through a link that leads nowhere (safetree.dead_link), as the error that
    refuses it (before anything is written: not even beside the link), naming both."""
    dead = dead_link(folder)
    if dead is None:
        return None
    link, target = dead
    # TRANSLATORS: 原文：输出文件夹 {folder} 是一个链接，指向的 {target} 不存在（可能是磁盘没有接上，
    # 或者链接写错了）：不会生成到那里
    message = t("the output folder {folder} is a link to {target}, which does not exist (a disk not attached, "
                "or a link mistyped): nothing is built there", folder=folder, target=target) if link == folder else \
        t("the output folder {folder} lies in {link}, a link to {target}, which does not exist (a disk not "
          "attached, or a link mistyped): nothing is built there", folder=folder, link=link, target=target)
    return Problem(str(folder), None, key, message,
                   t("attach or create {target}, or remove the link {link} (the build then makes the folder)",
                     target=target, link=link))


def check_target(target: Path, kind: str, configured: Iterable[tuple[str, Path]] = ()) -> list[Problem]:
    """Why output of `kind` may not go into the folder `target` ([] when it may): each output
    folder holds one kind of thing, made by this tool, and never lies inside another one.
    `configured`: (kind, folder) of the other outputs in the config, which may not exist yet."""
    here, name = target, _(_NAMES[kind])
    dead = unreachable(here)
    if dead is not None:
        return [dead]
    example = t("another folder, e.g. {example}", example=_EXAMPLES[kind])
    for other, folder in configured:
        f = folder.resolve()
        if other != kind and (here == f or here.is_relative_to(f)):
            message = t("this is the folder of {other} in the config ({folder}): {name} cannot be written there",
                        other=_(_NAMES[other]), folder=f, name=name) if here == f else \
                t("this folder is inside the folder of {other} in the config ({folder}): {name} cannot be written "
                  "there", other=_(_NAMES[other]), folder=f, name=name)
            return [Problem(str(here), None, "--output", message, example)]
    if here.exists() and not here.is_dir():
        return [Problem(str(here), None, None, _("there is a file of that name where the output folder should be"),
                        example)]
    others = [k for m, k in KIND_OF.items() if k != kind and (here / m).exists()]
    if others:
        return [Problem(str(here), None, None, t("this folder holds {other}: {name} cannot be written here",
                                                 other=_(_NAMES[others[0]]), name=name), example)]
    for up in here.parents:
        inside = [k for m, k in KIND_OF.items() if (up / m).exists()]
        if inside:
            message = t("this folder is inside the folder of {other} ({folder}): {name} cannot go there",
                        other=_(_NAMES[inside[0]]), folder=up, name=name)
            if inside[0] == PUBLIC and kind != PUBLIC:
                message += _(" (inside the site it would be published with it)")
            return [Problem(str(here), None, None, message,
                            t("a folder outside {folder}, e.g. {example}", folder=up, example=_EXAMPLES[kind]))]
    if here.is_dir() and not (here / MARKERS[kind]).exists() and any(here.iterdir()):
        return [Problem(str(here), None, None, _("this folder is not empty and was not made by this tool: its "
                                                 "contents cannot be replaced"),
                        t("an empty or new folder, e.g. {example}", example=_EXAMPLES[kind]))]
    return []


def strays(target: Path, kind: str, known: dict[str, str], settled_dirs: set[str] | None = None,
           known_dirs: Iterable[str] = ()) -> list[str]:
    """What `known` (the manifest) does not list in a live output folder — files, and empty
    folders with a trailing / — to be removed from it. A folder inside holding another kind's
    marker is refused (BuildFailed), naming it.

    With `settled_dirs` (the folders of `known_dirs`, every folder the last build left, whose
    stamps are as it recorded them: `settled`), only the other folders are looked into: a settled
    folder holds the entries it held. Otherwise the whole tree is walked."""
    if settled_dirs is not None:
        every = set(known_dirs)
        found, marked = _scan_changed(target, known, kind, every, ["", *(d for d in every if d not in settled_dirs)])
    else:
        found, marked = _scan(target, known, kind)
    if marked:
        raise BuildFailed([_marked(target, kind, sub) for sub in marked])
    return found


def _scan(tree: Path, known: dict[str, str], kind: str) -> tuple[list[str], list[str]]:
    """What `known` does not list, and the folders inside that hold another kind's marker."""
    found: list[str] = []
    marked: list[str] = []
    _walker(known, kind, found, marked)(str(tree), "")
    return found, marked


def _walker(known: dict[str, str], kind: str, found: list[str], marked: list[str],
            skip: frozenset[str] | set[str] = frozenset()) -> Callable[[str, str], bool]:
    """walk(folder, its relative path with a trailing /) adds to `found` and `marked` what is in
    it and below it; a folder named in `skip` is not gone into (another walk looks at it)."""
    own = MARKERS[kind]

    def walk(path: str, prefix: str) -> bool:  # True: the folder is empty
        empty = True
        with os.scandir(path) as entries:
            for e in entries:
                empty = False
                name = e.name
                if e.is_dir(follow_symlinks=False):
                    if prefix + name in skip:
                        continue
                    if walk(e.path, prefix + name + "/"):
                        found.append(prefix + name + "/")
                    continue
                rel = prefix + name
                if rel in known:
                    continue
                if prefix and name in KIND_OF and name != own:
                    marked.append(prefix[:-1])
                elif prefix or name != own:
                    found.append(rel)  # (a link is removed, never followed)
        return empty

    return walk


def _scan_changed(tree: Path, known: dict[str, str], kind: str, every: set[str], changed: list[str]
                  ) -> tuple[list[str], list[str]]:
    """_scan, looking only into the folders in `changed` ("" the tree itself) and, whole, into
    folders that `every` (the folders the last build left) does not name."""
    found: list[str] = []
    marked: list[str] = []
    walk = _walker(known, kind, found, marked, skip=every)  # (a folder of `every` is looked into if it changed)
    top = str(tree)
    for rel in changed:
        path = os.path.join(top, rel) if rel else top
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            continue  # (gone: nothing in it to remove)
        if rel and not stat.S_ISDIR(mode):
            continue  # (replaced by a file or a link: its parent has changed too and names it)
        if walk(path, rel + "/" if rel else "") and rel:
            found.append(rel + "/")  # (emptied: as the walk of every folder finds it)
    return found, marked


# A folder's stamp: its mtime, ctime and inode (ns). Adding, removing or renaming an entry in it
# changes its mtime and ctime; ctime cannot be set back by anyone. A folder changed less than one
# tick of the file system's clock before it was stamped could change again within that tick and
# keep its stamp (git's "racy" index entries): such a stamp is never trusted. The tick: the
# kernel's coarse clock (a few ms) where times have nanoseconds, 2 s where they are whole seconds
# (FAT, some network file systems); RACY_NS is more than either.
Stamp = tuple[int, int, int]
RACY_NS = 100_000_000
RACY_COARSE_NS = 2_000_000_000


def stamps_usable() -> bool:
    """Folder stamps stand for folder contents on POSIX systems. Elsewhere (Windows, whose FAT
    drives do not update a folder's time, and the portable paths when forced) every folder is
    looked into on every build."""
    return os.name == "posix" and not portable()


def folders_of(paths: Iterable[str]) -> set[str]:
    """Every folder (relative, without the tree itself) that holds one of `paths`."""
    out = {p.rpartition("/")[0] for p in paths}  # (each file's folder: 35,000 files, 15,000 folders at 10,000 stories)
    for folder in list(out):  # then the folders above them
        parent = folder.rpartition("/")[0]
        while parent and parent not in out:
            out.add(parent)
            parent = parent.rpartition("/")[0]
    out.discard("")
    return out


def stamp(tree: Path, folders: Iterable[str]) -> dict[str, Stamp]:
    """The stamp of each folder of `tree` that is a folder (not a link) now."""
    out: dict[str, Stamp] = {}
    top = str(tree) + os.sep
    lstat, is_dir = os.lstat, stat.S_ISDIR
    for rel in folders:
        try:
            st = lstat(top + rel)
        except OSError:
            continue
        if is_dir(st.st_mode):
            out[rel] = (st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    return out


def settled(tree: Path, recorded: dict[str, Stamp], at: int) -> set[str]:
    """The folders of `recorded` (stamped at `at`, ns) whose stamps are as recorded and were not
    racy then: each holds exactly the entries it held at `at`."""
    if not recorded or not stamps_usable():
        return set()
    now = stamp(tree, recorded)
    return {rel for rel, st in recorded.items() if now.get(rel) == st and _settled_at(st, at)}


def _settled_at(st: Stamp, at: int) -> bool:
    coarse = st[0] % 1_000_000_000 == 0 and st[1] % 1_000_000_000 == 0
    limit = at - (RACY_COARSE_NS if coarse else RACY_NS)
    return st[0] < limit and st[1] < limit


def _marked(target: Path, kind: str, sub: str) -> Problem:
    """Another kind of output found inside this folder: refused, naming it."""
    where = target / sub
    other = next(k for m, k in KIND_OF.items() if (where / m).exists())
    message = t("the output folder {target} holds {other} ({sub}/)", target=target, other=_(_NAMES[other]), sub=sub)
    message += _(": left there they would be published with the site") if kind == PUBLIC else \
        _(": this write would delete them")
    return Problem(str(where), None, None, message,
                   t("move {folder} out of {target} first, then run again", folder=where, target=target))


@contextlib.contextmanager
def exclusive(target: Path) -> Iterator[None]:
    """One build at a time per output folder (a lock file beside it, `.<name>.lock`).

    The lock is the operating system's where it has one the build can rely on — fcntl.flock on
    Linux and macOS, msvcrt.locking on Windows — both let go by the system when the holder ends,
    however it ends. With the portable paths forced on another OS (EXEMPLAR_SITE_PORTABLE=1), or
    where neither module exists, the lock is the file itself (`_held_file`): created with
    O_CREAT|O_EXCL, naming its holder's process, removed when the build ends, and taken over when
    the process it names has gone (a build that was killed). (Where fcntl exists, such a build
    takes the system's lock on that file as well, and never takes over a file another build holds
    that way: builds with and without the switch exclude each other too.)"""
    lock = target.parent / f".{target.name}.lock"
    busy = BuildFailed([Problem(str(target), None, None, _("another build is writing this folder"),
                                _("wait until it has finished, then run again"))])
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # (a read-only disk: opening the lock says what is wrong)
    kind = _lock_kind()
    if kind == "file":
        with _held_file(lock, target, busy):
            yield
        return
    with contextlib.ExitStack() as stack:
        f: BinaryIO
        try:
            f = stack.enter_context(open(lock, "a+b"))
        except OSError as exc:
            try:  # a read-only disk: a lock all the same (a build that must write fails later, clearly)
                f = stack.enter_context(open(lock, "rb"))
            except OSError:
                raise BuildFailed([disk_problem(target, exc)]) from None
        if kind == "msvcrt":
            import msvcrt  # (Windows only)

            f.seek(0)  # msvcrt locks bytes from the file position: always the first one
            try:
                msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
            except OSError:
                raise busy from None
            try:
                yield
            finally:
                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined,unused-ignore]
            return
        import fcntl

        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise busy from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _lock_kind() -> str:
    """"msvcrt" on Windows; "file" with the portable paths forced elsewhere, or without fcntl;
    else "fcntl". (The modules are imported only where they are used: fcntl is not on Windows.)"""
    if os.name == "nt":
        return "msvcrt"
    if portable():
        return "file"
    return "fcntl" if _fcntl() is not None else "file"


_STALE_EMPTY = 2.0  # seconds: an empty lock file this old is not one being made now (its holder writes at once)


@contextlib.contextmanager
def _held_file(lock: Path, target: Path, busy: BuildFailed) -> Iterator[None]:
    """The lock as a file that exists only while a build holds it (O_CREAT|O_EXCL: one process
    makes it), holding `<pid> <computer>` of its holder. A lock whose process is gone is taken
    over (`_take_over`)."""
    mine = f"{os.getpid()} {_host()}\n".encode()
    for _attempt in range(5):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if not _stale(lock) or not _take_over(lock):
                raise busy from None
            continue
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) and target.parent.is_dir():
                # a disk that cannot be written: no build can write this folder either; one that
                # must write fails later, clearly (as with the system's locks)
                yield
                return
            raise BuildFailed([disk_problem(target, exc)]) from None
        try:
            os.write(fd, mine)
            fcntl = _fcntl()
            if fcntl is not None:  # (and the system's lock too where there is one: a build that takes
                try:  # only that one sees this build)
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:  # such a build opened the file just now: it goes first (the file,
                    raise busy from None  # which it holds, is not taken over while it does)
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    if lock.read_bytes() == mine:  # (never remove a lock another build has since taken)
                        lock.unlink()
        finally:
            os.close(fd)
        return
    raise busy


def _fcntl() -> Any:
    """The fcntl module, or None where there is none (Windows)."""
    try:
        import fcntl
    except ImportError:
        return None
    return fcntl


def _system_held(lock: Path) -> bool:
    """Whether a build holds the system's lock (fcntl.flock) on this file now."""
    fcntl = _fcntl()
    if fcntl is None:
        return False
    try:
        with open(lock, "rb") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
    except OSError:
        pass
    return False


def _take_over(lock: Path) -> bool:
    """Remove a stale lock, one build at a time: a second file, made with O_EXCL too, guards the
    look and the removal, so that a build that judged the lock stale a moment ago cannot remove
    the lock another build has just taken. Whether the lock is gone (False: try later)."""
    guard = lock.with_name(f"{lock.name}.takeover")
    try:
        os.close(os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        with contextlib.suppress(OSError):  # left by a build killed while taking over
            if time.time() - guard.stat().st_mtime > _STALE_EMPTY:
                guard.unlink()
        return False
    except OSError:
        return False
    try:
        if _stale(lock):
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
        return not lock.exists()
    finally:
        with contextlib.suppress(OSError):
            guard.unlink()


def _host() -> str:
    import platform  # (only the portable lock names its holder's host)
    return platform.node()


def _stale(lock: Path) -> bool:
    """True when the lock file names a process of this computer that has ended (or was left
    empty by a holder killed while making it)."""
    try:
        text = lock.read_text(encoding="utf-8", errors="replace")
        age = time.time() - lock.stat().st_mtime
    except FileNotFoundError:
        return True  # (let go meanwhile: try again)
    except OSError:
        return False
    if _system_held(lock):  # a build that did not take the portable paths holds it
        return False
    parts = text.split()
    if not parts:  # (that build's lock file, left, or a holder killed between making it and writing in it)
        return age > _STALE_EMPTY
    if len(parts) > 1 and parts[1] != _host():
        return False  # a build on another computer (a shared folder): it cannot be asked
    try:
        pid = int(parts[0])
    except ValueError:
        return age > _STALE_EMPTY
    return not _alive(pid)


def _alive(pid: int) -> bool:
    """Whether process `pid` of this computer is running."""
    if pid == os.getpid():
        return True
    if os.name == "nt":  # pragma: no cover - Windows
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return bool(ctypes.get_last_error() == 5)  # type: ignore[attr-defined,unused-ignore]  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)  # (signal 0: only asks whether it exists)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
