"""From raw detect-secrets results to nhiscan Secrets: type, provider, redaction, linking attributes.

Everything here runs in the scanning process next to the text, because the attributes that link a
secret to an identity (an AWS key id on a nearby line, a GCP key's private_key_id and client_email,
an Azure app id) are read from the surrounding text. Values never leave this module: a Secret holds
a redacted preview and ids that cannot confirm a guess (nhiscan/secret_ids.py), plus, in memory
only, the digests that baselines of earlier versions and of detect-secrets are matched against.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections.abc import Sequence

from nhiscan import secret_ids
from nhiscan.inline_ignore import Ignore, parse_ignore
from nhiscan.model import Location, Secret
from nhiscan.sources.repo import detectors as catalogue
from nhiscan.sources.repo.engine import RawSecret, sha1_hex
from nhiscan.sources.repo.evidence import (
    BEFORE_WINDOW,
    URL_PASSWORD,
    WrittenPlace,
    generic_evidence,
    key_material,
    line_head,
    longer_number,
    not_a_password,
    placeholder_phrase,
    sample_password,
    sample_url_password,
)
from nhiscan.sources.repo.own_outputs import OwnOutput

# detect-secrets type -> (nhiscan type, provider, category). Categories pick the rule:
# cloud-key, private-key, token, generic; "ignore" drops the result (not a credential).
TYPES: dict[str, tuple[str, str | None, str]] = {
    "AWS Access Key": ("AWS access key", "aws", "cloud-key"),
    "AWS Secret Access Key": ("AWS secret access key", "aws", "cloud-key"),
    "Azure Storage Account access key": ("Azure storage account key", "azure", "cloud-key"),
    "Azure AD Client Secret": ("Azure AD client secret", "azure", "cloud-key"),
    "IBM Cloud IAM Key": ("IBM Cloud IAM key", "ibm", "cloud-key"),
    "IBM COS HMAC Credentials": ("IBM COS HMAC secret", "ibm", "cloud-key"),
    "SoftLayer Credentials": ("SoftLayer API key", "ibm", "cloud-key"),
    "Private Key": ("private key", None, "private-key"),
    "GitHub Token": ("GitHub token", "github", "token"),
    "GitHub Fine-Grained Token": ("GitHub fine-grained token", "github", "token"),
    "GitLab Token": ("GitLab token", "gitlab", "token"),
    "Slack Token": ("Slack token", "slack", "token"),
    "Stripe Access Key": ("Stripe secret key", "stripe", "token"),
    "NPM tokens": ("npm token", "npm", "token"),
    "npm Access Token": ("npm token", "npm", "token"),
    "PyPI Token": ("PyPI token", "pypi", "token"),
    "OpenAI Token": ("OpenAI API key", "openai", "token"),
    "OpenAI Project Key": ("OpenAI API key", "openai", "token"),
    "Anthropic API Key": ("Anthropic API key", "anthropic", "token"),
    "Hugging Face Token": ("Hugging Face token", "huggingface", "token"),
    "JSON Web Token": ("JSON web token", None, "token"),
    "Artifactory Credentials": ("Artifactory credential", "artifactory", "token"),
    "Cloudant Credentials": ("Cloudant credential", "ibm", "token"),
    "Discord Bot Token": ("Discord bot token", "discord", "token"),
    "Mailchimp Access Key": ("Mailchimp API key", "mailchimp", "token"),
    "SendGrid API Key": ("SendGrid API key", "sendgrid", "token"),
    "Square OAuth Secret": ("Square OAuth secret", "square", "token"),
    "Telegram Bot Token": ("Telegram bot token", "telegram", "token"),
    "Twilio API Key": ("Twilio API key", "twilio", "token"),
    "Basic Auth Credentials": ("password in URL", None, "generic"),
    "Secret Keyword": ("hard-coded password or secret", None, "generic"),
    "Base64 High Entropy String": ("high-entropy string", None, "generic"),
    "Hex High Entropy String": ("high-entropy string", None, "generic"),
    "Public IP (ipv4)": ("public IP address", None, "ignore"),
}


def type_info(raw_type: str) -> tuple[str, str | None, str]:
    """(nhiscan type, provider, rule category) of a detect-secrets type or a catalogue detector."""
    known = TYPES.get(raw_type)
    if known is not None:
        return known
    if raw_type.startswith(catalogue.TYPE_PREFIX):
        det = catalogue.detector_by_id(raw_type[len(catalogue.TYPE_PREFIX) :])
        if det is not None:
            return det.name, det.provider, det.rule_category
    return raw_type, None, "token"


# When one value is found by several plugins on one line, the most specific one names it.
_RANK = {"cloud-key": 0, "private-key": 1, "token": 2, "generic": 3, "ignore": 4}
_GENERIC_ORDER = ("Secret Keyword", "Basic Auth Credentials", "Base64 High Entropy String")

_AWS_KEY_ID = re.compile(r"(?<![A-Z0-9])((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})(?![A-Z0-9])")
_GUID = re.compile(
    r"(?<![0-9a-fA-F])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![0-9a-fA-F])"
)
_PEM = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----(?:.|\n){0,16384}?-----END[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----"
)
_GCP_KEY_ID = re.compile(r'"private_key_id"\s*:\s*"([0-9a-f]{40})"')
_GCP_EMAIL = re.compile(r'"client_email"\s*:\s*"([^"@\s]+@[^"\s]+)"')
_GCP_SA = re.compile(r'"type"\s*:\s*"service_account"')

# Values that are documentation examples, placeholders or templates rather than credentials.
_PLACEHOLDER_WORDS = (
    "example",
    "changeme",
    "change_me",
    "change-me",
    "changeit",
    "placeholder",
    "your_",
    "your-",
    "yourkey",
    "<your",
    "dummy",
    "redacted",
    "insert",
    "replace",
    "fixme",
    "todo",
)
_PLACEHOLDER_VALUES = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "secret",
        "token",
        "apikey",
        "api_key",
        "pwd",
        "test",
        "foo",
        "bar",
        "user:pass",
    }
)
_TEMPLATE = re.compile(
    r"\$\{\{|\{\{|\}\}|^\$\{?[A-Za-z_][A-Za-z0-9_.]*\}?$|^<[^<>]+>$|^%\(?[A-Za-z_]+\)?s?$|^\$\("
)


# A reusable-workflow call passing the caller's secrets on: a keyword, not a credential.
_SECRETS_KEYWORD = re.compile(r"""^\s*secrets\s*:\s*["']?inherit["']?\s*(#.*)?$""")


def _line(lines: Sequence[str], line: int) -> str:
    return lines[line - 1] if 0 < line <= len(lines) else ""


def is_placeholder(value: str) -> str | None:
    """Why a value is not a real credential (placeholder, template, documentation example), or None."""
    v = value.strip().strip("'\"")
    low = v.lower()
    if _TEMPLATE.search(v) or re.fullmatch(r"%[A-Za-z_][A-Za-z0-9_]*%", v):
        return "templated value"
    if low in _PLACEHOLDER_VALUES:
        return "placeholder or documentation example"
    if re.search(r"x{8,}|X{8,}|0{8}-0{4}|1234-1234|12345678-", v):
        return "masked placeholder"
    if any(w in low for w in _PLACEHOLDER_WORDS):
        return "placeholder or documentation example"
    core = re.sub(r"[^A-Za-z0-9]", "", v)
    if not core:
        return "masked placeholder"  # `***`, `...`: no letter or digit (detect-secrets drops these too)
    if core and (core.lower().count("x") + core.count("*") >= 0.6 * len(core)):
        return "masked placeholder"
    if len(set(core)) <= 2 and len(core) >= 4:
        return "repeated character placeholder"
    if "*" * 4 in v or "•" in v:
        return "masked placeholder"
    return None


# -- nhiscan's own value forms ---------------------------------------------------------------------
# What nhiscan writes in place of a secret value, recognised wherever it occurs (whatever file holds
# it) so that a report, baseline or inventory never produces a finding against itself, while every
# other value in such a file is scanned like any other. The redacted forms come from secret_ids,
# the one place that defines them (and the forms earlier versions wrote); the digest fields are
# those earlier versions wrote (their reports and baselines stay in repositories), and a source's
# "sha256": the digest of an export file nhiscan read, which the HTML report writes as sha256:HEX.
DIGEST_FIELDS = ("hash", "sha1", "sha1_also", "secret_hash", "sha256")  # Secret.hash, attributes, sources


def _own_forms() -> tuple[re.Pattern[str], ...]:
    fields = "|".join(re.escape(f) for f in DIGEST_FIELDS)
    return (
        secret_ids.REDACTED,
        secret_ids.LEGACY_FORM,
        re.compile(r"sha256:[0-9a-f]{64}"),  # fingerprints and value hashes
        re.compile(rf'"(?:{fields})"\s*:\s*"[0-9a-f]{{40,64}}(?: [0-9a-f]{{40,64}})*"'),
    )


_OWN_FORMS = _own_forms()


@functools.lru_cache(maxsize=64)
def _own_spans(line: str) -> tuple[tuple[int, int], ...]:
    """Where ``line`` holds nhiscan's value forms (once per line, however many detections on it)."""
    return tuple(m.span() for form in _OWN_FORMS for m in form.finditer(line))


def is_own_value(value: str, line: str) -> bool:
    """Whether every occurrence of ``value`` on ``line`` lies inside a value form nhiscan writes
    (a redacted preview, a fingerprint or a digest): nhiscan's output, never a secret."""
    spans = _own_spans(line)
    if not spans or not value:
        return False
    start = line.find(value)
    if start < 0:
        return False
    while start >= 0:
        end = start + len(value)
        if not any(a <= start and end <= b for a, b in spans):
            return False
        start = line.find(value, start + 1)
    return True


def _near(lines: Sequence[str], line: int, pattern: re.Pattern[str], radius: int = 5) -> str | None:
    lo = max(0, line - 1 - radius)
    hi = min(len(lines), line + radius)
    best: tuple[int, str] | None = None
    for idx in range(lo, hi):
        for m in pattern.finditer(lines[idx]):
            dist = abs(idx - (line - 1))
            if best is None or dist < best[0]:
                best = (dist, m.group(1) if m.groups() else m.group(0))
    return best[1] if best else None


def _whole_tokens(raw: RawSecret, lines: Sequence[str]) -> list[RawSecret]:
    """The token(s) a result stands for. Some plugins capture only a token's prefix (e.g. "ghp"),
    once per line however many tokens share it: each token on the line that starts with it is
    taken whole (the first however short, the others when they are token-sized), in one pass."""
    if len(raw.value) >= 8 or type_info(raw.type)[2] != "token":
        return [raw]
    line_text = lines[raw.line - 1] if 0 < raw.line <= len(lines) else ""
    out: list[RawSecret] = []
    for m in re.finditer(re.escape(raw.value) + r"[A-Za-z0-9_\-]+", line_text):
        if not out or len(m.group(0)) >= _MIN_TOKEN:
            out.append(RawSecret(raw.type, raw.line, m.group(0)))
    return out or [raw]


# Shortest whole token taken for a second token with the same captured prefix on one line.
_MIN_TOKEN = 20


def to_secrets(
    raws: Sequence[RawSecret],
    text: str,
    rel_path: str,
    *,
    commit: str | None = None,
    repository: str | None = None,
    repository_name: str | None = None,
    keep_suppressed: bool = False,
    own_output: OwnOutput | None = None,
) -> tuple[list[Secret], list[Secret]]:
    """(reported, suppressed) Secrets for one file's raw results, one per value and line.

    ``own_output``: the text is an nhiscan output (own_outputs.nhiscan_output). The AWS access key
    ids it names and, by the generic detectors, the inventory values of its JSON forms are its own
    data; every other detection in it is reported as in any other file.
    """
    if not raws:
        return [], []
    lines = text.splitlines()
    by_spot: dict[tuple[int, str], RawSecret] = {}
    ds_sha1: dict[tuple[int, str], dict[str, str]] = {}
    for found in raws:
        ds_value = found.value
        for raw in _whole_tokens(found, lines):
            ds_sha1.setdefault((raw.line, raw.value), {})[raw.type] = sha1_hex(ds_value)
            key = (raw.line, raw.value)
            prev = by_spot.get(key)
            if prev is None or _better(raw.type, prev.type):
                by_spot[key] = raw
    on_line: dict[int, list[str]] = {}
    for line_no, value in by_spot:
        on_line.setdefault(line_no, []).append(value)
    places = _Places()
    place: WrittenPlace | None = None  # where lines are written, made when a keyword value asks
    markers: dict[int, Ignore | None] = {}
    gcp_sa = bool(_GCP_SA.search(text))
    gcp_key_id = _GCP_KEY_ID.search(text) if gcp_sa else None
    gcp_email = _GCP_EMAIL.search(text) if gcp_sa else None
    reported: list[Secret] = []
    suppressed: list[Secret] = []
    for (line, value), raw in sorted(by_spot.items()):
        name, provider, category = type_info(raw.type)
        attrs: dict[str, str] = {"detector": raw.type, "category": category}
        det = _catalogue_detector(raw.type)
        if det is None:  # a detect-secrets plugin names it; the catalogue may know the format too
            also = sorted(t for t in ds_sha1.get((line, value), {}) if t.startswith(catalogue.TYPE_PREFIX))
            det = _catalogue_detector(also[0]) if also else None
        if det is not None:
            attrs["catalogue_detector"] = det.id
            attrs.update(kind=det.category, severity=det.severity, evidence=f"token format {det.id}")
            if det.checksum:
                attrs["evidence"] += f" ({det.checksum} checksum verified)"
            if det.service:
                attrs["service"] = det.service
        line_text = _line(lines, line)
        column = line_text.find(value) if len(line_text) <= _HUGE_LINE else -1
        if column >= 0:
            attrs["column"] = str(column + 1)  # orders two secrets of one line (secret_ids.relabel)
        # sha1 of the value as detect-secrets records it (its baselines' hashed_secret), and of
        # what other plugins reported here (merged into this one secret): in memory only.
        first_sha1 = ds_sha1.get((line, value), {}).get(raw.type, sha1_hex(value))
        sha1s = (first_sha1, *sorted(set(ds_sha1.get((line, value), {}).values()) - {first_sha1}))
        secret_value = value
        reason: str | None = None
        if category == "ignore":
            reason = "not a credential"
        if raw.type == "Private Key":
            block = _PEM.search(text.replace("\\n", "\n"), pos=0)
            blocks = [m.group(0) for m in _PEM.finditer(text.replace("\\n", "\n"))]
            # The block that starts on (or nearest after) this line; hash the key, not the marker.
            if blocks:
                secret_value = _block_for_line(text, line, blocks) or (block.group(0) if block else value)
            if gcp_sa and gcp_key_id and gcp_email:
                name, provider, category = "GCP service account key", "gcp", "cloud-key"
                attrs["category"] = category
                attrs["private_key_id"] = gcp_key_id.group(1)
                attrs["client_email"] = gcp_email.group(1)
        elif gcp_key_id is not None and value == gcp_key_id.group(1):
            reason = "GCP private_key_id (an identifier, reported with the key)"
        elif raw.type in ("AWS Access Key", _AWS_KEY_ID_DETECTOR) and _AWS_KEY_ID.fullmatch(value):
            name = "AWS access key id"
            attrs["key_id"] = value
        elif provider == "aws" or (raw.type == "AWS Access Key"):
            name = "AWS secret access key"
            key_id = _near(lines, line, _AWS_KEY_ID)
            if key_id:
                attrs["key_id"] = key_id
        elif raw.type in ("Azure AD Client Secret", _AZURE_SECRET_DETECTOR):
            attrs["hint"] = value[:3]
            client = _near(lines, line, _GUID)
            if client:
                attrs["client_id"] = client.lower()
        if reason is None and category not in ("private-key",) and raw.type != "Private Key":
            reason = is_placeholder(value)
        if reason is None and category == "generic" and not raw.type.startswith(catalogue.TYPE_PREFIX):
            # what precedes the value on its line (a bounded window: a line may hold thousands)
            before = (
                line_text[max(0, column - BEFORE_WINDOW) : column] if column >= 0 else line_head(line_text)
            )
            evidence, reason = generic_evidence(raw.type, value, before, rel_path)
            if evidence:
                attrs["evidence"] = evidence
        if raw.type == "GitHub Token" and len(value) == 40 and value[3] == "_":
            attrs["checksum"] = "valid" if catalogue.github_checksum_ok(value) else "invalid"
        if line not in markers:  # once per line, however many secrets it holds
            above = _line(lines, line - 1)
            markers[line] = parse_ignore(line_text) or (
                parse_ignore(above) if "nextline" in above and _NEXT_LINE.search(above) else None
            )
        marker = markers[line]
        if marker is not None:
            attrs.update(marker.evidence())
        if reason is None and raw.type == "Secret Keyword" and _SECRETS_KEYWORD.match(_line(lines, line)):
            reason = "GitHub Actions `secrets: inherit` keyword"
        if reason is None and raw.type == "Secret Keyword":
            reason = not_a_password(value)
        if reason is None and category == "generic":
            reason = placeholder_phrase(value)
        if reason is None and raw.type == "Secret Keyword":
            place = place or WrittenPlace(rel_path, lines)
            reason = sample_password(value, line, place)
        if reason is None and raw.type in ("Basic Auth Credentials", URL_PASSWORD):
            reason = sample_url_password(value, line_text)
        if reason is None and raw.type == "Telegram Bot Token" and longer_number(value, line_text):
            reason = "digits of a longer number (an ARN's account id), not a bot id"
        if reason is None and raw.type == "Private Key" and not key_material(lines, line):
            reason = "private key marker without key material (a pattern, a placeholder)"
        if reason is None and raw.type.startswith("AWS") and value.endswith(("EXAMPLE", "EXAMPLEKEY")):
            reason = "AWS documentation example key"
        if reason is None and is_own_value(value, _line(lines, line)):
            reason = "written by nhiscan (a redacted preview, digest or fingerprint)"
        if reason is None and own_output is not None:
            reason = _own_data(own_output, name, category, value, _line(lines, line))
        d = secret_ids.digest(secret_value)
        ident = secret_ids.run_id(d)
        location = Location(
            path=rel_path, line=line, commit=commit, repository=repository, repository_name=repository_name
        )
        secret = Secret(
            type=name,
            provider=provider,
            location=location,
            redacted=secret_ids.redact(secret_value, ident),
            hash=ident,
            attributes=attrs,
            digest=d,
            ds_sha1=sha1s,
        )
        if reason is None:
            # Only reported secrets become findings: only they need a fingerprint id.
            context = places.context(raw.type, line, _line(lines, line), on_line.get(line, []), d)
            fp_id = secret_ids.fingerprint_id(
                d,
                detector=raw.type,
                category=category,
                repository=repository_name or repository or "",
                path=rel_path,
                context=context,
            )
            reported.append(dataclasses.replace(secret, fingerprint_id=fp_id))
        elif keep_suppressed:
            suppressed.append(dataclasses.replace(secret, attributes={**attrs, "suppressed": reason}))
    return reported, suppressed


def _own_data(own: OwnOutput, name: str, category: str, value: str, line: str) -> str | None:
    """Why a detection in an nhiscan output is that output's own data (or None: report it)."""
    if name == "AWS access key id" and own.names_key_id(value, line):
        return "credential id named by an nhiscan output"
    if category == "generic" and own.holds_data(value, line):
        return "inventory value in an nhiscan output"
    return None


# A blanked line longer than this stands in a password's context by its digest (minified files).
_LONG_CONTEXT = 1024
# On a line longer than this (minified bundles, one-line dumps), finding each value again would cost
# a pass over the line per value: contexts use the line's shape and columns are not recorded.
_HUGE_LINE = 65536
_ALNUM = re.compile(r"[A-Za-z0-9]+")


class _Places:
    """The context of each human-chosen value in one file: its line with every found value blanked,
    numbered when several different values share one such line (``password: ...`` twice). Each
    line is blanked once, however many values it holds."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], dict[bytes, int]] = {}
        self._blanked: dict[int, str] = {}

    def context(self, detector: str, line_no: int, line_text: str, values: list[str], d: bytes) -> str:
        if detector not in secret_ids.HUMAN_CHOSEN or secret_ids.persistent_key() is not None:
            return ""  # other detectors, and every keyed id, rest on the value alone
        blanked = self._blanked.get(line_no)
        if blanked is None:
            if len(line_text) > _HUGE_LINE:  # one pass: the line's shape without letters and digits
                blanked = " ".join(_ALNUM.sub("", line_text).split())
            else:
                blanked = secret_ids.blank_values(line_text, values)
            if len(blanked) > _LONG_CONTEXT:  # hashed once here, not once per value on the line
                blanked = "sha256:" + hashlib.sha256(blanked.encode("utf-8", "surrogateescape")).hexdigest()
            self._blanked[line_no] = blanked
        numbers = self._seen.setdefault((detector, blanked), {})
        n = numbers.setdefault(d, len(numbers) + 1)
        return f"{blanked}\x1f{n}"


def _better(new: str, old: str) -> bool:
    cat_new = type_info(new)[2]
    cat_old = type_info(old)[2]
    if _RANK[cat_new] != _RANK[cat_old]:
        return _RANK[cat_new] < _RANK[cat_old]
    if cat_new == "generic":
        order = {t: i for i, t in enumerate(_GENERIC_ORDER)}
        return order.get(new, 9) < order.get(old, 9)
    return new < old


def _block_for_line(text: str, line: int, blocks: list[str]) -> str | None:
    lines = text.splitlines()
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    tail = "\n".join(lines[line - 1 :]).replace("\\n", "\n")
    for block in blocks:
        if block.split("\n", 1)[0] in here.replace("\\n", "\n") and tail.find(block) >= 0:
            return block
    return None


_AWS_KEY_ID_DETECTOR = catalogue.TYPE_PREFIX + "aws-access-key-id"
_AZURE_SECRET_DETECTOR = catalogue.TYPE_PREFIX + "azure-ad-client-secret"
# detect-secrets' marker for the line below: ``pragma: allowlist nextline secret``.
_NEXT_LINE = re.compile(r"pragma:\s*allowlist[ -]nextline[ -]secret")


def _catalogue_detector(raw_type: str) -> catalogue.Detector | None:
    if raw_type.startswith(catalogue.TYPE_PREFIX):
        return catalogue.detector_by_id(raw_type[len(catalogue.TYPE_PREFIX) :])
    return None
