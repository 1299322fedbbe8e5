"""`nginx-conf`: a ready nginx configuration for a deploy target (deploy.py's layout).

The text goes into nginx's http block (e.g. /etc/nginx/conf.d/publicity.conf, which Debian's
nginx.conf includes there, after mime.types). It serves `TARGET/current` under `base_path`, and:

- the withdrawn addresses: a `map` of `TARGET/withdrawn.map` (replaced by every deploy and
  rollback) answers them with 410 and the neutral notice. The notice has an exact location of its
  own, without the `if`, so that `error_page 410` serves it instead of nginx's default page; and
  `map_hash_bucket_size` is set large enough for long addresses (nginx -t fails without it);
- the feeds' MIME types (nginx types go by the last dot only: `.atom.xml` would be text/xml);
- caching: HTML, feeds and data revalidate every time (`no-cache`: answered 304 while the file
  is the same, which hard-linked releases keep), theme files and images an hour;
- `if_modified_since exact` (a rollback to older files must not answer 304), and a warning about
  `open_file_cache`, which would keep serving the previous release after a switch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .config import SiteConfig
from .deploy import CURRENT, MAP
from .errors import BuildFailed, Problem
from .i18n import _, t
from .text import NOT_ONE_LINE

# (nested location, MIME type) for files whose type nginx's mime.types does not give right
TYPES = (
    (r"\.rss\.xml$", "application/rss+xml"),
    (r"\.atom\.xml$", "application/atom+xml"),
    (r"\.opml$", "text/x-opml"),
    (r"\.json$", "application/json"),
    (r"\.csv$", "text/csv"),
)
CHARSET_TYPES = ("text/plain", "text/css", "text/csv", "text/xml", "application/xml",
                 "application/rss+xml", "application/atom+xml", "text/x-opml", "application/json",
                 "application/javascript", "image/svg+xml")
GZIP_TYPES = ("text/plain", "text/css", "text/csv", "text/xml", "application/xml", "application/rss+xml",
              "application/atom+xml", "text/x-opml", "application/json", "application/javascript",
              "text/javascript", "image/svg+xml")
REVALIDATE = "no-cache"  # every request asks; the answer is 304 while the file is unchanged
STATIC = "public, max-age=3600"  # theme files and images: names carry no hash, so an hour, then revalidate
STATIC_FOLDERS = ("static/", "images/")


@dataclass(frozen=True)
class NginxOptions:
    root: str  # the deploy target folder on the server (absolute)
    listen: str = "80"
    server_name: str = ""  # default: the host of base_url
    longest_address: int = 0  # the longest withdrawn address known now (for map_hash_bucket_size)


def _quote(value: str, what: str) -> str:
    if re.search(r'["$\\\n;{}]', value) or not value:
        raise BuildFailed([Problem(value, None, what,
                                   t("{what} cannot be written into an nginx configuration: it is empty or holds "
                                     "one of \" $ \\ ; {{ }}", what=what),
                                   _("a plain absolute path, e.g. /srv/publicity"))])
    return f'"{value}"'


def bucket_size(longest: int) -> int:
    """map_hash_bucket_size: a power of two with room for the longest key and nginx's overhead,
    at least 256 so that later, longer addresses still fit."""
    size = 256
    while size < longest + 64:
        size *= 2
    return size


def nginx_conf(config: SiteConfig, options: NginxOptions) -> str:
    root = options.root.replace("\\", "/").rstrip("/")
    if not root.startswith("/") and not re.match(r"^[A-Za-z]:/", root):
        raise BuildFailed([Problem(options.root, None, "TARGET",
                                   _("nginx needs the target folder as an absolute path"),
                                   _("e.g. /srv/publicity"))])
    current = f"{root}/{CURRENT}"
    base = config.base_path
    server_name = options.server_name or re.sub(r"^https?://", "", config.base_url).split(":")[0]
    if not re.fullmatch(r"[A-Za-z0-9.*_-]+( [A-Za-z0-9.*_-]+)*", server_name):
        raise BuildFailed([Problem(server_name, None, "--server-name", _("not a server name"),
                                   _("e.g. xc.jcgaj.intra"))])
    if not re.fullmatch(r"[A-Za-z0-9.:\[\]_-]+( [a-z_]+)*", options.listen):
        raise BuildFailed([Problem(options.listen, None, "--listen", _("not a port or address:port"),
                                   _("e.g. 80 or 127.0.0.1:8080"))])
    served = _quote(f"{current}/", "TARGET")
    here = f"root {_quote(current, 'TARGET')};" if base == "/" else f"alias {served};"
    lines = [
        # (the title on one line whatever it holds: a line break in it would end the comment)
        (f"# nginx configuration for {NOT_ONE_LINE.sub(' ', config.title)} ({config.site_url}), written by "
        "`python build.py nginx-conf`."),
        "# Put it in the http block (e.g. /etc/nginx/conf.d/publicity.conf, after mime.types), then:",
        "#     nginx -t && nginx -s reload",
        f"# `python build.py deploy` writes releases into {root}/releases/ and switches {current} to the new",
        f"# one atomically; it also replaces {root}/{MAP} (the withdrawn addresses): reload nginx after a",
        "# deploy that withdrew a story (deploy.reload in site_config.yaml does it) for the 410 to apply;",
        "# until then those addresses already show the neutral notice, with status 200.",
        "#",
        "# Do NOT turn on open_file_cache for this site: with it nginx keeps serving files of the previous",
        "# release for up to open_file_cache_valid (60 s by default) after deploy or rollback switch",
        "# `current`. If you must, keep open_file_cache_valid at a few seconds.",
        "",
        "# long addresses of withdrawn stories need large buckets (nginx -t fails otherwise); only one",
        "# map_hash_bucket_size may stand in the http block: keep the largest if another file sets it",
        f"map_hash_bucket_size {bucket_size(options.longest_address)};",
        "map_hash_max_size 16384;",
        "map $uri $exemplar_withdrawn {",
        "    default 0;",
        f"    include {_quote(f'{root}/{MAP}', 'TARGET')};",
        "}",
        "",
        "server {",
        f"    listen {options.listen};",
        f"    server_name {server_name};",
        "    charset utf-8;",
        f"    charset_types {' '.join(CHARSET_TYPES)};",
        "    # ETag (mtime and size) and Last-Modified stay the same for files that a deploy hard-links from",
        "    # the previous release; `exact` (the default, stated here) never answers 304 for the older",
        "    # files a rollback brings back",
        "    etag on;",
        "    if_modified_since exact;",
        "    # pages, feeds and the search index's .js files are text: compressed they are a third or less",
        "    # of the bytes on a slow link (HTML always is, once gzip is on); the ETag becomes a weak one",
        "    gzip on;",
        "    gzip_vary on;",
        "    gzip_comp_level 5;",
        "    gzip_min_length 1024;",
        f"    gzip_types {' '.join(GZIP_TYPES)};",
        "    disable_symlinks off;  # `current` is a symbolic link",
        f"    error_page 404 {base}404.html;",
        f"    error_page 410 {base}withdrawn.html;",
        "",
        "    # the neutral notice for withdrawn stories: an exact location of its own, without the `if` below,",
        "    # so that error_page 410 serves it (inside the location holding the `if`, nginx's default 410",
        "    # page would be served instead)",
        f"    location = {base}withdrawn.html {{",
        f"        alias {_quote(f'{current}/withdrawn.html', 'TARGET')};",
        f'        add_header Cache-Control "{REVALIDATE}" always;',
        "    }",
    ]
    if base != "/":
        lines += [f"    location = {base.rstrip('/')} {{", f"        return 301 {base};", "    }"]
    lines += [
        f"    location {base} {{",
        f"        {here}",
        "        index index.html;",
        "        if ($exemplar_withdrawn) {",
        "            return 410;",
        "        }",
        f'        add_header Cache-Control "{REVALIDATE}";',
        "        location ~ /\\. {",
        "            return 404;  # the build's marker file, and any other hidden file",
        "        }",
    ]
    for folder in STATIC_FOLDERS:
        lines += [f"        location {base}{folder} {{", f'            add_header Cache-Control "{STATIC}";',
                  "        }"]
    for pattern, mime in TYPES:
        lines += [f"        location ~ {pattern} {{", "            types { }", f"            default_type {mime};",
                  f'            add_header Cache-Control "{REVALIDATE}";', "        }"]
    lines += ["    }", "}", ""]
    return "\n".join(lines)
