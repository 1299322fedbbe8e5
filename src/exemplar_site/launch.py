"""For the offline bundle's double-click scripts (预览.bat, 预览.sh): preview a site and open the browser.

    python -m exemplar_site.launch preview SITE_DIR

Takes the first free port from 8000, starts `serve` for SITE_DIR/site_config.yaml, and opens the
browser on the site once the server answers. Everything else the scripts do is plain `exemplar-site`.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Sequence
from pathlib import Path

from . import cli, i18n
from .config import load_config
from .errors import BuildFailed
from .i18n import _, t

FIRST_PORT = 8000


def free_port(host: str = "127.0.0.1", first: int = FIRST_PORT, tries: int = 50) -> int:
    """The first port from `first` that nothing listens on (a second preview, another program)."""
    for port in range(first, first + tries):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    return first  # serve then says the port is taken


def _open_when_ready(url: str, host: str, port: int, timeout: float = 600.0) -> None:
    """Open the browser once the server accepts connections (the first build may take a while)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    else:
        return
    print(t("opening the browser: {url}", url=url), flush=True)
    webbrowser.open(url)


def main(argv: Sequence[str] | None = None) -> int:
    i18n.choose(None, None)
    parser = argparse.ArgumentParser(prog="python -m exemplar_site.launch",
                                     description=_("preview the site and open the browser (used by 预览.bat of "
                                                   "the offline bundle)"))
    parser.add_argument("action", choices=("preview",))
    parser.add_argument("site", metavar="SITE_DIR", help=_("the site folder (the one holding site_config.yaml)"))
    parser.add_argument("--no-browser", action="store_true", help=_("do not open the browser"))
    args = parser.parse_args(argv)
    config_path = Path(args.site) / "site_config.yaml"
    i18n.choose(None, config_path)
    if not config_path.is_file():
        print(t("there is no site configuration {file}; run the install script first, or create a site with "
                "exemplar-site init", file=config_path), file=sys.stderr)
        return 1
    host, port = "127.0.0.1", free_port()
    try:
        base_path = load_config(config_path).base_path
    except BuildFailed:
        base_path = "/"  # serve lists the problems
    url = f"http://{host}:{port}{base_path}"
    if not args.no_browser:
        threading.Thread(target=_open_when_ready, args=(url, host, port), daemon=True).start()
    print(t("preview at {url}   close this window or press Ctrl-C to stop", url=url), flush=True)
    return cli.main(["serve", "--config", str(config_path), "--port", str(port), "--host", host])


if __name__ == "__main__":
    raise SystemExit(main())
