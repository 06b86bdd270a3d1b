"""Effects of every function reachable from a task, to a fixpoint over the call graph.

A function's summary holds, per kind (an Effect, a Hazard, or the Green verdicts that
decide pools), the one piece of evidence with the shortest call chain. Keeping one per
kind bounds a summary's size whatever the project's size, and the shortest chain is the
one a reviewer wants to read. Only functions reachable from tasks are summarised.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from celery_poolkit.advisor.facts import CallSite
from celery_poolkit.advisor.project import Project
from celery_poolkit.model import Effect, Evidence, Green, Location

Summary = dict[str, Evidence]
_GREEN_KINDS = (Green.BLOCKS_HUB, Green.NEEDS_ADAPTER)


def reachable(project: Project, roots: Iterable[str]) -> set[str]:
    """The functions the tasks (``roots``) can reach through the project's calls."""
    return set(_explore(project, roots)[0])


def _explore(
    project: Project, roots: Iterable[str]
) -> tuple[dict[str, Summary], dict[str, set[str]]]:
    direct: dict[str, Summary] = {}
    edges: dict[str, set[str]] = {}
    todo = deque(dict.fromkeys(roots))
    while todo:  # discover the reachable part of the call graph
        fid = todo.popleft()
        if fid in direct or fid not in project.functions:
            continue
        own, callees = _direct(project, fid)
        direct[fid], edges[fid] = own, callees
        todo.extend(c for c in callees if c not in direct)
    return direct, edges


def summarize(project: Project, roots: Iterable[str]) -> dict[str, Summary]:
    direct, edges = _explore(project, roots)
    callers: dict[str, set[str]] = {fid: set() for fid in direct}
    for fid, callees in edges.items():
        for callee in callees:
            if callee in callers:
                callers[callee].add(fid)
    summaries = {fid: dict(own) for fid, own in direct.items()}
    work = deque(summaries)
    queued = set(work)
    while work:  # shortest chains settle like Bellman-Ford: each pass can only shorten
        callee = work.popleft()
        queued.discard(callee)
        found = summaries[callee]
        for caller in callers.get(callee, ()):
            target = summaries[caller]
            changed = False
            for kind, ev in found.items():
                if caller in ev.via:
                    continue  # a recursive chain adds nothing
                current = target.get(kind)
                chain = (caller, *ev.via)
                # Shortest chain first, then the smallest one: the same evidence whatever
                # order the work list (which follows set order, hence the hash seed) took.
                if current is None or (len(chain), chain) < (len(current.via), current.via):
                    note = union_note(project, caller, ev.note)
                    target[kind] = Evidence(kind, ev.call, ev.location, chain, note)
                    changed = True
            if changed and caller not in queued:
                work.append(caller)
                queued.add(caller)
    return summaries


def union_note(project: Project, fid: str, note: str) -> str:
    """Evidence that passed through a dispatch point says it is a union over candidates."""
    table, count = project.dispatch.get(fid, ("", 0))
    if not count:
        return note
    union = f"dynamic dispatch: the union over the {count} candidates of {table}"
    return f"{union}; {note}" if note else union


def _direct(project: Project, fid: str) -> tuple[Summary, set[str]]:
    facts, fn = project.functions[fid]
    ignored = {line for line, rules in facts.ignores if "" in rules}
    own: Summary = {}
    callees: set[str] = set()

    def add(kind: str, call: str, line: int, col: int, note: str) -> None:
        if kind not in own:
            note = union_note(project, fid, note)
            own[kind] = Evidence(kind, call, Location(facts.path, line, col), (fid,), note)

    # A library decorator with an effect runs around every call (@transaction.atomic).
    # The project's own decorators are not followed: their bodies run at import time.
    wrapped = [(CallSite(d.ref, d.line), True) for d in fn.decorators]
    for site, decorator in (*wrapped, *((c, False) for c in fn.calls)):
        if site.line in ignored:
            continue
        for target in project.targets(site):
            if target.kind == "func":
                if decorator:
                    continue
                if target.name != fid:
                    callees.add(target.name)
                continue
            row = target.call
            if row is None:
                continue
            if row.effect is not None:
                add(row.effect.value, target.name, site.line, site.col, row.note)
            if row.green in _GREEN_KINDS:
                add(row.green.value, target.name, site.line, site.col, row.note)
            for hazard in sorted(row.hazards, key=lambda h: h.value):
                add(hazard.value, target.name, site.line, site.col, row.note)
    for hint in fn.hints:
        if hint.line in ignored:
            continue
        if hint.kind == "cpu" and not _pure_loop(project, fn.calls, hint.line, hint.end):
            continue
        add(hint.kind, f"python: {hint.what}", hint.line, 0, "heuristic, not library knowledge")
    # Nested functions defined here usually run here (callbacks, retries): include them.
    callees.update(project.nested.get(fid, ()))
    return own, callees


_CPU_EFFECTS = frozenset({Effect.CPU, Effect.CPU_RELEASES_GIL, Effect.GPU})


def _pure_loop(project: Project, calls: tuple[CallSite, ...], first: int, last: int) -> bool:
    """A counted loop is CPU work only if nothing in it waits or leaves for the project.

    Retry loops (``for attempt in range(max_retries): fetch()``) and batch loops
    (``for _ in range(batches): Model.objects...delete()``) are loops over IO: any call
    in the body to project code, to an object of a project class, or to a library call
    with a non-CPU effect disqualifies the loop.
    """
    for site in calls:
        if not first <= site.line <= last:
            continue
        if site.recv_kind in ("instance", "selfattr"):
            return False
        if not site.recv_kind and project.resolve(site.target).kind != "external":
            return False
        for target in project.targets(site):
            if target.kind == "func":
                return False
            row = target.call
            if row is not None and row.effect is not None and row.effect not in _CPU_EFFECTS:
                return False
    return True
