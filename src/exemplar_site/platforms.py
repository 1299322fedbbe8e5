"""The switch for the portable code paths: true on Windows, and on any OS when the environment
variable `EXEMPLAR_SITE_PORTABLE=1` is set. It makes the build take the portable paths everywhere:
spawned workers (parallel), the folder swap by renames (treeops.swap, never Linux renameat2) and
the portable lock (outguard.exclusive). CI runs the build tests a second time with it set
(Makefile `test`).

A module of its own, light to import: the output guard asks it on a build with nothing to do,
which has no use for `multiprocessing` (~20 ms to import, with socket and tempfile).
"""

from __future__ import annotations

import os

PORTABLE_ENV = "EXEMPLAR_SITE_PORTABLE"


def portable() -> bool:
    """True where the build takes its portable code paths: always on Windows; elsewhere when
    EXEMPLAR_SITE_PORTABLE=1 (so that Linux CI exercises what Windows runs)."""
    return os.name == "nt" or os.environ.get(PORTABLE_ENV, "").strip() == "1"
