"""`init DIR [--sample]`: start a new site folder.

A new site is `starter/new/` (a `site_config.yaml` with commented placeholders, one example story held
back as a seedling, a 使用说明.md), the empty content folders and `themes/README.md` (the sample's).
`--sample` copies the 江城 sample instead: the repository's `site_config.yaml`, `content/` and
`themes/`. The repository keeps the one copy of the sample; the wheel build copies it into the package
as `starter/sample/` (setup.py), and a checkout (an editable install) reads it where it is.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .i18n import _, t

PACKAGE = Path(__file__).resolve().parent
STARTER_NEW = PACKAGE / "starter" / "new"
PACKAGED_SAMPLE = PACKAGE / "starter" / "sample"  # only in a built wheel
CHECKOUT = PACKAGE.parents[1]  # the repository root, when running from a checkout
SAMPLE_PARTS = ("site_config.yaml", "content", "themes")  # what makes the sample (also named in setup.py)
CONTENT_FOLDERS = ("stories", "pages", "campaigns", "images")


class InitFailed(Exception):
    """A message for the user (through the catalogue, plain words)."""


@dataclass(frozen=True)
class Initialised:
    root: Path
    files: tuple[Path, ...]  # every file written, relative to root
    sample: bool


def sample_source() -> Path:
    """The folder holding the sample's site_config.yaml, content/ and themes/."""
    for folder in (PACKAGED_SAMPLE, CHECKOUT):
        if (folder / "site_config.yaml").is_file() and (folder / "content" / "stories").is_dir():
            return folder
    # TRANSLATORS: 原文：找不到示例网站的文件：安装包不完整，请重新安装。
    raise InitFailed(_("the sample site's files are missing: the installation is incomplete; please install again"))


def _ignored(name: str) -> bool:
    return name.startswith(".") or name == "__pycache__"


def _copy_tree(source: Path, target: Path, written: list[Path], root: Path) -> None:
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if any(_ignored(part) for part in rel.parts):
            continue
        dest = target / rel
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            written.append(dest.relative_to(root))


def _check_target(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise InitFailed(t("'{target}' is a file: a new site cannot be made there; choose another folder name",
                           target=target))
    if target.is_dir() and any(target.iterdir()):
        # TRANSLATORS: 原文：文件夹“{target}”里已经有东西，新建网站只能放进空文件夹或还不存在的文件夹
        raise InitFailed(t("the folder '{target}' is not empty: a new site goes only into an empty folder or one "
                           "that does not exist yet, so that no file is overwritten; choose another folder name, "
                           "or move its contents away first", target=target))


def init_site(target: Path, sample: bool = False) -> Initialised:
    """Create a new site in `target` (absent or empty); raise InitFailed with a message otherwise."""
    target = Path(target)
    _check_target(target)
    source = sample_source()
    written: list[Path] = []
    try:
        target.mkdir(parents=True, exist_ok=True)
        root = target.resolve()
        if sample:
            for part in SAMPLE_PARTS:
                path = source / part
                if path.is_dir():
                    _copy_tree(path, root / part, written, root)
                elif path.is_file():
                    shutil.copyfile(path, root / part)
                    written.append(Path(part))
            shutil.copyfile(STARTER_NEW / "使用说明.md", root / "使用说明.md")
            written.append(Path("使用说明.md"))
        else:
            _copy_tree(STARTER_NEW, root, written, root)
            (root / "themes").mkdir(exist_ok=True)
            shutil.copyfile(source / "themes" / "README.md", root / "themes" / "README.md")
            written.append(Path("themes", "README.md"))
        for folder in CONTENT_FOLDERS:
            (root / "content" / folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InitFailed(t("cannot write files in '{target}' ({reason}); check that the folder can be written "
                           "and the disk is not full", target=target, reason=exc.strerror or exc)) from None
    return Initialised(root, tuple(sorted(written)), sample)


def next_steps(made: Initialised, program: str = "exemplar-site") -> str:
    """What to tell the user after init."""
    config = made.root / "site_config.yaml"
    made_line = t("Created the 江城 sample site: {folder} ({n} files)", folder=made.root, n=len(made.files)) \
        if made.sample else t("Created a new site: {folder} ({n} files)", folder=made.root, n=len(made.files))
    lines = [made_line, "", _("Next:")]
    if not made.sample:
        lines.append("  " + t("1. open {config} and replace 某某 with your bureau's name, address, units and fields",
                              config=config))
        example = made.root / "content" / "stories" / "example-story.md"
        lines.append("  " + t("2. look at the example story {file}; delete it once you have written your own",
                              file=example))
    lines.append("  " + t("preview: {command}", command=f'{program} serve --config "{config}"'))
    lines.append("  " + t("build: {command}", command=f'{program} build --config "{config}"'))
    lines.append("  " + t("more in {file}", file=made.root / "使用说明.md"))
    return "\n".join(lines)
