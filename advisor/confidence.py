"""How sure the advisor is of a queue's pool: a function of the evidence, explained.

A pool for waiting work (gevent, threads) claims that no task in the queue holds a core;
static evidence can only support that claim for code the advisor actually followed. So
each task's evidence gets a :class:`Basis`, and the queue's confidence is the weakest
link, with the reason it is not higher (``docs/advise.rst``, "What confidence means"):

* ``low``: no task shows an effect the advisor could resolve, or more than half of them
  do not (those queues get Celery's default and a pointer to ``--profile``);
* ``medium``: some task is ``unknown``; some task's deciding evidence is only
  ``inferred`` (a heuristic, or a library classified from its source, not a table);
  the tasks' kinds conflict (CPU next to IO); a child program no table names runs; or a
  task reaches calls that could not be followed (a method its class does not define:
  a proxy, ``__getattr__``), so what runs there is not known;
* ``high``: every task ``resolved`` (or ``measured`` by ``--profile`` over at least
  :data:`~.profile.MIN_RUNS` runs), of one kind, with every call it reaches followed.

Calibration on the labelled corpus (``benchmarks/advisor_eval``, ``--set corpus``) is
recorded in ``docs/advise.rst``.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from celery_poolkit.advisor import unresolved
from celery_poolkit.model import WAITING_EFFECTS, Confidence, Effect, Evidence, TaskInfo, TaskKind

#: How inferred evidence's note starts (see inferred.py): it never makes ``high``.
INFERRED_NOTE = "inferred"


class Basis(str, enum.Enum):
    """What a task's kind rests on."""

    MEASURED = "measured"  # --profile's CPU share over enough runs decided it
    RESOLVED = "resolved"  # knowledge-table evidence on calls the advisor followed
    INFERRED = "inferred"  # only a heuristic or a library inferred from its source
    UNKNOWN = "unknown"  # no effect found


#: The evidence kinds that make each task kind (what decide.classify() looked at).
_DECISIVE: dict[TaskKind, frozenset[str]] = {
    TaskKind.GPU: frozenset({Effect.GPU.value}),
    TaskKind.CPU: frozenset({Effect.CPU.value}),
    TaskKind.CPU_RELEASES_GIL: frozenset({Effect.CPU_RELEASES_GIL.value}),
    TaskKind.IO: frozenset(e.value for e in WAITING_EFFECTS),
}


def is_soft(ev: Evidence) -> bool:
    """Evidence from a heuristic or an inference rather than a knowledge table."""
    return ev.call.startswith("python:") or ev.note.startswith(INFERRED_NOTE)


def basis(task: TaskInfo, measured: Collection[str] = ()) -> Basis:
    """What ``task``'s kind rests on; ``measured`` names the tasks --profile decided."""
    if task.name in measured:
        return Basis.MEASURED
    if task.kind is TaskKind.UNKNOWN:
        return Basis.UNKNOWN
    decisive = [ev for ev in task.evidence if ev.kind in _DECISIVE.get(task.kind, ())]
    if not decisive or all(is_soft(ev) for ev in decisive):
        return Basis.INFERRED
    return Basis.RESOLVED


@dataclass(frozen=True, slots=True)
class Judged:
    """A queue's confidence and, when it is not ``high``, why (for the reasons)."""

    level: Confidence
    why: tuple[str, ...] = ()


def judge(tasks: Sequence[TaskInfo], measured: Collection[str] = ()) -> Judged:
    """The queue's confidence from its tasks' bases, kinds and unfollowed calls."""
    bases = {t.name: basis(t, measured) for t in tasks}
    known = [t for t in tasks if bases[t.name] is not Basis.UNKNOWN]
    if not known:
        return Judged(Confidence.LOW, ("no task shows an effect the advisor could resolve",))
    unknown = len(tasks) - len(known)
    if 2 * unknown > len(tasks):
        return Judged(Confidence.LOW, (f"{unknown} of {len(tasks)} tasks show no effect",))
    why: list[str] = []
    if unknown:
        why.append(f"{unknown} of {len(tasks)} task(s) show no effect")
    inferred = [t for t in known if bases[t.name] is Basis.INFERRED]
    if inferred:
        why.append(
            f"{len(inferred)} task(s) rest on a heuristic or an inferred library only "
            f"({_names(inferred)})"
        )
    kinds = {t.kind for t in known}
    if len(kinds) > 1:
        shown = ", ".join(sorted(k.value for k in kinds))
        why.append(f"the tasks' kinds differ ({shown})")
    children = [t for t in known if bases[t.name] is not Basis.MEASURED and _unknown_child(t)]
    if children:
        why.append(
            f"{_names(children)} run(s) a child program no table names: its cost cannot be read"
        )
    lost = [
        t
        for t in known
        if bases[t.name] is not Basis.MEASURED
        and any(e.kind == unresolved.KIND for e in t.unresolved)
    ]
    if lost:
        where = ", ".join(f"{e.location} ({e.call})" for e in lost[0].unresolved[:2])
        why.append(
            f"{len(lost)} task(s) reach calls that could not be followed ({where}): "
            "work there is not seen"
        )
    return Judged(Confidence.MEDIUM if why else Confidence.HIGH, tuple(why))


def explain(judged: Judged) -> str | None:
    """The reason line a queue's advice carries when its confidence is not ``high``."""
    if judged.level is Confidence.HIGH or not judged.why:
        return None
    more = "; `poolkit profile collect` then `poolkit advise --profile` decides it from measurement"
    return f"confidence {judged.level.value}: " + "; ".join(judged.why) + more


def _unknown_child(task: TaskInfo) -> bool:
    kinds = {ev.kind for ev in task.evidence}
    return Effect.SUBPROCESS.value in kinds and Effect.CPU_CHILD.value not in kinds


def _names(tasks: Sequence[TaskInfo], shown: int = 3) -> str:
    names = ", ".join(t.name.rpartition(".")[2] for t in tasks[:shown])
    return names + (f" and {len(tasks) - shown} more" if len(tasks) > shown else "")
