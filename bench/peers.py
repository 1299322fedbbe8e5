"""Turn a generated corpus into equivalent Hugo and Pelican sites.

Equivalent outputs: a page per story, paginated listings (20 per page) for
tags, units, fields and levels, and a full-content RSS feed per listing.
Hugo's built-in RSS carries summaries only, so the Hugo site gets a
full-content rss.xml layout.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


def _stories(corpus: Path) -> Iterator[tuple[Path, dict[str, Any], list[str], str]]:
    config = yaml.load((corpus / "site_config.yaml").read_text(encoding="utf-8"), Loader=_Loader)
    parents: dict[str, str | None] = {}

    def walk(units: dict[str, Any], parent: str | None) -> None:
        for key, spec in units.items():
            parents[key] = parent
            if isinstance(spec, dict) and spec.get("children"):
                walk(spec["children"], key)

    walk(config["units"], None)
    for path in sorted((corpus / "content" / "stories").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        _, front, body = text.split("---\n", 2)
        meta = yaml.load(front, Loader=_Loader)
        chain, unit = [], meta["unit"]
        while unit:
            chain.append(unit)
            unit = parents.get(unit)
        yield path, meta, chain, body


HUGO_CONFIG = """baseURL = "http://bench.example/publicity/"
languageCode = "zh-CN"
title = "基准测试先进典型"
disableKinds = ["robotsTXT"]
[pagination]
  pagerSize = 20
[taxonomies]
  tag = "tags"
  field = "fields"
  unit = "units"
  level = "levels"
[services.rss]
  limit = 50
[markup.goldmark.renderer]
  unsafe = true
"""

HUGO_BASEOF = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ .Title }}</title>
{{ range .AlternativeOutputFormats -}}
<link rel="{{ .Rel }}" type="{{ .MediaType.Type }}" href="{{ .Permalink }}">{{ end }}
</head><body><header><a href="{{ site.Home.RelPermalink }}">{{ site.Title }}</a></header>
<main>{{ block "main" . }}{{ end }}</main></body></html>
"""
HUGO_SINGLE = """{{ define "main" -}}
<article><h1>{{ .Title }}</h1><p>{{ .Params.name }} · {{ .Date.Format "2006-01-02" }}</p>
<div>{{ .Summary }}</div>{{ .Content }}
<p>{{ range .GetTerms "tags" }}<a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a> {{ end }}</p>
{{ with .PrevInSection }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}
{{ with .NextInSection }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}</article>{{ end }}
"""
HUGO_LIST = """{{ define "main" }}<h1>{{ .Title }}</h1>{{ $p := .Paginate .Pages 20 }}
{{ range $p.Pages -}}
<article><h3><a href="{{ .RelPermalink }}">{{ .Title }}</a></h3><p>{{ .Summary }}</p></article>{{ end }}
{{ template "_internal/pagination.html" . }}{{ end }}
"""
HUGO_RSS = """{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>{{ .Title }}</title><link>{{ .Permalink }}</link><description>{{ .Title }}</description>
{{ range first 50 .Pages }}<item><title>{{ .Title }}</title><link>{{ .Permalink }}</link>
<guid isPermaLink="false">{{ .Params.id }}</guid><pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" }}</pubDate>
<description>{{ .Summary | plainify | html -}}
</description><content:encoded>{{ printf "<![CDATA[%s]]>" .Content | safeHTML }}</content:encoded></item>
{{ end }}</channel></rss>
"""


def hugo_site(corpus: Path, out: Path) -> Path:
    if out.exists():
        shutil.rmtree(out)
    (out / "content" / "stories").mkdir(parents=True)
    (out / "static" / "images").mkdir(parents=True)
    layouts = out / "layouts" / "_default"
    layouts.mkdir(parents=True)
    (out / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    (layouts / "baseof.html").write_text(HUGO_BASEOF, encoding="utf-8")
    (layouts / "single.html").write_text(HUGO_SINGLE, encoding="utf-8")
    (layouts / "list.html").write_text(HUGO_LIST, encoding="utf-8")
    (layouts / "rss.xml").write_text(HUGO_RSS, encoding="utf-8")
    for name in ("photo.png", "scene.png"):  # (corpora made before scene.png have photo.png only)
        if (corpus / "content" / "images" / name).exists():
            shutil.copy(corpus / "content" / "images" / name, out / "static" / "images" / name)
    for path, meta, chain, body in _stories(corpus):
        front = {"title": meta["title"], "date": str(meta["date"]), "slug": meta["slug"], "id": meta["id"],
                 "name": meta["name"], "tags": meta["tags"], "fields": [meta["field"]], "units": chain,
                 "levels": [meta["level"]]}
        text = "---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n" + body
        (out / "content" / "stories" / path.name).write_text(text, encoding="utf-8")
    return out


PELICAN_CONF = """AUTHOR = "基准市公安局"
SITENAME = "基准测试先进典型"
SITEURL = "http://bench.example/publicity"
PATH = "content"
ARTICLE_PATHS = ["stories"]
STATIC_PATHS = ["images"]
TIMEZONE = "Asia/Shanghai"
DEFAULT_LANG = "zh"
DEFAULT_PAGINATION = 20
PAGINATED_TEMPLATES = {"index": None, "tag": None, "category": None, "author": None}
FEED_DOMAIN = SITEURL
FEED_ALL_RSS = "feeds/all.rss.xml"
CATEGORY_FEED_RSS = "feeds/{slug}.rss.xml"
TAG_FEED_RSS = "feeds/tag-{slug}.rss.xml"
AUTHOR_FEED_RSS = "feeds/author-{slug}.rss.xml"
FEED_ALL_ATOM = None
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
RSS_FEED_SUMMARY_ONLY = False
FEED_MAX_ITEMS = 50
LOAD_CONTENT_CACHE = False
CACHE_CONTENT = False
ARTICLE_URL = ARTICLE_SAVE_AS = "stories/{slug}/index.html"
"""


def pelican_site(corpus: Path, out: Path) -> Path:
    """Pelican has categories, tags and authors: field → category, unit → author, tags and level → tags."""
    if out.exists():
        shutil.rmtree(out)
    (out / "content" / "stories").mkdir(parents=True)
    (out / "content" / "images").mkdir(parents=True)
    (out / "pelicanconf.py").write_text(PELICAN_CONF, encoding="utf-8")
    for name in ("photo.png", "scene.png"):  # (corpora made before scene.png have photo.png only)
        if (corpus / "content" / "images" / name).exists():
            shutil.copy(corpus / "content" / "images" / name, out / "content" / "images" / name)
    for path, meta, _chain, body in _stories(corpus):
        tags = [*meta["tags"], meta["level"]]
        header = (f"Title: {meta['title']}\nDate: {meta['date']}\nSlug: {meta['slug']}\n"
                  f"Category: {meta['field']}\nAuthor: {meta['unit']}\nTags: {', '.join(tags)}\n\n")
        text = re.sub(r"\]\(images/", "](/images/", body)
        (out / "content" / "stories" / path.name).write_text(header + text, encoding="utf-8")
    return out
