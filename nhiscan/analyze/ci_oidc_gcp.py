"""GCP workload identity federation trusts of GitHub Actions, as the `sub` patterns they admit.

A GitHub job becomes a service account when (1) the pool provider it names accepts its token:
issuer ``token.actions.githubusercontent.com``, audience, and the provider's CEL
``attributeCondition`` true for its claims; and (2) the account's IAM policy binds
``roles/iam.workloadIdentityUser`` (or token creator) to a member of that pool its token maps to:
``principalSet://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/POOL/*``
(every identity of the pool), ``.../attribute.NAME/VALUE`` or ``principal://.../subject/SUB``.

Both sides are turned into what AWS trusts already are for ``analyze/ci_oidc.py``: the `sub`
patterns (``repo:OWNER/REPO:REST``) a run must carry. The condition is read into a disjunction of
conjunctions of claim tests (``==``, ``in [...]``, ``startsWith``, ``&&``, ``||``, ``true``);
``attribute.X`` and ``google.subject`` are read through the provider's ``attributeMapping`` when it
maps them to a plain ``assertion.Y``. A part that cannot be decided (``!``, ``!=``, ``endsWith``,
another function, a claim that does not name a repository, ref, environment or event, a syntax
error, an expression past the size bounds) admits every token in the upper bound computed here, and
the trust lists it as *undecided*: the finding says so and is not raised above the rule's severity
for it. Parsing is one tokenizer pass and a depth-bounded descent; the expansion into conjunctions
is capped, so any condition costs time linear in its length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from nhiscan.lexing import tokens
from nhiscan.model import Identity, Inventory

FACT = "gcp-wif-provider"
FACT_RULE = "oidc-trust-too-broad"
GITHUB_ISSUER = "token.actions.githubusercontent.com"
TOKEN_ROLES = ("roles/iam.workloadIdentityUser", "roles/iam.serviceAccountTokenCreator")
MAX_LENGTH = 8192
MAX_DEPTH = 64
MAX_TERMS = 64

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<op>==|!=|&&|\|\||[!()\[\],.])"
    r"|(?P<name>[A-Za-z_][\w]*)"
    r"|(?P<num>\d+))"
)
_MEMBER = re.compile(
    r"^(?P<kind>principalSet|principal)://iam\.googleapis\.com/projects/(?P<project>[^/]+)/locations/"
    r"(?P<location>[^/]+)/workloadIdentityPools/(?P<pool>[^/]+)/(?P<rest>.+)$"
)
# The claims a trust's breadth is measured on (GitHub's OIDC token claims).
_KNOWN = {
    "sub",
    "repository",
    "repository_owner",
    "repository_owner_id",
    "repository_id",
    "ref",
    "environment",
    "event_name",
    "job_workflow_ref",
}


class _Undecided(Exception):
    pass


# An atom: (claim, "eq", values) | (claim, "prefix", (value,)) | ("", "undecided", (text,)).
Atom = tuple[str, str, tuple[str, ...]]
Term = tuple[Atom, ...]


def _tokens(text: str) -> list[tuple[str, str]]:
    return tokens(_TOKEN, text, _Undecided)


def _unquote(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s[1:-1])


class _Parser:
    """condition := or; or := and ('||' and)*; and := unary ('&&' unary)*;
    unary := '!' unary | primary; primary := '(' or ')' | 'true' | 'false' | test"""

    def __init__(self, tokens: list[tuple[str, str]], mapping: Mapping[str, str]) -> None:
        self.t = tokens
        self.i = 0
        self.depth = 0
        self.mapping = mapping

    def peek(self, k: int = 0) -> str:
        return self.t[self.i + k][1] if self.i + k < len(self.t) else ""

    def take(self, want: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.t) or (want is not None and self.t[self.i][1] != want):
            raise _Undecided(f"expected {want or 'more'}")
        self.i += 1
        return self.t[self.i - 1]

    def parse(self) -> list[Term]:
        terms = self.or_()
        if self.i != len(self.t):
            raise _Undecided("trailing input")
        return terms

    def or_(self) -> list[Term]:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Undecided("too deep")
        terms = self.and_()
        while self.peek() == "||":
            self.take()
            terms = terms + self.and_()
            if len(terms) > MAX_TERMS:
                raise _Undecided("too many alternatives")
        self.depth -= 1
        return terms

    def and_(self) -> list[Term]:
        terms = self.unary()
        while self.peek() == "&&":
            self.take()
            right = self.unary()
            terms = [a + b for a in terms for b in right]
            if len(terms) > MAX_TERMS:
                raise _Undecided("too many alternatives")
        return terms

    def unary(self) -> list[Term]:
        if self.peek() == "!":
            start = self.i
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise _Undecided("too deep")
            self.unary()  # read past it; a negation is not decided here
            self.depth -= 1
            return [(("", "undecided", (self._text(start),)),)]
        return self.primary()

    def _text(self, start: int) -> str:
        return " ".join(v for _, v in self.t[start : self.i])[:200]

    def primary(self) -> list[Term]:
        if self.peek() == "(":
            self.take()
            terms = self.or_()
            self.take(")")
            return terms
        if self.peek() in ("true", "false") and self.peek(1) in ("", "&&", "||", ")"):
            return [()] if self.take()[1] == "true" else []
        start = self.i
        left = self.operand()
        op = self.peek()
        if op in ("==", "!="):
            self.take()
            right = self.operand()
            claim, value = (left, right) if isinstance(left, tuple) else (right, left)
            if op == "!=" or not isinstance(claim, tuple) or not isinstance(value, str):
                return [(("", "undecided", (self._text(start),)),)]
            return (
                [((claim[0], "eq", (value,)),)] if claim[0] else [(("", "undecided", (self._text(start),)),)]
            )
        if op == "in":
            self.take()
            self.take("[")
            values: list[str] = []
            while self.peek() != "]":
                kind, text = self.take()
                if kind != "str":
                    raise _Undecided("a list of strings")
                values.append(_unquote(text))
                if self.peek() == ",":
                    self.take()
            self.take("]")
            if isinstance(left, tuple) and left[0]:
                return [((left[0], "eq", tuple(values)),)]
            return [(("", "undecided", (self._text(start),)),)]
        if isinstance(left, tuple) and left[1] == "startsWith":
            return (
                [((left[0], "prefix", (left[2],)),)]
                if left[0]
                else [(("", "undecided", (self._text(start),)),)]
            )
        return [(("", "undecided", (self._text(start),)),)]

    def operand(self) -> Any:
        """A string literal, or (claim, "", "") for a claim path ("" when not a known claim),
        or (claim, "startsWith", prefix) for a call on one; anything else is undecided."""
        kind, text = self.take()
        if kind == "str":
            return _unquote(text)
        if kind == "num":
            return text
        if kind != "name":
            raise _Undecided(f"unexpected {text}")
        path = [text]
        while self.peek() == "." and self.peek(2) != "(":
            self.take()
            path.append(self.take()[1])
        if self.peek() == "[":
            raise _Undecided("indexing")
        claim = self.claim(".".join(path))
        if self.peek() == "." and self.peek(2) == "(":
            self.take()
            func = self.take()[1]
            self.take("(")
            kind, arg = self.take()
            self.take(")")
            if func == "startsWith" and kind == "str":
                return (claim, "startsWith", _unquote(arg))
            return ("", "call", func)
        return (claim, "", "")

    def claim(self, path: str) -> str:
        """The GitHub claim a path reads ("" when it is not one the breadth is measured on)."""
        if path.startswith(("attribute.", "google.")):
            source = self.mapping.get(path, "").strip()
            path = source if re.fullmatch(r"assertion\.\w+", source) else ""
        if path.startswith("assertion."):
            name = path[len("assertion.") :]
            return name if name in _KNOWN else ""
        return ""


def parse_condition(text: str | None, mapping: Mapping[str, str]) -> list[Term]:
    """The condition as alternatives of conjunctions; no condition is one empty conjunction."""
    if text is None or not text.strip():
        return [()]
    if len(text) > MAX_LENGTH:
        return [(("", "undecided", (text[:200],)),)]
    try:
        return _Parser(_tokens(text), mapping).parse()
    except (_Undecided, RecursionError) as exc:
        return [(("", "undecided", (f"{text[:200]} ({exc})",)),)]


def member_atom(member: str, mapping: Mapping[str, str]) -> Atom | None:
    """What a pool member admits, as one atom (None: every identity of the pool)."""
    m = _MEMBER.match(member)
    rest = m.group("rest") if m else ""
    if rest == "*":
        return None
    if rest.startswith("attribute.") and "/" in rest:
        name, value = rest.split("/", 1)
        source = mapping.get(name, "").strip()
        claim = source[len("assertion.") :] if re.fullmatch(r"assertion\.\w+", source) else ""
        return (claim, "eq", (value,)) if claim in _KNOWN else ("", "undecided", (member,))
    if rest.startswith("subject/"):
        source = mapping.get("google.subject", "").strip()
        claim = source[len("assertion.") :] if re.fullmatch(r"assertion\.\w+", source) else ""
        return (claim, "eq", (rest[len("subject/") :],)) if claim in _KNOWN else ("", "undecided", (member,))
    return ("", "undecided", (member,))


def sub_patterns(term: Term) -> tuple[list[tuple[str, bool]], list[str]]:
    """The `sub` patterns (value, is-glob) a conjunction admits at most, and its undecided parts."""
    eq: dict[str, tuple[str, ...]] = {}
    prefix: dict[str, str] = {}
    undecided: list[str] = []
    for claim, op, values in term:
        if op == "undecided" or not claim:
            undecided.append(values[0] if values else "")
        elif op == "eq":
            eq[claim] = tuple(v for v in values if v in eq[claim]) if claim in eq else values
        elif op == "prefix":
            prefix.setdefault(claim, values[0])
    if any(not v for v in eq.values()):
        return [], undecided  # contradictory: admits nothing
    if "sub" in eq:
        return [(s, False) for s in eq["sub"]], undecided
    repos: list[str]
    if "repository" in eq:
        repos = list(eq["repository"])
    elif "job_workflow_ref" in eq:
        repos = ["/".join(v.split("/", 2)[:2]) for v in eq["job_workflow_ref"]]
    elif "repository_id" in eq:
        repos = [f"{o}/(repository id {r})" for o in _owners(eq) for r in eq["repository_id"]]
    elif "sub" in prefix and prefix["sub"].startswith("repo:"):
        return [(prefix["sub"] + "*", True)], undecided
    elif "repository" in prefix:
        repos = [prefix["repository"] + "*"]
    else:
        repos = [f"{o}/*" for o in _owners(eq)]
    rests: list[str]
    if "environment" in eq:
        rests = [f"environment:{e}" for e in eq["environment"]]
    elif "ref" in eq:
        rests = [f"ref:{r}" for r in eq["ref"]]
    elif "ref" in prefix:
        rests = [f"ref:{prefix['ref']}*"]
    elif "event_name" in eq and all(e in ("pull_request", "pull_request_target") for e in eq["event_name"]):
        rests = ["pull_request"]
    else:
        rests = ["*"]
    out = [(f"repo:{r}:{rest}", "*" in f"{r}:{rest}") for r in repos for rest in rests]
    return out, undecided


def _owners(eq: Mapping[str, tuple[str, ...]]) -> list[str]:
    if "repository_owner" in eq:
        return list(eq["repository_owner"])
    if "repository_owner_id" in eq:
        return [f"(owner id {o})" for o in eq["repository_owner_id"]]
    return ["*"]


# --- trusts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    name: str  # projects/N/locations/L/workloadIdentityPools/POOL/providers/X
    project: str
    pool: str
    condition: str | None
    mapping: Mapping[str, str]
    audiences: tuple[str, ...]
    path: str

    @property
    def pool_name(self) -> str:
        return self.name.split("/providers/", 1)[0]


@dataclass(frozen=True)
class GcpTrust:
    """One provider of a pool whose member is bound on a service account."""

    identity: Identity
    provider: Provider
    member: str
    role: str
    patterns: tuple[tuple[str, bool], ...]
    undecided: tuple[str, ...] = field(default=())


def providers(inventory: Inventory) -> list[Provider]:
    out = []
    for o in inventory.observations:
        a = o.attributes
        if o.rule_id != FACT_RULE or a.get("fact") != FACT:
            continue
        if GITHUB_ISSUER not in str(a.get("issuer") or ""):
            continue
        if a.get("disabled") is True or str(a.get("state") or "ACTIVE").upper() != "ACTIVE":
            continue
        mapping = a.get("attribute_mapping") if isinstance(a.get("attribute_mapping"), Mapping) else {}
        auds = a.get("allowed_audiences")
        out.append(
            Provider(
                name=str(a.get("name")),
                project=str(a.get("project")),
                pool=str(a.get("pool")),
                condition=str(a["attribute_condition"]) if a.get("attribute_condition") else None,
                mapping={str(k): str(v) for k, v in (mapping or {}).items()},
                audiences=tuple(str(x) for x in auds) if isinstance(auds, list) else (),
                path=o.location.path,
            )
        )
    return out


def _projects(ident: Identity) -> set[str]:
    """The ways policies name the account's project: its id and its number."""
    found = {ident.scope}
    if ident.attributes.get("project_number"):
        found.add(str(ident.attributes["project_number"]))
    return {p for p in found if p}


def trusts(inventory: Inventory) -> Iterator[GcpTrust]:
    """Each (service account, GitHub provider of a pool bound on it) with the patterns it admits."""
    found = providers(inventory)
    if not found:
        return
    by_pool: dict[tuple[str, str], list[Provider]] = {}
    for p in found:
        by_pool.setdefault((p.project, p.pool), []).append(p)
    for ident in inventory.identities:
        if ident.provider != "gcp":
            continue
        entries = ident.attributes.get("federated_principals")
        if not isinstance(entries, (list, tuple)):
            continue
        for entry in entries:
            if not isinstance(entry, Mapping) or entry.get("role") not in TOKEN_ROLES:
                continue
            member = str(entry.get("member") or "")
            m = _MEMBER.match(member)
            if m is None:
                continue
            for provider in by_pool.get((m.group("project"), m.group("pool")), ()):
                yield _trust(ident, provider, member, str(entry.get("role")))


def _trust(ident: Identity, provider: Provider, member: str, role: str) -> GcpTrust:
    terms = parse_condition(provider.condition, provider.mapping)
    bound = member_atom(member, provider.mapping)
    patterns: list[tuple[str, bool]] = []
    undecided: list[str] = []
    for term in terms:
        got, said = sub_patterns(term + ((bound,) if bound else ()))
        patterns += got
        undecided += said
    return GcpTrust(
        ident,
        provider,
        member,
        role,
        tuple(dict.fromkeys(patterns)),
        tuple(dict.fromkeys(u for u in undecided if u)),
    )


def names_provider(job_provider: str | None, provider: Provider) -> bool | None:
    """Whether a job's ``workload_identity_provider`` names this provider (None: an expression)."""
    if not job_provider:
        return False
    text = job_provider.strip()
    if "${{" in text:
        return None
    text = text.removeprefix("https:").removeprefix("//iam.googleapis.com/").strip("/")
    if text == provider.name:
        return True
    # The provider named with the project's id instead of its number (the export always writes the
    # number): the same pool and provider ids may be this provider.
    mine, theirs = text.split("/"), provider.name.split("/")
    if len(mine) == len(theirs) == 8 and mine[2:] == theirs[2:] and not mine[1].isdigit():
        return None
    return False


def known_projects(identities: Iterable[Identity]) -> dict[str, set[str]]:
    return {i.id: _projects(i) for i in identities if i.provider == "gcp"}
