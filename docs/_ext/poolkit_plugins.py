"""Sphinx directive ``.. poolkit-plugin:: NAME``: a built-in plugin's page section.

It renders the plugin module's docstring (the prose: what is blocking or green, why,
the fix, the sources) followed by the plugin's table of calls, straight from the data
the advisor uses, so the reference can never drift from the knowledge.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

_EMPTY = "—"


def _plugin_module(name: str) -> ModuleType | None:
    from celery_poolkit.plugins import BUILTIN

    for path in BUILTIN:
        module = importlib.import_module(path)
        if module.PLUGIN.name == name:
            return module
    return None


def _lines(module: ModuleType) -> list[str]:
    plugin = module.PLUGIN
    lines = (module.__doc__ or "").strip().splitlines()
    lines += ["", f":Import names: {', '.join(f'``{m}``' for m in plugin.modules)}"]
    if plugin.distributions:
        lines.append(f":Distributions: {', '.join(plugin.distributions)}")
    if plugin.adapter:
        lines.append(f":Runtime adapter: ``{plugin.adapter}``")
    lines += [
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 34 11 12 13 30",
        "",
        "   * - call",
        "     - effect",
        "     - under gevent",
        "     - hazards",
        "     - returns / note",
    ]
    for call in plugin.calls:
        effect = call.effect.value if call.effect else _EMPTY
        hazards = ", ".join(sorted(h.value for h in call.hazards)) or _EMPTY
        extra = " ".join(
            part for part in (f"→ ``{call.returns}``" if call.returns else "", call.note) if part
        )
        lines += [
            f"   * - ``{call.qualname}``",
            f"     - {effect}",
            f"     - {call.green.value}",
            f"     - {hazards}",
            f"     - {extra or _EMPTY}",
        ]
    return lines


class PluginDirective(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        module = _plugin_module(name)
        if module is None:
            raise self.error(f"no built-in poolkit plugin is named {name!r}")
        container = nodes.container()
        self.state.nested_parse(
            StringList(_lines(module), source=module.__name__), self.content_offset, container
        )
        return list(container.children)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("poolkit-plugin", PluginDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
