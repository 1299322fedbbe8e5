"""Deterministic walk of content/ → SourceFile and Asset values.

Skips dotfiles and editor leftovers (foo.md~, #foo.md#, .foo.swp) so a file
open in an editor never breaks a build.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import personal, portable, safetree
from .attachtext import ARCHIVE_SUFFIXES, TEXT_SUFFIXES, UNSCANNED_SUFFIXES, extract
from .config import SiteConfig
from .errors import Problem, Problems
from .i18n import N_, _, t
from .images import is_raster
from .mediameta import ISO_SUFFIXES, BadMedia, to_clear
from .safetree import Found, internal_report_in
from .text import XML_ILLEGAL, as_browsers_read

KINDS = ("stories", "pages", "campaigns")
ASSET_DIRS = ("images", "media", "files")


@dataclass(frozen=True)
class SourceFile:
    kind: str  # "story" | "page" | "campaign"
    path: str  # as shown to people: relative to the site folder, '/' separated
    text: str | None  # None: not read (the incremental layer knows it by its digest)
    digest: str = ""  # hash of the file's bytes
    unchanged: bool = False  # size, times and inode are those the last build recorded


@dataclass(frozen=True)
class Asset:
    """A file copied as-is: content/images/a.png → images/a.png."""

    source: Path
    out_path: str
    size: int
    mtime_ns: int = 0
    more: tuple[int, ...] = field(default=(), compare=False)  # its ctime and inode (a key of what was read of it)


@dataclass(frozen=True)
class Entry:
    """A source file found on disk, not read yet."""

    kind: str  # "story" | "page" | "campaign"
    full: str  # absolute path
    path: str  # as shown to people (SourceFile.path)
    stat: tuple[int, int, int, int]  # size, mtime, ctime, inode: ctime cannot be set back by a copy
    # "preserving times", so any write to the file changes this


@dataclass(frozen=True)
class Sources:
    entries: tuple[Entry, ...]
    assets: tuple[Asset, ...]


def _ignored(name: str) -> bool:
    return (name.startswith((".", "#", "~", "__")) or name.endswith(("~", ".swp", ".tmp", ".bak")))


def _walk(config: SiteConfig, top: str, problems: Problems, taken: Mapping[str, os.stat_result]) -> list[Found]:
    """Files below `top`, sorted by name at every level; links out of content/ (or loops) are errors."""
    found, trouble = safetree.walk(top, str(config.content_dir), _ignored, str(config.root), taken)
    problems.extend(trouble)
    return found


def _strip_illegal(shown: str, text: str, problems: Problems) -> str:
    for line_no, line in enumerate(text.split("\n"), 1):
        for m in XML_ILLEGAL.finditer(line):
            problems.warning(shown, line_no, None,
                             t("removed invisible control character U+{code} at column {column} (often pasted "
                               "from Word); it is not allowed in feeds",
                               code=f"{ord(m.group()):04X}", column=m.start() + 1),
                             _("retype the text around it, or leave it: the build removes it"))
    return XML_ILLEGAL.sub("", text)


def display_path(config: SiteConfig, path: Path) -> str:
    full, root = str(path), str(config.root) + os.sep
    if full.startswith(root):
        return full[len(root):].replace(os.sep, "/")
    return full


def line_naming(config: SiteConfig, source: str, needle: str, start: int = 1) -> int | None:
    """The first line of a content file, from line `start` on, that names `needle` (for a problem
    with a reference): as written, else in a spelling a browser reads as it (text.as_browsers_read:
    an address written with %2E or full-width letters)."""
    try:
        text = (config.root / source).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    start = max(start, 1)
    lines = text.splitlines()[start - 1:]
    for read in (str, as_browsers_read):
        for no, line in enumerate(lines, start):
            if needle and needle in read(line):
                return no
    return None


def discover(config: SiteConfig, problems: Problems, taken: Mapping[str, os.stat_result] | None = None) -> Sources:
    """Every source file (not read) and asset under content/, in a stable order. `taken`: the
    files' stats this run has already taken (nochange.signature), by path: not taken again."""
    taken = taken or {}
    entries: list[Entry] = []
    root = str(config.root) + os.sep
    for folder, kind in (("stories", "story"), ("pages", "page"), ("campaigns", "campaign")):
        for found in _walk(config, str(config.content_dir / folder), problems, taken):
            full = found.path
            shown = full[len(root):].replace(os.sep, "/") if full.startswith(root) else full
            dot = found.name.rfind(".")  # (os.path.splitext's suffix: names that start with a dot are ignored)
            suffix = found.name[dot:].lower() if dot > 0 else ""
            if suffix != ".md":
                if suffix in (".markdown", ".txt", ".docx", ".doc"):
                    problems.warning(shown, None, None,
                                     t("ignored: only .md files are read in {folder}/", folder=folder),
                                     _("rename it to end in .md"))
                continue
            st = found.stat
            entries.append(Entry(kind, full, shown, (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)))
    assets: list[Asset] = []
    media_real: tuple[str, ...] | None = None
    for folder in ASSET_DIRS:
        for found in _walk(config, str(config.content_dir / folder), problems, taken):
            path = Path(found.path)
            rel = path.relative_to(config.content_dir).as_posix()
            shown = f"{config.content_dir.name}/{rel}"
            if os.path.islink(found.path):  # (one inside content/, or the walk refused it)
                if media_real is None:
                    media_real = tuple(os.path.realpath(config.content_dir / d) + os.sep for d in ASSET_DIRS)
                real = os.path.realpath(found.path)
                if not real.startswith(media_real):
                    problems.error(shown, None, None,
                                   # TRANSLATORS: 原文：这是一个链接，指向网站的另一个文件 {target}（稿件、页面
                                   # 或学习活动，不是图片或附件）：作为附件发布，会把暂不发布的内容或私密信息公开出去
                                   t("this is a link to {target}, a file of the site that is not an image or an "
                                     "attachment (a story, page or campaign): published as an attachment it "
                                     "would show what is held back or private",
                                     target=safetree.shown(real, os.path.realpath(config.root))),
                                   # TRANSLATORS: 原文：删除这个链接；要附上稿件，请附它发布后的 PDF
                                   _("delete the link; to attach a story, attach a PDF of it as published"))
                    continue
            suffix = path.suffix.lower()
            if suffix in ACTIVE_TYPES:
                problems.error(shown, None, None,
                               # TRANSLATORS: 原文：{suffix} 文件在浏览器里可以运行脚本或冒充网站页面，
                               # 不能作为图片或附件发布
                               t("{suffix} files can run scripts in a browser or pass for a page of this site: "
                                 "they cannot be published as images or attachments", suffix=suffix),
                               # TRANSLATORS: 原文：图片请存为 PNG 或 JPEG，文档请存为 PDF
                               _("save images as PNG or JPEG and documents as PDF"))
                continue
            # a photo's addresses are made from its name (its sizes, the theme's links, the feeds): Windows
            # allows both, a web address cannot hold them as written (an attachment's link is the author's own)
            if ("#" in rel or "%" in rel) and is_raster(rel):
                char = "#" if "#" in rel else "%"
                problems.error(shown, None, None,
                               # TRANSLATORS: 原文：名称里有 {char}：它在网址里另有含义（井号之后是页内位置，
                               # 百分号引出编码），网站上这张图片或这个附件会打不开
                               t("the name holds {char}, which means something else in a web address (what follows "
                                 "a hash sign is a place in the page, a percent sign starts an escape): the image or "
                                 "attachment would not open on the site", char=char),
                               _("rename the file or folder: letters, digits, Chinese characters, '-' and '_'"))
                continue
            st = found.stat
            assets.append(Asset(path, rel, st.st_size, st.st_mtime_ns, (st.st_ctime_ns, st.st_ino)))
    _portable_names([e.path for e in entries] + [f"{config.content_dir.name}/{a.out_path}" for a in assets], problems)
    return Sources(tuple(entries), tuple(assets))


def _portable_names(shown: list[str], problems: Problems) -> None:
    """File names that would not survive a copy to Windows: refused on every platform."""
    for path, problem in portable.path_problems(shown):
        problems.error(path, None, None, problem,
                       _("rename the file or folder: letters, digits, Chinese characters, '-' and '_'"))
    for earlier, later in portable.collisions(shown):
        problems.error(later, None, None,
                       t("differs from {other} only in upper and lower case: on Windows both are one file",
                         other=earlier), _("rename one of the two"))


# Files a browser runs or renders as a page of the site's own origin: never published as media.
ACTIVE_TYPES = frozenset({".html", ".htm", ".xhtml", ".shtml", ".svg", ".svgz", ".js", ".mjs", ".xml", ".xsl",
                          ".xslt", ".swf", ".php", ".jsp", ".asp", ".aspx", ".cgi", ".hta", ".mht", ".mhtml"})


# a content file's front matter: a '---' line first, a '---' line later
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?:.*\r?\n)*?---[ \t]*(?:\r?\n|\Z)")


def attachment_problems(path: str, shown: str, allowed: frozenset[str]) -> list[Problem]:
    """What stops an attachment (a file under content/ other than a photo) from being published,
    read from the file (a pure function of it: the incremental layer reuses its result while the
    file is unchanged): personal data in its text (attachtext.extract: plain text, Office and WPS
    files, PDF), hidden content (tracked changes, comments, hidden text or sheets, files embedded
    in a PDF), a story file copied in as an attachment, an archive (what it holds cannot be
    checked), a video that cannot be read far enough to clear its metadata."""
    problems = Problems()
    suffix = os.path.splitext(path)[1].lower()
    try:
        if suffix in ISO_SUFFIXES:
            with open(path, "rb") as f:
                to_clear(f)
            return []
        if suffix in ARCHIVE_SUFFIXES:
            problems.error(shown, None, None,
                           # TRANSLATORS: 原文：压缩包里的文件无法逐一检查（个人信息、修订和批注），不能发布
                           _("what an archive holds cannot be checked (personal data, tracked changes, comments): "
                             "it cannot be published"),
                           # TRANSLATORS: 原文：把里面要发布的文件解压出来，一个一个作为附件发布
                           _("take out the files to publish and attach each on its own"))
            return problems.items
        if suffix in UNSCANNED_SUFFIXES:
            return []
        found = extract(path)
    except OSError:
        return []  # (copying it reports what is wrong with it)
    except BadMedia as exc:
        problems.error(shown, None, None,
                       # TRANSLATORS: 原文：这个视频或音频文件读不懂（{reason}），不能发布：
                       # 看不出它是否记着拍摄地点等信息，也就没法把这些信息去掉
                       t("this video or sound file cannot be read ({reason}): it is not published, since "
                         "it cannot be told whether it holds where it was filmed, nor can that be removed",
                         reason=str(exc)),
                       # TRANSLATORS: 原文：用手机或剪辑软件重新导出一份 MP4，再放回这里
                       _("export it again as MP4 from the phone or editing software, and put that here"))
        return problems.items
    if found.unreadable:
        problems.error(shown, None, None,
                       # TRANSLATORS: 原文：这个附件读不懂（{reason}），不能发布：无法检查里面有没有个人信息
                       t("this attachment cannot be read ({reason}): it is not published, since it cannot be "
                         "checked for personal data", reason=_(found.unreadable)),
                       # TRANSLATORS: 原文：重新保存一份（最好另存为 PDF），再放回这里
                       _("save it again (best as PDF) and put that here"))
        return problems.items
    if suffix in TEXT_SUFFIXES and found.parts and _FRONT_MATTER.match(found.parts[0][1]):
        problems.error(shown, 1, None,
                       # TRANSLATORS: 原文：这个附件是一篇稿件、页面或学习活动的源文件（以 --- 开头的字段）：
                       # 照原样发布，会连同 private: 等字段一起公开
                       _("this attachment is the source file of a story, page or campaign (it starts with its "
                         "fields between --- lines): published as it is, its private: block and every field "
                         "would go out"),
                       # TRANSLATORS: 原文：删除它；要附上稿件，请附它发布后的 PDF
                       _("delete it; to attach a story, attach a PDF of it as published"))
        return problems.items
    if any(internal_report_in(text) for _where, text in found.parts):
        problems.error(shown, None, None,
                       # TRANSLATORS: 原文：这个附件是内部报表（考核或选树进度）的副本：里面有考核备注等个人信息
                       # 和还没公开的稿件，绝不能发布
                       _("this attachment is a copy of an internal report (assessments or the pipeline): it holds "
                         "private assessment notes and stories not yet public, and must never be published"),
                       # TRANSLATORS: 原文：删除它；内部报表只留在 reports/ 里，只给领导看
                       _("delete it; the internal reports stay in reports/, for the leaders only"))
        return problems.items
    for kind in found.hidden:
        problems.error(shown, None, None,
                       # TRANSLATORS: 原文：附件里有{what}：平时看不到，但会随文件一起发出去，下载的人都能看到
                       t("the attachment holds {what}: not seen at a glance, but it goes out with the file and "
                         "whoever downloads it can read it", what=_(kind)),
                       # TRANSLATORS: 原文：在 Word/WPS 里接受或拒绝全部修订、删除全部批注、取消隐藏并检查；
                       # 最稳妥的是另存为 PDF 再发布
                       _("accept or reject every tracked change, delete the comments, unhide what is hidden and "
                         "check it (in Word or WPS); safest of all, save it as PDF and publish that"))
    for where, text in found.parts:
        strict = suffix not in TEXT_SUFFIXES  # (a document's lines and cells part a table's figures)
        labels = list(dict.fromkeys(f.label for f in personal.find(text, allowed, strict=strict)))
        if not labels:
            continue
        # the lines of a text file, to say where; a number split over two lines is found only in
        # the whole text, and is reported without a line (never left out)
        lines: list[tuple[int | None, str]] = [(no, label) for no, line in enumerate(text.splitlines(), 1)
                 for label in dict.fromkeys(f.label for f in personal.find(line, allowed))] \
            if suffix in TEXT_SUFFIXES else []
        at = _part_name(where)
        for no, label in lines or [(None, label) for label in labels]:
            problems.error(shown, no, None,
                           # TRANSLATORS: 原文：附件里有{what}（为保护个人信息，这里不显示号码）
                           t("the attachment holds {what} (not shown here, to protect personal data)",
                             what=_(label)) + (f" ({at})" if at else ""),
                           # TRANSLATORS: 原文：删除它，或不要发布这个附件；
                           # 公开的值班电话请列入 site_config.yaml 的 public_numbers
                           _("delete it, or do not publish this attachment; list public duty numbers under "
                             "public_numbers in site_config.yaml"))
    return problems.items


def _part_name(where: str) -> str:
    """Where in an attachment, for people: a page of a PDF, the body or the comments of a
    document, a sheet."""
    if where.startswith("page "):
        return t("page {n}", n=where[5:])
    names = [("document properties", N_("document properties")), ("docProps/", N_("document properties")),
             ("bookmarks", N_("bookmarks")),
             ("word/document", N_("the text")), ("word/comments", N_("comments")), ("word/header", N_("header")),
             ("word/footer", N_("footer")), ("word/footnotes", N_("footnotes")), ("word/endnotes", N_("endnotes")),
             ("xl/sharedStrings", N_("cells")), ("xl/worksheets/", N_("a sheet")), ("xl/comments", N_("comments")),
             ("ppt/slides/", N_("a slide")), ("ppt/notesSlides/", N_("speaker notes")), ("content.xml", N_("the text")),
             ("meta.xml", N_("document properties"))]
    return next((_(name) for prefix, name in names if where.startswith(prefix)), where)


def read_entry(entry: Entry, problems: Problems) -> SourceFile | None:
    """The text of a source file found by `discover`."""
    return _read(entry.full, entry.kind, entry.path, problems)


def read(config: SiteConfig, src: SourceFile, problems: Problems) -> SourceFile | None:
    """The text of a file `discover` did not read. A file that changed since then (its digest
    differs) is an error: the build must start again."""
    found = _read(str(config.root / src.path), src.kind, src.path, problems)
    if found is not None and src.digest and found.digest != src.digest:
        problems.error(src.path, None, None, _("the file changed while the site was being built"),
                       _("run the build again"))
        return None
    return found if found is None else SourceFile(found.kind, found.path, found.text, found.digest, src.unchanged)


# A story is a few thousand characters; a file far larger is a mistake (a pasted document, a
# generated file) that would only make every page slow. Attachments go under content/files/.
MAX_SOURCE_BYTES = 1024 * 1024


def _read_bytes(path: str) -> bytes:
    """The file's first MAX_SOURCE_BYTES + 1 bytes (or all of it). Asked for by the file's size,
    not by the cap: a read of the cap allocates and frees a 1 MB buffer each time (an `mmap`,
    `mremap` and `munmap`), which made reading a story ~3 times as slow (~45 against ~15 µs)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        raw = f.read(min(size, MAX_SOURCE_BYTES) + 1)
        if len(raw) > size:  # (it grew since, or its size says nothing: the rest, up to the cap)
            raw += f.read(MAX_SOURCE_BYTES + 1 - len(raw))
        return raw


def _read(path: str, kind: str, shown: str, problems: Problems) -> SourceFile | None:
    try:
        raw = _read_bytes(path)
    except OSError as exc:
        problems.error(shown, None, None,
                       # TRANSLATORS: 原文：无法读取这个文件（{reason}）
                       t("this file cannot be read ({reason})", reason=exc.strerror or type(exc).__name__),
                       # TRANSLATORS: 原文：检查文件是否还在、是否被其他程序锁定，以及读取权限
                       _("check that the file is still there, that no other program has it locked, "
                         "and that it may be read"))
        return None
    if len(raw) > MAX_SOURCE_BYTES:
        problems.error(shown, None, None,
                       # TRANSLATORS: 原文：文件太大（超过 {size} MB），一篇稿件不应这么长
                       t("the file is too large (over {size} MB): a story is never this long",
                         size=MAX_SOURCE_BYTES // (1024 * 1024)),
                       # TRANSLATORS: 原文：删去粘贴进来的多余内容；图片、视频和附件放在 content/images、
                       # content/media 或 content/files 中，在正文里链接
                       _("delete what was pasted in by mistake; put pictures, videos and attachments in "
                         "content/images, content/media or content/files and link to them from the text"))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.error(shown, line, None, _("the file is not UTF-8 text (perhaps saved as GBK/ANSI)"),
                       # TRANSLATORS: 原文：save it as UTF-8 (记事本: 另存为 → 编码 UTF-8)
                       _("save it as UTF-8 (Notepad: Save As → Encoding UTF-8)"))
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if XML_ILLEGAL.search(text):
        text = _strip_illegal(shown, text, problems)
    return SourceFile(kind, shown, text, hashlib.blake2b(raw, digest_size=16).hexdigest())
