"""The processed-image store beside the output: `.<output>.images/<key[:2]>/<key>/`.

One folder per source image and settings (`key` = content digest + images.settings_key), holding
the encoded files images.process made and a `meta.json` describing them, written last (a folder
without it is unfinished and made again). The writer copies published files from here, so a
rebuild never encodes an unchanged photo, and a cold build makes each photo once, spread over
processes. Like the other files beside the output it is safe to delete: the next build makes the
images again. Used by incremental.py (which decides what is reused) and pipeline.py (the files).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from .images import BadImage, ImageSettings, Made, Processed, process
from .parallel import Spawned, run_map

META = "meta.json"


def store_path(output_dir: Path) -> Path:
    return output_dir.parent / f".{output_dir.name}.images"


class ImageStore:
    def __init__(self, root: Path):
        self.root = root

    def folder(self, key: str) -> Path:
        return self.root / key[:2] / key

    def file(self, key: str, name: str) -> Path:
        return self.folder(key) / name

    def load(self, key: str) -> Processed | None:
        try:
            meta = json.loads((self.folder(key) / META).read_text(encoding="utf-8"))
            return Processed(meta["width"], meta["height"], tuple(Made(*f) for f in meta["files"]),
                             tuple(meta["notes"]), ())
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def make(self, items: Sequence[tuple[Path, str, str]], settings: ImageSettings,
             workers: int) -> list[tuple[Processed | None, tuple[str, str] | None]]:
        """(full path, site path, key) → (what was made, or the BadImage code and detail), in order,
        spread over processes (each image is seconds of work: any two are worth a worker)."""
        context = (str(self.root), settings)
        return run_map(lambda item: _make(context, item), items, workers,
                       lambda: Spawned(_same, context, _make, list(items)), min_items=2)

    def keep_only(self, keys: set[str]) -> None:
        """Remove the folders of images no longer used (a replaced photo, changed settings)."""
        if not self.root.is_dir():
            return
        for top in self.root.iterdir():
            if not top.is_dir():
                continue
            for folder in top.iterdir():
                if folder.name not in keys:
                    shutil.rmtree(folder, ignore_errors=True)


def _same(context: object) -> object:
    return context


def _make(context: tuple[str, ImageSettings], item: tuple[Path, str, str]
          ) -> tuple[Processed | None, tuple[str, str] | None]:
    """One image processed into its store folder (a module-level function: spawned workers run it)."""
    root, settings = context
    full, src, key = item
    try:
        data = Path(full).read_bytes()
        made = process(data, src, settings)
    except BadImage as bad:
        return None, (bad.code, bad.detail)
    except OSError as exc:
        return None, ("damaged", exc.strerror or str(exc))
    folder = Path(root) / key[:2] / key
    tmp = folder.with_name(f"{key}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for m, blob in zip(made.files, made.data, strict=True):
        (tmp / m.name).write_bytes(blob)
    meta = {"width": made.width, "height": made.height, "notes": list(made.notes),
            "files": [[m.name, m.width, m.height, m.mime, m.size] for m in made.files]}
    (tmp / META).write_text(json.dumps(meta), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return Processed(made.width, made.height, made.files, made.notes, ()), None
