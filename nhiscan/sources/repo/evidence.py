"""Evidence that a generic finding is a credential, and the values that are not one.

A generic (keyword, URL or entropy) finding is reported only with evidence that the value is a
credential; checksums, digests, commit ids, identifiers, names, dates, sentences, sample passwords
of local databases, look-alikes inside longer numbers and key markers without key material are
not (each says why: the reason a suppressed secret carries).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from nhiscan.sources.repo import detectors as catalogue

# -- evidence for generic findings -----------------------------------------------------------------
# A generic (keyword, URL or entropy) finding is reported only with evidence that the value is a
# credential; checksums, digests, commit ids and identifiers are not.
_LOCK_FILES = (
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "go.sum", "poetry.lock",
    "cargo.lock", "pipfile.lock", "composer.lock", "gemfile.lock", "uv.lock", "pdm.lock", "flake.lock",
    "packages.lock.json", "podfile.lock", "mix.lock", "pubspec.lock", "gradle.lockfile", "bun.lock",
)  # fmt: skip
_CREDENTIAL_NAME = re.compile(
    r"(?i)(?:pass(?:wd|word|phrase)?|pwd|secret|token|api[_\-.]?key|access[_\-.]?key|private[_\-.]?key|"
    r"auth|credential|cred|apikey|client[_\-.]?secret|signing|bearer|session|cookie|salt|contrase)"
)
_DIGEST_CONTEXT = re.compile(
    r"(?i)(?:integrity|checksum|digest|sha(?:1|224|256|384|512)|md5|hash|etag|fingerprint|"
    r"commit|revision|\brev\b|\bref\b|nonce|sri)"
)
_HEX = re.compile(r"[0-9a-fA-F]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ID_NAME = re.compile(r"(?i)(?:\bid\b|_id\b|[a-z]Id\b|uuid|guid)")


BEFORE_WINDOW = 160


def line_head(line: str) -> str:
    return line[:BEFORE_WINDOW]


def generic_evidence(raw_type: str, value: str, before: str, rel_path: str) -> tuple[str, str | None]:
    """(evidence that a generic finding is a credential, or why it is not one); ``before`` is what
    precedes the value on its line (a bounded window)."""
    base = rel_path.rsplit("/", 1)[-1].lower()
    if base in _LOCK_FILES or base.endswith(".lock"):
        return "", "checksum or pin in a lock file"
    if re.search(r"(?:sha(?:1|256|384|512)[-:]|[a-z0-9]+:sha256:)$", before) or re.search(
        r"(?i)\bsha(?:1|256|384|512)[-:]\s*$", before
    ):
        return "", "digest (algorithm-prefixed hash)"
    if raw_type == "Basic Auth Credentials":
        return "password in a URL's user info", None
    name = _CREDENTIAL_NAME.search(before)
    digest_name = _DIGEST_CONTEXT.search(before)
    if _HEX.fullmatch(value) and len(value) in (32, 40, 56, 64, 96, 128) and digest_name and not name:
        return "", "hash, checksum or commit id"
    if _UUID.fullmatch(value) and _ID_NAME.search(before) and not name:
        return "", "identifier (UUID named as an id)"
    if raw_type == "Secret Keyword":
        return "assigned to a credential-like name", None
    if name is not None:
        return f"assigned to a credential-like name ({name.group(0)})", None
    return "", "high-entropy string without credential evidence (no credential-like name)"


# -- values a keyword assignment holds that are not passwords ---------------------------------------
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
# Pieces of an identifier: a capitalised or lower-case word, an upper-case word, or a short number.
_WORD = re.compile(r"[A-Z]{2,}(?![a-z])|[A-Z]?[a-z]+|\d{1,2}")
_SEPARATORS = re.compile(r"[_\-. ]+")
_VOWEL = re.compile(r"[aeiouyAEIOUY]")
_CREDENTIAL_WORD = re.compile(r"(?i)pass|pwd|pswd|secret|key|token|cred")


def not_a_password(value: str) -> str | None:
    """Why a value assigned to a password-like name is not a password (or None).

    A date and time, a sentence (a description written where a value goes), a value of four
    characters or fewer, or an identifier made of words (``secret_key``, ``MyPassword``,
    ``FROM_CREDS_FILE_2``: a name or a test stand-in, with no random part).
    """
    v = value.strip()
    if _ISO_TIME.fullmatch(v):
        return "a date and time, not a credential"
    words = v.split()
    if len(words) >= 4 and all(w.strip(".,;:()").isalpha() for w in words):
        return "a sentence (documentation), not a credential"
    if len(v) <= 4:
        return "too short for a credential (a stand-in value)"
    pieces = [p for p in _SEPARATORS.split(v) if p]
    tokens: list[str] = []
    for piece in pieces:
        found = _WORD.findall(piece)
        if "".join(found) != piece:
            return None  # other characters: not an identifier
        tokens.extend(found)
    letters = [t for t in tokens if not t.isdigit()]
    if not letters or len(letters) > 6 or len(v) > 48 or sum(map(len, letters)) / len(letters) < 3:
        return None
    if not all(_VOWEL.search(t) or (t.isupper() and len(t) <= 4) for t in letters):
        return None  # a piece without a vowel (Xqzt): random, not a word
    if any(t.isdigit() for t in tokens[:-1]):
        return None  # digits inside (hunter2hunter2, 53cr37): chosen, not a name
    if tokens[-1].isdigit() and len(pieces) == 1:
        return None  # a word with a number on it (Password1, Welcome2024): a chosen password
    if len(tokens) == 1 and not _CREDENTIAL_WORD.search(v):
        return None  # one plain word: a person's password as likely as a name
    return "an identifier made of words (a name or a stand-in), not a credential"


def longer_number(value: str, line: str) -> bool:
    """Whether the digits a bot token starts with continue a longer number on the line."""
    pos = line.find(value)
    return pos > 0 and line[pos - 1].isdigit()


_KEY_BODY = re.compile(r"[A-Za-z0-9+/]{40}")


def key_material(lines: Sequence[str], line: int) -> bool:
    """Whether base64 key material follows a private key marker (on its line or the next few)."""
    window = "\n".join(lines[max(0, line - 1) : line + 4]).replace("\\n", "\n")
    start = window.find("PRIVATE KEY")
    return start >= 0 and _KEY_BODY.search(window, start) is not None


URL_PASSWORD = catalogue.TYPE_PREFIX + "url-password"
_LOCAL_HOST = re.compile(
    r"(?i)(?:localhost|127\.\d+\.\d+\.\d+|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|\[?::1\]?|"
    r"[^.\s]*|(?:[\w-]+\.)*example\.(?:com|org|net)|[\w-]+\.(?:local|test|invalid|example))"
)


def sample_url_password(value: str, line: str) -> str | None:
    """Why a password in a URL is a sample (or None): the URL names a host that is not a network
    name (localhost, a private address, a bare service or placeholder name such as ``host``,
    ``hostspec`` or ``mysql80``, an example domain): documentation, tests and development
    defaults (``scott:tiger@localhost``), never a deployed service's credential."""
    at = line.find(":" + value + "@")
    if at < 0:
        return None
    host = re.split(r"[/?:'\"\s<>\\`),;]", line[at + len(value) + 2 :], maxsplit=1)[0]
    if _LOCAL_HOST.fullmatch(host):
        return "sample password in a URL (a local or placeholder host)"
    return None
