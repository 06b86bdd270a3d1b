"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning (``upload-sarif``)."""

from __future__ import annotations

import json
from typing import Any

from celery_poolkit.advisor.rules import RULES
from celery_poolkit.model import Advice, Severity

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_SITE = "https://celery-poolkit.readthedocs.io/en/latest/"
_DOCS = _SITE + "rules.html#"


def render(advice: Advice, color: bool = False) -> str:
    rules = [
        {
            "id": r.id,
            "name": r.name,
            "shortDescription": {"text": r.summary},
            "helpUri": _DOCS + r.id.lower(),
            "defaultConfiguration": {"level": _LEVEL[r.severity]},
        }
        for r in RULES.values()
    ]
    results: list[dict[str, Any]] = []
    for f in advice.findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": _LEVEL[f.severity],
            "message": {"text": f.message},
        }
        if f.location is not None:
            result["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.location.path, "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": max(1, f.location.line),
                            "startColumn": f.location.col + 1,
                        },
                    }
                }
            ]
        results.append(result)
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "poolkit advise",
                        "informationUri": _SITE,
                        "rules": rules,
                    }
                },
                "results": results,
                "originalUriBaseIds": {
                    "%SRCROOT%": {"uri": "file://" + advice.root.rstrip("/") + "/"}
                },
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"
