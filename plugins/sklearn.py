"""scikit-learn: estimators fit and predict in Cython/BLAS, text vectorisers in Python.

**Knows:** the common estimators (forests, gradient boosting, linear models, SVMs,
k-means, nearest neighbours, PCA, scalers, pipelines), whose ``fit`` / ``predict`` /
``predict_proba`` / ``transform`` / ``fit_transform`` / ``score`` do their heavy work in
Cython under ``nogil``, OpenMP or BLAS: ``CPU_RELEASES_GIL``. The text vectorisers
(``CountVectorizer``, ``TfidfVectorizer``, ``HashingVectorizer``) tokenise in pure
Python: ``CPU``. ``GridSearchCV``, ``RandomizedSearchCV``, ``cross_val_score`` and
``cross_validate`` fan out with joblib: with ``n_jobs != 1`` the default loky backend
starts worker processes (``SPAWNS_PROCESSES``); inside a prefork child (daemonic) joblib
falls back to one job with a warning.

**Pools:** prefork for training; threads can serve prediction. Limit OpenMP threads
(``OMP_NUM_THREADS``, ``threadpoolctl``) so prefork concurrency x OpenMP threads fits the
cores. Load models in ``worker_process_init`` (see the ``joblib`` plugin).

**Sources:** scikit-learn docs ("Parallelism, resource management, and configuration":
OpenMP, joblib/loky, ``n_jobs``; "Text feature extraction"); joblib docs
("Parallel": loky in daemonic processes).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green, Hazard
from celery_poolkit.plugins._rows import cpu, ctor, gil_free
from celery_poolkit.plugins.base import Plugin

_EST = "sklearn.base.BaseEstimator"
_TEXT = "sklearn.feature_extraction.text.CountVectorizer"
_METHODS = ("fit", "predict", "predict_proba", "transform", "fit_transform", "score")
_ESTIMATORS = (
    "ensemble.RandomForestClassifier",
    "ensemble.RandomForestRegressor",
    "ensemble.ExtraTreesClassifier",
    "ensemble.GradientBoostingClassifier",
    "ensemble.GradientBoostingRegressor",
    "ensemble.HistGradientBoostingClassifier",
    "ensemble.HistGradientBoostingRegressor",
    "ensemble.IsolationForest",
    "linear_model.LogisticRegression",
    "linear_model.LinearRegression",
    "linear_model.Ridge",
    "linear_model.Lasso",
    "linear_model.SGDClassifier",
    "svm.SVC",
    "svm.SVR",
    "svm.LinearSVC",
    "cluster.KMeans",
    "cluster.MiniBatchKMeans",
    "cluster.DBSCAN",
    "neighbors.KNeighborsClassifier",
    "neighbors.NearestNeighbors",
    "decomposition.PCA",
    "decomposition.TruncatedSVD",
    "preprocessing.StandardScaler",
    "pipeline.Pipeline",
    "pipeline.make_pipeline",
)
_NOGIL = "Cython under nogil, OpenMP or BLAS"
_FANOUT = frozenset({Hazard.SPAWNS_PROCESSES})

PLUGIN = Plugin(
    name="sklearn",
    modules=("sklearn",),
    distributions=("scikit-learn",),
    summary="Machine learning: estimators mostly release the GIL; text vectorisers do not.",
    calls=(
        *(ctor(f"sklearn.{name}", _EST) for name in _ESTIMATORS),
        *(gil_free(f"{_EST}.{name}", _NOGIL) for name in _METHODS),
        *(
            ctor(f"sklearn.feature_extraction.text.{name}", _TEXT)
            for name in ("CountVectorizer", "TfidfVectorizer", "HashingVectorizer")
        ),
        *(cpu(f"{_TEXT}.{name}", "tokenises in pure Python") for name in _METHODS),
        *(
            Call(
                f"sklearn.model_selection.{name}",
                Effect.CPU_RELEASES_GIL,
                Green.SAFE,
                _FANOUT,
                returns=_EST if name.endswith("CV") else "",
                note="n_jobs != 1 starts loky worker processes",
            )
            for name in (
                "GridSearchCV",
                "RandomizedSearchCV",
                "cross_val_score",
                "cross_validate",
            )
        ),
    ),
)
