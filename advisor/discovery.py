"""Find the Celery apps, their configuration, and every task, from facts alone.

Tasks: ``@app.task`` / ``@shared_task`` with or without arguments, ``@<any app>.task``,
project wrappers (a decorator whose body calls one of those, like sentry's
``instrumented_task``), and class-based tasks (a ``run`` method on a ``Task`` subclass).
Configuration: ``config_from_object`` modules and classes (with Django's ``CELERY_``
namespace), ``app.conf.update(...)``, ``app.conf.x = ...``, and old uppercase names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from celery_poolkit.advisor.facts import (
    CallSite,
    CallV,
    ClassFacts,
    Decorator,
    DictV,
    FunctionFacts,
    Lit,
    ModuleFacts,
    Ref,
    Value,
)
from celery_poolkit.advisor.project import Project, Symbol
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
_TASK_BASES = frozenset(
    {
        "celery.Task",
        "celery.app.task.Task",
        "celery.task.Task",
        "celery.task.base.Task",
        # Celery 3's periodic tasks: a class with ``run_every`` and ``run``.
        "celery.task.PeriodicTask",
        "celery.task.base.PeriodicTask",
    }
)
#: Celery apps that libraries create and projects import (``from pyramid_celery import
#: celery_app as app``): ``@app.task`` on them makes tasks.
_LIBRARY_APPS = frozenset({"pyramid_celery.celery_app"})
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
    if symbol.kind == "func":
        # app = create_application(), a project factory that returns Celery(...).
        made = project.type_of_result(func)
        return made is not None and (
            made[1] in _APP_CLASSES or (made[0] == "class" and _is_app_class(project, made[1]))
        )
    return symbol.kind == "class" and any(b in _APP_CLASSES for b in project.mro(symbol.name))


def find_settings(project: Project, apps: list[AppInfo]) -> dict[str, Setting]:
    """The Celery settings the project configures, by today's lowercase names."""
    found: dict[str, Setting] = {}
    _app_arguments(project, apps, found)  # Celery's preconf wins over config_from_object
    sources: list[tuple[str, str]] = []  # (module or class id, namespace)
    namespaces: set[str] = set()
    django_settings = ""
    for facts in project.modules.values():
        django_settings = _scan_calls(facts, found, sources, namespaces) or django_settings
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


def _app_arguments(project: Project, apps: list[AppInfo], found: dict[str, Setting]) -> None:
    """``Celery("proj", broker=..., backend=...)``: constructor arguments are settings."""
    for app in apps:
        created = project.assigns.get(app.module, {}).get(app.var)
        if isinstance(created, CallV):
            for keyword, item in created.kwargs:
                if keyword in _APP_KWARGS:
                    _put(found, _APP_KWARGS[keyword], item, app.location)


def _scan_calls(
    facts: ModuleFacts,
    found: dict[str, Setting],
    sources: list[tuple[str, str]],
    namespaces: set[str],
) -> str:
    """One module's configuration calls: ``config_from_object`` sources (added to
    ``sources``), ``app.conf.update(...)`` settings (added to ``found``); returns the
    ``DJANGO_SETTINGS_MODULE`` it sets, if any."""
    django_settings = ""
    for site in facts.calls:
        if site.target.rpartition(".")[2] == "config_from_object" and site.args:
            namespace, source = _config_source(site)
            namespaces.add(namespace)
            if source:
                sources.append((source, namespace))
        elif site.target.endswith(".conf.update"):
            _conf_update(site, Location(facts.path, site.line), found)
        elif site.target == "os.environ.setdefault" and len(site.args) == 2:
            django_settings = _django_settings_module(site) or django_settings
    return django_settings


def _config_source(site: CallSite) -> tuple[str, str]:
    """``app.config_from_object(obj, namespace=...)``: (namespace, the object's dotted
    name, or "" when it is not a literal or a name)."""
    ns = site.kw("namespace")
    namespace = ns.value if isinstance(ns, Lit) and isinstance(ns.value, str) else ""
    first = site.args[0]
    if isinstance(first, Lit) and isinstance(first.value, str):
        return namespace, first.value.replace(":", ".")
    if isinstance(first, Ref):
        return namespace, first.name
    return namespace, ""


def _conf_update(site: CallSite, where: Location, found: dict[str, Setting]) -> None:
    for arg in site.args:
        if isinstance(arg, DictV):
            for item_key, item in arg.items:
                if isinstance(item_key, Lit) and isinstance(item_key.value, str):
                    _put(found, item_key.value, item, where)
    for keyword, item in site.kwargs:
        _put(found, keyword, item, where)


def _django_settings_module(site: CallSite) -> str:
    """``os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")``."""
    var, module_name = site.args
    if (
        isinstance(var, Lit)
        and var.value == "DJANGO_SETTINGS_MODULE"
        and isinstance(module_name, Lit)
        and isinstance(module_name.value, str)
    ):
        return module_name.value
    return ""


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
    templates = _templates(project, factories)
    tasks: list[TaskDef] = []
    for fid, (facts, fn) in project.functions.items():
        if fid in templates:
            continue
        for dec in fn.decorators:
            defaults = _task_decorator(project, dec, factories)
            if defaults is not None:
                tasks.append(
                    _function_task(facts, fn.qualname, fid, fn.line, dec, defaults=defaults)
                )
                break
    tasks.extend(_registered_by_call(project, factories, {t.body for t in tasks}))
    for cid, (facts, cls) in project.classes.items():
        if cls.qualname.count(".") or not _is_task_class(project, cid):
            continue
        run = project.resolve(f"{cid}.run")
        if run.kind != "func" or run.name.rpartition(".")[0] in _TASK_BASES:
            continue
        if _abstract_run(project, run.name):
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


Options = tuple[tuple[str, Value], ...]


def _registered_by_call(
    project: Project, factories: dict[str, Options], known: set[str]
) -> Iterator[TaskDef]:
    """Functions made tasks by calling the decorator at module level: ``send_task =
    app.task(send)``, ``app.task(queue="q")(send)``, ``shared_task(send)``. Celery names
    them after the function, as if decorated where it is defined."""
    for facts in project.modules.values():
        made: dict[tuple[int, str], CallSite] = {(s.line, s.target): s for s in facts.calls}
        for site in facts.calls:
            applied = _applied_decorator(site, made)
            if applied is None or len(site.args) != 1 or not isinstance(site.args[0], Ref):
                continue
            fn = project.resolve(site.args[0].name)
            if fn.kind != "func" or fn.name in known:
                continue
            defaults = _task_decorator(project, applied, factories)
            if defaults is not None:
                known.add(fn.name)
                owner, fn_facts = project.functions[fn.name]
                yield _function_task(
                    owner, fn_facts.qualname, fn.name, fn_facts.line, applied, defaults=defaults
                )


def _applied_decorator(site: CallSite, made: dict[tuple[int, str], CallSite]) -> Decorator | None:
    """The decorator a module-level call applies to its argument: ``deco(fn)`` applies
    ``deco``; ``deco(**options)(fn)`` applies ``deco`` with those options (the inner call
    is the site on the same line that ``site``'s receiver names)."""
    if site.target.rpartition(".")[2] in _TASK_NAMES and not site.recv_kind:
        return Decorator(site.target, site.line, kwargs=site.kwargs)
    if site.recv_kind == "result" and not site.target:
        inner = made.get((site.line, site.recv))
        if inner is not None and site.recv.rpartition(".")[2] in _TASK_NAMES:
            return Decorator(inner.target, inner.line, called=True, kwargs=inner.kwargs)
    return None


def _function_task(
    facts: ModuleFacts, qual: str, fid: str, line: int, dec: Decorator, *, defaults: Options
) -> TaskDef:
    # A wrapper's own options (``partial(shared_task, queue="io")``, a factory that calls
    # ``app.task(queue="io", **kw)``) apply unless the decorator says otherwise.
    options = {**dict(defaults), **dict(dec.kwargs)}
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


def _is_task_decorator(project: Project, dec: Decorator, factories: dict[str, Options]) -> bool:
    return _task_decorator(project, dec, factories) is not None


def _task_decorator(
    project: Project, dec: Decorator, factories: dict[str, Options], hops: int = 0
) -> Options | None:
    """The options a decorator gives the tasks it makes, or None if it makes no task.

    Celery's own decorators and any app's ``.task``; a project name bound to one of them
    (``task = app.task``, ``task = partial(shared_task, bind=True)``); a project function
    or class whose body applies one (:func:`_task_factories`).
    """
    ref = dec.ref
    if ref in _TASK_DECORATORS:
        return ()
    head, _, last = ref.rpartition(".")
    if ref.startswith(LOCAL_HEAD):
        return _local_app_task(project, head, last)
    if last in ("task", "periodic_task") and head:
        made = _app_task_attribute(project, head, last, factories)
        if made is not _NAME_IN_MODULE:
            return made
        # else ``task`` is a name in a project module: what it is bound to decides.
    symbol = project.resolve(ref)
    if symbol.kind in ("func", "class"):
        return factories.get(symbol.name)
    if symbol.kind == "external":
        return () if symbol.name in _TASK_DECORATORS else None
    if symbol.kind == "instance" and len(symbol.rest) == 1:
        # task = app.task, with app = Celery(...); or an object whose method makes tasks.
        return _by_app(project, symbol.name, symbol.rest[0], factories)
    value = symbol.value
    if not isinstance(value, CallV) or hops > 4:
        return None
    return _held_decorator(project, value, dec, factories, hops)


#: :func:`_app_task_attribute`'s answer when ``head.task`` names a project module's own
#: ``task``, which :func:`_task_decorator` resolves like any other name.
_NAME_IN_MODULE: Options = (("", Lit("")),)


def _app_task_attribute(
    project: Project, head: str, last: str, factories: dict[str, Options]
) -> Options | None:
    """``@<head>.task``: a task when ``head`` is an app (or a celery module, or an app a
    library makes), none when it is some other object, :data:`_NAME_IN_MODULE` when it is
    a project module."""
    if head.startswith("celery") or head in _LIBRARY_APPS:
        return ()  # celery.current_app.task and friends
    symbol = project.resolve(head)
    if symbol.kind == "value" and isinstance(symbol.value, CallV):
        made = _by_app(project, symbol.value.func, last, factories)
        if made is not None:
            return made
    if symbol.kind == "module":
        return _NAME_IN_MODULE
    return () if _holds_an_app(project, symbol) else None


def _holds_an_app(project: Project, symbol: Symbol) -> bool:
    """Whether a name the resolver could not pin to ``Celery(...)`` is an app all the
    same: Celery's own object (``celery = current_app``), a library's app, a module name
    assigned an app on some path (``try: app = Celery(...) except ...: app = None``), or,
    when nothing says what it holds (a tuple unpacked from a factory, a global set to
    ``None`` and filled at start-up, an extension's attribute), a name like an app's."""
    if symbol.kind == "external":
        return symbol.name in _LIBRARY_APPS or symbol.name.startswith("celery.")
    named = symbol.rest[-1] if symbol.rest else symbol.name.rpartition(".")[2]
    if symbol.kind == "value" and not symbol.rest:
        if _assigned_an_app(project, symbol.module, named):
            return True
        return symbol.value == Lit(None) and bool(_APP_PARAMS.match(named))
    return symbol.kind in ("unknown", "instance") and bool(_APP_PARAMS.match(named))


def _assigned_an_app(project: Project, module: str, name: str) -> bool:
    facts = project.modules.get(module)
    return facts is not None and any(
        n == name and isinstance(v, CallV) and _is_app_class(project, v.func)
        for n, v in facts.assigns
    )


def _by_app(
    project: Project, func: str, method: str, factories: dict[str, Options]
) -> Options | None:
    """Options of ``<x>.<method>`` where ``x = func(...)``: a task when ``func`` makes an
    app, or when ``func`` is a project class whose ``method`` makes tasks (an extension
    object holding the app: ``celery = Holder(); @celery.task``)."""
    if method in ("task", "periodic_task") and (
        _is_app_class(project, func) or "celery" in func.lower()
    ):
        return ()
    found = project.resolve(f"{func}.{method}")
    return factories.get(found.name) if found.kind == "func" else None


#: Decorator refs whose head is a name local to the enclosing function, written by the
#: visitor (:data:`.visitor.LOCAL_HEAD`): ``def setup(app): @app.task`` is
#: ``<param:app>.task``, ``def setup(app: Celery)`` is ``<instance:celery.Celery>.task``.
LOCAL_HEAD = "<"
#: Parameter names that hold a Celery app by convention (``app``, ``celery``,
#: ``celery_app``): ``.task`` on any other parameter is not taken for Celery's.
_APP_PARAMS = re.compile(r"^_?(app|application|celery\w*|\w*_celery|\w*celery_app)$")


def _local_app_task(project: Project, head: str, last: str) -> Options | None:
    """``@<local>.task`` inside a function: a task when the local is a parameter named
    like an app, or is annotated with an app class."""
    if last not in ("task", "periodic_task"):
        return None
    kind, _, what = head[1:].partition(">")[0].partition(":")
    if kind == "param" and _APP_PARAMS.match(what):
        return ()
    if kind == "instance" and _is_app_class(project, what):
        return ()
    return None


def _held_decorator(
    project: Project, value: CallV, dec: Decorator, factories: dict[str, Options], hops: int
) -> Options | None:
    """A decorator held in a variable: ``task = partial(shared_task, bind=True)``, or
    ``retry_task = shared_task(bind=True, max_retries=3)`` (a called decorator that
    ``@retry_task`` applies with those options)."""
    if value.func in _PARTIALS and value.args:
        wrapped = value.args[0]
        if not isinstance(wrapped, Ref):
            return None
        inner = _task_decorator(project, Decorator(wrapped.name, dec.line), factories, hops + 1)
        return None if inner is None else (*inner, *value.kwargs)
    made = Decorator(value.func, dec.line, called=True, kwargs=value.kwargs)
    inner = _task_decorator(project, made, factories, hops + 1)
    return None if inner is None else (*inner, *value.kwargs)


_PARTIALS = frozenset({"functools.partial", "functools.partialmethod"})
#: Methods that, when they apply the task decorator, make their class a task factory
#: (treeherder's ``class retryable_task: def __call__(self, f): ... shared_task(...)``).
_FACTORY_METHODS = frozenset({"__call__", "__init__", "__new__"})
#: Options a wrapper may fix for all its tasks; ``name`` never (it names one task).
_WRAPPER_OPTIONS = frozenset({"queue", "routing_key", "time_limit", "soft_time_limit"})


def _task_factories(project: Project) -> dict[str, Options]:
    """Project functions and classes that wrap Celery's task decorators, with the options
    they fix for every task they make.

    A function is a factory when its body calls ``app.task``/``shared_task`` (sentry's
    ``instrumented_task``), when a function nested in it does (``functools.wraps``
    wrappers), or when a function nested in it is decorated with one (it returns the
    decorated inner function). A class is one when its ``__call__``, ``__init__`` or
    ``__new__`` is. Wrappers of wrappers follow, to a fixpoint.
    """
    direct = _direct_factories(project)
    factories = dict(direct)
    for fid, options in direct.items():
        for outer in _enclosing(project, fid):
            factories.setdefault(outer, options)
    _add_wrappers(project, factories)
    return factories


def _direct_factories(project: Project) -> dict[str, Options]:
    """Functions whose own body applies a task decorator, or whose nested function is
    decorated with one."""
    direct: dict[str, Options] = {}
    for fid, (_, fn) in project.functions.items():
        options = _applied_in_body(project, fn)
        if options is None and "." in fn.qualname and not fn.cls:
            # The decorated inner function is the template it returns.
            dec = next((d for d in fn.decorators if _is_task_decorator(project, d, {})), None)
            options = None if dec is None else _fixed_options(dec.kwargs)
        if options is not None:
            direct[fid] = options
    return direct


def _applied_in_body(project: Project, fn: FunctionFacts) -> Options | None:
    for site in fn.calls:
        # Cheap name test first: resolving every call of a large project is not.
        if site.target.rpartition(".")[2] not in _TASK_NAMES:
            continue
        if site.recv_kind == "selfattr" and _self_attr_is_app(project, site.recv):
            return _fixed_options(site.kwargs)  # self.app.task(...) on an app holder
        if site.recv_kind:
            continue
        if _is_task_decorator(project, Decorator(site.target, site.line), {}):
            return _fixed_options(site.kwargs)
    return None


def _self_attr_is_app(project: Project, recv: str) -> bool:
    """``self.<attr>`` (``recv`` is ``Class#attr``) holds a Celery app: the class assigns
    it one (``self.app = Celery(...)``), or, when the value comes from outside (a
    constructor argument), the attribute is named like one (``self.celery``)."""
    cid, _, attr = recv.partition("#")
    for base in project.mro(cid) if cid else ():
        if base in project.classes:
            for name, factory in project.classes[base][1].self_attrs:
                if name == attr:
                    return _is_app_class(project, factory)
    return bool(_APP_PARAMS.match(attr))


def _enclosing(project: Project, fid: str) -> Iterator[str]:
    """The functions ``fid`` is nested in, innermost first, and the class whose
    ``__call__``/``__init__``/``__new__`` it is (or is nested in)."""
    parts = fid.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        outer = ".".join(parts[:cut])
        if outer in project.functions:
            yield outer
        elif outer in project.classes and parts[cut] in _FACTORY_METHODS:
            yield outer
            return
        else:
            return


def _add_wrappers(project: Project, factories: dict[str, Options]) -> None:
    """Functions that call a factory are factories too (to a fixpoint, 10 rounds)."""
    for _ in range(10):
        names = {f.rpartition(".")[2] for f in factories}
        changed = False
        for fid, (_, fn) in project.functions.items():
            if fid in factories:
                continue
            options = _calls_factory(project, fn, factories, names)
            if options is not None:
                factories[fid] = options
                changed = True
        if not changed:
            return


def _calls_factory(
    project: Project, fn: FunctionFacts, factories: dict[str, Options], names: set[str]
) -> Options | None:
    for site in fn.calls:
        if site.recv_kind or site.target.rpartition(".")[2] not in names:
            continue
        symbol = project.resolve(site.target)
        if symbol.kind in ("func", "class") and symbol.name in factories:
            return (*factories[symbol.name], *_fixed_options(site.kwargs))
    return None


def _fixed_options(kwargs: Options) -> Options:
    return tuple((k, v) for k, v in kwargs if k in _WRAPPER_OPTIONS and isinstance(v, Lit))


def _templates(project: Project, factories: dict[str, Options]) -> set[str]:
    """Decorated functions nested in a factory: templates the factory applies to every
    function it decorates, not tasks of their own. Only when the enclosing factory is
    used as a decorator: ``def setup(): @app.task def ping(): ...`` still defines one."""
    nested = {
        fid
        for fid in factories
        if fid in project.functions
        and "." in project.functions[fid][1].qualname
        and project.functions[fid][1].decorators
        and not project.functions[fid][1].cls
    }
    if not nested:
        return set()
    outers = {o for o in factories if any(n.startswith(f"{o}.") for n in nested)}
    used: set[str] = set()
    names = {o.rpartition(".")[2] for o in outers}
    for _, fn in project.functions.values():
        for dec in fn.decorators:
            if dec.ref.rpartition(".")[2] in names:
                symbol = project.resolve(dec.ref)
                if symbol.name in outers:
                    used.add(symbol.name)
    return {n for n in nested if any(n.startswith(f"{o}.") for o in used)}


def _is_task_class(project: Project, cid: str) -> bool:
    if _declared_abstract(project, cid):
        return False
    for base in project.mro(cid)[1:]:
        if base in _TASK_BASES:
            return True
        head, _, last = base.rpartition(".")
        if last == "Task" and head.startswith("celery."):
            return True  # current_app.Task, a Celery module's Task
        if last == "Task" and head and base not in project.classes:
            symbol = project.resolve(head)
            if symbol.kind == "value" and isinstance(symbol.value, CallV):
                return True  # app.Task
    return False


def _abstract_run(project: Project, fid: str) -> bool:
    """``run`` only raises ``NotImplementedError()`` (gello's ``DBTask``), or wraps
    ``super().run(...)`` (a base that logs around whatever ``run`` the task made from
    it brings, as ``@shared_task(base=X)`` does): the class is a base, not a task."""
    calls = project.functions[fid][1].calls
    if len(calls) == 1 and calls[0].target == "NotImplementedError":
        return True
    return any(c.target == "run" and c.recv_kind == "super" for c in calls)


def _declared_abstract(project: Project, cid: str) -> bool:
    """``abstract = True`` in the class's own body: a base for other tasks, which Celery
    never registers as one (its ``run`` is usually a stub)."""
    own = dict(project.classes[cid][1].attrs)
    return own.get("abstract") == Lit(True)


def _class_options(project: Project, cid: str) -> dict[str, Value]:
    options: dict[str, Value] = {}
    for base in project.mro(cid):
        if base in project.classes:
            cls: ClassFacts = project.classes[base][1]
            for key, value in cls.attrs:
                options.setdefault(key, value)
    return options
