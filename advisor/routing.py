"""Which queue each task lands on, in Celery's own order of precedence.

``apply_async(queue=...)`` at a call site, then the task's own ``queue`` option (Celery
merges the route *under* the task's options), then ``task_routes`` (dicts of exact names,
globs and regexes, lists of routers, string or dict values), then
``task_default_queue`` ("celery"). A router function or a queue computed at run time is
reported (PK101/PK102), never guessed.
"""

from __future__ import annotations

import enum
import fnmatch
import re
from dataclasses import dataclass

from celery_poolkit.advisor.discovery import Setting, TaskDef
from celery_poolkit.advisor.facts import Lit, Ref
from celery_poolkit.advisor.project import Project
from celery_poolkit.advisor.rules import finding
from celery_poolkit.advisor.values import (
    Callable,
    Evaluator,
    FromEnv,
    Pattern,
    QueueDecl,
    Unresolved,
)
from celery_poolkit.model import Finding, Location

_CALL_SITE_METHODS = frozenset({"apply_async", "set", "signature", "s", "si"})


@dataclass(frozen=True, slots=True)
class Routed:
    queue: str
    also: tuple[str, ...]  # call-site queues (apply_async(queue=...), .set(queue=...))


def route_all(
    project: Project,
    tasks: list[TaskDef],
    settings: dict[str, Setting],
    evaluator: Evaluator,
) -> tuple[dict[str, Routed], list[Finding]]:
    findings: list[Finding] = []
    default = _queue_name(
        evaluator, settings.get("task_default_queue"), "task_default_queue", findings
    )
    routers = _routers(evaluator, settings.get("task_routes"), findings)
    declared = _declared_queues(evaluator, settings.get("task_queues"))
    call_sites = _call_site_queues(project, evaluator, tasks, findings)
    routed: dict[str, Routed] = {}
    for task in tasks:
        queue = _own_queue(project, evaluator, task, findings)
        if queue is None:
            queue = _match_routes(routers, task.name)
        queue = queue or default or "celery"
        also = tuple(sorted(q for q in call_sites.get(task.name, set()) if q != queue))
        routed[task.name] = Routed(queue, also)
    if declared:
        used = {r.queue for r in routed.values()} | {q for r in routed.values() for q in r.also}
        setting = settings["task_queues"]
        for queue in sorted(used - declared):
            findings.append(finding("PK104", setting.location, queue=queue))
    return routed, findings


def _queue_name(
    evaluator: Evaluator,
    setting: Setting | None,
    what: str,
    findings: list[Finding],
    task: str | None = None,
) -> str | None:
    if setting is None:
        return None
    value = evaluator.eval(setting.value)
    return _queue_text(value, what, setting.location, findings, task)


def _queue_text(
    value: object,
    what: str,
    location: Location,
    findings: list[Finding],
    task: str | None = None,
) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, QueueDecl) and isinstance(value.name, str):
        return value.name
    if isinstance(value, FromEnv):
        default = value.default if isinstance(value.default, str) else None
        shown = f"its default {default!r} is assumed" if default else "no default is given"
        findings.append(
            finding(
                "PK102",
                location,
                queue=default,
                task=task,
                what=what,
                source=f"comes from environment variable {value.var}",
                then=shown,
            )
        )
        return default
    if value is None:
        return None
    text = value.text if isinstance(value, Unresolved) else repr(value)
    findings.append(
        finding(
            "PK102",
            location,
            task=task,
            what=what,
            source=f"is computed at run time ({text})",
            then="cannot tell the queue",
        )
    )
    return None


class Match(enum.Enum):
    """How a ``task_routes`` key matches a task name (Celery's MapRoute)."""

    EXACT = "exact"
    GLOB = "glob"
    REGEX = "regex"


Router = tuple[Match, object, object]  # (how the key matches, key, route)


def _routers(
    evaluator: Evaluator, setting: Setting | None, findings: list[Finding]
) -> list[Router]:
    if setting is None:
        return []
    value = evaluator.eval(setting.value)
    out: list[Router] = []
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, dict):
            out.extend(_map_route(item))
        elif isinstance(item, list) and all(isinstance(p, list) and len(p) == 2 for p in item):
            out.extend(_map_route(dict((_hashable(p[0]), p[1]) for p in item)))
        elif isinstance(item, list) and len(item) == 2 and not isinstance(item[0], list):
            out.extend(_map_route({_hashable(item[0]): item[1]}))
        else:
            shown = (
                item.name
                if isinstance(item, Callable)
                else (item.text if isinstance(item, Unresolved) else repr(item))
            )
            kind = "a router function" if isinstance(item, Callable | str) else "a dynamic value"
            findings.append(finding("PK101", setting.location, router=kind, shown=shown))
    return out


def _hashable(value: object) -> object:
    return value if isinstance(value, str | Pattern) else repr(value)


def _map_route(mapping: dict[object, object]) -> list[Router]:
    exact: list[Router] = [
        (Match.EXACT, k, v) for k, v in mapping.items() if isinstance(k, str) and not _glob(k)
    ]
    patterns: list[Router] = [
        (Match.REGEX, k.regex, v) if isinstance(k, Pattern) else (Match.GLOB, k, v)
        for k, v in mapping.items()
        if isinstance(k, Pattern) or (isinstance(k, str) and _glob(k))
    ]
    return exact + patterns  # Celery's MapRoute tries exact names before patterns


def _glob(key: str) -> bool:
    return any(ch in key for ch in "*?[")


def _match_routes(routers: list[Router], name: str) -> str | None:
    for kind, key, route in routers:
        if kind is Match.EXACT and key == name:
            hit = True
        elif kind is Match.GLOB:
            hit = fnmatch.fnmatchcase(name, str(key))
        elif kind is Match.REGEX:
            try:
                hit = re.match(str(key), name) is not None
            except re.error:
                hit = False
        else:
            hit = False
        if hit:
            queue = _route_queue(route)
            if queue:
                return queue
    return None


def _route_queue(route: object) -> str | None:
    if isinstance(route, str):
        return route
    if isinstance(route, dict):
        queue = route.get("queue")
        if isinstance(queue, QueueDecl) and isinstance(queue.name, str):
            return queue.name
        if isinstance(queue, FromEnv) and isinstance(queue.default, str):
            return queue.default
        return queue if isinstance(queue, str) else None
    return None


def _own_queue(
    project: Project,
    evaluator: Evaluator,
    task: TaskDef,
    findings: list[Finding],
) -> str | None:
    value = task.options.get("queue")
    if value is None:
        base = task.options.get("base")
        if isinstance(base, Ref):
            symbol = project.resolve(base.name)
            if symbol.kind == "class":
                for cid in project.mro(symbol.name):
                    if cid in project.classes and project.classes[cid][1].attr("queue"):
                        value = project.classes[cid][1].attr("queue")
                        break
    if value is None or (isinstance(value, Lit) and value.value is None):
        return None
    return _queue_text(
        evaluator.eval(value),
        f"the queue of task {task.name}",
        task.location,
        findings,
        task=task.name,
    )


def _declared_queues(evaluator: Evaluator, setting: Setting | None) -> set[str]:
    if setting is None:
        return set()
    value = evaluator.eval(setting.value)
    items = value if isinstance(value, list) else list(value) if isinstance(value, dict) else []
    names = set()
    for item in items:
        if isinstance(item, QueueDecl) and isinstance(item.name, str):
            names.add(item.name)
        elif isinstance(item, str):
            names.add(item)
        else:
            return set()  # a queue we cannot name: don't claim others are undeclared
    return names


def _call_site_queues(
    project: Project,
    evaluator: Evaluator,
    tasks: list[TaskDef],
    findings: list[Finding],
) -> dict[str, set[str]]:
    """``task.apply_async(queue=q)``, ``task.s().set(queue=q)``, ``send_task(name, queue=q)``."""
    by_body = {t.body: t.name for t in tasks}
    names = {t.name for t in tasks}
    found: dict[str, set[str]] = {}
    for facts in project.modules.values():
        sites = [*facts.calls, *(s for fn in facts.functions for s in fn.calls)]
        for site in sites:
            queue_value = site.kw("queue")
            if queue_value is None:
                continue
            method = site.target.rpartition(".")[2]
            task_name = None
            if method == "send_task" and site.args:
                first = evaluator.eval(site.args[0])
                task_name = first if isinstance(first, str) and first in names else None
            elif method in _CALL_SITE_METHODS:
                owner = site.recv if site.recv_kind == "result" else site.target
                if owner.rpartition(".")[2] in _CALL_SITE_METHODS:
                    owner = owner.rpartition(".")[0]
                symbol = project.resolve(owner)
                task_name = by_body.get(symbol.name) if symbol.kind == "func" else None
            if task_name is None:
                continue
            queue = _queue_text(
                evaluator.eval(queue_value),
                f"apply_async(queue=…) for {task_name}",
                Location(facts.path, site.line),
                findings,
                task=task_name,
            )
            if queue:
                found.setdefault(task_name, set()).add(queue)
    return found
