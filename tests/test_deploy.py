"""deploy, rollback and nginx-conf, with a real nginx where it is installed.

The sample site is built and deployed into a release folder; nginx (on 127.0.0.1, a free port,
a temporary prefix, running as the current user, `nginx -t` first) serves the generated
configuration. Without nginx those tests are skipped; the rest run everywhere.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import http.client
import os
import pwd
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from conftest import NOW, Site, copy_sample, free_port, make_site, wait_until
from exemplar_site import cli
from exemplar_site import deploy as dep
from exemplar_site.config import DeploySettings, SiteConfig, load_config
from exemplar_site.errors import BuildFailed
from exemplar_site.nginxconf import NginxOptions, bucket_size, nginx_conf
from exemplar_site.runs import BuildOptions

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)),
                                       None)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (.ci/run installs it from Debian)")
EDITED = "content/stories/2026/chengnan-xingjing-dadui.md"
EDITED_PAGE = "stories/cheng-nan-xing-jing-da-dui-ye-ying-tu-ji-dui-bai-ri-gong/index.html"
TYPES = {".html": "text/html", ".rss.xml": "application/rss+xml", ".atom.xml": "application/atom+xml",
         ".opml": "text/x-opml", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml",
         ".csv": "text/csv", ".txt": "text/plain", ".xml": "text/xml",
         ".json": "application/json"}  # (JSON Feed, withdrawn.json)


TYPES.setdefault(".js", "application/javascript")  # the theme's scripts (static/a11y.js)
TYPES.update({".jpg": "image/jpeg", ".webp": "image/webp"})  # photos' web sizes and press copies


@contextlib.contextmanager
def refused(words: str) -> Iterator[None]:
    with pytest.raises(BuildFailed) as info:
        yield
    assert any(words in p.message for p in info.value.problems), [p.message for p in info.value.problems]


def current_of(target: Path) -> str:
    return os.readlink(target / "current").rsplit("/", 1)[-1]


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def edit(site: Site, rel: str, extra: str) -> None:
    path = site.root / rel
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + extra + "\n", encoding="utf-8")


# ---- a real nginx ------------------------------------------------------------------------------

class Nginx:
    def __init__(self, prefix: Path, site_conf: str, port: int):
        self.prefix, self.port = prefix, port
        (prefix / "logs").mkdir(parents=True, exist_ok=True)
        (prefix / "tmp").mkdir(exist_ok=True)
        (prefix / "site.conf").write_text(site_conf, encoding="utf-8")
        user = f"user {pwd.getpwuid(os.getuid()).pw_name};\n" if os.geteuid() == 0 else ""
        mime = "include /etc/nginx/mime.types;" if os.path.exists("/etc/nginx/mime.types") else \
            "types { text/html html; text/css css; image/png png; image/svg+xml svg; text/plain txt; text/xml xml; }"
        temps = " ".join(f"{k}_temp_path {prefix}/tmp;" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/logs/error.log;\n"
            f"events {{ worker_connections 256; }}\nhttp {{\n{mime}\naccess_log off;\n{temps}\n"
            f"include {prefix}/site.conf;\n}}\n", encoding="utf-8")
        assert NGINX is not None
        test = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(self.conf)], capture_output=True, text=True,
                              check=False)
        assert test.returncode == 0, test.stderr
        self.proc = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        assert wait_until(self._up, 10), (prefix / "logs" / "error.log").read_text()

    def _up(self) -> bool:
        try:
            self.get("/")
            return True
        except OSError:
            return False

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", path, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def reload_command(self) -> str:
        return f"kill -HUP {self.proc.pid}"

    def stop(self) -> None:
        self.proc.terminate()  # (by its PID: the master, which stops its worker)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@dataclasses.dataclass
class Served:
    site: Site
    target: Path
    nginx: Nginx
    config: SiteConfig
    first: dict[str, bytes]  # the first release's files

    def deploy(self, **kw: Any) -> dep.DeployReport:
        return dep.deploy(self.config, str(self.target), **kw)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if NGINX is None:
        pytest.skip("nginx is not installed (.ci/run installs it from Debian)")
    base = tmp_path_factory.mktemp("deploy")
    root = base / "sample"
    site = copy_sample(root)
    site.build(workers=1)
    target = base / "srv"
    config = load_config(site.config)
    dep.deploy(config, str(target), now=NOW + dt.timedelta(minutes=1))
    port = free_port()
    conf = nginx_conf(config, NginxOptions(str(target), f"127.0.0.1:{port}"))
    nginx = Nginx(base / "nginx", conf, port)
    try:
        config = dataclasses.replace(config, deploy=DeploySettings("", 5, nginx.reload_command()))
        yield Served(site, target, nginx, config, files_of(target / "current"))
    finally:
        nginx.stop()


@needs_nginx
def test_every_page_and_feed_is_served_with_its_type_withdrawn_410_unknown_404(served: Served) -> None:
    release = served.target / "current"
    withdrawn = {line.split()[0] for line in (served.target / "withdrawn.map").read_text().splitlines()
                 if line.startswith("/")}
    assert withdrawn
    notice = (release / "withdrawn.html").read_bytes()
    for rel, data in served.first.items():
        url = "/publicity/" + rel
        if rel.startswith(".") or url in withdrawn:
            continue
        status, headers, body = served.nginx.get(url)
        assert status == 200, url
        assert body == data, url
        kind = next(v for k, v in TYPES.items() if rel.endswith(k)) if not rel.endswith(".xml") else \
            next(v for k, v in TYPES.items() if k.endswith(".xml") and rel.endswith(k))
        assert headers["content-type"].split(";")[0] == kind, (url, headers["content-type"])
        expect = "public, max-age=3600" if rel.startswith(("static/", "images/")) else "no-cache"
        assert headers["cache-control"] == expect, url
    status, _, body = served.nginx.get("/publicity/")
    assert status == 200 and body == served.first["index.html"]
    for url in withdrawn:
        status, headers, body = served.nginx.get(url)
        assert (status, body) == (410, notice), url
        assert headers["content-type"].startswith("text/html")
    for url in ("/publicity/no-such-page/", "/publicity/stories/nobody/index.html", "/publicity/.exemplar-site"):
        status, _, body = served.nginx.get(url)
        assert (status, body) == (404, served.first["404.html"]), url
    status, headers, _ = served.nginx.get("/publicity")
    assert status == 301 and headers["location"].endswith("/publicity/")


@needs_nginx
def test_text_is_served_compressed_to_a_client_that_asks(served: Served) -> None:
    """Pages, feeds, styles and the search index's scripts come gzip-compressed to a browser that
    accepts it (Vary: Accept-Encoding), and decompress to the file's bytes; photos are sent as
    they are; a client that does not ask gets the file itself."""
    import gzip

    asked = {"Accept-Encoding": "gzip"}
    texts = [rel for rel, data in served.first.items() if len(data) > 2048 and not rel.startswith(".")
             and rel.endswith((".html", ".xml", ".css", ".js", ".json"))]
    kinds = {rel.rsplit(".", 1)[1] for rel in texts}
    assert {"html", "xml", "css", "js", "json"} <= kinds and any(r.startswith("search/data/") for r in texts)
    for rel in texts:
        status, headers, body = served.nginx.get("/publicity/" + rel, asked)
        if status == 410:
            continue  # (a withdrawn story's page: the notice)
        assert status == 200 and headers.get("content-encoding") == "gzip", rel
        assert "accept-encoding" in headers.get("vary", "").lower(), rel
        assert gzip.decompress(body) == served.first[rel], rel
        assert len(body) < len(served.first[rel]), rel
    photo = next(rel for rel in served.first if rel.endswith((".jpg", ".png", ".webp")))
    status, headers, body = served.nginx.get("/publicity/" + photo, asked)
    assert status == 200 and "content-encoding" not in headers and body == served.first[photo]
    status, headers, body = served.nginx.get("/publicity/index.html")
    assert "content-encoding" not in headers and body == served.first["index.html"]


@needs_nginx
def test_edit_deploy_under_load_304s_rollback_and_bad_releases(served: Served) -> None:
    site, target, ngx = served.site, served.target, served.nginx
    r1 = current_of(target)
    edit(site, EDITED, "百日攻坚之后，突击队总结经验，形成了夜间巡防的长效机制。")
    site.build(workers=1)
    new = site.files()
    old = {p: hashlib.blake2b(b).hexdigest() for p, b in served.first.items()}
    assert new[EDITED_PAGE] != old[EDITED_PAGE]
    same_page = next(p for p in sorted(new) if p.startswith("about/") and new[p] == old[p])
    same_feed = next(p for p in sorted(new) if p.endswith(".rss.xml") and new[p] == old[p])
    before = {p: ngx.get("/publicity/" + p)[1] for p in (same_page, same_feed)}

    # a bounded request loop on the edited page while the deploy switches: every answer whole,
    # old or new, never old again once new was seen
    new_bytes = (site.out / EDITED_PAGE).read_bytes()
    seen: list[str] = []
    errors: list[str] = []
    started, deployed = threading.Event(), threading.Event()

    def hammer() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", ngx.port, timeout=5)
        deadline = time.monotonic() + 120  # stops by itself: at the latest after 2 minutes or 20,000 requests
        while time.monotonic() < deadline and len(seen) + len(errors) < 20_000:
            try:
                conn.request("GET", "/publicity/" + EDITED_PAGE)
                r = conn.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException) as exc:
                errors.append(repr(exc))
                conn = http.client.HTTPConnection("127.0.0.1", ngx.port, timeout=5)
                continue
            started.set()
            if r.status != 200:
                errors.append(str(r.status))
            seen.append("new" if body == new_bytes else "old" if body == served.first[EDITED_PAGE] else "mixed")
            if deployed.is_set() and seen[-50:].count("new") == 50:  # (however slow the machine)
                break
        conn.close()

    loop = threading.Thread(target=hammer)
    loop.start()
    assert started.wait(10)
    report = served.deploy(now=NOW + dt.timedelta(minutes=2))
    deployed.set()
    loop.join(130)
    assert not loop.is_alive()
    assert not errors, errors[:5]
    assert "mixed" not in seen and seen[0] == "old" and seen[-1] == "new", seen
    assert "old" not in seen[seen.index("new"):]
    r2 = report.release
    assert current_of(target) == r2 != r1 and report.previous == r1 and report.linked > 0

    # unchanged files: the same inode (hard link), so the same ETag and Last-Modified → 304
    for p in (same_page, same_feed):
        assert (target / "releases" / r1 / p).stat().st_ino == (target / "releases" / r2 / p).stat().st_ino
        for header in ({"If-None-Match": before[p]["etag"]}, {"If-Modified-Since": before[p]["last-modified"]}):
            status, _, body = ngx.get("/publicity/" + p, header)
            assert (status, body) == (304, b""), (p, header)
    status, _, body = ngx.get("/publicity/" + EDITED_PAGE, {"If-None-Match": before[same_page]["etag"]})
    assert (status, body) == (200, new_bytes)

    # a third edition; rollback --mark-bad leaves it and marks it; a later rollback skips it
    edit(site, EDITED, "第三版。")
    site.build(workers=1)
    r3 = served.deploy(now=NOW + dt.timedelta(minutes=3)).release
    back = dep.rollback(served.config, str(target), mark_bad=True, now=NOW + dt.timedelta(minutes=5))
    assert (back.release, back.previous, back.marked_bad) == (r2, r3, r3)
    assert ngx.get("/publicity/" + EDITED_PAGE)[2] == new_bytes
    back = dep.rollback(served.config, str(target), now=NOW + dt.timedelta(minutes=5))
    assert back.release == r1
    assert files_of(target / "current") == served.first  # the previous bytes, exactly
    assert ngx.get("/publicity/" + EDITED_PAGE)[2] == served.first[EDITED_PAGE]
    with refused("no earlier release"):
        dep.rollback(served.config, str(target), now=NOW + dt.timedelta(minutes=5))
    with refused("marked bad"):
        dep.rollback(served.config, str(target), r3, now=NOW + dt.timedelta(minutes=5))
    assert [(r.name, r.current, r.bad) for r in dep.releases(served.config, str(target))] == \
        [(r1, True, False), (r2, False, False), (r3, False, True)]
    assert dep.rollback(served.config, str(target), r2, now=NOW + dt.timedelta(minutes=5)).release == r2

    # emergency withdrawal: build + deploy, and the address answers 410 at once (the reload command)
    url = "/publicity/" + EDITED_PAGE.removesuffix("index.html")
    path = site.root / EDITED
    path.write_text(path.read_text(encoding="utf-8").replace("status: approved", "status: withdrawn"),
                    encoding="utf-8")
    site.build(workers=1)
    report = served.deploy(now=NOW + dt.timedelta(minutes=4))
    assert report.map_changed and report.reloaded
    notice = (target / "current" / "withdrawn.html").read_bytes()
    # (for a moment after the reload, old workers still answer with the old map)
    assert wait_until(lambda: all(ngx.get(url)[::2] == (410, notice) for _ in range(10)), 20), \
        (ngx.prefix / "logs" / "error.log").read_text()[-2000:]


# ---- the local path without nginx -----------------------------------------------------------------

NET = {"internet": {"base_url": "https://www.test.gov.cn", "base_path": "/xj/", "output_dir": "public-net",
                    "external": True}}
CLEARED = {"approved_by": "市局宣传处", "date": dt.date(2026, 3, 1)}  # (for the internet edition)


def _small(tmp_path: Path) -> Site:
    site = make_site(tmp_path / "site", editions=NET, feeds={"guid_prefix": "tag:test.gov.cn,2025:"})
    site.story("a", "t-001")
    site.story("b", "t-002", field="jiaojing")
    site.build(workers=1)
    return site


def _net(site: Site, now: dt.datetime) -> SiteConfig:
    """The internet edition of `site`, built as of `now` (what `export` carries outside)."""
    site.build(now=now, workers=1, edition="internet")
    return load_config(site.config, None, "internet")


def test_failed_verification_leaves_current_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = _small(tmp_path)
    config, target = load_config(site.config), tmp_path / "srv"
    first = dep.deploy(config, str(target), now=NOW + dt.timedelta(minutes=1)).release
    site.story("a", "t-001", body="改过的正文。")
    site.build(workers=1)

    def corrupt(source: Path, dest: Path) -> None:
        dest.write_bytes(source.read_bytes() + b"x")

    monkeypatch.setattr(dep, "copy_file", corrupt)
    with refused("SHA-256"):
        dep.deploy(config, str(target), now=NOW + dt.timedelta(minutes=1))
    monkeypatch.undo()
    assert current_of(target) == first
    assert sorted(os.listdir(target / "releases")) == [first] and sorted(os.listdir(target / "meta")) == [first]

    page = next(p for p in site.out.rglob("index.html") if "stories" in p.parts)
    page.write_bytes(page.read_bytes().replace(b"</body>", b'<a href="nowhere/index.html">x</a></body>'))
    with refused("broken internal link"):
        dep.deploy(config, str(target), now=NOW + dt.timedelta(minutes=1))
    assert current_of(target) == first and os.listdir(target / "releases") == [first]


def test_a_build_made_as_of_a_later_time_is_neither_deployed_nor_exported(tmp_path: Path) -> None:
    """`build --now <later>` shows what the site will look like, scheduled stories included: such a
    build is refused by `deploy` and `export` until their own time has come."""
    from exemplar_site.transfer import export_edition

    site = _small(tmp_path)
    site.story("later", "later-1", slug="later", date=dt.date(2026, 12, 20))
    config = load_config(site.config)
    site.build(now=NOW + dt.timedelta(days=30), workers=1)
    assert (site.out / "stories/later/index.html").is_file()  # (as of then, it is public)
    with refused("later than now"):
        dep.deploy(config, str(tmp_path / "srv"), now=NOW + dt.timedelta(hours=1))
    with refused("later than now"):
        export_edition(_net(site, NOW + dt.timedelta(days=30)), tmp_path / "x.zip", now=NOW + dt.timedelta(hours=1))
    assert not (tmp_path / "srv" / "current").exists() and not (tmp_path / "x.zip").exists()
    # once that time has come, or built as of now, it goes
    dep.deploy(config, str(tmp_path / "srv"), now=NOW + dt.timedelta(days=31))
    site.build(workers=1)
    dep.deploy(config, str(tmp_path / "now"), now=NOW + dt.timedelta(hours=1))
    assert not (tmp_path / "now" / "current" / "stories" / "later").exists()
    # (and still once the scheduled story has come due: out of date, it shows less than it could, nothing
    # that must not go out; only a vetting running out makes a build unfit, below)
    site.story("b", "t-002", field="jiaojing", body="改过的正文。")
    site.build(workers=1)
    dep.deploy(config, str(tmp_path / "now"), now=NOW + dt.timedelta(days=31, hours=1))
    assert not (tmp_path / "now" / "current" / "stories" / "later").exists()


def test_a_build_older_than_the_sites_files_is_neither_deployed_nor_exported(tmp_path: Path) -> None:
    """A story withdrawn (or any file changed) after the build: the output still shows it, so
    `deploy` and `export` refuse it until the site is built again; so without the build's record."""
    from exemplar_site.cache import state_path
    from exemplar_site.transfer import export_edition

    site = _small(tmp_path)
    config, net = load_config(site.config), _net(site, NOW)
    site.story("a", "t-001", status="withdrawn", withdrawn_date=dt.date(2026, 11, 20))
    for attempt in (lambda: dep.deploy(config, str(tmp_path / "srv"), now=NOW + dt.timedelta(hours=1)),
                    lambda: export_edition(net, tmp_path / "x.zip", now=NOW + dt.timedelta(hours=1))):
        with refused("not what a build of the site's files as they are now makes"):
            attempt()
    assert not (tmp_path / "srv" / "current").exists() and not (tmp_path / "x.zip").exists()
    site.build(workers=1)
    state_path(site.out).rename(tmp_path / "state")
    with refused("its record is missing"):
        dep.deploy(config, str(tmp_path / "srv"), now=NOW + dt.timedelta(hours=1))
    (tmp_path / "state").rename(state_path(site.out))
    dep.deploy(config, str(tmp_path / "srv"), now=NOW + dt.timedelta(hours=1))
    assert (tmp_path / "srv" / "current" / "index.html").is_file()


def test_a_build_whose_stories_changed_by_the_clock_since_is_neither_deployed_nor_exported(tmp_path: Path) -> None:
    """A vetting that expires after the build, or a build made as of an earlier time (`--now`): the
    output still shows a story that must no longer go out. From that moment on (the first at which a
    story's verdict changes by the clock alone), `deploy`, `export` and a deploy of an edition
    imported from an earlier export refuse it, until the site is built again."""
    from exemplar_site.transfer import export_edition, import_edition

    site = _small(tmp_path)
    # cleared on 2025-12-01, valid 365 days: public through 2026-12-01, held back from 2026-12-02
    site.story("old", "old-1", slug="old", vetting={"cleared_by": "市局纪委", "date": dt.date(2025, 12, 1),
                                                   "ref": "纪审7号"}, external=CLEARED)
    config = load_config(site.config)
    expired = dt.datetime(2026, 12, 2, tzinfo=NOW.tzinfo)
    site.build(workers=1)
    net = _net(site, NOW)
    assert (site.out / "stories/old/index.html").is_file() and (site.root / "public-net/stories/old").is_dir()
    first = dep.deploy(config, str(tmp_path / "srv"), now=expired - dt.timedelta(minutes=1))
    export_edition(net, tmp_path / "x.zip", now=NOW + dt.timedelta(hours=1))
    import_edition(tmp_path / "x.zip", tmp_path / "outside", now=NOW + dt.timedelta(hours=2))
    for attempt in (lambda: dep.deploy(config, str(tmp_path / "srv"), now=expired),
                    lambda: import_edition(tmp_path / "x.zip", tmp_path / "outside2", now=expired),
                    lambda: export_edition(net, tmp_path / "y.zip", now=expired + dt.timedelta(days=3)),
                    lambda: dep.deploy(config, str(tmp_path / "srv2"), source=tmp_path / "outside",
                                       now=expired + dt.timedelta(days=3))):
        with refused("the vetting of a story in it ran out at 2026-12-02T00:00+08:00"):
            attempt()
    assert current_of(tmp_path / "srv") == first.release and not (tmp_path / "y.zip").exists()
    assert not (tmp_path / "outside2").exists()
    assert not (tmp_path / "srv2" / "current").exists()
    # the imported edition goes out before that moment
    dep.deploy(config, str(tmp_path / "srv2"), source=tmp_path / "outside", now=expired - dt.timedelta(hours=1))
    assert (tmp_path / "srv2" / "current" / "stories" / "old").is_dir()
    # built as of an earlier time than the deploy: refused the same way
    site.build(now=NOW - dt.timedelta(days=60), workers=1)
    with refused("the vetting of a story in it ran out"):
        dep.deploy(config, str(tmp_path / "srv"), now=expired + dt.timedelta(days=1))
    # built again as of then, the story is held back and the build goes out
    site.build(now=expired + dt.timedelta(days=1), workers=1)
    dep.deploy(config, str(tmp_path / "srv"), now=expired + dt.timedelta(days=1, hours=1))
    assert not (tmp_path / "srv" / "current" / "stories" / "old").exists()
    assert (tmp_path / "srv" / "current" / "index.html").is_file()


def test_an_archive_that_does_not_say_until_when_it_may_go_out_is_not_imported(tmp_path: Path) -> None:
    """An export made by an older version carries no `valid_until`: deploy could not tell when its
    stories stop being publishable, so `import` refuses it and asks for a new export."""
    import json
    import zipfile

    from exemplar_site.transfer import export_edition, import_edition

    site = _small(tmp_path)
    site.story("a", "t-001", external=CLEARED)
    export_edition(_net(site, NOW), tmp_path / "x.zip", now=NOW + dt.timedelta(hours=1))
    with zipfile.ZipFile(tmp_path / "x.zip") as z:
        items = {i.filename: z.read(i) for i in z.infolist()}
    manifest = json.loads(items["MANIFEST.json"])
    assert manifest["valid_until"] == "2027-02-02T00:00:00+08:00"  # (the stories' vetting of 2026-02-01)
    del manifest["valid_until"]
    items["MANIFEST.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(tmp_path / "old.zip", "w") as z:
        for name, data in items.items():
            z.writestr(name, data)
    with refused("an older version exported it"):
        import_edition(tmp_path / "old.zip", tmp_path / "outside", now=NOW + dt.timedelta(hours=1))
    assert not (tmp_path / "outside").exists()


def test_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = _small(tmp_path)
    config = load_config(site.config)
    site.build(workers=1, drafts=True)
    with refused("drafts build"):
        dep.deploy(config, str(tmp_path / "srv"), source=site.root / "public-drafts",
                   now=NOW + dt.timedelta(minutes=1))
    (site.out / "reports").mkdir()
    (site.out / "reports" / ".exemplar-internal").write_text("x")
    with refused("internal reports"):
        dep.deploy(config, str(tmp_path / "srv"), now=NOW + dt.timedelta(minutes=1))
    shutil.rmtree(site.out / "reports")
    (site.out / "extra.html").write_text("dropped in by hand")
    with refused("not exactly what the last build wrote"):
        dep.deploy(config, str(tmp_path / "srv"), now=NOW + dt.timedelta(minutes=1))
    site.build(workers=1)  # (removes it)
    foreign = tmp_path / "www"
    foreign.mkdir()
    (foreign / "index.html").write_text("someone else's")
    with refused("neither empty nor made by deploy"):
        dep.deploy(config, str(foreign), now=NOW + dt.timedelta(minutes=1))
    with refused("apart"):
        dep.deploy(config, str(site.out / "srv"), now=NOW + dt.timedelta(minutes=1))
    # where symbolic links cannot be switched (Windows without Developer Mode): refused, nothing written
    monkeypatch.setattr(dep, "symlinks_work", lambda folder: False)
    with refused("symbolic links"):
        dep.deploy(config, str(tmp_path / "win"), now=NOW + dt.timedelta(minutes=1))
    assert not (tmp_path / "win" / "releases").exists()


def test_keep_n_releases_and_unchanged_edition(tmp_path: Path) -> None:
    site = _small(tmp_path)
    config, target = load_config(site.config), tmp_path / "srv"
    names = []
    for i in range(4):
        site.story("a", "t-001", body=f"第{i}版。")
        site.build(workers=1)
        names.append(dep.deploy(config, str(target), keep=2, now=NOW + dt.timedelta(minutes=i)).release)
    assert sorted(os.listdir(target / "releases")) == names[2:] == sorted(os.listdir(target / "meta"))
    again = dep.deploy(config, str(target), keep=2, now=NOW + dt.timedelta(minutes=1))
    assert again.unchanged and again.release == names[-1]
    assert names[0].startswith("20261124-1000") and dep.NAME_RE.match(names[0])


@pytest.mark.usefixtures("clock")
def test_cli_deploy_rollback_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = _small(tmp_path)
    target = str(tmp_path / "srv")
    assert cli.main(["deploy", target, "--config", str(site.config)]) == 0
    site.story("b", "t-002", field="jiaojing", body="新的正文。")
    site.build(workers=1)
    assert cli.main(["deploy", target, "--config", str(site.config)]) == 0
    assert cli.main(["rollback", target, "--list", "--config", str(site.config)]) == 0
    out = capsys.readouterr().out
    assert "Deployed" in out and "(current)" in out
    assert cli.main(["rollback", target, "--config", str(site.config)]) == 0
    assert "now serves" in capsys.readouterr().out
    assert cli.main(["rollback", target, "--config", str(site.config)]) == 1
    assert cli.main(["nginx-conf", target, "--config", str(site.config), "--listen", "8080"]) == 0
    assert "listen 8080;" in capsys.readouterr().out


# ---- nginx-conf ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["base_path", "edition"])
@pytest.mark.parametrize("value", ["/p/\n}\nserver{listen\t8081;root\t/;autoindex\ton;location\t/q/",
                                   "/p;x/", "/p{/", "/../", "/p q/", "/p\r/"])
def test_a_base_path_that_would_write_nginx_directives_is_refused(tmp_path: Path, where: str, value: str) -> None:
    """The base path is written into the nginx configuration and into the withdrawn-address map
    nginx includes: one with a line break, ';', a brace, a space or '..' would add directives there
    (a server that lists / to anyone). `check`, `build` and `nginx-conf` refuse it, naming the field."""
    from exemplar_site.check import check_site

    config: dict[str, Any] = {"base_path": value} if where == "base_path" else \
        {"editions": {"internet": {"base_url": "https://www.test.gov.cn", "base_path": value,
                                   "output_dir": "public-internet"}}}
    site = make_site(tmp_path / "s", config=config)
    site.story("a", "t-001")
    field = "base_path" if where == "base_path" else "editions.internet.base_path"
    with pytest.raises(BuildFailed) as failed:
        load_config(site.config)
    assert [p.field for p in failed.value.problems] == [field] and failed.value.problems[0].line
    assert field in {p.field for p in check_site(site.config, BuildOptions(now=NOW)).errors}
    with pytest.raises(BuildFailed):
        site.build(workers=1)
    assert cli.main(["nginx-conf", str(tmp_path / "srv"), "--config", str(site.config)]) == 1
    assert not site.out.exists() and not (site.root / "public-withdrawn.map").exists()


@pytest.mark.parametrize("key", ["title", "subtitle", "organisation", "title_suffix"])
def test_a_title_on_more_than_one_line_is_refused_and_never_breaks_out_of_nginxs_comment(
        tmp_path: Path, key: str) -> None:
    """The site's title heads the nginx configuration as a comment: a line break in it would end
    the comment and start directives. Such a title (or subtitle, organisation, edition suffix) is
    refused; and nginx-conf keeps whatever title it is given on the comment's line."""
    evil = "江城公安\nserver { listen 8081; root /; autoindex on; }\n#"
    config: dict[str, Any] = {key: evil} if key != "title_suffix" else \
        {"editions": {"internet": {"base_url": "https://www.test.gov.cn", "output_dir": "net", key: evil}}}
    site = make_site(tmp_path / "s", config=config)
    with pytest.raises(BuildFailed) as failed:
        load_config(site.config)
    assert [p.field for p in failed.value.problems] == [key if key != "title_suffix" else "editions.internet." + key]
    text = nginx_conf(dataclasses.replace(load_config(make_site(tmp_path / "t").config), title=evil),
                      NginxOptions("/srv/pub"))
    lines = text.splitlines()
    assert [line for line in lines if "autoindex on" in line] == [lines[0]] and lines[0].startswith("# ")
    assert sum(line.startswith("server") for line in lines) == 1


@pytest.mark.parametrize("value", ["http://x.test;y", "http://x.test{", 'http://x"y.test', "http://user@x.test",
                                   "http://x.test\n/"])
def test_a_site_address_with_anything_but_a_host_and_port_is_refused(tmp_path: Path, value: str) -> None:
    site = make_site(tmp_path / "s", config={"base_url": value})
    with pytest.raises(BuildFailed) as failed:
        load_config(site.config)
    assert [p.field for p in failed.value.problems] == ["base_url"]


def test_nginx_conf_text(tmp_path: Path) -> None:
    config = load_config(make_site(tmp_path / "s").config)  # base_path /pub/
    text = nginx_conf(config, NginxOptions("/srv/pub"))
    for line in ('alias "/srv/pub/current/";', 'include "/srv/pub/withdrawn.map";', "if_modified_since exact;",
                 "error_page 404 /pub/404.html;", "error_page 410 /pub/withdrawn.html;",
                 "location = /pub/withdrawn.html {", "default_type application/atom+xml;",
                 "default_type application/rss+xml;", "default_type text/x-opml;", "default_type application/json;",
                 "map_hash_bucket_size 256;", "server_name test.example;", "open_file_cache", "gzip on;",
                 "gzip_vary on;"):
        assert line in text, line
    notice = text[text.index("location = /pub/withdrawn.html"):text.index("location /pub/ {")]
    assert "if (" not in notice
    at_root = nginx_conf(dataclasses.replace(config, base_path="/"), NginxOptions("/srv/pub"))
    assert 'root "/srv/pub/current";' in at_root and "location / {" in at_root
    assert bucket_size(300) == 512
    for bad in ("relative/path", '/srv/"x', "/srv/$x"):
        with pytest.raises(BuildFailed):
            nginx_conf(config, NginxOptions(bad))
    assert dep.server_path("web@host:/srv/pub/", tmp_path) == "/srv/pub"


# ---- a remote target: the commands, and their shell run here -------------------------------------------

def test_remote_target_parsing() -> None:
    assert dep.parse_remote("web@xc.jcgaj.intra:/srv/publicity") == dep.Remote("web@xc.jcgaj.intra", "/srv/publicity")
    assert dep.parse_remote("server:/srv/x") == dep.Remote("server", "/srv/x")
    for local in ("/srv/publicity", "C:\\site\\srv", "C:/srv", "relative/dir", "./x:y"):
        assert dep.parse_remote(local) is None, local


def test_remote_commands() -> None:
    calls: list[list[str]] = []

    def fake(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        calls.append(list(argv))
        out = ("exists\nours\nnonempty\ncurrent 20261124-100000-aaaaaaaaaaaa\nrelease 20261124-100000-aaaaaaaaaaaa\n"
               "release 20261120-090000-bbbbbbbbbbbb\nbad 20261120-090000-bbbbbbbbbbbb\nmap " + "0" * 64 + "\n")
        return subprocess.CompletedProcess(argv, 0, out, "")

    r = dep.RemoteTarget(dep.Remote("web@host", "/srv/my site"), fake)
    state = r.state()
    assert state.current == "20261124-100000-aaaaaaaaaaaa" and state.ours and not state.empty
    assert state.releases == ("20261120-090000-bbbbbbbbbbbb", "20261124-100000-aaaaaaaaaaaa")
    assert state.bad == {"20261120-090000-bbbbbbbbbbbb"}
    assert calls[0][:4] == ["ssh", "-o", "BatchMode=yes", "web@host"] and "cd -- '/srv/my site'" in calls[0][4]
    edition = dep.Edition(Path("/home/me/public"), {"index.html": "0" * 64, ".exemplar-site": "1" * 64}, b"")
    up, meta = r.upload_commands(edition, "N", "P", "/tmp/m")
    assert up[:4] == ["rsync", "-rlpD", "--checksum", "--protect-args"]
    assert "--link-dest=../P/" in up and up[-2:] == ["/home/me/public/", "web@host:/srv/my site/releases/.incoming-N/"]
    assert meta[-1] == "web@host:/srv/my site/meta/N/"
    verify = r.verify_command(edition, "N")[-1]
    assert "sha256sum --quiet --strict -c ../../meta/N/SHA256SUMS" in verify and "-eq 2" in verify
    assert "mv -fT .current.tmp current" in r.switch_command("N")[-1]
    assert r.remove_command(["A", "B"])[-1].endswith("rm -rf -- releases/A meta/A releases/B meta/B")


def _here(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """ssh and rsync, run on this machine: the remote shell scripts for real."""
    if argv[0] == "ssh":
        return subprocess.run(["sh", "-c", argv[-1]], capture_output=True, text=True, check=False)
    args = [a for a in argv if not a.startswith("--protect-args")]
    args[-1] = re.sub(r"^[^:/]+:", "", args[-1])
    return subprocess.run(args, capture_output=True, text=True, check=False)


@pytest.mark.skipif(shutil.which("rsync") is None or shutil.which("sha256sum") is None, reason="needs rsync")
def test_remote_deploy_and_rollback_through_the_shell(tmp_path: Path) -> None:
    site = _small(tmp_path)
    config = load_config(site.config)
    target = f"web@host:{tmp_path}/remote srv"
    first = dep.deploy(config, target, runner=_here, now=NOW + dt.timedelta(minutes=1))
    site.story("a", "t-001", body="改过的正文。")
    site.build(workers=1)
    second = dep.deploy(config, target, runner=_here, now=NOW + dt.timedelta(hours=1))
    srv = tmp_path / "remote srv"
    assert current_of(srv) == second.release and second.previous == first.release
    assert files_of(srv / "current") == files_of(site.out)
    r1, r2 = srv / "releases" / first.release, srv / "releases" / second.release
    assert (r1 / "robots.txt").stat().st_ino == (r2 / "robots.txt").stat().st_ino  # linked by rsync --link-dest
    back = dep.rollback(config, target, mark_bad=True, runner=_here, now=NOW + dt.timedelta(minutes=5))
    assert back.release == first.release and current_of(srv) == first.release
    assert [(x.name, x.bad) for x in dep.releases(config, target, runner=_here)] == \
        [(first.release, False), (second.release, True)]


def test_deploy_options_are_checked_at_their_lines(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s", config={"deploy": {"keep": 0, "tagret": "/srv/x", "reload": "kill 'x"}})
    with pytest.raises(BuildFailed) as info:
        load_config(site.config)
    fields = {p.field: p for p in info.value.problems}
    assert {"deploy.keep", "deploy.tagret", "deploy.reload"} <= set(fields)
    assert "did you mean: target" in fields["deploy.tagret"].message
    assert all(fields[f].line for f in ("deploy.keep", "deploy.tagret", "deploy.reload"))
    ok = load_config(make_site(tmp_path / "t", config={"deploy": {"keep": 3, "target": "web@h:/srv/x"}}).config)
    assert ok.deploy == DeploySettings("web@h:/srv/x", 3, "")


def test_the_release_check_follows_srcset_and_poster(tmp_path: Path) -> None:
    """A picture's sizes and a video's poster are links too: one leading nowhere is found; the
    site's own pictures (a name with a comma and a space) are not taken for one."""
    root = tmp_path / "r"
    (root / "images").mkdir(parents=True)
    for name in ("a,b 1-480w.png", "a,b 1.png"):
        (root / "images" / name).write_bytes(b"x")
    good = ('<img src="images/a%2Cb%201.png" srcset="images/a,b%201-480w.png 480w, images/a,b%201.png 640w">'
            '<video poster="images/a,b%201.png"></video>')
    (root / "index.html").write_text(good, encoding="utf-8")
    files = ["index.html", "images/a,b 1-480w.png", "images/a,b 1.png"]
    assert dep.broken_links(root, files, "/") == []
    for bad in ('<img src="images/a,b%201.png" srcset="images/gone-480w.png 480w">', '<video poster="gone.png">'):
        (root / "index.html").write_text(good + bad, encoding="utf-8")
        assert [p.message for p in dep.broken_links(root, files, "/")] == \
            [f"broken internal link: no file at {'images/gone-480w.png' if 'srcset' in bad else 'gone.png'}"]


@pytest.mark.parametrize("remote", [False, True])
def test_rollback_never_puts_a_withdrawn_story_or_an_expired_vetting_back_online(tmp_path: Path,
                                                                                 remote: bool) -> None:
    """Rollback is what a nervous user reaches for right after an emergency withdrawal: a release
    that still serves a story the current one withdrew is refused, and so is one in which the
    vetting of a story has run out since; `current` stays as it is."""
    if remote and (shutil.which("rsync") is None or shutil.which("sha256sum") is None):
        pytest.skip("needs rsync")
    site = _small(tmp_path)
    # cleared on 2025-12-01, valid 365 days: public through 2026-12-01
    site.story("old", "old-1", slug="old", vetting={"cleared_by": "市局纪委", "date": dt.date(2025, 12, 1),
                                                   "ref": "纪审7号"})
    site.build(workers=1)
    config = load_config(site.config)
    target = f"web@host:{tmp_path}/srv" if remote else str(tmp_path / "srv")
    srv = tmp_path / "srv"
    kw: dict[str, Any] = {"runner": _here} if remote else {}
    first = dep.deploy(config, target, now=NOW + dt.timedelta(hours=1), **kw).release
    site.story("a", "t-001", status="withdrawn", withdrawn_date=dt.date(2026, 11, 24))
    site.build(workers=1)
    second = dep.deploy(config, target, now=NOW + dt.timedelta(hours=2), **kw).release
    withdrawn = next(p for p in (srv / "releases" / first / "stories").iterdir() if "001" in p.name).name
    assert withdrawn in (srv / "withdrawn.map").read_text(encoding="utf-8")
    for release in (None, first):
        with refused("still serves stories the current release withdrew"):
            dep.rollback(config, target, release, now=NOW + dt.timedelta(hours=3), **kw)
        assert current_of(srv) == second
    # a third release; going back to the second is fine until the old story's vetting runs out
    site.story("b", "t-002", field="jiaojing", body="新的正文。")
    site.build(workers=1)
    dep.deploy(config, target, now=NOW + dt.timedelta(hours=4), **kw)
    with refused("the vetting of a story in release"):
        dep.rollback(config, target, now=dt.datetime(2026, 12, 2, tzinfo=NOW.tzinfo), **kw)
    assert dep.rollback(config, target, now=NOW + dt.timedelta(hours=5), **kw).release == second
    assert current_of(srv) == second
