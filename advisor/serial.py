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
from typing import Any

#: The key naming a dataclass in its JSON object, so unions of dataclasses decode.
TAG = "_"


class Invalid(ValueError):
    """The data does not fit the expected type."""


def dump(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses become tagged objects, tuples lists."""
    if isinstance(value, enum.Enum):  # before str: Pool, Effect, ... are str enums
        return value.value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)):
        return [dump(v) for v in value]
    if isinstance(value, frozenset):
        return sorted(dump(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {TAG: type(value).__name__}
        for f in dataclasses.fields(value):
            out[f.name] = dump(getattr(value, f.name))
        return out
    raise TypeError(f"cannot serialise {type(value).__name__}")


def load(hint: Any, data: Any) -> Any:
    """``data`` (from :func:`dump`) as an instance of ``hint``, or :class:`Invalid`."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _union(typing.get_args(hint), data)
    if origin is tuple:
        args = typing.get_args(hint)
        items = _list(data)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(load(args[0], v) for v in items)
        if len(items) != len(args):
            raise Invalid(f"expected {len(args)} items, got {len(items)}")
        return tuple(load(a, v) for a, v in zip(args, items, strict=True))
    if origin is frozenset:
        (arg,) = typing.get_args(hint)
        return frozenset(load(arg, v) for v in _list(data))
    if hint is type(None):
        if data is not None:
            raise Invalid(f"expected null, got {type(data).__name__}")
        return None
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(data)
        except ValueError:
            raise Invalid(f"{data!r} is not a {hint.__name__}") from None
    if hint in (str, int, float, bool):
        # Exact types: JSON's true is not the number 1, and 1 is not 1.0.
        if type(data) is not hint:
            raise Invalid(f"expected {hint.__name__}, got {type(data).__name__}")
        return data
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass(hint, data)
    raise TypeError(f"cannot deserialise {hint!r}")  # a programming error, not bad data


def _union(options: tuple[Any, ...], data: Any) -> Any:
    if isinstance(data, dict):
        name = data.get(TAG)
        for option in options:
            if isinstance(option, type) and option.__name__ == name:
                return _dataclass(option, data)
        raise Invalid(f"unexpected object {name!r}")
    for option in options:
        if not (isinstance(option, type) and dataclasses.is_dataclass(option)):
            try:
                return load(option, data)
            except Invalid:
                continue
    raise Invalid(f"{type(data).__name__} fits none of {options}")


def _dataclass(cls: type, data: Any) -> Any:
    if not isinstance(data, dict) or data.get(TAG) != cls.__name__:
        raise Invalid(f"expected a {cls.__name__} object")
    hints = _hints(cls)
    if set(data) - {TAG} - set(hints):
        raise Invalid(f"unknown fields in {cls.__name__}")
    values = {}
    for name, hint in hints.items():
        if name in data:
            values[name] = load(hint, data[name])
    try:
        return cls(**values)
    except TypeError as exc:  # a required field is missing
        raise Invalid(f"{cls.__name__}: {exc}") from None


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in typing.get_type_hints(cls).items() if k in names}


def _list(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise Invalid(f"expected a list, got {type(data).__name__}")
    return data
