"""Effects of every function reachable from a task, to a fixpoint over the call graph.

A function's summary holds, per kind (an Effect, a Hazard, or the Green verdicts that
decide pools), the one piece of evidence with the shortest call chain. Keeping one per
kind bounds a summary's size whatever the project's size, and the shortest chain is the
one a reviewer wants to read. Only functions reachable from tasks are summarised.
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace

from celery_poolkit.advisor import conventions, knowledge
from celery_poolkit.advisor.facts import CallSite
from celery_poolkit.advisor.project import Project
from celery_poolkit.model import Call, Effect, Evidence, Green, Location

Summary = dict[str, Evidence]
_GREEN_KINDS = (Green.BLOCKS_HUB, Green.NEEDS_ADAPTER)


def reachable(project: Project, roots: Iterable[str]) -> set[str]:
    """The functions the tasks (``roots``) can reach through the project's calls."""
    return set(_explore(project, roots)[0])


class _Walked:
    """Each function's own evidence and callees, found once per project.

    The engine asks for the reachable functions after each parse round, then for the
    summaries of the tasks, then (unresolved.py) for what each task reaches on its own:
    the same functions, on the same project. A function's own part depends only on the
    project, which never changes (a new round makes a new one), so it is kept here for as
    long as the project lives, and only the walks over the call graph are made again.
    """

    def __init__(self, project: Project) -> None:
        self.methods = MethodIndex(project)
        self.direct: dict[str, tuple[Summary, set[str]]] = {}


_walked: weakref.WeakKeyDictionary[Project, _Walked] = weakref.WeakKeyDictionary()


def _explore(
    project: Project, roots: Iterable[str]
) -> tuple[dict[str, Summary], dict[str, set[str]]]:
    walked = _walked.get(project)
    if walked is None:
        walked = _walked[project] = _Walked(project)
    direct: dict[str, Summary] = {}
    edges: dict[str, set[str]] = {}
    todo = deque(dict.fromkeys(roots))
    while todo:  # discover the reachable part of the call graph
        fid = todo.popleft()
        if fid in direct or fid not in project.functions:
            continue
        found = walked.direct.get(fid)
        if found is None:
            found = walked.direct[fid] = _direct(project, fid, walked.methods)
        direct[fid], edges[fid] = found
        todo.extend(c for c in found[1] if c not in direct)
    return direct, edges


def summarize(project: Project, roots: Iterable[str]) -> Summaries:
    direct, edges = _explore(project, roots)
    callers: dict[str, set[str]] = {fid: set() for fid in direct}
    for fid, callees in edges.items():
        for callee in callees:
            if callee in callers:
                callers[callee].add(fid)
    # One witness per (function, kind): the chain's length and the next function on it
    # ("" where the evidence is the function's own). Chains are rebuilt on demand from
    # these pointers, so a 40,000-deep call chain costs memory linear in its depth.
    best: dict[str, dict[str, tuple[int, str]]] = {
        fid: dict.fromkeys(own, (1, "")) for fid, own in direct.items()
    }
    work = deque(best)
    queued = set(work)
    while work:  # shortest chains settle like Bellman-Ford: each pass can only shorten
        callee = work.popleft()
        queued.discard(callee)
        found = best[callee]
        for caller in callers.get(callee, ()):
            target = best[caller]
            changed = False
            for kind, (length, _) in found.items():
                # Shortest chain first, then the smallest next step: the same evidence
                # whatever order the work list (which follows set order) took. A chain
                # through the caller itself is longer than the caller's own: never taken.
                offer = (length + 1, callee)
                current = target.get(kind)
                if current is None or offer < current:
                    target[kind] = offer
                    changed = True
            if changed and caller not in queued:
                work.append(caller)
                queued.add(caller)
    return Summaries(project, direct, best)


class Summaries(Mapping[str, Summary]):
    """Each reached function's summary, its evidence chains rebuilt when asked for."""

    def __init__(
        self,
        project: Project,
        direct: dict[str, Summary],
        best: dict[str, dict[str, tuple[int, str]]],
    ) -> None:
        self._project = project
        self._direct = direct
        self._best = best
        self._made: dict[str, Summary] = {}

    def __getitem__(self, fid: str) -> Summary:
        if fid not in self._made:
            self._made[fid] = {kind: self._witness(fid, kind) for kind in self._best[fid]}
        return self._made[fid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._best)

    def __len__(self) -> int:
        return len(self._best)

    def _witness(self, fid: str, kind: str) -> Evidence:
        chain = [fid]
        step = self._best[fid][kind][1]
        while step:
            chain.append(step)
            step = self._best[step][kind][1]
        leaf = self._direct[chain[-1]][kind]
        note = leaf.note
        for caller in reversed(chain[:-1]):
            note = union_note(self._project, caller, note)
        return Evidence(kind, leaf.call, leaf.location, (*chain[:-1], *leaf.via), note)


def union_note(project: Project, fid: str, note: str) -> str:
    """Evidence that passed through a dispatch point says it is a union over candidates."""
    table, count = project.dispatch.get(fid, ("", 0))
    if not count:
        return note
    union = f"dynamic dispatch: one of {count} candidates ({table}), the union of their effects"
    return f"{union}; {note}" if note else union


def _direct(project: Project, fid: str, methods: MethodIndex) -> tuple[Summary, set[str]]:
    own = _Own(project, fid)
    facts, fn = own.facts, own.fn
    ignored = {line for line, rules in facts.ignores if "" in rules}
    # A library decorator with an effect runs around every call (@transaction.atomic).
    # The project's own decorators are not followed: their bodies run at import time.
    wrapped = [(CallSite(d.ref, d.line), True) for d in fn.decorators]
    for site, decorator in (*wrapped, *((c, False) for c in fn.calls)):
        if site.line not in ignored:
            own.site(site, decorator, methods)
    for site in fn.calls:
        if site.passed and site.line not in ignored:
            _passed_effects(project, fid, site, own.evidence, own.callees)
    for site in fn.param_calls:  # a session-like chain on a value passed in
        if site.line not in ignored and site.recv_kind == "param":
            _by_name(site.target, site, own.add)
            # parser.parse_file(path) on a parameter: the one hierarchy defining it.
            own.callees.update(methods.candidates(site.target))
    own.hints(ignored)
    # Nested functions defined here usually run here (callbacks, retries): include them.
    own.callees.update(project.nested.get(fid, ()))
    return own.evidence, own.callees


class _Own:
    """One function's own evidence (one per kind) and the project functions it calls."""

    def __init__(self, project: Project, fid: str) -> None:
        self.project = project
        self.fid = fid
        self.facts, self.fn = project.functions[fid]
        self.evidence: Summary = {}
        self.callees: set[str] = set()

    def add(self, kind: str, call: str, line: int, col: int, note: str) -> None:
        if kind not in self.evidence:
            note = union_note(self.project, self.fid, note)
            where = Location(self.facts.path, line, col)
            self.evidence[kind] = Evidence(kind, call, where, (self.fid,), note)

    def site(self, site: CallSite, decorator: bool, methods: MethodIndex) -> None:
        reached = False
        for target in self.project.targets(site):
            reached = True
            if target.kind != "func":
                self._library(site, target.name, target.call)
            elif not decorator and target.name != self.fid:
                self.callees.add(target.name)
        if reached:
            return
        if chain := _unknown_chain(self.project, site):
            _by_name(chain, site, self.add)
            for target in self.project.held_library(chain):
                self._library(site, target.name, target.call)
        if site.recv_kind == "result" and site.target:
            self.callees.update(methods.candidates(site.target))

    def _library(self, site: CallSite, name: str, row: Call | None) -> None:
        if name == conventions.CALL_COMMAND:  # follow the command to its handle()
            handlers = conventions.command_handlers(self.project.functions, site)
            self.callees.update(handlers)
            row = None if handlers else conventions.other_app_command(site)
        if row is None:
            return
        # Per-item CPU work (one template, one key) counts only where it repeats.
        if row.effect is not None and (
            not knowledge.per_item(row, name) or self.fn.repeats(site.line, site.col)
        ):
            self.add(row.effect.value, name, site.line, site.col, row.note)
        if row.green in _GREEN_KINDS:
            self.add(row.green.value, name, site.line, site.col, row.note)
        for hazard in sorted(row.hazards, key=lambda h: h.value):
            self.add(hazard.value, name, site.line, site.col, row.note)

    def hints(self, ignored: set[int]) -> None:
        for hint in self.fn.hints:
            if hint.line in ignored:
                continue
            if hint.kind == "cpu" and not _pure_loop(
                self.project, self.fn.calls, hint.line, hint.end
            ):
                continue
            note = "heuristic, not library knowledge"
            self.add(hint.kind, f"python: {hint.what}", hint.line, 0, note)


#: Project method names too generic to say which class a value is: containers' and
#: files' methods, and the ORM's, which every model defines again.
_GENERIC_METHODS = frozenset(
    {"get", "set", "update", "pop", "append", "add", "remove", "clear", "copy", "items"}
    | {"keys", "values", "read", "write", "close", "open", "save", "delete", "run", "send"}
    | {"start", "stop", "call", "execute", "process", "handle", "format", "load", "dump"}
)


class MethodIndex:
    """The project methods a call ``x.method()`` on a value of unknown class may reach.

    ``activity = parse(data); activity.action()``: when ``action`` is defined only in one
    class and its subclasses (every definer has the first in its MRO), the value can only
    be an instance of that hierarchy, and the call reaches the union of its definitions,
    as a call on the base class would. A name defined by unrelated classes, a generic
    name, a private or dunder one, or one a library table also names, reaches nothing:
    a guess there would tie unrelated code together. Built on first use, once per project.
    """

    def __init__(self, project: Project) -> None:
        self.project = project

    def candidates(self, method: str) -> tuple[str, ...]:
        if method.startswith("_") or "." in method or method in _GENERIC_METHODS:
            return ()
        definers = self._definers(method)
        if not definers:
            return ()
        root = definers[0]
        if any(root not in self.project.mro(cid) for cid in definers[1:]):
            return ()
        found = (f"{cid}.{method}" for cid in definers)
        return tuple(f for f in found if f in self.project.functions)

    def _definers(self, method: str) -> tuple[str, ...]:
        """The classes defining ``method``, bases before subclasses. Ordered when first
        asked for: ordering needs every definer's MRO, and most names never are. Both are
        kept on the project, for every walk over it."""
        project = self.project
        ordered = project.method_order
        if method not in ordered:
            if project.method_index is None:
                project.method_index = _method_index(project)
            cids = project.method_index.get(method, [])
            ordered[method] = tuple(sorted(cids, key=lambda c: (len(project.mro(c)), c)))
        return ordered[method]


def _method_index(project: Project) -> dict[str, list[str]]:
    """Method name -> the project classes defining it; names a library table also has as
    a last part are left out (``client.get_object``)."""
    library = {row.qualname.rpartition(".")[2] for row in project.knowledge.exact.values()}
    index: dict[str, list[str]] = {}
    for cid, (_, cls) in project.classes.items():
        for name in cls.methods:
            if name not in library:
                index.setdefault(name, []).append(cid)
    return index


def _unknown_chain(project: Project, site: CallSite) -> str:
    """The attribute chain of a call no target was found for, when it hangs below a value
    (``self.db.query``, ``celery.request.db.query`` on a library object whose table does
    not know ``request``), not a module's name (``flask.session.get`` is no session)."""
    if site.recv_kind == "selfattr":
        return f"{site.recv.rpartition('#')[2]}.{site.target}"
    if site.recv_kind in ("result", "instance"):
        return site.target
    if not site.recv_kind and project.resolve(site.target).kind == "instance":
        return site.target
    return ""


def _by_name(chain: str, site: CallSite, add: Callable[[str, str, int, int, str], None]) -> None:
    row = conventions.by_name(chain)
    if row is not None and row.effect is not None:
        add(row.effect.value, row.qualname, site.line, site.col, row.note)


def _passed_effects(
    project: Project, fid: str, site: CallSite, own: Summary, callees: set[str]
) -> None:
    """What a project callee does with the functions and classes ``site`` passes it.

    ``process(queryset_func=get_logs, model=Log)`` where ``process`` calls
    ``queryset_func()`` and ``model.objects.filter(...).delete()``: the task calls
    ``get_logs`` and queries ``Log``. Only calls the callee makes on the parameter itself
    count, so a function that is stored or handed on adds nothing; a parameter bound to
    an unknown value stays unknown. A queryset passed as an argument needs none of this:
    building it (``Log.objects.filter(...)``) is already the caller's db_io, because a
    queryset built in a task is evaluated there.
    """
    for target in project.targets(site):
        if target.kind != "func" or target.name not in project.functions:
            continue
        facts, callee = project.functions[target.name]
        bound = _bound_parameters(site, callee.params) if callee.param_calls else {}
        for use in callee.param_calls:
            param, _, chain = use.recv.partition(":")
            passed = bound.get(param)
            made = _passed_call(use, passed, chain) if passed else None
            if made is None or passed is None:
                continue
            shown = passed.partition(":")[2] if ":" in passed else passed
            note = f"{shown} passed to {target.name}"
            where = Location(facts.path, use.line, use.col)
            for reached in project.targets(made):
                if reached.kind == "func":
                    if reached.name != fid:
                        callees.add(reached.name)
                elif reached.call is not None:
                    for kind, evidence in _row_evidence(reached.name, reached.call, where, note):
                        own.setdefault(kind, replace(evidence, via=(fid, target.name)))


def _bound_parameters(site: CallSite, params: tuple[str, ...]) -> dict[str, str]:
    """Parameter name -> what ``site`` passes it (by position or keyword)."""
    bound: dict[str, str] = {}
    for slot, name in site.passed:
        if slot.isdigit():
            if int(slot) < len(params):
                bound[params[int(slot)]] = name
        elif slot in params:
            bound[slot] = name
    return bound


def _row_evidence(
    name: str, row: Call, where: Location, note: str
) -> Iterator[tuple[str, Evidence]]:
    """One piece of evidence per kind a library row shows: its effect, its green verdict
    when that decides pools, its hazards; ``note`` first, then the row's own."""
    kinds = [row.effect.value] if row.effect is not None else []
    if row.green in _GREEN_KINDS:
        kinds.append(row.green.value)
    kinds += sorted(h.value for h in row.hazards)
    note = f"{note}; {row.note}" if row.note else note
    for kind in kinds:
        yield kind, Evidence(kind, name, where, (), note)


def _passed_call(use: CallSite, passed: str, chain: str) -> CallSite | None:
    """The call a callee makes on its parameter, made on what the caller passed: a
    function or class by name, or a value of known type (``result:``/``instance:``)."""
    how, _, typed = passed.partition(":")
    if typed and how in ("result", "instance"):
        if use.recv_kind != "param" or not use.target:
            return None  # p.x.y().z() or p() on a value: not followed
        return CallSite(use.target, use.line, use.col, typed, how)
    if use.recv_kind == "param":
        return CallSite(f"{passed}.{use.target}" if use.target else passed, use.line, use.col)
    return CallSite(use.target, use.line, use.col, f"{passed}.{chain}", "result")


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
