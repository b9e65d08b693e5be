"""Check the shape of one exported record before it is normalized.

The exports are JSON written by other tools (and sometimes edited by hand). A field of the wrong
type (a string where a list is expected, a number where an object is) would otherwise surface as
a TypeError or AttributeError deep in normalization or analysis. ``check`` raises a ValueError
naming the field instead, so the normalizer can skip that one record with a clear error and keep
the rest of the file. Missing fields and nulls are allowed everywhere (the normalizers default
them); list elements must not be null.

A spec is a type (or tuple of types), ``{key: spec}`` for an object (``"*"`` applies to every
value), ``[spec]`` for a list whose every element matches, ``TIME`` for a date and time in any form
``nhiscan.sources.timeparse`` reads, or ``OneOf(...)`` for an enumerated string compared without
regard to case (``"active"`` is ``Active``; read it back with ``OneOf.canonical``). Messages name the
field and what was expected, never the value (it may be a secret pasted in the wrong place).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

from nhiscan.sources.timeparse import UnreadableTime, read_time


class _Time:
    """The spec of a date-and-time field (see ``nhiscan.sources.timeparse``)."""

    def __repr__(self) -> str:
        return "TIME"


TIME = _Time()


class OneOf:
    """The spec of an enumerated string field, matched without regard to case."""

    def __init__(self, *choices: str) -> None:
        self.choices = choices
        self._by_fold = {c.casefold(): c for c in choices}

    def canonical(self, value: Any, default: str | None = None) -> str | None:
        """The choice ``value`` names (in its canonical case); ``default`` when it is missing."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        if not isinstance(value, str):
            raise ValueError(f"expected one of {', '.join(self.choices)}, got {describe(value)}")
        found = self._by_fold.get(value.strip().casefold())
        if found is None:
            raise ValueError(f"expected one of {', '.join(self.choices)}")
        return found

    def __repr__(self) -> str:
        return f"OneOf{self.choices!r}"


Spec: TypeAlias = "type | tuple[type, ...] | Mapping[str, Any] | list[Any] | _Time | OneOf"

_NAMES = {
    str: "a string",
    list: "a list",
    dict: "an object",
    bool: "true or false",
    int: "a number",
    float: "a number",
}


def describe(value: Any) -> str:
    """What a value is, for an error message (its JSON type; never its content)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _expected(spec: Spec) -> str:
    if isinstance(spec, _Time):
        return "a date and time"
    if isinstance(spec, OneOf):
        return "one of " + ", ".join(spec.choices)
    if isinstance(spec, Mapping):
        return "an object"
    if isinstance(spec, list):
        return "a list"
    types = spec if isinstance(spec, tuple) else (spec,)
    return " or ".join(dict.fromkeys(_NAMES.get(t, t.__name__) for t in types))


def check(value: Any, spec: Spec, where: str = "", *, nullable: bool = True) -> None:
    """Raise ValueError("<where>: expected X, got Y") when ``value`` does not match ``spec``.

    The place (``UserDetailList[3].Tags[0].Key``) is put together only when something is wrong:
    a large export's millions of good fields cost no string building."""
    try:
        _check(value, spec, nullable)
    except _Mismatch as bad:
        place = where
        for part in reversed(bad.parts):
            place = _join(place, part)
        raise ValueError(f"{place or bad.unnamed}: {bad.tail}") from None


def _join(place: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{place}[{part}]"
    return f"{place}.{part}" if place else part


class _Mismatch(Exception):
    """A field that does not match, with the path to it (innermost part first)."""

    def __init__(self, tail: str, unnamed: str = "value") -> None:
        self.tail = tail
        self.unnamed = unnamed
        self.parts: list[str | int] = []


def _check(value: Any, spec: Spec, nullable: bool = True) -> None:
    if value is None:
        if nullable:
            return
        raise _Mismatch(f"expected {_expected(spec)}, got null")
    if isinstance(spec, _Time):
        try:
            read_time(value)
        except UnreadableTime as exc:
            raise _Mismatch(str(exc)) from None
        return
    if isinstance(spec, OneOf):
        try:
            spec.canonical(value)
        except ValueError as exc:
            raise _Mismatch(str(exc)) from None
        return
    if isinstance(spec, Mapping):
        if not isinstance(value, Mapping):
            raise _Mismatch(f"expected an object, got {describe(value)}", "record")
        star = spec.get("*")
        for key, sub in spec.items():
            if key != "*":
                field = value.get(key)
                if field is None or type(field) is sub:  # absent, or exactly the type asked for
                    continue
                try:
                    _check(field, sub)
                except _Mismatch as bad:
                    bad.parts.append(key)
                    raise
        if star is not None:
            for key, sub_value in value.items():
                try:
                    _check(sub_value, star)
                except _Mismatch as bad:
                    bad.parts.append(str(key))
                    raise
        return
    if isinstance(spec, list):
        if not isinstance(value, list):
            raise _Mismatch(f"expected a list, got {describe(value)}")
        each = spec[0]
        for i, item in enumerate(value):
            if type(item) is each:  # exactly the type asked for (most items)
                continue
            try:
                _check(item, each, False)
            except _Mismatch as bad:
                bad.parts.append(i)
                raise
        return
    types = spec if isinstance(spec, tuple) else (spec,)
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise _Mismatch(f"expected {_expected(spec)}, got {describe(value)}")


def label(record: Any, *keys: str) -> str:
    """A short name for a record in an error message: the first of ``keys`` it holds as a string."""
    if isinstance(record, Mapping):
        for key in keys:
            value = record.get(key)
            if isinstance(value, str) and value:
                return f" ({value[:120]})"
    return ""
