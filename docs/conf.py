"""Sphinx configuration for the celery-poolkit documentation."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# Local extensions (the library reference renders plugin tables from the installed data).
sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "celery-poolkit"
author = "celery-poolkit developers"
copyright = "2026, celery-poolkit developers"
try:
    release = version("celery-poolkit")
except PackageNotFoundError:  # building from a tree that was never installed
    release = "0+unknown"
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.napoleon",
    "myst_parser",
    "sphinx_click",
    "poolkit_plugins",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
nitpicky = True

html_theme = "furo"
html_title = f"celery-poolkit {release}"
