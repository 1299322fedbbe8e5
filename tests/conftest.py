"""Fixtures that write real sites into temporary folders and read the output back
with real parsers (lxml.html for pages, feedparser for feeds)."""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import importlib.util
import itertools
import os
import shutil
import socket
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import html as lxml_html

from exemplar_site import i18n
from exemplar_site.pipeline import BuildOptions, BuildReport, build_site

# Most tests check messages by their English text (the message ids); tests of the Chinese
# catalogue choose Chinese themselves (tests/test_catalog.py, tests/test_chinese.py). Commands run
# as subprocesses inherit the environment variable.
os.environ[i18n.ENV] = "en"


@pytest.fixture(autouse=True)
def _english_messages() -> None:
    i18n.use("en")


@pytest.fixture(autouse=True)
def _one_off_builds_unfrozen() -> Iterator[None]:
    """Tests call the command line's main() in this process: what its one-off build leaves frozen
    (cli._collector_off, for a process that ends) is made collectable again after each test."""
    yield
    gc.unfreeze()

REPO = Path(__file__).resolve().parents[1]
TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
PNG = (REPO / "content" / "images" / "community.png").read_bytes()

BASE_CONFIG: dict[str, Any] = {
    "title": "测试先进典型",
    "description": "测试站点",
    "organisation": "测试市公安局政治部",
    "base_url": "http://test.example",
    "base_path": "/pub/",
    "page_size": 3,
    "units": {
        "city": {"name": "测试市公安局", "type": "city", "children": {
            "north": {"name": "北区分局", "children": {"n1": "北一派出所", "n2": "北二派出所"}},
            "south": {"name": "南区分局", "children": {"s1": "南一派出所"}},
            "traffic": {"name": "市局交警支队", "type": "department"},
        }},
    },
    "fields": {"shequ": "社区警务", "jiaojing": "交警", "xingzhen": "刑侦"},
    "sms": {"signature": "测试公安"},
}


def story(id: str, **fields: Any) -> str:
    """A public-ready story file; override or drop (value None) any field."""
    meta: dict[str, Any] = {
        "id": id,
        "title": f"测试典型{id}的先进事迹",
        "name": f"张{id}",
        "kind": "individual",
        "unit": "n1",
        "field": "shequ",
        "level": "city",
        "date": dt.date(2026, 3, 1),
        "status": "approved",
        "vetting": {"cleared_by": "市局纪委", "date": dt.date(2026, 2, 1), "ref": f"纪审{id}号"},
        "approved_by": "市局党委",
        "tags": ["社区警务"],
    }
    body = fields.pop("body", "他扎根社区多年。群众都说他好！\n\n## 事迹\n\n默默奉献，服务群众。")
    for k, v in fields.items():
        if v is None:
            meta.pop(k, None)
        else:
            meta[k] = v
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n{body}\n"


@dataclass
class Site:
    root: Path
    output: str = "public"  # the folder `out` reads ("public-drafts" for a drafts build)

    @property
    def config(self) -> Path:
        return self.root / "site_config.yaml"

    @property
    def out(self) -> Path:
        return self.root / self.output

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def story(self, file: str, id: str, **fields: Any) -> Path:
        return self.write(f"content/stories/{file}.md", story(id, **fields))

    def build(self, now: dt.datetime = NOW, **options: Any) -> BuildReport:
        return build_site(self.config, BuildOptions(now=now, **options))

    def html(self, rel: str) -> Any:
        return lxml_html.fromstring((self.out / rel).read_bytes())

    def text_of(self, rel: str) -> str:
        return (self.out / rel).read_text(encoding="utf-8")

    def files(self, root: Path | None = None) -> dict[str, str]:
        """Every output file → its content hash."""
        base = root or self.out
        return {p.relative_to(base).as_posix(): hashlib.blake2b(p.read_bytes()).hexdigest()
                for p in sorted(base.rglob("*")) if p.is_file()}


def make_site(root: Path, config: dict[str, Any] | None = None, **overrides: Any) -> Site:
    cfg = dict(BASE_CONFIG)
    cfg.update(config or {})
    for k, v in overrides.items():
        cfg[k] = v
    root.mkdir(parents=True, exist_ok=True)
    (root / "site_config.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False),
                                           encoding="utf-8")
    for d in ("stories", "pages", "campaigns", "images"):
        (root / "content" / d).mkdir(parents=True, exist_ok=True)
    (root / "content" / "images" / "a.png").write_bytes(PNG)
    return Site(root)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line's clock (cli.clock) reads a minute after NOW, a minute later each time:
    `deploy` and `export`, which refuse a build the clock has overtaken, do not depend on the day
    the tests run."""
    from exemplar_site import cli

    ticks = itertools.count(1)
    monkeypatch.setattr(cli, "clock", lambda: NOW + dt.timedelta(minutes=next(ticks)))


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_site(tmp_path / "site")


def copy_sample(root: Path) -> Site:
    """A copy of the repository's own sample site (its config and content) in `root`."""
    root.mkdir(parents=True)
    shutil.copy(REPO / "site_config.yaml", root / "site_config.yaml")
    shutil.copytree(REPO / "content", root / "content")
    return Site(root)


@pytest.fixture
def sample(tmp_path: Path) -> Site:
    """A copy of the repository's own sample site."""
    return copy_sample(tmp_path / "sample")


# ---- a real browser (headless Chromium through Playwright; tests skip themselves without it) ----

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield b
        b.close()


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for preview-server tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], object], timeout: float = 15) -> bool:
    """Poll `predicate` until it holds or `timeout` seconds pass; whether it held."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def load_tool(name: str) -> Any:
    """A maintainer script of tools/ (catalog.py, docs.py, bundle.py) as a module, for the tests."""
    spec = importlib.util.spec_from_file_location(f"{name}_tool", REPO / "tools" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pdf(text: str, author: str = "市局政治部", note: str = "", field: str = "", attached: bool = False,
        bookmark: str = "") -> bytes:
    """A one-page PDF with `text` (ASCII) in Helvetica, and an author in its properties; `note`: a
    comment on the page; `field`: a form field's value; `attached`: a file attached by an annotation;
    `bookmark`: the title of a bookmark (an outline item)."""
    content = f"BT /F1 12 Tf 10 50 Td ({text}) Tj ET".encode()
    annots = [b"<< /Type /Annot /Subtype /Text /Rect [0 0 10 10] /Contents (%s) >>" % note.encode()] if note else []
    if field:
        annots.append(b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (phone) /Rect [0 0 90 20] /V (%s) >>"
                      % field.encode())
    if attached:
        annots.append(b"<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 10 10] /FS << /Type /Filespec "
                      b"/F (a.csv) >> >>")
    refs = b" ".join(b"%d 0 R" % (7 + i) for i in range(len(annots)))
    outline = 7 + len(annots)  # (the outline's object number, its item's the next)
    catalog = b"<< /Type /Catalog /Pages 2 0 R" + (b" /Outlines %d 0 R" % outline if bookmark else b"") + b" >>"
    if bookmark:
        annots += [b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count 1 >>" % (outline + 1, outline + 1),
                   b"<< /Title (%s) /Parent %d 0 R /Dest [3 0 R /Fit] >>" % (bookmark.encode(), outline)]
    objects = [catalog, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 100] /Contents 4 0 R "
                b"/Resources << /Font << /F1 5 0 R >> >>" + (b" /Annots [" + refs + b"]" if annots else b"") + b" >>"),
               b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Author <FEFF" + author.encode("utf-16-be").hex().upper().encode() + b"> >>", *annots]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
