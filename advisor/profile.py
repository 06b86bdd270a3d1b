"""``poolkit advise --profile FILE``: fold measured evidence into the static advice.

The file is what ``poolkit profile collect`` gathered from the running workers. For each
task with enough runs, the measured share of wall time spent on CPU decides its kind,
overriding the static guess: a task the advisor could not classify (or thought waits)
that measures CPU-bound becomes ``cpu``, and one it thought CPU-bound that measures
mostly waiting becomes ``io``. Each contradiction is a PK701 finding; tasks measured
blocking the gevent hub are PK702. The engine applies the measurements to the tasks'
summaries before it decides any queue (:func:`apply`), so decisions and every later
finding follow the measured kind, and ``# poolkit: ignore[PK701]`` works like any other.

Reads JSON only: like the rest of the advisor it never imports celery or user code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from celery_poolkit.advisor.reading import Unreadable, read_bytes
from celery_poolkit.advisor.rules import finding
from celery_poolkit.errors import ConfigError
from celery_poolkit.model import Finding, TaskInfo, TaskKind
from celery_poolkit.worker.profile import ClusterProfile, cluster_profile_from_dict

#: Runs a task needs before its measurement outweighs the static guess.
MIN_RUNS = 5
#: CPU share at or above which a task is CPU-bound, and at or below which it waits.
CPU_BOUND, WAITS = 0.6, 0.25


@dataclass(frozen=True, slots=True)
class Measured:
    """One task's measurements summed over every worker that ran it."""

    name: str
    runs: int
    wall: float
    cpu: float
    blocks: int
    block_seconds: float
    hosts: tuple[str, ...]

    @property
    def cpu_share(self) -> float:
        return min(1.0, self.cpu / self.wall) if self.wall > 0 else 0.0

    @property
    def kind(self) -> TaskKind | None:
        """CPU or IO when the measurement is clear and large enough, else None."""
        if self.runs < MIN_RUNS:
            return None
        if self.cpu_share >= CPU_BOUND:
            return TaskKind.CPU
        if self.cpu_share <= WAITS:
            return TaskKind.IO
        return None


#: A profile file larger than this is refused (16,000 workers x 500 tasks fit in it).
MAX_PROFILE_BYTES = 1024 * 1024 * 1024


def load(path: Path) -> ClusterProfile:
    """Read a collected profile; a clear :class:`ConfigError` for anything else.

    Bad worker entries, and bad task entries inside one, are left out and listed in the
    result's ``errors`` (the caller reports them); the rest of the file still counts."""
    try:
        data = json.loads(read_bytes(path, MAX_PROFILE_BYTES))
    except Unreadable as exc:
        raise ConfigError(f"--profile {path}: cannot read it ({exc.reason})") from None
    except OSError as exc:
        raise ConfigError(f"--profile {path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise ConfigError(f"--profile {path}: not JSON ({exc})") from None
    except RecursionError:
        raise ConfigError(f"--profile {path}: not a profile (nested too deeply)") from None
    try:
        return cluster_profile_from_dict(data)
    except ValueError as exc:
        raise ConfigError(
            f"--profile {path}: {exc}; write it with `poolkit profile collect -A APP -o FILE`"
        ) from None


def measured(profile: ClusterProfile) -> dict[str, Measured]:
    """Per task name, the sum over workers: one pass, linear in the entries."""
    sums: dict[str, list[float]] = {}  # name -> [runs, wall, cpu, blocks, block_seconds]
    hosts: dict[str, set[str]] = {}
    for worker in profile.workers:
        for t in worker.tasks:
            row = sums.get(t.name)
            if row is None:
                row = sums[t.name] = [0, 0.0, 0.0, 0, 0.0]
                hosts[t.name] = set()
            row[0] += t.count
            row[1] += t.wall_total
            row[2] += t.cpu_total
            row[3] += t.blocks
            row[4] += t.block_seconds
            hosts[t.name].add(worker.hostname)
    return {
        name: Measured(name, int(r[0]), r[1], r[2], int(r[3]), r[4], tuple(sorted(hosts[name])))
        for name, r in sums.items()
    }


@dataclass(frozen=True, slots=True)
class Applied:
    """Tasks with their measured kinds, the PK701/PK702 findings, and per changed task why."""

    tasks: tuple[TaskInfo, ...]
    findings: tuple[Finding, ...]
    changed: dict[str, str]  # task name -> the measurement that decided its kind


def apply(tasks: Sequence[TaskInfo], facts: Mapping[str, Measured]) -> Applied:
    """Measured kinds applied to the tasks' summaries, before any queue is decided.

    The engine calls it between the effect summaries and the decisions, so every later
    stage (decisions, PK601 and the other queue findings, ``# poolkit: ignore``) sees the
    measured kind, never the static guess it replaced."""
    findings: list[Finding] = []
    out: list[TaskInfo] = []
    changed: dict[str, str] = {}
    for task in tasks:
        m = facts.get(task.name)
        kind = m.kind if m else None
        if m is not None and m.blocks:
            findings.append(finding(
                "PK702", task.location, queue=task.queue, task=task.name, blocks=m.blocks,
                seconds=m.block_seconds, hosts=_hosts(m.hosts),
            ))  # fmt: skip
        contradicts = kind is not None and (
            (kind is TaskKind.CPU and not task.kind.is_cpu)
            or (kind is TaskKind.IO and task.kind.is_cpu)
        )
        if m is None or kind is None or not contradicts:
            out.append(task)
            continue
        why = (
            f"measured: {task.name} spends {m.cpu_share:.0%} of its wall time on CPU over "
            f"{m.runs} runs on {_hosts(m.hosts)}; the static guess was {task.kind.value!r}"
        )
        findings.append(finding("PK701", task.location, queue=task.queue, task=task.name,
                                measurement=why, kind=kind.value))  # fmt: skip
        changed[task.name] = why
        out.append(replace(task, kind=kind))
    return Applied(tuple(out), tuple(findings), changed)


def _hosts(hosts: tuple[str, ...], shown: int = 3) -> str:
    """A few host names: a task measured on 16,000 workers must not print them all."""
    more = len(hosts) - shown
    return ", ".join(hosts[:shown]) + (f" and {more:,} more" if more > 0 else "")
