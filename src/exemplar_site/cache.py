"""The persistent build cache: parsed front matter and rendered bodies.

Stored beside the output (`.public.cache`), keyed by content hashes, so it can
never serve something stale: a changed file has a new hash. It is versioned;
a cache from another version, or one that cannot be read, is discarded with a
notice. Deleting it is always safe (the next build is a cold one).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Problem
from .jobs import CODE_VERSION

CACHE_VERSION = 1


def body_key(body: str, base_path: str) -> str:
    return hashlib.blake2b((base_path + "\x00" + body).encode("utf-8"), digest_size=16).hexdigest()


@dataclass
class BuildCache:
    path: Path | None  # None: an in-memory cache that is never saved
    docs: dict[str, Any] = field(default_factory=dict)  # source digest → (meta, body line, body offset)
    bodies: dict[str, Any] = field(default_factory=dict)  # body key → Rendered
    slugs: dict[Any, str] = field(default_factory=dict)  # (title, max length) → pinyin slug
    sms: dict[str, Any] = field(default_factory=dict)  # story digest → (message, problems)
    records: dict[str, Any] = field(default_factory=dict)  # config+media salt + file digest → (record, problems)
    stories: dict[str, Any] = field(default_factory=dict)  # story digest + path → PublicStory
    rewrite: bool = True  # no trustworthy base file: the next save writes the whole cache
    journal_entries: int = 0
    used_docs: set[str] = field(default_factory=set)
    used_bodies: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._known = {name: set(getattr(self, name)) for name in _PARTS}

    @classmethod
    def load(cls, path: Path | None) -> tuple["BuildCache", Problem | None]:
        """The base file, then the journal of what later builds added."""
        if path is None or not path.exists():
            return cls(path), None
        try:
            with path.open("rb") as f:
                data = pickle.load(f)
            if not isinstance(data, dict) or data.get("version") != (CACHE_VERSION, CODE_VERSION):
                found = data.get("version") if isinstance(data, dict) else "unknown"
                return cls(path), Problem(str(path), None, None, f"build cache from another version ({found}) "
                                          "discarded; this build renders everything", severity="warning")
            parts = {name: data[name] for name in _PARTS}
            entries = 0
            journal = _journal(path)
            if journal.exists():
                with journal.open("rb") as f:
                    while f.peek(1):
                        entry = pickle.load(f)
                        if entry.get("version") != (CACHE_VERSION, CODE_VERSION):
                            raise ValueError("journal from another version")
                        for name in _PARTS:
                            parts[name].update(entry[name])
                            entries += len(entry[name])
            return cls(path, rewrite=False, journal_entries=entries, **parts), None
        except Exception as exc:  # corrupted, truncated, unreadable: never trust it
            return cls(path), Problem(str(path), None, None, f"build cache unreadable ({type(exc).__name__}) "
                                      "discarded; this build renders everything", severity="warning")

    def doc(self, digest: str) -> Any:
        found = self.docs.get(digest)
        if found is not None:
            self.used_docs.add(digest)
        return found

    def put_doc(self, digest: str, doc: Any) -> None:
        self.docs[digest] = doc
        self.used_docs.add(digest)

    def body(self, key: str) -> Any:
        found = self.bodies.get(key)
        if found is not None:
            self.used_bodies.add(key)
        return found

    def put_body(self, key: str, rendered: Any) -> None:
        self.bodies[key] = rendered
        self.used_bodies.add(key)

    def forget_unused(self) -> None:
        """Drop what the last build did not use (a long-running server's cache stays bounded)."""
        self.docs = {k: v for k, v in self.docs.items() if k in self.used_docs}
        self.bodies = {k: v for k, v in self.bodies.items() if k in self.used_bodies}
        self.used_docs, self.used_bodies = set(), set()

    def save(self) -> None:
        """Append what is new to the journal; rewrite the whole cache (dropping what this build
        did not use) when there is no trustworthy base or the journal or the unused entries
        have grown past a quarter. A torn journal makes the next load discard the cache."""
        if self.path is None:
            return
        new = {name: {k: v for k, v in getattr(self, name).items() if k not in self._known[name]}
               for name in _PARTS}
        added = sum(len(v) for v in new.values())
        total = sum(len(getattr(self, name)) for name in _PARTS)
        unused = len(self.docs) + len(self.bodies) - len(self.used_docs) - len(self.used_bodies)
        journal = _journal(self.path)
        if not self.rewrite and added == 0 and unused < total // 4:
            return
        if not self.rewrite and self.journal_entries + added < total // 4 and unused < total // 4:
            with journal.open("ab") as f:
                pickle.dump({"version": (CACHE_VERSION, CODE_VERSION), **new}, f, protocol=pickle.HIGHEST_PROTOCOL)
            return
        limit = 2 * max(1, len(self.used_docs))  # entries for old versions of files pile up: start again
        data = {"version": (CACHE_VERSION, CODE_VERSION),
                "docs": {k: v for k, v in self.docs.items() if k in self.used_docs},
                "bodies": {k: v for k, v in self.bodies.items() if k in self.used_bodies},
                "slugs": self.slugs, "sms": self.sms if len(self.sms) <= limit else {},
                "records": self.records if len(self.records) <= limit else {},
                "stories": self.stories if len(self.stories) <= limit else {}}
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("wb") as f:
            pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
        if journal.exists():
            journal.unlink()
        os.replace(tmp, self.path)


_PARTS = ("docs", "bodies", "slugs", "sms", "records", "stories")


def _journal(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


def cache_path(output_dir: Path) -> Path:
    return output_dir.parent / f".{output_dir.name}.cache"


def input_signature(paths: list[Path], extra: str) -> str:
    """A cheap fingerprint of every input file (name, size, mtime, ctime, inode) and `extra`.

    ctime cannot be set by tools that copy files "preserving times", so any
    write to a file changes the signature.
    """
    h = hashlib.blake2b(extra.encode("utf-8"), digest_size=16)
    for top in paths:
        if top.is_file():
            st = top.stat()
            h.update(f"{top}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{st.st_ino}\n".encode())
            continue
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                try:
                    st = os.stat(full)
                except OSError:
                    continue
                h.update(f"{full}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{st.st_ino}\n".encode())
    return h.hexdigest()


@dataclass(frozen=True)
class BuildState:
    """What the last successful build saw, to skip a rebuild when nothing can have changed."""

    signature: str
    valid_until: Any  # datetime: the next moment a gate decision flips (a scheduled date, a vetting expiry)
    report: Any  # the BuildReport of that build


def load_state(path: Path) -> BuildState | None:
    try:
        with path.open("rb") as f:
            data = pickle.load(f)
        if data.get("version") == (CACHE_VERSION, CODE_VERSION):
            return data["state"]  # type: ignore[no-any-return]
    except Exception:
        pass
    return None


def save_state(path: Path, state: BuildState) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        pickle.dump({"version": (CACHE_VERSION, CODE_VERSION), "state": state}, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def state_path(output_dir: Path) -> Path:
    return output_dir.parent / f".{output_dir.name}.state"
