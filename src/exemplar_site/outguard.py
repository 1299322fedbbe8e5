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
import fcntl
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import BuildFailed, Problem
from .model import Output
from .writefail import disk_problem

PUBLIC = "public"
INTERNAL = "internal"
SMS = "sms"
MARKER = ".exemplar-site"
INTERNAL_MARKER = ".exemplar-internal"
SMS_MARKER = ".exemplar-sms"
MARKERS = {PUBLIC: MARKER, INTERNAL: INTERNAL_MARKER, SMS: SMS_MARKER}  # kind → its marker file
KIND_OF = {marker: kind for kind, marker in MARKERS.items()}
MARKER_TEXT = {  # what the marker file says to someone who opens the folder
    PUBLIC: b"This folder is written by exemplar-site; every build replaces its contents.\n",
    INTERNAL: "INTERNAL REPORTS (内部资料): never publish this folder. Written by exemplar-site.\n".encode(),
    SMS: "SMS export (短信导出) written by exemplar-site; every export replaces its contents.\n".encode(),
}
# what a user reads about each kind of folder, and where it usually goes
_NAMES = {PUBLIC: "公开网站", INTERNAL: "内部报表（内部资料 internal reports）", SMS: "短信导出文件"}
_EXAMPLES = {PUBLIC: "--output public", INTERNAL: "--output reports", SMS: "--output sms-export"}


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
    others = [k for m, k in KIND_OF.items() if k != kind and (t / m).exists()]
    if others:
        return [Problem(str(t), None, None, f"这个文件夹里是{_NAMES[others[0]]}，{name}不能写在这里",
                        f"为{name}另选一个文件夹，例如 {_EXAMPLES[kind]}")]
    for up in t.parents:
        inside = [k for m, k in KIND_OF.items() if (up / m).exists()]
        if inside:
            why = "（放在网站里会被一起发布出去）" if inside[0] == PUBLIC and kind != PUBLIC else ""
            return [Problem(str(t), None, None, f"这个文件夹在{_NAMES[inside[0]]}的文件夹 {up} 里面，"
                                                f"{name}不能放在那里{why}",
                            f"{up} 以外的文件夹，例如 {_EXAMPLES[kind]}")]
    if t.is_dir() and not (t / MARKERS[kind]).exists() and any(t.iterdir()):
        return [Problem(str(t), None, None, "这个文件夹不是空的，也不是本工具生成的，不能替换它的内容",
                        f"一个空的或新的文件夹，例如 {_EXAMPLES[kind]}")]
    return []


def strays(target: Path, kind: str, known: dict[str, str]) -> list[str]:
    """One walk of a live output folder: what `known` (the manifest) does not list — files, and
    empty folders with a trailing / — to be removed from it. A folder inside holding another
    kind's marker is refused (BuildFailed), naming it."""
    found, marked = _scan(target, known, kind)
    if marked:
        raise BuildFailed([_marked(target, kind, sub) for sub in marked])
    return found


def _scan(tree: Path, known: dict[str, str], kind: str) -> tuple[list[str], list[str]]:
    """What `known` does not list, and the folders inside that hold another kind's marker."""
    found: list[str] = []
    marked: list[str] = []
    own = MARKERS[kind]

    def walk(path: str, prefix: str) -> bool:  # True: the folder is empty
        empty = True
        with os.scandir(path) as entries:
            for e in entries:
                empty = False
                name = e.name
                if e.is_dir(follow_symlinks=False):
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

    walk(str(tree), "")
    return found, marked


def _marked(target: Path, kind: str, sub: str) -> Problem:
    """Another kind of output found inside this folder: refused, naming it."""
    where = target / sub
    other = next(k for m, k in KIND_OF.items() if (where / m).exists())
    why = "，留在网站里会被一起发布出去" if kind == PUBLIC else "，会被这次写入删掉"
    return Problem(str(where), None, None,
                   f"输出文件夹 {target} 里有{_NAMES[other]}（{sub}/）{why}",
                   f"先把 {where} 移到 {target} 以外，再运行一次")


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
