"""A deterministic walk of a folder that never leaves it.

Every folder the build reads (content/, a theme) goes through `walk`: a
symbolic link whose real path lies outside the folder's own real path is an
error naming the link, never followed; a link that points nowhere, or a
folder reached twice through links (a loop), is an error too, not a
traceback. Links that stay inside the folder are followed, so the build and
the "nothing changed" shortcut (which walks the same way) see the same files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

from .errors import Problem
from .i18n import _, t

# The marker files of the folders that are never published (outguard: each output folder holds
# one kind of thing): a folder of the site's own files that holds one is refused whole.
INTERNAL_MARKER = ".exemplar-internal"  # the internal reports (内部资料)
SMS_MARKER = ".exemplar-sms"  # an SMS export


# The CSV columns, (English header, Chinese header): a file format chosen by `csv_headers`, not a
# message in the user's language (an integration reading the English headers must not meet Chinese ones
# because someone ran `--lang zh`, nor the reverse).
ASSESSMENT_COLUMNS = (
    ("exemplar_id", "典型编号"), ("name", "姓名/名称"), ("kind", "类别"), ("unit", "单位"), ("level", "级别"),
    ("assessor", "考核单位"), ("period_months", "考核周期（月）"), ("last_assessed", "上次考核日期"),
    ("last_result", "上次考核结果"), ("last_notes", "上次考核备注"), ("next_due", "下次应考核日期"),
    ("overdue", "是否逾期"), ("days_overdue", "逾期天数"))
PIPELINE_COLUMNS = (
    ("id", "编号"), ("title", "标题"), ("name", "典型"), ("unit", "单位"), ("status", "状态"), ("date", "日期"),
    ("waiting_for", "等待"), ("detail", "说明"), ("file", "文件"))

# The title of the internal reports' pages, in both languages (reports.py): a copy of one among the
# site's files is refused like a report's folder
REPORT_TITLES = ("内部管理报表", "internal management reports")


# Words only the internal reports' tables use (column names of the assessments and quotas, the
# pipeline's): two of one report's anywhere in a text mark a copy of it, its header row cut down,
# retyped or gone (a column name kept in a cell, a note)
REPORT_WORDS = (
    ("上次考核备注", "下次应考核日期", "上次考核结果", "考核周期（月）", "逾期天数", "上次考核日期", "考核单位"),
    ("last_notes", "next_due", "last_result", "period_months", "days_overdue", "last_assessed"),
    ("任务级别", "计入任务数", "单位类型", "是否完成"),
    ("target_level", "qualifying", "unit_type"),
    ("waiting_for",),
)


def internal_report_in(text: str) -> bool:
    """Whether `text` (an attachment's, as attachtext reads it: a CSV, a sheet's cells, a document's
    tables) is a copy of an internal report: the assessments' or the pipeline's header, in either
    language, its names in order and close together (a table's header row, whatever parts the cells),
    two of one report's own column names (REPORT_WORDS), or the reports' title."""
    lowered = text.lower()
    if any(title in lowered for title in REPORT_TITLES):
        return True
    if any(sum(word in lowered for word in words) >= min(2, len(words)) for words in REPORT_WORDS):
        return True
    for columns in (ASSESSMENT_COLUMNS, PIPELINE_COLUMNS):
        for names in (tuple(e for e, _c in columns), tuple(c for _e, c in columns)):
            if _in_order(lowered, names, sum(map(len, names)) + 4 * len(names)):
                return True
    return False


def _in_order(text: str, names: tuple[str, ...], span: int) -> bool:
    """Whether `names` occur in `text` one after the other, the whole run within `span` characters."""
    start = text.find(names[0])
    while start != -1:
        at = start + len(names[0])
        for name in names[1:]:
            at = text.find(name, at)
            if at == -1 or at - start > span:
                break
            at += len(name)
        else:
            return True
        start = text.find(names[0], start + 1)
    return False


class Found(NamedTuple):  # (a tuple: 100,000 of them are made in a walk of a large site)
    path: str  # as walked (under `top`), for messages and output names
    name: str
    stat: os.stat_result  # of the file itself (links followed)


def shown(path: str, base: str) -> str:
    """`path` as the author sees it: '/'-separated below `base`, else as it is."""
    prefix = base.rstrip(os.sep) + os.sep
    return path[len(prefix):].replace(os.sep, "/") if base and path.startswith(prefix) else path


def dead_link(folder: Path) -> tuple[Path, Path] | None:
    """(the link, where it leads) when `folder`, or a folder above it, is a link to nothing (a disk
    not attached, a link mistyped, a link to itself): an output folder written through it would
    land on whatever disk is there now."""
    for p in (folder, *folder.parents):
        try:
            if p.exists():
                return None
            if p.is_symlink():
                return p, Path(os.path.realpath(p))  # (realpath: a loop is no exception)
        except OSError:  # (a folder above that cannot be looked into: the write says so)
            return None
    return None


def inside(real: str, root_real: str) -> bool:
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def walk(top: str, root: str | None = None, ignored: Callable[[str], bool] = lambda name: False,
         shown_base: str = "", taken: Mapping[str, os.stat_result] | None = None) -> tuple[list[Found], list[Problem]]:
    """Files below `top`, sorted by name at every level. `root` (default `top`) is the folder no
    file may lead out of. Paths in messages are shown relative to `shown_base`. `taken`: the stat
    (links followed) of files by their path as walked, already taken by this run (the input
    signature's walk, a moment before): not taken again."""
    root_real = os.path.realpath(root or top)
    found: list[Found] = []
    problems: list[Problem] = []
    if not os.path.isdir(top):
        return found, problems
    top_real = os.path.realpath(top)
    if not inside(top_real, root_real):
        problems.append(_outside(top, top_real, shown_base))
        return found, problems
    _walk(top, root_real, ignored, shown_base, {top_real}, found, problems, taken or {})
    return found, problems


def _outside(path: str, real: str, shown_base: str) -> Problem:
    return Problem(shown(path, shown_base), None, None,
                   # TRANSLATORS: 原文：这是一个指向网站文件夹以外的链接（指向 {target}），构建不会读取或发布它
                   t("this is a link to a place outside the site folder ({target}): the build neither reads "
                     "nor publishes it", target=real),
                   # TRANSLATORS: 原文：把要发布的文件本身复制到这个文件夹里，再删除这个链接
                   _("copy the file itself into this folder, then delete the link"))


def _walk(folder: str, root_real: str, ignored: Callable[[str], bool], shown_base: str,
          active: set[str], found: list[Found], problems: list[Problem], taken: Mapping[str, os.stat_result]) -> None:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        problems.append(Problem(shown(folder, shown_base), None, None,
                                # TRANSLATORS: 原文：无法读取这个文件夹（{reason}）
                                t("this folder cannot be read ({reason})", reason=exc.strerror or exc),
                                # TRANSLATORS: 原文：检查文件夹的权限
                                _("check the folder's permissions")))
        return
    marker = next((e.name for e in entries if e.name in (INTERNAL_MARKER, SMS_MARKER)), None)
    if marker is not None:
        problems.append(Problem(shown(folder, shown_base), None, None,
                                # TRANSLATORS: 原文：这个文件夹里是内部资料（报表）或短信导出文件（里面有 {marker}），
                                # 绝不能发布：构建不会读取或发布其中任何文件
                                t("this folder holds the internal reports or an SMS export (it has {marker} in "
                                  "it), which are never published: the build neither reads nor publishes "
                                  "anything in it", marker=marker),
                                # TRANSLATORS: 原文：把这个文件夹移出网站的文件（content/ 和主题文件夹）；
                                # 报表和短信导出要写到它们自己的文件夹里
                                _("move this folder out of the site's own files (content/ and the theme folders); "
                                  "reports and SMS exports go to folders of their own")))
        return
    for entry in entries:
        if ignored(entry.name):
            continue
        path = entry.path
        try:
            link = entry.is_symlink()
            if link:
                try:
                    real = os.path.realpath(path, strict=True)
                except OSError as exc:
                    loop = "loop" in str(exc).lower() or getattr(exc, "errno", None) == 40
                    problems.append(Problem(
                        shown(path, shown_base), None, None,
                        # TRANSLATORS: 原文：这个链接绕成了一个圈（链接指向它自己所在的路径）
                        _("this link goes round in a circle (it points to the path it is in)") if loop
                        # TRANSLATORS: 原文：这个链接指向的文件不存在
                        else _("the file this link points to does not exist"),
                        # TRANSLATORS: 原文：删除这个链接，或换成文件本身
                        _("delete the link, or put the file itself in its place")))
                    continue
                if not inside(real, root_real):
                    problems.append(_outside(path, real, shown_base))
                    continue
            is_dir = entry.is_dir()
            if is_dir:
                real_dir = os.path.realpath(path)
                if not inside(real_dir, root_real):  # (not a link, yet outside: a Windows junction)
                    problems.append(_outside(path, real_dir, shown_base))
                    continue
                if real_dir in active:
                    problems.append(Problem(shown(path, shown_base), None, None,
                                            # TRANSLATORS: 原文：这个文件夹链接绕成了一个圈（指向它上层的文件夹）
                                            _("this folder link goes round in a circle (it points to a folder "
                                              "above it)"),
                                            # TRANSLATORS: 原文：删除这个链接
                                            _("delete the link")))
                    continue
                active.add(real_dir)
                _walk(path, root_real, ignored, shown_base, active, found, problems, taken)
                active.discard(real_dir)
            elif entry.is_file():
                st = taken.get(path) or entry.stat()
                if st.st_nlink > 1:  # another name of a file that may live anywhere on the disk
                    problems.append(Problem(
                        shown(path, shown_base), None, None,
                        # TRANSLATORS: 原文：这个文件是一个“硬链接”（同一个文件在别处还有名字），
                        # 无法确认它属于网站，构建不会读取或发布它
                        _("this file is a 'hard link' (the same file has another name elsewhere): it cannot be "
                          "told to belong to the site, so the build neither reads nor publishes it"),
                        # TRANSLATORS: 原文：把文件本身复制一份放在这里（复制，不要链接），再删除这个硬链接
                        _("put a copy of the file itself here (a copy, not a link), then delete the hard link")))
                    continue
                found.append(Found(path, entry.name, st))
        except OSError as exc:
            problems.append(Problem(shown(path, shown_base), None, None,
                                    # TRANSLATORS: 原文：无法读取（{reason}）
                                    t("cannot be read ({reason})", reason=exc.strerror or exc),
                                    # TRANSLATORS: 原文：检查文件的权限
                                    _("check the file's permissions")))
    return
