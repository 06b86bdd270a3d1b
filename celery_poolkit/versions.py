"""Installed versions, read from distribution metadata (nothing is imported to learn one).

Import-light: plugins import :func:`version_tuple` before patching, so
``importlib.metadata`` (which imports zipfile, and so threading) loads only when a
version is looked up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def version_tuple(text: str | None) -> tuple[int, ...]:
    """``"3.1.14"`` -> ``(3, 1, 14)``; pre-release tails are dropped. ``None`` -> ``()``."""
    if not text:
        return ()
    parts = []
    for piece in text.split(".")[:3]:
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


def installed_version(distributions: Iterable[str]) -> str | None:
    """The version of the first of ``distributions`` that is installed, or None."""
    from importlib import metadata

    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None
