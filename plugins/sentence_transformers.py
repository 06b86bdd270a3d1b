"""sentence-transformers: local embedding and re-ranking models.

**Knows:** ``SentenceTransformer(...)`` and ``CrossEncoder(...)`` (download the model from
the Hub on first use, then load it from the cache; with ``device="cuda"`` they start
CUDA; a task that loads a model runs it, often through a library callback the advisor
cannot follow, such as a vector store calling ``embed_documents``: loading the weights
and that inference are CPU work in the task, ``CPU_RELEASES_GIL``),
``SentenceTransformer.encode`` / ``encode_query`` / ``encode_document`` / ``similarity``
and ``CrossEncoder.predict`` / ``rank`` (a forward pass of the model over every input:
torch kernels that release the GIL, or the GPU), and
``sentence_transformers.util.cos_sim`` / ``semantic_search`` (tensor maths).

**Pools:** embedding a corpus is CPU work in the task's own process: only more
processes (or a GPU) make it scale; greenlets only queue behind it. Models loaded before
fork carry torch's OpenMP/CUDA state into the children (``FORK_UNSAFE``, as in the
``torch`` and ``transformers`` tables).

**Fix:** a queue of its own for embedding tasks on prefork (or solo with a GPU); load the
model in ``worker_process_init``; pre-download it at build time (``HF_HUB_OFFLINE=1``).

**Sources:** sentence-transformers docs ("Quickstart", ``SentenceTransformer.encode``,
``CrossEncoder.predict``, ``util``).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green, Hazard
from celery_poolkit.plugins._rows import each
from celery_poolkit.plugins.base import Plugin

_FORK = frozenset({Hazard.FORK_UNSAFE})
_ST = "sentence_transformers.SentenceTransformer"
_CE = "sentence_transformers.CrossEncoder"
_LOAD = (
    "loads a local model to run it in this process (weights deserialised, then the inference"
    " that follows, often through a library's callback); downloads on first use; may start CUDA"
)
_PASS = "a forward pass over every input: torch kernels (GIL released) or the GPU"

PLUGIN = Plugin(
    name="sentence_transformers",
    modules=("sentence_transformers",),
    distributions=("sentence-transformers",),
    summary="Local embedding models: CPU (or GPU) work in the task's process; load after fork.",
    calls=(
        *(Call(cls, Effect.CPU_RELEASES_GIL, Green.SAFE, _FORK, cls, _LOAD) for cls in (_ST, _CE)),
        *each(
            _ST,
            ("encode", "encode_query", "encode_document", "similarity", "__call__"),
            Effect.CPU_RELEASES_GIL,
            Green.SAFE,
            hazards=_FORK,
            note=_PASS,
        ),
        *each(
            _CE, ("predict", "rank"), Effect.CPU_RELEASES_GIL, Green.SAFE, hazards=_FORK, note=_PASS
        ),
        *each(
            "sentence_transformers.util",
            ("cos_sim", "dot_score", "semantic_search", "paraphrase_mining"),
            Effect.CPU_RELEASES_GIL,
            Green.SAFE,
            note="tensor maths over the embeddings",
        ),
    ),
)
