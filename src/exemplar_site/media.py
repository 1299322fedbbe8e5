"""The published images joined to the public objects (after the gate, before the index). Pure.

`references` lists every raster image public output uses (story `images:`, images in the bodies of
public stories, pages and campaigns); the incremental layer has images.py make their web sizes;
`attach_story` (each story, through the incremental layer, which keeps the result) and
`attach_others` (pages and campaigns) then give each public `Image` its `WebImage`, each story its
press download, and turn every body `<img>` into a `<picture>` with WebP, `srcset`, `sizes`,
`width` and `height`. A story's
digest then also covers the keys of the images it shows, so a replaced photo re-renders the pages
that show it and nothing else.

`notices` are the checks of issue 15 that need the public objects: a lead image shown again in the
body, a body image without alt text, a source file over the size limit, a conversion that was made.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .gate import site_files
from .i18n import _, t
from .images import Made, Processed, is_raster, output_format, published, web_path
from .model import GateResult, PublicStory, Variant, WebImage, replaced
from .sources import Asset
from .urls import SITE_SCHEME, attribute_path, rewrite_site_links, site_attributes, site_links, site_path

_IMG_RE = re.compile(r"<img\b([^>]*)>")
_SRC_RE = re.compile(r'\ssrc="site:([^"]*)"')  # (as written: urls.site_path reads it)
_ALT_RE = re.compile(r'\salt="([^"]*)"')
# how wide an image is shown, for the browser's choice among the sizes (the theme's CSS agrees)
BODY_SIZES = "(max-width: 800px) 100vw, 760px"
CARD_SIZES = "(max-width: 600px) 100vw, 360px"


@dataclass(frozen=True)
class Notice:
    """A problem found here; the pipeline adds the line (the first line of `source` naming `needle`)."""

    source: str
    needle: str
    message: str
    accepted: str
    error: bool = False


def body_images(body_html: str) -> list[str]:
    """The site path of each raster image a body shows (<img src>), as the browser reads it."""
    return [p for p in (site_path(raw) for name, raw in site_attributes(body_html) if name == "src") if is_raster(p)]


def _linked(fragment: str) -> list[str]:
    """Raster images a fragment shows or links to (a link to a photo publishes it too: processed),
    by its href, src and poster attributes only, as the browser reads them (urls.site_links)."""
    return [p for p in site_links(fragment) if is_raster(p)]


@dataclass(frozen=True)
class StoryMedia:
    """What one public story's text says about images, before anything is published (a pure
    function of the story: the incremental layer keeps it by the story's digest)."""

    refs: tuple[tuple[str, str], ...]  # (site path, the name as written) of every raster image it uses
    shown: tuple[str, ...]  # images it shows (its images: and those in its body): attach joins these
    notices: tuple[Notice, ...]  # the checks that need nothing but the story (see notices)


def story_media(s: PublicStory) -> StoryMedia:
    refs = [(i.src, i.src.rsplit("/", 1)[-1]) for i in s.images if is_raster(i.src)]
    refs += [(src, src.rsplit("/", 1)[-1]) for src in _linked(s.body_html + s.summary_html)]
    in_body = body_images(s.body_html)
    return StoryMedia(tuple(refs), tuple([i.src for i in s.images] + in_body), tuple(_story_notices(s, in_body)))


def references(gate: GateResult, per_story: Mapping[str, StoryMedia]) -> dict[str, list[tuple[str, str]]]:
    """Site path of every raster image public output uses → [(source file, the path as written)].
    `per_story`: story_media of each story, by its source file."""
    refs: dict[str, list[tuple[str, str]]] = {}
    for s in gate.stories:
        for src, needle in per_story[s.source].refs:
            refs.setdefault(src, []).append((s.source, needle))
    bodies = [(p.body_html, p.source) for p in gate.pages] + [(c.body_html, c.source) for c in gate.campaigns]
    for body, source in bodies:
        for src in _linked(body):
            refs.setdefault(src, []).append((source, src.rsplit("/", 1)[-1]))
    return refs


def published_files(src: str, made: Processed) -> dict[str, Made]:
    """Site path → the encoded file it is, for the web sizes of one image (the press copy aside)."""
    web = [m for m in made.files if not m.name.startswith("press")]
    top = max(int(m.name.split(".")[0]) for m in web)
    own = output_format(src)
    return {web_path(src, int(m.name.split(".")[0]), int(m.name.split(".")[0]) == top,
                     m.name.endswith(".webp") and own != "WEBP"): m for m in web}


def press_file(made: Processed) -> Made:
    return next(m for m in made.files if m.name.startswith("press"))


def web_image(src: str, key: str, made: Processed, files: dict[str, Made]) -> WebImage:
    """`files`: published_files(src, made)."""
    own = output_format(src)
    sizes = sorted((Variant(p, m.width, m.height, m.mime, m.size) for p, m in files.items()
                    if not (m.name.endswith(".webp") and own != "WEBP")), key=lambda v: v.width)
    webp = sorted((Variant(p, m.width, m.height, m.mime, m.size) for p, m in files.items()
                   if m.name.endswith(".webp") and own != "WEBP"), key=lambda v: v.width)
    press = press_file(made)
    largest = sizes[-1]
    return WebImage(src, published(src), largest.width, largest.height, tuple(sizes), tuple(webp),
                    Variant(f"press/{press.name}", press.width, press.height, press.mime, press.size), key)


def picture(web: WebImage, alt: str, sizes: str, extra: str = "", lazy: bool = True) -> str:
    """A `<picture>` for a body (site: links, made relative or absolute by the renderers)."""
    loading = ' loading="lazy"' if lazy else ""
    parts = ["<picture>"]
    if web.webp:
        parts.append(f'<source type="image/webp" srcset="{_srcset(web.webp)}" sizes="{sizes}">')
    parts.append(f'<img src="site:{attribute_path(web.path)}" srcset="{_srcset(web.sizes)}" sizes="{sizes}" '
                 f'width="{web.width}" height="{web.height}" alt="{alt}"{extra}{loading}>')
    parts.append("</picture>")
    return "".join(parts)


def _srcset(variants: tuple[Variant, ...]) -> str:
    return ", ".join(f"site:{attribute_path(v.path)} {v.width}w" for v in variants)


def renamed(table: Mapping[str, WebImage]) -> dict[str, WebImage]:
    """The images of `table` published under another name (a HEIC photo as JPEG): made once a
    build, for attach_story and attach_others (looking for them in the whole table for each story
    took time that grew with the square of the site: ~10 s at 10,000 stories with a photo each)."""
    return {src: web for src, web in table.items() if web.path != src}


def _rewrite(body: str, table: Mapping[str, WebImage], renames: Mapping[str, WebImage]) -> str:
    def one(m: re.Match[str]) -> str:
        attrs = m.group(1)
        found = _SRC_RE.search(" " + attrs)
        web = table.get(site_path(found.group(1))) if found else None
        if web is None:
            return m.group(0)
        alt = _ALT_RE.search(attrs)
        rest = _ALT_RE.sub("", _SRC_RE.sub("", " " + attrs))
        rest = re.sub(r'\s(?:width|height|loading)="[^"]*"', "", rest).rstrip(" /")
        return picture(web, alt.group(1) if alt else "", BODY_SIZES, rest)

    body = _IMG_RE.sub(one, body) if "<img" in body else body
    if renames:  # links to a HEIC photo lead to the JPEG published for it
        def to_published(raw: str) -> str:
            web = table.get(site_path(raw))
            return SITE_SCHEME + (attribute_path(web.path) if web is not None and web.path != web.src else raw)

        body = rewrite_site_links(body, to_published)
    return body


def shown_keys(known: StoryMedia, table: Mapping[str, WebImage]) -> tuple[str, ...]:
    """The keys of the published images a story shows, and of those it only links (a link, a
    video's poster) that are published under another name (HEIC as JPEG): what attach_story makes
    of it depends on nothing else but the story."""
    keys = [table[src].key for src in known.shown if src in table]
    renamed = {src for src, _ in known.refs if src in table and table[src].path != src and src not in known.shown}
    return tuple(keys + [table[src].key for src in sorted(renamed)])


def attach_story(s: PublicStory, table: Mapping[str, WebImage], known: StoryMedia,
                 renames: Mapping[str, WebImage]) -> PublicStory:
    """One story with its images joined to what was published for them (`known`: its story_media;
    `renames`: renamed(table)). (The incremental layer joins the stories, attach_others the pages
    and campaigns.)"""
    keys = shown_keys(known, table)
    if not keys:
        return s
    images = tuple(replaced(i, web=table.get(i.src)) for i in s.images)
    lead = images[0].web if images else None
    press = None
    if lead is not None:
        press = replaced(lead.press, path=f"press/{s.id}{posixpath.splitext(lead.press.path)[1]}")
    digest = hashlib.blake2b("\x1f".join([s.digest, *keys]).encode("utf-8"), digest_size=16).hexdigest()
    return replaced(s, images=images, body_html=_rewrite(s.body_html, table, renames),
                    summary_html=_rewrite(s.summary_html, table, renames), press=press, digest=digest)


def attach_others(gate: GateResult, table: Mapping[str, WebImage], renames: Mapping[str, WebImage]) -> GateResult:
    """attach for the pages and campaigns."""
    if not table:
        return gate
    pages = tuple(dataclasses.replace(p, body_html=_rewrite(p.body_html, table, renames)) for p in gate.pages)
    campaigns = tuple(dataclasses.replace(c, body_html=_rewrite(c.body_html, table, renames))
                      for c in gate.campaigns)
    return dataclasses.replace(gate, pages=pages, campaigns=campaigns)


def press_files(gate: GateResult) -> dict[str, str]:
    """press/<story id>.<ext> → the source image it is made from, for every public story with a lead image."""
    return {s.press.path: s.images[0].src for s in gate.public if s.press is not None and s.images}


def notices(gate: GateResult, source_sizes: Mapping[str, int], table: Mapping[str, WebImage],
            notes: Mapping[str, tuple[str, ...]], max_bytes: int,
            refs: Mapping[str, list[tuple[str, str]]],
            per_story: Mapping[str, StoryMedia]) -> list[Notice]:
    """Warnings about the images public output uses (see the module docstring; `per_story`: as
    for references)."""
    out: list[Notice] = []
    for s in gate.stories:
        out += per_story[s.source].notices
    for src, where in refs.items():
        source, needle = where[0]
        size = source_sizes.get(src, 0)
        if size > max_bytes:
            out.append(Notice(source, needle,
                              # TRANSLATORS: 原文：图片 {src} 有 {mb} MB，超过上限 {limit} MB
                              t("the image {src} is {mb} MB, more than the limit of {limit} MB", src=src,
                                mb=f"{size / 1048576:.1f}", limit=f"{max_bytes / 1048576:.1f}"),
                              _("save a smaller copy (a phone photo of 2–4 MB is plenty), or raise "
                                "images.max_bytes in site_config.yaml")))
        for note in notes.get(src, ()):
            out.append(Notice(source, needle, conversion(src, note, table.get(src)),
                              _("nothing to do if this is what you want; otherwise save the image again as "
                                "the notes in docs/content-format.md (Images) say")))
    return out


def _story_notices(s: PublicStory, in_body: list[str]) -> list[Notice]:
    out: list[Notice] = []
    lead = s.images[0].src if s.images else None
    if lead and lead in in_body:
        out.append(Notice(s.source, lead.rsplit("/", 1)[-1],
                          # TRANSLATORS: 原文：题图 {src} 又出现在正文里：页面上会显示两次
                          t("the lead image {src} is used again in the text: the page would show it twice",
                            src=lead),
                          _("remove it from the text, or make another photo the first of images:")))
    for m in _IMG_RE.finditer(s.body_html):
        found = _SRC_RE.search(" " + m.group(1))
        src = site_path(found.group(1)) if found else ""
        alt = _ALT_RE.search(m.group(1))
        if src and is_raster(src) and not (alt and html.unescape(alt.group(1)).strip()):
            out.append(Notice(s.source, src.rsplit("/", 1)[-1],
                              # TRANSLATORS: 原文：正文中的图片 {src} 没有替代文字：读屏软件无法描述它
                              t("the image {src} in the text has no alt text: screen readers cannot "
                                "describe it", src=src),
                              t("e.g. {example}", example="![民警与居民交谈](images/wang.jpg)")))
    return out


def conversion(src: str, note: str, web: WebImage | None) -> str:
    if note == "cmyk":
        # TRANSLATORS: 原文：图片 {src} 是 CMYK 印刷色彩，已转换为 RGB 发布
        return t("the image {src} is in CMYK (print) colours; it is published converted to RGB", src=src)
    if note == "16bit":
        # TRANSLATORS: 原文：图片 {src} 每个颜色 16 位，已降为 8 位发布
        return t("the image {src} has 16 bits per colour; it is published with 8", src=src)
    if note == "animated":
        # TRANSLATORS: 原文：图片 {src} 是动图，只发布第一帧
        return t("the image {src} is animated; only its first frame is published", src=src)
    fmt = note.split(":", 1)[-1]
    # TRANSLATORS: 原文：图片 {src} 实际是 {format} 格式，与文件名不符；按文件名的格式转换后发布
    return t("the image {src} is really a {format} file, not what its name says; it is published converted "
             "to the format of its name", src=src, format=fmt)


def bad_image(src: str, code: str, detail: str) -> tuple[str, str]:
    """(message, what is accepted) for an image that cannot be published (images.BadImage)."""
    if code == "bomb":
        return (t("the image {src} has too many pixels ({detail}) to be opened safely (a decompression bomb?)",
                  src=src, detail=detail or "?"),
                _("save it at a normal size (a phone photo is 12–50 megapixels), or raise images.max_megapixels"))
    if code == "not-image":
        return (t("the file {src} is not an image that can be read (JPEG, PNG, GIF, WebP, HEIC)", src=src),
                _("save the picture again as JPEG or PNG"))
    return (t("the image {src} is damaged or cut short and cannot be read ({detail})", src=src, detail=detail),
            _("copy the photo again from the phone or camera, or save it again as JPEG"))


def attached_files(gate: GateResult, assets: tuple[Asset, ...]) -> tuple[Asset, ...]:
    """The files of the media folders other than photos (attachments, videos) that public output
    links to or loads: only those are published, and checked before they are (a held-back story's
    attachments stay home). (With no such file in the media folders, a site of photos only, the
    benchmark's corpora, no body is looked into: 10,000 of them took 50–100 ms of every build.)"""
    candidates = [a for a in assets if not is_raster(a.out_path)]
    if not candidates:
        return ()
    used: set[str] = set()
    for s in gate.stories:  # (what a story's text links to was read when its body was rendered)
        used.update(i.src for i in s.images)
        used.update(s.site_files)
    for p in gate.pages:
        used.update(site_files(p.body_html))
    for c in gate.campaigns:
        used.update(site_files(c.body_html))
    return tuple(a for a in candidates if a.out_path in used)
