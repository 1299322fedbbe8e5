"""The persistent build cache: what earlier builds read, parsed and rendered.

Stored beside the output, keyed by content hashes, so it can never serve
something stale: a changed file has a new hash. Five files:

- `.public.cache`: loaded by every build that has something to do. Validated
  story records (without their private blocks), public stories, pinyin slugs, SMS messages (each
  pickled on its own, read back only when the SMS files are made), the size/time
  signature and digest of every source file (so unchanged files are not even
  read), and memoised index parts.
- `.public.cache.bodies`: parsed front matter and rendered Markdown, loaded
  only when a build needs them (after a config change, say), never for a
  build that changes a few stories.
- `.public.cache.search`: each search document's tokens, by the document's
  identity, and each shard file of the search index, by its bytes' key, in a
  SQLite file (`_Table`): a build reads only the entries it asks for (a
  one-story edit: that story's old and new tokens and the few shards they
  change, not the 420 + 126 MB of them all at 100,000 stories), and writes
  what it made as soon as the search index is made.
- `.public.cache.feeds`: each story's entry in each feed format (feeds.FeedParts), by what it
  is made from, in the same kind of file: an edit that makes a dozen feeds again reads the
  entries of their other stories instead of making each again (a feed holds 50).
- `.public.cache.html`: the public stories' bodies (HTML), by what each is made from, in the same kind
  of file. The stories in `.public.cache` are stored without them (they were four fifths of its
  bytes) and each is read when it is first asked for (model.PublicStory): a one-story edit reads
  the dozen bodies of the pages it makes again.

The first two files each have a journal of what later builds added; every
file is versioned by the package's code hash. A file from another version,
or one that cannot be read, is discarded with a notice. Deleting any of them
is always safe.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import pickle
import sqlite3
import urllib.parse
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import i18n, safetree
from .errors import Problem
from .i18n import _, t
from .jobs import CODE_VERSION
from .model import BodyUnavailable, PublicStory

CACHE_VERSION = 5  # (4: a table's checksums cover each value's key; 5: SMS messages stored pickled one by one)
Scrub = dict[str, Callable[[Any], Any]]
MAIN_PARTS = ("slugs", "sms", "records", "stories", "files", "memo")
LAZY_PARTS = ("docs", "bodies")
# Cached records and warnings hold messages for people: the language they were written in, and
# the catalogue they came from, are part of what a cached result was made from.
_CATALOGUE = hashlib.blake2b(b"".join(p.read_bytes() for p in sorted(i18n.LOCALE_DIR.rglob("*.mo"))),
                             digest_size=8).hexdigest()


def _version() -> tuple[int, str, str, str]:
    return (CACHE_VERSION, CODE_VERSION, i18n.language(), _CATALOGUE)


def body_key(digest: str, salt: str) -> str:
    """A story body's rendering, by its file's digest and what rendering depends on."""
    return f"{digest}|{salt}"


class Tracked(dict):  # type: ignore[type-arg]
    """A dict that remembers which keys a build looked up or stored, so compaction keeps only
    those, and which it stored since the part was loaded or saved (`changed`: what the next save
    appends to the journal, without comparing every entry with the file's), and whether any was
    taken out (`dropped`: the next save then writes the file whole, or the file would bring it back)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.used: set[Any] = set()
        self.changed: set[Any] = set()
        self.dropped = False

    def get(self, key: Any, default: Any = None) -> Any:
        found = dict.get(self, key, default)
        if found is not default:
            self.used.add(key)
        return found

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, value)
        self.used.add(key)
        self.changed.add(key)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self.get(key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for k, v in dict(*args, **kwargs).items():
            self[k] = v

    def __ior__(self, other: Any) -> Tracked:  # type: ignore[misc]
        self.update(other)
        return self

    def __delitem__(self, key: Any) -> None:
        dict.__delitem__(self, key)
        self.dropped = True

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self:
            self.dropped = True
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[Any, Any]:
        self.dropped = True
        return dict.popitem(self)

    def clear(self) -> None:
        self.dropped = True
        dict.clear(self)

    def __reduce__(self) -> Any:  # stored as a plain dict
        return (dict, (dict(self),))

    def keep_used(self) -> dict[Any, Any]:
        return {k: v for k, v in self.items() if k in self.used}

    def forget_unused(self) -> None:
        for k in [k for k in self if k not in self.used]:
            del self[k]
        self.used = set()


class _Store:
    """One cache file with its journal: named dicts, appended to, compacted now and then."""

    def __init__(self, path: Path | None, parts: tuple[str, ...], keep_all: tuple[str, ...] = ()):
        self.path = path
        self.parts = parts
        self.keep_all = keep_all  # parts compaction keeps whole (small ones)
        self.data: dict[str, Tracked] = {name: Tracked() for name in parts}
        self.rewrite = True  # no trustworthy base file: the next save writes the whole file
        self.journal_entries = 0

    @property
    def journal(self) -> Path:
        assert self.path is not None
        return self.path.with_name(self.path.name + ".journal")

    def load(self) -> Problem | None:
        """The base file, then the journal of what later builds added."""
        if self.path is None or not self.path.exists():
            return None
        try:
            with self.path.open("rb") as f:  # a header, then each part on its own (see save)
                head = pickle.load(f)
                if not isinstance(head, dict) or head.get("version") != _version():
                    return _foreign(self.path)
                parts = {name: pickle.load(f) for name in head["parts"]}
            parts = {name: parts[name] for name in self.parts}
            entries = 0
            if self.journal.exists():
                with self.journal.open("rb") as f:
                    while f.peek(1):
                        entry = pickle.load(f)
                        if entry.get("version") != _version():
                            raise ValueError("journal from another version")
                        for name in self.parts:
                            parts[name].update(entry[name])
                            entries += len(entry[name])
        except Exception as exc:  # noqa: BLE001 - corrupted, truncated, unreadable, any unpickling error: never trust it
            return _unreadable(self.path, exc)
        for name in self.parts:
            added = self.data[name]  # what this build stored before the load wins
            self.data[name] = Tracked(parts[name])
            for k, v in added.items():
                self.data[name][k] = v
            self.data[name].used |= added.used
        self.rewrite, self.journal_entries = False, entries
        return None

    def save(self, scrub: Scrub | None = None) -> None:
        """Append what is new or changed to the journal; rewrite the whole file, keeping only the
        entries this build used, when there is no trustworthy base or the journal or the unused
        entries have grown past a quarter. A torn journal makes the next load discard the file.
        `scrub` maps a part to what is stored of each of its values (what must not be on disk)."""
        if self.path is None:
            return

        new: dict[str, dict[Any, Any]] = {}
        if any(part.dropped for part in self.data.values()):
            self.rewrite = True  # (appended to, the file would still hold what was taken out)
        if not self.rewrite:  # (a rewrite writes everything anyway)
            for name in self.parts:
                part = self.data[name]
                new[name] = {k: part[k] for k in part.changed if k in part}
        added = sum(len(v) for v in new.values())
        total = sum(len(v) for v in self.data.values())
        unused = sum(len(p) - len(p.used) for n, p in self.data.items() if n not in self.keep_all)
        if not self.rewrite and added == 0 and unused <= total // 4:
            return
        if not self.rewrite and self.journal_entries + added <= total // 4 and unused <= total // 4 \
                and not self.journal_too_long():
            self.append(new, scrub)
            self.journal_entries += added
        else:
            tmp = self.path.with_name(self.path.name + ".tmp")
            with tmp.open("wb") as f:  # part by part: the pickler's memo never holds the whole cache
                pickle.dump({"version": _version(), "parts": list(self.parts)}, f, protocol=pickle.HIGHEST_PROTOCOL)
                for name, part in self.data.items():
                    pickle.dump(_stored(scrub, name, dict(part) if name in self.keep_all else part.keep_used()),
                                f, protocol=pickle.HIGHEST_PROTOCOL)
            if self.journal.exists():
                self.journal.unlink()
            os.replace(tmp, self.path)
            self.rewrite, self.journal_entries = False, 0
        for part in self.data.values():  # (the file holds every entry now)
            part.changed, part.dropped = set(), False

    def append(self, entries: Mapping[str, dict[Any, Any]], scrub: Scrub | None = None) -> None:
        """Add entries to the journal (the file need not be loaded)."""
        assert self.path is not None
        with self.journal.open("ab") as f:
            pickle.dump({"version": _version(), **{n: _stored(scrub, n, e) for n, e in entries.items()}}, f,
                        protocol=pickle.HIGHEST_PROTOCOL)

    def journal_too_long(self) -> bool:
        """A journal past a quarter of its base file: time to compact."""
        assert self.path is not None
        return self.journal.exists() and self.journal.stat().st_size > self.path.stat().st_size // 4


def _foreign(path: Path) -> Problem:
    # (what the version is made of, a tuple of digests, means nothing to a user)
    return Problem(str(path), None, None,
                   # TRANSLATORS: 原文：生成网站的缓存是另一个版本的程序（或它用的库、另一种界面语言）
                   # 留下的，已经丢弃；这次会重新读取全部稿件，用时比平时长
                   _("build cache left by another version of the program (or of its libraries, "
                     "or another language) discarded; this build reads every story again and "
                     "takes longer"), severity="warning")


def _unreadable(path: Path, exc: Exception) -> Problem:
    return Problem(str(path), None, None,
                   t("build cache unreadable ({reason}) discarded; this build renders everything",
                     reason=type(exc).__name__), severity="warning")


def _stored(scrub: Scrub | None, name: str, entries: dict[Any, Any]) -> dict[Any, Any]:
    """What goes to disk of a part's entries: each value through the part's scrub, if any."""
    f = (scrub or {}).get(name)
    return {k: f(v) for k, v in entries.items()} if f else entries


class _Lazy:
    """A store loaded on first use, which a build can write and let go of once it no longer needs
    it (`release`); loaded again if asked for after that."""

    def __init__(self, path: Path | None, parts: tuple[str, ...], notices: list[Problem]):
        self.store = _Store(path, parts)
        self.loaded = path is None
        self.released = False  # (written and let go of: what this build used is not known any more)
        self.notices = notices

    def part(self, name: str) -> Tracked:
        self.need()
        return self.store.data[name]

    def unloaded(self, name: str) -> Tracked:
        """A part to store into or mark without loading the file (what is stored wins over it)."""
        return self.store.data[name]

    def need(self) -> None:
        if not self.loaded:
            self.loaded = True
            notice = self.store.load()
            if notice is not None:
                self.notices.append(notice)
            if self.released:  # (loaded again after a release: a compaction must keep everything)
                for part in self.store.data.values():
                    part.used |= set(part)

    def save(self, scrub: Scrub | None) -> None:
        store = self.store
        if not self.loaded:
            if not any(store.data[name] for name in store.parts):
                return
            assert store.path is not None
            if store.path.exists() and not store.journal_too_long():
                store.append(store.data, scrub)  # what this build added, without loading the rest
                return
            self.need()  # no base yet, or a long journal: load, then compact
            store.rewrite = True
        store.save(scrub)

    def release(self, scrub: Scrub | None) -> None:
        self.save(scrub)
        assert self.store.path is not None
        self.store = _Store(self.store.path, self.store.parts)
        self.loaded, self.released = False, True

    def drop_files(self) -> None:
        if self.store.path is not None:
            for p in (self.store.path, self.store.journal):
                if p.exists():
                    p.unlink()


_CHUNK = 500  # keys in one query (SQLite's limit on a query's parameters is 999 in older versions)
# SQLite's primary result codes (an error's `sqlite_errorcode` & 0xff) → the errno a warning names
_SQLITE_ERRNO = {13: errno.ENOSPC, 10: errno.EIO, 8: errno.EACCES, 3: errno.EACCES, 14: errno.EACCES,
                 5: errno.EBUSY, 6: errno.EBUSY}
_DAMAGED = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB: a file to discard, not a write to retry


def _sealed(key: str, value: Any) -> bytes:
    """A value as stored under `key`: a CRC-32 of the key and the value's pickle, then the pickle (a
    file that SQLite reads without an error can still hold a torn value after the machine itself
    crashed, or a value moved to another row: such a value is never trusted). (CRC-32: made for
    accidental damage, and 4× faster than blake2b: 25 against 91 ms for the 55 MB of a
    10,000-story site's entries.)"""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return zlib.crc32(data, zlib.crc32(key.encode("utf-8", "surrogatepass"))).to_bytes(4, "big") + data


def _unsealed(key: str, stored: bytes) -> Any:
    data = memoryview(stored)[4:]
    if zlib.crc32(data, zlib.crc32(key.encode("utf-8", "surrogatepass"))).to_bytes(4, "big") != stored[:4]:
        raise ValueError("stored value does not match its checksum")
    return pickle.loads(data)


class _Table:
    """A cache file of many entries of which a build reads a few, by key: a SQLite file holding
    one table, key → pickled value (the search index's parts: its documents' tokens by identity,
    its shard files by key; a one-story edit reads that story's old and new tokens and the shards
    they change instead of all of them).

    `held` holds the entries this build made and has not written yet; or everything, when there is
    no file to read from (`whole`: a cache kept in memory, or one read only, whose file is read
    whole the first time it is asked for, as the preview server keeps its cache between builds).

    Written without SQLite's syncs: a build killed at any point leaves the file as it was or as
    its last transaction made it (the rollback journal beside it, `<name>-journal`, is rolled back
    by the next build; the preview, reading only, cannot and does not trust the file then). A
    crash of the whole machine may leave it damaged: every value is stored with a CRC-32
    (`_sealed`), and a file SQLite cannot read, or a value whose checksum or pickle is wrong, is
    discarded with a notice, as the other cache files are. A new file is made under another name
    and renamed into place."""

    def __init__(self, path: Path | None, notices: list[Problem], read_only: bool = False):
        self.path, self.notices, self.read_only = path, notices, read_only
        self.held: dict[str, Any] = {}
        self.whole = path is None  # `held` is all there is
        self.fresh = False  # the file is not to be read from (there is none, or it was discarded)
        self.checked = False  # its version was checked by this build
        self.in_use: set[str] | None = None  # every key this build needs, once it says (`keep`)
        self.renewed = False  # the last save wrote a new file: it holds only what this build put

    def get(self, keys: Collection[str]) -> dict[str, Any]:
        """The entries of those keys that there are."""
        found = {k: self.held[k] for k in keys if k in self.held}
        rest = [k for k in keys if k not in found]
        if rest and not self.whole:
            if self.read_only:
                self.held = {**self._read(None), **self.held}
                self.whole = True
                return {k: self.held[k] for k in keys if k in self.held}
            found.update(self._read(rest))
        return found

    def has(self, keys: Collection[str]) -> set[str]:
        """Which of those keys have an entry (their values are not read)."""
        found = {k for k in keys if k in self.held}
        rest = [k for k in keys if k not in found]
        if rest and not self.whole:
            if self.read_only:
                self.get(rest)  # (read whole, as `get` does)
                return {k for k in keys if k in self.held}
            found |= self._read(rest, values=False).keys()
        return found

    def put(self, entries: Mapping[str, Any]) -> None:
        self.held.update(entries)

    def keep(self, keys: Collection[str]) -> None:
        """Every key this build needs: the others are dropped once they pass a quarter of the file."""
        self.in_use = set(keys)

    def forget_unused(self) -> None:
        """(A cache kept in memory) drop what the last build did not need."""
        if self.whole and self.in_use is not None:
            self.held = {k: v for k, v in self.held.items() if k in self.in_use}
        self.in_use = None

    def _open(self) -> sqlite3.Connection | None:
        """The file, its version checked (once a build); None when there is none, or it was
        discarded (a notice)."""
        if self.path is None or self.fresh or not self.path.exists():
            self.fresh = True
            return None
        if self.read_only:  # (a URI: the one way to open it read only; a hot journal is then not rolled back)
            where = self.path.resolve().as_posix()  # (/home/…, C:/…, or //server/share/… for a Windows share)
            db = sqlite3.connect(f"file://{'' if where.startswith('/') else '/'}{urllib.parse.quote(where)}?mode=ro",
                                 uri=True, timeout=10)
        else:
            db = sqlite3.connect(self.path, timeout=10)
        if self.checked:
            return db
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        except sqlite3.DatabaseError as exc:  # not a database, malformed, torn
            db.close()
            self._discard(_unreadable(self.path, exc))
            return None
        except BaseException:
            db.close()
            raise
        if row is None or row[0] != repr(_version()):
            db.close()
            self._discard(_foreign(self.path))
            return None
        self.checked = True
        return db

    def _read(self, keys: list[str] | None, values: bool = True) -> dict[str, Any]:
        """The stored entries of those keys (None: all of them); values False: each key's value
        is None, and no value is read (SQLite answers from the keys' index)."""
        assert self.path is not None
        found: dict[str, Any] = {}
        columns = "key, value" if values else "key, NULL"
        try:
            db = self._open()
            if db is None:
                return found
            with contextlib.closing(db):
                queries = [(f"SELECT {columns} FROM entries", [])] if keys is None else \
                    [(f"SELECT {columns} FROM entries WHERE key IN ({','.join('?' * len(chunk))})", chunk)
                     for chunk in (keys[i:i + _CHUNK] for i in range(0, len(keys), _CHUNK))]
                for query, args in queries:  # (row by row: never every stored value at once besides the found ones)
                    for k, v in db.execute(query, args):
                        found[k] = v if v is None else _unsealed(k, v)
        except Exception as exc:  # noqa: BLE001 - not a database, malformed, torn, a checksum or pickle error: never trust it
            self._discard(_unreadable(self.path, exc))
            return {}
        return found

    def _discard(self, notice: Problem) -> None:
        self.notices.append(notice)
        self.fresh = True
        if not self.read_only:
            with contextlib.suppress(OSError):  # (one that cannot be removed is replaced at the save)
                self.drop_files()

    def save(self) -> None:
        """Write the entries made since the last save (into a new file when there is none or it was
        discarded), and drop the entries not in use once they pass a quarter of the file. A failure
        is an OSError (the build's warning names the file and what to do)."""
        self.renewed = False
        if self.path is None or self.read_only or (not self.held and self.in_use is None):
            return
        try:
            try:
                db = self._open()
                if db is not None:
                    with contextlib.closing(db):
                        self._update(db)
                elif self.held:
                    self._write_new()
            except sqlite3.Error as exc:
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _DAMAGED:
                    raise
                self._discard(_unreadable(self.path, exc))  # (a new file, of what this build has, in its place)
                if self.held:
                    self._write_new()
        except sqlite3.Error as exc:
            code = _SQLITE_ERRNO.get(getattr(exc, "sqlite_errorcode", 0) & 0xFF, errno.EIO)
            raise OSError(code, str(exc), str(self.path)) from exc
        self.held, self.in_use = {}, None

    def _rows(self) -> Iterator[tuple[str, bytes]]:
        return ((k, _sealed(k, v)) for k, v in self.held.items())

    def _write_new(self) -> None:
        assert self.path is not None
        tmp = self.path.with_name(self.path.name + ".tmp")
        for p in (tmp, _rollback_journal(tmp)):
            p.unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(tmp)) as db:
            db.execute("PRAGMA journal_mode = OFF")  # (a file no one reads until it is renamed)
            db.execute("PRAGMA synchronous = OFF")
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
            db.execute("CREATE TABLE entries (key TEXT PRIMARY KEY, value BLOB)")
            db.execute("INSERT INTO meta VALUES ('version', ?)", (repr(_version()),))
            db.executemany("INSERT INTO entries VALUES (?, ?)", self._rows())
            db.commit()
        _rollback_journal(self.path).unlink(missing_ok=True)  # (never rolled into the new file)
        os.replace(tmp, self.path)
        self.fresh, self.checked, self.renewed = False, True, True

    def _update(self, db: sqlite3.Connection) -> None:
        db.execute("PRAGMA synchronous = OFF")
        with db:  # one transaction: all of it, or (killed) none of it
            db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?)", self._rows())
            if self.in_use is not None:
                (rows,) = db.execute("SELECT count(*) FROM entries").fetchone()
                if rows - len(self.in_use) > len(self.in_use) // 4:
                    db.execute("CREATE TEMP TABLE used (key TEXT PRIMARY KEY)")
                    db.executemany("INSERT OR IGNORE INTO used VALUES (?)", ((k,) for k in self.in_use))
                    db.execute("DELETE FROM entries WHERE key NOT IN (SELECT key FROM used)")

    def drop_files(self) -> None:
        if self.path is not None:
            # (with the journal of the pickled file this one replaced, which earlier versions wrote)
            for p in (self.path, _rollback_journal(self.path), self.path.with_name(self.path.name + ".journal")):
                p.unlink(missing_ok=True)


def _rollback_journal(path: Path) -> Path:
    return path.with_name(path.name + "-journal")


class BodyMissing(BodyUnavailable):
    """A story's body held back (model.PublicStory) is not in `.public.cache.html` after all: the
    file was damaged or removed during the build. The build stops; the next one does without it."""

    def __init__(self, path: Path):
        super().__init__(str(path))
        self.path = path

    def problem(self) -> Problem:
        return Problem(str(self.path), None, None,
                       # TRANSLATORS: 原文：生成网站的缓存文件在生成过程中损坏或被删除，这次没有生成，网站保持原样
                       _("a file of the build cache was damaged or removed while the site was being built: "
                         "nothing was published"),
                       # TRANSLATORS: 原文：请再生成一次（损坏的缓存文件已经丢弃）
                       _("build again (the cache file has been discarded)"))


def _held(value: Any) -> PublicStory:
    """The story of a value of the stories part: a story, or (its images' keys, the story)."""
    return value[1] if isinstance(value, tuple) else value  # type: ignore[no-any-return]


def _stored_story(value: Any) -> Any:
    """What the main file stores of a value of the stories part: the story without its body (which
    `.public.cache.html` holds by the key the story keeps: BuildCache.save) and without a reader."""
    story = _held(value)
    stored = object.__new__(PublicStory)
    stored.__dict__.update({k: v for k, v in story.__dict__.items() if k not in ("body_html", "_fetch")})
    return (value[0], stored) if isinstance(value, tuple) else stored


def _text_key(key: str, value: Any) -> str:
    """The key of the body of a value of the stories part: the value's own key (the story's digest
    and file, which the story is made from), with the keys of its images if they were joined
    (Incremental.attach stores the story with them: its body then shows their sizes). (Not a hash
    of the body itself: 140 ms for a 10,000-story site's 74 MB, at the end of every cold build.)"""
    if not isinstance(value, tuple):
        return key
    return key + "\x1f" + hashlib.blake2b(repr(value[0]).encode("utf-8", "surrogatepass"),
                                          digest_size=16).hexdigest()


@dataclass
class BuildCache:
    """Every part is a dict keyed by content hashes. `path` None: kept in memory, never saved."""

    path: Path | None
    notices: list[Problem] = field(default_factory=list)
    read_only: bool = False  # read from its files, never written to them (see load)

    def __post_init__(self) -> None:
        self._main = _Store(self.path, MAIN_PARTS, keep_all=("slugs",))
        self._lazy = _Lazy(lazy_path(self.path) if self.path else None, LAZY_PARTS, self.notices)
        self._search = _Table(search_path(self.path) if self.path else None, self.notices, self.read_only)
        self._feeds = _Table(feeds_path(self.path) if self.path else None, self.notices, self.read_only)
        self._texts = _Table(texts_path(self.path) if self.path else None, self.notices, self.read_only)

    @classmethod
    def load(cls, path: Path | None, read_only: bool = False) -> tuple[BuildCache, Problem | None]:
        """The cache stored at `path`. read_only: for a reader that is not the build owning the
        files (the preview server starting from the last build's cache): they are never saved,
        and a file that cannot be trusted is left where it is, the cache returned empty."""
        cache = cls(path, read_only=read_only)
        notice = cache._main.load()
        if notice is not None and read_only:
            return cls(None), notice
        if notice is not None:  # the files are written together: distrust them all
            cache._lazy.drop_files()
            cache._search.drop_files()
            cache._feeds.drop_files()
            cache._texts.drop_files()
        else:
            cache._given_readers()
        return cache, notice

    def _given_readers(self) -> None:
        """The stories read without their bodies are given a reader of `.public.cache.html`; read
        only (the preview server, which keeps them between builds while the files may change), the
        bodies are read now, all at once. Without that file (removed, another version's, damaged),
        those stories are forgotten: their pages are published again from their renderings."""
        part = self._main.data["stories"]
        held = [k for k, v in part.items() if "body_html" not in _held(v).__dict__]
        if not held:
            return
        usable = self._texts._open()
        if usable is not None:
            usable.close()
            if self.read_only:
                found = self._texts.get({_held(part[k]).__dict__["_text"] for k in held})
                for k in held:
                    story = _held(part[k])
                    if story.__dict__["_text"] in found:
                        object.__setattr__(story, "body_html", found[story.__dict__["_text"]])
            else:
                for k in held:
                    object.__setattr__(_held(part[k]), "_fetch", self.body_text)
                return
        self._forget_stories(lambda story: "body_html" not in story.__dict__)

    def _forget_stories(self, bodiless: Callable[[PublicStory], bool]) -> None:
        """Forget the stored stories whose bodies `.public.cache.html` does not have (their pages
        are published again from their renderings); the main file is then written whole."""
        part = self._main.data["stories"]
        gone = [k for k, v in part.items() if bodiless(_held(v))]
        for k in gone:
            del part[k]  # (which makes the next save write the file whole)
        if gone:
            self._main.rewrite = True

    def body_text(self, key: str) -> str:
        """A story's body held back (model.PublicStory), by its key. Raises BodyMissing."""
        found = self._texts.get([key])
        if key not in found:  # (the file is dropped: the next build does without it)
            assert self.path is not None
            with contextlib.suppress(OSError):
                self._texts.drop_files()
            raise BodyMissing(texts_path(self.path))
        text: str = found[key]
        return text

    def read_bodies(self, stories: Iterable[PublicStory]) -> None:
        """The bodies these stories hold back, read in one go (before many of them are shown)."""
        wanted: dict[str, list[PublicStory]] = {}
        for s in stories:
            if "body_html" not in s.__dict__ and "_fetch" in s.__dict__:
                wanted.setdefault(s.__dict__["_text"], []).append(s)
        if not wanted:
            return
        found = self._texts.get(list(wanted))
        for key, text in found.items():
            for s in wanted[key]:
                object.__setattr__(s, "body_html", text)

    def take_notices(self) -> list[Problem]:
        """The notices of files discarded since they were last taken (a file loaded on first use
        can be discarded at any point of a build)."""
        taken = list(self.notices)
        self.notices.clear()  # (in place: the stores loaded on first use add to this list)
        return taken

    # main parts: loaded with the cache
    @property
    def slugs(self) -> Tracked:  # (title, max length) → pinyin slug
        return self._main.data["slugs"]

    @property
    def sms(self) -> Tracked:  # story digest → (message, problems)
        return self._main.data["sms"]

    @property
    def records(self) -> Tracked:  # config+media salt + file digest → (record, problems)
        return self._main.data["records"]

    @property
    def stories(self) -> Tracked:  # story digest + path → PublicStory
        return self._main.data["stories"]

    @property
    def files(self) -> Tracked:  # absolute path → ((size, mtime, ctime, inode), digest)
        return self._main.data["files"]

    @property
    def memo(self) -> Tracked:  # other memoised results, e.g. related stories by their inputs
        return self._main.data["memo"]

    # lazy parts: loaded on first use
    @property
    def docs(self) -> Tracked:  # file digest → (front matter, body line, body offset)
        return self._lazy.part("docs")

    @property
    def bodies(self) -> Tracked:  # body_key → Rendered
        return self._lazy.part("bodies")

    # the search index's parts (its documents' tokens, its shard files), read by key
    def search_entries(self, keys: Collection[str]) -> dict[str, Any]:
        """The entries stored under those keys (the others are not there)."""
        return self._search.get(keys)

    def search_has(self, keys: Collection[str]) -> set[str]:
        """Which of those keys have an entry stored (nothing else read)."""
        return self._search.has(keys)

    def put_search_entries(self, entries: Mapping[str, Any]) -> None:
        self._search.put(entries)

    def search_in_use(self, keys: Collection[str]) -> None:
        """Every key this build's search index is made of: the others are dropped in time."""
        self._search.keep(keys)

    # the feeds' entries (feeds.FeedParts), read by key
    def feed_entries(self, keys: Collection[str]) -> dict[str, Any]:
        """The entries stored under those keys (the others are not there)."""
        return self._feeds.get(keys)

    def put_feed_entries(self, entries: Mapping[str, Any]) -> None:
        self._feeds.put(entries)

    def feeds_in_use(self, keys: Collection[str]) -> None:
        """Every key of this build's feeds: the others are dropped in time."""
        self._feeds.keep(keys)

    def put_doc(self, digest: str, doc: Any) -> None:
        """Store without loading the lazy file."""
        self._lazy.unloaded("docs")[digest] = doc

    def put_body(self, key: str, rendered: Any) -> None:
        self._lazy.unloaded("bodies")[key] = rendered

    def still_used(self, digests: list[str], body_keys: list[str]) -> None:
        """Front matter and bodies this build relies on without looking them up: keep them."""
        self._lazy.unloaded("docs").used.update(digests)
        self._lazy.unloaded("bodies").used.update(body_keys)

    def forget_unused(self) -> None:
        """Drop what the last build did not use (a long-running server's cache stays bounded)."""
        for store in (self._main, self._lazy.store):
            for name, part in store.data.items():
                if name not in store.keep_all:
                    part.forget_unused()
        self._search.forget_unused()
        self._feeds.forget_unused()
        self._texts.forget_unused()

    def save(self, scrub: Scrub | None = None) -> None:
        """Write what this build added; compact a file when its journal or unused entries pass a quarter.
        `scrub`: part name → what to store of a value, e.g. a record without its private block."""
        if self.path is None or self.read_only:
            return
        self._keep_bodies()
        made = set(self._texts.held)
        self._texts.save()  # (first: the stories stored next name their bodies by key)
        if self._texts.renewed:  # (the file was gone or damaged: it holds this build's bodies only)
            self._forget_stories(lambda story: story.__dict__["_text"] not in made)
        self._main.save({**(scrub or {}), "stories": _stored_story})
        self._lazy.save(scrub)
        self._search.save()
        self._feeds.save()

    def _keep_bodies(self) -> None:
        """The body of every story made by this build, into `.public.cache.html` by a key
        (`_text_key`) that the story keeps (`_text`; a story read from the cache has its own
        already); every body a stored story names is in use."""
        made: dict[str, str] = {}
        in_use: set[str] = set()
        for k, value in self._main.data["stories"].items():
            story = _held(value)
            key = story.__dict__.get("_text")
            if key is None:
                key = _text_key(k, value)
                made[key] = story.body_html
                object.__setattr__(story, "_text", key)
            in_use.add(key)
        self._texts.put(made)
        self._texts.keep(in_use)

    def save_lazy(self, scrub: Scrub | None = None) -> None:
        """Write the front matter and renderings now, and let go of them: a build needs them only
        while it reads and publishes stories, and a cold build's renderings held until the end were
        a tenth of its peak memory. They are loaded again if asked for; `save` writes what was added
        since."""
        if self.path is None or self.read_only:
            return
        self._lazy.release(scrub)

    def save_search(self) -> None:
        """Write the search documents' tokens made by this build now, and let go of them: a build
        needs them only to make the search index (~40 MB at 10,000 stories on a cold build)."""
        if self.path is None or self.read_only:
            return
        self._search.save()


def lazy_path(path: Path) -> Path:
    return path.with_name(path.name + ".bodies")


def search_path(path: Path) -> Path:
    return path.with_name(path.name + ".search")


def texts_path(path: Path) -> Path:
    return path.with_name(path.name + ".html")


def feeds_path(path: Path) -> Path:
    return path.with_name(path.name + ".feeds")


def cache_path(output_dir: Path) -> Path:
    return output_dir.parent / f".{output_dir.name}.cache"


def input_signature(paths: list[tuple[Path, Path]], extra: str, taken: dict[str, os.stat_result] | None = None) -> str:
    """A cheap fingerprint of every input file (name, size, mtime, ctime, inode) and `extra`;
    `taken`, if given, gets each file's stat by its path as walked (sources.discover reuses them).

    ctime cannot be set by tools that copy files "preserving times", so any
    write to a file changes the signature.

    Its own walk, leaner than the build's (safetree.walk: a nothing-changed build is this walk and
    little else; at 100,000 stories it was 0.7 s of 0.85), with the same rules. `paths` are
    (input, boundary) pairs: the boundary is the folder the build lets the input's links lead
    into (the content folder; the site's themes/ for its themes). A link's target is part of the
    fingerprint (a link retargeted changes it); a folder reached through a link (or a Windows
    junction) is walked when it lies inside the boundary and is neither one the walk is in nor one
    it has walked by another path, else it is the build's error (no state is saved) or already
    fingerprinted, and is not walked (a link to `/` would be walked whole, and folders linking to
    each other in every order); an entry that cannot be read is part of it by its error. Entries
    are taken in the order the folder lists them, not sorted: every line names its full path, so
    the same lines in another order can only cost a build, never hide a change.
    """
    h = hashlib.blake2b(extra.encode("utf-8"), digest_size=16)
    for top, boundary in paths:
        lines: list[str] = []
        if top.is_file():
            st = top.stat()
            lines.append(f"{top}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{st.st_ino}\n")
        else:
            real = os.path.realpath(top)
            lines.append(f"{top}/|{real}\n")
            _fingerprint_lines(str(top), os.path.realpath(boundary), {real}, set(), lines,
                               {} if taken is None else taken)
        h.update("".join(lines).encode("utf-8", "surrogateescape"))  # (one update: as one per line)
    return h.hexdigest()


def _fingerprint_lines(folder: str, top_real: str, active: set[str], walked: set[str], lines: list[str],
                       taken: dict[str, os.stat_result]) -> None:
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except OSError as exc:
        lines.append(f"!{folder}|{exc.errno}\n")
        return
    for entry in entries:
        path = entry.path
        try:
            link = entry.is_symlink()
            if entry.is_dir():  # (through a link too)
                real = os.path.realpath(path)
                lines.append(f"@{path}|{real}\n")  # (folders are few: each with where it really is)
                if real in active or real in walked or not safetree.inside(real, top_real):
                    # a loop or a folder outside (the build's errors), or one already walked by
                    # another path (its files are in the fingerprint): the line above stands for it
                    continue
                active.add(real)
                walked.add(real)
                _fingerprint_lines(path, top_real, active, walked, lines, taken)
                active.discard(real)
                continue
            if link:
                lines.append(f"@{path}|{os.path.realpath(path)}\n")
            st = taken[path] = entry.stat()
            lines.append(f"{path}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{st.st_ino}\n")
        except OSError as exc:
            lines.append(f"!{path}|{exc.errno}\n")


@dataclass(frozen=True)
class BuildState:
    """What the last successful build saw, to skip a rebuild when nothing can have changed."""

    signature: str
    valid_until: Any  # datetime: the next moment a gate decision flips (a scheduled date, a vetting expiry)
    report: Any  # the BuildReport of that build
    built_at: Any = None  # datetime: the `now` of that build; a build at an earlier time (after a
    # `--now` in the future) cannot reuse it: stories it published may still be embargoed
    unsafe_after: Any = None  # datetime: gate.first_expiry, from when its output must not go out (deploy)


def load_state(path: Path) -> BuildState | None:
    try:
        with path.open("rb") as f:
            data = pickle.load(f)
        if data.get("version") == _version():
            return data["state"]  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - a state file that cannot be read is no state: the build runs
        pass
    return None


def save_state(path: Path, state: BuildState) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        pickle.dump({"version": _version(), "state": state}, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def state_path(output_dir: Path) -> Path:
    return output_dir.parent / f".{output_dir.name}.state"
