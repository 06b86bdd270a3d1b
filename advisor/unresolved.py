"""Where the advisor lost the thread, for the tasks in which it found nothing.

A task with no effect is either one that does nothing worth a pool, or one whose calls
the advisor could not follow: a method on a value the task was given
(``sink.write(payload)``), a call into a library no table describes. The second kind
must not pass for the first. For each task with no effect, this names up to a few such
calls (file:line), which the decision quotes when it declines to be confident.
"""

from __future__ import annotations

from dataclasses import replace

from celery_poolkit.advisor import effects
from celery_poolkit.advisor.project import Project
from celery_poolkit.model import Evidence, Location, TaskInfo, TaskKind

#: Calls listed per task: enough to point a reviewer at the code, not a dump.
MAX_PER_TASK = 3
#: Evidence kind of an unfollowed call.
KIND = "unresolved"


def annotate(task: TaskInfo, project: Project) -> TaskInfo:
    """``task`` with its ``unresolved`` calls named when it shows no effect."""
    if task.kind is not TaskKind.UNKNOWN:
        return task
    found: list[Evidence] = []
    for fid in sorted(effects.reachable(project, [task.qualname])):
        facts, fn = project.functions[fid]
        for site in fn.param_calls:
            what = site.recv.partition(":")[0]
            call = f"{what}.{site.target}" if site.target else f"{what}()"
            note = f"a call on {what!r}, a value passed in: its class is not known here"
            found.append(
                Evidence(KIND, call, Location(facts.path, site.line, site.col), (fid,), note)
            )
        for site in fn.calls:
            for target in project.targets(site):
                if target.kind == "lib" and target.call is None and _third_party(target.name):
                    note = "a library call no table describes"
                    where = Location(facts.path, site.line, site.col)
                    found.append(Evidence(KIND, target.name, where, (fid,), note))
        if len(found) >= MAX_PER_TASK:
            break
    if not found:
        return task
    found.sort(key=lambda e: (len(e.via), e.location.path, e.location.line))
    return replace(task, unresolved=tuple(found[:MAX_PER_TASK]))


def _third_party(name: str) -> bool:
    import sys

    top = name.partition(".")[0]
    return bool(top) and top not in sys.stdlib_module_names and top not in ("builtins", "celery")
