"""LightGBM: C++ training and prediction over ctypes; OpenMP is not fork-safe.

**Knows:** ``lightgbm.train``, ``lightgbm.cv``, ``Dataset``, ``Booster`` (``predict``,
``save_model``; construction from ``model_file``), and the scikit-learn wrappers
(``LGBMClassifier``, ``LGBMRegressor``, ``LGBMRanker``: ``fit`` / ``predict`` /
``predict_proba``).

**Pools:** ctypes releases the GIL around each call into lib_lightgbm, whose OpenMP
threads do the work: ``CPU_RELEASES_GIL``. The LightGBM FAQ warns that it "hangs when
multithreading (OpenMP) and using forking in Linux at the same time": if the Celery
parent trained or predicted before forking its children, they can hang.

**Fix:** only use LightGBM after fork (in tasks or ``worker_process_init``); set
``num_threads`` so prefork concurrency x threads fits the cores.

**Sources:** LightGBM docs (FAQ: "LightGBM hangs when multithreading (OpenMP) and using
forking in Linux at the same time"; Python API); Python docs (``ctypes`` and the GIL).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor, gil_free
from celery_poolkit.plugins.base import Plugin

_B = "lightgbm.Booster"
_SK = "lightgbm.LGBMModel"
_CTYPES = "lib_lightgbm via ctypes: GIL released; OpenMP is not fork-safe"

PLUGIN = Plugin(
    name="lightgbm",
    modules=("lightgbm",),
    distributions=("lightgbm",),
    summary="Gradient boosting in C++ via ctypes: releases the GIL; use after fork.",
    calls=(
        gil_free("lightgbm.train", _CTYPES, returns=_B),
        gil_free("lightgbm.cv", _CTYPES),
        Call("lightgbm.Dataset", None, Green.SAFE, note="lazy: binned when training starts"),
        Call(_B, Effect.FILE_IO, returns=_B, note="loads model_file when given one"),
        gil_free(f"{_B}.predict", _CTYPES),
        Call(f"{_B}.save_model", Effect.FILE_IO),
        *(
            ctor(f"lightgbm.{name}", _SK)
            for name in ("LGBMClassifier", "LGBMRegressor", "LGBMRanker", "LGBMModel")
        ),
        *(gil_free(f"{_SK}.{name}", _CTYPES) for name in ("fit", "predict", "predict_proba")),
    ),
)
