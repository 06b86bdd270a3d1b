"""elasticsearch: the Elasticsearch client (and helpers) over elastic-transport/urllib3.

**Knows:** ``elasticsearch.Elasticsearch`` and every API through it (``search``,
``index``, ``bulk``, ``indices.create`` …), and ``elasticsearch.helpers.bulk`` /
``streaming_bulk`` / ``parallel_bulk`` / ``scan`` / ``reindex``. Also OpenSearch's
fork, ``opensearchpy.OpenSearch`` and its helpers.

**Effect:** network IO: a search cluster is a remote service reached over HTTP, not the
project's own database (the evaluation labels' definition, benchmarks/advisor_eval).

**Under gevent:** safe after patching: the default node class is urllib3's
(``Urllib3HttpNode``; requests is the alternative). ``parallel_bulk`` runs a
``multiprocessing.pool.ThreadPool``, which is threads (greenlets once patched), not
processes. ``AsyncElasticsearch`` needs an event loop.

**Fix:** patch before importing the client; create one client per process (it pools
connections).

**Sources:** elasticsearch-py docs ("Client helpers", "Transport": node classes);
opensearch-py user guide; green-runtime.md §6 (urllib3 row).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_ES = "elasticsearch.Elasticsearch"
_OS = "opensearchpy.OpenSearch"
_HELPERS = ("bulk", "streaming_bulk", "parallel_bulk", "scan", "reindex")

PLUGIN = Plugin(
    name="elasticsearch",
    modules=("elasticsearch", "opensearchpy"),
    distributions=("elasticsearch", "opensearch-py"),
    summary="Elasticsearch/OpenSearch clients over urllib3: cooperative after patching.",
    calls=(
        ctor(_ES, _ES),
        Call(f"{_ES}.*", Effect.NET_IO, note="every API call is an HTTP request"),
        *each("elasticsearch.helpers", _HELPERS, Effect.NET_IO),
        ctor(_OS, _OS),
        Call(f"{_OS}.*", Effect.NET_IO, note="every API call is an HTTP request"),
        *each("opensearchpy.helpers", _HELPERS, Effect.NET_IO),
    ),
)
