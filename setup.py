"""Build hook, the one thing pyproject.toml cannot say: the wheel carries the 江城 sample site.

The repository keeps one copy of the sample (site_config.yaml, content/ and themes/ at the top, where
`make run` builds it). Building the wheel copies them into the package as exemplar_site/starter/sample/,
for `exemplar-site init --sample` in an installed package. An editable install skips the copy: the
package then reads the checkout's own files (init_site.sample_source).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SAMPLE_PARTS = ("site_config.yaml", "content", "themes")  # as init_site.SAMPLE_PARTS


class BuildPyWithSample(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False) or self.dry_run:
            return
        target = Path(self.build_lib) / "exemplar_site" / "starter" / "sample"
        if target.exists():
            shutil.rmtree(target)  # nothing left over from an earlier build
        target.mkdir(parents=True)
        ignore = shutil.ignore_patterns(".*", "__pycache__")
        for part in SAMPLE_PARTS:
            source = ROOT / part
            if source.is_dir():
                shutil.copytree(source, target / part, ignore=ignore, copy_function=shutil.copyfile)
            else:
                shutil.copyfile(source, target / part)


setup(cmdclass={"build_py": BuildPyWithSample})
