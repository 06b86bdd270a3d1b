"""Evaluate the static values the visitor recorded, across modules.

``queue=settings.HTTP_QUEUE`` becomes ``"http"`` when ``settings.HTTP_QUEUE = "http"``
can be read; ``os.environ.get("Q", "default")`` becomes its default, marked as such;
anything computed at run time becomes :class:`Unresolved` with the source text, so the
caller can report it instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

from celery_poolkit.advisor.facts import CallV, DictV, EnvV, Lit, Ref, SeqV, Value
from celery_poolkit.advisor.project import Project

_QUEUE_CLASSES = frozenset({"kombu.Queue", "kombu.entity.Queue", "kombu.messaging.Queue"})
_DJANGO_SETTINGS = "django.conf.settings."


@dataclass(frozen=True, slots=True)
class Unresolved:
    text: str


@dataclass(frozen=True, slots=True)
class FromEnv:
    """A value read from the environment; ``default`` is what it is when the var is unset."""

    var: str
    default: object


@dataclass(frozen=True, slots=True)
class QueueDecl:
    name: object
    routing_key: object = None


@dataclass(frozen=True, slots=True)
class Pattern:
    regex: str


@dataclass(frozen=True, slots=True)
class Callable:
    """A function or class used as a value (a router); ``name`` is its qualname."""

    name: str


class Evaluator:
    def __init__(self, project: Project, settings: dict[str, Value] | None = None) -> None:
        self.project = project
        #: Django settings by name, for ``from django.conf import settings`` references.
        self.django: dict[str, Value] = settings or {}

    def eval(self, value: Value | None, depth: int = 0) -> object:
        if value is None:
            return None
        if depth > 16:
            return Unresolved("…")
        if isinstance(value, Lit):
            return value.value
        if isinstance(value, Ref):
            return self._ref(value.name, depth)
        if isinstance(value, DictV):
            return self._dict(value, depth)
        if isinstance(value, SeqV):
            return [self.eval(item, depth + 1) for item in value.items]
        if isinstance(value, CallV):
            return self._call(value, depth)
        if isinstance(value, EnvV):
            return FromEnv(value.var, self.eval(value.default, depth + 1))
        return Unresolved(value.text)

    def _dict(self, value: DictV, depth: int) -> dict[object, object]:
        out: dict[object, object] = {}
        for key, item in value.items:
            k = self.eval(key, depth + 1)
            try:
                out[k] = self.eval(item, depth + 1)
            except TypeError:  # an unhashable key: leave it out
                continue
        return out

    def _ref(self, name: str, depth: int) -> object:
        if name.startswith(_DJANGO_SETTINGS):
            key = name[len(_DJANGO_SETTINGS) :]
            if key in self.django:
                return self.eval(self.django[key], depth + 1)
            return Unresolved(f"settings.{key}")
        symbol = self.project.resolve(name)
        if symbol.kind == "value" and not symbol.rest:
            return self.eval(symbol.value, depth + 1)
        if symbol.kind in ("func", "class"):
            return Callable(symbol.name)
        if symbol.kind == "instance":
            return Unresolved(name)
        return Unresolved(name)

    def _call(self, value: CallV, depth: int) -> object:
        func = value.func
        if func in _QUEUE_CLASSES or func.endswith(".Queue"):
            name = value.args[0] if value.args else value.kw("name")
            return QueueDecl(self.eval(name, depth + 1), self.eval(value.kw("routing_key")))
        if func == "re.compile" and value.args:
            pattern = self.eval(value.args[0], depth + 1)
            return Pattern(pattern) if isinstance(pattern, str) else Unresolved("re.compile(…)")
        if func == "dict":
            return {k: self.eval(v, depth + 1) for k, v in value.kwargs}
        if func in ("tuple", "list") and value.args:
            return self.eval(value.args[0], depth + 1)
        return Unresolved(f"{func}(…)")
