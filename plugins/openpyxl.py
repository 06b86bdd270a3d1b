"""openpyxl (and XlsxWriter): Excel workbooks read and written in pure Python.

**Knows:** ``openpyxl.load_workbook`` (unzips and parses every sheet's XML),
``Workbook.save`` (serialises every cell), ``openpyxl.Workbook`` (cheap),
and XlsxWriter's ``Workbook.close`` (writes the file).

**Pools:** cell-by-cell Python work: large exports and imports take seconds to minutes
and hold the GIL: ``CPU``. ``read_only=True`` / ``write_only=True`` modes cut memory,
not CPU. pandas ``read_excel`` / ``to_excel`` use these libraries underneath.

**Fix:** prefork queue for spreadsheet import/export; consider CSV for very large data.

**Sources:** openpyxl docs ("Optimised Modes", "Simple usage"); XlsxWriter docs
("Workbook.close", "constant_memory").
"""

from __future__ import annotations

from celery_poolkit.plugins._rows import cpu, ctor
from celery_poolkit.plugins.base import Plugin

_WB = "openpyxl.Workbook"
_XW = "xlsxwriter.Workbook"
_PY = "cell-by-cell XML in pure Python"

PLUGIN = Plugin(
    name="openpyxl",
    modules=("openpyxl", "xlsxwriter"),
    distributions=("openpyxl", "XlsxWriter"),
    summary="Excel files in pure Python: CPU-bound.",
    calls=(
        cpu("openpyxl.load_workbook", _PY, returns=_WB),
        cpu("openpyxl.reader.excel.load_workbook", _PY, returns=_WB),
        ctor(_WB, _WB),
        cpu(f"{_WB}.save", _PY),
        ctor(_XW, _XW),
        cpu(f"{_XW}.close", "writes every sheet's XML and zips it"),
    ),
)
