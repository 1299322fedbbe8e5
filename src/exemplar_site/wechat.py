"""A story as 公众号 (WeChat official account) article HTML, ready to paste into the editor.

The editor keeps inline `style` attributes only: it drops <style>, <script>, classes and CSS
variables, keeps no link but to the platform's own articles, and takes no outside image (they must
be uploaded). So the article is rendered from the theme's templates/wechat/article.html with the
class-based stylesheet templates/wechat/article.css, inlined by css-inline into `style` attributes;
then everything but tags, `style`, `href` and `src`/`alt` is removed (nh3). Every link that is not
to mp.weixin.qq.com becomes a numbered footnote under 参考链接; the pictures are listed for upload,
with their captions and credits. A pure stage: story and config in, text out (cli.py writes it).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import css_inline
import jinja2
import nh3
from markupsafe import Markup

from . import urls
from .config import SiteConfig
from .model import PublicStory

LIMIT = 20_000  # characters of text the editor takes
BYTES_LIMIT = 1_000_000  # and about 1 MB of HTML
WECHAT_HOSTS = ("https://mp.weixin.qq.com/", "http://mp.weixin.qq.com/")
TAGS = {"section", "h1", "h2", "h3", "h4", "p", "span", "strong", "em", "b", "i", "u", "sup", "sub", "br", "hr",
        "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "figure", "figcaption", "img",
        "a", "code", "pre"}
_LINK_RE = re.compile(r'<a\b[^>]*?\shref="([^"]*)"[^>]*>(.*?)</a>', re.S)
_IMG_RE = re.compile(r'<img\b[^>]*?\ssrc="([^"]*)"[^>]*>', re.S)
_TAG_RE = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Footnote:
    number: int
    text: str
    url: str


@dataclass(frozen=True)
class Upload:
    """A picture to upload in the editor, in its place in the article (图1, 图2…)."""

    number: int
    path: str  # site path of the published picture
    caption: str
    credit: str
    alt: str


@dataclass(frozen=True)
class Article:
    story_id: str
    title: str
    html: str  # paste-ready: tags with inline styles only
    chars: int  # characters of text
    footnotes: tuple[Footnote, ...]
    uploads: tuple[Upload, ...]

    @property
    def too_long(self) -> bool:
        return self.chars > LIMIT or len(self.html.encode("utf-8")) > BYTES_LIMIT


def published_path(image: object) -> str:
    """The site path of the picture the site publishes for an Image (its web size when it has one)."""
    web = getattr(image, "web", None)
    return str(getattr(web, "path", "") or getattr(image, "src", ""))


def article(story: PublicStory, config: SiteConfig, env: jinja2.Environment, image_base: str = "") -> Article:
    """The story as article HTML. Pictures point at `image_base` + their site path (the preview shows
    them from the copies beside it; in the editor they are replaced by the uploads)."""
    def to_absolute(path: str) -> str:
        return urls.absolute(config.site_url, path)

    body = urls.rewrite_site_links(story.body_html, to_absolute)
    lead = urls.rewrite_site_links(story.summary_html, to_absolute)
    uploads = [Upload(i + 1, published_path(img), img.caption, str(getattr(img, "credit", "") or ""), img.alt)
               for i, img in enumerate(story.images)]
    body, more = _body_images(body, config, len(uploads))
    uploads += more
    footnotes: list[Footnote] = []
    lead, body = _footnoted(lead, footnotes), _footnoted(body, footnotes)
    source = env.get_template("wechat/article.html").render(
        story=story, site_title=config.title, organisation=config.organisation or config.title,
        lead=Markup(lead), body=Markup(body),
        uploads=uploads, image_base=image_base, footnotes=footnotes, url=to_absolute(story.url),
        authors=tuple(getattr(story, "authors", ()) or ()))
    css = env.loader.get_source(env, "wechat/article.css")[0]  # type: ignore[union-attr]
    document = f"<html><head><style>{css}</style></head><body>{source}</body></html>"
    inlined = css_inline.CSSInliner(keep_style_tags=False, keep_link_tags=False, load_remote_stylesheets=False,
                                    keep_at_rules=False).inline(document)
    inner = inlined.split("<body>", 1)[1].rsplit("</body>", 1)[0] if "<body>" in inlined else inlined
    clean = nh3.clean(inner, tags=TAGS, clean_content_tags={"script", "style"}, link_rel=None,
                      attributes={"*": {"style"}, "a": {"href"}, "img": {"src", "alt"}},
                      url_schemes={"http", "https"}, strip_comments=True).strip()
    text = html.unescape(_TAG_RE.sub("", clean))
    chars = len(re.sub(r"\s+", "", text))
    return Article(story.id, story.title, clean + "\n", chars, tuple(footnotes), tuple(uploads))


def _body_images(body: str, config: SiteConfig, start: int) -> tuple[str, list[Upload]]:
    """Pictures inside the body: listed for upload too (numbered after the story's own)."""
    found: list[Upload] = []

    def keep(m: re.Match[str]) -> str:
        src = m.group(1)
        prefix = config.site_url
        # (the file's site path, as the browser reads the address: 工作照 (1).png, not %E5…%20(1).png)
        path = urls.site_path(src[len(prefix):]) if src.startswith(prefix) else src
        alt = re.search(r'\salt="([^"]*)"', m.group(0))
        found.append(Upload(start + len(found) + 1, path, "", "", html.unescape(alt.group(1)) if alt else ""))
        return m.group(0)

    return _IMG_RE.sub(keep, body), found


def _footnoted(fragment: str, notes: list[Footnote]) -> str:
    """Links to the platform's own articles stay; a link within the page becomes its text; any
    other becomes its text and a footnote number [n] (the same address keeps its number)."""
    def replace(m: re.Match[str]) -> str:
        href, inner = html.unescape(m.group(1)), m.group(2)
        if href.startswith(WECHAT_HOSTS):
            return m.group(0)
        if href.startswith("#") or not href.startswith(("http://", "https://")):
            return inner
        note = next((n for n in notes if n.url == href), None)
        if note is None:
            note = Footnote(len(notes) + 1, html.unescape(_TAG_RE.sub("", inner)).strip(), href)
            notes.append(note)
        return f'{inner}<sup class="wx-ref">[{note.number}]</sup>'

    return _LINK_RE.sub(replace, fragment)


def preview(a: Article, env: jinja2.Environment) -> str:
    """The page to open in a browser: the article as it will look, a copy button, the uploads."""
    return env.get_template("wechat/preview.html").render(
        article=Markup(a.html), a=a, limit=LIMIT)
