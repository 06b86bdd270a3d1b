"""The pipeline: files -> facts -> project -> tasks, routes, effects -> advice.

Pure apart from reading the files and the cache: it never imports celery, gevent or the
user's code, and returns an :class:`~celery_poolkit.model.Advice` for the formatters.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from celery_poolkit.advisor import (
    budget,
    collector,
    conflicts,
    deploy,
    discovery,
    effects,
    import_time,
    inferred,
    profile,
    routing,
    rules,
    unresolved,
)
from celery_poolkit.advisor.cache import Cache
from celery_poolkit.advisor.config import AdvisorConfig
from celery_poolkit.advisor.decide import classify, decide
from celery_poolkit.advisor.facts import ModuleFacts
from celery_poolkit.advisor.files import context, find_root, in_focus, walk
from celery_poolkit.advisor.knowledge import CELERY_CALLS, Knowledge
from celery_poolkit.advisor.parse import Loaded, Parser, default_jobs, read_all
from celery_poolkit.advisor.project import MAX_MRO, Project
from celery_poolkit.advisor.rules import finding
from celery_poolkit.advisor.values import Evaluator
from celery_poolkit.model import (
    Advice,
    Call,
    Effect,
    Evidence,
    Finding,
    Hazard,
    Pool,
    QueueAdvice,
    Skipped,
    TaskInfo,
)

_RESULT_FORMAT = 4  # bump when Advice or the decision logic changes meaning


@dataclass(frozen=True, slots=True)
class LiveConfig:
    """What ``--import-app`` read from the running app: task -> queue, and the pool."""

    routes: dict[str, str] = field(default_factory=dict)
    pool: str | None = None


def analyze(
    paths: Sequence[Path],
    config: AdvisorConfig,
    *,
    plugin_calls: Sequence[Call] = (),
    cache_dir: Path | None = None,
    jobs: int | None = None,
    cores: int | None = None,
    live: LiveConfig | None = None,
    root: Path | None = None,
    measured: Mapping[str, profile.Measured] | None = None,
) -> Advice:
    """Advise on the project at ``paths``. ``plugin_calls`` is the library knowledge;
    ``cache_dir`` None disables the cache; ``root`` is the project's folder (report paths
    are relative to it, deployment files are read under it), by default the common
    folder of ``paths``; ``measured`` is ``--profile``'s per-task measurements
    (:func:`.profile.measured`). Never raises for bad source files."""
    root = root or find_root(paths)
    rows = [*CELERY_CALLS, *plugin_calls, *config.knowledge]
    # Calls into libraries no table describes are inferred from their source (inferred.py).
    libraries = inferred.Libraries(rows, _described(rows), cache_dir, root)
    knowledge = inferred.InferringKnowledge(rows, libraries)
    read, focus = context(paths, root)
    files, skipped = walk(read, root, config.exclude)
    loaded, unreadable = read_all(files)
    skipped += unreadable
    cores = cores or config.cores or os.cpu_count() or 1
    commands = deploy.find_commands(root)
    measured = dict(measured or {})
    state = (
        sorted(key for _, _, key in loaded),
        skipped,
        config,
        cores,
        live,
        commands,
        focus,
        sorted(measured.items()),
    )
    result_key = _result_key(state, knowledge)
    results = Cache(cache_dir, root, "result", Advice) if cache_dir is not None else None
    if results is not None:
        hit = results.get(result_key)
        if isinstance(hit, Advice):
            return hit  # nothing changed: not even the facts need loading
    cache = (
        Cache(cache_dir, root, "facts", ModuleFacts | Skipped) if cache_dir is not None else None
    )
    # The facts live until the advice is made: each round's are settled out of the
    # collector's reach, or every later collection would walk them all again.
    with collector.settling() as settle:
        with Parser(cache, jobs or default_jobs(), settle) as parser:
            index, bad = _parse_reachable(parser, loaded, knowledge)
        if cache is not None:
            cache.save()
        advice = _advise(
            root,
            index,
            skipped=skipped + bad,
            config=config,
            cores=cores,
            live=live,
            commands=commands,
            focus=focus,
            measured=measured,
        )
        libraries.save()
    if results is not None:
        results.new = {}  # only the latest advice is worth keeping
        results.put(result_key, advice)
        results.save()
    return advice


#: Text that makes a module worth reading in full from the start: where apps, settings,
#: routes and tasks are defined, where call sites name queues, and where services are
#: registered (services.py: a task's find_service() is typed from the registration).
_SEED_WORDS = (
    b"celery",
    b"Celery",
    b"CELERY",
    b"queue",
    b"shared_task",
    b"send_task",
    b"apply_async",
    b"register_service_factory",
)
_SEED_TASK = re.compile(rb"\.task\b")


def _is_seed(_file: object, data: bytes) -> bool:
    """Whether a module is read in full from the start: it holds one of the words, or
    ``.task`` ending a name. A bytes search per word: one regex alternating them all
    cost twice as much (0.06 s of a cold run on saleor)."""
    if any(word in data for word in _SEED_WORDS):
        return True
    return b".task" in data and _SEED_TASK.search(data) is not None


_MAX_ROUNDS = 50  # each round reads at least one more module in full; a bound, not a limit


def _parse_reachable(
    parser: Parser, loaded: list[Loaded], knowledge: Knowledge
) -> tuple[_Index, list[Skipped]]:
    """Stage 1: outline every module, then read in full only what tasks can reach.

    Function bodies are most of the visitor's work, and a task reaches a small part of a
    large project. Round one reads every file (so every bad file is reported) but keeps
    function bodies only for seed modules; each later round reads in full the modules
    holding functions that tasks reach and that are still outlines, until none is left.

    The project is built once, after round one, and later rounds patch it
    (:meth:`Project.with_modules`); tasks are discovered once, on round one's project,
    whose outlines hold every decorator (a wrapper that calls ``app.task()`` matches the
    seed pattern, so its body is in round one). Discovering again after the rounds would
    make the task list depend on which modules reachability happened to read in full.
    """
    facts, skipped = parser.parse(loaded, _is_seed)
    by_module = {f.module: f for f in facts}
    source = {file.module: (file, data, key) for file, data, key in loaded}
    # Settings are module-level assignments, in outlines: their rows (EMAIL_BACKEND) are
    # known before the first call is resolved.
    project = Project(by_module.values(), inferred.with_settings(knowledge, facts))
    tasks = tuple(discovery.find_tasks(project))
    roots = [t.body for t in tasks]
    refused: set[str] = set()  # outlines whose full read failed: asked once, reported once
    for _ in range(_MAX_ROUNDS):
        wanted = {project.functions[fid][0].module for fid in effects.reachable(project, roots)}
        todo = [
            source[m] for m in sorted(wanted - refused) if not by_module[m].full and m in source
        ]
        if not todo:
            break
        more, bad = parser.parse(todo, lambda _file, _data: True)
        skipped += bad
        refused.update({file.module for file, _, _ in todo} - {f.module for f in more})
        by_module.update((f.module, f) for f in more)
        project = project.with_modules(more)  # patched, not rebuilt
    apps = discovery.find_apps(project)
    settings = discovery.find_settings(project, apps)
    evaluator = Evaluator(project, discovery.django_settings(project))
    return _Index(project, tasks, apps, settings, evaluator, len(by_module)), skipped


def _described(rows: Sequence[Call]) -> set[str]:
    """Top-level modules some table speaks for: their calls are never inferred."""
    return {row.qualname.partition(".")[0] for row in rows}


def _result_key(state: object, knowledge: Knowledge) -> str:
    """A key over everything the advice depends on: file contents (by hash), the skipped
    files, config, cores, --import-app data, deployment commands and the knowledge."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(pickle.dumps((state, _RESULT_FORMAT), protocol=pickle.HIGHEST_PROTOCOL))
    digest.update(knowledge.fingerprint().encode())
    return "advice:" + digest.hexdigest()


@dataclass(frozen=True, slots=True)
class _Index:
    """Stage 1: the project index, and what every later stage reads from it once."""

    project: Project
    tasks: tuple[discovery.TaskDef, ...]  # every task in the project, found once
    apps: list[discovery.AppInfo]
    settings: dict[str, discovery.Setting]
    evaluator: Evaluator
    files: int  # modules read


@dataclass(frozen=True, slots=True)
class _Tasks:
    """Stage 2: the tasks under the paths asked about, and where each is routed."""

    defs: tuple[discovery.TaskDef, ...]
    routed: dict[str, routing.Routed]
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class _Summaries:
    """Stage 3: each task with its effects and kind, measurements from ``--profile``
    already applied; import-time hazards and measured contradictions as findings."""

    tasks: tuple[TaskInfo, ...]
    findings: tuple[Finding, ...]
    measured: dict[str, str]  # task name -> why its measured kind replaced the static one
    #: Tasks whose kind a measurement over enough runs decides (agreeing or not).
    by_measurement: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class _Decided:
    """Stage 4: each queue's advice, with its member tasks."""

    queue: QueueAdvice
    members: tuple[TaskInfo, ...]


def _advise(
    root: Path,
    index: _Index,
    *,
    skipped: list[Skipped],
    config: AdvisorConfig,
    cores: int,
    live: LiveConfig | None,
    commands: list[deploy.WorkerCommand],
    focus: tuple[str, ...] = (),
    measured: Mapping[str, profile.Measured],
) -> Advice:
    """The stages, each from the previous one's values: index -> tasks and routes ->
    effect summaries -> decisions -> findings -> :class:`Advice`."""
    tasks = _tasks(index, focus, live)
    summaries = _summaries(index, tasks, measured)
    # The -A the project's own deployment uses, else the first app found.
    deployed = next((c.app for c in commands if c.app), "")
    app_name = config.app or deployed or (index.apps[0].cli_name if index.apps else "proj")
    configured_pool = deploy.configured_pool(index.evaluator, index.settings)
    if live is not None and live.pool:
        configured_pool = deploy.parse_pool(live.pool) or configured_pool
    decided = _decisions(
        summaries, app_name, config, cores, commands=commands, configured=configured_pool
    )
    findings = [*tasks.findings, *summaries.findings]
    findings += _queue_findings(
        decided, index, tasks, config, cores, commands=commands, configured=configured_pool,
    )  # fmt: skip
    findings += _app_findings([d.queue for d in decided], index, commands, configured_pool)
    findings = rules.kept(findings, index.project, config)
    skipped = skipped + [
        Skipped(
            path,
            f"class hierarchy deeper than {MAX_MRO} levels at {cid}: bases past "
            "that depth are not followed",
        )
        for path, cid in index.project.too_deep.items()
    ]
    return Advice(
        root=str(root),
        queues=tuple(d.queue for d in decided),
        tasks=summaries.tasks,
        findings=tuple(findings),
        skipped=tuple(sorted(skipped, key=lambda s: s.path)),
        app=app_name,
        files=index.files,
        imported_app=live is not None,
    )


def _tasks(index: _Index, focus: tuple[str, ...], live: LiveConfig | None) -> _Tasks:
    # Only the tasks under the paths asked about; the rest of the package is context.
    defs = [t for t in index.tasks if in_focus(t.location.path, focus)]
    routed, findings = routing.route_all(index.project, defs, index.settings, index.evaluator)
    if live is not None:  # the live router knows better, router functions included
        for name, queue in live.routes.items():
            if name in routed:
                routed[name] = routing.Routed(queue, routed[name].also)
        findings = [f for f in findings if f.rule not in ("PK101", "PK102")]
    return _Tasks(tuple(defs), routed, tuple(findings))


def _summaries(
    index: _Index,
    tasks: _Tasks,
    measured: Mapping[str, profile.Measured],
) -> _Summaries:
    project = index.project
    summaries = effects.summarize(project, [t.body for t in tasks.defs])
    fork_unsafe = import_time.fork_unsafe(project)
    findings = [
        finding("PK501", ev.location, call=ev.call, path=ev.location.path)
        for ev in fork_unsafe.values()
    ]
    infos = [
        _task_info(t, tasks.routed[t.name], summaries.get(t.body, {}), project, fork_unsafe)
        for t in tasks.defs
    ]
    # Calls that could not be followed, per task (confidence and decide quote them).
    infos = [unresolved.annotate(t, project) for t in infos]
    # --profile: measured kinds replace static guesses before any queue is decided.
    applied = profile.apply(infos, measured)
    decided = frozenset(name for name, m in measured.items() if m.kind is not None)
    return _Summaries(applied.tasks, (*findings, *applied.findings), applied.changed, decided)


def _decisions(
    summaries: _Summaries,
    app: str,
    config: AdvisorConfig,
    cores: int,
    *,
    commands: list[deploy.WorkerCommand],
    configured: Pool | None,
) -> list[_Decided]:
    by_queue: dict[str, list[TaskInfo]] = {}
    for task in summaries.tasks:
        by_queue.setdefault(task.queue, []).append(task)
        for extra in task.also_queues:
            by_queue.setdefault(extra, []).append(task)
    decided = []
    for name in sorted(by_queue):
        members = by_queue[name]
        advice = decide(
            name,
            members,
            app=app,
            cores=cores,
            override=config.override(name),
            current=deploy.deployed_pool(name, commands) or configured,
            measured=summaries.by_measurement,
        )
        reasons = [summaries.measured[t] for t in advice.tasks if t in summaries.measured]
        if reasons:
            advice = replace(advice, reasons=(*reasons, *advice.reasons))
        decided.append(_Decided(advice, tuple(members)))
    return decided


def _queue_findings(
    decided: list[_Decided],
    index: _Index,
    tasks: _Tasks,
    config: AdvisorConfig,
    cores: int,
    *,
    commands: list[deploy.WorkerCommand],
    configured: Pool | None,
) -> list[Finding]:
    """PK103, the pool conflicts and the connection budgets, queue by queue."""
    findings: list[Finding] = []
    tdefs = {t.name: t for t in tasks.defs}
    settings, evaluator = index.settings, index.evaluator
    for d in decided:
        advice, members = d.queue, list(d.members)
        if advice.split is not None:
            findings.append(
                finding(
                    "PK103",
                    members[0].location,
                    queue=advice.name,
                    moved=len(advice.split.tasks),
                    new_queue=advice.split.new_queue,
                    pool=advice.split.pool.value,
                )
            )
        findings += conflicts.queue_findings(advice, members, defs=tdefs, commands=commands)
        queue_runs = budget.runs(
            advice, commands, settings, evaluator, configured=configured, cores=cores
        )
        findings += budget.redis_pool(
            advice,
            members,
            defs=tdefs,
            settings=settings,
            evaluator=evaluator,
            queue_runs=queue_runs,
        )
        findings += budget.postgres_connections(
            advice,
            members,
            project=index.project,
            evaluator=evaluator,
            queue_runs=queue_runs,
            budget=config.db_max_connections,
        )
    return findings


def _app_findings(
    queues: list[QueueAdvice],
    index: _Index,
    commands: list[deploy.WorkerCommand],
    configured: Pool | None,
) -> list[Finding]:
    """App-wide time limits, settings the pool ignores, and queues nobody consumes."""
    limits = {
        k: (str(v.value), v.location) for k, v in index.settings.items() if k.endswith("time_limit")
    }
    findings = list(conflicts.app_wide_limits(queues, limits))
    findings += conflicts.settings_findings(index.settings, configured)
    if commands:
        consumed = {q for c in commands for q in c.queues}
        catch_all = any(not c.queues for c in commands)
        for q in queues:
            if q.name not in consumed and not (catch_all and q.name in ("celery", "default")):
                findings.append(finding("PK602", None, queue=q.name, count=len(q.tasks)))
    return findings


def _task_info(
    tdef: discovery.TaskDef,
    routed: routing.Routed,
    summary: dict[str, Evidence],
    project: Project,
    fork_unsafe: dict[str, Evidence],
) -> TaskInfo:
    evidence: list[Evidence] = sorted(summary.values(), key=lambda e: (e.kind, e.call))
    module_hazard = import_time.reached_from(project, tdef.module, fork_unsafe)
    if module_hazard is not None and Hazard.FORK_UNSAFE.value not in summary:
        evidence.append(module_hazard)
    kinds = {e.kind for e in evidence}
    effect_set = frozenset(e for e in Effect if e.value in kinds)
    hazards = tuple(h for h in Hazard if h.value in kinds)
    return TaskInfo(
        name=tdef.name,
        qualname=tdef.body,
        queue=routed.queue,
        location=tdef.location,
        effects=tuple(e for e in Effect if e in effect_set),
        hazards=hazards,
        evidence=tuple(evidence),
        kind=classify(effect_set),
        also_queues=routed.also,
    )
