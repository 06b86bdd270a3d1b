"""The whole project's facts, indexed, and what a dotted name or a call site refers to.

A name is resolved the way Python would: the longest prefix that is a project module,
then the module's own definitions, its re-exported imports (``from .x import y`` in an
``__init__``), and module-level objects (``client = boto3.client("s3")``). Anything that
leaves the project is a library name, looked up in the knowledge. Resolution that cannot
be decided statically yields nothing; it never guesses.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from celery_poolkit.advisor import services
from celery_poolkit.advisor.conventions import MODEL, related_manager
from celery_poolkit.advisor.facts import (
    CHAINED,
    IMPORTED,
    ITEM,
    PICKED,
    SERVICE,
    CallSite,
    CallV,
    ClassFacts,
    DictV,
    FunctionFacts,
    Lit,
    ModuleFacts,
    Ref,
    SeqV,
    Value,
)
from celery_poolkit.advisor.knowledge import Knowledge
from celery_poolkit.model import Call

_MAX_HOPS = 24  # re-export chains longer than this are cycles or generated code
#: Classes deeper than this in one hierarchy are generated code: their order is cut and
#: their file reported (real hierarchies, Django's and DRF's included, stay below 40).
MAX_MRO = 100
#: The attribute a model class builds its queries on: Django's manager, Flask-SQLAlchemy's
#: ``Model.query``. Iterating such a query yields instances of the model.
_QUERY_ATTRS = (".objects.", ".query.")
TASK_METHODS = frozenset({"delay", "apply_async"})
#: Celery's canvas primitives: calling one (``chord(header)(callback)``) applies it async.
_CANVAS = frozenset({"group", "chord", "chain"})
_CANVAS_PUBLISH = "celery.canvas.Signature.apply_async"
#: How an inference's note starts (confidence.INFERRED_NOTE, not imported: it imports
#: this module): such evidence never makes a queue ``high``.
_INFERRED = "inferred"
#: Decorators that make a method an attribute read: reading it runs the method.
_PROPERTIES = frozenset(
    {"property", "functools.cached_property", "django.utils.functional.cached_property"}
)
_MAX_SUBCLASSES = 5000  # a class hierarchy searched for overrides stops here
_MAX_IMPORTED = 200  # candidates of one dynamic import, at most
_DJANGO_SETTINGS = "django.conf.settings."


@dataclass(frozen=True, slots=True)
class Target:
    """What a call reaches: a project function (``func``) or a library call (``lib``)."""

    kind: str  # "func" or "lib"
    name: str
    call: Call | None = None  # the knowledge row, for "lib"


@dataclass(frozen=True, slots=True)
class Symbol:
    kind: str  # module, func, class, value, external, funcattr, classattr, instance, unknown
    name: str = ""
    rest: tuple[str, ...] = ()
    value: Value | None = None
    module: str = ""


class Project:
    def __init__(self, modules: Iterable[ModuleFacts], knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self.modules: dict[str, ModuleFacts] = {}
        self.functions: dict[str, tuple[ModuleFacts, FunctionFacts]] = {}
        self.classes: dict[str, tuple[ModuleFacts, ClassFacts]] = {}
        self.imports: dict[str, dict[str, str]] = {}
        self.assigns: dict[str, dict[str, Value]] = {}
        #: Literal tables local to functions: dotted name -> (module, line, value).
        self.local_tables: dict[str, tuple[str, int, Value]] = {}
        #: Functions defined inside other functions (not methods), by enclosing function.
        self.nested: dict[str, list[str]] = {}
        self._index(sorted(modules, key=lambda m: m.path))
        self._reset()

    def with_modules(self, modules: Iterable[ModuleFacts]) -> Project:
        """This project with ``modules`` in place of those of the same names (outlines
        read in full, between parse rounds): the index is copied and patched, not
        rebuilt, and every derived answer is computed afresh."""
        new = object.__new__(Project)
        new.knowledge = self.knowledge
        new.modules = dict(self.modules)
        # Without the made-up dispatch functions: they are made again when asked for.
        new.functions = {k: v for k, v in self.functions.items() if k not in self.dispatch}
        new.classes = dict(self.classes)
        new.imports = dict(self.imports)
        new.assigns = dict(self.assigns)
        new.local_tables = dict(self.local_tables)
        new.nested = {k: list(v) for k, v in self.nested.items()}
        given = list(modules)
        for facts in given:
            new._forget(facts.module)
        new._index(given)
        new._reset()
        return new

    def _forget(self, module: str) -> None:
        old = self.modules.pop(module, None)
        if old is None:
            return
        for fn in old.functions:
            fid = f"{module}.{fn.qualname}"
            self.functions.pop(fid, None)
            self.nested.pop(fid, None)
            parent = fid.rpartition(".")[0]
            if fid in self.nested.get(parent, ()):
                self.nested[parent].remove(fid)
            for name, _, _ in fn.tables:
                self.local_tables.pop(f"{fid}.{name}", None)
        for cls in old.classes:
            self.classes.pop(f"{module}.{cls.qualname}", None)

    def _index(self, modules: Iterable[ModuleFacts]) -> None:
        added: list[str] = []
        for facts in modules:
            if facts.module in self.modules:
                continue  # two roots with the same module: the first path wins
            self.modules[facts.module] = facts
            self.imports[facts.module] = dict(facts.imports)
            self.assigns[facts.module] = dict(facts.assigns)
            for fn in facts.functions:
                fid = f"{facts.module}.{fn.qualname}"
                self.functions[fid] = (facts, fn)
                added.append(fid)
            for cls in facts.classes:
                self.classes[f"{facts.module}.{cls.qualname}"] = (facts, cls)
        for fid in added:
            facts, fn = self.functions[fid]
            for name, value, line in fn.tables:
                self.local_tables[f"{fid}.{name}"] = (facts.module, line, value)
            parent = fid.rpartition(".")[0]
            if not fn.cls and parent in self.functions:
                self.nested.setdefault(parent, []).append(fid)

    def _reset(self) -> None:
        """Answers derived from the index, computed on demand."""
        self._mro: dict[str, tuple[str, ...]] = {}
        self._bases: dict[str, tuple[str, ...]] = {}
        #: Project classes by the last part of each base's name, for finding subclasses.
        self._by_base_name: dict[str, list[str]] | None = None
        self._resolved: dict[str, Symbol] = {}
        self._override_memo: dict[tuple[str, str], list[str]] = {}
        #: Files whose class hierarchies exceed MAX_MRO: path -> the class cut there.
        self.too_deep: dict[str, str] = {}
        #: Dispatch points (``HANDLERS[kind](...)``, ``getattr(mod, f"on_{x}")(...)``) made
        #: into functions that call every candidate: id -> (table, candidates), or
        #: ("", 0) when the candidates are not all statically known.
        self.dispatch: dict[str, tuple[str, int]] = {}
        #: Registered service factories (services.py), read on the first lookup.
        self._services: dict[str, str] | None = None
        #: Instance attribute name -> the classes that type it (built on first use), and
        #: the library class each name holds when they all agree (memoised per name).
        self._attr_owners: dict[str, list[str]] | None = None
        self._attr_library: dict[str, str] = {}
        #: Method name -> the classes defining it (effects.MethodIndex), built on first
        #: use and kept for every walk over this project (a library's source is walked
        #: once per name looked up in it); and per name asked for, bases first.
        self.method_index: dict[str, list[str]] | None = None
        self.method_order: dict[str, tuple[str, ...]] = {}

    # -- names ----------------------------------------------------------------------
    def resolve(self, dotted: str, hops: int = 0) -> Symbol:
        if hops:
            return self._resolve(dotted, hops)
        # The same names are resolved over and over (every call site, every round's
        # reachability): a top-level resolution depends only on the project's facts.
        found = self._resolved.get(dotted)
        if found is None:
            found = self._resolved[dotted] = self._resolve(dotted, 0)
        return found

    def _resolve(self, dotted: str, hops: int) -> Symbol:
        if hops > _MAX_HOPS:
            return Symbol("unknown", dotted)
        parts = dotted.split(".")
        cut = len(parts)
        while cut > 0 and ".".join(parts[:cut]) not in self.modules:
            cut -= 1
        if cut == 0:
            return Symbol("external", dotted)
        module = ".".join(parts[:cut])
        rest = parts[cut:]
        if not rest:
            return Symbol("module", module)
        return self._member(module, rest, hops)

    def _member(self, module: str, rest: list[str], hops: int) -> Symbol:
        head, tail = rest[0], tuple(rest[1:])
        full = f"{module}.{head}"
        if full in self.classes:
            return self._class_member(full, tail, hops)
        if full in self.functions:
            return Symbol("func", full) if not tail else Symbol("funcattr", full, tail)
        imported = self.imports[module].get(head)
        if imported is not None and imported != full:
            return self.resolve(".".join([imported, *tail]), hops + 1)
        value = self.assigns[module].get(head)
        if isinstance(value, Ref):
            return self.resolve(".".join([value.name, *tail]), hops + 1)
        if isinstance(value, CallV):
            if not tail:
                return Symbol("value", full, value=value, module=module)
            return Symbol("instance", value.func, tail, value=value, module=module)
        if value is not None:
            return Symbol("value", full, tail, value=value, module=module)
        starred = self._starred(module, rest, hops)
        if starred is not None:
            return starred
        facts = self.modules[module]
        if "." not in module and not facts.is_package:
            # A loose top-level script named like a library (readthedocs'
            # dockerfiles/settings/celery.py) that lacks the name: the library's.
            return Symbol("external", f"{module}.{'.'.join(rest)}")
        return Symbol("unknown", full, tail)

    def _starred(self, module: str, rest: list[str], hops: int) -> Symbol | None:
        """A name a module has through ``from .x import *``: the project module that
        defines it (the last such import wins, as in Python). A library's star import
        is not followed: the advisor cannot list a library's names, and a guess would
        turn every unknown local name into a library call."""
        stars = [v for k, v in self.imports[module].items() if k.startswith("*")]
        for star in reversed(stars):
            if star not in self.modules:
                continue
            found = self.resolve(".".join([star, *rest]), hops + 1)
            if found.kind not in ("external", "unknown") or self._star_exports(star, rest[0]):
                return found
        return None

    def _star_exports(self, module: str, name: str) -> bool:
        """Whether ``from module import *`` brings ``name`` that ``module`` imported
        (``from discord_webhook import DiscordWebhook`` there): every public name, as
        in Python, unless a literal ``__all__`` lists others."""
        if name.startswith("_") or name not in self.imports[module]:
            return False
        listed = self.assigns[module].get("__all__")
        if isinstance(listed, SeqV):
            return any(isinstance(i, Lit) and i.value == name for i in listed.items)
        return listed is None

    def _class_member(self, cid: str, tail: tuple[str, ...], hops: int) -> Symbol:
        if not tail:
            return Symbol("class", cid)
        for base in self.mro(cid):
            if base in self.classes:
                _, cls = self.classes[base]
                if tail[0] in cls.methods:
                    fid = f"{base}.{tail[0]}"
                    return (
                        Symbol("func", fid) if len(tail) == 1 else Symbol("funcattr", fid, tail[1:])
                    )
        return Symbol("classattr", cid, tail)

    def mro(self, cid: str) -> tuple[str, ...]:
        """The class and its bases, depth first; external bases by their library names.

        Iterative, memoised and bounded: a generated chain of a thousand classes must not
        overflow the stack or take quadratic time. A class whose bases go deeper than
        ``MAX_MRO`` gets a cut order and its file is named in :attr:`too_deep`.
        """
        if cid in self._mro:
            return self._mro[cid]
        # Post-order over the base graph with an explicit stack: a class's order is made
        # once every base it has (that is not already being computed) has its own.
        stack: list[tuple[str, list[str]]] = [(cid, self._base_names(cid))]
        self._mro[cid] = (cid,)  # guards against cycles while computing
        while stack:
            current, pending = stack[-1]
            while pending:
                base = pending.pop()
                if base in self.classes and base not in self._mro:
                    if len(stack) >= MAX_MRO:
                        self._cut(current)
                        continue
                    self._mro[base] = (base,)
                    stack.append((base, self._base_names(base)))
                    break
            else:
                stack.pop()
                self._mro[current] = self._merge(current)
        return self._mro[cid]

    def _base_names(self, cid: str) -> list[str]:
        """The class's bases, resolved, in reverse (the stack pops the first one first)."""
        if cid not in self.classes:
            return []
        if cid not in self._bases:
            names = []
            for base in self.classes[cid][1].bases:
                symbol = self.resolve(base)
                names.append(symbol.name if symbol.kind == "class" else base)
            self._bases[cid] = tuple(reversed(names))
        return list(self._bases[cid])

    def _merge(self, cid: str) -> tuple[str, ...]:
        order: dict[str, None] = {cid: None}
        for base in reversed(self._base_names(cid)):
            names = self._mro.get(base, (base,)) if base in self.classes else self._lib_mro(base)
            for name in names:
                if len(order) >= MAX_MRO:
                    self._cut(cid)
                    break
                order.setdefault(name, None)
        return tuple(order)

    def _cut(self, cid: str) -> None:
        facts = self.classes[cid][0]
        self.too_deep.setdefault(facts.path, cid)

    def _lib_mro(self, name: str) -> tuple[str, ...]:
        """A library base and the library classes the knowledge says it is (``AbstractUser``,
        then ``django.db.models.Model``), so a project model's ``save`` is the ORM's."""
        order = [name]
        while len(order) < 8 and (alias := self.knowledge.alias(order[-1])) and alias not in order:
            order.append(alias)
        return tuple(order)

    def lookup(self, name: str) -> Call | None:
        """The knowledge row for a library name, through class aliases when it has none
        itself: ``django.contrib.auth.models.User.objects.get`` is ``Model.objects.get``.
        A chain of attributes (``Cls.objects.get``) is only covered by rows about that
        attribute, never by a bare ``Cls.*``."""
        row = self.knowledge.lookup(name)
        if row is not None:
            return row
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            alias = self.knowledge.alias(".".join(parts[:cut]))
            if alias:
                rest = ".".join(parts[cut:])
                if cut == len(parts) - 1:
                    return self.lookup(f"{alias}.{rest}")
                return self.knowledge.lookup_below(alias, rest)
        return None

    # -- types of values -------------------------------------------------------------
    def type_of_result(self, callee: str, hops: int = 0) -> tuple[str, str] | None:
        """The class of what calling ``callee`` returns: ("class", project class) or
        ("ext", library class), from constructors, factories' ``return`` and knowledge."""
        if hops > 8:
            return None
        if callee.endswith(ITEM):  # for c in get_connectors(): the annotated item type
            symbol = self.resolve(callee[: -len(ITEM)])
            if symbol.kind != "func":
                return self._queried_model(callee[: -len(ITEM)])
            items = self.functions[symbol.name][1].returns_items
            return self.type_of_result(items, hops + 1) if items else None
        if callee.endswith("()"):  # cls = sender_class(); cls(): what the factory returns
            found = (
                self.type_of_result(m, hops + 1) for m in self.returned_by_factory(callee[:-2])
            )
            return next((f for f in found if f is not None), None)
        if callee.startswith(SERVICE):  # request.find_service(...): what its factory makes
            return self._service_type(callee, hops)
        if CHAINED in callee:  # Search(...).filter(...): what filter returns on a Search
            made, _, method = callee.rpartition(CHAINED)
            owner = self.type_of_result(made, hops + 1)
            return self._returned_by(owner, (method,), hops + 1) if owner else None
        return self._type_of_symbol(callee, hops)

    def _queried_model(self, chain: str) -> tuple[str, str] | None:
        """``for f in File.query.filter(...)``, ``for p in Photo.objects.all()``: a query
        built on a model class yields instances of it, whatever the methods in between
        (Django's manager, Flask-SQLAlchemy's ``Model.query``)."""
        for attr in _QUERY_ATTRS:
            owner, found, _ = chain.partition(attr)
            if not found:
                continue
            symbol = self.resolve(owner)
            if symbol.kind == "class":
                return ("class", symbol.name)
            if symbol.kind == "external" and owner.rpartition(".")[2][:1].isupper():
                return ("ext", owner)  # a library's model: its rows say what f.method() does
        return None

    def _type_of_symbol(self, callee: str, hops: int) -> tuple[str, str] | None:
        """``type_of_result`` for a plain name: a class, a function, a library name."""
        symbol = self.resolve(callee)
        if symbol.kind == "class":
            return ("class", symbol.name)
        if symbol.kind == "func":
            _, fn = self.functions[symbol.name]
            return self.type_of_result(fn.returns, hops + 1) if fn.returns else None
        if symbol.kind == "external":
            row = self.lookup(symbol.name)
            if row is not None and row.returns:
                return ("ext", row.returns)
            if symbol.name.rpartition(".")[2][:1].isupper():
                return ("ext", symbol.name)  # a library class: its instance's methods are Class.m
            return None
        return self._type_of_member(symbol, hops)

    def _service_factory(self, made: str) -> str:
        if self._services is None:
            sites = [s for _, fn in self.functions.values() for s in (*fn.calls, *fn.param_calls)]
            sites += [s for facts in self.modules.values() for s in facts.calls]
            self._services = services.registrations(sites)
        return self._services.get(made, "")

    def _service_type(self, made: str, hops: int) -> tuple[str, str] | None:
        factory = self._service_factory(made)
        if factory:
            return self.type_of_result(factory, hops + 1)
        how, _, name = made[len(SERVICE) :].partition("=")
        return self.type_of_result(name, hops + 1) if how == "iface" else None

    def _type_of_member(self, symbol: Symbol, hops: int) -> tuple[str, str] | None:
        if symbol.kind == "instance" and symbol.rest:
            # r = redis.from_url(...) at module level; r.pipeline() -> what pipeline returns.
            owner = self.type_of_result(symbol.name, hops + 1)
            return self._returned_by(owner, symbol.rest, hops + 1) if owner else None
        if symbol.kind == "classattr":
            return self._returned_by(("class", symbol.name), symbol.rest, hops + 1)
        if symbol.kind == "value" and not symbol.rest and isinstance(symbol.value, CallV):
            # Session = sessionmaker(...) at module level; Session(): what calling an
            # instance of the factory's class returns (its ``__call__`` row).
            owner = self.type_of_result(symbol.value.func, hops + 1)
            return self._returned_by(owner, ("__call__",), hops + 1) if owner else None
        return None

    def _returned_by(
        self, owner: tuple[str, str], rest: tuple[str, ...], hops: int
    ) -> tuple[str, str] | None:
        """What calling ``owner.<rest>`` returns (``Order.objects.get`` -> an Order)."""
        if hops > 8:
            return None
        if owner[0] == "ext":
            row = self._lib_row(owner[1], rest)
            return ("ext", row.returns) if row is not None and row.returns else None
        cid = owner[1]
        symbol = self._class_member(cid, rest, 0)
        if symbol.kind == "func":
            _, fn = self.functions[symbol.name]
            return self.type_of_result(fn.returns, hops + 1) if fn.returns else None
        if len(rest) > 1 and (found := self._returned_by_attr(cid, rest, hops)) is not None:
            return found
        for base in self.mro(cid):
            if base not in self.classes:
                row = self._lib_row(base, rest)
                if row is not None and row.returns:
                    # A factory that returns an instance of one of the class's own bases
                    # returns the class's own instances: Order.objects.get() is an Order.
                    if row.returns in self.mro(cid):
                        return ("class", cid)
                    return ("ext", row.returns)
        return None

    def _returned_by_attr(
        self, cid: str, rest: tuple[str, ...], hops: int
    ) -> tuple[str, str] | None:
        """What ``cid.<attr>.<rest…>`` returns through the attribute's own class
        (``Election.objects.get`` with ``objects = ElectionManager()``)."""
        attr = self._self_attr_type(f"{cid}#{rest[0]}")
        found = self._returned_by(attr, rest[1:], hops + 1) if attr is not None else None
        if found == ("ext", MODEL) and MODEL in self.mro(cid):
            return ("class", cid)  # a custom manager's get(): the model it is on
        return found

    def _lib_row(self, owner: str, rest: tuple[str, ...]) -> Call | None:
        if len(rest) == 1:
            return self.lookup(f"{owner}.{rest[0]}")
        mro = self._lib_mro(owner)
        for name in mro:
            row = self.knowledge.lookup_below(name, ".".join(rest))
            if row is not None:
                return row
        # post.tags.all(), post.comment_set.count(): a relation's manager (conventions).
        related = related_manager(rest) if MODEL in mro else ""
        return self.knowledge.lookup_below(MODEL, related) if related else None

    def returned_by_factory(self, callee: str) -> tuple[str, ...]:
        """The functions or classes a project factory returns uncalled, all of them
        (``return requests.get`` in one branch, ``return requests.request`` in another)."""
        symbol = self.resolve(callee)
        if symbol.kind != "func":
            return ()
        return self.functions[symbol.name][1].returned

    def type_of_instance(self, name: str) -> tuple[str, str]:
        symbol = self.resolve(name)
        if symbol.kind in ("class", "external"):  # a library class re-exported: its own name
            return ("class" if symbol.kind == "class" else "ext", symbol.name)
        return ("ext", name)

    # -- calls ------------------------------------------------------------------------
    def targets(self, site: CallSite) -> Iterator[Target]:
        if not site.recv_kind:
            yield from self._dotted_targets(site.target)
        elif site.recv_kind in ("dispatch", "getattr"):
            yield from self._dispatch_targets(site.recv_kind, site.recv, site.target)
        elif (table := self._got_from_table(site)) is not None:  # HANDLERS.get(kind)(...)
            yield from self._dispatch_targets("dispatch", table, site.target)
        elif not site.target:
            if site.recv_kind == "result":
                yield from self._called_result(site.recv)
        else:
            yield from self._method_call_targets(site)

    def _got_from_table(self, site: CallSite) -> str | None:
        if site.recv_kind != "result" or not site.recv.endswith(".get"):
            return None
        table = site.recv[: -len(".get")]
        return table if self._table_items(table) is not None else None

    def _method_call_targets(self, site: CallSite) -> Iterator[Target]:
        """A method (or attribute chain) called on a receiver whose type is looked up."""
        if site.recv_kind == "super":
            yield from self._super_targets(site.recv, site.target)
            return
        if site.recv_kind == "result":
            if site.recv.startswith(SERVICE):  # the lookup runs the factory: it is called
                named = self._service_factory(site.recv)
                factory = self.resolve(named) if named else None
                if factory is not None and factory.kind == "func":
                    yield Target("func", factory.name)
            kind = self.type_of_result(site.recv)
            if kind is None and site.target in TASK_METHODS:
                # x.s(...).delay(), group(...).apply_async(): publishing, whatever x is.
                yield self._lib(f"celery.app.task.Task.{site.target}")
                return
        elif site.recv_kind == "instance":
            kind = self.type_of_instance(site.recv)
        else:  # selfattr: "pkg.mod.Class#attr"
            kind = self._self_attr_type(site.recv)
        if kind is None:
            return
        # Only a constructor says the exact class; self, an annotation, an attribute or a
        # factory's result may be any subclass, so a method call reaches every override.
        exact = site.recv_kind == "result" and self.resolve(site.recv).kind == "class"
        if kind[0] == "class" and not exact and "." not in site.target:
            overrides = self._overrides(kind[1], site.target)
            if overrides:
                yield from self._hierarchy_targets(kind[1], site.target, overrides)
                return
        yield from self._method_targets(kind, site.target)

    def _super_targets(self, cid: str, method: str) -> Iterator[Target]:
        """``super().method()`` in ``cid``: the first class after it in its MRO that has
        the method, a project one or a library one the knowledge describes (a model's
        ``save`` override calling ``super().save()`` is the ORM's save)."""
        after = self.mro(cid)[1:]
        own = next(
            (
                i
                for i, b in enumerate(after)
                if b in self.classes and method in self.classes[b][1].methods
            ),
            len(after),
        )
        found = list(self._library_method(after[:own], method))
        if found or own == len(after):
            yield from found
        else:
            yield Target("func", f"{after[own]}.{method}")

    def _library_method(self, bases: Iterable[str], method: str) -> Iterator[Target]:
        """``method`` (or an attribute chain) as the first library class among ``bases``
        with knowledge of it has it; else, for ``delay``/``apply_async``, publishing."""
        parts = tuple(method.split("."))
        for base in bases:
            if base not in self.classes:
                row = self._lib_row(base, parts)
                if row is not None:
                    yield Target("lib", f"{base}.{method}", row)
                    return
        if method in TASK_METHODS:
            yield self._lib(f"celery.app.task.Task.{method}")

    # -- class hierarchy --------------------------------------------------------------
    def _overrides(self, cid: str, method: str) -> list[str]:
        """``method`` as defined by ``cid``'s subclasses in the project (not ``cid``'s)."""
        key = (cid, method)
        if key not in self._override_memo:
            self._override_memo[key] = self._find_overrides(cid, method)
        return self._override_memo[key]

    def _find_overrides(self, cid: str, method: str) -> list[str]:
        found: list[str] = []
        seen = {cid}
        todo = self._children(cid)
        while todo and len(seen) < _MAX_SUBCLASSES:
            sub = todo.pop()
            if sub in seen:
                continue
            seen.add(sub)
            if method in self.classes[sub][1].methods:
                found.append(f"{sub}.{method}")
            todo.extend(self._children(sub))
        return sorted(found)

    def _children(self, cid: str) -> list[str]:
        """The project classes whose bases resolve to ``cid``. Bases are canonical names
        already, so only classes naming a base that ends like ``cid`` are resolved: a
        large project's other classes cost nothing."""
        if self._by_base_name is None:
            self._by_base_name = {}
            for sub, (_, cls) in self.classes.items():
                for base in cls.bases:
                    self._by_base_name.setdefault(base.rpartition(".")[2], []).append(sub)
        named = self._by_base_name.get(cid.rpartition(".")[2], ())
        return [sub for sub in named if cid in self._base_names(sub)]

    def _hierarchy_targets(self, cid: str, method: str, overrides: list[str]) -> Iterator[Target]:
        """A call on ``cid``'s ``method`` where the object may be any subclass: one made-up
        function calling the method ``cid`` resolves to and every override."""
        fid = f"{cid}.{method}[*]"
        if fid not in self.dispatch:
            facts, cls = self.classes[cid]
            own = self._class_member(cid, (method,), 0)
            names = [own.name] if own.kind == "func" else []
            names += [o for o in overrides if o not in names]
            sites = tuple(CallSite(name, cls.line) for name in names)
            module = facts.module
            qualname = fid[len(module) + 1 :]
            self.functions[fid] = (facts, FunctionFacts(qualname, cls.line, calls=sites))
            self.dispatch[fid] = (f"{cid}.{method} and its overrides", len(sites))
        yield Target("func", fid)

    def _called_result(self, made: str) -> Iterator[Target]:
        """Calling what a call returned: a factory's function or class (``fn =
        get_request_function(); fn(...)``), or a canvas, which publishes when called
        (``chord(header)(callback)``, ``group(...)()``). Anything else is a value the
        advisor cannot name."""
        returned = self.returned_by_factory(made)
        for name in returned:
            if name.endswith(PICKED):  # return handlers.get(kind): one of the table's items
                yield from self._dispatch_targets("dispatch", name[: -len(PICKED)], "")
            else:
                yield from self._dotted_targets(name)
        if not returned and self._is_canvas(made):
            yield Target("lib", f"{made}.__call__", self.lookup(_CANVAS_PUBLISH))
        elif not returned:
            yield from self._instance_called(made)

    def _instance_called(self, made: str) -> Iterator[Target]:
        """Calling an instance a call made (``model = torch.jit.load(p); model(x)``): its
        class's ``__call__``, a project method or a library row; nothing when neither is
        known, so an unnamed value stays quiet rather than unknown."""
        kind = self.type_of_result(made)
        if kind is None:
            return
        if kind[0] == "class":
            symbol = self._class_member(kind[1], ("__call__",), 0)
            if symbol.kind == "func":
                yield Target("func", symbol.name)
        elif (row := self._lib_row(kind[1], ("__call__",))) is not None:
            yield Target("lib", f"{kind[1]}.__call__", row)

    def _is_canvas(self, made: str) -> bool:
        if made.endswith("()"):
            return False
        symbol = self.resolve(made)
        head, _, last = made.rpartition(".")
        return symbol.kind == "external" and head.startswith("celery") and last in _CANVAS

    # -- dynamic dispatch -------------------------------------------------------------
    def _dispatch_targets(self, how: str, recv: str, method: str) -> Iterator[Target]:
        """A call through a table or ``getattr``: one made-up function that calls every
        candidate, so its summary is the union of theirs. Nothing when any candidate is
        not statically known (a lambda, a computed value): unknown stays unknown."""
        if how == "dispatch":
            fid = f"{recv}[*]"
        else:
            owner, _, pattern = recv.partition("#")
            fid = f"{owner}.getattr({pattern})"
        if method:
            fid = f"{fid}.{method}"
        if fid not in self.dispatch:
            self.dispatch[fid] = ("", 0)  # guards against a table that lists itself
            made = self._make_dispatch(fid, how, recv, method)
            if made is not None:
                facts, fn, table, count = made
                self.functions[fid] = (facts, fn)
                self.dispatch[fid] = (table, count)
        if self.dispatch[fid][1]:
            yield Target("func", fid)

    def _table(self, table: str) -> tuple[str, str, int, Value] | None:
        """A literal table: (module, name, line, value), at module level or local to a
        function (``senders = {...}`` in its body)."""
        if table in self.local_tables:
            module, line, value = self.local_tables[table]
            return module, table, line, value
        if table.startswith(IMPORTED):
            return self._imported_table(table)
        symbol = self.resolve(table)
        if symbol.kind == "classattr" and len(symbol.rest) == 1:
            return self._class_table(symbol.name, symbol.rest[0])
        if symbol.kind != "value" or symbol.rest or symbol.module not in self.modules:
            return None
        if symbol.value is None:
            return None
        line = dict(self.modules[symbol.module].tables).get(symbol.name.rpartition(".")[2], 1)
        return symbol.module, symbol.name, line, symbol.value

    def _class_table(self, cid: str, name: str) -> tuple[str, str, int, Value] | None:
        """``HANDLERS = {...}`` in a class body (or a base's): a table of candidates."""
        for base in self.mro(cid):
            if base in self.classes:
                facts, cls = self.classes[base]
                value = cls.attr(name)
                if value is not None:
                    return facts.module, f"{base}.{name}", cls.line, value
        return None

    def _imported_table(self, table: str) -> tuple[str, str, int, Value] | None:
        """What a dynamic import may import, as a table: the project modules matching a
        pattern (``import_module(f"proj.backends.{name}")``), or the dotted paths a
        setting holds, in every settings module that sets it (``import_string(
        settings.EMAIL_BACKEND)``)."""
        spec = table[len(IMPORTED) :]
        if spec.startswith("="):
            names = self._setting_paths(spec[1:])
        else:
            names = sorted(m for m in self.modules if fnmatch.fnmatchcase(m, spec))
        names = names[:_MAX_IMPORTED]
        if not names:
            return None
        symbol = self.resolve(names[0])
        module = symbol.name if symbol.kind == "module" else symbol.module
        module = module or next(iter(self.modules))
        label = f"the modules {spec}" if not spec.startswith("=") else f"the values of {spec[1:]}"
        return module, label, 1, SeqV(tuple(Ref(n) for n in names))

    def _setting_paths(self, ref: str) -> list[str]:
        """The dotted paths a setting holds: a string, or a list of strings (every
        settings module that assigns it counts, since which one runs is not known)."""
        if ref.startswith(_DJANGO_SETTINGS):
            key = ref[len(_DJANGO_SETTINGS) :]
            values = [
                dict(facts.assigns)[key]
                for module, facts in sorted(self.modules.items())
                if "settings" in module and key in dict(facts.assigns)
            ]
        else:
            symbol = self.resolve(ref)
            values = [symbol.value] if symbol.kind == "value" and symbol.value else []
        found: list[str] = []
        for value in values:
            items = value.items if isinstance(value, SeqV) else (value,)
            for item in items:
                if isinstance(item, Lit) and isinstance(item.value, str) and "." in item.value:
                    found.append(item.value.replace(":", "."))
        return sorted(set(found))

    def _table_items(self, table: str) -> tuple[Value, ...] | None:
        found = self._table(table)
        value = found[3] if found is not None else None
        if isinstance(value, DictV):
            return tuple(v for _, v in value.items)
        if isinstance(value, SeqV):
            return value.items
        return None

    def _make_dispatch(
        self, fid: str, how: str, recv: str, method: str
    ) -> tuple[ModuleFacts, FunctionFacts, str, int] | None:
        sites: list[CallSite] = []
        if how == "dispatch":
            items = self._table_items(recv)
            found = self._table(recv)
            if not items or found is None:
                return None
            module, table, line, _ = found
            facts = self.modules[module]
            for item in items:
                site = self._candidate(item, method, line)
                if site is None and not recv.startswith(IMPORTED):
                    return None
                if site is not None:  # a matching module without the name is no candidate
                    sites.append(site)
            if not sites:
                return None
        else:
            owner, _, pattern = recv.partition("#")
            names = self._getattr_candidates(owner, pattern)
            if not names:
                return None
            facts, first = self.functions[names[0]]
            line = first.line
            sites = [CallSite(f"{n}.{method}" if method else n, line) for n in names]
            table = f"getattr({owner}, {pattern!r})"
        module = facts.module
        qualname = fid[len(module) + 1 :] if fid.startswith(f"{module}.") else fid
        fn = FunctionFacts(qualname=qualname, line=line, calls=tuple(sites))
        return facts, fn, table, len(sites)

    def _candidate(self, item: Value, method: str, line: int) -> CallSite | None:
        """The call one table entry stands for; None when it cannot be named."""
        if isinstance(item, Ref):
            name = f"{item.name}.{method}" if method else item.name
            site = CallSite(name, line)
        elif isinstance(item, CallV):  # an instance: HomeStream()
            if self.type_of_result(item.func) is None:
                return None
            site = CallSite(method or "__call__", line, recv=item.func, recv_kind="result")
        else:
            return None
        if any(True for _ in self.targets(site)):
            return site
        # A project class with no __init__ of its own: constructing it is known, and quiet.
        return site if not method and self.resolve(site.target).kind == "class" else None

    def _getattr_candidates(self, owner: str, pattern: str) -> list[str]:
        symbol = self.resolve(owner)
        if symbol.kind == "module":
            return sorted(
                f"{owner}.{fn.qualname}"
                for fn in self.modules[owner].functions
                if "." not in fn.qualname and fnmatch.fnmatchcase(fn.qualname, pattern)
            )
        if symbol.kind != "class":
            return []
        found: dict[str, str] = {}
        for base in self.mro(symbol.name):
            if base in self.classes:
                for name in self.classes[base][1].methods:
                    if fnmatch.fnmatchcase(name, pattern):
                        found.setdefault(name, f"{base}.{name}")
        return sorted(found.values())

    def _self_attr_type(self, recv: str) -> tuple[str, str] | None:
        cid, _, attr = recv.partition("#")
        for base in self.mro(cid):
            if base in self.classes:
                _, cls = self.classes[base]
                for name, factory in cls.self_attrs:
                    if name == attr:
                        return self.type_of_result(factory)
        return None

    def _method_targets(self, kind: tuple[str, str], method: str) -> Iterator[Target]:
        """``method`` may be a chain of attributes: ``objects.filter`` on a model class."""
        parts = tuple(method.split("."))
        if kind[0] == "class":
            symbol = self._class_member(kind[1], parts, 0)
            if symbol.kind == "func":
                yield Target("func", symbol.name)
                yield from self._property_result(symbol.name)
                return
            if len(parts) > 1:  # Doc.deleted_objects.filter: the manager's own class
                attr = self._self_attr_type(f"{kind[1]}#{parts[0]}")
                rest = ".".join(parts[1:])
                found = [] if attr is None else list(self._method_targets(attr, rest))
                if any(t.kind == "func" or t.call is not None for t in found):
                    yield from found
                    return
            yield from self._library_method(self.mro(kind[1]), method)
            return
        if len(parts) == 1:
            yield self._lib(f"{kind[1]}.{method}")
        elif (row := self._lib_row(kind[1], parts)) is not None:
            yield Target("lib", f"{kind[1]}.{method}", row)

    def held_library(self, chain: str) -> Iterator[Target]:
        """A call below an attribute of a value of unknown class (``self._es.conn.index``,
        ``_es`` passed in untyped): when every project class that types an attribute of
        that name (``conn: Elasticsearch``) holds the same library class there, and that
        library's table gives the rest of the chain an effect, the call is that library's,
        as an inference (its note says so)."""
        parts = chain.split(".")
        for i in range(1, len(parts) - 1):
            owner = self._attribute_library(parts[i])
            row = self._lib_row(owner, tuple(parts[i + 1 :])) if owner else None
            if row is not None and row.effect is not None:
                note = f"{_INFERRED}: every project class typing '.{parts[i]}' holds {owner} there"
                yield Target("lib", f"{owner}.{'.'.join(parts[i + 1 :])}", replace(row, note=note))
                return

    def _attribute_library(self, attr: str) -> str:
        if attr.startswith("__"):
            return ""
        if self._attr_owners is None:
            self._attr_owners = {}
            for cid, (_, cls) in self.classes.items():
                for name, _factory in cls.self_attrs:
                    self._attr_owners.setdefault(name, []).append(cid)
        if attr not in self._attr_library:
            found = {
                self._self_attr_type(f"{cid}#{attr}") for cid in self._attr_owners.get(attr, ())
            }
            (only,) = found if len(found) == 1 else (None,)
            self._attr_library[attr] = only[1] if only is not None and only[0] == "ext" else ""
        return self._attr_library[attr]

    def _property_result(self, fid: str) -> Iterator[Target]:
        """``engine.service(text)`` where ``service`` is a property returning a function
        uncalled: reading it runs the property, the call runs what it returns."""
        _, fn = self.functions[fid]
        if fn.returned and any(d.ref in _PROPERTIES for d in fn.decorators):
            yield from self._called_result(fid)

    def _dotted_targets(self, dotted: str) -> Iterator[Target]:
        symbol = self.resolve(dotted)
        if symbol.kind == "func":
            yield Target("func", symbol.name)
        elif symbol.kind == "class":
            yield from self._constructor_targets(symbol.name)
        elif symbol.kind == "funcattr":
            if symbol.rest[-1] in TASK_METHODS:
                yield self._lib(f"celery.app.task.Task.{symbol.rest[-1]}")
        elif symbol.kind == "classattr":
            yield from self._method_targets(("class", symbol.name), ".".join(symbol.rest))
        elif symbol.kind == "instance" and symbol.rest:
            kind = self.type_of_result(symbol.name)
            if kind is not None:
                yield from self._method_targets(kind, ".".join(symbol.rest))
        elif symbol.kind == "external":  # through a re-export, the library's own name
            yield self._lib(symbol.name)
        elif symbol.kind == "value" and not symbol.rest and isinstance(symbol.value, CallV):
            yield from self._called_result(symbol.value.func)  # fn = factory() at module level

    def _constructor_targets(self, cid: str) -> Iterator[Target]:
        """Constructing a project class: its ``__init__`` (its own or a base's), and the
        library bases the knowledge gives an effect (a ``Session`` subclass connects)."""
        init = self._class_member(cid, ("__init__",), 0)
        if init.kind == "func":
            yield Target("func", init.name)
        for base in self.mro(cid):
            if base not in self.classes:
                row = self.knowledge.lookup(base)
                if row is not None and row.effect is not None:
                    yield Target("lib", base, row)

    def _lib(self, name: str) -> Target:
        return Target("lib", name, self.lookup(name))
