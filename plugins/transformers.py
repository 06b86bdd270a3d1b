"""Hugging Face transformers: model downloads, heavy inference, fork-sensitive tokenizers.

**Knows:** ``pipeline(...)`` and ``Auto*.from_pretrained`` (download from the Hub on first
use, then load from the local cache; with ``device``/``device_map`` on a GPU they start
CUDA; a task that loads a model runs it, so the load is CPU work in the task,
``CPU_RELEASES_GIL``, even where the inference hides behind a callback),
``Pipeline.__call__`` and ``PreTrainedModel.generate`` (inference: ``GPU``, or
multi-threaded CPU kernels that release the GIL), fast tokenizers' ``__call__`` /
``encode`` / ``batch_encode_plus`` (Rust, GIL released, own thread pool).

**Prefork:** models loaded before fork carry torch's CUDA/OpenMP state into the children
(``FORK_UNSAFE``, see the ``torch`` plugin). Fast tokenizers that already used their
thread pool warn after fork ("The current process just got forked, after parallelism
has already been used. Disabling parallelism to avoid deadlocks") and go single-threaded.

**Fix:** load pipelines and models in ``worker_process_init``; set
``TOKENIZERS_PARALLELISM=false`` for prefork workers; pre-download models at build time
(``HF_HUB_OFFLINE=1`` in workers) so no task waits on a download.

**Sources:** transformers docs ("Pipelines", "Auto classes", "Installation": offline
mode and cache); huggingface/tokenizers (fork warning, ``TOKENIZERS_PARALLELISM``).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green, Hazard
from celery_poolkit.plugins._rows import gil_free
from celery_poolkit.plugins.base import Plugin

_FORK = frozenset({Hazard.FORK_UNSAFE})
_PIPE = "transformers.Pipeline"
_MODEL = "transformers.PreTrainedModel"
_TOK = "transformers.PreTrainedTokenizerBase"
_LOAD = (
    "loads a local model to run it in this process (weights deserialised, then inference);"
    " downloads on first use; may start CUDA"
)
_AUTO = (
    "AutoModel",
    "AutoModelForCausalLM",
    "AutoModelForSequenceClassification",
    "AutoModelForSeq2SeqLM",
    "AutoModelForTokenClassification",
)

PLUGIN = Plugin(
    name="transformers",
    modules=("transformers",),
    distributions=("transformers", "tokenizers"),
    summary="Model loading and inference: GPU/CPU heavy; load after fork.",
    calls=(
        Call(
            "transformers.pipeline",
            Effect.CPU_RELEASES_GIL,
            Green.SAFE,
            _FORK,
            _PIPE,
            _LOAD,
        ),
        Call(f"{_PIPE}.__call__", Effect.GPU, Green.SAFE, _FORK, note="model inference"),
        *(
            Call(
                f"transformers.{name}.from_pretrained",
                Effect.CPU_RELEASES_GIL,
                Green.SAFE,
                _FORK,
                _MODEL,
                _LOAD,
            )
            for name in _AUTO
        ),
        Call(f"{_MODEL}.generate", Effect.GPU, Green.SAFE, _FORK, note="autoregressive decoding"),
        Call(f"{_MODEL}.__call__", Effect.GPU, Green.SAFE, _FORK, note="forward pass"),
        Call(f"{_MODEL}.to", Effect.GPU, Green.SAFE, _FORK, note="moves weights to a device"),
        Call(
            "transformers.AutoTokenizer.from_pretrained",
            Effect.FILE_IO,
            returns=_TOK,
            note="downloads from the Hub on first use, then loads from the cache",
        ),
        *(
            gil_free(f"{_TOK}.{name}", "Rust fast tokenizer: GIL released, own thread pool")
            for name in ("__call__", "encode", "batch_encode_plus", "decode", "batch_decode")
        ),
    ),
)
