"""A write that fails (a full or read-only disk, no permission...), told to people.

Before the swap a failure is a WriteFailed, which the callers turn into a BuildFailed naming the
output folder (nothing in it was changed). After the swap the new output is live and only
bookkeeping is left (the manifest, the files beside the folder): its failures are warnings.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import WARNING, BuildFailed, Problem


class WriteFailed(OSError):
    """Writing the output failed (disk full, read-only, no permission...). Keeps the errno and
    the file of the original error, and crosses intact from a worker process (it pickles)."""


def as_failed(exc: OSError, path: object = None) -> WriteFailed:
    """Any OSError of a write as a WriteFailed (one already is returned as it is)."""
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


@contextlib.contextmanager
def failed_writes(target: Path) -> Iterator[None]:
    """A WriteFailed inside (from this process or a worker) as a BuildFailed naming `target`."""
    try:
        yield
    except WriteFailed as exc:
        raise BuildFailed([disk_problem(target, exc)]) from None
