"""Static-site generator for exemplar publicity (先进典型宣传)."""

__version__ = "0.1.0"
