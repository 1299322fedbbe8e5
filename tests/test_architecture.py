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

ALLOWED: dict[str, set[str]] = {
    "__init__": set(),
    "__main__": {"cli"},
    "errors": set(),
    "text": set(),
    "urls": set(),
    "yamlio": set(),
    "parallel": set(),
    "safetree": {"errors"},
    "personal": set(),
    "cache": {"errors", "jobs", "safetree"},
    "jobs": {"__init__", "model"},
    "config": {"errors", "personal", "yamlio"},
    "sources": {"config", "errors", "safetree"},
    "frontmatter": {"errors", "sources", "yamlio"},
    "records": {"config", "errors", "frontmatter", "personal", "text"},
    "markup": {"text", "urls"},
    "model": {"urls"},
    "gate": {"config", "errors", "jobs", "markup", "model", "records", "text", "urls"},
    "taxonomy": {"config", "gate", "model", "urls"},
    "theme": {"config", "errors", "safetree", "urls"},
    "feedspec": {"config", "model", "taxonomy"},
    "pages": {"config", "feedspec", "jobs", "model", "taxonomy", "theme", "urls"},
    "feeds": {"config", "errors", "feedspec", "jobs", "model", "taxonomy", "urls"},
    "sms": {"config", "errors", "model", "text", "urls"},
    "writer": {"errors", "model"},
    "pipeline": {"cache", "config", "errors", "feeds", "feedspec", "frontmatter", "gate", "jobs", "markup", "model", "pages",
                 "parallel", "records", "sms", "sources", "taxonomy", "text", "theme", "writer", "urls"},
    "reports": {"config", "errors", "gate", "model", "pipeline", "records", "text", "theme", "urls", "writer"},
    "check": {"config", "errors", "personal", "pipeline", "sms", "urls", "model", "records"},
    "scaffold": {"config", "errors", "records", "text", "pipeline"},
    "serve": {"cache", "config", "errors", "pipeline", "cli"},
    "progress": set(),
    "cli": {"check", "config", "errors", "gate", "pipeline", "reports", "scaffold", "serve", "sms", "progress"},
}
RENDERERS = {"taxonomy", "theme", "feedspec", "pages", "feeds", "sms"}
PRIVATE_STAGES = {"records", "frontmatter", "yamlio", "sources"}


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


def test_every_module_is_in_the_map() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert modules <= set(ALLOWED), f"add to ALLOWED: {modules - set(ALLOWED)}"


def test_imports_follow_the_layers() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        bad = imports_of(path) - ALLOWED[path.stem]
        assert not bad, f"{path.stem} may not import {sorted(bad)}"


def test_renderers_cannot_reach_private_data() -> None:
    for name in RENDERERS - {"taxonomy"}:
        assert not imports_of(PACKAGE / f"{name}.py") & (PRIVATE_STAGES | {"gate"}), name
    # taxonomy takes the gate's result (public objects only), never a record
    assert not imports_of(PACKAGE / "taxonomy.py") & PRIVATE_STAGES


def test_public_model_has_no_private_field() -> None:
    forbidden = {"private", "assessments", "family", "id_number", "phone", "vetting", "notes", "approved_by"}
    for cls in (model.PublicStory, model.Page, model.Campaign, model.WithdrawnNotice, model.Image):
        names = {f.name for f in dataclasses.fields(cls)}
        assert not names & forbidden, (cls.__name__, names & forbidden)
