"""Rendering a fixed results document: markdown, reST tables and substitutions."""

from __future__ import annotations

from typing import Any

from poolbench import charts, report


def test_markdown_table_rows_and_marks(doc: dict[str, Any]) -> None:
    text = report.markdown(doc)
    assert text.startswith("# Pool benchmark: full run, 20261121T083000Z")
    assert "| configuration | -c | db_io | cpu_py |" in text
    assert "| threads | 50 | **640** (64% of 1,000) ±4% | **18.5** (46% of 40) ±3% |" in text
    assert "| gevent+poolkit | 50 | unavailable | unavailable |" in text
    assert "- db_io / gevent+poolkit: unavailable: `poolkit worker`" in text
    assert "median 4%, max 8% over 8 configurations" in text


def test_best_pool_lists_ties_and_order(doc: dict[str, Any]) -> None:
    text = report.markdown(doc)
    db_io = "- **db_io**: **eventlet** 720/s; 37.7x gevent. Order: eventlet 720 > threads 640"
    cpu_py = "- **cpu_py**: **prefork** 32.0/s; 1.9x gevent. Order: prefork 32.0 > threads 18.5"
    assert db_io in text
    assert cpu_py in text
    best = report.ranking(doc, "db_io", include_deprecated=False)
    assert best.winner.name == "threads"


def test_advisor_section_shows_failures(doc: dict[str, Any]) -> None:
    text = report.markdown(doc)
    assert "## Advisor check: 1/2 passed" in text
    assert "| cpu_py | - | - | - - | - | **FAIL** | advisor unavailable" in text


def test_disturbed_batches_are_marked(doc: dict[str, Any]) -> None:
    doc["cells"][1]["disturbed"] = True
    assert "±4% ⚠ |" in report.markdown(doc)
    assert "±4% (!)" in report.rst_tables(doc)


def test_quick_runs_say_so(doc: dict[str, Any]) -> None:
    doc["mode"] = "quick"
    assert "**quick run**" in report.markdown(doc)
    assert ".. |run_mode| replace:: quick run (development)" in report.rst_substitutions(doc)


def test_rst_substitutions_cover_every_grid_cell(doc: dict[str, Any]) -> None:
    subs = report.rst_substitutions(doc)
    assert ".. |db_io_threads| replace:: 640" in subs
    assert ".. |db_io_threads_share| replace:: 64%" in subs
    assert ".. |db_io_gevent_conns| replace:: 50" in subs
    assert ".. |db_io_gevent_poolkit| replace:: n/a" in subs
    assert ".. |sleep_solo| replace:: n/a" in subs  # not measured in this document
    assert ".. |advisor_passed| replace:: 1/2" in subs
    assert ".. |noise_max| replace:: 8%" in subs


def test_rst_tables_are_list_tables(doc: dict[str, Any]) -> None:
    text = report.rst_tables(doc)
    assert ".. list-table:: Advisor check: 1/2 passed" in text
    assert "   * - cpu_py\n     - -\n     - -\n     - - -\n     - -\n     - **FAIL**" in text
    assert "     - ``None``" in text  # the db_io wait-callback column
    assert "- cpu_py / gevent+poolkit: unavailable:" in text


def test_chart_series_have_a_value_per_workload(doc: dict[str, Any]) -> None:
    rates = charts.series(doc, "tasks_per_s")
    assert rates["threads"] == [640.0, 18.5]
    assert rates["gevent+poolkit"] == [None, None]
    assert list(rates) == ["prefork", "threads", "gevent", "gevent+poolkit", "eventlet"]
