"""Photos made safe to publish and light to load: bytes + settings → encoded web sizes. Pure.

Every raster image that reaches the output is decoded and encoded again here, never copied:

1. opened with Pillow (HEIC/HEIF through pillow-heif), refused when it is not an image, is
   damaged or truncated, or has more pixels than `max_megapixels` (a decompression bomb);
2. turned upright by its EXIF orientation (`ImageOps.exif_transpose`), then every metadata block
   is left behind (EXIF with GPS and maker notes, XMP, IPTC, PNG text chunks, comments): the
   pixels are copied into an image with empty `info`, and only the colour profile is passed on;
3. documented conversions: a CMYK JPEG becomes RGB (through its colour profile when it has one),
   a 16-bit image 8 bits per channel, an animated GIF its first frame, an image whose content is
   another format than its name says the format of its name, HEIC a JPEG (`published`);
4. encoded at each web width that is smaller than the image (never enlarged; the largest is the
   image's own width when it is narrower than the widest setting), in its own format and WebP,
   plus one press copy (≤ `press_width`, high quality) for newsrooms.

`metadata_in` reads encoded bytes back and names any metadata block found: the build runs it on
every image it writes (pipeline.py), whatever path made it.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .versions import installed

# Source formats by file suffix → (Pillow's format names for it, the format published)
FORMATS: dict[str, tuple[tuple[str, ...], str]] = {
    ".jpg": (("JPEG", "MPO"), "JPEG"),
    ".jpeg": (("JPEG", "MPO"), "JPEG"),
    ".png": (("PNG",), "PNG"),
    ".gif": (("GIF",), "GIF"),
    ".webp": (("WEBP",), "WEBP"),
    ".heic": (("HEIF",), "JPEG"),
    ".heif": (("HEIF",), "JPEG"),
    # other names photos come with (Windows saves a downloaded JPEG as .jfif; scanners write TIFF,
    # old tools BMP): re-encoded like the rest, never copied as they are (EXIF, GPS and all)
    ".jfif": (("JPEG", "MPO"), "JPEG"),
    ".jpe": (("JPEG", "MPO"), "JPEG"),
    ".tif": (("TIFF",), "JPEG"),
    ".tiff": (("TIFF",), "JPEG"),
    ".bmp": (("BMP",), "PNG"),
}
# the suffix an image is published under, where it is not its own
_PUBLISHED_SUFFIX = {".heic": ".jpg", ".heif": ".jpg", ".jfif": ".jpg", ".jpe": ".jpg", ".tif": ".jpg",
                     ".tiff": ".jpg", ".bmp": ".png"}
RASTER = tuple(FORMATS)
MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
EXT = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}


@dataclass(frozen=True)
class ImageSettings:
    """The `images:` section of site_config.yaml."""

    widths: tuple[int, ...] = (480, 960, 1600)
    max_bytes: int = 8 * 1024 * 1024  # a source file larger than this is warned about
    press_width: int = 2560
    quality: int = 82  # JPEG web sizes
    webp_quality: int = 78
    press_quality: int = 92
    max_megapixels: int = 60



@dataclass(frozen=True)
class Made:
    """One encoded file: its name in the image's store folder and what it is."""

    name: str  # "480.jpg", "1600.webp", "press.jpg"
    width: int
    height: int
    mime: str
    size: int


@dataclass(frozen=True)
class Processed:
    width: int  # of the image upright, before any resizing
    height: int
    files: tuple[Made, ...]
    notes: tuple[str, ...]  # conversion codes (media.py words them): cmyk, 16bit, animated, format:<FMT>
    data: tuple[bytes, ...]  # the bytes of each file, in the order of `files`


class BadImage(Exception):
    """An image that cannot be published: `code` is damaged | not-image | bomb; `detail` for the message."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(code, detail)
        self.code, self.detail = code, detail


def _plain(path: str) -> bool:
    """A path PurePosixPath writes back as it is: then its parts are found by string operations,
    ~10 times quicker (these functions run several times for every photo of the site on every
    build: 0.8 s of a one-story edit at 2,000 photos). The paths the build makes are all plain."""
    return bool(path) and path != "." and not path.endswith(("/", "/.")) and not path.startswith("./") \
        and "//" not in path and "/./" not in path


def _split(path: str) -> tuple[str, str, str]:
    """(folder with its '/', stem, suffix) of a plain path, as PurePosixPath has them."""
    folder, slash, name = path.rpartition("/")
    dot = name.rfind(".")
    if 0 < dot < len(name) - 1:
        return folder + slash, name[:dot], name[dot:]
    return folder + slash, name, ""


def _suffix(path: str) -> str:
    return _split(path)[2] if _plain(path) else PurePosixPath(path).suffix


def is_raster(path: str) -> bool:
    return _suffix(path).lower() in FORMATS


def published(src: str) -> str:
    """The site path an image is published at: its own, but a HEIC/HEIF, JFIF or TIFF photo
    becomes .jpg and a BMP .png (_PUBLISHED_SUFFIX)."""
    if not _plain(src):
        p = PurePosixPath(src)
        renamed = _PUBLISHED_SUFFIX.get(p.suffix.lower())
        return str(p.with_suffix(renamed)) if renamed else src
    folder, stem, suffix = _split(src)
    renamed = _PUBLISHED_SUFFIX.get(suffix.lower())
    return f"{folder}{stem}{renamed}" if renamed else src


def output_format(src: str) -> str:
    return FORMATS[_suffix(src).lower()][1]


def web_path(src: str, width: int, largest: bool, webp: bool) -> str:
    """images/a.jpg at 480 → images/a-480w.jpg; its WebP twin images/a-480w.jpg.webp; the largest
    size takes the image's own name (images/a.jpg, images/a.jpg.webp)."""
    own = published(src)
    if _plain(own):
        folder, stem, suffix = _split(own)
        base = own if largest else f"{folder}{stem}-{width}w{suffix}"
    else:
        p = PurePosixPath(own)
        base = str(p) if largest else str(p.with_name(f"{p.stem}-{width}w{p.suffix}"))
    return base + ".webp" if webp and output_format(src) != "WEBP" else base


def settings_key(settings: ImageSettings) -> str:
    """Everything the encoded bytes depend on besides the source: settings, this module, libraries."""
    h = hashlib.blake2b(digest_size=12)
    h.update(repr((settings.widths, settings.press_width, settings.quality, settings.webp_quality,
                   settings.press_quality, settings.max_megapixels)).encode())
    h.update(Path(__file__).read_bytes())
    h.update(installed(("pillow", "pillow-heif")).encode())
    return h.hexdigest()


_heif_ready = False


def _open(data: bytes, max_pixels: int) -> tuple[object, str]:
    """(a loaded PIL image, its format), or BadImage."""
    global _heif_ready
    from PIL import Image, UnidentifiedImageError
    if not _heif_ready:
        try:
            import pillow_heif
            pillow_heif.register_heif_opener()
        except ImportError:  # pragma: no cover - HEIC is then refused as not an image
            pass
        _heif_ready = True
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data))
            if im.width * im.height > max_pixels:
                raise BadImage("bomb", f"{im.width}×{im.height}")
            fmt = im.format or ""
            im.seek(0)
            im.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise BadImage("bomb") from None
        except UnidentifiedImageError:
            raise BadImage("not-image") from None
        except BadImage:
            raise
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError) as exc:
            raise BadImage("damaged", str(exc)[:120]) from None
    return im, fmt


def process(data: bytes, src: str, settings: ImageSettings) -> Processed:
    """The web sizes and the press copy of one image file (`src` names it: its suffix says the
    format published). Raises BadImage."""
    from PIL import Image, ImageCms, ImageOps

    accepted, out_fmt = FORMATS[PurePosixPath(src).suffix.lower()]
    im, fmt = _open(data, settings.max_megapixels * 1_000_000)
    assert isinstance(im, Image.Image)
    notes: list[str] = []
    if fmt not in accepted:
        notes.append(f"format:{fmt}")
    if getattr(im, "n_frames", 1) > 1:
        notes.append("animated")
    icc = im.info.get("icc_profile") or None
    try:
        im = ImageOps.exif_transpose(im) or im
    except (OSError, SyntaxError, ValueError, struct.error) as exc:  # a broken EXIF block
        raise BadImage("damaged", str(exc)[:120]) from None
    if im.mode == "CMYK":
        notes.append("cmyk")
        converted = None
        if icc:
            try:
                converted = ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                                      ImageCms.createProfile("sRGB"), outputMode="RGB")
            except (ImageCms.PyCMSError, OSError, ValueError):
                converted = None
        im = converted if converted is not None else im.convert("RGB")
        icc = None  # (the CMYK profile does not describe RGB pixels; sRGB is what browsers assume)
    elif im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        notes.append("16bit")
        im = im.convert("I").point(lambda v: v / 256).convert("L") if im.mode != "F" else im.convert("L")
    elif im.mode in ("RGB;16", "RGBA;16"):  # pragma: no cover - Pillow versions that keep 16-bit colour
        notes.append("16bit")
        im = im.convert("RGBA" if "A" in im.mode else "RGB")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode == "LA" or im.mode == "PA":
        im = im.convert("RGBA")
    elif im.mode not in ("RGB", "RGBA", "L"):
        im = im.convert("RGB")
    # the pixels alone: a new image, nothing of the file's info (EXIF, XMP, text, comments) carried over
    clean = Image.frombytes(im.mode, im.size, im.tobytes())
    width, height = clean.size
    if out_fmt in ("JPEG",) and clean.mode == "RGBA":
        flat = Image.new("RGB", clean.size, (255, 255, 255))
        flat.paste(clean, mask=clean.getchannel("A"))
        clean = flat

    files: list[Made] = []
    blobs: list[bytes] = []

    def encode(img: Image.Image, fmt: str, quality: int, name: str) -> None:
        buf = io.BytesIO()
        options: dict[str, object] = {}
        if icc and fmt in ("JPEG", "PNG", "WEBP"):
            options["icc_profile"] = icc
        if fmt == "JPEG":
            options.update(quality=quality, progressive=True)
        elif fmt == "WEBP":
            options.update(quality=quality, method=4)
        img.save(buf, fmt, **options)
        blob = buf.getvalue()
        files.append(Made(name, img.width, img.height, MIME[fmt], len(blob)))
        blobs.append(blob)

    # from the largest size down, each made from the one before (a quarter of the resizing work of
    # making each from the full image, and no visible difference at these ratios)
    source = clean

    def scaled(w: int) -> Image.Image:
        nonlocal source
        if w != source.width:
            source = source.resize((w, max(1, round(height * w / width))), Image.Resampling.LANCZOS,
                                   reducing_gap=2.0)
        return source

    pw = min(settings.press_width, width)
    press_fmt = "PNG" if out_fmt in ("PNG", "GIF") else "JPEG"
    img = scaled(pw)
    encode(img.convert("RGB") if press_fmt == "JPEG" and img.mode == "RGBA" else img, press_fmt,
           settings.press_quality, f"press{EXT[press_fmt]}")
    for w in sorted({min(w, width) for w in settings.widths}, reverse=True):
        img = scaled(w) if w <= source.width else clean.resize((w, max(1, round(height * w / width))),
                                                                Image.Resampling.LANCZOS, reducing_gap=2.0)
        encode(img, out_fmt, settings.quality, f"{w}{EXT[out_fmt]}")
        if out_fmt != "WEBP":
            encode(img, "WEBP", settings.webp_quality, f"{w}.webp")
    return Processed(width, height, tuple(files), tuple(notes), tuple(blobs))


# ---- the safety net: metadata in encoded bytes ----------------------------------------------------

def metadata_in(data: bytes) -> list[str]:
    """Names of the metadata blocks in an encoded JPEG, PNG, WebP or GIF (empty: none): EXIF (GPS,
    camera, maker notes), XMP, IPTC, comments, text chunks. A colour profile is not metadata."""
    if data[:2] == b"\xff\xd8":
        return _jpeg(data)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return _png(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _gif(data)
    return []


def _jpeg(data: bytes) -> list[str]:
    found, i = [], 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan: no metadata segment comes after it in a file we write
            break
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        body = data[i + 4:i + 2 + length]
        if marker == 0xE1 and body.startswith(b"Exif"):
            found.append("EXIF")
        elif marker == 0xE1:
            found.append("XMP")
        elif marker == 0xED:
            found.append("IPTC")
        elif marker == 0xFE:
            found.append("comment")
        elif 0xE3 <= marker <= 0xEF and marker != 0xEE:
            found.append(f"APP{marker - 0xE0}")
        i += 2 + length
    return found


def _png(data: bytes) -> list[str]:
    found, i = [], 8
    while i + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[i:i + 8])
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            found.append("text chunk")
        elif kind == b"eXIf":
            found.append("EXIF")
        elif kind == b"IEND":
            break
        i += 12 + length
    return found


def _webp(data: bytes) -> list[str]:
    found, i = [], 12
    while i + 8 <= len(data):
        kind, length = data[i:i + 4], struct.unpack("<I", data[i + 4:i + 8])[0]
        if kind == b"EXIF":
            found.append("EXIF")
        elif kind == b"XMP ":
            found.append("XMP")
        i += 8 + length + (length & 1)
    return found


def _gif(data: bytes) -> list[str]:
    found = []
    if b"XMP DataXMP" in data:
        found.append("XMP")
    if b"\x21\xfe" in data and _gif_comment(data):  # (the bytes may occur in pixel data: Pillow decides)
        found.append("comment")
    return found


def _gif_comment(data: bytes) -> bool:
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as im:
            return "comment" in im.info or "xmp" in im.info
    except (OSError, ValueError, SyntaxError):
        return True
