"""What nhiscan says about a secret: a redacted form, and ids that cannot confirm a guess.

Every output (reports in every format, inventories, baselines, notes) names a secret only through
what this module makes of it (docs/secret-ids.md explains the design and the attacker's cost):

- ``redact(value, run_id)``: the part of a value that is public anyway (a detector's fixed prefix
  such as ``ghp_`` or ``AKIA``, a PEM header), at most two characters of other long values, and a
  short id (``ghp_…#3``). The one definition of nhiscan's redacted form (``REDACTED`` matches it).
- ``run_id(digest)``: groups equal values in one run (reuse across repositories, one finding per
  secret and file, history copies of a work-tree secret). A keyed hash whose key is random per run
  and never written (worker processes receive it from the parent), or the user's fingerprint key
  when one is set, so that ids are comparable across runs. Before anything is written, ``relabel``
  turns unkeyed run ids into ``run:1``, ``run:2``, ... so that outputs are reproducible.
- ``fingerprint_id(...)``: the secret's part of a finding fingerprint, stable across runs. With
  ``NHISCAN_FINGERPRINT_KEY`` set: a keyed hash (no key, no guessing). Without: for values that
  people choose (passwords found by keyword, passwords in URLs) nothing derived from the value at
  all, only where it sits (``context_id``); for machine-made values (tokens, keys: too much
  entropy to guess) a deliberately slow scrypt salted with the rule's category, the repository and
  the path, so one guess costs scrypt once per finding, never once for all.

The plain sha256 of a value (``digest``) exists in memory only: it is the input of the ids above
and of the fingerprints earlier nhiscan versions wrote, which baselines and waivers of those
versions are matched against (``legacy_*``). It is never written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import re
import secrets
from functools import lru_cache

from nhiscan.model import Inventory, Location

KEY_ENV = "NHISCAN_FINGERPRINT_KEY"
MIN_KEY_CHARS = 16

# scrypt cost for machine-made values without a key: 256 KiB of memory and about 0.5 ms per guess per
# finding on one core (benchmarks/secret_ids_bench.py measures it).
SCRYPT_N = 2**8
SCRYPT_R = 8
SCRYPT_P = 1

# Detectors whose values people choose (and so can guess): without a key, their fingerprints rest
# on where the value sits, never on the value.
HUMAN_CHOSEN = frozenset({"Secret Keyword", "Basic Auth Credentials"})

_state: dict[str, bytes] = {"run_key": secrets.token_bytes(32)}


def run_key() -> bytes:
    """This run's random key (handed to worker processes; never written anywhere)."""
    return _state["run_key"]


def set_run_key(key: bytes) -> None:
    """Adopt the parent process's run key (worker processes), so run ids agree across workers."""
    _state["run_key"] = key


class FingerprintKeyError(ValueError):
    """NHISCAN_FINGERPRINT_KEY is set but too short to be a key."""


def persistent_key() -> bytes | None:
    """The user's fingerprint key from the environment, or None. Never logged, never written."""
    raw = os.environ.get(KEY_ENV)
    if raw is None or raw == "":
        return None
    if len(raw) < MIN_KEY_CHARS:
        raise FingerprintKeyError(
            f"{KEY_ENV}: set but shorter than {MIN_KEY_CHARS} characters; use a random key "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return raw.encode("utf-8", "surrogateescape")


def check_key() -> None:
    """Fail early (before any scanning) on an unusable key."""
    persistent_key()


def digest(value: str) -> bytes:
    """The plain sha256 of a value: in memory only, the input of every id below."""
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


def _mac(key: bytes, label: bytes, data: bytes) -> str:
    return hmac.new(key, label + b"\0" + data, hashlib.sha256).hexdigest()[:32]


def run_id(d: bytes) -> str:
    """Equal values, equal ids, within one run (across runs too when a fingerprint key is set)."""
    return "hmac:" + _mac(_key_or_run(), b"nhiscan/secret", d)


def fingerprint_id(
    d: bytes, *, detector: str, category: str, repository: str, path: str, context: str
) -> str:
    """The secret's part of a finding fingerprint (stable across runs; not a guess oracle)."""
    key = persistent_key()
    if key is not None:
        return "hmac:" + _mac(key, b"nhiscan/fingerprint", d)
    if detector in HUMAN_CHOSEN:
        return context_id(detector, context)
    salt = "\x1f".join(("nhiscan/fingerprint/v2", category, repository, path))
    return "scrypt:" + _scrypt(d, salt.encode("utf-8", "surrogateescape"))


def context_id(detector: str, context: str) -> str:
    """Where a value sits (detector, the line with every found value blanked, an ordinal), not the value."""
    text = "\x1f".join(("nhiscan/context", detector, context))
    return "ctx:" + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


@lru_cache(maxsize=65536)
def _scrypt(d: bytes, salt: bytes) -> str:
    # Cached per distinct (value, salt): one secret on many lines of a file costs one derivation.
    return hashlib.scrypt(d, salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=16).hex()


def blank_values(line: str, values: list[str]) -> str:
    """A line with every secret found on it removed (the context of a human-chosen value).

    Each value's occurrences are found with one ``str.find`` pass and the line is rebuilt once, so
    a long line holding thousands of values costs a C-speed scan per value, not a rebuilt line."""
    covered: list[tuple[int, int]] = []
    for v in sorted(set(values), key=len, reverse=True):
        if not v:
            continue
        at = line.find(v)
        while at >= 0:
            covered.append((at, at + len(v)))
            at = line.find(v, at + len(v))
    kept: list[str] = []
    pos = 0
    for start, end in sorted(covered):
        if end <= pos:
            continue
        kept.append(line[pos : max(pos, start)])
        pos = max(pos, end)
    kept.append(line[pos:])
    return " ".join("".join(kept).split())


# -- the redacted form ------------------------------------------------------------------------------

# Fixed prefixes that a format publishes (documentation, every token of that kind starts so):
# showing them says what the secret is, not what it is worth. Longest first.
PUBLIC_PREFIXES: tuple[str, ...] = tuple(
    sorted(
        (
            "AKIA", "ASIA", "ABIA", "ACCA", "AIza", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
            "github_pat_", "glpat-", "gldt-", "glrt-", "glptt-", "xoxb-", "xoxp-", "xoxa-",
            "xoxr-", "xoxs-", "xapp-", "sk_live_", "rk_live_", "sk_test_", "rk_test_",
            "sk-ant-", "sk-proj-", "sk-", "npm_", "pypi-", "hf_", "SG.", "ATATT3", "lin_api_",
            "sntryu_", "dop_v1_", "shpat_", "eyJ",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip
_PEM_HEADER = re.compile(r"-----BEGIN [A-Z0-9 ]{1,40}-----")
# A prefix is shown only when this much of the value stays hidden after it.
_HIDDEN_AFTER_PREFIX = 16
# Values without a known prefix show two characters, and only when at least this long.
_LONG = 20
_SHOWN = 2

ELLIPSIS = "…"
# nhiscan's redacted form, wherever it appears (messages, evidence, every report format).
REDACTED = re.compile(
    r"(?:-----BEGIN [A-Z0-9 ]{1,40}-----|[A-Za-z0-9_.-]{0,12})"
    + r"(?:"
    + ELLIPSIS
    + r"|\\u2026)"  # as JSON written with ensure_ascii spells it
    + r"#(?:[0-9a-f]{8}|[0-9]{1,7})(?![0-9a-f])"
)


def visible_part(value: str) -> str:
    """What of a value may be shown: its public prefix, else two characters of a long value."""
    v = value.strip()
    pem = _PEM_HEADER.match(v)
    if pem:
        return pem.group(0)
    for prefix in PUBLIC_PREFIXES:
        if v.startswith(prefix):
            return prefix if len(v) >= len(prefix) + _HIDDEN_AFTER_PREFIX else ""
    return v[:_SHOWN] if len(v) >= _LONG and v[:_SHOWN].isalnum() else ""


def redact(value: str, ident: str) -> str:
    """``ghp_…#1a2b3c4d``: the public part of ``value`` and the first 8 hex digits of its run id."""
    short = ident.split(":", 1)[-1][:8]
    return f"{visible_part(value)}{ELLIPSIS}#{short}"


def describe(value: str) -> tuple[str, str]:
    """(run id, redacted form) of a value: what every source records about a secret it found."""
    ident = run_id(digest(value))
    return ident, redact(value, ident)


# -- earlier versions -------------------------------------------------------------------------------

LEGACY_HASH = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")


def legacy_digest(stored_hash: str) -> bytes | None:
    """The digest inside a secret ``hash`` written by an earlier nhiscan (plain sha256), else None."""
    m = LEGACY_HASH.match(stored_hash)
    return bytes.fromhex(m.group(1)) if m else None


# The redacted forms earlier versions wrote: four characters, "..." or "…" (and "#"), then 8
# (secret scanner) or "sha256:" and 12 (config checks) hex digits of the value's plain sha256. Re-rendered output replaces them.
LEGACY_FORM = re.compile(
    r"(?P<head>[^\s.…]{0,4})(?:(?:\.\.\.|…)#?(?P<h8>[0-9a-f]{8})|…sha256:(?P<h12>[0-9a-f]{12}))(?![0-9a-f])"
)


class LegacyForms:
    """Replaces the redacted forms of an earlier version in one document: each becomes the current
    form, its visible part kept only when it is exactly a public prefix, and its id (8 hex digits of
    the value's plain sha256: a guess oracle) replaced by a number in the order met, so that one
    secret keeps one label across the document and re-rendering is reproducible."""

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}

    def scrub(self, text: str) -> str:
        return LEGACY_FORM.sub(self._sub, text)

    def _sub(self, m: re.Match[str]) -> str:
        head = m.group("head")
        shown = (m.group("h8") or m.group("h12") or "")[:8]
        label = self._labels.setdefault(shown, str(len(self._labels) + 1))
        return f"{head if head in PUBLIC_PREFIXES else ''}{ELLIPSIS}#{label}"


def rekey_legacy_fingerprint(rule_id: str, identity: str, credential: str, place: tuple[str, ...]) -> str:
    """A stand-in for the fingerprint an earlier version computed from a secret's plain hash (a guess
    oracle), from what the finding says in the open only: rule, identity, credential and place."""
    text = "\x1f".join(("nhiscan/legacy-fingerprint", rule_id, identity, credential, *place))
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _key_or_run() -> bytes:
    key = persistent_key()
    return key if key is not None else run_key()


# -- what outputs call a secret ---------------------------------------------------------------------


def relabel(inventory: Inventory) -> Inventory:
    """Without a fingerprint key, the run ids (keyed by this run's random key) become ``run:1``,
    ``run:2``, ... numbered in the order of the secrets' places: equal values keep equal labels, a
    label says nothing about the value, and the same input gives byte-identical output in every run.
    With a key the keyed ids are stable already and stay."""
    if persistent_key() is not None:
        return inventory
    labels: dict[str, str] = {}
    # Reported secrets first (suppressed ones, which only `inventory` keeps, must not shift them),
    # then by place; never by anything derived with the run key, which differs from run to run.
    placed = sorted(
        [
            (
                (bool(s.attributes.get("suppressed")), _place(s.location)),
                (_column(s.attributes.get("column")), s.type, s.fingerprint_id),
                s.hash,
            )
            for s in (*inventory.secrets, *inventory.suppressed)
        ]
        + [
            ((False, _place(o.location)), (0, o.rule_id, o.message), str(o.attributes["secret_hash"]))
            for o in inventory.observations
            if o.attributes.get("secret_hash")
        ]
    )
    for _, _, ident in placed:
        labels.setdefault(ident, f"run:{len(labels) + 1}")
    secrets_out, suppressed_out = (
        tuple(
            dataclasses.replace(s, hash=labels[s.hash], redacted=_relabelled(s.redacted, labels[s.hash]))
            for s in group
        )
        for group in (inventory.secrets, inventory.suppressed)
    )
    observations = tuple(
        dataclasses.replace(
            o,
            attributes={
                **o.attributes,
                "secret_hash": labels[str(o.attributes["secret_hash"])],
                "redacted": _relabelled(
                    str(o.attributes.get("redacted", "")), labels[str(o.attributes["secret_hash"])]
                ),
            },
        )
        if o.attributes.get("secret_hash")
        else o
        for o in inventory.observations
    )
    return dataclasses.replace(
        inventory, secrets=secrets_out, observations=observations, suppressed=suppressed_out
    )


def file_local(ident: str, path: str) -> str:
    """A ``run:N`` label read back from a file means something in that file only: keep it apart from
    the labels of other files and of this run's own secrets (``relabel`` renumbers them all)."""
    if not ident.startswith("run:"):
        return ident
    scoped = "\x1f".join((path, ident)).encode("utf-8", "surrogateescape")
    return "hmac:" + _mac(run_key(), b"nhiscan/file-label", scoped)


def _column(value: object) -> int:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 10 else 0


def _place(loc: Location) -> tuple[str, str, str, int]:
    return (loc.repository or "", loc.path, loc.commit or "", loc.line or 0)


def _relabelled(redacted: str, label: str) -> str:
    head, sep, _ = redacted.rpartition("#")
    return f"{head}#{label.removeprefix('run:')}" if sep else redacted
