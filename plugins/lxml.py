"""lxml: libxml2/libxslt parsing and XSLT in C; parsing releases the GIL.

**Knows:** ``etree.parse`` / ``fromstring`` / ``XML`` / ``HTML`` / ``iterparse``,
``lxml.html.fromstring`` / ``document_fromstring`` / ``parse``, ``etree.XSLT`` transforms,
``XMLSchema`` / ``RelaxNG`` validation: ``CPU_RELEASES_GIL``. ``etree.tostring`` and
tree navigation/XPath hold the GIL (``CPU``).

**Pools:** lxml "frees the GIL when parsing from disk and memory" and during XSLT and
schema validation, as long as each thread uses its own (or the default) parser: those
scale on threads. ``etree.parse(url)`` fetches the document with libxml2's own HTTP
client, which gevent cannot make cooperative.

**Fix:** fetch documents with requests/httpx and parse the bytes; put heavy parsing on
threads or prefork.

**Sources:** lxml FAQ ("Can I use threads to concurrently access the lxml API?");
lxml docs ("Parsing XML and HTML with lxml").
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import cpu, gil_free
from celery_poolkit.plugins.base import Plugin

_PARSE = "libxml2 parses without the GIL"

PLUGIN = Plugin(
    name="lxml",
    modules=("lxml",),
    distributions=("lxml",),
    summary="XML/HTML parsing and XSLT in C that releases the GIL.",
    calls=(
        *(
            gil_free(f"lxml.etree.{name}", _PARSE)
            for name in ("fromstring", "XML", "HTML", "iterparse")
        ),
        Call(
            "lxml.etree.parse",
            Effect.CPU_RELEASES_GIL,
            Green.SAFE,
            note="libxml2 parses without the GIL; a URL is fetched by libxml2 (blocks the hub)",
        ),
        *(
            gil_free(f"lxml.html.{name}", _PARSE)
            for name in ("fromstring", "document_fromstring", "fragment_fromstring", "parse")
        ),
        gil_free("lxml.etree.XSLT", "compiles the stylesheet", returns="lxml.etree.XSLT"),
        gil_free("lxml.etree.XSLT.__call__", "libxslt transforms without the GIL"),
        gil_free("lxml.etree.XMLSchema", "", returns="lxml.etree.XMLSchema"),
        gil_free("lxml.etree.XMLSchema.validate", "validation without the GIL"),
        gil_free("lxml.etree.XMLSchema.assertValid", "validation without the GIL"),
        cpu("lxml.etree.tostring", "serialisation holds the GIL"),
    ),
)
