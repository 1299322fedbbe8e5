"""What a build is asked (BuildOptions) and what it answers (BuildReport, WriteReport): plain
values, light to import. The command line's no-change path (nochange.py) reads the last build's
report back from its state without loading the pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from .config import SiteConfig
from .errors import Problem
from .model import HeldBack


@dataclass(frozen=True)
class BuildOptions:
    now: dt.datetime  # the one clock reading of a run, injected by the caller; naive = site time zone
    output: Path | None = None
    drafts: bool = False
    workers: int = 1  # processes for cold builds; 0 = one per core
    cache: bool = True  # keep parsed files and rendered bodies beside the output for the next build
    in_place: bool = False  # update the output file by file instead of swapping trees (preview server only)
    edition: str | None = None  # one of the config's editions (None: the intranet edition)
    rewrite: frozenset[str] = frozenset()  # output paths written since the last build (the preview server's
    # instant previews): rendered again, never kept by their key, which vouches only for what the build wrote


@dataclass(frozen=True)
class WriteReport:
    written: int  # new or changed files
    unchanged: int
    removed: int  # files of the previous output no longer produced (and files it never produced)
    warnings: tuple[Problem, ...] = ()  # after the swap: the output is live, but some bookkeeping failed


@dataclass(frozen=True)
class BuildReport:
    output_dir: Path
    stories_read: int
    public: int
    held: tuple[HeldBack, ...]
    pages: int  # HTML files
    files: int  # all files
    write: WriteReport | None
    warnings: tuple[Problem, ...]
    drafts: bool = False
    rendered: int = 0  # outputs rendered this time (the rest were reused from the last build)
    changed: tuple[str, ...] = ()  # files written with new bytes (in-place builds only: the preview server)
    extra: dict[str, int] = field(default_factory=dict)


def local_now(options: BuildOptions, config: SiteConfig) -> dt.datetime:
    """The run's clock reading in the site's time zone (a naive --now means site time)."""
    if options.now.tzinfo is None:
        return options.now.replace(tzinfo=config.tz)
    return options.now.astimezone(config.tz)
