"""Option values converted without pydantic where the result is the same.

Typer (0.2x) converts each option's value with a pydantic ``TypeAdapter`` it builds for that
option on every run, defaults included: importing pydantic and building a dozen adapters cost a
`nhiscan scan` of a few hundred files about a tenth of its CPU time. nhiscan's options are
strings, paths, lists of strings and flags, and a command line gives exact ``str`` values, for
which that conversion is the value itself, ``Path(value)`` (then Typer's own path checks) or a
list of the values (a flag not given is None, a flag given is a bool Typer does not convert).
``Command`` and ``Group`` (the classes of nhiscan's commands and groups) put a converter doing
that in front of each such option, --help included; any other value (or type) goes to Typer's own conversion, built only
then. Parsing, defaults, callbacks, errors and help stay Typer's: only this step is replaced.
`tests/test_cli_values.py` compares both conversions on every option and on odd values; a Typer
without this conversion step (older ones convert through click types) is left untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from typer.core import TyperCommand, TyperGroup

_NOT_PLAIN = object()  # a value this module does not convert itself


class PlainValues:
    """Typer's per-option converter (its ``coerce(value, param=, ctx=)``) for str, Path and
    list[str] options; Typer's own converter, built on first need, for everything else."""

    __slots__ = ("_typer", "descriptor", "kind")

    def __init__(self, descriptor: Any, kind: str) -> None:
        self.descriptor = descriptor
        self.kind = kind  # "str", "path", "str-list" or "bool" (a flag not given: None)
        self._typer: Any = None

    def typer_converter(self) -> Any:
        if self._typer is None:
            from typer._coercion import build_runtime_param

            self._typer = build_runtime_param(self.descriptor)
        return self._typer

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        out = self.plain(value, param, ctx)
        if out is _NOT_PLAIN:
            return self.typer_converter().coerce(value, param=param, ctx=ctx)
        return out

    def plain(self, value: Any, param: Any, ctx: Any) -> Any:
        multi = param.multiple or param.nargs == -1
        if value is None:
            return () if multi else None
        if self.kind == "str-list":
            if multi and isinstance(value, (list, tuple)) and all(type(v) is str for v in value):
                return list(value)
            return _NOT_PLAIN
        if multi or type(value) is not str or self.kind == "bool":
            return _NOT_PLAIN
        if self.kind == "str":
            return value
        from typer._param_types import coerce_cli_path

        # pydantic's Path from a str is Path(value); the rest is Typer's own path handling. What
        # fails otherwise than as a bad parameter (a NUL in the name) Typer reports in its form.
        try:
            return coerce_cli_path(
                Path(value), self.descriptor.parameter_info, path_type=Path, param=param, ctx=ctx
            )
        except (ValueError, TypeError, OSError):
            return _NOT_PLAIN


def plain_kind(descriptor: Any) -> str | None:
    """Which plain conversion fits an option's Typer type descriptor, if any."""
    info = descriptor.parameter_info
    if getattr(info, "parser", None) is not None or descriptor.file_annotation is not None:
        return None
    ann = descriptor.annotation
    if ann is str:
        return "str"
    if ann is bool:
        return "bool"
    if ann is Path and info.path_type is None:
        return "path"
    if getattr(ann, "__origin__", None) is list and getattr(ann, "__args__", None) == (str,):
        return "str-list"
    return None


def install(params: Iterable[Any]) -> None:
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", False) is not None:
            continue  # not Typer's runtime conversion, or a converter already set
        kind = plain_kind(descriptor)
        if kind is not None:
            param._runtime_param = PlainValues(descriptor, kind)


class Command(TyperCommand):
    """A Typer command whose str, Path and list[str] options convert without pydantic."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        install(self.params)

    def get_help_option(self, ctx: Any) -> Any:  # made on demand, converted like the others
        option = super().get_help_option(ctx)
        install(() if option is None else (option,))
        return option


class Group(TyperGroup):
    """The same for a command group's own options (--help, --version)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        install(self.params)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        install(() if option is None else (option,))
        return option
