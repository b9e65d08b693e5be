"""Check the shape of one exported record before it is normalized.

The exports are JSON written by other tools (and sometimes edited by hand). A field of the wrong
type (a string where a list is expected, a number where an object is) would otherwise surface as
a TypeError or AttributeError deep in normalization or analysis. ``check`` raises a ValueError
naming the field instead, so the normalizer can skip that one record with a clear error and keep
the rest of the file. Missing fields and nulls are allowed everywhere (the normalizers default
them); list elements must not be null.

A spec is a type (or tuple of types), ``{key: spec}`` for an object (``"*"`` applies to every
value), or ``[spec]`` for a list whose every element matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

Spec: TypeAlias = "type | tuple[type, ...] | Mapping[str, Any] | list[Any]"

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
    if isinstance(spec, Mapping):
        return "an object"
    if isinstance(spec, list):
        return "a list"
    types = spec if isinstance(spec, tuple) else (spec,)
    return " or ".join(dict.fromkeys(_NAMES.get(t, t.__name__) for t in types))


def check(value: Any, spec: Spec, where: str = "", *, nullable: bool = True) -> None:
    """Raise ValueError("<where>: expected X, got Y") when ``value`` does not match ``spec``."""
    if value is None:
        if nullable:
            return
        raise ValueError(f"{where or 'value'}: expected {_expected(spec)}, got null")
    if isinstance(spec, Mapping):
        if not isinstance(value, Mapping):
            raise ValueError(f"{where or 'record'}: expected an object, got {describe(value)}")
        star = spec.get("*")
        for key, sub in spec.items():
            if key != "*":
                check(value.get(key), sub, f"{where}.{key}" if where else key)
        if star is not None:
            for key, sub_value in value.items():
                check(sub_value, star, f"{where}.{key}" if where else str(key))
        return
    if isinstance(spec, list):
        if not isinstance(value, list):
            raise ValueError(f"{where or 'value'}: expected a list, got {describe(value)}")
        for i, item in enumerate(value):
            check(item, spec[0], f"{where}[{i}]", nullable=False)
        return
    types = spec if isinstance(spec, tuple) else (spec,)
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise ValueError(f"{where or 'value'}: expected {_expected(spec)}, got {describe(value)}")


def label(record: Any, *keys: str) -> str:
    """A short name for a record in an error message: the first of ``keys`` it holds as a string."""
    if isinstance(record, Mapping):
        for key in keys:
            value = record.get(key)
            if isinstance(value, str) and value:
                return f" ({value[:120]})"
    return ""
