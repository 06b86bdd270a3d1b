"""pandas: vectorised numeric ops release the GIL; row-wise Python and most IO do not.

**Knows:**

- Readers: ``read_csv`` (the tokenizer releases the GIL, but type inference and
  building string objects hold it: ``CPU``), ``read_excel`` (openpyxl, pure Python),
  ``read_json``, ``read_html``, ``read_pickle`` (``CPU``); ``read_parquet`` /
  ``read_feather`` (pyarrow, ``CPU_RELEASES_GIL``); ``read_sql*`` (``DB_IO``, the
  driver decides greenness).
- ``DataFrame`` / ``Series``: ``apply``, ``applymap`` / ``map``, ``iterrows``,
  ``itertuples``, ``agg``/``transform`` with a Python function (``CPU``: a Python call
  per row or element); writers ``to_csv``, ``to_excel``, ``to_json``, ``to_dict``
  (``CPU``), ``to_parquet`` (``CPU_RELEASES_GIL``), ``to_sql`` (``DB_IO``).
- ``groupby(...)`` aggregations by name (``sum``, ``mean``, ``min``, ``max``,
  ``count``, ``median``, ``std``, ``var``, ``size``) run Cython loops under ``nogil``
  for numeric columns: ``CPU_RELEASES_GIL``; ``groupby().apply`` is ``CPU``.

**Pools:** a task dominated by ``apply``/``iterrows`` only scales across processes
(prefork); the GIL-free parts also scale on threads.

**Sources:** pandas docs ("Enhancing performance": apply is a Python loop;
"Scaling to large datasets"); pandas source (``_libs/parsers.pyx`` tokenizer under
``nogil``, ``_libs/groupby.pyx`` ``with nogil``); pool-benchmark.md.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import cpu, ctor, gil_free
from celery_poolkit.plugins.base import Plugin

_DF = "pandas.DataFrame"
_S = "pandas.Series"
_GB = "pandas.core.groupby.DataFrameGroupBy"
_ROWS = "a Python call per row or element: holds the GIL"
_SQL = "the DBAPI driver decides greenness (psycopg2 needs poolkit's adapter)"

PLUGIN = Plugin(
    name="pandas",
    modules=("pandas",),
    distributions=("pandas",),
    summary="DataFrames: numeric kernels release the GIL; apply/iterrows and IO hold it.",
    calls=(
        ctor(_DF, _DF),
        ctor(_S, _S),
        *(
            cpu(f"pandas.{name}", note, returns=_DF)
            for name, note in (
                ("read_csv", "tokenizer is GIL-free, object conversion is not"),
                ("read_excel", "openpyxl/xlrd: pure Python"),
                ("read_json", "JSON parsing builds Python objects"),
                ("read_html", "lxml/bs4 parsing; fetches when given a URL"),
                ("read_pickle", "unpickling holds the GIL"),
            )
        ),
        gil_free("pandas.read_parquet", "pyarrow releases the GIL", returns=_DF),
        gil_free("pandas.read_feather", "pyarrow releases the GIL", returns=_DF),
        *(
            Call(f"pandas.{name}", Effect.DB_IO, Green.NEEDS_ADAPTER, returns=_DF, note=_SQL)
            for name in ("read_sql", "read_sql_query", "read_sql_table")
        ),
        *(
            cpu(f"{owner}.{name}", _ROWS)
            for owner in (_DF, _S)
            for name in ("apply", "map", "agg", "aggregate", "transform")
        ),
        *(cpu(f"{_DF}.{name}", _ROWS) for name in ("applymap", "iterrows", "itertuples")),
        *(
            cpu(f"{_DF}.{name}", "serialises in Python")
            for name in ("to_csv", "to_excel", "to_json", "to_dict")
        ),
        gil_free(f"{_DF}.to_parquet", "pyarrow releases the GIL"),
        Call(f"{_DF}.to_sql", Effect.DB_IO, Green.NEEDS_ADAPTER, note=_SQL),
        ctor(f"{_DF}.groupby", _GB),
        *(
            gil_free(f"{_GB}.{name}", "Cython groupby kernels run nogil for numeric columns")
            for name in ("sum", "mean", "min", "max", "count", "median", "std", "var", "size")
        ),
        *(cpu(f"{_GB}.{name}", _ROWS) for name in ("apply", "transform", "agg", "aggregate")),
    ),
)
