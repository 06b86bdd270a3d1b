"""Frozen dataclasses to JSON and back, checked against their type hints.

The cache's format (see :mod:`.cache`). Decoding builds only the classes the caller
names and the classes their fields name, and checks every value's type on the way: a
file cannot make it construct anything else, let alone run code (as unpickling can).
Anything that does not fit raises :class:`Invalid`.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable
from typing import Any

from celery_poolkit.advisor import collector

#: The key naming a dataclass in its JSON object, so unions of dataclasses decode.
TAG = "_"


class Invalid(ValueError):
    """The data does not fit the expected type."""


def dump(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses become tagged objects, tuples lists."""
    with collector.paused():  # fresh dicts and lists only: no cycles to collect
        return _dump(value)


def _dump(value: Any) -> Any:
    kind: Any = type(value)
    if kind in _PLAIN:  # exact types first: this runs once per value of a cold run
        return value
    if kind is tuple or kind is list:
        return [_dump(v) for v in value]
    if isinstance(value, enum.Enum):  # Pool, Effect, ... are str enums: not plain
        return value.value
    if kind is frozenset:
        return sorted(_dump(v) for v in value)
    out = {TAG: kind.__name__}
    for name, default in _fields(kind):
        field = getattr(value, name)
        if field is not default and field != default:  # defaults are left out: smaller, faster
            out[name] = _dump(field)
    return out


_PLAIN = frozenset({str, int, float, bool, type(None)})
_REQUIRED = object()  # never equal to a value: the field is always written


@functools.cache
def _fields(kind: type) -> tuple[tuple[str, Any], ...]:
    if not dataclasses.is_dataclass(kind):
        raise TypeError(f"cannot serialise {kind.__name__}")
    return tuple(
        (f.name, _REQUIRED if f.default is dataclasses.MISSING else f.default)
        for f in dataclasses.fields(kind)
    )


def load(hint: Any, data: Any) -> Any:
    """``data`` (from :func:`dump`) as an instance of ``hint``, or :class:`Invalid`."""
    return _decoder(hint)(data)


Decoder = Callable[[Any], Any]


@functools.cache
def _decoder(hint: Any) -> Decoder:
    """A function that checks and builds one type, made once per type: a warm cache
    decodes thousands of entries, and reading the type hints each time costs more than
    the data."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _union(typing.get_args(hint))
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _lazy(args[0])
            return lambda data: tuple(item(v) for v in _list(data))
        return _fixed(args)
    if origin is frozenset:
        (arg,) = typing.get_args(hint)
        member = _lazy(arg)
        return lambda data: frozenset(member(v) for v in _list(data))
    if hint is type(None):
        return _none
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum(hint)
    if hint in (str, int, float, bool):
        return _exact(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass(hint)
    raise TypeError(f"cannot deserialise {hint!r}")  # a programming error, not bad data


def _lazy(hint: Any) -> Decoder:
    """``_decoder(hint)``, looked up on first use: types refer to themselves (a Value
    holds Values), so building every decoder up front would never end."""
    found: list[Decoder] = []

    def decode(data: Any) -> Any:
        if not found:
            found.append(_decoder(hint))
        return found[0](data)

    return decode


def _none(data: Any) -> None:
    if data is not None:
        raise Invalid(f"expected null, got {type(data).__name__}")


def _exact(kind: type) -> Decoder:
    def decode(data: Any) -> Any:
        # Exact types: JSON's true is not the number 1, and 1 is not 1.0.
        if type(data) is not kind:
            raise Invalid(f"expected {kind.__name__}, got {type(data).__name__}")
        return data

    return decode


def _enum(kind: type[enum.Enum]) -> Decoder:
    def decode(data: Any) -> Any:
        try:
            return kind(data)
        except ValueError:
            raise Invalid(f"{data!r} is not a {kind.__name__}") from None

    return decode


def _fixed(args: tuple[Any, ...]) -> Decoder:
    items = [_lazy(a) for a in args]

    def decode(data: Any) -> Any:
        values = _list(data)
        if len(values) != len(items):
            raise Invalid(f"expected {len(items)} items, got {len(values)}")
        return tuple(item(v) for item, v in zip(items, values, strict=True))

    return decode


def _union(options: tuple[Any, ...]) -> Decoder:
    classes = {
        o.__name__: _lazy(o) for o in options if isinstance(o, type) and dataclasses.is_dataclass(o)
    }
    others = [_lazy(o) for o in options if not (isinstance(o, type) and o.__name__ in classes)]

    def decode(data: Any) -> Any:
        if isinstance(data, dict):
            name = data.get(TAG)
            if not isinstance(name, str) or name not in classes:
                raise Invalid(f"unexpected object {name!r}")
            return classes[name](data)
        for other in others:
            try:
                return other(data)
            except Invalid:
                continue
        raise Invalid(f"{type(data).__name__} fits none of {options}")

    return decode


def _dataclass(cls: type) -> Decoder:
    fields: dict[str, Decoder] = {}

    def decode(data: Any) -> Any:
        if not fields:
            names = {f.name for f in dataclasses.fields(cls)}
            hints = typing.get_type_hints(cls)
            fields.update((k, _lazy(v)) for k, v in hints.items() if k in names)
        if not isinstance(data, dict) or data.get(TAG) != cls.__name__:
            raise Invalid(f"expected a {cls.__name__} object")
        if len(data) - 1 > len(fields) or any(k not in fields for k in data if k != TAG):
            raise Invalid(f"unknown fields in {cls.__name__}")
        values = {name: fields[name](value) for name, value in data.items() if name != TAG}
        try:
            return cls(**values)
        except TypeError as exc:  # a required field is missing
            raise Invalid(f"{cls.__name__}: {exc}") from None

    return decode


def _list(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise Invalid(f"expected a list, got {type(data).__name__}")
    return data
