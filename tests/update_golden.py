#!/usr/bin/env python3
"""Regenerate tests/golden/sms/ from the sample site (review the diff before committing).

    .venv/bin/python tests/update_golden.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from conftest import NOW, REPO  # noqa: E402
from exemplar_site.pipeline import BuildOptions, build_site  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sample"
        root.mkdir()
        shutil.copy(REPO / "site_config.yaml", root / "site_config.yaml")
        shutil.copytree(REPO / "content", root / "content")
        build_site(root / "site_config.yaml", BuildOptions(now=NOW))
        golden = HERE / "golden" / "sms"
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(root / "public" / "sms", golden)
        print(f"wrote {golden}")


if __name__ == "__main__":
    main()
