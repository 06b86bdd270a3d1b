"""Beautiful Soup: HTML/XML tree building and searching in pure Python; CPU-bound.

**Knows:** ``BeautifulSoup(markup, parser)`` (tree building: the expensive part) and
searches on the soup (``find``, ``find_all``, ``select``, ``select_one``, ``get_text``,
``prettify``).

**Pools:** the tree is built and searched in Python even with the lxml parser
(lxml only tokenises): ``CPU``. A scraping task is usually network IO *and* this
parsing: on gevent, large pages stall the other greenlets while they parse.

**Fix:** fetch on a gevent queue, parse on a prefork queue (a chain), or use
``lxml.html`` / ``selectolax`` for large documents.

**Sources:** Beautiful Soup docs ("Making the soup", "Improving performance": "Beautiful
Soup will never be as fast as the parsers it sits on top of").
"""

from __future__ import annotations

from celery_poolkit.plugins._rows import cpu
from celery_poolkit.plugins.base import Plugin

_SOUP = "bs4.BeautifulSoup"
_PY = "tree search in pure Python"

PLUGIN = Plugin(
    name="bs4",
    modules=("bs4",),
    distributions=("beautifulsoup4",),
    summary="HTML parsing into a Python tree: CPU-bound.",
    calls=(
        cpu(_SOUP, "builds the whole tree in Python", returns=_SOUP),
        *(
            cpu(f"{_SOUP}.{name}", _PY)
            for name in ("find", "find_all", "select", "select_one", "get_text", "prettify")
        ),
    ),
)
