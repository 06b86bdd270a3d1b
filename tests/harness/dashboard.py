"""The Grafana dashboard in contrib/grafana/: its JSON and its PromQL, for the tests that
check it (names against the exporter, queries on a real Prometheus)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DASHBOARD = Path(__file__).resolve().parents[2] / "contrib" / "grafana" / "celery-poolkit.json"


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def queries(board: dict[str, Any]) -> list[str]:
    """Every PromQL expression: the panels' targets and the template variables' queries."""
    found = [t["expr"] for p in board["panels"] for t in p["targets"]]
    for variable in board["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            found.append(query["query"])
    return found


def concrete(promql: str) -> str:
    """A dashboard query as Prometheus runs it once Grafana filled in its variables
    (``label_values(SERIES, LABEL)``, Grafana's own function, as the series it reads)."""
    promql = re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", promql)
    return promql.replace("$__rate_interval", "5m").replace("$job", ".*")
