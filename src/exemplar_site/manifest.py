"""The manifest beside an output folder (`.public.manifest`): what each of its two trees holds.

Per generation (the live tree and its staging twin) it records every file's key, a hash of
everything its bytes depend on, and the identity of the folder it describes (its inode, and for
the live tree its mtime after the build: a file dropped in at its top changes it). A manifest
that cannot be read, or that describes another folder, is none: everything is written again.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .outguard import MARKERS
from .treeops import write_file

# (3: a header, then the file lists; 4: folder stamps; 5: the lists in a file of their own; 6: the twin's list
# stored as its difference from the live tree's, or whole when that is shorter)
MANIFEST_VERSION = 6


@dataclass
class Manifest:
    live: dict[str, str] = field(default_factory=dict)  # path → key of the live tree
    staged: dict[str, str] = field(default_factory=dict)  # path → key of the staging twin
    live_inode: int = 0  # identity of the folder the manifest describes
    staged_inode: int = 0
    live_mtime: int = 0  # the live folder's mtime (ns) after the build: a file dropped in at its top changes it
    # each folder's stamp (outguard.Stamps) in the live tree after the build, and in the twin where
    # the build saw them unchanged, stamped at `stamped_at` (ns): an entry added to or removed from a
    # folder changes its stamp, so a folder whose stamp is as recorded holds what it held
    live_dirs: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    staged_dirs: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    stamped_at: int = 0
    token: str = ""  # names the file lists saved with the header (save_manifest)


def manifest_path(target: Path) -> Path:
    return target.parent / f".{target.name}.manifest"


def lists_path(target: Path) -> Path:
    return target.parent / f".{target.name}.manifest.lists"


def _header(f: BinaryIO) -> dict[str, Any] | None:
    head = pickle.load(f)
    return head if isinstance(head, dict) and head.get("version") == MANIFEST_VERSION else None


def load_manifest(target: Path) -> Manifest:
    """The header, and the file lists it names (by their token: lists written by another save
    than the header's are none of its)."""
    try:
        with manifest_path(target).open("rb") as f:
            head = _header(f)
        if head is not None:
            lists = pickle.loads(lists_path(target).read_bytes())
            if lists.get("token") == head["token"]:
                return Manifest(lists["live"], _staged(lists), head["live_inode"], head["staged_inode"],
                                head["live_mtime"], lists["live_dirs"], lists["staged_dirs"], head["stamped_at"],
                                head["token"])
    except Exception:  # noqa: BLE001 - a manifest that cannot be read (any way) is none: everything is written
        pass
    return Manifest()


def save_manifest(target: Path, m: Manifest) -> None:
    """The file lists (`.<name>.manifest.lists`, under a new token), then the small header
    (`.<name>.manifest`: what `intact` reads, naming that token)."""
    m.token = os.urandom(8).hex()
    live, staged = m.live, m.staged
    # the twin holds the previous generation, the live tree's files but those the last build changed:
    # stored as what differs (a third of a 10,000-story site's lists' bytes), unless that is longer
    # (an empty twin: after a first build, or in place)
    changed = {p: k for p, k in staged.items() if live.get(p) != k}
    gone = [p for p in live if p not in staged]
    lists = {"token": m.token, "live": live, "live_dirs": m.live_dirs, "staged_dirs": m.staged_dirs,
             **({"staged": staged} if len(changed) + len(gone) > len(staged) else
                {"staged_changed": changed, "staged_gone": gone})}
    write_file(lists_path(target), pickle.dumps(lists, protocol=pickle.HIGHEST_PROTOCOL))
    _save_header(target, m)


def _staged(lists: dict[str, Any]) -> dict[str, str]:
    """The twin's list, whole or from the live tree's and what differs (save_manifest)."""
    if "staged" in lists:
        whole: dict[str, str] = lists["staged"]
        return whole
    staged: dict[str, str] = dict(lists["live"])
    for p in lists["staged_gone"]:
        del staged[p]
    staged.update(lists["staged_changed"])
    return staged


def distrust(target: Path, m: Manifest, live: bool = False) -> None:
    """Before a build changes the twin (or, `live`, the live tree in place): the saved header says
    the manifest no longer describes it, so a build that dies half-way leaves nothing trusted
    that it touched. Only the header is written; the lists stay as they are."""
    head = dataclasses.replace(m, staged_inode=0, live_inode=0 if live else m.live_inode)
    if not m.token:  # (no lists saved yet: nothing to distrust but a fresh save is as cheap)
        save_manifest(target, head)
        m.token = head.token
        return
    _save_header(target, head)


def _save_header(target: Path, m: Manifest) -> None:
    head = {"version": MANIFEST_VERSION, "live_inode": m.live_inode, "staged_inode": m.staged_inode,
            "live_mtime": m.live_mtime, "live_files": len(m.live), "stamped_at": m.stamped_at, "token": m.token}
    write_file(manifest_path(target), pickle.dumps(head, protocol=pickle.HIGHEST_PROTOCOL))


def identity(tree: Path) -> tuple[int, int]:
    """(inode, mtime) of a tree we wrote, or (0, 0) if it is not one of ours
    (a folder recreated by hand can get a recycled inode, but not our marker file)."""
    try:
        if not tree.is_dir() or not any((tree / m).exists() for m in MARKERS.values()):
            return 0, 0
        st = tree.stat()
        return st.st_ino, st.st_mtime_ns
    except OSError:
        return 0, 0


def inode(tree: Path) -> int:
    return identity(tree)[0]


def unchanged(target: Path, keys: dict[str, str], m: Manifest | None = None) -> bool:
    """True when the live output already is exactly this build: nothing to write at all
    (and nothing was added at its top since: that would be removed). `m`: the manifest, if loaded."""
    m = m or load_manifest(target)
    return bool(m.live) and m.live == keys and m.live_inode != 0 and identity(target) == (m.live_inode, m.live_mtime)


def intact(target: Path) -> bool:
    """True when the live output is the tree the manifest describes (nothing added at its top).
    Reads the manifest's header only."""
    try:
        with manifest_path(target).open("rb") as f:
            head = _header(f)
    except Exception:  # noqa: BLE001 - (as load_manifest)
        return False
    return head is not None and head["live_files"] > 0 and head["live_inode"] != 0 \
        and identity(target) == (head["live_inode"], head["live_mtime"])
