"""Builds with spawned workers (the portable paths, what Windows runs) give the same bytes as
builds with forked workers and builds in one process, cold and incremental."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from test_portable import same_tree, tree

from conftest import NOW, Site, make_site
from exemplar_site import parallel
from exemplar_site.parallel import Spawned
from exemplar_site.pipeline import BuildOptions, build_site
from exemplar_site.platforms import PORTABLE_ENV


def _many(root: Path, n: int = 210) -> Site:
    """Enough stories for every stage to use its workers (200 files to check, 200 pages)."""
    site = make_site(root)
    for i in range(n):
        site.story(f"s{i}", f"s-{i}", slug=f"p-{i}", date=dt.date(2025, 1, 1) + dt.timedelta(days=i),
                   tags=[f"标签{i % 7}"], unit=["n1", "n2", "s1", "traffic"][i % 4],
                   body=f"第{i}篇。他扎根社区多年。群众都说他好！\n\n## 事迹\n\n- 一\n- 二\n\n默默奉献，服务群众。")
    site.write("content/pages/about.md", "---\ntitle: 关于\nslug: about\n---\n关于本站。\n")
    return site


def test_spawned_build_is_byte_identical_to_forked_and_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = _many(tmp_path / "s")
    outs = {name: tmp_path / name for name in ("serial", "fork", "spawn")}
    monkeypatch.delenv(PORTABLE_ENV, raising=False)
    build_site(site.config, BuildOptions(now=NOW, output=outs["serial"], workers=1))
    build_site(site.config, BuildOptions(now=NOW, output=outs["fork"], workers=2))

    monkeypatch.setenv(PORTABLE_ENV, "1")
    spawned: dict[str, int] = {}
    real = parallel.spawn_map

    def spy(plan: Spawned, workers: int, here: Any = None, each: Any = None) -> list[Any]:
        spawned[plan.task.__name__] = sum(1 for item in plan.items if item is not None)  # (None: done here)
        return real(plan, workers, here, each)

    monkeypatch.setattr(parallel, "spawn_map", spy)
    monkeypatch.setattr(parallel, "fork_map", lambda *a, **k: pytest.fail("fork used with the portable paths"))
    report = build_site(site.config, BuildOptions(now=NOW, output=outs["spawn"], workers=2))
    # files checked, bodies rendered and pages rendered by spawned workers
    assert spawned["_check"] >= 200 and spawned["_render"] >= 200 and spawned["_page_put"] >= 200
    assert report.public == 210
    serial = tree(outs["serial"])
    same_tree(tree(outs["fork"]), serial)
    same_tree(tree(outs["spawn"]), serial)
    # and incrementally: an edit, built by spawned workers again, as a clean build makes it
    site.story("s5", "s-5", slug="p-5", title="改过的标题", date=dt.date(2025, 1, 6), unit="n2", tags=["标签5"])
    build_site(site.config, BuildOptions(now=NOW, output=outs["spawn"], workers=2))
    monkeypatch.setattr(parallel, "spawn_map", real)
    build_site(site.config, BuildOptions(now=NOW, output=tmp_path / "clean", workers=1, cache=False))
    same_tree(tree(outs["spawn"]), tree(tmp_path / "clean"))
