"""A job's ``if:`` condition, decided for the kinds of run a workflow has (no ``eval``).

``gha_identity.job_subjects`` lists the runs a job may have as (event, ref) pairs, the ref a glob
(``refs/heads/*``). ``admits(condition, event, ref)`` says whether the condition can be true for
such a run: ``False`` only when it is false for every run of that kind, so the job's OIDC tokens
never carry that run's `sub`. Whatever cannot be decided (an unknown context value, a function
outside the small set below, a syntax error) is *unknown*, and an unknown condition keeps the run
(conservative).

The grammar is the subset of GitHub's expression syntax that job conditions use: literals
(``'str'`` with ``''`` escapes, numbers, ``true``, ``false``, ``null``), context paths
(``github.event.pull_request.head.repo.fork``, ``github['ref']``), ``!``, ``==``, ``!=``, ``<``,
``<=``, ``>``, ``>=``, ``&&``, ``||``, parentheses and the calls ``startsWith``, ``endsWith``,
``contains``, ``fromJSON`` and the status functions. Comparison follows GitHub's rules: strings
compare ignoring case; values of different types compare as numbers (``null`` and ``false`` are 0).
``&&`` and ``||`` are three-valued (Kleene). Tokenising is one regex pass, parsing is recursive
descent bounded in depth and length, so any input costs time linear in its length.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from nhiscan.lexing import tokens

MAX_LENGTH = 4096  # longer conditions are unknown
MAX_DEPTH = 64  # deeper nesting is unknown


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True)
class Glob:
    """A value known only as a glob (``refs/heads/*``), minus the literal values split out of it."""

    pattern: str
    excluded: frozenset[str] = frozenset()

    @property
    def fixed(self) -> str:
        """The part before the first wildcard."""
        cut = [i for i in (self.pattern.find("*"), self.pattern.find("?")) if i >= 0]
        return self.pattern[: min(cut)] if cut else self.pattern


class _Error(Exception):
    pass


_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))(?![\w.])"
    r"|(?P<str>'(?:[^']|'')*')"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\].,*])"
    r"|(?P<name>[A-Za-z_][\w-]*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    return tokens(_TOKEN, text, _Error)


# --- parse: nested tuples ------------------------------------------------------------------------


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.toks = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> str:
        return self.toks[self.i][1] if self.i < len(self.toks) else ""

    def take(self, want: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise _Error("unexpected end")
        tok = self.toks[self.i]
        if want is not None and tok[1] != want:
            raise _Error(f"expected {want}")
        self.i += 1
        return tok

    def parse(self) -> Any:
        node = self.or_()
        if self.i != len(self.toks):
            raise _Error("trailing input")
        return node

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Error("too deep")

    def or_(self) -> Any:
        self._enter()
        # chains are flat (n-ary), so evaluating them never recurses once per operand
        ops = [self.and_()]
        while self.peek() == "||":
            self.take()
            ops.append(self.and_())
        self.depth -= 1
        return ops[0] if len(ops) == 1 else ("||", *ops)

    def and_(self) -> Any:
        ops = [self.cmp()]
        while self.peek() == "&&":
            self.take()
            ops.append(self.cmp())
        return ops[0] if len(ops) == 1 else ("&&", *ops)

    def cmp(self) -> Any:
        node = self.unary()
        chained = 0
        while self.peek() in ("==", "!=", "<", "<=", ">", ">="):
            chained += 1
            if chained > MAX_DEPTH:
                raise _Error("comparison chain too long")
            op = self.take()[1]
            node = (op, node, self.unary())
        return node

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            self._enter()
            node = ("!", self.unary())
            self.depth -= 1
            return node
        return self.postfix()

    def postfix(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            node: Any = (
                "lit",
                float(int(text, 16)) if text.lower().startswith(("0x", "-0x")) else float(text),
            )
        elif kind == "str":
            node = ("lit", text[1:-1].replace("''", "'"))
        elif text == "(":
            node = self.or_()
            self.take(")")
        elif kind == "name":
            low = text.lower()
            if low in ("true", "false"):
                node = ("lit", low == "true")
            elif low == "null":
                node = ("lit", None)
            elif self.peek() == "(":
                self.take("(")
                args = []
                while self.peek() != ")":
                    args.append(self.or_())
                    if self.peek() == ",":
                        self.take()
                    elif self.peek() != ")":
                        raise _Error("expected , or )")
                self.take(")")
                node = ("call", low, tuple(args))
            else:
                node = ("path", (low,))
        else:
            raise _Error(f"unexpected {text}")
        while self.peek() in (".", "["):
            if node[0] not in ("path", "path-of"):
                node = ("path-of", node)  # property of a call's result: unknown
            if self.take()[1] == ".":
                kind, text = self.take()
                part = "*" if text == "*" else text.lower()
                if kind not in ("name", "op") or (kind == "op" and text != "*"):
                    raise _Error("expected a property name")
            else:
                inner = self.or_()
                self.take("]")
                part = str(inner[1]).lower() if inner[0] == "lit" and isinstance(inner[1], str) else "?"
            if node[0] == "path":
                node = ("path", (*node[1], part))
        return node


# --- evaluate -------------------------------------------------------------------------------------


def _truthy(v: Any) -> Any:
    if v is UNKNOWN or isinstance(v, Glob):
        return UNKNOWN if v is UNKNOWN else bool(v.pattern)
    if isinstance(v, float):
        return v != 0 and not math.isnan(v)
    if isinstance(v, (list, dict)):
        return True
    return bool(v)


def _number(v: Any) -> float:
    if v is None or v is False:
        return 0.0
    if v is True:
        return 1.0
    if isinstance(v, float):
        return v
    if isinstance(v, str):
        s = v.strip()
        if s == "":
            return 0.0
        try:
            return float(int(s, 16)) if s.lower().startswith("0x") else float(s)
        except ValueError:
            return math.nan
    return math.nan


def _equal(a: Any, b: Any) -> Any:
    if a is UNKNOWN or b is UNKNOWN:
        return UNKNOWN
    if isinstance(b, Glob):
        a, b = b, a
    if isinstance(a, Glob):
        if isinstance(b, Glob):
            return UNKNOWN
        if not isinstance(b, str):
            return False
        if b.lower() in a.excluded:
            return False
        if "*" not in a.pattern and "?" not in a.pattern:
            return a.pattern.lower() == b.lower()
        return UNKNOWN if fnmatch.fnmatchcase(b.lower(), a.pattern.lower()) else False
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b) and not isinstance(a, (list, dict)):
        return a == b
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return a is b
    x, y = _number(a), _number(b)
    return x == y


def _order(op: str, a: Any, b: Any) -> Any:
    if a is UNKNOWN or b is UNKNOWN or isinstance(a, Glob) or isinstance(b, Glob):
        return UNKNOWN
    if isinstance(a, str) and isinstance(b, str):
        x: Any = a.lower()
        y: Any = b.lower()
    else:
        x, y = _number(a), _number(b)
        if math.isnan(x) or math.isnan(y):
            return False
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def _starts(v: Any, prefix: Any, ends: bool = False) -> Any:
    if v is UNKNOWN or prefix is UNKNOWN or isinstance(prefix, Glob):
        return UNKNOWN
    p = str(prefix).lower() if not isinstance(prefix, (list, dict)) else None
    if p is None:
        return False
    if isinstance(v, Glob):
        if ends:
            return UNKNOWN
        if p in {x for x in v.excluded if x.endswith("*")} or any(
            p.startswith(x[:-1]) for x in v.excluded if x.endswith("*")
        ):
            return False
        fixed = v.fixed.lower()
        if "*" not in v.pattern and "?" not in v.pattern:
            return fixed.startswith(p)
        if fixed.startswith(p):
            return True
        return UNKNOWN if p.startswith(fixed) else False
    if v is None or isinstance(v, (list, dict)):
        return False
    text = _string(v).lower()
    return text.endswith(p) if ends else text.startswith(p)


def _string(v: Any) -> str:
    if v is None:
        return ""
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else str(v)
    return str(v)


_PR_EVENTS = ("pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment")


class _Run:
    """The context of one kind of run: the event, the ref (a string or a Glob)."""

    def __init__(self, event: str | None, ref: Any) -> None:
        self.event: Any = UNKNOWN if event is None else event
        self.ref = ref

    def path(self, parts: tuple[str, ...]) -> Any:
        if not parts or parts[0] != "github" or "?" in parts or "*" in parts:
            return UNKNOWN
        rest = parts[1:]
        if rest == ("event_name",):
            return self.event
        if rest == ("ref",):
            return self.ref
        if rest == ("ref_type",):
            ref = self.ref
            fixed = ref.fixed if isinstance(ref, Glob) else str(ref)
            if fixed.startswith(("refs/heads/", "refs/pull/")):
                return "branch"
            if fixed.startswith("refs/tags/"):
                return "tag"
            return UNKNOWN
        if rest == ("ref_name",) and isinstance(self.ref, str):
            return self.ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
        if len(rest) >= 2 and rest[0] == "event" and rest[1] in ("pull_request", "pull_request_target"):
            # the payload has a pull_request object only on the pull request events
            if self.event is UNKNOWN:
                return UNKNOWN
            if self.event not in _PR_EVENTS:
                return None
            return UNKNOWN
        if (
            rest in (("head_ref",), ("base_ref",))
            and self.event is not UNKNOWN
            and self.event not in _PR_EVENTS
        ):
            return ""
        return UNKNOWN


def _eval(node: Any, run: _Run) -> Any:
    op = node[0]
    if op == "lit":
        return node[1]
    if op == "path":
        return run.path(node[1])
    if op == "path-of":
        return UNKNOWN
    if op == "!":
        t = _truthy(_eval(node[1], run))
        return UNKNOWN if t is UNKNOWN else not t
    if op in ("&&", "||"):
        # left to right; an operand that decides (false for &&, true for ||) ends it, unknown ones
        # make the result unknown unless a later operand decides
        stop = op == "||"
        unknown = False
        value: Any = None
        for operand in node[1:]:
            value = _eval(operand, run)
            t = _truthy(value)
            if t is stop:
                return value
            if t is UNKNOWN:
                unknown = True
        return UNKNOWN if unknown else value
    if op in ("==", "!="):
        eq = _equal(_eval(node[1], run), _eval(node[2], run))
        return eq if eq is UNKNOWN or op == "==" else not eq
    if op in ("<", "<=", ">", ">="):
        return _order(op, _eval(node[1], run), _eval(node[2], run))
    if op == "call":
        return _call(node[1], [_eval(a, run) for a in node[2]])
    return UNKNOWN


def _call(name: str, args: list[Any]) -> Any:
    if name in ("startswith", "endswith") and len(args) == 2:
        return _starts(args[0], args[1], ends=name == "endswith")
    if name == "contains" and len(args) == 2:
        hay, needle = args
        if hay is UNKNOWN or needle is UNKNOWN or isinstance(needle, Glob):
            return UNKNOWN
        if isinstance(hay, list):
            if isinstance(needle, (str, float, bool)) or needle is None:
                return any(_equal(x, needle) is True for x in hay)
            return UNKNOWN
        if isinstance(hay, Glob):
            return UNKNOWN
        return _string(needle).lower() in _string(hay).lower()
    if name == "fromjson" and len(args) == 1 and isinstance(args[0], str) and len(args[0]) <= MAX_LENGTH:
        try:
            value = json.loads(args[0])
        except ValueError:
            return UNKNOWN
        if isinstance(value, list):
            return [float(x) if isinstance(x, int) and not isinstance(x, bool) else x for x in value]
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if name == "always":
        return True
    return UNKNOWN  # success(), failure(), cancelled(), format(), hashFiles(), ...


# --- public ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A parsed ``if:``: ``tree`` is None when it could not be read (then every run is kept)."""

    text: str
    tree: Any

    def value(self, event: str | None, ref: Any) -> Any:
        """True / False, or UNKNOWN, for a run of ``event`` (None: unknown) on ``ref`` (a string
        without wildcards, or a Glob)."""
        if self.tree is None:
            return UNKNOWN
        if isinstance(ref, str) and ("*" in ref or "?" in ref):
            ref = Glob(ref)
        return _truthy(_eval(self.tree, _Run(event, ref)))

    def admits(self, event: str | None, ref: Any) -> bool:
        return self.value(event, ref) is not False

    def ref_literals(self) -> list[str]:
        """The literal refs and ref prefixes (``refs/tags/*``) compared with ``github.ref``: the
        values a glob of refs is split into before the condition is decided for each."""
        out: list[str] = []
        _literals(self.tree, out, 0)
        return sorted(set(out))


def _literals(node: Any, out: list[str], depth: int) -> None:
    if not isinstance(node, tuple) or depth > MAX_DEPTH * 2 or len(out) > 32:
        return
    op = node[0]
    if op in ("==", "!=") and len(node) == 3:
        for a, b in ((node[1], node[2]), (node[2], node[1])):
            if a == ("path", ("github", "ref")) and b[0] == "lit" and isinstance(b[1], str):
                out.append(b[1].lower())
    if op == "call" and node[1] == "startswith" and len(node[2]) == 2:
        a, b = node[2]
        if a == ("path", ("github", "ref")) and b[0] == "lit" and isinstance(b[1], str) and b[1]:
            out.append(b[1].lower() + "*")
    for child in node[1:]:
        if isinstance(child, tuple):
            if child and isinstance(child[0], str):
                _literals(child, out, depth + 1)
            else:
                for c in child:
                    _literals(c, out, depth + 1)


def parse(text: str | None) -> Condition | None:
    """The job's condition, None when it has none. ``${{ }}`` around the whole text is optional;
    text with ``${{`` elsewhere is interpolated into a string by the runner: unknown."""
    if text is None:
        return None
    src = text.strip()
    if src == "":
        return None
    if src.startswith("${{") and src.endswith("}}") and src.count("${{") == 1:
        src = src[3:-2]
    if "${{" in src or len(src) > MAX_LENGTH:
        return Condition(text, None)
    try:
        return Condition(text, _Parser(_tokens(src)).parse())
    except (_Error, RecursionError, ValueError):
        return Condition(text, None)


def split_ref(pattern: str, cond: Condition) -> list[Any]:
    """A ref glob split into the literal refs (and ref prefixes) the condition names that it
    covers, then the rest of it: each is decided on its own."""
    if "*" not in pattern and "?" not in pattern:
        return [pattern]
    parts: list[Any] = []
    excluded: set[str] = set()
    for lit in cond.ref_literals():
        if lit.endswith("*"):
            fixed = lit[:-1]
            glob_fixed = Glob(pattern).fixed.lower()
            if fixed.startswith(glob_fixed) and fnmatch.fnmatchcase(fixed + "x", pattern.lower()):
                parts.append(Glob(lit, frozenset()))
                excluded.add(lit)
        elif fnmatch.fnmatchcase(lit, pattern.lower()):
            parts.append(lit)
            excluded.add(lit)
    parts.append(Glob(pattern, frozenset(excluded)))
    return parts
