#!/usr/bin/env python3
"""Make the offline bundle: one zip that installs and runs on a PC with no internet (Windows or Linux).

    python tools/bundle.py              # → dist/exemplar-site-offline-<version>.zip   (also: make bundle)
    python tools/bundle.py --offline    # only from dist/wheelhouse-cache/: no network at all

The zip holds, in one folder exemplar-site-offline-<version>/:
  wheels/            the project's wheel and every dependency's, for Windows x86-64 (win_amd64) and
                     Linux x86-64 (manylinux, glibc 2.28 or newer), CPython 3.11, 3.12 and 3.13
  安装.bat, install.sh          create a virtual environment env/ beside them and install from wheels/ only
  预览/构建/检查 .bat and .sh    preview (opens the browser), build, check the site in site/
  离线安装说明.txt               what to install first and how to use the scripts (Chinese)
  SHA256SUMS.txt                the SHA-256 of every other file (`sha256sum -c SHA256SUMS.txt`)

Downloads are kept in dist/wheelhouse-cache/ (one folder per platform and Python, plus build/ for the
build backend), so a second run needs no network. Same cache and same source → the same zip, byte for
byte: fixed timestamps (SOURCE_DATE_EPOCH for the wheel too), sorted entries, fixed permissions.
Before writing the zip, pip resolves the project from wheels/ alone for every platform and Python.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHONS = ("3.11", "3.12", "3.13")
# bundle platform → pip --platform tags; Linux: every manylinux tag a glibc 2.28 system accepts (pip
# does not widen a given tag by itself)
_MANYLINUX = (*(f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)),
              "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64")
PLATFORMS = {"win_amd64": ("win_amd64",), "manylinux_x86_64": _MANYLINUX}
BUILD_REQUIRES = ("setuptools>=77", "wheel")  # as [build-system] in pyproject.toml
EPOCH = 1577836800  # 2020-01-01 00:00 UTC: every timestamp in the wheel and the zip
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
# what the wheel is built from (copied to a temporary folder: the checkout's build/ is never used)
SOURCE_PARTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "site_config.yaml",
                "src", "content", "themes")
SITE = "site"  # the site folder the scripts work on, beside them
ENV = "env"  # the virtual environment 安装.bat / install.sh creates


class BundleFailed(Exception):
    pass


def project() -> tuple[str, str, list[str]]:
    """Name, version and dependencies from pyproject.toml."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return str(data["name"]), str(data["version"]), [str(d) for d in data["dependencies"]]


def pip(*args: str, env: dict[str, str] | None = None, quiet: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *(["-q"] if quiet else []), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)


def _must(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        raise BundleFailed(f"{what} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")


def fetch(requirements: Sequence[str], cache: Path, dest: Path, pip_args: Sequence[str], offline: bool,
          built: Path | None = None) -> bool:
    """Copy the wheels `requirements` resolve to into `dest`, from `cache` (and `built`); download into
    `cache` first when the cache cannot satisfy them (unless offline: then say False)."""
    cache.mkdir(parents=True, exist_ok=True)
    dest.mkdir(parents=True, exist_ok=True)
    links = ["--find-links", str(built)] if built else []
    args = ["download", "--only-binary=:all:", *pip_args, *requirements]
    if pip(*args, "--no-index", "--find-links", str(cache), *links, "-d", str(dest)).returncode == 0:
        return True
    if offline:
        return False
    _must(pip(*args, *links, "-d", str(cache)), f"pip download {' '.join(pip_args)}")
    _must(pip(*args, "--no-index", "--find-links", str(cache), *links, "-d", str(dest)), "pip download from the cache")
    return True


def build_pure(requirements: Sequence[str], built: Path) -> None:
    """Wheels for what is published only as source (feedgen): built here, kept when pure Python (they
    then serve every platform). pip wheel resolves for this machine, and builds what has no wheel."""
    built.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH)}
        _must(pip("wheel", "-w", tmp, *requirements, env=env), "pip wheel (dependencies published as source only)")
        for wheel in Path(tmp).glob("*-none-any.whl"):
            if not (built / wheel.name).exists():
                shutil.copyfile(wheel, built / wheel.name)


def build_wheel(out_dir: Path, cache: Path, offline: bool) -> Path:
    """The project's wheel, built from a copy of the source with the build backend from the cache."""
    build_cache = cache / "build"
    with tempfile.TemporaryDirectory() as tmp:
        if not fetch(BUILD_REQUIRES, build_cache, Path(tmp, "backend"), (), offline):
            raise BundleFailed(f"the cache {build_cache} lacks the build backend; run once with the network")
        src = Path(tmp, "src")
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*", "*.pyc")
        for part in SOURCE_PARTS:
            if (ROOT / part).is_dir():
                shutil.copytree(ROOT / part, src / part, ignore=ignore)
            else:
                src.mkdir(exist_ok=True)
                shutil.copyfile(ROOT / part, src / part)
        for path in src.rglob("*"):  # the same permissions whatever the checkout's umask
            path.chmod(0o755 if path.is_dir() else 0o644)
        out_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH), "PYTHONHASHSEED": "0"}
        _must(pip("wheel", str(src), "--no-deps", "--no-index", "--find-links", str(Path(tmp, "backend")),
                  "-w", str(out_dir), env=env), "building the wheel")
    name, version, _ = project()
    wheel = out_dir / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    if not wheel.is_file():
        raise BundleFailed(f"the wheel {wheel.name} was not built")
    return wheel


def platform_args(platform: str, python: str) -> list[str]:
    args = ["--python-version", python, "--implementation", "cp"]
    for tag in PLATFORMS[platform]:
        args += ["--platform", tag]
    return args


def gather(wheels: Path, cache: Path, offline: bool) -> None:
    """Every dependency's wheel for every platform and Python, into `wheels`."""
    _, _, dependencies = project()
    built = cache / "built"
    targets = [(cache / f"{platform}-cp{python.replace('.', '')}", platform_args(platform, python))
               for platform in PLATFORMS for python in PYTHONS]
    missing = [(folder, args) for folder, args in targets if not fetch(dependencies, folder, wheels, args, True, built)]
    if missing and offline:
        raise BundleFailed(f"the cache {cache} lacks wheels for {', '.join(f.name for f, _ in missing)}; "
                           "run once with the network")
    if missing:
        build_pure(dependencies, built)
    for folder, args in missing:
        fetch(dependencies, folder, wheels, args, False, built)


def verify(wheels: Path, requirement: str) -> list[str]:
    """Resolve `requirement` from `wheels` alone for every platform and Python, as pip would on that
    machine; return what failed (empty: the set is complete)."""
    failed = []
    for platform in PLATFORMS:
        for python in PYTHONS:
            with tempfile.TemporaryDirectory() as target:
                r = pip("install", "--dry-run", "--ignore-installed", "--no-index", "--find-links", str(wheels),
                        "--only-binary=:all:", "--target", target, *platform_args(platform, python), requirement)
            if r.returncode != 0:
                failed.append(f"{platform} Python {python}: {(r.stderr or r.stdout).strip()[-800:]}")
    return failed


# ---- the scripts and the instructions (Chinese: read by the people who double-click them) ----

_BAT_HEAD = """@echo off
chcp 65001 >nul
setlocal
cd /d "%~dp0"
set PYTHONUTF8=1
"""
_BAT_NEEDS_ENV = f"""if exist "{ENV}\\Scripts\\python.exe" goto ready
echo 还没有安装：请先双击“安装.bat”。
pause
exit /b 1
:ready
"""
_SH_HEAD = """#!/bin/sh
cd "$(dirname "$0")" || exit 1
"""
_SH_NEEDS_ENV = f"""if [ ! -x {ENV}/bin/python ]; then echo "还没有安装：请先运行 sh install.sh" >&2; exit 1; fi
"""
_VERSION_CHECK = ("import struct, sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) "
                  "and struct.calcsize('P') == 8 else 1)")


def scripts(requirement: str) -> dict[str, str]:
    """File name → text (LF line ends here; .bat files get CRLF when written)."""
    bat_install = _BAT_HEAD + f"""title 安装先进典型宣传网站生成器
echo 正在查找 Python 3.11、3.12 或 3.13（64 位）……
set "PY="
py -3.13-64 -c "pass" >nul 2>&1
if not errorlevel 1 set "PY=py -3.13-64"
if defined PY goto found
py -3.12-64 -c "pass" >nul 2>&1
if not errorlevel 1 set "PY=py -3.12-64"
if defined PY goto found
py -3.11-64 -c "pass" >nul 2>&1
if not errorlevel 1 set "PY=py -3.11-64"
if defined PY goto found
python -c "{_VERSION_CHECK}" >nul 2>&1
if not errorlevel 1 set "PY=python"
if defined PY goto found
echo.
echo 没有找到 Python 3.11 - 3.13（64 位）。
echo 请先安装 Python（见“离线安装说明.txt”第一步），安装时勾选“Add python.exe to PATH”，然后再双击本文件。
pause
exit /b 1
:found
echo 使用 %PY%
if exist "{ENV}\\Scripts\\python.exe" goto install
echo 正在创建运行环境 {ENV}\\ ……
%PY% -m venv {ENV}
if errorlevel 1 goto failed
:install
echo 正在从 wheels\\ 安装（不需要联网）……
"{ENV}\\Scripts\\python.exe" -m pip install --disable-pip-version-check --no-index --find-links wheels ^
  --upgrade {requirement}
if errorlevel 1 goto failed
if exist "{SITE}\\site_config.yaml" goto done
"{ENV}\\Scripts\\python.exe" -m exemplar_site init {SITE}
if errorlevel 1 goto failed
:done
echo.
echo 安装完成。网站文件夹是 {SITE}\\ ，先按“离线安装说明.txt”修改 {SITE}\\site_config.yaml，
echo 然后双击“预览.bat”边写边看，双击“检查.bat”检查，双击“构建.bat”生成网站。
pause
exit /b 0
:failed
echo.
echo 安装没有完成：请看上面的出错信息，或把这个窗口截图发给技术人员。
pause
exit /b 1
"""
    sh_install = _SH_HEAD + f"""# 安装：在本文件夹里创建运行环境 {ENV}/，只从 wheels/ 安装（不需要联网）
PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "{_VERSION_CHECK}" 2>/dev/null; then
    PY=$candidate
    break
  fi
done
if [ -z "$PY" ]; then
  echo "没有找到 Python 3.11 - 3.13（64 位），请先安装（见 离线安装说明.txt）。" >&2
  exit 1
fi
echo "使用 $PY"
if [ ! -x {ENV}/bin/python ]; then
  "$PY" -m venv {ENV} || {{ echo "无法创建运行环境：Debian/Ubuntu 请先安装 python3-venv。" >&2; exit 1; }}
fi
{ENV}/bin/python -m pip install --disable-pip-version-check --no-index --find-links wheels --upgrade {requirement} \\
  || {{ echo "安装没有完成：请看上面的出错信息。" >&2; exit 1; }}
if [ ! -f {SITE}/site_config.yaml ]; then
  {ENV}/bin/python -m exemplar_site init {SITE} || exit 1
fi
echo "安装完成。网站文件夹是 {SITE}/ ；预览：sh 预览.sh   检查：sh 检查.sh   构建：sh 构建.sh"
"""
    out: dict[str, str] = {"安装.bat": bat_install, "install.sh": sh_install}
    actions = {
        "预览": ("preview", "预览网站（浏览器会自动打开；关闭本窗口即停止预览）",
                 f"-m exemplar_site.launch preview {SITE}"),
        "构建": ("build", f"生成网站到 {SITE}/public/",
                 f"-m exemplar_site build --config {SITE}/site_config.yaml"),
        "检查": ("check", "发布前检查（只检查，不写文件）",
                 f"-m exemplar_site check --config {SITE}/site_config.yaml"),
    }
    for name, (_, what, args) in actions.items():
        bat_args = args.replace("/", "\\")
        out[f"{name}.bat"] = _BAT_HEAD + f"title {what}\n" + _BAT_NEEDS_ENV + f"""echo {what}
"{ENV}\\Scripts\\python.exe" {bat_args}
if errorlevel 1 goto failed
echo.
echo 完成。
pause
exit /b 0
:failed
echo.
echo 没有成功：请按上面列出的文件、行号和原因修改后再试。
pause
exit /b 1
"""
        out[f"{name}.sh"] = _SH_HEAD + f"# {what}\n" + _SH_NEEDS_ENV + f'exec {ENV}/bin/python {args} "$@"\n'
    return out


def instructions(version: str) -> str:
    return f"""先进典型宣传网站生成器（exemplar-site {version}）离线安装包
================================================================

本安装包不需要联网，适用于 Windows 10/11（64 位）和 Linux（x86-64，glibc 2.28 及以上，
如麒麟 V10、统信 UOS、CentOS/RHEL 8 以上、Ubuntu 20.04 以上）。

一、先安装 Python（每台电脑只需一次）
----------------------------------------
Windows：安装 Python 3.11、3.12 或 3.13 的 64 位版本，安装程序可从 python.org 下载后拷入内网
（文件名类似 python-3.12.x-amd64.exe）。
  安装时，第一页下方一定要勾选“Add python.exe to PATH”，再点“Install Now”。
Linux：用系统自带的 python3（3.11 至 3.13）；Debian/Ubuntu 还需要安装 python3-venv。

二、安装本程序
----------------------------------------
1. 把整个文件夹解压到一个固定的位置，例如 D:\\先进典型\\。
2. Windows：双击“安装.bat”。Linux：在这个文件夹里运行 sh install.sh。
   它会在旁边建一个运行环境文件夹 {ENV}\\，只从 wheels\\ 安装，不联网；
   第一次安装还会建一个新网站文件夹 {SITE}\\。
   以后有新版本的安装包，解压到同一个位置后再运行一次即可升级，{SITE}\\ 里的内容不会动。

三、日常使用（都在这个文件夹里双击）
----------------------------------------
  预览.bat   边写边看：自动打开浏览器显示网站，保存稿件后页面自动刷新；关闭窗口即停止。
  检查.bat   发布前检查：列出所有问题（文件、行号、原因），不写任何文件。
  构建.bat   生成网站：结果在 {SITE}\\public\\，把这个文件夹复制到内网服务器即可。
  Linux 下对应的是 预览.sh、检查.sh、构建.sh（用 sh 运行）。

第一次使用，请先用记事本打开 {SITE}\\site_config.yaml，按注释把“某某”换成本局的名称、网址、
单位和警种；{SITE}\\使用说明.md 讲了怎样写稿件。
想先看看完整的示例网站：在这个文件夹里打开命令行，运行
  {ENV}\\Scripts\\python.exe -m exemplar_site init --sample 示例网站
  {ENV}\\Scripts\\python.exe -m exemplar_site serve --config 示例网站\\site_config.yaml
（Linux 下把 {ENV}\\Scripts\\python.exe 换成 {ENV}/bin/python）。
已有的网站文件夹（从别处拷来的），放在这里并改名为 {SITE} 即可。

四、核对安装包是否完整
----------------------------------------
SHA256SUMS.txt 列出了每个文件的 SHA-256。Windows 下可以运行
  certutil -hashfile 文件名 SHA256
对照；Linux 下运行 sha256sum -c SHA256SUMS.txt。
"""


# ---- the zip ----

def _entry(name: str, executable: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.create_system = 3  # unix: the permissions below count
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def write_zip(path: Path, top: str, files: dict[str, bytes]) -> None:
    """Sorted entries, fixed times and permissions, SHA256SUMS.txt listing every file."""
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items()))
    files = {**files, "SHA256SUMS.txt": sums.encode("utf-8")}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w") as z:
        for name in sorted(files):
            z.writestr(_entry(f"{top}/{name}", name.endswith(".sh")), files[name], compresslevel=9)
    tmp.replace(path)


def bundle_files(wheels: Path, requirement: str, version: str) -> dict[str, bytes]:
    files = {f"wheels/{w.name}": w.read_bytes() for w in sorted(wheels.glob("*.whl"))}
    for name, text in scripts(requirement).items():
        if name.endswith(".bat"):  # cmd.exe: UTF-8 (chcp 65001 on the first lines), no BOM, CRLF
            files[name] = text.replace("\n", "\r\n").encode("utf-8")
        else:
            files[name] = text.encode("utf-8")
    # Notepad of any Windows version reads UTF-8 with a BOM
    files["离线安装说明.txt"] = "\ufeff".encode() + instructions(version).replace("\n", "\r\n").encode("utf-8")
    return files


def make_bundle(out_dir: Path, cache: Path, offline: bool = False, log: bool = True) -> Path:
    name, version, _ = project()
    requirement = f"{name}=={version}"
    with tempfile.TemporaryDirectory() as tmp:
        wheels = Path(tmp, "wheels")
        say = print if log else (lambda *a: None)
        say("building the wheel …")
        build_wheel(wheels, cache, offline)
        say(f"gathering dependencies for {', '.join(PLATFORMS)} × Python {', '.join(PYTHONS)} …")
        gather(wheels, cache, offline)
        say("checking that pip resolves the project from the bundle alone …")
        failed = verify(wheels, requirement)
        if failed:
            raise BundleFailed("the wheel set is incomplete:\n" + "\n".join(failed))
        top = f"{name}-offline-{version}"
        zip_path = out_dir / f"{top}.zip"
        write_zip(zip_path, top, bundle_files(wheels, requirement, version))
    return zip_path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=ROOT / "dist", help="folder for the zip (default dist/)")
    parser.add_argument("--cache", type=Path, default=ROOT / "dist" / "wheelhouse-cache",
                        help="downloaded wheels (default dist/wheelhouse-cache/)")
    parser.add_argument("--offline", action="store_true", help="use the cache only; never the network")
    args = parser.parse_args(argv)
    try:
        path = make_bundle(args.output, args.cache, args.offline)
    except BundleFailed as exc:
        print(f"bundle: {exc}", file=sys.stderr)
        return 1
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"{path}  {path.stat().st_size / 1e6:.1f} MB  sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
