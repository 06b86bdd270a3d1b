"""petl: lazy ETL tables in pure Python; IO and work happen when a table is consumed.

**Knows:** sources (``fromcsv``, ``fromjson``, ``fromxlsx``, ``fromtext`` … file IO;
``fromdb`` database IO), sinks (``tocsv``, ``appendcsv``, ``tojson``, ``toxlsx``,
``appendxlsx`` …, also as ``petl.io.<format>.<sink>``: they pull every row through the
pipeline and serialise it, CPU, then write the file; ``todb`` / ``appenddb`` database
IO) and transforms (``convert``, ``select``, ``join``, ``sort``, ``aggregate`` …:
lazy, no work until a sink or ``look`` / ``nrows`` / ``dicts`` / ``records`` pulls
rows, then pure-Python CPU row by row).

**Pools:** a petl pipeline is pure Python over rows: consuming it holds the GIL (CPU)
between its reads and writes; ``sort`` on a big table spills to temporary files.

**Fix:** a prefork queue for heavy pipelines; keep the database work of ``todb`` in
bounded batches.

**Sources:** petl docs ("Introduction": lazy evaluation; "Extract", "Load",
"Transform" reference); ``petl/io/db.py``.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import cpu, each
from celery_poolkit.plugins.base import Plugin

_TABLE = "petl.util.base.Table"
_SOURCES = (
    "fromcsv",
    "fromtsv",
    "fromjson",
    "fromdicts",
    "fromxlsx",
    "fromxls",
    "fromtext",
    "fromxml",
    "frompickle",
)
_SINKS = (
    "tocsv",
    "totsv",
    "tojson",
    "tojsonarrays",
    "toxlsx",
    "toxls",
    "totext",
    "topickle",
    "appendcsv",
    "appendtsv",
    "appendxlsx",
)
#: Where the sinks live below ``petl.io`` (``etl.io.xlsx.appendxlsx``).
_IO_MODULES = {
    "csv": ("tocsv", "totsv", "appendcsv", "appendtsv"),
    "json": ("tojson", "tojsonarrays"),
    "xlsx": ("toxlsx", "appendxlsx"),
    "xls": ("toxls",),
    "text": ("totext",),
    "pickle": ("topickle",),
}
_SERIALISE = "consumes the pipeline: every row through pure Python, serialised, then written"
_CONSUME = (
    "look",
    "nrows",
    "dicts",
    "records",
    "values",
    "lookup",
    "todataframe",
    "tupleoftuples",
    "listoflists",
)

PLUGIN = Plugin(
    name="petl",
    modules=("petl",),
    distributions=("petl",),
    summary="petl: lazy pure-Python ETL; file/database IO at the ends, CPU in between.",
    calls=(
        *each("petl", _SOURCES, None, Green.SAFE, returns=_TABLE, note="lazy: reads when consumed"),
        Call("petl.fromdb", None, Green.SAFE, returns=_TABLE, note="lazy: queries when consumed"),
        *(cpu(f"{owner}.{name}", _SERIALISE) for owner in ("petl", _TABLE) for name in _SINKS),
        *(
            cpu(f"petl.io.{module}.{name}", _SERIALISE)
            for module, names in _IO_MODULES.items()
            for name in names
        ),
        *each(
            "petl",
            ("todb", "appenddb"),
            Effect.DB_IO,
            Green.NEEDS_ADAPTER,
            note="row by row through the DB-API connection",
        ),
        *each(
            _TABLE,
            ("todb", "appenddb"),
            Effect.DB_IO,
            Green.NEEDS_ADAPTER,
            note="row by row through the DB-API connection",
        ),
        *(
            cpu(f"petl.{name}", "pulls every row through pure-Python transforms")
            for name in _CONSUME
        ),
        *(
            cpu(f"{_TABLE}.{name}", "pulls every row through pure-Python transforms")
            for name in _CONSUME
        ),
        Call(f"{_TABLE}.*", None, Green.SAFE, returns=_TABLE, note="a lazy transform: no work yet"),
        Call("petl.*", None, Green.SAFE, returns=_TABLE, note="a lazy transform: no work yet"),
    ),
)
