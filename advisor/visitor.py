"""One pass over one module's AST, producing its :class:`~.facts.ModuleFacts`.

Like pyflakes, module-level names are collected first and function bodies afterwards, so
a task may call a helper defined further down. Like flake8-async's ``_canonical``, every
name is resolved through the imports in scope; a name that cannot be resolved is left
out rather than guessed, and a receiver whose class is unknown yields no method call.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterator, Sequence

from celery_poolkit.advisor import archives, callbacks, loop_items, nodes, services
from celery_poolkit.advisor.children import ChildPrograms
from celery_poolkit.advisor.facts import (
    CHAINED,
    IMPORTED,
    ITEM,
    PICKED,
    CallSite,
    CallV,
    ClassFacts,
    Decorator,
    DictV,
    EnvV,
    FunctionFacts,
    Hint,
    Lit,
    ModuleFacts,
    Ref,
    SeqV,
    Unknown,
    Value,
)

_BUILTINS = frozenset(dir(builtins))
# Calls whose arguments the routing and discovery stages read; for the rest only the
# callee is kept, which keeps the cached facts of a big project small.
_ARG_CALLS = frozenset(
    {
        "apply_async",
        "set",
        "send_task",
        "signature",
        "s",
        "si",
        "delay",
        "update",
        "config_from_object",
        "setdefault",
        "Celery",
        "register_task",
        "task",
        "shared_task",
        "call_command",  # its first argument names the management command (inferred.py)
        "register_service_factory",  # its factory and name (services.py)
    }
)
_MAX_VALUE_DEPTH = 12  # deeper literals are summarised as Unknown, never recursed into
_LARGE_RANGE = 10_000  # range(n) literals below this are bookkeeping loops, not CPU work
_SIZE_CALLS = frozenset({"len", "int", "round", "min", "math.floor", "math.ceil"})
_IGNORE = re.compile(r"#\s*poolkit:\s*ignore(?:\[([A-Za-z0-9_,\s]+)\])?")

Binding = tuple[str, str]  # (kind, dotted): kind is "alias", "result" or "instance"
#: Binding kinds for a value picked from candidates: ("dispatch", "pkg.mod.TABLE") for an
#: item of a module-level table, ("getattr", "pkg.mod#on_*") for getattr(obj, f"on_{x}").
DISPATCH = ("dispatch", "getattr")
#: Call sites on a parameter, kept apart from the body's calls (see FunctionFacts).
PARAM_KINDS = ("param", "paramresult")
#: Receivers whose methods are never project functions taking a passed object.
_LIBRARY_KINDS = ("param", "paramresult", "dispatch", "getattr")


def _name_pattern(node: ast.expr) -> str:
    """The attribute names ``getattr`` may read: a literal, or an f-string's literal parts
    with ``*`` between them; "" when nothing literal is left (any name at all)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if not isinstance(node, ast.JoinedStr):
        return ""
    parts = [
        v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "*"
        for v in node.values
    ]
    pattern = re.sub(r"\*+", "*", "".join(parts))
    return pattern if pattern.strip("*") else ""


def module_facts(
    source: str,
    path: str,
    module: str,
    *,
    is_package: bool,
    full: bool = True,
    parsed: str | None = None,
) -> ModuleFacts:
    """Parse ``source`` and record its facts. Raises SyntaxError/RecursionError/ValueError
    for input that cannot be analysed; the caller turns those into ``skipped`` entries.

    ``full=False`` records an outline: everything at module and class level (imports,
    assignments, module-level calls, classes, function signatures and decorators) but
    no function bodies, which are most of the work. The engine asks for the full facts
    of the modules whose functions a task can reach. ``parsed`` is the text to parse
    when it is not ``source`` itself (an outline's, with function bodies blanked out).
    """
    tree = ast.parse(source if parsed is None else parsed, filename=path)
    return _ModuleVisitor(path, module, is_package, full).run(tree, source)


def _ignores(source: str) -> tuple[tuple[int, tuple[str, ...]], ...]:
    if "poolkit:" not in source:
        return ()
    found = []
    for number, line in enumerate(source.splitlines(), start=1):
        match = _IGNORE.search(line)
        if match:
            rules = tuple(r.strip().upper() for r in (match.group(1) or "").split(",") if r.strip())
            found.append((number, rules or ("",)))
    return tuple(found)


class _ModuleVisitor:
    def __init__(self, path: str, module: str, is_package: bool, full: bool) -> None:
        self.full = full
        self.path = path
        self.module = module
        self.is_package = is_package
        self.package = module if is_package else module.rpartition(".")[0]
        self.imports: dict[str, str] = {}
        self.defined: set[str] = set()
        self.table_names: set[str] = set()  # module-level names bound to literal tables
        self.strings: dict[str, str] = {}  # module-level names bound to one string literal
        #: Module-level names bound to an object (``client = MongoClient()``, ``db =
        #: client["shop"]``): ``db["orders"]`` on them is an item, not a table's entry.
        self.objects: set[str] = set()
        self.starred = False  # the module has a ``from x import *``
        self.fallbacks: set[int] = set()  # imports in except handlers (_fallback_imports)
        self.class_tables: set[str] = set()  # "pkg.mod.Class.NAME" bound to literal tables
        self.assigns: dict[str, Value] = {}
        self.attr_assigns: list[tuple[str, Value, int]] = []
        self.tables: list[tuple[str, int]] = []
        self.calls: list[CallSite] = []
        self.functions: list[FunctionFacts] = []
        self.classes: list[ClassFacts] = []

    # -- module level ---------------------------------------------------------------
    def run(self, tree: ast.Module, source: str) -> ModuleFacts:
        body = list(_flatten(tree.body))
        self.fallbacks = _fallback_imports(tree.body)
        for stmt in body:  # first the names, so bodies can refer to later definitions
            self._collect_name(stmt)
        for stmt in body:
            self._module_stmt(stmt)
        return ModuleFacts(
            path=self.path,
            module=self.module,
            is_package=self.is_package,
            lines=source.count("\n") + 1,
            imports=tuple(self.imports.items()),
            assigns=tuple(self.assigns.items()),
            attr_assigns=tuple(self.attr_assigns),
            tables=tuple(self.tables),
            calls=tuple(self.calls),
            functions=tuple(self.functions),
            classes=tuple(self.classes),
            full=self.full,
            ignores=_ignores(source),
        )

    def _collect_name(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            bindings = _import_bindings(stmt, self.package)
            if id(stmt) in self.fallbacks:  # the try body's import is the one that runs
                bindings = {k: v for k, v in bindings.items() if k not in self.imports}
            self.imports.update(bindings)
            self.starred = self.starred or any(k.startswith("*") for k in bindings)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            self.defined.add(stmt.name)
        elif isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                for name in _target_names(target):
                    self.defined.add(name)
                    if stmt.value is not None and _is_table(stmt.value):
                        self.table_names.add(name)
                    elif isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
                        self.strings[name] = stmt.value.value
                    elif isinstance(stmt.value, ast.Call | ast.Subscript | ast.Attribute):
                        self.objects.add(name)

    def module_resolve(self, name: str) -> str | None:
        if name in self.imports:
            return self.imports[name]
        if name in self.defined:
            return f"{self.module}.{name}"
        if name in _BUILTINS:
            return name
        if self.starred:  # from .models import *: the project finds which module has it
            return f"{self.module}.{name}"
        return None

    def _module_stmt(self, stmt: ast.stmt) -> None:
        scope = _Scope(self, {})
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            self._function(stmt, prefix="", cls="")
        elif isinstance(stmt, ast.ClassDef):
            self._class(stmt, prefix="")
        elif isinstance(stmt, ast.Assign | ast.AnnAssign):
            if stmt.value is not None:
                self._module_assign(stmt, stmt.value, scope)
        elif isinstance(stmt, ast.Expr | ast.AugAssign | ast.Return) and stmt.value is not None:
            self.calls.extend(scope.calls_in(stmt.value, keep_args=True))

    def _module_assign(
        self, stmt: ast.Assign | ast.AnnAssign, value_node: ast.expr, scope: _Scope
    ) -> None:
        """``NAME = value`` (a global, maybe a table), ``obj.attr = value`` or
        ``TABLE[key] = value`` at module level."""
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        value = scope.value(value_node)
        for target in targets:
            if isinstance(target, ast.Name):
                self.assigns[target.id] = value
                if isinstance(value, DictV | SeqV):
                    self.tables.append((target.id, stmt.lineno))
            elif isinstance(target, ast.Attribute):
                dotted = scope.dotted(target)
                if dotted:
                    self.attr_assigns.append((dotted, value, stmt.lineno))
            elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                self._fill_table(target.value.id, scope.value(target.slice), value)
        self.calls.extend(scope.calls_in(value_node, keep_args=True))

    def _fill_table(self, name: str, key: Value, value: Value) -> None:
        """``REGISTRY["password"] = password`` at module level after ``REGISTRY = {}``: a
        table filled entry by entry is the same dispatch table as a literal one."""
        table = self.assigns.get(name)
        if isinstance(table, DictV) and len(table.items) < _MAX_TABLE:
            self.assigns[name] = DictV((*table.items, (key, value)))

    # -- classes and functions ------------------------------------------------------
    def _class(self, node: ast.ClassDef, prefix: str) -> None:
        qual = f"{prefix}{node.name}"
        scope = _Scope(self, {})
        # A generic base is its class: ``class SQLConnector(BaseConnector[Engine])``.
        bases = tuple(
            b
            for b in (
                scope.dotted(base.value if isinstance(base, ast.Subscript) else base)
                for base in node.bases
            )
            if b
        )
        self_attrs: dict[str, str] = {}
        attrs, made, methods = self._class_body(node, qual, scope)
        # Methods first: their bodies record ``self.x = Factory(...)`` into self_attrs.
        for stmt in node.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                self._function(stmt, prefix=f"{qual}.", cls=qual, self_attrs=self_attrs)
            elif isinstance(stmt, ast.ClassDef):
                self._class(stmt, prefix=f"{qual}.")
        for name, produced in made.items():  # self.x = ... in a method wins
            self_attrs.setdefault(name, produced)
        self.classes.append(
            ClassFacts(
                qualname=qual,
                line=node.lineno,
                bases=bases,
                decorators=tuple(scope.decorators(node.decorator_list)),
                attrs=tuple(attrs),
                self_attrs=tuple(self_attrs.items()),
                methods=tuple(methods),
            )
        )

    def _class_body(
        self, node: ast.ClassDef, qual: str, scope: _Scope
    ) -> tuple[list[tuple[str, Value]], dict[str, str], list[str]]:
        """The class body's own statements: recorded attributes (task options, settings,
        literal tables), what attributes hold (``objects = OrderManager()``, ``session =
        requests.Session()``, ``_ctx: QueryContext``) and the method names."""
        attrs: list[tuple[str, Value]] = []
        made: dict[str, str] = {}
        methods: list[str] = []
        for stmt in node.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                methods.append(stmt.name)
            elif isinstance(stmt, ast.Assign | ast.AnnAssign):
                if stmt.value is not None:
                    self._class_assign(stmt, stmt.value, qual, scope, into=(attrs, made))
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    # _ctx: QueryContext, or api_client: API = None (a dataclass field
                    # with a default): what instances hold there once set.
                    typed = scope.annotation(stmt.annotation)
                    if typed:
                        made.setdefault(stmt.target.id, typed)
        return attrs, made, methods

    def _class_assign(
        self,
        stmt: ast.Assign | ast.AnnAssign,
        value: ast.expr,
        qual: str,
        scope: _Scope,
        *,
        into: tuple[list[tuple[str, Value]], dict[str, str]],
    ) -> None:
        """One ``NAME = value`` in a class body: a recorded attribute, a table of
        candidates, or what the attribute holds (``objects = OrderManager()``)."""
        attrs, made = into
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            table = _is_table(value)
            if table:  # HANDLERS = {...}: candidates for self.HANDLERS[kind](...)
                self.class_tables.add(f"{self.module}.{qual}.{target.id}")
            if table or _class_attr_wanted(target.id):
                attrs.append((target.id, scope.value(value)))
            produced = scope.callee(value) if isinstance(value, ast.Call) else None
            if produced in _RELATIONS and isinstance(value, ast.Call):
                # admin = ForeignKey(User, ...): ``election.admin`` is a User.
                produced = _related_model(value, scope, f"{self.module}.{qual}")
            if produced:
                made[target.id] = produced

    def _function(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        prefix: str,
        cls: str,
        outer: dict[str, Binding] | None = None,
        self_attrs: dict[str, str] | None = None,
    ) -> None:
        qual = f"{prefix}{node.name}"
        bindings: dict[str, Binding] = dict(outer or {})
        # Decorators run in the enclosing scope: a local named like the app (``app =
        # App.objects.get(...)`` in the body) must not change what ``@app.task`` is.
        decorators = tuple(_Scope(self, dict(bindings)).decorators(node.decorator_list))
        scope = _Scope(self, bindings)
        body = _FunctionBody(scope, qual, cls, self_attrs)
        params: tuple[str, ...] = ()
        if self.full:
            params = _bind_parameters(node, scope, cls, f"{self.module}.{cls}" if cls else "")
            body.statements(node.body, loop_depth=0)
        # An annotated return type says what the result is, even when the body builds
        # it in a way the visitor cannot name (and in outlines, which skip bodies).
        annotated = scope.annotation(node.returns) if node.returns is not None else None
        items = scope.item_annotation(node.returns) if node.returns is not None else None
        if items and any(d.ref in _CONTEXT_DECORATORS for d in decorators):
            # @contextmanager def session() -> Iterator[Session]: ``with session() as s``
            # binds what it yields.
            annotated = items
        self.functions.append(
            FunctionFacts(
                qualname=qual,
                line=node.lineno,
                col=node.col_offset,
                calls=tuple(body.calls),
                decorators=decorators,
                hints=tuple(body.hints),
                returns=annotated or body.returns,
                returns_items=items or "",
                returned=tuple(dict.fromkeys(body.returned)),
                tables=tuple(body.tables),
                loops=tuple(body.loops),
                item_calls=tuple(body.item_calls),
                cls=cls,
                params=params,
                param_calls=tuple(body.param_calls),
            )
        )
        for inner in body.nested:
            self._function(inner, prefix=f"{qual}.", cls="", outer=bindings)


class _Scope:
    """Name resolution inside one function (or at module level, with no locals)."""

    def __init__(self, module: _ModuleVisitor, bindings: dict[str, Binding]) -> None:
        self.module = module
        self.bindings = bindings
        self.local_tables: set[str] = set()
        #: Parameters annotated as containers: the classes of one item, by position for
        #: ``list[tuple[str, Connector]]`` ("" where a position names no class).
        self.item_types: dict[str, tuple[str, ...]] = {}
        #: Locals bound to an attribute chain of a local value: ``db = client.shop`` ->
        #: ``{"db": ("shop",)}``, with ``db`` bound as ``client`` is.
        self.prefixes: dict[str, tuple[str, ...]] = {}

    def resolve(self, name: str) -> Binding | None:
        if name in self.bindings:
            return self.bindings[name]
        dotted = self.module.module_resolve(name)
        return ("alias", dotted) if dotted else None

    def dotted(self, node: ast.expr) -> str | None:
        """``a.b.c`` -> canonical dotted name, when ``a`` is an import or a global."""
        attrs: list[str] = []
        while isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        binding = self.resolve(node.id)
        if binding is None or binding[0] != "alias":
            return None
        return ".".join([binding[1], *reversed(attrs)])

    def _callee_parts(self, func: ast.expr) -> tuple[str, str, str] | None:
        """(target, recv, recv_kind) of a call's callee, as :class:`CallSite` has them."""
        func = self._without_getattr(func)
        if isinstance(func, ast.Name):
            return self._name_callee(func)
        if (picked := self.picked(func)) is not None:  # HANDLERS[kind](...)
            return "", picked[1], picked[0]
        if isinstance(func, ast.Attribute) and (picked := self.picked(func.value)) is not None:
            return func.attr, picked[1], picked[0]  # streams[name].populate(...)
        if isinstance(func, ast.Attribute):
            return self._attr_callee(func)
        if isinstance(func, ast.Call):  # factory()(...), chord(header)(callback)
            made = self._made_by(func)
            return ("", made, "result") if made else None
        return None

    def _without_getattr(self, node: ast.expr) -> ast.expr:
        """``getattr(obj, "name")`` with a constant name is ``obj.name``: the callee's
        chain with every such call read as the attribute (iterative: chains can be long)."""
        attrs: list[str] = []
        rewritten = False
        current = node
        while True:
            if isinstance(current, ast.Attribute):
                attrs.append(current.attr)
                current = current.value
            elif (name := self._constant_getattr(current)) is not None:
                attrs.append(name)
                current = current.args[0]  # type: ignore[attr-defined]
                rewritten = True
            else:
                break
        if not rewritten:
            return node
        for attr in reversed(attrs):
            current = ast.Attribute(value=current, attr=attr, ctx=ast.Load())
        return current

    def _constant_getattr(self, node: ast.expr) -> str | None:
        if not (isinstance(node, ast.Call) and len(node.args) == 2 and not node.keywords):
            return None
        name = node.args[1]
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            return None
        if not name.value.isidentifier() or not isinstance(node.func, ast.Name):
            return None
        return name.value if self.resolve(node.func.id) == ("alias", "getattr") else None

    def _name_callee(self, func: ast.Name) -> tuple[str, str, str] | None:
        if func.id in self.prefixes:
            return None  # db = client.shop; db(): not a call of the client
        binding = self.resolve(func.id)
        if binding is None or binding[0] not in ("alias", "result", "param", *DISPATCH):
            return None
        if binding[0] == "alias":
            return binding[1], "", ""
        # p(...), fn = factory(); fn(...), handler = HANDLERS[kind]; handler(...)
        return "", binding[1], binding[0]

    def _attr_chain(self, func: ast.Attribute) -> tuple[list[str], ast.expr]:
        """``a.b["c"].d`` -> (["b", "c", "d"], a): the attributes (and constant items of
        a typed value) below the chain's base, with a local's own prefix first."""
        attrs: list[str] = [func.attr]
        base = func.value
        while True:
            if isinstance(base, ast.Attribute):
                attrs.append(base.attr)
                base = base.value
            elif (key := _item_key(base)) is not None and self._local_value(base):
                attrs.append(key)  # client["shop"]["orders"]: items of a local value
                base = base.value  # type: ignore[attr-defined]
            else:
                break
        if isinstance(base, ast.Name) and base.id in self.prefixes:
            attrs.extend(reversed(self.prefixes[base.id]))  # db = client.shop; db.orders
        attrs.reverse()
        return attrs, base

    def _attr_callee(self, func: ast.Attribute) -> tuple[str, str, str] | None:
        attrs, base = self._attr_chain(func)
        chain = ".".join(attrs)
        if isinstance(base, ast.Call):
            return self._on_result(base, chain)
        if not isinstance(base, ast.Name):
            return None
        binding = self.resolve(base.id)
        if binding is None:
            return None
        if binding[0] == "alias":
            return ".".join([binding[1], *attrs]), "", ""
        if len(attrs) == 1:
            return attrs[0], binding[1], binding[0]
        if len(attrs) == 2 and binding == ("instance", "<self>"):
            return attrs[1], f"{self.self_class}#{attrs[0]}", "selfattr"
        if binding[0] in ("param", "result", "instance"):
            # user_model.objects.get(...): a chain of attributes on a known value.
            return chain, binding[1], binding[0]
        return None

    def _local_value(self, node: ast.expr) -> bool:
        """Whether the chain of attributes and items ``node`` starts at a value of known
        type: a local one, or a module-level object of this module (never a literal
        table: ``HANDLERS["x"]`` is dispatch)."""
        while isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        if not isinstance(node, ast.Name):
            return False
        binding = self.bindings.get(node.id)
        if binding is not None:
            return binding[0] in ("result", "instance")
        return node.id in self.module.objects and node.id not in self.module.imports

    def _on_result(self, base: ast.Call, chain: str) -> tuple[str, str, str] | None:
        """``chain`` called on what ``base`` returns: ``Session().get``, ``p.x().y``,
        ``senders.get(kind)().run``, ``cls().run`` with ``cls`` from a table."""
        if self._is_super(base):  # super().save(): the next class in the MRO that has it
            return chain, self.self_class, "super"
        if (made := self._made_by(base)) is not None:
            return chain, made, "result"
        if (on_param := self.param_chain(base.func)) is not None:
            return chain, on_param, "paramresult"
        if (picked := self.picked(base.func)) is not None:  # senders.get(kind)().run()
            return chain, picked[1], picked[0]
        if isinstance(base.func, ast.Name):  # for cls in PLUGINS: cls().run()
            binding = self.resolve(base.func.id)
            if binding is not None and binding[0] == "dispatch":
                return chain, binding[1], "dispatch"
        return None

    def _is_super(self, call: ast.Call) -> bool:
        return (
            bool(self.self_class)
            and isinstance(call.func, ast.Name)
            and call.func.id == "super"
            and self.resolve("super") == ("alias", "super")
        )

    def _made_by(self, call: ast.Call) -> str | None:
        """What a call's result comes from, as a receiver: its callee (``Session()``), or
        ``factory()`` for a call of a factory's result (``cls = sender_class(); cls()``)."""
        if self.self_class and isinstance(call.func, ast.Name) and call.func.id == "super":
            return None  # handled by _on_result: the next class in the MRO
        if (service := self.service(call)) is not None:
            return service
        made = self.callee(call)
        if made is None and isinstance(call.func, ast.Name):
            binding = self.bindings.get(call.func.id)
            if binding is not None and binding[0] == "result":
                made = f"{binding[1]}()"
        return made if made is not None else self.chained(call)

    def service(self, call: ast.Call) -> str | None:
        """``request.find_service(name="x")`` / ``find_service(Iface)``: the instance a
        service registry hands out (services.py), whatever ``request`` is."""
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == services.FIND):
            return None
        words = {k.arg: k.value for k in call.keywords if k.arg}
        name = words.get("name")
        iface = words.get("iface", call.args[0] if call.args else None)
        text = (
            name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else None
        )
        dotted = self.dotted(iface) if isinstance(iface, ast.Name | ast.Attribute) else None
        return services.key(text, dotted)

    def chained(self, call: ast.Call) -> str | None:
        """A method called on what another call returned, as ``made().method``: fluent
        builders (``Search(...).filter(...).count()``, ``rs = q.filter(...)`` on a bound
        ``q``), whose type the project reads link by link. At most a few links deep."""
        methods: list[str] = []
        node: ast.expr = call
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if len(methods) == _MAX_CHAIN:
                return None
            methods.append(node.func.attr)
            node = node.func.value
            if isinstance(node, ast.Call) and (made := self.callee(node)) is not None:
                break
            if isinstance(node, ast.Name):
                binding = self.resolve(node.id)
                if binding is not None and binding[0] == "instance":  # self.get_user().send()
                    owner = self.self_class if binding[1] == "<self>" else binding[1]
                    made = f"{owner}.{methods.pop()}"
                elif binding is not None and binding[0] == "result":
                    made = binding[1]
                else:
                    return None
                break
        else:
            return None
        return CHAINED.join([made, *reversed(methods)])

    def call_site(self, call: ast.Call, *, keep_args: bool) -> CallSite | None:
        found = self._callee_parts(call.func)
        if found is None:
            return None
        target, recv, kind = found
        if kind == "instance" and recv == "<self>":
            recv = self.self_class
        wanted = keep_args or target.rpartition(".")[2] in _ARG_CALLS
        passed: list[tuple[str, str]] = []
        if kind not in _LIBRARY_KINDS:
            for index, arg in enumerate(call.args):
                if isinstance(arg, ast.Starred):
                    break
                if isinstance(arg, ast.Name | ast.Attribute) and (named := self.passed(arg)):
                    passed.append((str(index), named))
            for keyword in call.keywords:
                value = keyword.value
                named = self.passed(value) if isinstance(value, ast.Name | ast.Attribute) else ""
                if keyword.arg and named:
                    passed.append((keyword.arg, named))
        return CallSite(
            target=target,
            line=call.lineno,
            col=call.col_offset,
            recv=recv,
            recv_kind=kind,
            args=tuple(self.value(a) for a in call.args) if wanted else (),
            kwargs=tuple((k.arg, self.value(k.value)) for k in call.keywords if k.arg)
            if wanted
            else (),
            passed=tuple(passed),
        )

    self_class = ""

    def passed(self, node: ast.Name | ast.Attribute) -> str:
        """The canonical name of an argument worth handing to the callee: a function or a
        class (``get_logs``, ``models.Log``), never a builtin or an UPPERCASE constant;
        or a local value of known type, as ``result:<callee>`` (``session`` from
        ``aiohttp.ClientSession()``) or ``instance:<class>`` (an annotated parameter)."""
        if isinstance(node, ast.Name) and node.id not in self.prefixes:
            binding = self.bindings.get(node.id)
            if binding is not None and binding[0] in _TYPED and binding[1] != "<self>":
                return f"{binding[0]}:{binding[1]}"
        dotted = self.dotted(node) or ""
        last = dotted.rpartition(".")[2]
        if not dotted or dotted in _BUILTINS or last.isupper() or "." not in dotted:
            return ""
        return dotted

    def param_chain(self, node: ast.expr) -> str | None:
        """``model.all_objects.filter`` on a parameter ``model``: "model:all_objects.filter"."""
        chain = _name_chain(node)
        if chain is None:
            return None
        binding = self.bindings.get(chain[0])
        if binding is None or binding[0] != "param":
            return None
        return f"{binding[1]}:{'.'.join(chain[1])}"

    def picked(self, node: ast.expr) -> Binding | None:
        """``TABLE[key]`` or ``getattr(obj, name)``: one of statically listed candidates.

        A table is a module-level name (the project decides whether it holds a literal
        dict or list); ``getattr`` needs an object that is a module, a class or ``self``
        and a name that is a literal or an f-string with literal parts (``f"on_{kind}"``
        becomes the pattern ``on_*``).
        """
        if isinstance(node, ast.Subscript):
            if _item_key(node) is not None and self._local_value(node.value):
                return None  # client["shop"]: an item of an object, read as an attribute
            table = self.dotted(node.value) or self._self_table(node.value)
            return ("dispatch", table) if table else None
        imported = self.imported(node)
        if imported is not None:
            return ("dispatch", imported)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
        ):  # senders.get(kind), for a table this module or function defines
            table = self.dotted(node.func.value) or self._self_table(node.func.value) or ""
            known = (
                table in self.local_tables
                or table in self.module.class_tables
                or (
                    table.rpartition(".")[0] == self.module.module
                    and table.rpartition(".")[2] in self.module.table_names
                )
            )
            return ("dispatch", table) if known else None
        if not (isinstance(node, ast.Call) and len(node.args) in (2, 3) and not node.keywords):
            return None
        if not isinstance(node.func, ast.Name) or self.resolve(node.func.id) != (
            "alias",
            "getattr",
        ):
            return None
        obj, name = node.args[0], node.args[1]
        if isinstance(obj, ast.Name) and self.bindings.get(obj.id) == ("instance", "<self>"):
            owner = self.self_class
        else:
            owner = self.dotted(obj) or ""
        pattern = _name_pattern(name)
        return ("getattr", f"{owner}#{pattern}") if owner and pattern else None

    def _self_table(self, node: ast.expr) -> str | None:
        """``self.HANDLERS`` for a table the class body defines: "pkg.mod.Class.HANDLERS"."""
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
            return None
        if self.bindings.get(node.value.id) != ("instance", "<self>"):
            return None
        name = f"{self.self_class}.{node.attr}"
        return name if name in self.module.class_tables else None

    def imported(self, node: ast.expr) -> str | None:
        """``import_module(prefix + x)`` / ``import_string(settings.X)``: a table whose
        candidates the project lists (:data:`IMPORTED`), as "import:<module pattern>" or
        "import:=<reference to a setting>"; None for anything else."""
        if not (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords):
            return None
        if self.dotted(node.func) not in _IMPORTERS:
            return None
        arg = node.args[0]
        if isinstance(arg, ast.Name | ast.Attribute):
            ref = self.dotted(arg)
            return f"{IMPORTED}={ref}" if ref else None
        if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Add):
            left = arg.left
            if isinstance(left, ast.Constant) and isinstance(left.value, str) and left.value:
                return f"{IMPORTED}{left.value}*"
            return None
        pattern = _name_pattern(arg)
        return f"{IMPORTED}{pattern}" if pattern else None

    def item_annotation(self, node: ast.expr) -> str | None:
        """The class of the items of an annotated container: ``Iterator[Connector]``,
        ``list[Connector]``, ``Generator[Connector, None, None]``."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value.strip(), mode="eval").body
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return None
        if not isinstance(node, ast.Subscript):
            return None
        container = self.dotted(node.value) or ""
        if container.rpartition(".")[2].lower() not in _CONTAINERS:
            return None
        inner = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
        return self.annotation(inner) if inner is not None else None

    def item_classes(self, node: ast.expr) -> tuple[str, ...]:
        """The classes of one item of an annotated container, by position: ``list[X]``
        -> ``(X,)``, ``list[tuple[str, X]]`` -> ``("", X)``; () when none is a class."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value.strip(), mode="eval").body
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return ()
        if not isinstance(node, ast.Subscript):
            return ()
        container = self.dotted(node.value) or ""
        if container.rpartition(".")[2].lower() not in _CONTAINERS:
            return ()
        inner = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
        if (
            isinstance(inner, ast.Subscript)
            and (self.dotted(inner.value) or "").rpartition(".")[2].lower() == "tuple"
        ):
            parts = inner.slice.elts if isinstance(inner.slice, ast.Tuple) else [inner.slice]
            found = tuple(self.annotation(p) or "" for p in parts)
        else:
            found = (self.annotation(inner) or "",)
        return found if any(found) else ()

    def annotation(self, node: ast.expr, depth: int = 0) -> str | None:
        """The class an annotation names: ``Client``, ``"Client"``, ``Optional[Client]``,
        ``Client | None``; None for anything else (containers, unions of classes)."""
        if depth > 4:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value.strip(), mode="eval").body
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return None
            return self.annotation(node, depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            sides = [n for n in (node.left, node.right) if not _is_none(n)]
            return self.annotation(sides[0], depth + 1) if len(sides) == 1 else None
        if isinstance(node, ast.Subscript):
            if self.dotted(node.value) in _OPTIONAL:
                return self.annotation(node.slice, depth + 1)
            if self.dotted(node.value) in _CONTEXT_MANAGERS:
                # -> ContextManager[Session]: what ``with f() as s`` binds, the only use
                # such a value has (AbstractContextManager[Session, bool] too).
                entered = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
                return self.annotation(entered, depth + 1) if entered else None
            return None
        if isinstance(node, ast.Name | ast.Attribute):
            dotted = self.dotted(node)
            if dotted and dotted not in _BUILTINS and dotted not in _CALLABLE_HINTS:
                return dotted
        return None

    def callee(self, call: ast.Call) -> str | None:
        """The canonical callee of a plain ``a.b.c(...)`` call (what its result comes from)."""
        return self.dotted(call.func)

    def calls_in(self, node: ast.AST, *, keep_args: bool = False) -> Iterator[CallSite]:
        for sub in _calls_below(node):
            site = self.call_site(sub, keep_args=keep_args)
            if site is not None:
                yield site

    def decorators(self, nodes: list[ast.expr]) -> Iterator[Decorator]:
        for node in nodes:
            called = isinstance(node, ast.Call)
            target = node.func if isinstance(node, ast.Call) else node
            ref = self.dotted(target) or self._local_ref(target)
            if ref is None:
                continue
            kwargs = (
                tuple((k.arg, self.value(k.value)) for k in node.keywords if k.arg)
                if isinstance(node, ast.Call)
                else ()
            )
            yield Decorator(ref=ref, line=node.lineno, called=called, kwargs=kwargs)

    def _local_ref(self, node: ast.expr) -> str | None:
        """A decorator on a name local to the enclosing function, a parameter or an
        annotated one (``def setup(app): @app.task``), as ``<param:app>.task`` or
        ``<instance:celery.Celery>.task``: discovery decides what it makes."""
        chain = _name_chain(node)
        if chain is None:
            return None
        kind, what = self.bindings.get(chain[0], ("", ""))
        if kind not in ("param", "instance") or what.startswith("<"):
            return None
        return ".".join([f"<{kind}:{what}>", *chain[1]])

    def value(self, node: ast.expr, depth: int = 0) -> Value:
        if depth > _MAX_VALUE_DEPTH:
            return Unknown("…")
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, str | int | float | bool) or v is None:
                return Lit(v)
            return Unknown(repr(v)[:40])
        if isinstance(node, ast.Name | ast.Attribute):
            env = self._env(node)
            if env is not None:
                return env
            dotted = self.dotted(node)
            return Ref(dotted) if dotted else Unknown(_source(node))
        if isinstance(node, ast.Dict):
            return DictV(
                tuple(
                    (self.value(k, depth + 1), self.value(v, depth + 1))
                    for k, v in zip(node.keys, node.values, strict=True)
                    if k is not None
                )
            )
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return SeqV(tuple(self.value(e, depth + 1) for e in node.elts))
        if isinstance(node, ast.Call):
            return self._env(node) or self._call_value(node, depth)
        if isinstance(node, ast.Subscript):
            return self._env(node) or self._item_value(node)
        return Unknown(_source(node))

    def _call_value(self, node: ast.Call, depth: int) -> Value:
        # A fluent chain (``torch.jit.load(p).to("cuda")``) is named as call sites name
        # it, so the value is typed link by link like a chain in a function body.
        func = self.dotted(node.func) or self.chained(node)
        if func is None:
            return Unknown(_source(node))
        return CallV(
            func,
            tuple(self.value(a, depth + 1) for a in node.args),
            tuple((k.arg, self.value(k.value, depth + 1)) for k in node.keywords if k.arg),
        )

    def _item_value(self, node: ast.Subscript) -> Value:
        """``db = client["shop"]`` at module level: an item of a global, named like an
        attribute so that ``db.orders.find()`` reaches the client's knowledge."""
        key = _item_key(node)
        base = self.dotted(node.value) if key is not None else None
        return Ref(f"{base}.{key}") if base is not None else Unknown(_source(node))

    def _env(self, node: ast.expr) -> EnvV | None:
        """``os.environ.get("X", d)``, ``os.getenv("X", d)``, ``os.environ["X"]``, ``env("X")``."""
        if isinstance(node, ast.Subscript):
            if self.dotted(node.value) == "os.environ" and isinstance(node.slice, ast.Constant):
                return EnvV(str(node.slice.value))
            return None
        if not isinstance(node, ast.Call) or not node.args:
            return None
        func = self.dotted(node.func) or ""
        first = node.args[0]
        if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
            return None
        if func in ("os.environ.get", "os.getenv", "os.environ.setdefault") or (
            func.rpartition(".")[2] in ("env", "config", "get_env")
        ):
            default = node.args[1] if len(node.args) > 1 else None
            for k in node.keywords:
                if k.arg == "default":
                    default = k.value
            return EnvV(first.value, self.value(default) if default is not None else None)
        return None


class _FunctionBody:
    """Walks one function body in order, tracking what local names are bound to."""

    def __init__(
        self, scope: _Scope, qual: str, cls: str, self_attrs: dict[str, str] | None
    ) -> None:
        self.scope = scope
        self.self_attrs = self_attrs
        self.qual = qual
        self.calls: list[CallSite] = []
        self.param_calls: list[CallSite] = []
        self.hints: list[Hint] = []
        self.nested: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.returns = ""
        # Programs run in subprocesses; a module's string constant names one unless a
        # local of the same name hides it.
        self.children = ChildPrograms(
            scope.dotted,
            lambda name: None if name in scope.bindings else scope.module.strings.get(name),
        )
        #: Functions and classes returned uncalled (``return requests.get``): a factory's.
        self.returned: list[str] = []
        #: Literal tables bound to local names: (name, value, line), for dispatch.
        self.tables: list[tuple[str, Value, int]] = []
        #: Line spans of while loops and comprehensions (FunctionFacts.loops).
        self.loops: list[tuple[int, int]] = []
        #: Locals bound to a short literal list of constants (a loop over one is a few
        #: fixed tries, not per-item work).
        self.constant_lists: dict[str, ast.expr] = {}
        #: (line, col) of calls in for loops that work on the item (FunctionFacts.item_calls).
        self.item_calls: list[tuple[int, int]] = []
        self.for_depth = 0  # for loops around the statement being read
        if cls:
            scope.self_class = f"{scope.module.module}.{cls}"

    def statements(self, body: list[ast.stmt], loop_depth: int) -> None:
        for stmt in body:
            self.statement(stmt, loop_depth)

    def statement(self, stmt: ast.stmt, loop_depth: int) -> None:
        if self._declaration(stmt):
            return
        self._own_calls(stmt)
        self._bindings(stmt, loop_depth)
        skipped = _debug_only_body(stmt)
        inner_for = isinstance(stmt, ast.For | ast.AsyncFor)
        self.for_depth += inner_for
        for child_body in _child_bodies(stmt):
            if child_body is skipped:
                continue
            depth = loop_depth + 1 if isinstance(stmt, ast.For | ast.While) else loop_depth
            self.statements(child_body, depth)
        self.for_depth -= inner_for

    def _declaration(self, stmt: ast.stmt) -> bool:
        """A nested def, class, import or ``global``: recorded here, no calls of its own."""
        scope = self.scope
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            scope.bindings[stmt.name] = ("alias", f"{scope.module.module}.{self.qual}.{stmt.name}")
            self.nested.append(stmt)
        elif isinstance(stmt, ast.ClassDef):
            pass  # classes inside functions are rare in task code; skipped, not guessed
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            for name, dotted in _import_bindings(stmt, scope.module.package).items():
                scope.bindings[name] = ("alias", dotted)
        elif isinstance(stmt, ast.Global):
            for name in stmt.names:
                self.hints.append(Hint("thread_unsafe", f"global {name}", stmt.lineno))
        else:
            return False
        return True

    def _own_calls(self, stmt: ast.stmt) -> None:
        """Calls in the statement's own expressions (not in nested bodies), and the call
        sites they imply: child programs, archives, functions a runner calls."""
        scope = self.scope
        before = len(self.calls)
        own = list(_own_expressions(stmt))  # read by each step below: found once
        for expr in own:
            for site in scope.calls_in(expr):
                if site.recv_kind in PARAM_KINDS:
                    self.param_calls.append(site)
                else:
                    self.calls.append(site)
        launched = self.calls[before:]
        if isinstance(stmt, ast.For | ast.AsyncFor) and self._over_constants(stmt.iter):
            pass  # for selector in ["a", "b"]: a few fixed tries, not per-item work
        elif isinstance(stmt, ast.For | ast.AsyncFor):
            # The body's calls that work on an item (loop_items.py), read once from the
            # outermost for loop; the iterable (``for a in BeautifulSoup(page).find_all()``)
            # is evaluated once.
            if not self.for_depth:
                self.item_calls.extend(loop_items.item_calls(stmt))
        elif isinstance(stmt, ast.While):
            # No item to follow: the body's span (``while batch: ...; batch = next()``).
            self.loops.append((stmt.body[0].lineno, stmt.end_lineno or stmt.lineno))
        elif launched:
            self._comprehensions(own)
        self.calls.extend(self.children.sites(stmt, launched, iter(own)))
        if any(site.target == "pow" for site in launched):
            self._modexp_hint(stmt)
        self.calls.extend(archives.sites(launched, iter(own), scope.dotted))
        self.calls.extend(
            callbacks.sites(
                launched,
                iter(own),
                scope.dotted,
                lambda call: scope.call_site(call, keep_args=False),
            )
        )

    def _over_constants(self, node: ast.expr) -> bool:
        """A literal list of constants, in place or bound to a local just before."""
        if isinstance(node, ast.Name):
            node = self.constant_lists.get(node.id, node)
        return _constant_list(node)

    def _bindings(self, stmt: ast.stmt, loop_depth: int) -> None:
        """What the statement binds local names to, and what it returns."""
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            self._assign(stmt)
        elif isinstance(stmt, ast.If | ast.While):
            self._walrus(stmt.test)
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            for item in stmt.items:
                if isinstance(item.optional_vars, ast.Name):
                    self._bind(item.optional_vars.id, item.context_expr)
        elif isinstance(stmt, ast.Return) and stmt.value is not None:
            self._return(stmt.value)
        if isinstance(stmt, ast.For | ast.AsyncFor):
            self._loop_hint(stmt, loop_depth)
            self._loop_binding(stmt)

    def _comprehensions(self, own: list[ast.AST]) -> None:
        """The spans of the comprehensions in a statement with calls (``own``: its own
        expressions): their calls run once per item, like a loop body's."""
        for expr in own:
            for node in nodes.below(expr, _COMPREHENSIONS):
                self.loops.append((node.lineno, node.end_lineno or node.lineno))

    def _walrus(self, test: ast.expr) -> None:
        """``if fn := table.get(kind): fn(...)``: the name is bound for the body, as by an
        assignment. Only conditions are searched: that is where ``:=`` binds what the body
        then calls, and walking every expression would cost every statement."""
        for node in nodes.below(test, ast.NamedExpr):
            if isinstance(node.target, ast.Name):
                self._bind(node.target.id, node.value)

    def _return(self, value: ast.expr) -> None:
        if not self.returns:
            self.returns = self._produced_by(value) or ""
        if (table := self._returned_table(value)) is not None:
            self.returned.append(f"{table}{PICKED}")
            return
        if isinstance(value, ast.Name | ast.Attribute):
            binding = self.scope.resolve(value.id) if isinstance(value, ast.Name) else None
            dotted = self.scope.dotted(value)
            if dotted and dotted not in _BUILTINS and (binding is None or binding[0] == "alias"):
                self.returned.append(dotted)

    def _returned_table(self, value: ast.expr) -> str | None:
        """The table a factory returns one item of, uncalled: ``return handlers.get(kind)``,
        ``return HANDLERS[kind]``, or a local picked from one (``fn = HANDLERS.get(kind);
        return fn``). Its callers calling the result call one of the table's items."""
        if isinstance(value, ast.Name):
            binding = self.scope.bindings.get(value.id)
        else:
            binding = self.scope.picked(value)
        if binding is None or binding[0] != "dispatch" or binding[1].startswith(IMPORTED):
            return None
        return binding[1]

    def _remember_constants(self, targets: Sequence[ast.expr], value: ast.expr | None) -> None:
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            if value is not None and _constant_list(value):
                self.constant_lists[target.id] = value
            else:
                self.constant_lists.pop(target.id, None)

    def _assign(self, stmt: ast.Assign | ast.AnnAssign) -> None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        self._remember_constants(targets, stmt.value)
        annotated = (
            self.scope.annotation(stmt.annotation) if isinstance(stmt, ast.AnnAssign) else None
        )
        for target in targets:
            if isinstance(target, ast.Name):
                if stmt.value is not None:
                    self._bind(target.id, stmt.value)
                if annotated and target.id not in self.scope.bindings:
                    self.scope.bindings[target.id] = ("instance", annotated)
            elif isinstance(target, ast.Attribute) and self.self_attrs is not None:
                base = target.value
                is_self = isinstance(base, ast.Name) and self.scope.bindings.get(base.id) == (
                    "instance",
                    "<self>",
                )
                if is_self:
                    typed = annotated or self._type_of(stmt.value)
                    if typed:
                        self.self_attrs.setdefault(target.attr, typed)
            else:
                for name in _target_names(target):
                    self.scope.bindings.pop(name, None)

    def _bind(self, name: str, value: ast.expr) -> None:
        self.scope.item_types.pop(name, None)  # no longer the annotated parameter
        self.scope.prefixes.pop(name, None)
        if (chain := self._chain_of_local(value)) is not None:
            self.scope.bindings[name], self.scope.prefixes[name] = chain
            return
        if _is_table(value):
            # senders = {"mail": send_mail, ...}: a table of candidates, named after the
            # function it lives in so the project can list them (``senders[kind](...)``).
            self.tables.append((name, self.scope.value(value), value.lineno))
            local = f"{self.scope.module.module}.{self.qual}.{name}"
            self.scope.bindings[name] = ("alias", local)
            self.scope.local_tables.add(local)
            return
        picked = self.scope.picked(value)
        if picked is not None:
            self.scope.bindings[name] = picked
            return
        if (constant := self._library_constant(value)) is not None:
            # comp = zipfile.ZIP_DEFLATED: the local is the constant, so the argument
            # readers (archives.py) see it as if it were written in place.
            self.scope.bindings[name] = ("alias", constant)
            return
        produced = self._produced_by(value)
        if produced:
            self.scope.bindings[name] = ("result", produced)
        elif isinstance(value, ast.Name) and (same := self.scope.resolve(value.id)) is not None:
            self.scope.bindings[name] = same
        else:
            self.scope.bindings.pop(name, None)

    def _library_constant(self, value: ast.expr) -> str | None:
        """``zipfile.ZIP_DEFLATED``: an imported module's UPPER_CASE constant, by name."""
        if not (isinstance(value, ast.Attribute) and value.attr.isupper()):
            return None
        dotted = self.scope.dotted(value)
        if dotted is None or dotted.startswith(f"{self.scope.module.module}."):
            return None
        return dotted

    def _chain_of_local(self, value: ast.expr) -> tuple[Binding, tuple[str, ...]] | None:
        """``client.shop`` or ``client["shop"]`` on a local value of known type: the
        value's binding and the attributes below it, so ``db.orders.find()`` is
        ``client.shop.orders.find()``. Not on ``self`` (its attributes are typed apart)."""
        attrs: list[str] = []
        node = value
        while True:
            if isinstance(node, ast.Attribute):
                attrs.append(node.attr)
                node = node.value
            elif (key := _item_key(node)) is not None:
                attrs.append(key)
                node = node.value  # type: ignore[attr-defined]
            else:
                break
        if not isinstance(node, ast.Name) or not (attrs or node.id in self.scope.prefixes):
            return None
        binding = self.scope.bindings.get(node.id)
        if binding is None or binding[0] not in ("result", "instance") or binding[1] == "<self>":
            return None
        prefix = self.scope.prefixes.get(node.id, ())
        return binding, (*prefix, *reversed(attrs))

    def _type_of(self, value: ast.expr | None) -> str | None:
        """What ``self.x = value`` stores, as a producer: a call's callee (``WebClient(...)``)
        or the class of an annotated parameter (``def __init__(self, ctx: Context)``)."""
        if value is None:
            return None
        produced = self._produced_by(value)
        if produced:
            return produced
        if isinstance(value, ast.IfExp):  # self.x = x if x is not None else None
            operands = [value.body, value.orelse]
            return next((t for t in map(self._annotated_name, operands) if t), None)
        return self._annotated_name(value)

    def _annotated_name(self, value: ast.expr) -> str | None:
        if isinstance(value, ast.Name):
            binding = self.scope.bindings.get(value.id)
            if binding is not None and binding[0] == "instance" and binding[1] != "<self>":
                return binding[1]
        return None

    def _produced_by(self, value: ast.expr) -> str | None:
        if isinstance(value, ast.BoolOp | ast.IfExp):  # self.user or User(...), a() if c else b()
            operands = value.values if isinstance(value, ast.BoolOp) else [value.body, value.orelse]
            return next((m for m in map(self._one_producer, operands) if m), None)
        return self._one_producer(value)

    def _one_producer(self, value: ast.expr) -> str | None:
        if isinstance(value, ast.Await):
            value = value.value
        if isinstance(value, ast.Call):
            return (
                self.scope.service(value) or self.scope.callee(value) or self.scope.chained(value)
            )
        if isinstance(value, ast.Name) and value.id not in self.scope.prefixes:
            binding = self.scope.resolve(value.id)
            if binding and binding[0] == "result":
                return binding[1]
        return None

    def _loop_binding(self, stmt: ast.For | ast.AsyncFor) -> None:
        """``for step in PIPELINE`` (or ``TABLE.values()``, ``TABLE.items()``): the loop
        variable is each of a module-level table's items in turn."""
        target, it = stmt.target, stmt.iter
        method = ""
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and not it.args:
            method, it = it.func.attr, it.func.value
        table = self.scope.dotted(it) if isinstance(it, ast.Name | ast.Attribute) else None
        if method == "items" and isinstance(target, ast.Tuple) and len(target.elts) == 2:
            target = target.elts[1]
        elif method not in ("", "values"):
            table = None
        for name in _target_names(stmt.target):
            self.scope.bindings.pop(name, None)  # the loop rebinds it, whatever it was
        items = self.scope.item_types.get(it.id, ()) if isinstance(it, ast.Name) else ()
        if table and isinstance(target, ast.Name) and not items:
            self.scope.bindings[target.id] = ("dispatch", table)
        elif items and not method:
            self._bind_items(target, items)
        elif isinstance(stmt.target, ast.Name) and (made := self._produced_by(stmt.iter)):
            # for connector in get_connectors(): an item of what the call returns, typed
            # when the function's annotation says (``-> Iterator[Connector]``).
            self.scope.bindings[stmt.target.id] = ("result", f"{made}{ITEM}")

    def _bind_items(self, target: ast.expr, items: tuple[str, ...]) -> None:
        """for indexer in indexers (indexers: list[Indexer]); for url, connector in
        items (items: list[tuple[str, Connector]]): each item is an instance."""
        elts = target.elts if isinstance(target, ast.Tuple) else [target]
        if len(elts) == len(items):
            for elt, cls in zip(elts, items, strict=True):
                if isinstance(elt, ast.Name) and cls:
                    self.scope.bindings[elt.id] = ("instance", cls)

    def _loop_hint(self, stmt: ast.For | ast.AsyncFor, loop_depth: int) -> None:
        """A counted loop over a large or computed range: pure-Python CPU work.

        Only ``range()`` loops count, and only short bodies: iterating over rows or
        recipients also nests loops, and calling that CPU work would push IO queues onto
        prefork. The hint is low-confidence evidence, and says so.
        """
        it = stmt.iter
        if not (isinstance(it, ast.Call) and self.scope.dotted(it.func) == "range" and it.args):
            self._nested_loop_hint(stmt)
            return
        bound = it.args[-1] if len(it.args) < 3 else it.args[1]
        constant = bound.value if isinstance(bound, ast.Constant) else None
        if isinstance(constant, int) and constant < _LARGE_RANGE:
            return
        # range(len(rows)), range(math.floor(rating)): iterating data, not crunching it.
        if isinstance(bound, ast.Call) and self.scope.dotted(bound.func) in _SIZE_CALLS:
            return
        if len(stmt.body) > 6 or not self._understood(stmt.body):
            return
        end = stmt.end_lineno or stmt.lineno
        self.hints.append(Hint("cpu", f"Python loop over {_source(it)}", stmt.lineno, end))

    def _modexp_hint(self, stmt: ast.stmt) -> None:
        """``pow(base, exponent, modulus)``: modular exponentiation, the core of public-key
        cryptography done in Python (ElGamal, RSA, zero-knowledge proofs). On the
        2048-bit numbers it is used for, each call holds the GIL for milliseconds, and
        nobody calls it once. Two-argument ``pow`` is ordinary arithmetic."""
        for expr in _own_expressions(stmt):
            for node in ast.walk(expr):
                if (
                    isinstance(node, ast.Call)
                    and len(node.args) == 3
                    and not node.keywords
                    and self.scope.dotted(node.func) == "pow"
                ):
                    what = "modular exponentiation pow(b, e, m)"
                    self.hints.append(Hint("cpu", what, node.lineno, node.lineno))
                    return

    def _understood(self, body: list[ast.stmt]) -> bool:
        """A call the visitor cannot name (``pipe.lpop()`` on an unknown object) may well
        wait: only loops whose every call is understood count as CPU work."""
        for node in body:
            for sub in _calls_below(node):
                site = self.scope.call_site(sub, keep_args=False)
                if site is None or site.recv_kind in PARAM_KINDS:
                    return False
        return True

    def _nested_loop_hint(self, stmt: ast.For | ast.AsyncFor) -> None:
        """``for a in items: for b in items: ...``: quadratic pure-Python work over a list.

        Both loops must run over plain names or attributes (a list, a field), not over a
        call (a query, a page fetch), and the inner body must be short and understood;
        effects.py then drops the hint if any call in it waits or leaves for the project.
        """
        if isinstance(stmt, ast.AsyncFor) or not isinstance(stmt.iter, ast.Name | ast.Attribute):
            return
        inner = next((s for s in stmt.body if isinstance(s, ast.For)), None)
        if inner is None or not isinstance(inner.iter, ast.Name | ast.Attribute):
            return
        # ``for order in orders: for line in order.lines``: walking rows and their
        # children (an ORM relation may load lazily), not a quadratic computation.
        base: ast.expr = inner.iter
        while isinstance(base, ast.Attribute):
            base = base.value
        if isinstance(base, ast.Name) and base.id in set(_target_names(stmt.target)):
            return
        if len(inner.body) > 6 or not self._understood(stmt.body):
            return
        what = f"nested Python loops over {_source(stmt.iter)} and {_source(inner.iter)}"
        self.hints.append(Hint("cpu", what, stmt.lineno, stmt.end_lineno or stmt.lineno))


def _bind_parameters(
    node: ast.FunctionDef | ast.AsyncFunctionDef, scope: _Scope, cls: str, cls_dotted: str
) -> tuple[str, ...]:
    """Bind the parameters in ``scope``; their names in order, without self/cls."""
    args = node.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    decorators = {scope.dotted(d) for d in node.decorator_list}
    is_static = "staticmethod" in decorators
    names: list[str] = []
    bound_task = "" if cls else _bound_task_class(node, scope)
    for index, arg in enumerate(params):
        if index == 0 and bound_task:  # @app.task(bind=True): self is the task instance
            scope.bindings[arg.arg] = ("instance", bound_task)
            continue
        if index == 0 and cls and not is_static:
            if "classmethod" in decorators:
                scope.bindings[arg.arg] = ("alias", cls_dotted)
            else:
                scope.bindings[arg.arg] = ("instance", "<self>")
            continue
        names.append(arg.arg)
        if arg.annotation is not None:
            # ``client: Client``, also ``Optional[Client]``, ``Client | None``, "Client";
            # ``x: Any`` names no class.
            annotated = scope.annotation(arg.annotation)
            if annotated and annotated not in _CALLABLE_HINTS and annotated not in _ANY_HINTS:
                scope.bindings[arg.arg] = ("instance", annotated)
                continue
            items = scope.item_classes(arg.annotation)
            if items:
                scope.item_types[arg.arg] = items
        # Whatever the caller passes: a call on it is resolved per call site.
        scope.bindings[arg.arg] = ("param", arg.arg)
    for extra in (args.vararg, args.kwarg):
        if extra is not None:
            scope.bindings.pop(extra.arg, None)
    return tuple(names)


_OPTIONAL = frozenset({"typing.Optional", "typing_extensions.Optional"})
#: Annotations of a context manager, whose first argument is what ``with ... as`` binds.
_CONTEXT_MANAGERS = frozenset(
    f"{module}.{name}"
    for module in ("typing", "typing_extensions", "contextlib")
    for name in (
        "ContextManager",
        "AsyncContextManager",
        "AbstractContextManager",
        "AbstractAsyncContextManager",
    )
)
_CONTEXT_DECORATORS = frozenset({"contextlib.contextmanager", "contextlib.asynccontextmanager"})
#: Functions that import a module or an object by a dotted name given at run time.
_IMPORTERS = frozenset(
    {
        "importlib.import_module",
        "django.utils.module_loading.import_string",
        "werkzeug.utils.import_string",
        "celery.utils.imports.symbol_by_name",
        "kombu.utils.imports.symbol_by_name",
    }
)
_TABLE_NODES = (ast.Dict, ast.List, ast.Tuple, ast.Set)
_TYPED = ("result", "instance")  # bindings whose type a callee can use
_MAX_CHAIN = 8  # links of a fluent chain followed (a().b().c()...): deeper is unknown
#: Annotated containers whose first parameter is the type of their items.
_CONTAINERS = frozenset(
    {"iterator", "iterable", "generator", "list", "sequence", "set", "frozenset", "collection"}
)
_MAX_TABLE = 256  # longer literals are data, not tables of handlers


def _is_table(node: ast.expr) -> bool:
    """A literal that may list callables or classes: a dict, list, tuple or set of at
    most ``_MAX_TABLE`` items, one of which at least is a name, an attribute or a call
    (``{"a": on_a}``, ``[Fetch, Wait]``). Data literals (strings, numbers) are not
    recorded: they would only make the cached facts bigger."""
    if not isinstance(node, _TABLE_NODES):
        return False
    items = node.values if isinstance(node, ast.Dict) else node.elts
    return len(items) <= _MAX_TABLE and any(
        isinstance(item, ast.Name | ast.Attribute | ast.Call) for item in items
    )


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _bound_task_class(node: ast.FunctionDef | ast.AsyncFunctionDef, scope: _Scope) -> str:
    """The class of ``self`` in a bound task (``@app.task(bind=True, base=Base)``, or
    ``@retry_task`` with ``retry_task = shared_task(bind=True)`` earlier in the module):
    its ``base=``, else Celery's Task; "" when no decorator binds."""
    for dec in node.decorator_list:
        if isinstance(dec, ast.Call):
            options = {k.arg: scope.value(k.value) for k in dec.keywords if k.arg}
        elif isinstance(dec, ast.Name) and isinstance(
            held := scope.module.assigns.get(dec.id), CallV
        ):
            options = dict(held.kwargs)
        else:
            continue
        bind = options.get("bind")
        if isinstance(bind, Lit) and bind.value is True:
            base = options.get("base")
            return base.name if isinstance(base, Ref) else _CELERY_TASK
    return ""


_CELERY_TASK = "celery.app.task.Task"


def _name_chain(node: ast.expr) -> tuple[str, list[str]] | None:
    """``a.b.c`` -> ("a", ["b", "c"]): a name with at least one attribute, else None."""
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if not attrs or not isinstance(node, ast.Name):
        return None
    return node.id, attrs[::-1]


#: Parameter annotations that say "a callable", not "an instance of this class".
_CALLABLE_HINTS = frozenset({"typing.Callable", "collections.abc.Callable", "callable"})
#: Annotations that say nothing about the value's class (``parser: Any``): the parameter
#: is resolved per call site, as an unannotated one is, never as an instance of ``Any``.
_ANY_HINTS = frozenset({"typing.Any", "typing_extensions.Any", "object"})


def _import_bindings(stmt: ast.Import | ast.ImportFrom, package: str) -> dict[str, str]:
    found: dict[str, str] = {}
    if isinstance(stmt, ast.Import):
        for alias in stmt.names:
            if alias.asname:
                found[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                found[top] = top
        return found
    base = stmt.module or ""
    if stmt.level:
        parts = package.split(".") if package else []
        if stmt.level > 1:
            parts = parts[: len(parts) - (stmt.level - 1)]
        base = ".".join([*parts, *([base] if base else [])])
    for alias in stmt.names:
        if alias.name == "*":
            # Not a name: the project looks names up in ``base`` (see Project._starred).
            found[f"*{base}"] = base
            continue
        found[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
    return found


def _flatten(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, including those inside ``if``/``try``/``with`` blocks."""
    for stmt in body:
        if isinstance(stmt, ast.If | ast.Try | ast.With):
            yield from _flatten(stmt.body)
            if isinstance(stmt, ast.If | ast.Try):
                yield from _flatten(stmt.orelse)
            if isinstance(stmt, ast.Try):
                for handler in stmt.handlers:
                    yield from _flatten(handler.body)
                yield from _flatten(stmt.finalbody)
        else:
            yield stmt


def _fallback_imports(body: list[ast.stmt]) -> set[int]:
    """ids of the imports in module-level ``except`` handlers: ``try: from pkg.base import
    Base`` / ``except ImportError: from base import Base`` (a script's fallback) must not
    replace the package's own import, or the class loses its base."""
    found: set[int] = set()
    for stmt in body:
        if isinstance(stmt, ast.If | ast.With):
            found |= _fallback_imports(stmt.body)
        if isinstance(stmt, ast.Try):
            found |= _fallback_imports(stmt.body)
            for handler in stmt.handlers:
                found.update(id(s) for s in _flatten(handler.body))
    return found


def _target_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for elt in target.elts:
            yield from _target_names(elt)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)


_BODY_FIELDS = ("body", "orelse", "finalbody")
#: Fields of a statement that hold statements, not expressions it evaluates itself.
_NESTED_FIELDS = frozenset({*_BODY_FIELDS, "handlers", "cases"})

#: Flags that mean "a developer's machine": Django's ``settings.DEBUG``, Flask's
#: ``app.debug``, a module's ``DEBUG``.
_DEBUG_FLAGS = frozenset({"DEBUG", "debug"})


def _debug_only_body(stmt: ast.stmt) -> list[ast.stmt] | None:
    """The branch of ``if settings.DEBUG:`` (or of ``if not ...: ... else:``) that runs only
    in development, or None.

    Such a branch is not what the task does where a worker runs (the debug RSA key made
    on first use, a console mail backend), as a console ``EMAIL_BACKEND`` is not
    (inferred.py): it is not walked. Only a bare flag is recognised; ``DEBUG and x`` is
    a real condition and both branches stay.
    """
    if not isinstance(stmt, ast.If):
        return None
    test, negated = stmt.test, False
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test, negated = test.operand, True
    if isinstance(test, ast.Name):
        flag = test.id
    elif isinstance(test, ast.Attribute):
        flag = test.attr
    else:
        return None
    if flag not in _DEBUG_FLAGS:
        return None
    branch = stmt.orelse if negated else stmt.body
    return branch or None


def _child_bodies(stmt: ast.stmt) -> Iterator[list[ast.stmt]]:
    for name in _BODY_FIELDS:
        body = getattr(stmt, name, None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            yield body
    if isinstance(stmt, ast.Try):
        for handler in stmt.handlers:
            yield handler.body
    if isinstance(stmt, ast.Match):
        for case in stmt.cases:
            yield case.body


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


_MAX_CONSTANTS = 16  # a longer literal list may be data worth a loop's per-item cost


def _constant_list(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.List | ast.Tuple | ast.Set)
        and 0 < len(node.elts) <= _MAX_CONSTANTS
        and all(isinstance(e, ast.Constant) for e in node.elts)
    )


def _item_key(node: ast.expr) -> str | None:
    """``x["name"]`` with a constant identifier key: "name", read like ``x.name`` on a
    library object (a Mongo client's databases, a Redis-like mapping's members)."""
    if not isinstance(node, ast.Subscript):
        return None
    key = node.slice
    if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.isidentifier():
        return key.value
    return None


def _own_expressions(stmt: ast.stmt) -> Iterator[ast.AST]:
    """The expressions a statement evaluates itself, without its nested statement bodies."""
    for name, value in ast.iter_fields(stmt):
        if name in _NESTED_FIELDS:
            continue
        if isinstance(value, ast.AST):
            yield value
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, ast.AST) and not isinstance(item, ast.stmt):
                    yield item


#: Class attributes worth recording: task options (class-based tasks and their bases) and
#: Celery settings (``config_from_object(Config)``). Other attributes (a GraphQL type's
#: fields, a model's columns) are most of a large project's class bodies and never matter.
_TASK_OPTIONS = frozenset(
    # ``abstract``: Celery 3's mark of a base class that is not a task of its own.
    {
        "name",
        "queue",
        "time_limit",
        "soft_time_limit",
        "routing_key",
        "base",
        "rate_limit",
        "abstract",
    }
)
_SETTING_PREFIXES = ("task_", "worker_", "broker_", "beat_", "result_", "CELERY")


#: Model fields whose value, on an instance, is an instance of the model they name.
_RELATIONS = frozenset(
    f"django.db.models.{module}{name}"
    for module in ("", "fields.related.")
    for name in ("ForeignKey", "OneToOneField")
)


def _related_model(call: ast.Call, scope: _Scope, own: str) -> str | None:
    """The model a relation field names: a class (``ForeignKey(User)``, ``to=User``), or
    ``"self"``; a string naming another app's model is not resolved (None)."""
    target = (
        call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "to"), None)
    )
    if isinstance(target, ast.Constant) and target.value == "self":
        return own
    return scope.dotted(target) if isinstance(target, ast.Name | ast.Attribute) else None


def _class_attr_wanted(name: str) -> bool:
    return name in _TASK_OPTIONS or name.startswith(_SETTING_PREFIXES)


#: Node types that never contain a call: most of a tree's nodes. Exact types, because a
#: set lookup of ``type(node)`` is what makes this walk cheap.
_LEAF_TYPES = nodes.LEAVES


def _calls_below(node: ast.AST) -> list[ast.Call]:
    """Every call in ``node``, in source order; iterative, so deep nesting cannot overflow
    the stack. This walk is the visitor's hot loop: it skips leaves by exact type."""
    found: list[ast.Call] = []
    todo = [node]
    while todo:
        current = todo.pop()
        if type(current) is ast.Call:
            found.append(current)
        for field in current._fields:
            value = getattr(current, field, None)
            if type(value) is list:
                todo.extend(
                    v for v in value if type(v) not in _LEAF_TYPES and isinstance(v, ast.AST)
                )
            elif type(value) not in _LEAF_TYPES and isinstance(value, ast.AST):
                todo.append(value)
    if len(found) > 1:
        found.sort(key=lambda c: (c.lineno, c.col_offset))
    return found


def _source(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except (RecursionError, ValueError):  # pathological nesting: a placeholder will do
        return "…"
    return text if len(text) <= 60 else text[:57] + "..."
