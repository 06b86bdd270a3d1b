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
    conflicts,
    deploy,
    discovery,
    effects,
    inferred,
    profile,
    routing,
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
from celery_poolkit.advisor.values import Evaluator, FromEnv
from celery_poolkit.model import (
    Advice,
    Call,
    Effect,
    Evidence,
    Finding,
    Hazard,
    Location,
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
    with Parser(cache, jobs or default_jobs()) as parser:
        facts, bad = _parse_reachable(parser, loaded, knowledge)
    if cache is not None:
        cache.save()
    advice = _advise(
        root,
        facts,
        skipped=skipped + bad,
        knowledge=knowledge,
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
_SEED = re.compile(
    rb"celery|Celery|CELERY|queue|\.task\b|shared_task|send_task|apply_async"
    rb"|register_service_factory"
)
_MAX_ROUNDS = 50  # each round reads at least one more module in full; a bound, not a limit


def _parse_reachable(
    parser: Parser, loaded: list[Loaded], knowledge: Knowledge
) -> tuple[list[ModuleFacts], list[Skipped]]:
    """Outline every module, then read in full only what tasks can reach.

    Function bodies are most of the visitor's work, and a task reaches a small part of a
    large project. Round one reads every file (so every bad file is reported) but keeps
    function bodies only for seed modules; each later round reads in full the modules
    holding functions that tasks reach and that are still outlines, until none is left.
    """
    facts, skipped = parser.parse(loaded, lambda _file, data: bool(_SEED.search(data)))
    by_module = {f.module: f for f in facts}
    source = {file.module: (file, data, key) for file, data, key in loaded}
    # Tasks are known after round one: decorators are in outlines, and a wrapper that
    # calls app.task() matches the seed pattern, so its body is read in round one.
    project = Project(by_module.values(), knowledge)
    roots = [t.body for t in discovery.find_tasks(project)]
    for _ in range(_MAX_ROUNDS):
        wanted = {project.functions[fid][0].module for fid in effects.reachable(project, roots)}
        todo = [source[m] for m in sorted(wanted) if not by_module[m].full and m in source]
        if not todo:
            break
        more, bad = parser.parse(todo, lambda _file, _data: True)
        skipped += bad
        by_module.update((f.module, f) for f in more)
        project = project.with_modules(more)  # patched, not rebuilt
    return list(by_module.values()), skipped


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
    apps: list[discovery.AppInfo]
    settings: dict[str, discovery.Setting]
    evaluator: Evaluator


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


@dataclass(frozen=True, slots=True)
class _Decided:
    """Stage 4: each queue's advice, with its member tasks."""

    queue: QueueAdvice
    members: tuple[TaskInfo, ...]


def _advise(
    root: Path,
    facts: list[ModuleFacts],
    *,
    skipped: list[Skipped],
    knowledge: Knowledge,
    config: AdvisorConfig,
    cores: int,
    live: LiveConfig | None,
    commands: list[deploy.WorkerCommand],
    focus: tuple[str, ...] = (),
    measured: Mapping[str, profile.Measured],
) -> Advice:
    """The stages, each from the previous one's values: index -> tasks and routes ->
    effect summaries -> decisions -> findings -> :class:`Advice`."""
    rule = routing.RuleFactory()
    index = _index(facts, knowledge)
    tasks = _tasks(index, focus, live, rule)
    summaries = _summaries(index, tasks, measured)
    # The -A the project's own deployment uses, else the first app found.
    deployed = next((c.app for c in commands if c.app), "")
    app_name = config.app or deployed or (index.apps[0].cli_name if index.apps else "proj")
    configured_pool = _configured_pool(index.evaluator, index.settings)
    if live is not None and live.pool:
        configured_pool = _parse_pool(live.pool) or configured_pool
    decided = _decisions(
        summaries, app_name, config, cores, commands=commands, configured=configured_pool
    )
    findings = [*tasks.findings, *summaries.findings]
    findings += _queue_findings(
        decided, index, tasks, config, cores, commands=commands, configured=configured_pool,
        rule=rule,
    )  # fmt: skip
    findings += _app_findings([d.queue for d in decided], index, commands, configured_pool, rule)
    findings = _filter(findings, index.project, config)
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
        files=len(facts),
        imported_app=live is not None,
    )


def _index(facts: list[ModuleFacts], knowledge: Knowledge) -> _Index:
    knowledge = inferred.with_settings(knowledge, facts)
    project = Project(facts, knowledge)
    apps = discovery.find_apps(project)
    settings = discovery.find_settings(project, apps)
    return _Index(project, apps, settings, Evaluator(project, discovery.django_settings(project)))


def _tasks(
    index: _Index, focus: tuple[str, ...], live: LiveConfig | None, rule: routing.RuleFactory
) -> _Tasks:
    # Only the tasks under the paths asked about; the rest of the package is context.
    defs = [t for t in discovery.find_tasks(index.project) if in_focus(t.location.path, focus)]
    routed, findings = routing.route_all(index.project, defs, index.settings, index.evaluator, rule)
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
    fork_unsafe = _import_time_hazards(project)
    findings = [
        finding("PK501", ev.location, call=ev.call, path=ev.location.path)
        for ev in fork_unsafe.values()
    ]
    infos = [
        _task_info(t, tasks.routed[t.name], summaries.get(t.body, {}), project, fork_unsafe)
        for t in tasks.defs
    ]
    # Tasks with no effect say which calls could not be followed (decide quotes them).
    infos = [unresolved.annotate(t, project) for t in infos]
    # --profile: measured kinds replace static guesses before any queue is decided.
    applied = profile.apply(infos, measured)
    return _Summaries(applied.tasks, (*findings, *applied.findings), applied.changed)


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
            current=_deployed_pool(name, commands) or configured,
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
    rule: routing.RuleFactory,
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
        findings += conflicts.queue_findings(
            advice, members, defs=tdefs, commands=commands, rule=rule
        )
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
            rule=rule,
        )
        findings += budget.postgres_connections(
            advice,
            members,
            project=index.project,
            evaluator=evaluator,
            queue_runs=queue_runs,
            budget=config.db_max_connections,
            rule=rule,
        )
    return findings


def _app_findings(
    queues: list[QueueAdvice],
    index: _Index,
    commands: list[deploy.WorkerCommand],
    configured: Pool | None,
    rule: routing.RuleFactory,
) -> list[Finding]:
    """App-wide time limits, settings the pool ignores, and queues nobody consumes."""
    limits = {
        k: (str(v.value), v.location) for k, v in index.settings.items() if k.endswith("time_limit")
    }
    findings = list(conflicts.app_wide_limits(queues, limits, rule))
    findings += _settings_findings(index.settings, configured, rule)
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
    module_hazard = _module_hazard(project, tdef.module, fork_unsafe)
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


def _import_time_hazards(project: Project) -> dict[str, Evidence]:
    """Fork-unsafe calls made at module level, by module."""
    found: dict[str, Evidence] = {}
    for module, facts in project.modules.items():
        for site in facts.calls:
            for target in project.targets(site):
                row = target.call
                if row is not None and Hazard.FORK_UNSAFE in row.hazards:
                    found.setdefault(
                        module,
                        Evidence(
                            Hazard.FORK_UNSAFE.value,
                            target.name,
                            Location(facts.path, site.line, site.col),
                            (module,),
                            row.note,
                        ),
                    )
    return found


def _module_hazard(
    project: Project, module: str, fork_unsafe: dict[str, Evidence]
) -> Evidence | None:
    """A fork-unsafe import-time call in ``module`` or a project module it imports."""
    if not fork_unsafe:
        return None
    seen = {module}
    stack: list[tuple[str, tuple[str, ...]]] = [(module, (module,))]
    while stack:
        current, chain = stack.pop()
        if current in fork_unsafe:
            ev = fork_unsafe[current]
            return Evidence(ev.kind, ev.call, ev.location, chain, ev.note)
        for imported in project.imports.get(current, {}).values():
            symbol = project.resolve(imported)
            target = symbol.name if symbol.kind == "module" else ""
            if not target:
                target = next(
                    (m for m in (imported.rpartition(".")[0],) if m in project.modules), ""
                )
            if target and target not in seen:
                seen.add(target)
                stack.append((target, (*chain, target)))
    return None


def _configured_pool(evaluator: Evaluator, settings: dict[str, discovery.Setting]) -> Pool | None:
    setting = settings.get("worker_pool")
    if setting is None:
        return None
    value = evaluator.eval(setting.value)
    if isinstance(value, FromEnv):
        value = value.default
    return _parse_pool(value) if isinstance(value, str) else None


def _parse_pool(value: str) -> Pool | None:
    try:
        return Pool.parse(value)
    except ValueError:
        return None


def _deployed_pool(queue: str, commands: list[deploy.WorkerCommand]) -> Pool | None:
    for cmd in commands:
        if cmd.consumes(queue):
            return cmd.pool or Pool.PREFORK
    return None


def _settings_findings(
    settings: dict[str, discovery.Setting], pool: Pool | None, rule: routing.RuleFactory
) -> list[Finding]:
    out: list[Finding] = []
    if pool is Pool.EVENTLET:
        # From worker_pool, or from the live worker (the start-up guard of a -P eventlet
        # worker), which has no setting to point at.
        setting = settings.get("worker_pool")
        out.append(
            finding(
                "PK305",
                setting.location if setting is not None else None,
                message="the eventlet pool is deprecated upstream: migrate to gevent",
            )
        )
    for key in ("worker_max_tasks_per_child", "worker_max_memory_per_child"):
        if key in settings and pool is not None and pool is not Pool.PREFORK:
            out.append(
                rule(
                    "PK303",
                    f"{key} is ignored: worker_pool is {pool.value}, and only "
                    "prefork recycles processes",
                    settings[key].location,
                )
            )
    return out


def _filter(findings: list[Finding], project: Project, config: AdvisorConfig) -> list[Finding]:
    ignores: dict[str, dict[int, tuple[str, ...]]] = {
        f.path: dict(f.ignores) for f in project.modules.values() if f.ignores
    }
    kept = []
    seen = set()
    for found in findings:
        if not config.enabled(found.rule):
            continue
        loc = found.location
        if loc is not None:
            rules = ignores.get(loc.path, {}).get(loc.line, ())
            if "" in rules or found.rule in rules:
                continue
        key = (found.rule, found.message, loc)
        if key not in seen:
            seen.add(key)
            kept.append(found)
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(kept, key=lambda f: (order[f.severity.value], f.rule, str(f.location or "")))
