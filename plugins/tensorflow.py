"""TensorFlow / Keras: GPU and multi-threaded CPU work; the runtime is not fork-safe.

**Knows:** ``keras.models.load_model`` (``tf.keras`` and standalone Keras 3), model
``predict`` / ``fit`` / ``evaluate`` / ``__call__``, ``tf.saved_model.load``,
``tf.config.*`` (device setup). Model work is ``GPU`` (or multi-threaded CPU kernels
that release the GIL) and ``FORK_UNSAFE``.

**Prefork:** TensorFlow starts its thread pools and, with a GPU, a CUDA context the first
time it runs an op or loads a model; a forked child inherits a broken runtime and hangs
or fails. Loading the model at module import in the Celery parent is the classic way to
hit this.

**Fix:** load models in ``worker_process_init``; or run a ``solo``/``threads`` worker
with one process per GPU. Limit ``intra_op``/``inter_op`` parallelism to share cores
between prefork children.

**Sources:** TensorFlow docs ("Use a GPU", ``tf.config.threading``); Keras 3 docs
(``keras.saving.load_model``); advisor-anchors.md (fork-unsafe libraries).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green, Hazard
from celery_poolkit.plugins.base import Plugin

_FORK = frozenset({Hazard.FORK_UNSAFE})
_MODEL = "keras.Model"
_RUNTIME = "starts the TF runtime (threads, CUDA): load after fork"


def _model_calls(prefix: str) -> tuple[Call, ...]:
    return (
        Call(
            f"{prefix}.models.load_model",
            Effect.FILE_IO,
            Green.SAFE_AFTER_PATCH,
            _FORK,
            _MODEL,
            _RUNTIME,
        ),
        Call(
            f"{prefix}.saving.load_model",
            Effect.FILE_IO,
            Green.SAFE_AFTER_PATCH,
            _FORK,
            _MODEL,
            _RUNTIME,
        ),
    )


PLUGIN = Plugin(
    name="tensorflow",
    modules=("tensorflow", "keras"),
    distributions=("tensorflow", "tensorflow-cpu", "keras"),
    summary="Deep learning: GPU work; the runtime does not survive fork.",
    calls=(
        *(
            Call(name, None, Green.SAFE, returns=_MODEL)
            for name in (
                "tensorflow.keras.Sequential",
                "tensorflow.keras.Model",
                "keras.Sequential",
                "keras.Model",
            )
        ),
        *_model_calls("tensorflow.keras"),
        *_model_calls("keras"),
        *(
            Call(
                f"{_MODEL}.{name}",
                Effect.GPU,
                Green.SAFE,
                _FORK,
                note="GPU kernels (or multi-threaded CPU kernels without the GIL)",
            )
            for name in ("predict", "fit", "evaluate", "__call__", "predict_on_batch")
        ),
        Call(
            "tensorflow.saved_model.load",
            Effect.FILE_IO,
            Green.SAFE_AFTER_PATCH,
            _FORK,
            note=_RUNTIME,
        ),
        Call("tensorflow.config.*", None, Green.SAFE, _FORK, note=_RUNTIME),
    ),
)
