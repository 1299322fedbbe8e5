"""The one-way transfer of an edition across the network boundary (公安网 → internet host).

    export: the built edition's files, their manifest (path, size, SHA-256 of every file; the build
            time; the withdrawn addresses) → one zip, the same bytes for the same build
    import: that zip → a folder on the outside host, after checking every file against the
            manifest; anything not in it, altered, or with a path leading out is refused, and the
            folder is replaced in one step only when everything checked out

The archive is checked again on the far side because it crosses a boundary by hand (a gatekeeper,
a one-way transfer device): what arrives must be exactly what was built and cleared.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .config import SiteConfig
from .deploy import map_addresses, mark_imported, read_edition
from .errors import BuildFailed, Problem
from .i18n import _, t
from .manifest import Manifest, identity, save_manifest
from .outguard import MARKER, exclusive
from .pipeline import last_build_times

MANIFEST = "MANIFEST.json"
MAP = "withdrawn.map"
SITE = "site/"
FORMAT = "exemplar-site-transfer/1"
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Exported:
    archive: Path
    files: int
    sha256: str


@dataclass(frozen=True)
class Imported:
    folder: Path
    files: int
    edition: str
    built_at: str


def export_edition(config: SiteConfig, archive: Path | None = None, *, now: dt.datetime) -> Exported:
    """Write the built edition of `config` (its output folder) as a transfer archive. `now`: this
    run's clock (the command line's one reading of the computer's)."""
    if not config.external:
        # TRANSLATORS: 原文：{edition} 版本不是对外版本（没有 external: true）：它有只能在内网看的稿件，不能带出内网
        raise BuildFailed([Problem(str(config.output_dir), None, "--edition",
                                   t("the {edition} edition is not one that goes outside (it has no external: true): "
                                     "it holds stories for the intranet only and must not leave it",
                                     edition=config.edition),
                                   # TRANSLATORS: 原文：导出对外版本，例如 --edition internet
                                   # （site_config.yaml 里 editions 下 external: true 的那个）
                                   _("export an outside edition, e.g. --edition internet (the one with external: "
                                     "true under editions in site_config.yaml)")
                                   if any(e.external for e in config.editions) else
                                   # TRANSLATORS: 原文：这个网站还没有对外版本：先在 site_config.yaml 的 editions 下
                                   # 声明一个 external: true 的版本（见 docs/configuration.md），生成它，再导出
                                   _("this site has no edition that goes outside yet: declare one with external: true "
                                     "under editions in site_config.yaml (docs/configuration.md), build it, then "
                                     "export it"))])
    source = config.output_dir
    with exclusive(source):
        # refuses drafts, reports, SMS files, hand edits and a build made as of a later time
        edition = read_edition(config, source, now)
        when, until = last_build_times(source)
        built_at = when.isoformat() if when is not None else ""
        manifest = {
            "format": FORMAT, "edition": config.edition, "site_url": config.site_url, "built_at": built_at,
            "external": True,  # (import takes nothing else)
            # (import and deploy refuse the edition from then on: gate.first_expiry; null: no vetting runs out)
            "valid_until": until.isoformat() if until is not None and until.year < dt.MAXYEAR else None,
            "files": [{"path": p, "size": (source / p).stat().st_size, "sha256": d}
                      for p, d in sorted(edition.sums.items())],
            "withdrawn": _withdrawn(edition.map),
        }
        name = archive or source.parent / f"{config.edition}-{built_at[:10] or 'build'}-{edition.digest}.zip"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            _add(z, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode())
            _add(z, MAP, edition.map)
            for p in sorted(edition.sums):
                _add(z, SITE + p, (source / p).read_bytes())
    data = buf.getvalue()
    name.parent.mkdir(parents=True, exist_ok=True)
    tmp = name.with_name(f".{name.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, name)
    return Exported(name, len(edition.sums), hashlib.sha256(data).hexdigest())


def _add(z: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)


def _withdrawn(map_bytes: bytes) -> list[str]:
    """The withdrawn stories' addresses of an nginx map file (each also has its index.html line)."""
    return sorted(a for a in map_addresses(map_bytes) if not a.endswith("/index.html"))


_ADDRESS_RE = re.compile(r"/(?:[A-Za-z0-9._~%-]+/)*\Z")  # (a withdrawn story's address: base path, stories/<slug>/)


def _map_as_listed(map_bytes: bytes, listed: object) -> bool:
    """Whether an archive's withdrawn-address map (pipeline.withdrawn_map, which nginx includes in a
    `map` block) says exactly what its manifest lists: each address, and its index.html, answered
    410; comment lines aside, nothing else (a line nginx would read as directives)."""
    if not isinstance(listed, list) or not all(isinstance(a, str) and _ADDRESS_RE.match(a) for a in listed):
        return False
    try:
        lines = map_bytes.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return False
    entries = [line for line in lines if line.strip() and not line.startswith("#")]
    if any("\r" in line or "{" in line or "}" in line for line in lines):
        return False
    return sorted(entries) == sorted(e for a in listed for e in (f"{a} 1;", f"{a}index.html 1;"))


def _safe_member(name: str) -> str | None:
    """The site path of an archive member, or None when its name could lead anywhere but inside."""
    if not name.startswith(SITE) or "\\" in name or "\x00" in name:
        return None
    rel = name[len(SITE):]
    parts = PurePosixPath(rel).parts
    if not rel or rel.startswith("/") or re.match(r"^[A-Za-z]:", rel) or any(p in ("..", ".", "") for p in parts):
        return None
    return rel


def import_edition(archive: Path, folder: Path, *, now: dt.datetime) -> Imported:
    """Check the archive against its manifest, then put its site into `folder` in one step. `now`:
    this run's clock (the command line's one reading of the computer's): an archive whose stories
    may no longer go out by then (its valid_until) is refused before anything is written."""
    where = str(archive)

    def refuse(message: str, accepted: str | None = None) -> BuildFailed:
        return BuildFailed([Problem(where, None, None, message, accepted or
                                    _("ask for a new export from the intranet side; never repair an archive by "
                                      "hand"))])

    try:
        z = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        raise refuse(t("this is not a transfer archive that can be read ({reason})", reason=exc)) from None
    with z:
        try:
            manifest = json.loads(z.read(MANIFEST))
            if manifest.get("format") != FORMAT:
                raise ValueError(manifest.get("format"))
            files = {f["path"]: (int(f["size"]), str(f["sha256"])) for f in manifest["files"]}
            built_at = dt.datetime.fromisoformat(manifest["built_at"]) if manifest.get("built_at") else None
            if manifest.get("external") is not True:  # (an intranet edition, or an older version's export)
                # TRANSLATORS: 原文：这不是对外版本的导出文件
                raise ValueError(_("it is not the export of an edition that goes outside"))
            if "valid_until" not in manifest:  # (an older export: until when it may go out is not known)
                # TRANSLATORS: 原文：导出文件里没有写明有效期（是旧版本导出的）
                raise ValueError(_("it does not say until when it may be published (an older version exported it)"))
            valid_until = dt.datetime.fromisoformat(manifest["valid_until"]) if manifest["valid_until"] else None
            if valid_until is not None and valid_until.tzinfo is None:
                raise ValueError(manifest["valid_until"])
        except (KeyError, ValueError, TypeError) as exc:
            raise refuse(t("the archive has no valid {manifest} ({reason})", manifest=MANIFEST,
                           reason=exc)) from None
        if valid_until is not None and valid_until <= now:
            # TRANSLATORS: 原文：这个导出文件是按 {built} 生成的；里面有一篇稿件的审核意见到 {until} 就过期了，
            # 现在（{now}）已经过了这个时间：不能导入发布
            raise refuse(t("it was built as of {built}; the vetting of a story in it ran out at {until}, and now "
                           "({now}) is past that: it must not be published", built=manifest.get("built_at") or "—",
                           until=valid_until.isoformat(timespec="minutes"),
                           now=now.astimezone(valid_until.tzinfo).isoformat(timespec="minutes")),
                         _("ask the intranet side to build and export again, then import that"))
        members: dict[str, zipfile.ZipInfo] = {}
        for info in z.infolist():
            if info.filename in (MANIFEST, MAP) or info.is_dir():
                continue
            rel = _safe_member(info.filename)
            if rel is None:
                raise refuse(t("the archive holds '{name}', a path that would lead out of the site folder",
                               name=info.filename))
            if rel not in files:
                raise refuse(t("the archive holds '{name}', which its manifest does not list", name=rel))
            members[rel] = info
        missing = sorted(set(files) - set(members))
        if missing:
            raise refuse(t("files listed in the manifest are missing from the archive: {files}",
                           files=", ".join(missing[:5])))
        folder = folder.resolve()
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.import-", dir=folder.parent))
        try:
            for rel, info in sorted(members.items()):
                data = z.read(info)
                size, digest = files[rel]
                if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
                    raise refuse(t("'{name}' is not the file that was exported (its size or SHA-256 differs)",
                                   name=rel))
                dest = staging.joinpath(*PurePosixPath(rel).parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
            map_bytes = z.read(MAP) if MAP in z.namelist() else b""
            if not _map_as_listed(map_bytes, manifest.get("withdrawn")):
                # TRANSLATORS: 原文：撤稿地址清单（withdrawn.map，nginx 会读它）和 manifest 里列的撤稿地址对不上，
                # 或者有不是网址的内容
                raise refuse(_("its list of withdrawn addresses (withdrawn.map, which nginx reads) is not the one its "
                               "manifest lists, or holds something that is not an address"))
            (folder.parent / f"{folder.name}-withdrawn.map").write_bytes(map_bytes)
            _replace(staging, folder)
            # described like a build's own output, so that `deploy --source DIR` can release it
            inode, mtime = identity(folder)
            save_manifest(folder, Manifest({rel: f"sha256:{files[rel][1]}" for rel in files if rel != MARKER},
                                           {}, inode, 0, mtime))
            mark_imported(folder, (inode, mtime), built_at, valid_until)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return Imported(folder, len(files), str(manifest.get("edition", "")), str(manifest.get("built_at", "")))


def _replace(new: Path, folder: Path) -> None:
    """`folder` becomes `new`: one rename when there was nothing; otherwise the old folder is moved
    aside first and removed after (a reader sees the old site or the new one, never a mixture)."""
    if not folder.exists():
        os.replace(new, folder)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
    old.rmdir()  # (a free name beside the folder)
    os.replace(folder, old)
    try:
        os.replace(new, folder)
    except OSError:
        os.replace(old, folder)  # put the old site back
        raise
    shutil.rmtree(old, ignore_errors=True)
