"""Jinja2 and Flask's template helpers: template rendering in pure Python; CPU-bound.

**Knows:** ``jinja2.Template(source)`` and ``Environment.from_string`` (compile a
template), ``Environment.get_template`` (load one), ``Template.render`` (run it), and
Flask's ``render_template`` / ``render_template_string``, which render through Jinja2.

**Pools:** rendering runs Python code compiled from the template and holds the GIL:
``CPU``. One page or one e-mail per task is small next to the task's waiting, so these
rows count as CPU work only when they repeat (a loop over the items, a ``while`` over
pages: ``advisor/knowledge.py``, ``PER_ITEM_CPU``): a sitemap or a catalogue rendered
page by page is the work.

**Fix:** render large batches on a prefork queue; keep sending on an IO queue.

**Sources:** Jinja2 docs ("API": templates compile to Python code); Flask docs
("Templates": ``render_template`` renders with the application's Jinja environment).
"""

from __future__ import annotations

from celery_poolkit.plugins._rows import cpu, ctor
from celery_poolkit.plugins.base import Plugin

_TEMPLATE = "jinja2.Template"
_ENV = "jinja2.Environment"
_RENDER = "runs the template's compiled Python code: holds the GIL"
_COMPILE = "compiles the template source to Python code"

PLUGIN = Plugin(
    name="jinja2",
    modules=("jinja2", "flask"),
    distributions=("Jinja2", "Flask"),
    summary="Template rendering in pure Python: CPU-bound when repeated.",
    calls=(
        cpu(_TEMPLATE, _COMPILE, returns=_TEMPLATE),
        cpu(f"{_TEMPLATE}.render", _RENDER),
        ctor(_ENV, _ENV),
        ctor(f"{_ENV}.get_template", _TEMPLATE),
        cpu(f"{_ENV}.from_string", _COMPILE, returns=_TEMPLATE),
        cpu("flask.render_template", _RENDER),
        cpu("flask.render_template_string", _RENDER),
        cpu("flask.templating.render_template", _RENDER),
    ),
)
