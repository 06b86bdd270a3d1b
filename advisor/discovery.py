"""Find the Celery apps, their configuration, and every task, from facts alone.

Tasks: ``@app.task`` / ``@shared_task`` with or without arguments, ``@<any app>.task``,
project wrappers (a decorator whose body calls one of those, like sentry's
``instrumented_task``), and class-based tasks (a ``run`` method on a ``Task`` subclass).
Configuration: ``config_from_object`` modules and classes (with Django's ``CELERY_``
namespace), ``app.conf.update(...)``, ``app.conf.x = ...``, and old uppercase names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from celery_poolkit.advisor.facts import (
    CallV,
    ClassFacts,
    Decorator,
    DictV,
    Lit,
    ModuleFacts,
    Ref,
    Value,
)
from celery_poolkit.advisor.project import Project
from celery_poolkit.model import Location

_TASK_DECORATORS = frozenset(
    {
        "celery.shared_task",
        "celery.task",
        "celery.app.shared_task",
        "celery.decorators.task",
        "celery.decorators.periodic_task",
        "celery.task.periodic_task",
        "celery.task.task",
    }
)
_TASK_NAMES = frozenset({"task", "periodic_task", "shared_task"})
_TASK_BASES = frozenset({"celery.Task", "celery.app.task.Task", "celery.task.Task"})
_APP_CLASSES = frozenset({"celery.Celery", "celery.app.Celery", "celery.app.base.Celery"})
#: Pre-4.0 setting names that projects still use, mapped to today's.
_OLD_NAMES = {
    "CELERY_ROUTES": "task_routes",
    "CELERY_QUEUES": "task_queues",
    "CELERY_DEFAULT_QUEUE": "task_default_queue",
    "CELERYD_CONCURRENCY": "worker_concurrency",
    "CELERYD_POOL": "worker_pool",
    "CELERYD_MAX_TASKS_PER_CHILD": "worker_max_tasks_per_child",
    "CELERYD_MAX_MEMORY_PER_CHILD": "worker_max_memory_per_child",
    "CELERYD_TASK_TIME_LIMIT": "task_time_limit",
    "CELERYD_TASK_SOFT_TIME_LIMIT": "task_soft_time_limit",
    "CELERY_CREATE_MISSING_QUEUES": "task_create_missing_queues",
    "BROKER_URL": "broker_url",
    "BROKER_TRANSPORT_OPTIONS": "broker_transport_options",
    "CELERY_ACKS_LATE": "task_acks_late",
    "CELERY_RESULT_BACKEND": "result_backend",
    "CELERY_REDIS_MAX_CONNECTIONS": "redis_max_connections",
}
#: The settings the advisor reads; everything else in a config module is ignored.
SETTINGS = frozenset(
    {
        "task_routes",
        "task_queues",
        "task_default_queue",
        "worker_pool",
        "worker_concurrency",
        "worker_max_tasks_per_child",
        "worker_max_memory_per_child",
        "task_time_limit",
        "task_soft_time_limit",
        "task_create_missing_queues",
        # Connection budgets (PK307): the broker, its pool, late acks, the result backend.
        "broker_url",
        "broker_transport_options",
        "task_acks_late",
        "result_backend",
        "redis_max_connections",
        "result_backend_thread_safe",
    }
)
#: ``Celery(broker=..., backend=...)``: constructor arguments that are settings.
_APP_KWARGS = {"broker": "broker_url", "backend": "result_backend"}


@dataclass(frozen=True, slots=True)
class AppInfo:
    module: str
    var: str
    location: Location

    @property
    def cli_name(self) -> str:
        """The ``-A`` argument Celery resolves to this app (it tries ``pkg.celery:app``)."""
        parent, _, last = self.module.rpartition(".")
        if self.var in ("app", "celery") and last == "celery" and parent:
            return parent
        if self.var in ("app", "celery"):
            return self.module
        return f"{self.module}:{self.var}"


@dataclass(frozen=True, slots=True)
class TaskDef:
    name: str
    body: str  # function id whose effects are the task's (the function, or Class.run)
    location: Location
    options: dict[str, Value] = field(default_factory=dict)  # decorator/class options
    module: str = ""


@dataclass(frozen=True, slots=True)
class Setting:
    value: Value
    location: Location


def find_apps(project: Project) -> list[AppInfo]:
    apps = []
    for module, facts in project.modules.items():
        for name, value in facts.assigns:
            if isinstance(value, CallV) and _is_app_class(project, value.func):
                line = next((c.line for c in facts.calls if c.target == value.func), 1)
                apps.append(AppInfo(module, name, Location(facts.path, line)))
    return apps


def _is_app_class(project: Project, func: str) -> bool:
    if func in _APP_CLASSES:
        return True
    symbol = project.resolve(func)
    return symbol.kind == "class" and any(b in _APP_CLASSES for b in project.mro(symbol.name))


def find_settings(project: Project, apps: list[AppInfo]) -> dict[str, Setting]:
    """The Celery settings the project configures, by today's lowercase names."""
    found: dict[str, Setting] = {}
    namespaces: set[str] = set()
    sources: list[tuple[str, str]] = []  # (module or class id, namespace)
    django_settings = ""
    for app in apps:
        created = project.assigns.get(app.module, {}).get(app.var)
        if isinstance(created, CallV):  # Celery's preconf wins over config_from_object
            for keyword, item in created.kwargs:
                if keyword in _APP_KWARGS:
                    _put(found, _APP_KWARGS[keyword], item, app.location)
    for facts in project.modules.values():
        for site in facts.calls:
            last = site.target.rpartition(".")[2]
            if last == "config_from_object" and site.args:
                ns = site.kw("namespace")
                namespace = ns.value if isinstance(ns, Lit) and isinstance(ns.value, str) else ""
                namespaces.add(namespace)
                first = site.args[0]
                if isinstance(first, Lit) and isinstance(first.value, str):
                    sources.append((first.value.replace(":", "."), namespace))
                elif isinstance(first, Ref):
                    sources.append((first.name, namespace))
            elif site.target.endswith(".conf.update"):
                where = Location(facts.path, site.line)
                for arg in site.args:
                    if isinstance(arg, DictV):
                        for item_key, item in arg.items:
                            if isinstance(item_key, Lit) and isinstance(item_key.value, str):
                                _put(found, item_key.value, item, where)
                for keyword, item in site.kwargs:
                    _put(found, keyword, item, where)
            elif site.target == "os.environ.setdefault" and len(site.args) == 2:
                var, module_name = site.args
                if (
                    isinstance(var, Lit)
                    and var.value == "DJANGO_SETTINGS_MODULE"
                    and isinstance(module_name, Lit)
                    and isinstance(module_name.value, str)
                ):
                    django_settings = module_name.value
        for target, assigned, line in facts.attr_assigns:
            head, _, setting = target.rpartition(".")
            if head.endswith(".conf"):
                _put(found, setting, assigned, Location(facts.path, line))
    for source, namespace in sources:
        name = django_settings if source == "django.conf.settings" else source
        _read_object(project, name, namespace, found)
    if "CELERY" in namespaces or not sources:
        # Django projects split settings over modules joined by star imports, which the
        # visitor does not follow: read CELERY_* names wherever they are defined.
        for module, facts in sorted(project.modules.items()):
            if any(n.startswith(("CELERY_", "CELERYD_")) for n, _ in facts.assigns):
                _read_object(project, module, "CELERY", found)
    return found


def django_settings(project: Project) -> dict[str, Value]:
    """Every UPPERCASE module-level name of modules that look like Django settings."""
    merged: dict[str, Value] = {}
    for module, facts in sorted(project.modules.items()):
        if "settings" in module.split(".")[-2:] or module.endswith("settings"):
            for name, value in facts.assigns:
                if name.isupper():
                    merged.setdefault(name, value)
    return merged


def _read_object(project: Project, source: str, namespace: str, found: dict[str, Setting]) -> None:
    prefix = f"{namespace}_" if namespace else ""
    items: list[tuple[str, Value]]
    if source in project.modules:
        facts = project.modules[source]
        items = list(facts.assigns)
        path = facts.path
    elif source in project.classes:
        facts, cls = project.classes[source]
        items, path = list(cls.attrs), facts.path
    else:
        return
    for name, value in items:
        key = name
        if name in _OLD_NAMES:
            key = _OLD_NAMES[name]
        elif prefix and name.startswith(prefix):
            key = name[len(prefix) :].lower()
        elif prefix:
            continue
        _put(found, key, value, Location(path, 1))


def _put(found: dict[str, Setting], key: str, value: Value, location: Location) -> None:
    key = _OLD_NAMES.get(key, key)
    if key in SETTINGS:
        found.setdefault(key, Setting(value, location))


def find_tasks(project: Project) -> list[TaskDef]:
    factories = _task_factories(project)
    tasks: list[TaskDef] = []
    for fid, (facts, fn) in project.functions.items():
        for dec in fn.decorators:
            if _is_task_decorator(project, dec, factories):
                tasks.append(_function_task(facts, fn.qualname, fid, fn.line, dec))
                break
    for cid, (facts, cls) in project.classes.items():
        if cls.qualname.count(".") or not _is_task_class(project, cid):
            continue
        run = project.resolve(f"{cid}.run")
        if run.kind != "func" or run.name.rpartition(".")[0] in _TASK_BASES:
            continue
        options = _class_options(project, cid)
        name = options.pop("name", None)
        tasks.append(
            TaskDef(
                name=_literal(name) or f"{facts.module}.{cls.qualname}",
                body=run.name,
                location=Location(facts.path, cls.line),
                options=options,
                module=facts.module,
            )
        )
    return sorted(tasks, key=lambda t: (t.location.path, t.location.line))


def _function_task(facts: ModuleFacts, qual: str, fid: str, line: int, dec: Decorator) -> TaskDef:
    options = dict(dec.kwargs)
    name = options.pop("name", None)
    return TaskDef(
        name=_literal(name) or f"{facts.module}.{qual}",
        body=fid,
        location=Location(facts.path, line),
        options=options,
        module=facts.module,
    )


def _literal(value: Value | None) -> str | None:
    return value.value if isinstance(value, Lit) and isinstance(value.value, str) else None


def _is_task_decorator(project: Project, dec: Decorator, factories: set[str]) -> bool:
    ref = dec.ref
    if ref in _TASK_DECORATORS:
        return True
    head, _, last = ref.rpartition(".")
    if last in ("task", "periodic_task") and head:
        if head.startswith("celery"):
            return True  # celery.current_app.task and friends
        symbol = project.resolve(head)
        if symbol.kind == "value" and isinstance(symbol.value, CallV):
            func = symbol.value.func
            return _is_app_class(project, func) or "celery" in func.lower()
        return symbol.kind == "unknown" and head.rpartition(".")[2] in ("app", "celery_app")
    symbol = project.resolve(ref)
    return symbol.kind == "func" and symbol.name in factories


def _task_factories(project: Project) -> set[str]:
    """Project functions that wrap Celery's task decorators (``instrumented_task``)."""
    direct: set[str] = set()
    for fid, (_, fn) in project.functions.items():
        for site in fn.calls:
            # Cheap name test first: resolving every call of a large project is not.
            if site.recv_kind or site.target.rpartition(".")[2] not in _TASK_NAMES:
                continue
            if _is_task_decorator(project, Decorator(site.target, site.line), set()):
                direct.add(fid)
                break
    # A nested function that calls app.task makes its enclosing decorator a factory too,
    # and so does a wrapper of a wrapper: propagate to a fixpoint.
    factories = set(direct)
    for fid in direct:
        parts = fid.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            outer = ".".join(parts[:cut])
            if outer in project.functions:
                factories.add(outer)
    changed = True
    rounds = 0
    while changed and rounds < 10:
        changed, rounds = False, rounds + 1
        names = {f.rpartition(".")[2] for f in factories}
        for fid, (_, fn) in project.functions.items():
            if fid in factories:
                continue
            for site in fn.calls:
                if site.recv_kind or site.target.rpartition(".")[2] not in names:
                    continue
                symbol = project.resolve(site.target)
                if symbol is not None and symbol.kind == "func" and symbol.name in factories:
                    factories.add(fid)
                    changed = True
                    break
    return factories


def _is_task_class(project: Project, cid: str) -> bool:
    for base in project.mro(cid)[1:]:
        if base in _TASK_BASES:
            return True
        head, _, last = base.rpartition(".")
        if last == "Task" and head and base not in project.classes:
            symbol = project.resolve(head)
            if symbol.kind == "value" and isinstance(symbol.value, CallV):
                return True  # app.Task
    return False


def _class_options(project: Project, cid: str) -> dict[str, Value]:
    options: dict[str, Value] = {}
    for base in project.mro(cid):
        if base in project.classes:
            cls: ClassFacts = project.classes[base][1]
            for key, value in cls.attrs:
                options.setdefault(key, value)
    return options
