"""Installing where the users are (issue 14): the wheel alone, the `init` command, the offline bundle.

The slow tests (marked `slow`) build the offline bundle once (tools/bundle.py, with the wheels cached in
dist/wheelhouse-cache/), install it into fresh virtual environments outside the checkout, with the
network cut off where `unshare -n` works, and build sites with nothing else. They are skipped only when
the cache lacks a wheel and PyPI cannot be reached either.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, load_tool
from exemplar_site import cli, init_site, launch
from exemplar_site.theme import BUILTIN_DEFAULT

NOW = "2026-12-01"  # the --now of every build compared here
PACKAGE = REPO / "src" / "exemplar_site"


def _load_bundle_tool() -> Any:
    return load_tool("bundle")


bundle_tool = _load_bundle_tool()


def run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env={**clean, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout, check=False)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def package_files(folder: Path) -> dict[str, bytes]:
    return {k: v for k, v in tree(folder).items() if "__pycache__" not in k and not k.endswith(".pyc")}


# ---- fast: init from the checkout, the pieces of the bundle ----

def test_init_makes_a_site_that_builds_and_checks(tmp_path: Path) -> None:
    site = tmp_path / "新网站"
    assert cli.main(["init", str(site)]) == 0
    assert (site / "site_config.yaml").is_file() and (site / "使用说明.md").is_file()
    for folder in init_site.CONTENT_FOLDERS:
        assert (site / "content" / folder).is_dir()
    example = (site / "content" / "stories" / "example-story.md").read_text(encoding="utf-8")
    assert "示例" in example and "status: seedling" in example
    config = str(site / "site_config.yaml")
    assert cli.main(["build", "--config", config, "--now", NOW]) == 0
    assert (site / "public" / "index.html").is_file()
    assert not (site / "public" / "stories" / "shi-li-lao-pian-jing").exists()  # the example is held back
    assert cli.main(["check", "--config", config, "--now", NOW]) == 0


def test_init_refuses_a_folder_with_something_in_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "old.txt").write_text("mine", encoding="utf-8")
    assert cli.main(["init", str(tmp_path)]) == 1
    assert "is not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["old.txt"]
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert cli.main(["init", str(tmp_path / "file")]) == 1
    assert "is a file" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["init", "--sample", str(empty)]) == 0


def test_init_sample_is_the_repository_sample(tmp_path: Path) -> None:
    made = init_site.init_site(tmp_path / "sample", sample=True)
    for part in ("content", "themes"):
        assert package_files(made.root / part) == package_files(REPO / part)
    assert (made.root / "site_config.yaml").read_bytes() == (REPO / "site_config.yaml").read_bytes()


def test_the_default_theme_lives_in_the_package() -> None:
    assert BUILTIN_DEFAULT == PACKAGE.resolve() / "themes" / "default"
    assert (BUILTIN_DEFAULT / "templates" / "base.html").is_file()
    assert not (REPO / "themes" / "default").exists()  # the top-level themes/ is for a site's overrides
    assert (REPO / "themes" / "README.md").is_file()


def test_preview_launcher_needs_a_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert launch.main(["preview", str(tmp_path), "--no-browser"]) == 1
    assert "site_config.yaml" in capsys.readouterr().err
    port = launch.free_port()
    assert 8000 <= port < 8050


def test_bundle_scripts_are_written_for_cmd_and_sh() -> None:
    files = bundle_tool.bundle_files(Path(tempfile.gettempdir()) / "no-such-wheels", "exemplar-site==0", "0")
    for name in ("安装.bat", "预览.bat", "构建.bat", "检查.bat"):
        data = files[name]
        assert data.startswith(b"@echo off\r\nchcp 65001 >nul\r\n"), name  # no BOM: cmd would choke on it
        assert b"\n" not in data.replace(b"\r\n", b""), f"{name}: every line ends in CRLF"
        assert "pause" in data.decode("utf-8"), f"{name}: a double-clicked window stays open"
    for name in ("install.sh", "预览.sh", "构建.sh", "检查.sh"):
        assert files[name].startswith(b"#!/bin/sh\n") and b"\r" not in files[name]
    assert "--no-index" in files["安装.bat"].decode() and "--no-index" in files["install.sh"].decode()
    text = files["离线安装说明.txt"]
    assert text.startswith("\ufeff".encode()) and "Add python.exe to PATH" in text.decode("utf-8-sig")


def test_bundle_zip_is_reproducible_and_lists_every_file(tmp_path: Path) -> None:
    files = {"wheels/a.whl": b"a", "安装.bat": b"@echo off\r\n", "install.sh": b"#!/bin/sh\n"}
    first, second = tmp_path / "1.zip", tmp_path / "2.zip"
    bundle_tool.write_zip(first, "top", files)
    bundle_tool.write_zip(second, "top", dict(reversed(files.items())))
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as z:
        assert z.namelist() == sorted(z.namelist())
        sums = z.read("top/SHA256SUMS.txt").decode()
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
    assert {line.split("  ")[1] for line in sums.splitlines()} == set(files)
    assert modes["top/install.sh"] == 0o100755 and modes["top/安装.bat"] == 0o100644


# ---- slow: the real wheel and bundle in fresh environments ----

@dataclass(frozen=True)
class Bundle:
    zip: Path
    wheels: Path  # the bundle's wheels/, unpacked
    folder: Path  # the unpacked bundle
    requirement: str


def _network() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        probe = bundle_tool.pip("download", "--no-deps", "--only-binary=:all:", "-d", tmp, "six")
    return bool(probe.returncode == 0)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bundle]:
    out = tmp_path_factory.mktemp("bundle")
    cache = REPO / "dist" / "wheelhouse-cache"
    try:
        path = bundle_tool.make_bundle(out, cache, offline=True, log=False)
    except bundle_tool.BundleFailed:
        if not _network():
            pytest.skip(f"the offline bundle needs wheels: {cache} lacks some and PyPI cannot be reached "
                        "(run `make bundle` once with the network)")
        path = bundle_tool.make_bundle(out, cache, offline=False, log=False)
    folder = out / "unpacked"
    with zipfile.ZipFile(path) as z:
        z.extractall(folder)
        for info in z.infolist():  # (extractall drops the permissions)
            os.chmod(folder / info.filename, (info.external_attr >> 16) & 0o777)
    (top,) = folder.iterdir()
    name, version, _ = bundle_tool.project()
    yield Bundle(path, top / "wheels", top, f"{name}=={version}")


@pytest.fixture(scope="module")
def reference_sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The repository's build of its sample, with the checkout's own environment."""
    out = tmp_path_factory.mktemp("reference") / "public"
    assert cli.main(["build", "--config", str(REPO / "site_config.yaml"), "--now", NOW, "--output", str(out),
                     "--jobs", "1"]) == 0
    return tree(out)


def _venv(where: Path, bundle: Bundle) -> Path:
    """A fresh virtual environment outside the checkout with the project installed from the bundle's
    wheels alone; its python."""
    assert not where.is_relative_to(REPO)
    r = run(sys.executable, "-m", "venv", where, cwd=where.parent)
    assert r.returncode == 0, r.stderr
    python = where / "bin" / "python"
    r = run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index",
            "--find-links", bundle.wheels, bundle.requirement, cwd=where.parent)
    assert r.returncode == 0, r.stdout + r.stderr
    return python


@pytest.mark.slow
def test_wheel_carries_the_theme_the_starter_and_the_sample(bundle: Bundle) -> None:
    (wheel,) = bundle.wheels.glob("exemplar_site-*.whl")
    with zipfile.ZipFile(wheel) as z:
        shipped = {n.removeprefix("exemplar_site/"): z.read(n) for n in z.namelist() if n.startswith("exemplar_site/")}
    for rel, data in package_files(PACKAGE).items():  # every file of the package, code or data
        assert shipped.get(rel) == data, f"the wheel lacks or changes exemplar_site/{rel}"
    sample = {k.removeprefix("starter/sample/"): v for k, v in shipped.items() if k.startswith("starter/sample/")}
    expected = {"site_config.yaml": (REPO / "site_config.yaml").read_bytes()}
    for part in ("content", "themes"):
        expected.update({f"{part}/{k}": v for k, v in package_files(REPO / part).items()})
    assert sample == expected


@pytest.mark.slow
def test_installed_wheel_inits_and_builds_like_the_checkout(
        bundle: Bundle, reference_sample: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("installed")
    python = _venv(home / "venv", bundle)
    script = home / "venv" / "bin" / "exemplar-site"
    r = run(python, "-c", "import exemplar_site, sys; print(exemplar_site.__file__)", cwd=home)
    assert str(home / "venv") in r.stdout  # the installed copy, not the checkout
    # a new site: init, build, check
    r = run(script, "init", "网站", cwd=home)
    assert r.returncode == 0 and "Created a new site" in r.stdout, r.stderr
    r = run(script, "build", "--config", "网站/site_config.yaml", "--now", NOW, cwd=home)
    assert r.returncode == 0, r.stderr
    assert (home / "网站" / "public" / "index.html").is_file()
    r = run(script, "check", "--config", "网站/site_config.yaml", "--now", NOW, cwd=home)
    assert r.returncode == 0, r.stderr
    # the sample, through python -m: byte for byte the checkout's build
    r = run(python, "-m", "exemplar_site", "init", "--sample", "sample", cwd=home)
    assert r.returncode == 0, r.stderr
    r = run(python, "-m", "exemplar_site", "build", "--config", "sample/site_config.yaml", "--now", NOW,
            "--jobs", "1", cwd=home)
    assert r.returncode == 0, r.stderr
    built = tree(home / "sample" / "public")
    assert built.keys() == reference_sample.keys()
    assert [k for k in built if built[k] != reference_sample[k]] == []


@pytest.mark.slow
def test_bundle_installs_and_builds_with_no_network(bundle: Bundle, reference_sample: dict[str, bytes]) -> None:
    offline: list[str] = []
    if shutil.which("unshare") and run("unshare", "-n", "true", cwd=bundle.folder).returncode == 0:
        offline = ["unshare", "-n"]  # a network namespace without interfaces
    r = run(*offline, "sh", "install.sh", cwd=bundle.folder)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (bundle.folder / "env" / "bin" / "python").is_file()
    assert (bundle.folder / "site" / "site_config.yaml").is_file()  # install made a new site
    r = run(*offline, "sh", "构建.sh", "--now", NOW, cwd=bundle.folder)
    assert r.returncode == 0, r.stderr
    assert (bundle.folder / "site" / "public" / "index.html").is_file()
    r = run(*offline, "sh", "检查.sh", "--now", NOW, cwd=bundle.folder)
    assert r.returncode == 0, r.stderr
    python = bundle.folder / "env" / "bin" / "python"
    r = run(*offline, python, "-m", "exemplar_site", "init", "--sample", "示例网站", cwd=bundle.folder)
    assert r.returncode == 0, r.stderr
    r = run(*offline, python, "-m", "exemplar_site", "build", "--config", "示例网站/site_config.yaml",
            "--now", NOW, "--jobs", "1", cwd=bundle.folder)
    assert r.returncode == 0, r.stderr
    assert tree(bundle.folder / "示例网站" / "public") == reference_sample


@pytest.mark.slow
@pytest.mark.parametrize("python", bundle_tool.PYTHONS)
def test_windows_wheel_set_is_complete(bundle: Bundle, python: str) -> None:
    with tempfile.TemporaryDirectory() as target:
        r = bundle_tool.pip("install", "--dry-run", "--ignore-installed", "--no-index", "--find-links",
                            str(bundle.wheels), "--platform", "win_amd64", "--only-binary=:all:", "--python-version",
                            python, "--implementation", "cp", "--target", target, bundle.requirement, quiet=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Would install" in r.stdout and "exemplar-site" in r.stdout.replace("_", "-")


@pytest.mark.slow
def test_bundle_is_reproducible(bundle: Bundle, tmp_path: Path) -> None:
    again = bundle_tool.make_bundle(tmp_path, REPO / "dist" / "wheelhouse-cache", offline=True, log=False)
    assert hashlib.sha256(again.read_bytes()).hexdigest() == hashlib.sha256(bundle.zip.read_bytes()).hexdigest()
    with zipfile.ZipFile(again) as z:
        names = {n.split("/", 1)[1] for n in z.namelist()}
        sums: dict[str, str] = {}
        for line in z.read(f"{bundle.folder.name}/SHA256SUMS.txt").decode().splitlines():
            digest, name = line.split("  ", 1)
            sums[name] = digest
        for name, digest in sums.items():
            assert hashlib.sha256(z.read(f"{bundle.folder.name}/{name}")).hexdigest() == digest
    assert set(sums) == names - {"SHA256SUMS.txt"}
    assert {"安装.bat", "install.sh", "预览.bat", "构建.bat", "检查.bat", "预览.sh", "构建.sh", "检查.sh",
            "离线安装说明.txt"} <= names
    wheels = {n for n in names if n.startswith("wheels/")}
    for python in ("cp311", "cp312", "cp313"):
        assert any(python in n and "win_amd64" in n for n in wheels)
        assert any(python in n and "manylinux" in n for n in wheels)
