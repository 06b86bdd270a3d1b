"""selectolax: HTML parsing in C (Modest / Lexbor engines) through Cython; CPU-bound.

**Knows:** ``selectolax.parser.HTMLParser`` and ``selectolax.lexbor.LexborHTMLParser``
(parsing a document: the work) and searches on the tree (``css``, ``css_first``,
``text``).

**Pools:** a fast parser, but parsing is still work on a core, and a task that parses
every page of a site or a build does nothing else for seconds: ``CPU``. No documented
GIL release, so it is counted as holding the GIL.

**Fix:** parse on a prefork queue; keep the fetching or indexing on an IO queue (a chain).

**Sources:** selectolax docs ("a fast HTML5 parser with CSS selectors, written in
Cython"); its README benchmark (about 8x lxml, still milliseconds per page).
"""

from __future__ import annotations

from celery_poolkit.plugins._rows import cpu
from celery_poolkit.plugins.base import Plugin

_PARSE = "parses the whole document"
_SEARCH = "tree search"

PLUGIN = Plugin(
    name="selectolax",
    modules=("selectolax",),
    distributions=("selectolax",),
    summary="HTML parsing in C through Cython: CPU-bound.",
    calls=tuple(
        row
        for tree in ("selectolax.parser.HTMLParser", "selectolax.lexbor.LexborHTMLParser")
        for row in (
            cpu(tree, _PARSE, returns=tree),
            *(cpu(f"{tree}.{name}", _SEARCH) for name in ("css", "css_first", "text")),
        )
    ),
)
