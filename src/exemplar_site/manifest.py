"""The manifest beside an output folder (`.public.manifest`): what each of its two trees holds.

Per generation (the live tree and its staging twin) it records every file's key, a hash of
everything its bytes depend on, and the identity of the folder it describes (its inode, and for
the live tree its mtime after the build: a file dropped in at its top changes it). A manifest
that cannot be read, or that describes another folder, is none: everything is written again.

Three files: the header (`.<name>.manifest`, small: what `intact` reads), the file lists
(`.<name>.manifest.lists`, under a token the header names) and their journal
(`.<name>.manifest.journal`): a build that changed a few files appends what it changed to the
journal instead of writing every list again (35 MB at 100,000 stories). The header says how long
the journal is; a journal of any other length makes the manifest none (everything is looked at
again): one cut short, one a build killed while appending left longer, and one that later builds
made longer than an older header put back by hand says (that header would describe trees as they
were builds ago). When the journal has grown past a quarter of the lists, the lists are written
whole under a new token and the journal starts again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .outguard import MARKERS
from .treeops import write_file

Lists = tuple[dict[str, str], dict[str, str], dict[str, tuple[int, int, int]], dict[str, tuple[int, int, int]]]

# (3: a header, then the file lists; 4: folder stamps; 5: the lists in a file of their own; 6: the twin's list
# stored as its difference from the live tree's, or whole when that is shorter; 7: the journal)
MANIFEST_VERSION = 7


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
    journal: int = 0  # the length of the lists' journal, as the header vouches for it
    lists_size: int = 0  # the lists file's size: the journal is folded in past a quarter of it
    # the four lists (live, staged, live_dirs, staged_dirs) as the files on disk hold them: what a
    # save appends the difference from (the dicts themselves, never changed in place)
    saved: Lists | None = field(default=None, repr=False, compare=False)


def manifest_path(target: Path) -> Path:
    """Beside the folder itself: an output folder named through a link (`public` → /srv/www/site)
    has its manifest beside where it is, as the writer, which works on that folder, saves it."""
    real = target.resolve()
    return real.parent / f".{real.name}.manifest"


def lists_path(target: Path) -> Path:
    head = manifest_path(target)
    return head.with_name(head.name + ".lists")


def journal_path(target: Path) -> Path:
    head = manifest_path(target)
    return head.with_name(head.name + ".journal")


def _header(f: BinaryIO) -> dict[str, Any] | None:
    head = pickle.load(f)
    return head if isinstance(head, dict) and head.get("version") == MANIFEST_VERSION else None


def load_manifest(target: Path) -> Manifest:
    """The header, the file lists it names (by their token: lists written by another save than
    the header's are none of its), and the journal's entries, applied in order: none unless the
    journal is exactly as long as the header says (see the module's docstring)."""
    try:
        with manifest_path(target).open("rb") as f:
            head = _header(f)
        if head is not None:
            lists = pickle.loads(lists_path(target).read_bytes())
            if lists.get("token") == head["token"]:
                saved: Lists = (lists["live"], _staged(lists), lists["live_dirs"], lists["staged_dirs"])
                journal = b""
                with contextlib.suppress(FileNotFoundError), journal_path(target).open("rb") as f:
                    journal = f.read(head["journal"] + 1)
                if len(journal) != head["journal"]:
                    raise ValueError("the journal is not as long as the header says")
                if journal:
                    saved = _replayed(saved, journal, head["token"])
                return Manifest(saved[0], saved[1], head["live_inode"], head["staged_inode"], head["live_mtime"],
                                saved[2], saved[3], head["stamped_at"], head["token"], head["journal"],
                                head["lists_size"], saved)
    except Exception:  # noqa: BLE001 - a manifest that cannot be read (any way) is none: everything is written
        pass
    return Manifest()


def save_manifest(target: Path, m: Manifest, previous: Manifest | None = None, swapped: bool = False) -> None:
    """Save `m`: as what changed since `previous` (the manifest this build loaded, whose lists are
    on disk), appended to the journal, while the journal stays within a quarter of the lists;
    else the lists whole under a new token. `swapped`: the trees changed places since `previous`
    (its twin is `m`'s live tree). Then the small header (`.<name>.manifest`: what `intact`
    reads), naming the token and the journal's length."""
    entry = _entry(previous, m, swapped) if previous is not None and previous.saved is not None \
        and previous.token else None
    if entry is not None and previous is not None and previous.journal + len(entry) <= previous.lists_size // 4:
        with journal_path(target).open("r+b" if previous.journal else "wb") as f:
            f.truncate(previous.journal)  # (as loaded: anything past it, say a restored copy's, goes)
            f.seek(previous.journal)
            f.write(entry)
        m.token, m.journal, m.lists_size = previous.token, previous.journal + len(entry), previous.lists_size
    else:
        m.token, m.journal = os.urandom(8).hex(), 0
        m.lists_size = _write_lists(target, m)
        with contextlib.suppress(FileNotFoundError):  # (before the header: a journal left would make it none)
            journal_path(target).unlink()
    m.saved = (m.live, m.staged, m.live_dirs, m.staged_dirs)
    _save_header(target, m)


def _write_lists(target: Path, m: Manifest) -> int:
    """The file lists, whole, under `m.token`; their size."""
    live, staged = m.live, m.staged
    # the twin holds the previous generation, the live tree's files but those the last build changed:
    # stored as what differs (a third of a 10,000-story site's lists' bytes), unless that is longer
    # (an empty twin: after a first build, or in place)
    changed = {p: k for p, k in staged.items() if live.get(p) != k}
    gone = [p for p in live if p not in staged]
    lists = {"token": m.token, "live": live, "live_dirs": m.live_dirs, "staged_dirs": m.staged_dirs,
             **({"staged": staged} if len(changed) + len(gone) > len(staged) else
                {"staged_changed": changed, "staged_gone": gone})}
    data = pickle.dumps(lists, protocol=pickle.HIGHEST_PROTOCOL)
    write_file(lists_path(target), data, compare=False)  # (a new token every time: never the same bytes)
    return len(data)


def _entry(previous: Manifest, m: Manifest, swapped: bool) -> bytes | None:
    """One journal entry: each of `m`'s lists as it differs from the one of `previous` it came from
    (after a swap the twin's lists are the old live tree's, and the other way round); None where
    that is no shorter than the lists themselves."""
    assert previous.saved is not None
    live, staged, live_dirs, staged_dirs = previous.saved
    if swapped:
        live, staged, live_dirs, staged_dirs = staged, live, staged_dirs, live_dirs
    changes = [_changes(live, m.live), _changes(staged, m.staged), _changes(live_dirs, m.live_dirs),
               _changes(staged_dirs, m.staged_dirs)]
    if sum(len(c[0]) + len(c[1]) for c in changes) >= len(m.live) + len(m.staged):
        return None
    return pickle.dumps({"token": previous.token, "swapped": swapped, "changes": changes},
                        protocol=pickle.HIGHEST_PROTOCOL)


def _changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(what `new` sets that `old` does not hold as it is, what `old` holds that `new` has not)."""
    if old is new:
        return {}, []
    get = old.get
    return {k: v for k, v in new.items() if get(k) != v}, [k for k in old if k not in new]


def _replayed(saved: Lists, journal: bytes, token: str) -> Lists:
    """The lists with the journal's entries applied, in order (each names the lists' token)."""
    live, staged, live_dirs, staged_dirs = saved
    stream = io.BytesIO(journal)
    while stream.tell() < len(journal):
        entry = pickle.load(stream)
        if entry["token"] != token:
            raise ValueError("journal of other lists")
        if entry["swapped"]:
            live, staged, live_dirs, staged_dirs = staged, live, staged_dirs, live_dirs
        parts: tuple[dict[str, Any], ...] = (live, staged, live_dirs, staged_dirs)
        for part, (changed, gone) in zip(parts, entry["changes"], strict=True):
            for k in gone:
                del part[k]
            part.update(changed)
    return live, staged, live_dirs, staged_dirs


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
        m.token, m.journal, m.lists_size, m.saved = head.token, head.journal, head.lists_size, head.saved
        return
    _save_header(target, head)


def _save_header(target: Path, m: Manifest) -> None:
    head = {"version": MANIFEST_VERSION, "live_inode": m.live_inode, "staged_inode": m.staged_inode,
            "live_mtime": m.live_mtime, "live_files": len(m.live), "stamped_at": m.stamped_at, "token": m.token,
            "journal": m.journal, "lists_size": m.lists_size}
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
