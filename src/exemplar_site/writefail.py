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
from .i18n import N_, _, t


class WriteFailed(OSError):
    """Writing the output failed (disk full, read-only, no permission...). Keeps the errno and
    the file of the original error, and crosses intact from a worker process (it pickles)."""


def as_failed(exc: OSError, path: object = None) -> WriteFailed:
    """Any OSError of a write as a WriteFailed (one already is returned as it is)."""
    if isinstance(exc, WriteFailed):
        return exc
    return WriteFailed(exc.errno or 0, exc.strerror or str(exc), str(exc.filename or path or ""))


_NO_PERMISSION = (
    # TRANSLATORS: 原文：没有写入权限
    N_("no permission to write"),
    # TRANSLATORS: 原文：检查这个文件夹和它上级文件夹的权限，或用 --output 换一个文件夹
    N_("check the permissions of this folder and of the folders above it, or choose another folder "
       "with --output"))
_DISK = {  # errno → (what happened, what to do), for people: message ids, shown with `_()`
    # TRANSLATORS: 原文：磁盘已满 / 腾出磁盘空间后再运行一次
    errno.ENOSPC: (N_("the disk is full"), N_("free some disk space, then run it again")),
    # TRANSLATORS: 原文：超出了磁盘配额 / 腾出空间或请管理员提高配额后再运行一次
    errno.EDQUOT: (N_("the disk quota is used up"),
                   N_("free some space, or ask the administrator for a larger quota, then run it again")),
    # TRANSLATORS: 原文：磁盘是只读的 / 确认磁盘没有以只读方式挂载，或用 --output 换一个可以写入的文件夹
    errno.EROFS: (N_("the disk is read-only"),
                  N_("make sure the disk is not mounted read-only, or choose a folder that can be written "
                     "with --output")),
    errno.EACCES: _NO_PERMISSION,
    errno.EPERM: _NO_PERMISSION,
    # TRANSLATORS: 原文：磁盘读写出错 / 检查磁盘后再运行一次
    errno.EIO: (N_("the disk failed to read or write"), N_("check the disk, then run it again")),
    # TRANSLATORS: 原文：要用的文件不见了（可能被别的程序移走或删除了） / 再运行一次
    errno.ENOENT: (N_("a file that was needed is gone (perhaps another program moved or deleted it)"),
                   N_("run it again")),
}


def _reason(exc: OSError) -> tuple[str, str]:
    """What happened and what to do, in the user's language."""
    known = _DISK.get(exc.errno or 0)
    if known is not None:
        return _(known[0]), _(known[1])
    # TRANSLATORS: 原文：系统报错：{reason} / 排除这个问题后再运行一次
    return t("the system reported an error: {reason}", reason=exc.strerror or exc), _("fix this, then run it again")


def disk_problem(folder: Path, exc: OSError) -> Problem:
    """A failed write as an error naming the output folder (nothing in it was changed)."""
    reason, todo = _reason(exc)
    if exc.filename:
        # TRANSLATORS: 原文：写入失败：{reason}（{file}）。这个文件夹保持原样，没有任何改动
        message = t("writing failed: {reason} ({file}). Nothing in this folder was changed",
                    reason=reason, file=exc.filename)
    else:
        # TRANSLATORS: 原文：写入失败：{reason}。这个文件夹保持原样，没有任何改动
        message = t("writing failed: {reason}. Nothing in this folder was changed", reason=reason)
    return Problem(str(folder), None, None, message, todo)


def late_problem(path: Path, exc: OSError) -> Problem:
    """A file that could not be written once the new output was live: a warning."""
    reason, todo = _reason(exc)
    return Problem(str(path), None, None,
                   # TRANSLATORS: 原文：输出已经更新，但这个文件没能写入：{reason}
                   t("the output was updated, but this file could not be written: {reason}", reason=reason),
                   # TRANSLATORS: 原文：{todo}（下次运行会重新写它）
                   t("{todo} (the next run writes it again)", todo=todo), WARNING)


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
