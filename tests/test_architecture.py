"""Data flows one way: each module imports only from the layers the style guide allows.

Renderers (pages, feeds, sms, feedspec, taxonomy, theme) can never reach records,
frontmatter or gate, so no template or feed can see a private field.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import exemplar_site
from exemplar_site import model

PACKAGE = Path(exemplar_site.__file__).parent

# The layers, lowest first (the style guide's list). A module may import only from lower layers;
# modules of one layer never import each other. Nothing here is a permission list: a new import
# that follows the layers needs no change to this file.
LAYERS: list[set[str]] = [
    {"i18n", "versions", "platforms"},  # the message catalogue: every layer speaks through it; the libraries
    # installed; which code paths the platform takes (the portable ones: platforms.portable)
    {"__init__", "errors", "text", "urls", "yamlio", "parallel", "personal", "progress", "portable",
     "images", "dates", "mediameta", "attachtext"},
    # images: bytes + settings → encoded web sizes (Pillow), and the metadata check; mediameta: the
    # metadata of videos and sound files, cleared in place; attachtext: the text of attachments
    {"model", "safetree", "schema"},  # plain public data; the folder walk; option and field declarations
    {"config", "jobs"},
    {"sources", "cache", "imagestore", "runs"},  # imagestore: the processed images beside the output;
    # runs: what a build is asked and answers (BuildOptions, BuildReport)
    {"frontmatter"},
    {"records", "markup"},
    {"gate"},  # the one bridge from private records to public objects
    {"media"},  # the published images joined to the public objects
    {"taxonomy", "theme"},
    {"feedspec"},
    {"pages", "feeds", "sms", "wechat"},  # wechat: a story as 公众号 article HTML (inline styles)
    {"search"},  # the search page and index: renders its page with pages.PageRenderer (base.html's context)
    {"writefail", "treeops"},  # the writer's parts: a failed write for people; file operations
    {"outguard"},  # which folders may be written
    {"manifest"},  # what each generation holds
    {"writer", "nochange"},  # nochange: the build with nothing to do, answered without the stages
    {"incremental"},  # the one layer that remembers: beside the stages, used by pipeline only
    {"pipeline"},
    {"deploy"},  # releases on the web server: copy, verify, switch, roll back
    {"transfer"},  # the one-way transfer of an edition: export, verified import
    {"nginxconf"},  # the web server's configuration for a deploy target
    {"reports", "check", "scaffold", "init_site", "printpdf"},  # printpdf: a built page → PDF (Chromium)
    {"serve_reload", "serve_overlay", "serve_watch"},  # the live preview's parts (serve.py joins them)
    {"serve_build", "serve_http"},
    {"serve"},
    {"cli"},
    {"__main__", "launch"},  # launch: the offline bundle's preview script
]
LAYER = {m: i for i, layer in enumerate(LAYERS) for m in layer}
# What reads or holds private data; nothing that renders public output may reach it, even through
# others (yamlio, the YAML loader the config uses too, holds nothing).
PRIVATE_STAGES = {"records", "frontmatter", "sources", "gate"}
RENDERERS = {"taxonomy", "theme", "feedspec", "pages", "feeds", "sms", "search", "writer"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(a.name for a in node.names)
            elif node.module and node.module.startswith("exemplar_site"):
                parts = node.module.split(".")
                found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("exemplar_site."):
                    found.add(a.name.split(".")[1])
    return found


def test_every_module_has_a_layer() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert modules <= set(LAYER), f"give these a layer in LAYERS: {modules - set(LAYER)}"


def test_imports_go_down_the_layers() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        me = LAYER[path.stem]
        bad = sorted(m for m in imports_of(path) if LAYER[m] >= me and m != path.stem)
        assert not bad, f"{path.stem} (layer {me}) may not import {bad} (same or higher layer)"


def reach(module: str) -> set[str]:
    """Every module `module` imports, directly or through others."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        for m in imports_of(PACKAGE / f"{todo.pop()}.py"):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def test_renderers_cannot_reach_private_data_even_through_others() -> None:
    for name in sorted(RENDERERS):
        assert not reach(name) & PRIVATE_STAGES, (name, sorted(reach(name) & PRIVATE_STAGES))


def test_public_model_has_no_private_field() -> None:
    forbidden = {"private", "assessments", "family", "id_number", "phone", "vetting", "notes", "approved_by"}
    for cls in (model.PublicStory, model.Page, model.Campaign, model.WithdrawnNotice, model.Image):
        names = {f.name for f in dataclasses.fields(cls)}
        assert not names & forbidden, (cls.__name__, names & forbidden)


def test_only_the_pipeline_uses_the_cache_and_the_incremental_layer() -> None:
    """Stages are plain functions: none of them knows that a cache exists."""
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem in ("pipeline", "incremental", "serve", "cache", "nochange"):  # (nochange: the skipped build)
            continue
        assert not imports_of(path) & {"cache", "incremental"}, path.stem
