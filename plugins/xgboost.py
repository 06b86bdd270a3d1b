"""XGBoost: C++ training and prediction over ctypes, so the GIL is released.

**Knows:** ``xgboost.train``, ``xgboost.cv``, ``DMatrix`` construction,
``Booster.predict`` / ``load_model`` / ``save_model``, and the scikit-learn wrappers
(``XGBClassifier``, ``XGBRegressor``, ``XGBRanker``: ``fit`` / ``predict`` /
``predict_proba``).

**Pools:** XGBoost calls libxgboost through ``ctypes``, which releases the GIL for the
duration of each foreign call; the C++ side runs OpenMP threads (``n_jobs`` /
``nthread``): ``CPU_RELEASES_GIL``. With ``device="cuda"`` it is GPU work with the usual
CUDA-before-fork caveat (see the ``torch`` plugin). With prefork, set ``n_jobs`` so
concurrency x threads fits the cores.

**Sources:** XGBoost docs (Python API reference; "Parameters": ``nthread``, ``device``);
Python docs (``ctypes`` releases the GIL around foreign calls).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import ctor, gil_free
from celery_poolkit.plugins.base import Plugin

_B = "xgboost.Booster"
_SK = "xgboost.XGBModel"
_CTYPES = "libxgboost via ctypes: the GIL is released, OpenMP threads do the work"

PLUGIN = Plugin(
    name="xgboost",
    modules=("xgboost",),
    distributions=("xgboost",),
    summary="Gradient boosting in C++ via ctypes: releases the GIL.",
    calls=(
        gil_free("xgboost.train", _CTYPES, returns=_B),
        gil_free("xgboost.cv", _CTYPES),
        gil_free("xgboost.DMatrix", "copies the data in C++"),
        ctor(_B, _B),
        gil_free(f"{_B}.predict", _CTYPES),
        gil_free(f"{_B}.inplace_predict", _CTYPES),
        Call(f"{_B}.load_model", Effect.FILE_IO),
        Call(f"{_B}.save_model", Effect.FILE_IO),
        *(
            ctor(f"xgboost.{name}", _SK)
            for name in ("XGBClassifier", "XGBRegressor", "XGBRanker", "XGBModel")
        ),
        *(gil_free(f"{_SK}.{name}", _CTYPES) for name in ("fit", "predict", "predict_proba")),
        Call(f"{_SK}.load_model", Effect.FILE_IO),
        Call(f"{_SK}.save_model", Effect.FILE_IO),
    ),
)
