"""``--format json``: the schema other tools parse (``schema: 1``); keys never change."""

from __future__ import annotations

import json as _json
from typing import Any

from celery_poolkit.model import Advice, Evidence, Location, QueueAdvice, TaskInfo

SCHEMA = 1


def render(advice: Advice, color: bool = False) -> str:
    return _json.dumps(as_dict(advice), indent=2) + "\n"


def as_dict(advice: Advice) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "root": advice.root,
        "app": advice.app,
        "files": advice.files,
        "imported_app": advice.imported_app,
        "queues": [_queue(q) for q in advice.queues],
        "tasks": [_task(t) for t in advice.tasks],
        "findings": [
            {
                "rule": f.rule,
                "severity": f.severity.value,
                "message": f.message,
                "location": _location(f.location),
                "queue": f.queue,
                "task": f.task,
            }
            for f in advice.findings
        ],
        "skipped": [{"path": s.path, "reason": s.reason} for s in advice.skipped],
    }


def _location(loc: Location | None) -> dict[str, Any] | None:
    return None if loc is None else {"path": loc.path, "line": loc.line, "col": loc.col}


def _evidence(ev: Evidence) -> dict[str, Any]:
    return {
        "effect": ev.kind,
        "call": ev.call,
        "location": _location(ev.location),
        "via": list(ev.via),
        "note": ev.note,
    }


def _queue(q: QueueAdvice) -> dict[str, Any]:
    return {
        "name": q.name,
        "pool": q.pool.value,
        "concurrency": q.concurrency,
        "processes": q.processes,
        "confidence": q.confidence.value,
        "tasks": list(q.tasks),
        "command": q.command,
        "current_pool": q.current_pool.value if q.current_pool else None,
        "reasons": list(q.reasons),
        "evidence": [_evidence(e) for e in q.evidence],
        "alternatives": [{"pool": a.pool.value, "why_not": a.why_not} for a in q.alternatives],
        "split": None
        if q.split is None
        else {
            "new_queue": q.split.new_queue,
            "pool": q.split.pool.value,
            "concurrency": q.split.concurrency,
            "tasks": list(q.split.tasks),
            "routes": {name: {"queue": queue} for name, queue in q.split.routes},
            "command": q.split.command,
        },
    }


def _task(t: TaskInfo) -> dict[str, Any]:
    return {
        "name": t.name,
        "qualname": t.qualname,
        "queue": t.queue,
        "also_queues": list(t.also_queues),
        "location": _location(t.location),
        "kind": t.kind.value,
        "effects": [e.value for e in t.effects],
        "hazards": [h.value for h in t.hazards],
        "evidence": [_evidence(e) for e in t.evidence],
        "unresolved": [_evidence(e) for e in t.unresolved],
    }
