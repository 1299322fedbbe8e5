"""Publishing a built edition to the web server: immutable releases, an atomic switch, rollback.

A deploy target (a folder on this machine, or `user@host:/path` over ssh and rsync) holds:

    TARGET/.exemplar-deploy          marker: this folder belongs to `deploy`
    TARGET/current -> releases/<name>   what nginx serves (a relative symbolic link)
    TARGET/releases/<time>-<digest>/ one folder per deploy, exactly the files of the build
    TARGET/meta/<name>/SHA256SUMS    every file's SHA-256 (what the release is checked against)
    TARGET/meta/<name>/withdrawn.map the withdrawn addresses of that edition
    TARGET/meta/<name>/BAD           a release marked bad: rollback skips it
    TARGET/meta/<name>/VALID_UNTIL   when the vetting of a story in it runs out (rollback refuses it then)
    TARGET/withdrawn.map             the current release's map, included by the nginx config

A deploy first checks the edition (a site build, never a drafts build nor anything carrying the
internal-reports or SMS marker, and exactly the files the build's manifest lists), takes every
file's digest under the build's lock, then puts the files into a new release folder: a file whose
digest equals the current release's is hard-linked from it (same inode, hence same mtime and
nginx ETag: clients keep answering 304), the rest are copied. The release is verified (the file
set, every digest, internal links, feeds parse) before anything is switched; then a new symbolic
link is renamed over `current` (atomic: every request sees the old or the new release, never a
mix), the map is replaced, and releases beyond `keep` are removed. A failure before the switch
removes the half-made release and leaves `current` as it was.

Where symbolic links cannot be made or renamed over each other (Windows without Developer Mode),
a local deploy is refused before anything is written: deploy from there to the server instead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import html
import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .config import INTRANET, SiteConfig, load_config
from .errors import WARNING, BuildFailed, Problem
from .i18n import _, t
from .manifest import identity, intact, load_manifest
from .nochange import built_from_current_inputs
from .outguard import INTERNAL_MARKER, MARKER, SMS_MARKER, drafts_build, exclusive
from .pipeline import last_build_times, withdrawn_map_path
from .runs import BuildOptions

try:  # (not on Windows: a local deploy is refused there anyway, see `symlinks_work`)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

RELEASES, META, CURRENT, MAP = "releases", "meta", "current", "withdrawn.map"
SUMS, BAD, TARGET_MARKER = "SHA256SUMS", "BAD", ".exemplar-deploy"
VALID_UNTIL = "VALID_UNTIL"
LOCK = ".deploy.lock"
INCOMING = ".incoming-"  # a release being made: never listed, removed when it fails
NAME_RE = re.compile(r"^\d{8}-\d{6}(\.\d+)?-[0-9a-f]{12}$")
EMPTY_MAP = b"# Written by exemplar-site: no withdrawn addresses yet.\n"
SSH = ("ssh", "-o", "BatchMode=yes")

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=3600)


# ---- where to -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Remote:
    host: str  # user@host or host
    path: str  # the folder on the server


_REMOTE_RE = re.compile(r"^((?:[^@/\\:\s]+@)?[^@/\\:\s]{2,}):(.+)$")  # (C:\… is a Windows drive, not a host)


def parse_remote(target: str) -> Remote | None:
    m = _REMOTE_RE.match(target)
    return Remote(m.group(1), m.group(2)) if m else None


def server_path(target: str, root: Path) -> str:
    """The target folder as the web server sees it (the path of a remote target; a local one made
    absolute against the site folder)."""
    remote = parse_remote(target)
    if remote:
        return remote.path.rstrip("/") or "/"
    return str((root / target).resolve()) if target else ""


# ---- the edition ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Edition:
    source: Path
    sums: dict[str, str]  # path → sha256 of every file (the marker included)
    map: bytes  # the withdrawn addresses (nginx map lines)
    valid_until: dt.datetime | None = None  # when the vetting of a story in it runs out (gate.first_expiry)

    def valid_until_text(self) -> bytes:
        """What meta/<name>/VALID_UNTIL holds: an ISO time, or nothing when no vetting runs out."""
        return self.valid_until.isoformat().encode() if self.valid_until and self.valid_until.year < dt.MAXYEAR \
            else b""

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for path, digest in sorted(self.sums.items()):
            h.update(f"{path}\0{digest}\n".encode())
        h.update(self.map)
        return h.hexdigest()[:12]

    def sums_text(self) -> bytes:
        return "".join(f"{d}  {p}\n" for p, d in sorted(self.sums.items())).encode()


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_files(root: Path) -> tuple[list[str], list[str]]:
    """(every regular file, everything else that is not a folder) under root, as posix paths."""
    files: list[str] = []
    odd: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if rel == "." else rel + "/"
        for d in dirnames:
            if os.path.islink(os.path.join(dirpath, d)):
                odd.append(prefix + d)
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            full = os.path.join(dirpath, name)
            (files if os.path.isfile(full) and not os.path.islink(full) else odd).append(prefix + name)
    return sorted(files), sorted(odd)


def read_edition(config: SiteConfig, source: Path, now: dt.datetime) -> Edition:
    """Check the built folder and take every file's digest. Call it under the build's lock
    (`outguard.exclusive(source)`), held until the files are copied, so that no build swaps the folder
    meanwhile. Raises BuildFailed for anything that must not be published; `now`: this run's clock
    (a build made as of a later time, with `--now`, shows what is scheduled for then)."""
    where = str(source)

    def refuse(message: str, accepted: str) -> BuildFailed:
        return BuildFailed([Problem(where, None, None, message, accepted)])

    if not source.is_dir() or not (source / MARKER).is_file():
        raise refuse(t("{folder} is not a site built by exemplar-site (it has no {marker} marker)",
                       folder=source, marker=MARKER),
                     _("build the site first (python build.py), then deploy its output folder"))
    imported = imported_times(source)
    built, until = imported if imported is not None else last_build_times(source)

    def aware(when: dt.datetime) -> dt.datetime:  # (naive: the site's time zone, as --now)
        return when if when.tzinfo else when.replace(tzinfo=config.tz)

    now = aware(now)
    # TRANSLATORS: 原文：请内网那边重新生成、重新导出，再导入
    again = _("ask the intranet side to build and export again, then import that") if imported is not None \
        else None
    if built is not None and aware(built) > now:
        # TRANSLATORS: 原文：{folder} 是按 {built} 生成的（用了 --now，或者生成它的电脑时钟比这台快），
        # 比现在（{now}）晚：里面可能有定时发布、还没到时间的稿件，不能发布
        raise refuse(t("{folder} was built as of {built} (with --now, or on a computer whose clock is ahead of this "
                       "one's), later than now ({now}): it may show stories scheduled for later, before their "
                       "time, and must not be published",
                       folder=source, built=_minutes(built, config), now=_minutes(now, config)),
                     # TRANSLATORS: 原文：不带 --now 重新生成（python build.py），再发布或导出
                     again or _("build again without --now (python build.py), then deploy or export"))
    if until is not None and aware(until) <= now:
        # TRANSLATORS: 原文：{folder} 是按 {built} 生成的；里面有一篇稿件的审核意见到 {until} 就过期了，
        # 现在（{now}）已经过了这个时间：这篇稿件不能再发布
        raise refuse(t("{folder} was built as of {built}; the vetting of a story in it ran out at {until}, and now "
                       "({now}) is past that: that story must not be published again",
                       folder=source, built=_minutes(built, config), until=_minutes(until, config),
                       now=_minutes(now, config)),
                     # TRANSLATORS: 原文：重新生成（python build.py），生成后立即发布或导出
                     again or _("build again (python build.py), then deploy or export right after it"))
    files, odd = tree_files(source)
    for p in files:
        if posixpath.basename(p) in (INTERNAL_MARKER, SMS_MARKER):
            # TRANSLATORS: 原文：……里有内部资料或短信导出文件（……），绝不能发布
            raise refuse(t("{folder} holds internal reports or SMS files ({file}): it must never be published",
                           folder=source, file=p),
                         _("move that folder out of the site's output, build again, then deploy"))
    if source.name.endswith("-drafts") or drafts_build(source):
        # TRANSLATORS: 原文：这是草稿预览（--drafts）生成的文件夹，不能发布
        raise refuse(t("{folder} is a drafts build (--drafts): it shows stories that are not public yet and "
                       "must never be published", folder=source),
                     _("build without --drafts (python build.py), then deploy public/"))
    m = load_manifest(source)
    expected = set(m.live) | {MARKER}
    if odd or not intact(source) or set(files) != expected:
        extra = sorted(set(files) - expected) + odd
        missing = sorted(expected - set(files))
        shown = "、".join((extra + missing)[:5])
        # TRANSLATORS: 原文：……不完全是上次生成写出的内容（多出或缺少的文件：……）
        raise refuse(t("{folder} is not exactly what the last build wrote (files added, removed or not "
                       "recorded: {files})", folder=source, files=shown or "—"),
                     _("build again (python build.py) and deploy right after it; never edit the output "
                       "folder by hand"))
    if imported is None and not _built_from_what_is_there(config, source, now):
        # TRANSLATORS: 原文：{folder} 不是按网站现在的文件生成的：生成以后稿件、配置或主题改过了（或者程序更新了），
        # 或者没有生成记录（.state 文件）；撤下的稿件可能还在里面
        raise refuse(t("{folder} is not what a build of the site's files as they are now makes: stories, the "
                       "config or the theme changed since it was built (or the program did), or its record is "
                       "missing (the .state file beside it); a story withdrawn since may still be in it",
                       folder=source),
                     _("build again (python build.py) and deploy right after it; never edit the output "
                       "folder by hand"))
    sums = {p: sha256(source / p) for p in files}
    map_file = withdrawn_map_path(config) if source.resolve() == config.output_dir.resolve() \
        else source.parent / f"{source.name}-withdrawn.map"
    try:
        map_bytes = map_file.read_bytes()
    except OSError:
        map_bytes = EMPTY_MAP
    return Edition(source, sums, map_bytes, aware(until) if until is not None else None)


def imported_path(folder: Path) -> Path:
    """Beside an edition imported from a transfer archive (transfer.import_edition): the folder's
    identity as it was imported."""
    return folder.parent / f".{folder.name}.imported"


def mark_imported(folder: Path, folder_identity: tuple[int, int], built_at: dt.datetime | None,
                  valid_until: dt.datetime | None) -> None:
    """Record beside `folder`, just imported, its identity (manifest.identity) and the times of the
    build it came from."""
    imported_path(folder).write_text(json.dumps({
        "identity": list(folder_identity), "built_at": built_at.isoformat() if built_at else None,
        "valid_until": valid_until.isoformat() if valid_until else None}), encoding="utf-8")


def imported_times(folder: Path) -> tuple[dt.datetime | None, dt.datetime | None] | None:
    """(built_at, valid_until) of the build an edition imported from a transfer archive came from
    (last_build_times), if `folder` is such an edition as it was imported (a build into the folder
    since replaces it, and its identity with it); None otherwise. Such an edition comes without the
    site's files: `export` checked, where it was built, that the build was current."""
    try:
        mark = json.loads(imported_path(folder).read_text(encoding="utf-8"))
        if not isinstance(mark, dict) or mark.get("identity") != list(identity(folder)):
            return None
        built, until = (dt.datetime.fromisoformat(mark[k]) if mark[k] else None for k in ("built_at", "valid_until"))
        return built, until
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _minutes(when: dt.datetime | None, config: SiteConfig) -> str:
    if when is None:
        return "—"
    return (when if when.tzinfo else when.replace(tzinfo=config.tz)).astimezone(config.tz).isoformat(timespec="minutes")


def _built_from_what_is_there(config: SiteConfig, source: Path, now: dt.datetime) -> bool:
    """Whether the last build into `source` saw the inputs as they are now (the signature the
    build with nothing to do compares: every file of content/, the theme and the config, the
    program's version), as its state file beside the folder records."""
    built = config if source.resolve() == config.output_dir.resolve() else \
        load_config(config.root / config.path.name, source, None if config.edition == INTRANET else config.edition)
    return built_from_current_inputs(built, BuildOptions(now=now))


# ---- verification -----------------------------------------------------------------------------

_LINK_RE = re.compile(rb'(?:href|src|poster)\s*=\s*"([^"]*)"')
_SRCSET_RE = re.compile(rb'srcset\s*=\s*"([^"]*)"')  # (each of its candidates: an address, then a width)
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def broken_links(root: Path, files: Sequence[str], base_path: str) -> list[Problem]:
    """Every link between the site's own files that leads to no file of the release."""
    have = set(files)
    problems = []
    for page in files:
        if not page.endswith(".html"):
            continue
        folder = posixpath.dirname(page)
        data = (root / page).read_bytes()
        links = _LINK_RE.findall(data)
        for srcset in _SRCSET_RE.findall(data):
            # (a candidate ends at a comma followed by a space: an address may hold a comma, never a space)
            links += [c.split()[0] for c in re.split(rb",\s+", srcset.strip()) if c.strip()]
        for raw in links:
            href = html.unescape(raw.decode("utf-8", "replace")).split("#", 1)[0].split("?", 1)[0]
            if not href or href.startswith("//") or _SCHEME_RE.match(href):
                continue
            if href.startswith("/"):
                if not href.startswith(base_path):
                    continue  # another site on the same server
                rel = href[len(base_path):]
            else:
                rel = posixpath.join(folder, href)
            rel = urllib.parse.unquote(rel)
            norm = posixpath.normpath(rel) if rel else "."
            if norm == ".." or norm.startswith("../"):
                ok = False
            elif norm == ".":
                ok = "index.html" in have
            else:
                ok = norm in have or f"{norm}/index.html" in have
            if not ok:
                problems.append(Problem(str(root / page), None, None,
                                        t("broken internal link: no file at {target}", target=href),
                                        _("build again; if it persists, run python build.py check")))
    return problems


def unparsable_feeds(root: Path, files: Sequence[str]) -> list[Problem]:
    """Feeds, the OPML list, the sitemap and JSON files that do not parse as what they are."""
    roots = {".rss.xml": "rss", ".atom.xml": "{http://www.w3.org/2005/Atom}feed", ".opml": "opml"}
    problems = []
    for p in files:
        kind = next((k for k in roots if p.endswith(k)), None)
        try:
            if p.endswith(".json"):
                json.loads((root / p).read_bytes())
            elif kind or p.endswith(".xml"):
                tag = ET.fromstring((root / p).read_bytes()).tag
                if kind and tag != roots[kind]:
                    raise ValueError(tag)
        except (ET.ParseError, ValueError) as exc:
            problems.append(Problem(str(root / p), None, None,
                                    t("this feed or data file does not parse ({error})", error=exc),
                                    _("build again; never edit the output folder by hand")))
    return problems


def verify_release(root: Path, edition: Edition, base_path: str) -> list[Problem]:
    """The release holds exactly the edition's files, each with its digest, its internal links lead
    somewhere and its feeds parse. [] when it may go live."""
    files, odd = tree_files(root)
    problems = []
    extra = sorted(set(files) - set(edition.sums)) + odd
    missing = sorted(set(edition.sums) - set(files))
    if extra or missing:
        problems.append(Problem(str(root), None, None,
                                t("the release does not hold exactly the build's files (extra: {extra}; missing: "
                                  "{missing})", extra="、".join(extra[:5]) or "—",
                                  missing="、".join(missing[:5]) or "—"),
                                _("deploy again")))
    for p in files:
        if p in edition.sums and sha256(root / p) != edition.sums[p]:
            problems.append(Problem(str(root / p), None, None,
                                    _("the file's bytes differ from the build's (its SHA-256 does not match)"),
                                    _("deploy again; if it persists, check the disk")))
    return problems + broken_links(root, files, base_path) + unparsable_feeds(root, files)


# ---- the state of a target --------------------------------------------------------------------------

@dataclass(frozen=True)
class State:
    exists: bool = False
    ours: bool = False  # has the marker
    empty: bool = True
    current: str | None = None
    releases: tuple[str, ...] = ()  # oldest first
    bad: frozenset[str] = frozenset()
    map_digest: str = ""  # sha256 of the live withdrawn.map


@dataclass(frozen=True)
class Release:
    name: str
    current: bool
    bad: bool


@dataclass(frozen=True)
class DeployReport:
    target: str
    release: str
    previous: str | None
    linked: int  # files hard-linked from the previous release (their ETag stays)
    copied: int
    removed: tuple[str, ...] = ()  # old releases removed (beyond keep)
    map_changed: bool = False  # the withdrawn addresses changed: nginx must reload them
    reloaded: bool = False
    unchanged: bool = False  # the edition already was current: nothing done
    warnings: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class RollbackReport:
    target: str
    release: str
    previous: str | None
    marked_bad: str | None
    map_changed: bool
    reloaded: bool
    warnings: tuple[Problem, ...] = field(default=())


def release_name(now: dt.datetime, digest: str, taken: Sequence[str]) -> str:
    """<time>-<digest>, sorting after every release there is (names sort in deploy order, even for two
    deploys within a second or after the clock went back)."""
    stamp = now.strftime("%Y%m%d-%H%M%S")
    latest = max((n.rsplit("-", 1)[0] for n in taken), default="")
    if stamp > latest:
        return f"{stamp}-{digest}"
    base, _dot, count = latest.partition(".")
    return f"{base}.{int(count or 1) + 1:03d}-{digest}"


def listing(state: State) -> list[Release]:
    return [Release(r, r == state.current, r in state.bad) for r in state.releases]


def choose_rollback(state: State, wanted: str | None, where: str) -> str:
    """The release to switch to: `wanted`, else the newest release before current not marked bad."""
    if wanted:
        if wanted not in state.releases:
            raise BuildFailed([Problem(where, None, "RELEASE", t("there is no release {name}", name=wanted),
                                       ", ".join(state.releases) or _("(no releases)"))])
        if wanted in state.bad:
            raise BuildFailed([Problem(where, None, "RELEASE", t("release {name} is marked bad", name=wanted),
                                       _("choose another release (rollback --list shows them)"))])
        return wanted
    older = [r for r in state.releases if state.current is None or r < state.current]
    good = [r for r in older if r not in state.bad]
    if not good:
        raise BuildFailed([Problem(where, None, None,
                                   _("there is no earlier release to roll back to (releases marked bad are "
                                     "skipped)"), _("name a release: rollback TARGET RELEASE"))])
    return good[-1]


def _may_go_back(where: Target, state: State, name: str, config: SiteConfig, now: dt.datetime) -> None:
    """Raise BuildFailed when release `name` must not be served again (rollback's two refusals)."""
    def refuse(message: str) -> BuildFailed:
        # TRANSLATORS: 原文：改好稿件后重新生成、重新发布（deploy），不要回滚到这个版本
        return BuildFailed([Problem(where.where, None, "RELEASE", message,
                                    _("fix what is wrong in the site, build and deploy again instead of rolling "
                                      "back to this release"))])

    until = (where.read_meta(name, VALID_UNTIL) or b"").decode("utf-8", "replace").strip()
    try:
        expired = bool(until) and dt.datetime.fromisoformat(until) <= now
    except ValueError:
        expired = True  # (a record that cannot be read: never trusted)
    if expired:
        # TRANSLATORS: 原文：版本 {name} 里有一篇稿件的审核意见到 {until} 就过期了：不能再让它上线
        raise refuse(t("the vetting of a story in release {name} ran out at {until}: it must not be served again",
                       name=name, until=until))
    if not state.current:
        return
    withdrawn = map_addresses(where.read_meta(state.current, MAP) or b"")
    files, now_served = _sums(where.read_meta(name, SUMS)), _sums(where.read_meta(state.current, SUMS))
    base = config.base_path
    # (at a withdrawn address the current release may serve the withdrawal notice: the same bytes are fine)
    back = sorted(a for a in withdrawn if a.startswith(base) and any(
        path in files and files[path] != now_served.get(path)
        for path in (a[len(base):], a[len(base):] + "index.html")))
    if back:
        # TRANSLATORS: 原文：版本 {name} 里还有当前版本已经撤下的稿件（{addresses}）：回滚会让它们重新上线
        raise refuse(t("release {name} still serves stories the current release withdrew ({addresses}): rolling "
                       "back would put them online again", name=name, addresses="、".join(back[:5])))


def _sums(text: bytes | None) -> dict[str, str]:
    """path → SHA-256 of a release's meta/<name>/SHA256SUMS (Edition.sums_text)."""
    return {line[66:]: line[:64] for line in (text or b"").decode("utf-8", "replace").splitlines() if len(line) > 66}


def map_addresses(map_bytes: bytes) -> set[str]:
    """The addresses an nginx withdrawal map (pipeline.withdrawn_map) answers with 410."""
    out = set()
    for line in map_bytes.decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].startswith("/") and parts[1] == "1;":
            out.add(parts[0])
    return out


def to_remove(state: State, keep: int, current: str) -> list[str]:
    """The oldest releases beyond `keep` (the current one always stays)."""
    names = list(state.releases)
    if current not in names:
        names.append(current)
    names.sort()
    kept = set(names[-keep:]) | {current}
    return [n for n in names if n not in kept]


# ---- a folder on this machine -------------------------------------------------------------------

def symlinks_work(folder: Path) -> bool:
    """Whether a symbolic link can be made here and renamed over another (the atomic switch)."""
    a, b = folder / ".probe-link-a", folder / ".probe-link-b"
    try:
        os.symlink(RELEASES, a)
        os.symlink(RELEASES, b)
        os.replace(a, b)
        return os.readlink(b) == RELEASES
    except (OSError, NotImplementedError):
        return False
    finally:
        for p in (a, b):
            with contextlib.suppress(OSError):
                p.unlink()


def copy_file(source: Path, dest: Path) -> None:
    shutil.copy2(source, dest)  # (its mtime too: a file the build left alone keeps its Last-Modified)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class LocalTarget:
    def __init__(self, path: Path):
        self.path = path
        self.where = str(path)

    def state(self) -> State:
        p = self.path
        if not p.is_dir():
            return State()
        releases = sorted(e.name for e in _entries(p / RELEASES) if e.is_dir(follow_symlinks=False)
                          and not e.name.startswith("."))
        try:
            current: str | None = posixpath.basename(os.readlink(p / CURRENT))
        except OSError:
            current = None
        bad = frozenset(r for r in releases if (p / META / r / BAD).exists())
        try:
            map_digest = hashlib.sha256((p / MAP).read_bytes()).hexdigest()
        except OSError:
            map_digest = ""
        empty = not any(e.name != LOCK for e in _entries(p))
        return State(True, (p / TARGET_MARKER).exists(), empty, current, tuple(releases), bad, map_digest)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / LOCK, "a") as f:
            if fcntl is not None:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise BuildFailed([Problem(self.where, None, None,
                                               _("another deploy or rollback is running on this target"),
                                               _("wait for it to finish, then run again"))]) from None
            yield

    def prepare(self) -> None:
        if not symlinks_work(self.path):
            # TRANSLATORS: 原文：这台电脑不能原子地切换版本：无法创建符号链接
            # （Windows 需要开启“开发人员模式”或以管理员身份运行）
            raise BuildFailed([Problem(self.where, None, None,
                                       _("releases cannot be switched atomically here: this computer cannot make "
                                         "symbolic links (on Windows they need Developer Mode or administrator "
                                         "rights)"),
                                       _("deploy from here to the Linux web server (deploy user@host:/path, with ssh "
                                         "and rsync), or turn on Windows Developer Mode"))])
        for d in (RELEASES, META):
            (self.path / d).mkdir(exist_ok=True)
        marker = self.path / TARGET_MARKER
        if not marker.exists():
            marker.write_bytes(b"Releases written by exemplar-site deploy; nginx serves current/.\n")

    def put(self, edition: Edition, name: str, previous: str | None, base_path: str) -> tuple[int, int]:
        """Make and verify releases/<name>; (linked, copied). Raises BuildFailed (nothing left behind)."""
        incoming = self.path / RELEASES / (INCOMING + name)
        meta = self.path / META / name
        prev = self.path / RELEASES / previous if previous else None
        old = _read_sums(self.path / META / previous / SUMS) if previous else {}
        linked = copied = 0
        try:
            if incoming.exists():
                shutil.rmtree(incoming)
            incoming.mkdir()
            for p, digest in sorted(edition.sums.items()):
                dest = incoming / p
                dest.parent.mkdir(parents=True, exist_ok=True)
                if prev is not None and old.get(p) == digest:
                    try:
                        os.link(prev / p, dest)
                        linked += 1
                        continue
                    except OSError:
                        pass  # (another disk, too many links…): a copy
                copy_file(edition.source / p, dest)
                copied += 1
            problems = verify_release(incoming, edition, base_path)
            if problems:
                raise BuildFailed(problems)
            meta.mkdir(parents=True, exist_ok=True)
            _write(meta / SUMS, edition.sums_text())
            _write(meta / MAP, edition.map)
            _write(meta / VALID_UNTIL, edition.valid_until_text())
            os.rename(incoming, self.path / RELEASES / name)
        except BaseException:
            shutil.rmtree(incoming, ignore_errors=True)
            shutil.rmtree(meta, ignore_errors=True)
            raise
        return linked, copied

    def switch(self, name: str) -> None:
        tmp = self.path / f".{CURRENT}.tmp"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(f"{RELEASES}/{name}", tmp)
        os.replace(tmp, self.path / CURRENT)
        try:
            data = (self.path / META / name / MAP).read_bytes()
        except OSError:
            data = EMPTY_MAP
        _write(self.path / MAP, data)
        with contextlib.suppress(OSError, AttributeError):  # (no directory fsync on Windows)
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def read_meta(self, name: str, file: str) -> bytes | None:
        """A file of meta/<name>/, or None where there is none."""
        try:
            return (self.path / META / name / file).read_bytes()
        except OSError:
            return None

    def map_digest(self, name: str) -> str:
        try:
            return hashlib.sha256((self.path / META / name / MAP).read_bytes()).hexdigest()
        except OSError:
            return hashlib.sha256(EMPTY_MAP).hexdigest()

    def remove(self, names: Sequence[str]) -> None:
        for n in names:
            shutil.rmtree(self.path / RELEASES / n, ignore_errors=True)
            shutil.rmtree(self.path / META / n, ignore_errors=True)

    def mark_bad(self, name: str) -> None:
        (self.path / META / name).mkdir(parents=True, exist_ok=True)
        (self.path / META / name / BAD).write_bytes(b"marked bad by rollback --mark-bad\n")

    def reload(self, command: str, runner: Runner) -> subprocess.CompletedProcess[str]:
        return runner(shlex.split(command))


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return list(it)
    except OSError:
        return []


def _read_sums(path: Path) -> dict[str, str]:
    try:
        return _sums(path.read_bytes())
    except OSError:
        return {}


# ---- a folder on another machine (ssh and rsync) -------------------------------------------------

class RemoteTarget:
    """The same operations as commands run over ssh (the server needs sh, GNU coreutils and rsync)."""

    def __init__(self, remote: Remote, runner: Runner = run):
        self.remote = remote
        self.where = f"{remote.host}:{remote.path}"
        self.runner = runner
        self.q = shlex.quote(remote.path)

    def ssh(self, script: str) -> list[str]:
        return [*SSH, self.remote.host, script]

    def rsync(self, source: str, dest: str, *extra: str) -> list[str]:
        return ["rsync", "-rlpD", "--checksum", "--protect-args", "-e", " ".join(SSH), *extra, source,
                f"{self.remote.host}:{dest}"]

    def _do(self, argv: Sequence[str], what: str) -> str:
        done = self.runner(argv)
        if done.returncode != 0:
            raise BuildFailed([Problem(self.where, None, None,
                                       t("{what} failed on the server (exit status {code}): {error}", what=what,
                                         code=done.returncode, error=(done.stderr or done.stdout).strip()[-500:]),
                                       _("check that ssh user@host works without a password prompt and that rsync "
                                         "is installed on both machines"))])
        return done.stdout

    def state_command(self) -> list[str]:
        return self.ssh(
            f"cd -- {self.q} 2>/dev/null || exit 0; echo exists; "
            f"[ -e {TARGET_MARKER} ] && echo ours; [ -n \"$(ls -A)\" ] && echo nonempty; "
            f"c=$(readlink {CURRENT} 2>/dev/null) && echo \"current ${{c##*/}}\"; "
            f"for r in {RELEASES}/*/; do [ -d \"$r\" ] || continue; r=${{r%/}}; echo \"release ${{r##*/}}\"; done; "
            f"for b in {META}/*/{BAD}; do [ -f \"$b\" ] || continue; b=${{b%/{BAD}}}; echo \"bad ${{b##*/}}\"; done; "
            f"[ -f {MAP} ] && echo \"map $(sha256sum < {MAP} | cut -c1-64)\"; exit 0")

    def state(self) -> State:
        out = self._do(self.state_command(), _("reading the target"))
        words = [line.split(" ", 1) for line in out.splitlines() if line.strip()]
        flags = {w[0] for w in words}
        values: dict[str, list[str]] = {}
        for w in words:
            if len(w) == 2:
                values.setdefault(w[0], []).append(w[1].strip())
        return State("exists" in flags, "ours" in flags, "nonempty" not in flags,
                     next(iter(values.get("current", [])), None), tuple(sorted(values.get("release", []))),
                     frozenset(values.get("bad", [])), (values.get("map") or [""])[0])

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        yield  # (one staff machine deploys; the switch itself is atomic on the server)

    def prepare_command(self) -> list[str]:
        return self.ssh(f"mkdir -p -- {self.q}/{RELEASES} {self.q}/{META} && touch -- {self.q}/{TARGET_MARKER}")

    def prepare(self) -> None:
        self._do(self.prepare_command(), _("preparing the target"))

    def upload_commands(self, edition: Edition, name: str, previous: str | None, meta_dir: str) -> list[list[str]]:
        incoming = f"{self.remote.path}/{RELEASES}/{INCOMING}{name}/"
        link = [f"--link-dest=../{previous}/"] if previous else []
        return [self.rsync(f"{edition.source}/", incoming, *link),
                self.rsync(f"{meta_dir}/", f"{self.remote.path}/{META}/{name}/")]

    def verify_command(self, edition: Edition, name: str) -> list[str]:
        inc = shlex.quote(INCOMING + name)
        return self.ssh(
            f"set -e; cd -- {self.q}/{RELEASES}/{inc}; "
            f"sha256sum --quiet --strict -c ../../{META}/{shlex.quote(name)}/{SUMS}; "
            f"test \"$(find . -type f | wc -l)\" -eq {len(edition.sums)}; "
            f"test \"$(find . ! -type f ! -type d | wc -l)\" -eq 0; "
            f"cd .. && mv -T -- {inc} {shlex.quote(name)}")

    def put(self, edition: Edition, name: str, previous: str | None, base_path: str) -> tuple[int, int]:
        # links and feeds are checked here, on the bytes that the server's SHA-256 check then proves it has
        problems = broken_links(edition.source, list(edition.sums), base_path) \
            + unparsable_feeds(edition.source, list(edition.sums))
        if problems:
            raise BuildFailed(problems)
        with tempfile.TemporaryDirectory() as meta_dir:
            Path(meta_dir, SUMS).write_bytes(edition.sums_text())
            Path(meta_dir, MAP).write_bytes(edition.map)
            Path(meta_dir, VALID_UNTIL).write_bytes(edition.valid_until_text())
            try:
                for argv in self.upload_commands(edition, name, previous, meta_dir):
                    self._do(argv, _("copying the release"))
                self._do(self.verify_command(edition, name), _("verifying the release"))
            except BuildFailed:
                self.runner(self.ssh(f"rm -rf -- {self.q}/{RELEASES}/{shlex.quote(INCOMING + name)} "
                                     f"{self.q}/{META}/{shlex.quote(name)}"))
                raise
        return 0, len(edition.sums)  # (rsync decides what it links; it says nothing we count)

    def switch_command(self, name: str) -> list[str]:
        n = shlex.quote(name)
        return self.ssh(
            f"set -e; cd -- {self.q}; ln -sfn {RELEASES}/{n} .{CURRENT}.tmp; mv -fT .{CURRENT}.tmp {CURRENT}; "
            f"if [ -f {META}/{n}/{MAP} ]; then cp {META}/{n}/{MAP} .{MAP}.tmp; "
            f"else printf '# no withdrawn addresses\\n' > .{MAP}.tmp; fi; mv -f .{MAP}.tmp {MAP}")

    def switch(self, name: str) -> None:
        self._do(self.switch_command(name), _("switching current"))

    def read_meta(self, name: str, file: str) -> bytes | None:
        """A file of meta/<name>/ on the server, or None where there is none."""
        path = f"{self.q}/{META}/{shlex.quote(name)}/{file}"
        out = self._do(self.ssh(f"if [ -f {path} ]; then echo yes; cat -- {path}; else echo no; fi"),
                       _("reading the target"))
        head, _nl, rest = out.partition("\n")
        return rest.encode() if head.strip() == "yes" else None

    def map_digest(self, name: str) -> str:
        out = self._do(self.ssh(f"cat -- {self.q}/{META}/{shlex.quote(name)}/{MAP} 2>/dev/null | sha256sum "
                                "| cut -c1-64"), _("reading the target"))
        return out.strip()

    def remove_command(self, names: Sequence[str]) -> list[str]:
        paths = " ".join(f"{RELEASES}/{shlex.quote(n)} {META}/{shlex.quote(n)}" for n in names)
        return self.ssh(f"cd -- {self.q} && rm -rf -- {paths}")

    def remove(self, names: Sequence[str]) -> None:
        if names:
            self._do(self.remove_command(names), _("removing old releases"))

    def mark_bad_command(self, name: str) -> list[str]:
        n = shlex.quote(name)
        return self.ssh(f"cd -- {self.q} && mkdir -p -- {META}/{n} && touch -- {META}/{n}/{BAD}")

    def mark_bad(self, name: str) -> None:
        self._do(self.mark_bad_command(name), _("marking the release bad"))

    def reload(self, command: str, runner: Runner) -> subprocess.CompletedProcess[str]:
        return runner(self.ssh(command))


Target = LocalTarget | RemoteTarget


def open_target(config: SiteConfig, target: str | None, runner: Runner = run) -> Target:
    name = target or config.deploy.target
    if not name:
        raise BuildFailed([Problem(str(config.path), None, "TARGET",
                                   _("where to deploy is not said: name a folder or user@host:/path, or set "
                                     "deploy.target in site_config.yaml"),
                                   _("e.g. python build.py deploy /srv/publicity or deploy web@xc.jcgaj.intra:/srv/"
                                     "publicity"))])
    remote = parse_remote(name)
    if remote:
        return RemoteTarget(remote, runner)
    return LocalTarget((config.root / name).absolute())


def _check_target(state: State, where: str) -> None:
    if state.exists and not state.ours and not state.empty:
        # TRANSLATORS: 原文：这个文件夹不是空的，也不是 deploy 建立的，不能部署到这里
        raise BuildFailed([Problem(where, None, "TARGET",
                                   _("this folder is neither empty nor made by deploy: nothing is deployed into it"),
                                   _("an empty or new folder, e.g. /srv/publicity-releases; then point nginx at its "
                                     "current/ (python build.py nginx-conf)"))])


def _reload(target: Target, command: str, runner: Runner) -> tuple[bool, list[Problem]]:
    if not command:
        return False, []
    done = target.reload(command, runner)
    if done.returncode == 0:
        return True, []
    return False, [Problem(target.where, None, "deploy.reload",
                           t("the reload command failed (exit status {code}): {error}", code=done.returncode,
                             error=(done.stderr or done.stdout).strip()[-300:]),
                           _("reload nginx by hand (nginx -s reload): until then withdrawn addresses answer with "
                             "the notice page and status 200"), WARNING)]


def deploy(config: SiteConfig, target: str | None = None, source: Path | None = None, keep: int | None = None,
           *, now: dt.datetime, runner: Runner = run) -> DeployReport:
    """Check, copy, verify, switch, prune. Raises BuildFailed with `current` untouched. `now`: this
    run's clock (the command line's one reading of the computer's), which names the release and
    which the build must be valid at."""
    where = open_target(config, target, runner)
    src = (source if source is not None else config.output_dir).absolute()
    if isinstance(where, LocalTarget):
        t_real, s_real = where.path.resolve(), src.resolve()
        if t_real == s_real or t_real.is_relative_to(s_real) or s_real.is_relative_to(t_real):
            raise BuildFailed([Problem(where.where, None, "TARGET",
                                       _("the deploy target and the build's output folder must be apart (neither "
                                         "inside the other)"), _("e.g. /srv/publicity"))])
    keep = keep or config.deploy.keep
    with exclusive(src), where.lock():  # (no build swaps the output folder until the release is made)
        edition = read_edition(config, src, now)
        state = where.state()
        _check_target(state, where.where)
        if state.current and state.current.endswith("-" + edition.digest) and state.current in state.releases:
            return DeployReport(where.where, state.current, state.current, 0, 0, unchanged=True)
        where.prepare()
        name = release_name(now, edition.digest, state.releases)
        previous = state.current if state.current in state.releases else (state.releases or (None,))[-1]
        linked, copied = where.put(edition, name, previous, config.base_path)
        where.switch(name)
        map_changed = hashlib.sha256(edition.map).hexdigest() != state.map_digest
        removed = to_remove(state, keep, name)
        where.remove(removed)
        reloaded, warnings = _reload(where, config.deploy.reload, runner) if map_changed else (False, [])
        return DeployReport(where.where, name, state.current, linked, copied, tuple(removed), map_changed,
                            reloaded, False, tuple(warnings))


def rollback(config: SiteConfig, target: str | None = None, release: str | None = None, mark_bad: bool = False,
             *, now: dt.datetime, runner: Runner = run) -> RollbackReport:
    """Switch back to an earlier release. `now`: this run's clock. Refused, `current` untouched, when
    that release still serves a story the current one withdrew, or when the vetting of a story in it
    has run out by `now`: rolling back never publishes what a later build took down."""
    where = open_target(config, target, runner)
    with where.lock():
        state = where.state()
        if not state.ours or not state.releases:
            raise BuildFailed([Problem(where.where, None, "TARGET", _("nothing has been deployed here yet"),
                                       _("the folder you deploy to (python build.py deploy TARGET)"))])
        name = choose_rollback(state, release, where.where)
        _may_go_back(where, state, name, config, now)
        if mark_bad and state.current:
            where.mark_bad(state.current)
        where.switch(name)
        map_changed = where.map_digest(name) != state.map_digest
        reloaded, warnings = _reload(where, config.deploy.reload, runner) if map_changed else (False, [])
        return RollbackReport(where.where, name, state.current, state.current if mark_bad else None, map_changed,
                              reloaded, tuple(warnings))


def releases(config: SiteConfig, target: str | None = None, runner: Runner = run) -> list[Release]:
    return listing(open_target(config, target, runner).state())
