"""Where the advisor lost the thread: calls a task reaches that could not be followed.

A task with no effect is either one that does nothing worth a pool, or one whose calls
the advisor could not follow: a method on a value the task was given
(``sink.write(payload)``), a call into a library no table describes. The second kind
must not pass for the first. For each task with no effect, this names up to a few such
calls (file:line), which the decision quotes when it declines to be confident.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from celery_poolkit.advisor import effects
from celery_poolkit.advisor.facts import CallSite
from celery_poolkit.advisor.project import Project
from celery_poolkit.model import Evidence, Location, TaskInfo, TaskKind

#: Calls listed per task: enough to point a reviewer at the code, not a dump.
MAX_PER_TASK = 3
#: Evidence kind of an unfollowed call.
KIND = "unresolved"


def annotate(task: TaskInfo, project: Project) -> TaskInfo:
    """``task`` with the calls it reaches that could not be followed named.

    Every task: methods called on a project object whose class (and the bases the
    advisor knows) does not define them, since a proxy or ``__getattr__`` decides at run
    time what runs (these keep a queue's confidence below ``high``, confidence.py). A
    task with no effect also: calls on values passed in, and library calls no table
    describes, so "nothing found" is not read as "idle".
    """
    idle = task.kind is TaskKind.UNKNOWN
    found: list[Evidence] = []
    for fid in sorted(effects.reachable(project, [task.qualname])):
        facts, fn = project.functions[fid]
        if idle:
            found += _param_calls(facts.path, fid, fn.param_calls)
        for site in fn.calls:
            missing = _missing_method(project, site)
            if missing:
                note = (
                    f"{missing} does not define {site.target.rpartition('.')[2]!r}: a proxy "
                    "or __getattr__ decides at run time what runs"
                )
                where = Location(facts.path, site.line, site.col)
                found.append(Evidence(KIND, f"{missing}.{site.target.rpartition('.')[2]}",
                                      where, (fid,), note))  # fmt: skip
                continue
            if not idle:
                continue
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


def _param_calls(path: str, fid: str, sites: tuple[CallSite, ...]) -> list[Evidence]:
    out = []
    for site in sites:
        what = site.recv.partition(":")[0]
        call = f"{what}.{site.target}" if site.target else f"{what}()"
        note = f"a call on {what!r}, a value passed in: its class is not known here"
        out.append(Evidence(KIND, call, Location(path, site.line, site.col), (fid,), note))
    return out


def _missing_method(project: Project, site: CallSite) -> str:
    """The project class of the receiver when the call reaches nothing: the class and
    the bases the advisor knows do not define the method."""
    if any(True for _ in project.targets(site)):
        return ""
    if site.recv_kind and "." in site.target:
        # ``self.task.redis_client.keys()``: the method belongs to the last attribute's
        # class, unknown here, not to the receiver's (which was named as lacking it).
        return ""
    cls = ""
    if not site.recv_kind:
        symbol = project.resolve(site.target)
        cls = symbol.name if symbol.kind == "instance" else ""
    elif site.recv_kind == "instance":
        cls = site.recv
    elif site.recv_kind == "result":
        made = project.type_of_result(site.recv)
        cls = made[1] if made is not None and made[0] == "class" else ""
    return cls if cls in project.classes else ""


def _third_party(name: str) -> bool:
    top = name.partition(".")[0]
    return (
        bool(top)
        and "." in name  # a bare name is a builtin (isinstance, ValueError)
        and top not in sys.stdlib_module_names
        and top not in ("builtins", "celery")
    )
