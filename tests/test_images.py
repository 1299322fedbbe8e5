"""Photos safe to publish and light to load (issue 15): every output image is re-encoded without
metadata, upright, at web sizes; feeds point to web sizes; bad input gives a clear error; an
unchanged rebuild does no image work."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from lxml import etree
from PIL import Image, PngImagePlugin

from conftest import NOW, Site, pdf
from exemplar_site import images
from exemplar_site.errors import BuildFailed
from exemplar_site.images import ImageSettings, metadata_in
from exemplar_site.pipeline import BuildOptions, build_site, load_site

PHONE = "13912345678"


def phone_jpeg(size: tuple[int, int] = (1200, 900), orientation: int = 6) -> bytes:
    """A 'phone photo': GPS, camera maker and model, maker notes, XMP, a comment, rotated by EXIF."""
    im = Image.new("RGB", size, (200, 30, 30))
    im.paste((30, 30, 200), (0, 0, size[0] // 2, size[1] // 4))  # a blue block top-left, to see the rotation
    exif = im.getexif()
    exif[0x0112] = orientation
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 15"
    exif.get_ifd(0x8769)[0x927C] = b"maker notes " * 10
    exif.get_ifd(0x8825).update({1: "N", 2: (31.0, 14.0, 3.0), 3: "E", 4: (121.0, 28.0, 5.0)})
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif, comment=b"shot at the station", xmp=b"<x:xmpmeta>GPS</x:xmpmeta>")
    return buf.getvalue()


def texty_png() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", f"call {PHONE}")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta/>")
    buf = io.BytesIO()
    Image.new("RGBA", (700, 500), (0, 128, 0, 255)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def add_photo(site: Site, name: str, data: bytes) -> None:
    (site.root / "content" / "images" / name).write_bytes(data)


def image_files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.is_file() and p.suffix.lower() in (".jpg", ".png", ".webp", ".gif")
            and "static" not in p.parts]


def test_the_fixtures_carry_what_must_not_go_out() -> None:
    assert set(metadata_in(phone_jpeg())) >= {"EXIF", "XMP", "comment"}
    assert "text chunk" in metadata_in(texty_png())


def test_every_output_image_is_clean_upright_and_sized(site: Site) -> None:
    add_photo(site, "phone.jpg", phone_jpeg())
    add_photo(site, "sign.png", texty_png())
    site.story("a", "s1", images=[{"src": "images/phone.jpg", "alt": "民警走访", "caption": "走访", "credit": "李明"}],
               body="他扎根社区。\n\n![路牌](images/sign.png)\n")
    site.build()
    files = image_files(site.out)
    assert files
    for f in files:
        data = f.read_bytes()
        assert metadata_in(data) == [], f
        assert PHONE.encode() not in data and b"iPhone" not in data and b"Apple" not in data, f
        with Image.open(f) as im:
            assert not im.getexif(), f
            assert "comment" not in im.info and "xmp" not in im.info, f
    # orientation 6 (rotate 90° clockwise): 1200×900 becomes 900 wide, 1200 high; the blue block top-right
    with Image.open(site.out / "images" / "phone.jpg") as im:
        assert im.size == (900, 1200)
        pixel = im.convert("RGB").getpixel((im.width - 10, 10))
        assert isinstance(pixel, tuple)
        r, b = pixel[0], pixel[2]
        assert b > 150 and r < 100
    # web sizes: never enlarged; the original format and WebP
    names = sorted(p.name for p in (site.out / "images").iterdir())
    assert names == ["phone-480w.jpg", "phone-480w.jpg.webp", "phone.jpg", "phone.jpg.webp",
                     "sign-480w.png", "sign-480w.png.webp", "sign.png", "sign.png.webp"]
    with Image.open(site.out / "images" / "phone-480w.jpg") as im:
        assert im.size == (480, 640)
    assert (site.out / "press" / "s1.jpg").is_file()


def test_pages_use_srcset_sizes_width_and_height(site: Site) -> None:
    add_photo(site, "phone.jpg", phone_jpeg((2400, 1800), orientation=1))
    site.story("a", "s1", images=[{"src": "images/phone.jpg", "alt": "民警走访", "caption": "走访", "credit": "李明"}],
               body="正文。\n\n![路牌](images/a.png)\n", featured=True)
    site.build()
    page = site.html("stories/" + next(p.name for p in (site.out / "stories").iterdir() if p.is_dir()
                                        and p.name != "page") + "/index.html")
    lead = page.xpath("//figure[@class='lead-figure']//img")[0]
    assert lead.get("width") == "1600" and lead.get("height") == "1200"
    assert "phone-480w.jpg 480w" in lead.get("srcset") and "phone-960w.jpg 960w" in lead.get("srcset")
    assert lead.get("sizes")
    assert page.xpath("//figure[@class='lead-figure']//source[@type='image/webp']")
    assert "摄影：李明" in page.xpath("//figure[@class='lead-figure']//figcaption")[0].text_content()
    assert page.xpath("//a[contains(@href, 'press/s1.jpg')]")
    body_img = page.xpath("//div[@class='story-body']//img")[0]
    assert body_img.get("width") and body_img.get("srcset")
    home = site.html("index.html")
    card = home.xpath("//a[@class='card-image']//img")[0]
    assert card.get("src").endswith("phone-480w.jpg") and card.get("width") == "1600"
    media = site.html("feeds/index.html")
    assert media.xpath("//a[contains(@href, 'press/s1.jpg')]")


def test_feeds_reference_web_sizes_with_real_length(site: Site) -> None:
    import feedparser
    add_photo(site, "phone.jpg", phone_jpeg((2400, 1800), orientation=1))
    site.story("a", "s1", images=[{"src": "images/phone.jpg", "alt": "民警走访", "credit": "李明"}])
    site.build()
    rss = site.text_of("feeds/all.rss.xml")
    feed = feedparser.parse(rss)
    enc = feed.entries[0].enclosures[0]
    published = site.out / "images" / "phone.jpg"
    assert enc.href.endswith("/images/phone.jpg") and int(enc.length) == published.stat().st_size
    assert enc.type == "image/jpeg"
    assert 'media:thumbnail url="http://test.example/pub/images/phone-480w.jpg"' in rss
    assert "摄影：李明" in rss  # (the site's language, whatever the program speaks: the tests speak English)
    atom = site.text_of("feeds/all.atom.xml")
    assert f'length="{published.stat().st_size}"' in atom


def test_feeds_are_the_same_whatever_language_the_program_speaks(site: Site, tmp_path: Path) -> None:
    """The feeds are the site's text: a build in English, then one in Chinese with nothing edited,
    gives what a clean Chinese build gives (the photo credit was the interface's language, and no
    key named it: the second build kept the English feeds)."""
    from exemplar_site import i18n
    from exemplar_site.pipeline import BuildOptions, build_site

    add_photo(site, "phone.jpg", phone_jpeg((2400, 1800), orientation=1))
    site.story("a", "s1", images=[{"src": "images/phone.jpg", "alt": "民警走访", "credit": "李明"}])
    site.build()  # (English: the tests' language)
    english = site.files()
    i18n.use("zh_CN")
    try:
        site.build()
        build_site(site.config, BuildOptions(now=NOW, output=tmp_path / "clean", cache=False))
    finally:
        i18n.use("en")
    assert site.files() == english == site.files(tmp_path / "clean")


def test_a_rebuild_with_nothing_changed_does_no_image_work(site: Site) -> None:
    for n in range(3):
        add_photo(site, f"p{n}.jpg", phone_jpeg((1000 + n, 800)))
        site.story(f"s{n}", f"s{n}", images=[{"src": f"images/p{n}.jpg", "alt": "照片"}])
    options = BuildOptions(now=__import__("conftest").NOW)
    first = load_site(site.config, options)
    assert first.image_work == 3
    site.build()
    before = site.files()
    # a rebuild that loads the site (an edited story): the photos come from the store
    site.story("s0", "s0", images=[{"src": "images/p0.jpg", "alt": "照片"}], title="改过的标题")
    from exemplar_site.cache import BuildCache, cache_path
    cache, _ = BuildCache.load(cache_path(site.out))
    again = load_site(site.config, options, cache)
    assert again.image_work == 0
    site.build()
    after = site.files()
    assert {k: v for k, v in after.items() if k.startswith(("images/", "press/"))} == \
        {k: v for k, v in before.items() if k.startswith(("images/", "press/"))}


def test_incremental_equals_clean_when_a_photo_changes(site: Site, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Stories are kept in the cache with their images joined (Incremental.attach): a replaced
    photo, an edit elsewhere, and the photo back again each give what a clean build gives."""
    import shutil

    def clean() -> dict[str, str]:
        copy = tmp_path / f"clean{len(list(tmp_path.iterdir()))}"
        shutil.copytree(site.root, copy, ignore=shutil.ignore_patterns("public", ".public*"))
        build_site(copy / "site_config.yaml", BuildOptions(now=NOW))
        return site.files(copy / "public")

    first = phone_jpeg((1000, 800))
    add_photo(site, "p.jpg", first)
    add_photo(site, "q.jpg", phone_jpeg((900, 700)))
    site.story("s1", "s1", images=[{"src": "images/p.jpg", "alt": "照片"}])
    site.story("s2", "s2", body="他扎根社区多年。\n\n![巡逻途中](images/p.jpg)\n\n![社区](images/q.jpg)")
    site.story("s3", "s3", images=[{"src": "images/q.jpg", "alt": "另一张"}])
    site.build()
    from exemplar_site import incremental, media
    joined: list[str] = []
    real = media.attach_story

    def counted(s: Any, *args: Any) -> Any:
        joined.append(s.source)
        return real(s, *args)

    monkeypatch.setattr(incremental, "attach_story", counted)
    for step in ("photo", "edit", "back"):
        joined.clear()
        if step == "photo":
            add_photo(site, "p.jpg", phone_jpeg((1300, 800), orientation=1))
        elif step == "edit":
            site.story("s3", "s3", images=[{"src": "images/q.jpg", "alt": "另一张"}], title="改过的标题")
        else:
            add_photo(site, "p.jpg", first)
        site.build()
        # only the stories whose text or images changed were joined to their images again
        assert sorted(joined) == (["content/stories/s3.md"] if step == "edit" else
                                  ["content/stories/s1.md", "content/stories/s2.md"]), step
        assert site.files() == clean(), step


def _bad(site: Site, name: str, data: bytes) -> BuildFailed:
    add_photo(site, name, data)
    site.story("s1", "s1", images=[{"src": f"images/{name}", "alt": "照片"}])
    with pytest.raises(BuildFailed) as failed:
        site.build()
    return failed.value


def test_a_truncated_photo_is_an_error_with_file_and_line(site: Site) -> None:
    failed = _bad(site, "cut.jpg", phone_jpeg()[:3000])
    p = next(p for p in failed.problems if "cut.jpg" in p.message)
    assert p.path.endswith("s1.md") and p.line is not None and "damaged" in p.message


def test_a_file_that_is_not_an_image(site: Site) -> None:
    failed = _bad(site, "fake.jpg", b"<html>not a photo</html>")
    assert any("not an image" in p.message for p in failed.problems)


def test_a_decompression_bomb_is_refused(site: Site) -> None:
    buf = io.BytesIO()
    Image.new("1", (10000, 10000)).save(buf, "PNG")  # 100 megapixels, a few kilobytes
    failed = _bad(site, "bomb.png", buf.getvalue())
    assert any("too many pixels" in p.message for p in failed.problems)


@pytest.mark.parametrize("kind", ["cmyk", "16bit", "animated", "format"])
def test_documented_conversions_warn_and_publish(site: Site, kind: str) -> None:
    buf = io.BytesIO()
    name = "x.png"
    if kind == "cmyk":
        name = "x.jpg"
        Image.new("CMYK", (300, 200), (0, 100, 200, 0)).save(buf, "JPEG")
    elif kind == "16bit":
        Image.new("I;16", (300, 200), 40000).save(buf, "PNG")
    elif kind == "animated":
        name = "x.gif"
        frames = [Image.new("RGB", (60, 40), (80 * i, 0, 0)) for i in range(3)]
        frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    else:
        name = "x.jpg"
        Image.new("RGB", (300, 200)).save(buf, "PNG")
    add_photo(site, name, buf.getvalue())
    site.story("s1", "s1", images=[{"src": f"images/{name}", "alt": "照片"}])
    report = site.build()
    assert any(name in w.message and w.line for w in report.warnings), report.warnings
    with Image.open(site.out / "images" / name) as im:
        assert im.mode in ("RGB", "L", "P", "RGBA")
        assert getattr(im, "n_frames", 1) == 1
        assert im.format == images.output_format(f"images/{name}")
    if kind == "16bit":
        with Image.open(site.out / "images" / name) as im:
            assert im.getpixel((0, 0)) == 40000 // 256


def test_heic_is_published_as_jpeg(site: Site) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    heif = pillow_heif.from_pillow(Image.new("RGB", (640, 480), (10, 200, 10)))
    buf = io.BytesIO()
    heif.save(buf, quality=60)
    add_photo(site, "iphone.heic", buf.getvalue())
    site.story("s1", "s1", images=[{"src": "images/iphone.heic", "alt": "照片"}])
    site.build()
    assert not (site.out / "images" / "iphone.heic").exists()
    with Image.open(site.out / "images" / "iphone.jpg") as im:
        assert im.format == "JPEG" and im.size == (640, 480)


def test_warnings_lead_repeated_missing_alt_size_limit(site: Site) -> None:
    add_photo(site, "p.jpg", phone_jpeg((800, 600)))
    site.write("site_config.yaml", site.config.read_text(encoding="utf-8") + "images: {max_bytes: 100000}\n")
    add_photo(site, "big.png", _noise_png())
    site.story("s1", "s1", images=[{"src": "images/p.jpg", "alt": "照片"}],
               body="正文。\n\n![](images/p.jpg)\n\n![大图](images/big.png)\n")
    report = site.build()
    text = "\n".join(w.message for w in report.warnings)
    assert "used again in the text" in text
    assert "no alt text" in text
    assert "more than the limit" in text


def _noise_png() -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((700, 700), 120).convert("RGB").save(buf, "PNG")
    return buf.getvalue()


def _leaky_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The image store's processing made to write phone photos (metadata and all) as web sizes."""
    real = images.process

    def leaky(data: bytes, src: str, settings: ImageSettings) -> images.Processed:
        made = real(data, src, settings)
        return images.Processed(made.width, made.height, made.files, made.notes,
                                tuple(phone_jpeg((40, 30)) for _ in made.data))

    monkeypatch.setattr("exemplar_site.imagestore.process", leaky)


def test_the_safety_net_stops_a_build_whose_image_holds_metadata(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    add_photo(site, "p.jpg", phone_jpeg((800, 600)))
    site.story("s1", "s1", images=[{"src": "images/p.jpg", "alt": "照片"}])
    _leaky_store(monkeypatch)
    with pytest.raises(BuildFailed) as failed:
        site.build(workers=1)
    assert any("still holds" in p.message for p in failed.value.problems)
    assert not site.out.exists() or not any(site.out.rglob("p*.jpg"))


def test_the_last_net_reads_every_image_back_before_the_new_output_goes_live(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the check as each image is made out of the way, the read-back of every image written
    still stops the build, and before the swap: the live output is the last build's, byte for byte."""
    site.story("s0", "s0")
    site.build()
    before = {p.relative_to(site.out).as_posix(): p.read_bytes() for p in site.out.rglob("*") if p.is_file()}
    add_photo(site, "p.jpg", phone_jpeg((800, 600)))
    site.story("s1", "s1", images=[{"src": "images/p.jpg", "alt": "照片"}])
    _leaky_store(monkeypatch)
    monkeypatch.setattr("exemplar_site.pipeline._verified", lambda job: job)
    for workers in (1, 2):
        with pytest.raises(BuildFailed) as failed:
            site.build(workers=workers)
        assert any("still holds" in p.message and "nothing was published" in p.message
                   for p in failed.value.problems)
        assert {p.relative_to(site.out).as_posix(): p.read_bytes() for p in site.out.rglob("*") if p.is_file()} \
            == before


def test_process_never_enlarges() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (300, 200)).save(buf, "JPEG")
    made = images.process(buf.getvalue(), "images/small.jpg", ImageSettings())
    assert max(m.width for m in made.files) == 300


def test_image_paths_are_those_a_path_object_gives() -> None:
    # (the site paths of images are worked out by string operations: the same as PurePosixPath's)
    import itertools
    from pathlib import PurePosixPath

    def published(src: str) -> str:
        p = PurePosixPath(src)
        return str(p.with_suffix(".jpg")) if p.suffix.lower() in (".heic", ".heif") else src

    def web_path(src: str, width: int, largest: bool, webp: bool) -> str:
        p = PurePosixPath(published(src))
        base = str(p) if largest else str(p.with_name(f"{p.stem}-{width}w{p.suffix}"))
        own = images.FORMATS[PurePosixPath(src).suffix.lower()][1]
        return base + ".webp" if webp and own != "WEBP" else base

    folders = ["", "images/", "/images/", "images/2026/", "./images/", "images//x/", "images/./", "a.b/", "../"]
    names = ["a.jpg", "照片.JPG", "a.b.png", ".hidden.png", "a.heic", "b.HEIF", "x.webp", "noext", "a.", "a..png"]
    ends = ["", "/", "/."]
    for folder, name, end in itertools.product(folders, names, ends):
        src = folder + name + end
        suffix = PurePosixPath(src).suffix.lower()
        assert images.is_raster(src) == (suffix in images.FORMATS), src
        if suffix not in images.FORMATS:
            continue
        assert images.published(src) == published(src), src
        assert images.output_format(src) == images.FORMATS[suffix][1], src
        for width, largest, webp in itertools.product((480, 960), (False, True), (False, True)):
            assert images.web_path(src, width, largest, webp) == web_path(src, width, largest, webp), src


def _image_urls(img: Any) -> list[str]:
    """Every address an <img> (and the <source>s of its <picture>) makes the browser fetch."""
    found = [img.get("src")]
    for el in [img, *img.xpath("ancestor::picture[1]//source")]:
        found += [c.strip().split(" ")[0] for c in (el.get("srcset") or "").split(",") if c.strip()]
    return found


@pytest.mark.parametrize("name,link", [
    ("a&b.png", "images/a&b.png"),
    ("a&copy.png", "images/a&copy.png"),
    ("a'b.png", "images/a'b.png"),
    ("工作照 (1).png", "<images/工作照 (1).png>"),
    ("通报.png", "images/%E9%80%9A%E6%8A%A5.png"),
    ("sign.png", "images/sign.png?v=2"),
    ("工作照\u3000(2).png", "<images/工作照\u3000(2).png>"),
])
def test_a_photo_in_the_text_is_published_whatever_its_name_or_link_escapes(site: Site, name: str,
                                                                             link: str) -> None:
    """The photo an author's link names is the one published, clean, at every address the page and
    the feed make the browser fetch (the picture's srcset included); `check` agrees."""
    import feedparser

    from exemplar_site.check import check_site

    add_photo(site, name, texty_png())
    add_photo(site, f"lead {name}", texty_png())  # (and as the story's own photo, named in its front matter)
    site.story("a", "a-1", slug="a", body=f"正文。\n\n![路牌]({link})\n",
               images=[{"src": f"images/lead {name}", "alt": "题图"}])
    site.build()
    page = site.html("stories/a/index.html")
    img = page.xpath("//div[@class='story-body']//img")[0]
    addresses = _image_urls(img)
    assert len(addresses) == 5, addresses  # src, two sizes, two WebP sizes
    addresses += _image_urls(page.xpath("//figure[@class='lead-figure']//img")[0])
    for address in addresses:
        file = site.out / "stories/a" / unquote(urlsplit(address).path)
        assert file.resolve().is_file(), address
        assert metadata_in(file.read_bytes()) == [], address
    assert (site.out / "images" / name).is_file()
    entry = feedparser.parse(site.text_of("feeds/all.atom.xml")).entries[0]
    content: Any = etree.HTML(entry.content[0].value)
    lead, in_text = content.xpath("//img")
    lead_src = str(lead.get("src"))
    assert unquote(lead_src).endswith(f"/images/lead {name}"), lead_src
    for address in [lead_src, *_image_urls(in_text)]:
        assert address.startswith("http://test.example/pub/"), address
        assert (site.out / unquote(urlsplit(address).path)[len("/pub/"):]).is_file(), address
    result = check_site(site.config, BuildOptions(now=NOW, workers=1))
    assert not result.errors, result.errors


def test_a_photo_named_only_in_a_title_is_not_published(site: Site) -> None:
    add_photo(site, "secret.png", texty_png())
    site.story("a", "a-1", slug="a", body='正文<abbr title="site:images/secret.png">缩写</abbr>。')
    site.build()
    assert (site.out / "stories/a/index.html").is_file()
    assert not [p for p in site.out.rglob("*") if "secret" in p.name]


@pytest.mark.parametrize("name", ["c#1.png", "100%.png"])
def test_a_name_a_web_address_cannot_hold_is_refused(site: Site, name: str) -> None:
    """`#` and `%` are allowed by Windows, but the addresses of a photo's sizes cannot hold them as
    written: build and check both refuse it, naming the file (whether a page uses it or not). An
    attachment, linked only as its author writes the link, is published."""
    (site.root / "content/files").mkdir()
    (site.root / "content/files/100%满意.pdf").write_bytes(pdf("Satisfaction: 100%"))
    site.story("b", "b-1", slug="b", body="见[附件](files/100%25满意.pdf)。")
    from exemplar_site.check import check_site

    add_photo(site, name, texty_png())
    site.story("a", "a-1", slug="a")
    with pytest.raises(BuildFailed) as failed:
        site.build()
    assert [p.path for p in failed.value.problems if p.is_error] == [f"content/images/{name}"]
    assert "web address" in failed.value.problems[0].message
    assert [p.path for p in check_site(site.config, BuildOptions(now=NOW, workers=1)).errors] == \
        [f"content/images/{name}"]


def _heic() -> bytes:
    pillow_heif = pytest.importorskip("pillow_heif")
    heif = pillow_heif.from_pillow(Image.new("RGB", (640, 480), (10, 200, 10)))
    buf = io.BytesIO()
    heif.save(buf, quality=60)
    return buf.getvalue()


def test_a_path_in_text_publishes_nothing_and_stays_text(site: Site) -> None:
    """A code sample or a sentence that writes out an <img src="…"> is text: the photo it names
    (here a held-back story's) is not published, and the text is shown as written."""
    from exemplar_site.check import check_site

    add_photo(site, "secret.png", texty_png())
    (site.root / "content/files").mkdir()
    (site.root / "content/files/内部.pdf").write_bytes(pdf("inside"))
    site.story("h", "h-1", status="recommended", images=[{"src": "images/secret.png", "alt": "x"}])
    site.story("a", "a-1", slug="a", summary='摘要 src="site:images/secret.png"',
               body='示例代码：\n\n```html\n<img src="images/secret.png" alt="">\n'
                    '<a href="files/内部.pdf">附件</a>\n```\n\n'
                    '正文 src="site:images/secret.png" 和 `src="images/secret.png"`。\n')
    site.build()
    assert not [p for p in site.out.rglob("*") if "secret" in p.name or "内部" in p.name]
    page = site.html("stories/a/index.html")
    code = page.xpath("//pre//text()")
    assert '<img src="images/secret.png" alt="">' in "".join(code)
    assert 'src="site:images/secret.png"' in page.xpath("string(//div[@class='story-body'])")
    assert not check_site(site.config, BuildOptions(now=NOW, workers=1)).errors


def test_a_heic_photo_only_linked_leads_to_its_jpeg(site: Site) -> None:
    """A link to a HEIC photo, a video's poster and a photo at the top of the text (the story's
    summary) lead to the JPEG published for it, in the page and the feed; check agrees."""
    import feedparser

    from exemplar_site.check import check_site

    add_photo(site, "照 片.heic", _heic())
    add_photo(site, "p.heic", _heic())
    add_photo(site, "top.heic", _heic())
    (site.root / "content/media").mkdir()
    (site.root / "content/media/v.mp4").write_bytes(b"\x00\x00\x00\x10ftypmp42\x00\x00\x00\x00")
    site.story("a", "a-1", slug="a", body='![开头](images/top.heic)\n\n正文。[看大图](<images/照 片.heic>)\n\n'
                                          '<video src="media/v.mp4" poster="images/p.heic" controls></video>\n')
    site.build()
    page = site.html("stories/a/index.html")
    found = [str(a) for a in page.xpath("//a[text()='看大图']/@href | //video/@poster | //img/@src")]
    assert len(found) >= 4 and not any(".heic" in f for f in found), found
    for address in found:
        assert (site.out / "stories/a" / unquote(urlsplit(address).path)).resolve().is_file(), address
    atom = site.text_of("feeds/all.atom.xml")
    assert ".heic" not in feedparser.parse(atom).entries[0].content[0].value
    assert not check_site(site.config, BuildOptions(now=NOW, workers=1)).errors


@pytest.mark.parametrize("link", ["images/sub/../sign.png", "images/./sign.png", "images/%2e/sign.png",
                                  "images\\sign.png", "/images//sign.png"])
def test_a_link_the_browser_tidies_is_the_photo_it_names(site: Site, link: str) -> None:
    from exemplar_site.check import check_site

    add_photo(site, "sign.png", texty_png())
    site.story("a", "a-1", slug="a", body=f"正文。\n\n![路牌]({link})\n")
    site.build()
    img = site.html("stories/a/index.html").xpath("//div[@class='story-body']//img")[0]
    for address in _image_urls(img):
        file = site.out / "stories/a" / unquote(urlsplit(address).path)
        assert file.resolve().is_file(), address
    assert not check_site(site.config, BuildOptions(now=NOW, workers=1)).errors


def test_an_attachment_whose_name_holds_a_percent_sign_is_published(site: Site) -> None:
    (site.root / "content/files").mkdir()
    (site.root / "content/files/100%满意.pdf").write_bytes(pdf("x"))
    site.story("b", "b-1", slug="b", body="见[附件](files/100%25满意.pdf)。")
    site.build()
    href = site.html("stories/b/index.html").xpath("//a[text()='附件']/@href")[0]
    assert (site.out / "stories/b" / unquote(urlsplit(href).path)).resolve() == (site.out / "files/100%满意.pdf")


def _tiff_with_gps() -> bytes:
    im = Image.new("RGB", (800, 600), (200, 30, 30))
    exif = im.getexif()
    exif[0x010F] = "Apple"
    exif.get_ifd(0x8825).update({1: "N", 2: (31.0, 14.0, 3.0), 3: "E", 4: (121.0, 28.0, 5.0)})
    buf = io.BytesIO()
    im.save(buf, "TIFF", exif=exif)
    return buf.getvalue()


def _bmp() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (0, 0, 200)).save(buf, "BMP")
    return buf.getvalue()


@pytest.mark.parametrize(("name", "data", "published"), [
    ("download.jfif", phone_jpeg, "download.jpg"), ("scan.JPE", phone_jpeg, "scan.jpg"),
    ("scan.tif", _tiff_with_gps, "scan.jpg"), ("scan.tiff", _tiff_with_gps, "scan.jpg"), ("old.bmp", _bmp, "old.png"),
])
def test_photos_under_other_names_are_re_encoded_never_copied(site: Site, name: str, data: Any,
                                                              published: str) -> None:
    """A photo saved as .jfif (Windows' name for a downloaded JPEG), .jpe, TIFF or BMP is published
    re-encoded (JPEG or PNG) without its metadata, in the text and as a story's own photo: never
    the file as it is."""
    add_photo(site, name, data())
    add_photo(site, f"lead-{name}", data())
    site.story("a", "a-1", slug="a", body=f"正文。\n\n![照片](images/{name})\n\n[原图](images/{name})\n",
               images=[{"src": f"images/lead-{name}", "alt": "题图"}])
    site.build()
    assert not (site.out / "images" / name).exists() and not (site.out / "images" / f"lead-{name}").exists()
    for f in image_files(site.out):
        assert metadata_in(f.read_bytes()) == [], f
    assert (site.out / "images" / published).is_file() and (site.out / "images" / f"lead-{published}").is_file()
    page = site.html("stories/a/index.html")
    found = [str(a) for a in page.xpath("//a[text()='原图']/@href | //img/@src")]
    assert found and not any(a.lower().endswith(name.rsplit(".", 1)[1].lower()) for a in found), found
    for address in found:
        assert (site.out / "stories/a" / unquote(urlsplit(address).path)).resolve().is_file(), address
