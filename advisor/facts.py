"""What one pass over one module records: the advisor's per-file, cacheable facts.

Everything here is plain frozen data with no reference to the AST, so facts can be
pickled into the content-hash cache and sent back from worker processes. Names are
already canonical: import aliases are followed, so ``from PIL import Image as I;
I.open(p)`` is recorded as a call to ``PIL.Image.open``.
"""

from __future__ import annotations

from dataclasses import dataclass


# --- Static values: what a module-level expression is, as far as reading it can tell ---
@dataclass(frozen=True, slots=True)
class Lit:
    """A literal: str, int, float, bool or None."""

    value: str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Ref:
    """A name, canonicalised through the module's imports (``shop.settings.HTTP_QUEUE``)."""

    name: str


@dataclass(frozen=True, slots=True)
class DictV:
    items: tuple[tuple[Value, Value], ...]


@dataclass(frozen=True, slots=True)
class SeqV:
    items: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class CallV:
    """A call whose callee and arguments were read (``Queue("db", routing_key="db")``)."""

    func: str
    args: tuple[Value, ...] = ()
    kwargs: tuple[tuple[str, Value], ...] = ()

    def kw(self, name: str) -> Value | None:
        return lookup(self.kwargs, name)


@dataclass(frozen=True, slots=True)
class EnvV:
    """``os.environ.get("NAME", default)``/``os.getenv``: known only at run time."""

    var: str
    default: Value | None = None


@dataclass(frozen=True, slots=True)
class Unknown:
    """Anything else (an f-string, arithmetic, a comprehension); ``text`` is its source."""

    text: str


Value = Lit | Ref | DictV | SeqV | CallV | EnvV | Unknown


def lookup(pairs: tuple[tuple[str, Value], ...], name: str) -> Value | None:
    """The value recorded for ``name`` in keyword-style pairs (kwargs, class attributes)."""
    for key, value in pairs:
        if key == name:
            return value
    return None


#: The prefix of a dispatch table that stands for what a dynamic import may import:
#: "import:<module pattern>" (``import_module(f"proj.backends.{name}")``) or
#: "import:=<reference>" (``import_string(settings.EMAIL_BACKEND)``).
IMPORTED = "import:"
#: The suffix of a receiver that stands for an item of what a call returns
#: (``for c in get_connectors(): c.search()``: receiver "pkg.get_connectors[]").
ITEM = "[]"
#: Joins the links of a fluent chain in a receiver: "pkg.Search().filter" is what
#: ``filter`` returns when called on what ``pkg.Search`` returns.
CHAINED = "()."
#: The suffix of a factory's returned name that stands for one item of a table it
#: returns from (``return handlers.get(kind)``: returned "pkg.pick.handlers[*]").
PICKED = "[*]"
#: How a receiver names an instance fetched from a service registry (services.py):
#: "service:name=search_index" or "service:iface=pkg.Class".
SERVICE = "service:"


# --- Calls and definitions --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CallSite:
    """One call inside a function (or at module level).

    ``target`` is a canonical dotted name when ``recv_kind`` is empty. Otherwise it is a
    method name called on a receiver: ``recv_kind == "result"`` means the receiver is
    the value returned by calling ``recv`` (``requests.Session().post``, or a variable
    assigned from such a call); ``"instance"`` means the receiver is an instance of
    class ``recv`` (``self``, an annotated parameter); ``"selfattr"`` means the receiver
    is ``self.<recv>`` and the class's attribute types decide; ``"super"`` means
    ``super().<target>`` in a method of class ``recv``.
    """

    target: str
    line: int
    col: int = 0
    recv: str = ""
    recv_kind: str = ""
    args: tuple[Value, ...] = ()  # kept only for calls whose arguments matter (routing)
    kwargs: tuple[tuple[str, Value], ...] = ()
    #: Arguments that name a module-level object (a function, a class): (slot, canonical
    #: name), slot being the position ("0") or the keyword, so a callee that calls its
    #: parameter can be given what was passed (``process(queryset_func=get_logs)``).
    passed: tuple[tuple[str, str], ...] = ()

    def kw(self, name: str) -> Value | None:
        return lookup(self.kwargs, name)


@dataclass(frozen=True, slots=True)
class Decorator:
    ref: str  # canonical dotted name of the decorator (without the call)
    line: int
    called: bool = False  # @app.task(...) rather than @app.task
    kwargs: tuple[tuple[str, Value], ...] = ()

    def kw(self, name: str) -> Value | None:
        return lookup(self.kwargs, name)


@dataclass(frozen=True, slots=True)
class Hint:
    """A finding-worthy pattern seen in a body without any library knowledge."""

    kind: str  # an Effect or Hazard value: "cpu", "thread_unsafe"
    what: str  # what was seen, e.g. "for-loop over range(rounds)"
    line: int
    end: int = 0  # last line of the construct (a loop's body), when it matters


@dataclass(frozen=True, slots=True)
class FunctionFacts:
    qualname: str  # relative to the module: "helper", "Client.send", "outer.inner"
    line: int
    col: int = 0
    calls: tuple[CallSite, ...] = ()
    decorators: tuple[Decorator, ...] = ()
    hints: tuple[Hint, ...] = ()
    #: What the function returns: its annotated class, else the canonical callee whose
    #: result it returns (``return Session()``).
    returns: str = ""
    #: Functions and classes it returns uncalled (``return requests.get``): a factory's.
    returned: tuple[str, ...] = ()
    #: The annotated class of the items it returns (``-> Iterator[Connector]``).
    returns_items: str = ""
    cls: str = ""  # the enclosing class's qualname for methods
    params: tuple[str, ...] = ()  # parameter names in order, without self/cls
    #: Calls on parameters: ``recv_kind`` "param" (``p()``: target "", ``p.objects.filter()``:
    #: target "objects.filter"; ``recv`` is the parameter) or "paramresult" (``p.x.y().z()``:
    #: ``recv`` "p:x.y", target "z"). Resolved per call site, with what the caller passed.
    param_calls: tuple[CallSite, ...] = ()
    #: Literal tables bound to local names, (name, value, line): ``senders = {...}``.
    tables: tuple[tuple[str, Value, int], ...] = ()
    #: Line spans (first, last) of the while loops and comprehensions in the body: a
    #: call on one of these lines runs once per item (per-item CPU work adds up there).
    loops: tuple[tuple[int, int], ...] = ()
    #: (line, col) of the calls in for loops that work on the loop's item
    #: (loop_items.py): the same work redone on the same value does not add up.
    item_calls: tuple[tuple[int, int], ...] = ()

    def repeats(self, line: int, col: int) -> bool:
        """Whether the call at ``line``:``col`` runs once per item of a loop."""
        if (line, col) in self.item_calls:
            return True
        return any(first <= line <= last for first, last in self.loops)


@dataclass(frozen=True, slots=True)
class ClassFacts:
    qualname: str
    line: int
    bases: tuple[str, ...] = ()
    decorators: tuple[Decorator, ...] = ()
    attrs: tuple[tuple[str, Value], ...] = ()  # class-level assignments (name, queue, …)
    self_attrs: tuple[tuple[str, str], ...] = ()  # self.x = Factory(...) -> (x, Factory)
    methods: tuple[str, ...] = ()

    def attr(self, name: str) -> Value | None:
        return lookup(self.attrs, name)


@dataclass(frozen=True, slots=True)
class ModuleFacts:
    path: str  # relative to the analysed root, with forward slashes
    module: str  # dotted import name ("shop.tasks.images")
    is_package: bool = False
    lines: int = 0
    imports: tuple[tuple[str, str], ...] = ()  # module-level local name -> canonical
    assigns: tuple[tuple[str, Value], ...] = ()  # module-level NAME = value
    attr_assigns: tuple[tuple[str, Value, int], ...] = ()  # app.conf.x = value
    tables: tuple[tuple[str, int], ...] = ()  # NAME = {...} / [...]: its line, for dispatch
    calls: tuple[CallSite, ...] = ()  # module-level calls, with their arguments
    functions: tuple[FunctionFacts, ...] = ()
    classes: tuple[ClassFacts, ...] = ()
    ignores: tuple[tuple[int, tuple[str, ...]], ...] = ()  # line -> rules ("" = all)
    full: bool = True  # False: an outline, without function bodies (see visitor)
