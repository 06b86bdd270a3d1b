"""The library reference covers every plugin, and every plugin documents itself."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from celery_poolkit.plugins import BUILTIN, builtin_plugins

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "docs" / "libraries.rst"


def test_every_plugin_has_a_section_in_the_library_reference() -> None:
    text = REFERENCE.read_text()
    rendered = re.findall(r"^\.\. poolkit-plugin:: (\S+)$", text, flags=re.MULTILINE)
    headings = set(re.findall(r"^(\w+)\n~+$", text, flags=re.MULTILINE))
    names = {p.name for p in builtin_plugins()}
    missing = sorted(names - set(rendered))
    assert missing == [], (
        "add a section to docs/libraries.rst for each of these plugins: a heading with "
        "the plugin's name and `.. poolkit-plugin:: NAME` below it"
    )
    assert sorted(rendered) == sorted(names), "each plugin rendered exactly once"
    assert names <= headings


def test_the_reference_is_in_the_toctree() -> None:
    index = (REPO / "docs" / "index.rst").read_text()
    assert re.search(r"^   libraries$", index, flags=re.MULTILINE)


def test_plugin_docstrings_say_what_is_known_how_it_behaves_and_why() -> None:
    """Like bandit's rule docstrings, the module docstring is the documentation.

    This layout is for the knowledge-only tables; plugins with a runtime adapter document
    their adapter in their own words and only need a docstring.
    """
    incomplete = []
    for path in BUILTIN:
        module = importlib.import_module(path)
        doc = module.__doc__ or ""
        if module.PLUGIN.adapter:
            assert doc.strip(), path
            continue
        has_behaviour = any(f"**{k}:**" in doc for k in ("Under gevent", "Pools", "Prefork"))
        if not ("**Knows:**" in doc and "**Sources:**" in doc and has_behaviour):
            incomplete.append(path)
    assert incomplete == []
