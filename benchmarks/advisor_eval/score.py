"""Score ``poolkit advise`` against hand-made labels of real Celery projects.

    python benchmarks/advisor_eval/score.py CHECKOUTS [--labels CSV] [--json-out FILE]
    python benchmarks/advisor_eval/score.py --fetch-list

Runs ``poolkit advise <project> --format json`` on every labelled project found under
CHECKOUTS (as ``<owner>+<name>`` or ``<name>``), maps each task's effects to the labels'
classes and prints mean Jaccard, per-class recall/precision and the calibration of
``high`` confidence. What the labels and the rules mean: README.md next to this file.
Always exits 0 when it could run: a project the advisor fails on is reported, and its
tasks count as missed.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CLASSES = ("net", "db", "cpu")
UNKNOWN = "unknown"
# The label sets (README.md): ``dev`` and ``dev2`` to develop against (``dev2`` is a second,
# wider dev set added once ``dev`` had been tuned on), ``corpus`` where the advisor was
# already tuned, ``holdout`` scored by the lead only. A typo in a row's set would silently
# drop it from every score, so any other name is an error.
SETS = ("dev", "dev2", "corpus", "holdout")

# The advisor's effect names (JSON report schema 1) -> label classes. Effects not listed
# (file_io, sleep, broker_io, subprocess) are not labelled work. The labels count a
# CPU-heavy child (ffmpeg, whisper) as cpu, which the advisor reports as ``cpu_child``;
# ``subprocess`` only says the task waits on some child (ffprobe, git, a scanner), which
# the labels do not count (README.md, "How the advisor's effects map to labels").
EFFECT_CLASS: Mapping[str, str] = {
    "net_io": "net",
    "db_io": "db",
    "cpu": "cpu",
    "cpu_releases_gil": "cpu",
    "gpu": "cpu",
    "cpu_child": "cpu",
}

CPU_POOLS = frozenset({"prefork", "solo"})
IO_POOLS = frozenset({"gevent", "eventlet", "threads"})
ANY_POOL = frozenset({"prefork", "solo", "gevent", "eventlet", "threads"})
LINE_SLACK = 3  # a label's line is the ``def``; the advisor may point at the decorator


@dataclass(frozen=True)
class Label:
    """One labelled task: a row of labels.csv."""

    set: str
    project: str
    repo: str
    commit: str
    file: str
    line: int
    task: str
    labels: frozenset[str] | None  # None = unknown
    notes: str = ""


@dataclass(frozen=True)
class TaskScore:
    project: str
    file: str
    task: str
    expected: tuple[str, ...]
    found: tuple[str, ...] | None  # None = the advisor did not report the task
    jaccard: float


@dataclass(frozen=True)
class QueueScore:
    project: str
    queue: str
    pool: str
    confidence: str
    labelled: int
    tasks: int
    acceptable: tuple[str, ...]
    ok: bool


@dataclass(frozen=True)
class ProjectScore:
    project: str
    set: str
    error: str | None
    tasks: tuple[TaskScore, ...]
    queues: tuple[QueueScore, ...]
    unlabelled_found: int = 0


@dataclass(frozen=True)
class ClassScore:
    tp: int
    fp: int
    fn: int

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None


@dataclass(frozen=True)
class Summary:
    tasks: int
    missed: int
    mean_jaccard: float | None
    classes: dict[str, ClassScore]
    calibration: dict[str, tuple[int, int]] = field(default_factory=dict)  # level -> (ok, judged)

    @property
    def cpu_recall(self) -> float | None:
        return self.classes["cpu"].recall


# -- labels -----------------------------------------------------------------------------


def parse_labels(text: str) -> frozenset[str] | None:
    """``"db;cpu"`` -> {"db", "cpu"}; ``""`` -> {}; ``"unknown"`` -> None."""
    parts = {p.strip() for p in text.split(";") if p.strip()}
    if UNKNOWN in parts:
        return None
    bad = parts - set(CLASSES)
    if bad:
        raise ValueError(f"unknown label(s) {sorted(bad)}; use {', '.join(CLASSES)} or {UNKNOWN}")
    return frozenset(parts)


def load_labels(path: Path) -> list[Label]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    labels = []
    for number, row in enumerate(rows, start=2):
        try:
            if row["set"] not in SETS:
                raise ValueError(f"unknown set {row['set']!r}; use one of {', '.join(SETS)}")
            labels.append(
                Label(
                    set=row["set"],
                    project=row["project"],
                    repo=row["repo"],
                    commit=row["commit"],
                    file=row["file"],
                    line=int(row["line"]),
                    task=row["task"],
                    labels=parse_labels(row["labels"]),
                    notes=row.get("notes", ""),
                )
            )
        except (KeyError, ValueError) as exc:
            raise SystemExit(f"{path}:{number}: {exc}") from exc
    return labels


def by_project(labels: Iterable[Label]) -> dict[str, list[Label]]:
    grouped: dict[str, list[Label]] = {}
    for label in labels:
        grouped.setdefault(label.project, []).append(label)
    return grouped


# -- arithmetic -------------------------------------------------------------------------


def map_effects(effects: Iterable[str]) -> frozenset[str]:
    """The advisor's effect names -> label classes."""
    return frozenset(EFFECT_CLASS[e] for e in effects if e in EFFECT_CLASS)


def jaccard(expected: frozenset[str], found: frozenset[str]) -> float:
    """Shared classes over all classes named; two empty sets agree completely."""
    union = expected | found
    return 1.0 if not union else len(expected & found) / len(union)


def acceptable_pools(label_sets: Sequence[frozenset[str]]) -> frozenset[str]:
    """The rule of README.md: cpu anywhere -> processes; waiting work -> green/threads."""
    merged = frozenset().union(*label_sets) if label_sets else frozenset()
    if "cpu" in merged:
        return CPU_POOLS
    if merged & {"net", "db"}:
        return IO_POOLS
    return ANY_POOL


# -- matching a report to labels ----------------------------------------------------------


def _function_name(task: Mapping[str, Any]) -> str:
    qualname = task.get("qualname") or task.get("name") or ""
    return qualname.rsplit(".", 1)[-1]


def _path(task: Mapping[str, Any]) -> str | None:
    location = task.get("location") or {}
    return location.get("path")


def match(label: Label, tasks: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The advisor task a label row names: same file and function, else a nearby line."""
    same_file = [t for t in tasks if _path(t) == label.file]
    named = [t for t in same_file if _function_name(t) == label.task]
    candidates = named or [
        t
        for t in same_file
        if abs((t.get("location") or {}).get("line", -99) - label.line) <= LINE_SLACK
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda t: abs((t.get("location") or {}).get("line", 0) - label.line))


def score_project(
    labels: Sequence[Label], report: Mapping[str, Any] | None, error: str | None = None
) -> ProjectScore:
    """Task and queue scores of one project; ``report`` None = the advisor failed."""
    tasks = list((report or {}).get("tasks", []))
    task_scores = []
    label_of: dict[str, frozenset[str] | None] = {}  # advisor task name -> label set
    for label in labels:
        hit = match(label, tasks)
        if hit is not None:
            label_of[hit.get("name", "")] = label.labels
        if label.labels is None:
            continue
        found = None if hit is None else map_effects(hit.get("effects", []))
        task_scores.append(
            TaskScore(
                project=label.project,
                file=label.file,
                task=label.task,
                expected=tuple(sorted(label.labels)),
                found=None if found is None else tuple(sorted(found)),
                jaccard=0.0 if found is None else jaccard(label.labels, found),
            )
        )
    queue_scores = []
    for queue in (report or {}).get("queues", []):
        names = list(queue.get("tasks", []))
        known = [label_of[n] for n in names if n in label_of]
        if not known or any(k is None for k in known):
            continue  # no labelled task, or one that could not be decided
        sets = [k for k in known if k is not None]
        allowed = acceptable_pools(sets)
        queue_scores.append(
            QueueScore(
                project=labels[0].project if labels else "",
                queue=str(queue.get("name")),
                pool=str(queue.get("pool")),
                confidence=str(queue.get("confidence")),
                labelled=len(sets),
                tasks=len(names),
                acceptable=tuple(sorted(allowed)),
                ok=queue.get("pool") in allowed,
            )
        )
    return ProjectScore(
        project=labels[0].project if labels else "",
        set=labels[0].set if labels else "",
        error=error,
        tasks=tuple(task_scores),
        queues=tuple(queue_scores),
        unlabelled_found=len(tasks) - len(label_of),
    )


def summarize(projects: Iterable[ProjectScore]) -> Summary:
    scores = [t for p in projects for t in p.tasks]
    queues = [q for p in projects for q in p.queues]
    classes = {}
    for name in CLASSES:
        tp = sum(1 for t in scores if name in t.expected and name in (t.found or ()))
        fp = sum(1 for t in scores if name not in t.expected and name in (t.found or ()))
        fn = sum(1 for t in scores if name in t.expected and name not in (t.found or ()))
        classes[name] = ClassScore(tp, fp, fn)
    calibration = {}
    for level in ("high", "medium", "low"):
        judged = [q for q in queues if q.confidence == level]
        calibration[level] = (sum(q.ok for q in judged), len(judged))
    return Summary(
        tasks=len(scores),
        missed=sum(1 for t in scores if t.found is None),
        mean_jaccard=sum(t.jaccard for t in scores) / len(scores) if scores else None,
        classes=classes,
        calibration=calibration,
    )


# -- running the advisor -------------------------------------------------------------------


def find_poolkit(explicit: str | None) -> str:
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "poolkit"
    if beside.exists():
        return str(beside)
    found = shutil.which("poolkit")
    if not found:
        raise SystemExit("no poolkit next to this Python nor on PATH; pass --poolkit")
    return found


def run_advisor(
    poolkit: str, project: Path, timeout: float
) -> tuple[dict[str, Any] | None, str | None]:
    """``poolkit advise --format json``: (report, None) or (None, why it failed)."""
    try:
        done = subprocess.run(
            [poolkit, "advise", str(project), "--format", "json"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:g} s"
    if done.returncode not in (0, 1):  # 1 = findings, still a report
        return None, f"exit {done.returncode}: {done.stderr.strip()[-300:]}"
    try:
        return json.loads(done.stdout), None
    except json.JSONDecodeError as exc:
        return None, f"not JSON ({exc})"


def checkout_of(root: Path, label: Label) -> Path | None:
    owner, name = label.repo.split("/", 1)
    for candidate in (root / f"{owner}+{name}", root / name):
        if candidate.is_dir():
            return candidate
    return None


# -- output -------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:5.2f}"


def render(projects: Sequence[ProjectScore]) -> str:
    lines = [
        f"{'project':<20} {'set':<8} {'tasks':>5} {'missed':>6} {'J':>5}  "
        f"{'netR':>5} {'netP':>5} {'dbR':>5} {'dbP':>5} {'cpuR':>5} {'cpuP':>5}  {'high ok':>7}",
    ]
    for p in projects:
        s = summarize([p])
        ok, judged = s.calibration["high"]
        k = s.classes
        note = f"  ERROR: {p.error}" if p.error else ""
        lines.append(
            f"{p.project:<20} {p.set:<8} {s.tasks:>5} {s.missed:>6} {_pct(s.mean_jaccard)}  "
            f"{_pct(k['net'].recall)} {_pct(k['net'].precision)} {_pct(k['db'].recall)} "
            f"{_pct(k['db'].precision)} {_pct(k['cpu'].recall)} {_pct(k['cpu'].precision)}  "
            f"{ok:>3}/{judged:<3}{note}"
        )
    for set_name in sorted({p.set for p in projects}):
        s = summarize([p for p in projects if p.set == set_name])
        lines.append("")
        lines.append(
            f"{set_name}: {s.tasks} tasks, {s.missed} missed, "
            f"mean Jaccard {_pct(s.mean_jaccard).strip()}, CPU recall {_pct(s.cpu_recall).strip()}"
        )
        for name, c in s.classes.items():
            lines.append(
                f"  {name:<4} recall {_pct(c.recall)}  precision {_pct(c.precision)}"
                f"  (tp {c.tp}, fp {c.fp}, fn {c.fn})"
            )
        for level, (ok, judged) in s.calibration.items():
            share = f"{ok / judged:.2f}" if judged else "n/a"
            lines.append(f"  {level:<6} queues: {ok}/{judged} with an acceptable pool ({share})")
    return "\n".join(lines) + "\n"


def as_json(projects: Sequence[ProjectScore]) -> dict[str, Any]:
    sets = {}
    for set_name in sorted({p.set for p in projects}):
        s = summarize([p for p in projects if p.set == set_name])
        sets[set_name] = {
            "tasks": s.tasks,
            "missed": s.missed,
            "mean_jaccard": s.mean_jaccard,
            "cpu_recall": s.cpu_recall,
            "classes": {
                n: {"recall": c.recall, "precision": c.precision, **asdict(c)}
                for n, c in s.classes.items()
            },
            "calibration": {lvl: {"ok": ok, "judged": j} for lvl, (ok, j) in s.calibration.items()},
        }
    return {"sets": sets, "projects": [asdict(p) for p in projects]}


def fetch_list(labels: Sequence[Label]) -> str:
    seen: dict[str, Label] = {}
    for label in labels:
        seen.setdefault(label.project, label)
    lines = ["# set project repo@commit, then how to check it out as <root>/<owner>+<name>"]
    for label in seen.values():
        owner, name = label.repo.split("/", 1)
        lines.append(f"# {label.set} {label.project} {label.repo}@{label.commit}")
        lines.append(
            f"git clone --filter=blob:none https://github.com/{label.repo} {owner}+{name} && "
            f"git -C {owner}+{name} checkout -q {label.commit}"
        )
    return "\n".join(lines) + "\n"


# -- command line ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", type=Path, help="folder holding the checkouts")
    parser.add_argument("--labels", type=Path, default=HERE / "labels.csv")
    parser.add_argument(
        "--set", dest="only_set", choices=SETS, help="score only this set (default: all)"
    )
    parser.add_argument("--project", action="append", help="score only these projects")
    parser.add_argument(
        "--poolkit", help="the poolkit executable (default: next to this Python, else PATH)"
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per project")
    parser.add_argument("--json-out", type=Path, help="also write the scores as JSON here")
    parser.add_argument(
        "--fetch-list", action="store_true", help="print which repo@commit to check out"
    )
    args = parser.parse_args(argv)

    labels = load_labels(args.labels)
    if args.only_set:
        labels = [lb for lb in labels if lb.set == args.only_set]
    if args.project:
        labels = [lb for lb in labels if lb.project in args.project]
    if args.fetch_list:
        sys.stdout.write(fetch_list(labels))
        return 0
    if args.root is None:
        parser.error("give the folder of checkouts (or --fetch-list)")
    poolkit = find_poolkit(args.poolkit)

    scores = []
    for project, rows in by_project(labels).items():
        path = checkout_of(args.root, rows[0])
        if path is None:
            scores.append(
                score_project(rows, None, f"no checkout of {rows[0].repo} under {args.root}")
            )
            continue
        print(f"advising {project} ({path})", file=sys.stderr, flush=True)
        report, error = run_advisor(poolkit, path, args.timeout)
        scores.append(score_project(rows, report, error))

    sys.stdout.write(render(scores))
    if args.json_out:
        args.json_out.write_text(json.dumps(as_json(scores), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
