"""`build.py pdf PAGE`: a page of the built site printed to PDF by headless Chromium, when it is
installed (optional: no PDF library in the core). `campaigns/<slug>` prints the campaign's booklet
(学习资料汇编, campaigns/<slug>/print/); any other site path prints that page with the theme's
print stylesheet (A4, GB/T 9704-2012 geometry)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .config import SiteConfig
from .i18n import t

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class PdfFailed(Exception):
    """What went wrong, in the user's language."""


@dataclass(frozen=True)
class Printed:
    pdf: Path
    page: Path  # the HTML file printed


def find_browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def page_file(config: SiteConfig, page: str) -> Path:
    """The built HTML file for a site path; campaigns/<slug> means its booklet."""
    path = page.strip().strip("/")
    parts = path.split("/")
    if len(parts) == 2 and parts[0] == "campaigns":
        path += "/print"
    target = (config.output_dir / path).resolve()
    if not target.is_relative_to(config.output_dir.resolve()):
        raise PdfFailed(t("{page} is not a page of the site", page=page))
    return target if target.suffix == ".html" else target / "index.html"


def print_pdf(config: SiteConfig, page: str, output: Path | None = None, timeout: float = 180) -> Printed:
    browser = find_browser()
    if browser is None:
        raise PdfFailed(t("PDF needs Chromium, which is not installed here (e.g. apt-get install chromium); "
                          "or open the page in a browser and print it to PDF"))
    html = page_file(config, page)
    if not html.is_file():
        raise PdfFailed(t("{file} does not exist: build the site first (python build.py), and check the address "
                          "(e.g. campaigns/<slug>)", file=html))
    pdf = (output or Path.cwd() / ("-".join(p for p in page.strip("/").split("/") if p) + ".pdf")).resolve()
    if pdf.is_relative_to(config.output_dir.resolve()):
        raise PdfFailed(t("write the PDF outside the site's output folder {folder}", folder=config.output_dir))
    pdf.parent.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
                          f"--print-to-pdf={pdf}", html.as_uri()],
                         capture_output=True, text=True, timeout=timeout, check=False)
    if run.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        raise PdfFailed(t("Chromium could not print {file}: {detail}", file=html,
                          detail=(run.stderr or run.stdout).strip()[-400:]))
    return Printed(pdf, html)
