"""Outputs → the output folder, all or nothing, touching only what changed.

Two trees take turns: the live output (`public/`) and its staging twin
(`.public.staging/`), which holds the previous generation. A build brings the
staging tree up to date — a file whose key matches what staging already has
is left alone, one that matches the live tree is hard-linked from it, the
rest are written — removes what is no longer produced, and then swaps the
two folders atomically (Linux renameat2 RENAME_EXCHANGE; renames on Windows
and with the portable paths forced, a swap that the next build finishes or
undoes if it was cut short: treeops.swap and recover). Nothing is ever deleted or recreated wholesale, which matters on
file systems where a big delete stalls the next writes, and unchanged files
keep their mtime, so nginx ETags and newsroom caches stay valid.

If anything fails before the swap, the live folder is untouched; the staging
twin is marked stale and rebuilt from the live tree next time. The live
folder holds exactly what was produced plus its marker: before each swap the
live tree is walked (one walk), and whatever the manifest does not know — a
file dropped in by hand — is removed from the old tree right after the swap.

This module decides (a fresh tree or an update of the twin, what to keep,
link, write and prune); its parts each do one thing:

- `outguard`: which folders may be written (the markers of each kind of
  output, the drafts folder, foreign folders refused) and the lock;
- `manifest`: the per-generation keys beside the folder, loaded and saved;
- `treeops`: file operations (compare, link, remove, prune, the swap);
- `writefail`: a failed write, as an error before the swap and a warning after.

Their names that the rest of the package uses are re-exported here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import time
from pathlib import Path

from .errors import WARNING, BuildFailed, Problem
from .i18n import _, t
from .jobs import bytes_key, copied_key
from .manifest import (
    MANIFEST_VERSION,
    Manifest,
    distrust,
    identity,
    inode,
    intact,
    load_manifest,
    manifest_path,
    save_manifest,
    unchanged,
)
from .model import Output
from .outguard import (
    INTERNAL,
    INTERNAL_MARKER,
    MARKER,
    MARKER_TEXT,
    MARKERS,
    PUBLIC,
    SMS,
    SMS_MARKER,
    check_outputs,
    check_path,
    check_paths,
    check_target,
    drafts_folder,
    exclusive,
    folders_of,
    settled,
    stamp,
    stamps_usable,
    strays,
)
from .runs import WriteReport
from .treeops import clear_metadata, link, prune, recover, remove, same, swap, write_file
from .writefail import WriteFailed, after_swap, as_failed, disk_problem, failed_writes, late_problem

__all__ = [
    "INTERNAL",
    "INTERNAL_MARKER",
    "MANIFEST_VERSION",
    "MARKER",
    "PUBLIC",
    "SMS",
    "SMS_MARKER",
    "Staging",
    "WriteFailed",
    "WriteReport",
    "after_swap",
    "check_outputs",
    "check_path",
    "check_paths",
    "check_target",
    "disk_problem",
    "drafts_folder",
    "exclusive",
    "failed_writes",
    "intact",
    "late_problem",
    "manifest_path",
    "staging_dir",
    "unchanged",
    "write_file",
    "write_site",
]


def staging_dir(target: Path) -> Path:
    return target.parent / f".{target.name}.staging"


class Staging:
    """One build's view of the two trees. Workers (forked or spawned processes: it pickles) may call put()."""

    def __init__(self, target: Path, kind: str = PUBLIC, in_place: bool = False, manifest: Manifest | None = None,
                 rewrite: frozenset[str] = frozenset()):
        """in_place: update the live folder file by file (each file atomically) instead of
        swapping whole trees; for the preview server, where nobody else reads the folder.
        `manifest`: the target's manifest as the caller has just loaded it (not read again).
        `rewrite`: paths written since the manifest was (runs.BuildOptions.rewrite): never kept.
        Raises BuildFailed for a folder that may not hold this output, WriteFailed if the disk fails."""
        self._given = manifest
        self.rewrite = rewrite
        self.target = target.resolve() if target.exists() else target.absolute()
        self.kind = kind
        self.in_place = in_place
        self.dir = self.target if in_place else staging_dir(self.target)
        self.marker = MARKERS[kind]
        try:
            self._open()
        except OSError as exc:
            raise as_failed(exc) from None

    def _open(self) -> None:
        t = self.target
        if not self.in_place:
            recover(self.dir, t)  # a swap by renames cut short by an earlier build's end
        problems = check_target(t, self.kind)
        if problems:
            raise BuildFailed(problems)
        self.manifest = m = self._given or load_manifest(t)
        if inode(t) != m.live_inode or not m.live_inode:
            m.live = {}
        # what is in the live folder besides the last build's files: removed from it by the swap
        self._strays: list[str] = []
        # folders of the live tree whose stamps say they hold what the last build left (outguard.settled)
        self._live_ok = settled(t, m.live_dirs, m.stamped_at) if m.live else set()
        if not self.in_place and (t / self.marker).exists():
            found = strays(t, self.kind, m.live, self._live_ok if m.live_dirs else None,
                           m.live_dirs)  # (refuses another kind's folder inside)
            # nothing known to compare with: the twin is pruned by a walk next time
            self._strays = found if m.live else []
        if self.in_place:
            self.dir.mkdir(parents=True, exist_ok=True)
            distrust(t, m, live=True)  # files are about to change under the manifest
            m.staged = {}
        elif inode(self.dir) != m.staged_inode or not m.staged_inode:
            m.staged = {}
            if self.dir.exists():
                shutil.rmtree(self.dir)  # unknown state: start the twin afresh
        # folders of the twin that hold what the manifest says (no file of theirs need be looked for)
        self._twin_ok = settled(self.dir, m.staged_dirs, m.stamped_at) if m.staged else set()
        self.empty = not self.dir.exists() or not os.listdir(self.dir)  # nothing to prune at the end
        # nothing to compare with or link from either: files are written straight away
        self.fresh = self.empty and not self.in_place and (not t.exists() or not os.listdir(t))
        self.dir.mkdir(parents=True, exist_ok=True)
        if not self.in_place:  # the twin is about to change: if this build dies, the next one must not trust it
            distrust(t, m)  # (in place, the live tree was distrusted above)
        self.keys: dict[str, str] = {}
        self._made: set[str] = set()
        self._listed: dict[tuple[str, str], frozenset[str]] = {}  # (tree, folder) → its files (`_has`)
        self._looked: set[tuple[str, str]] = set()  # (tree, folder) where one file was looked at alone
        self._dir_s, self._target_s = str(self.dir) + os.sep, str(self.target) + os.sep

    # ---- decisions (parent process) -------------------------------------------------

    def keep(self, path: str, key: str) -> bool:
        """Put an unchanged file in place without rendering it; False if it must be rendered."""
        if not key or path in self.rewrite:
            return False
        if self.in_place:
            if self.manifest.live.get(path) == key and os.path.exists(self._target_s + path):
                self.keys[path] = key
                return True
            return False
        folder = path.rpartition("/")[0]
        if self.manifest.staged.get(path) == key and (folder in self._twin_ok or self._has(self._dir_s, path)):
            self.keys[path] = key
            return True
        if self.manifest.live.get(path) == key and (folder in self._live_ok or self._has(self._target_s, path)):
            try:
                self._link_live(path)
            except OSError as exc:
                raise as_failed(exc) from None
            self.keys[path] = key
            return True
        return False

    def _has(self, top: str, path: str) -> bool:
        """Whether `path` is a regular file (not a link) of a tree, in a folder whose stamp cannot
        vouch for it (outguard.settled: changed by hand, or written just before the last build's
        stamps were taken, as the search index's and the SMS folders are on every edit; on Windows
        and with the portable paths, every folder). The first file asked for in a folder is looked
        at alone; at the second, the folder is listed, once a build: 3 listings instead of 11,700
        `stat`s on each edit of a 10,000-story site with search, and one `stat` for a folder of one
        file (a story's). The keep decisions all come before anything is written, and a link put
        into a folder meanwhile adds only the name it was kept for."""
        folder, _sep, name = path.rpartition("/")
        found = self._listed.get((top, folder))
        if found is None:
            if (top, folder) not in self._looked:
                self._looked.add((top, folder))
                try:
                    return stat.S_ISREG(os.lstat(top + path).st_mode)
                except OSError:
                    return False
            try:
                with os.scandir(top + folder) as entries:
                    found = frozenset(e.name for e in entries if e.is_file(follow_symlinks=False))
            except OSError:  # (not there, or not a folder: nothing in it to keep)
                found = frozenset()
            self._listed[(top, folder)] = found
        return name in found

    def __getstate__(self) -> dict[str, object]:
        """What a spawned worker receives: the listings stay in this process (put never reads them)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_listed", "_looked")} | \
            {"_listed": {}, "_looked": set()}

    # ---- writing (any process) ------------------------------------------------------

    def _parent(self, path: str) -> None:
        """The folder `path` goes into, made in the twin if it is not there yet."""
        parent = path.rpartition("/")[0]
        if parent and parent not in self._made:
            try:
                os.mkdir(self._dir_s + parent)
            except FileExistsError:
                pass
            except FileNotFoundError:
                os.makedirs(self._dir_s + parent, exist_ok=True)
            self._made.add(parent)

    def _link_live(self, path: str) -> None:
        self._parent(path)
        link(self._target_s + path, self._dir_s + path)

    def put(self, o: Output, key: str) -> bool:
        """Stage one output; True if bytes were written (False: identical file reused).
        Raises WriteFailed (which crosses from a worker) when the disk fails."""
        tmp = None
        try:
            self._parent(o.path)
            dest = self.dir / o.path
            if not self.fresh:  # (a new private tree with no live one: nothing to compare or link)
                if same(o, dest):
                    return False
                if not self.in_place and same(o, self.target / o.path):
                    self._link_live(o.path)
                    return False
            # a new inode, never writing through a link into the live tree; in a fresh tree nobody reads yet
            tmp = dest if self.fresh else dest.with_name(f".{dest.name}.tmp")
            if o.data is not None:
                tmp.write_bytes(o.data)
            else:
                assert o.source is not None
                shutil.copy2(o.source, tmp)
                if o.clear:
                    clear_metadata(tmp)
            if tmp is not dest:
                os.replace(tmp, dest)
            return True
        except OSError as exc:
            if tmp is not None:  # give back what a half-written file took (a full disk)
                with contextlib.suppress(OSError):
                    tmp.unlink()
            raise as_failed(exc) from None

    # ---- the end ------------------------------------------------------------------------

    def commit(self, keys: dict[str, str], written: int) -> WriteReport:
        """Remove what is no longer produced, swap the trees, save the manifest. A failure
        before the swap raises WriteFailed (the live folder untouched); after it, a warning."""
        produced = set(keys) | {self.marker}
        try:
            if self.in_place:
                removed = remove(self.dir, [p for p in self.manifest.live if p not in produced]) \
                    if self.manifest.live else prune(self.dir, produced)
                marker = self.dir / self.marker
                if not marker.exists():
                    marker.write_bytes(MARKER_TEXT[self.kind])
                ino, mtime = identity(self.target)
                loaded, self.manifest = self.manifest, Manifest(dict(keys), {}, ino, 0, mtime)
                return WriteReport(written, len(keys) - written, removed,
                                   tuple(after_swap(manifest_path(self.target),
                                                    lambda: save_manifest(self.target, self.manifest, loaded))))
            if self.manifest.staged:  # the twin is exactly the previous generation: the manifest says what is there
                pruned = remove(self.dir, [p for p in self.manifest.staged if p not in produced])
            elif self.empty:  # started empty: holds only what this build put there
                pruned = 0
            else:
                pruned = prune(self.dir, produced)
            marker = self.dir / self.marker
            if not marker.exists():
                marker.write_bytes(MARKER_TEXT[self.kind])
            previous_live = self.manifest.live
            swap(self.dir, self.target)
        except OSError as exc:
            raise as_failed(exc) from None
        # the new output is live; the old one (now the twin) still holds what was dropped into it
        stray_files = [p for p in self._strays if not p.endswith("/")]
        removed = (sum(1 for p in previous_live if p not in keys) if previous_live else pruned) + len(stray_files)
        warnings: list[Problem] = []
        if self._strays:
            shown = ", ".join(self._strays[:5]) + ("…" if len(self._strays) > 5 else "")
            warnings.append(Problem(str(self.target), None, None,
                                    t("removed {n} file(s) or folder(s) from the output folder that the build did "
                                      "not make ({shown}): the output folder holds only what the build makes",
                                      n=len(self._strays), shown=shown),
                                    _("do not put other files into the output folder; copy files that must be "
                                      "published with the site when deploying"),
                                    WARNING))
            failed = after_swap(self.dir, lambda: remove(self.dir, self._strays))
            if failed:
                previous_live = {}  # the twin holds files the manifest does not list: a walk prunes it next time
            warnings += failed
        ino, mtime = identity(self.target)
        # the old live tree's folders this build saw unchanged are the twin's now (where no stray was removed)
        twin = {} if self._strays else {d: st for d, st in self.manifest.live_dirs.items() if d in self._live_ok}
        at = time.time_ns()  # (before the folders are stamped: a change from now on is seen as one)
        live = self._stamps(folders_of(keys)) if stamps_usable() else {}
        loaded, self.manifest = self.manifest, Manifest(dict(keys), previous_live, ino, inode(self.dir), mtime, live,
                                                        twin, at)
        warnings += after_swap(manifest_path(self.target),
                               lambda: save_manifest(self.target, self.manifest, loaded, swapped=True))
        return WriteReport(written, len(keys) - written, removed, tuple(warnings))

    def _stamps(self, folders: set[str]) -> dict[str, tuple[int, int, int]]:
        """The stamps of the new live tree's folders, after the swap: a folder of the twin that was
        settled when this build began and that it wrote nothing into keeps the stamp it was
        verified with (the rename of the tree leaves its folders' stamps as they are); the others are
        stamped now. (A folder changed anyway — by the pruning, say — no longer matches the stamp
        kept for it, so the next build looks into it: a kept stamp can cost a look, never miss one.)"""
        kept = self.manifest.staged_dirs
        reuse = {d: kept[d] for d in folders if d in self._twin_ok and d not in self._made and d in kept}
        return {**reuse, **stamp(self.target, [d for d in folders if d not in reuse])}

    def abort(self) -> None:
        """The live tree is untouched; the twin is already recorded as untrusted."""


def write_site(outputs: list[Output], target: Path, kind: str = PUBLIC) -> WriteReport:
    """Write a complete set of outputs (every file rendered); used for reports and small trees.
    Raises BuildFailed for a folder that may not hold them, or when the disk fails."""
    problems = check_outputs(outputs)
    if problems:
        raise BuildFailed(problems)
    with exclusive(target), failed_writes(target):
        staging = Staging(target, kind)
        written = 0
        keys: dict[str, str] = {}
        try:
            for o in sorted(outputs, key=lambda o: o.path):
                try:
                    keys[o.path] = bytes_key(o.data) if o.data is not None else copied_key(o)
                except OSError as exc:
                    raise as_failed(exc) from None
                if staging.put(o, keys[o.path]):
                    written += 1
            return staging.commit(keys, written)
        except BaseException:
            staging.abort()
            raise

