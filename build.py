#!/usr/bin/env python3
"""Entry point: `python build.py --help`. Works installed or straight from a checkout."""

import sys
from pathlib import Path

try:
    from exemplar_site.cli import main
except ImportError:  # not installed: use the checkout's src/
    sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))
    from exemplar_site.cli import main

raise SystemExit(main())
