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


# -- placeholder phrasing ---------------------------------------------------------------------------
# ``yourStrong(!)Password``, ``my-secret``, ``YOUR_API_TOKEN``: a value that says whose credential
# goes there and what it is names the credential, it is not one. Digits outside the credential word
# are a chosen part (``MyPassw0rd!`` stays a password).
_WHOSE = re.compile(r"^(?:your|my|Your|My|YOUR|MY)(?=[A-Z_\-. (])")
_CREDENTIAL_TERM = re.compile(r"(?i)pass(?:word|wd|phrase)?|pwd|secret|token|api[_\-.]?key|key|credential")
_HERE = re.compile(r"(?i)(?:^|[_\-. ]|pass(?:word)?|secret|token|key)here$")


def placeholder_phrase(value: str) -> str | None:
    """Why a value is a placeholder by its wording (or None): it starts with ``your``/``my`` and names
    a credential (``yourStrong(!)Password``, ``my_api_token``), or it ends in ``…here``
    (``token-here``, ``PASSWORDHERE``), with no digit: a request for a credential, not one."""
    v = value.strip()
    if not v or len(v) > 64 or any(c.isdigit() for c in v):
        return None
    if _WHOSE.match(v) and _CREDENTIAL_TERM.search(v, 2):
        return "placeholder phrasing (your…/my… naming a credential)"
    if _HERE.search(v) and len(v) > 4:
        return "placeholder phrasing (…here)"
    return None


# -- sample passwords by where they are written -----------------------------------------------------
# Documentation and tests hold sample database passwords (``password="tiger"``) that no deployed
# service uses. What is written there is a sample when its value is a lower-case word or a few
# (pronounceable: a word, not random letters), or when it sits in connection arguments whose host
# is local or a placeholder (``host="pghost10"``): a deployed service's credential needs a network
# name. Configuration files (.env, .ini, YAML, ...) outside test directories are never such a place,
# and a chosen value (``Password1``, ``Welcome2024``: capitals, digits) is never such a word.
_DOC_SUFFIXES = (".rst", ".md", ".markdown", ".mdx", ".adoc", ".asciidoc", ".rdoc", ".textile", ".pod")
_CONFIG_SUFFIXES = (
    ".env", ".ini", ".cfg", ".conf", ".config", ".yaml", ".yml", ".toml", ".properties", ".json", ".xml",
    ".tfvars", ".tf", ".hcl", ".npmrc", ".pypirc", ".netrc", ".pgpass", ".htpasswd",
)  # fmt: skip
_TEST_DIR = re.compile(r"(?:^|/)(?:tests?|testing|__tests__|spec|specs|testdata|test_data)/", re.IGNORECASE)
_TEST_FILE = re.compile(
    r"(?:^|/)(?:test_[^/]+|[^/]+_tests?\.[A-Za-z]+|[^/]+\.(?:test|spec)\.[A-Za-z]+|[^/]+Tests?\.[A-Za-z]+|"
    r"conftest\.py)$"
)
_COMMENT = re.compile(r"^\s*(?:#|//|/\*|\*|--|<!--|;|%|rem\s)", re.IGNORECASE)
_SAMPLE_WORD = re.compile(r"[a-z]+")
_CONSONANTS = re.compile(r"[bcdfghjklmnpqrstvwxz]{4,}")
_HOST_ARG = re.compile(
    r"""(?<![\w.])["']?(?:\w*[_\-])?(?i:host|hostname|server|dsn|address|addr)["']?\s*(?:=|:|=>)\s*["']?([^"'\s,;)}\]]+)|"""
    r"""(?<!\S)(?:-S|-h|--host|--hostname|--server)(?:\s+|=)["']?([^"'\s,;)}\]]+)"""
)
_HOST_RADIUS = 4


def is_test_path(rel_path: str) -> bool:
    """Whether a path is a test's (a tests/ or spec/ directory, test_*.py, *_test.go, *.spec.ts...)."""
    return bool(_TEST_DIR.search(rel_path) or _TEST_FILE.search(rel_path))


def sample_word(value: str) -> bool:
    """Whether a value is one to four lower-case words and nothing chosen: letters a-z only in each
    word, at most 12 each and 32 in all, every word with a vowel and no four consonants in a row (a
    word, not random letters), separated by punctuation or spaces at most as long as the words
    (``tiger``, ``foobar``, ``apples/oranges``); no digit, no capital."""
    v = value.strip()
    if not v or len(v) > 32 or any(c.isdigit() or c.isupper() for c in v):
        return False
    words = _SAMPLE_WORD.findall(v)
    letters = sum(map(len, words))
    if not 1 <= len(words) <= 4 or len(v) - letters > letters // 2:
        return False
    return all(len(w) <= 12 and _VOWEL.search(w) and not _CONSONANTS.search(w) for w in words)


class WrittenPlace:
    """Where in one file a line is written: documentation, a test, a docstring or a comment (each
    computed once per file, and only when a candidate asks)."""

    def __init__(self, rel_path: str, lines: Sequence[str]) -> None:
        self.rel_path = rel_path
        self._lines = lines
        low = rel_path.lower()
        base = low.rsplit("/", 1)[-1]
        self.doc = low.endswith(_DOC_SUFFIXES)
        self.test = is_test_path(rel_path)
        self.config = base.endswith(_CONFIG_SUFFIXES) or base.startswith(".env")
        self.python = low.endswith((".py", ".pyi"))
        self._docstrings: list[tuple[int, int]] | None = None

    def kind(self, line: int) -> str | None:
        """The place a line is written in: documentation, a test, a docstring or a comment (or None:
        code or configuration)."""
        if self.doc:
            return "documentation"
        if self.test:
            return "a test"
        if self.config:
            return None
        if self.python and self._in_docstring(line):
            return "a docstring"
        text = self._lines[line - 1] if 0 < line <= len(self._lines) else ""
        if _COMMENT.match(text):
            return "a comment"
        return None

    def _in_docstring(self, line: int) -> bool:
        if self._docstrings is None:
            self._docstrings = python_docstrings(self._lines)
        return any(a <= line <= b for a, b in self._docstrings)

    def host_nearby(self, line: int) -> str | None:
        """A local or placeholder host named by connection arguments within a few lines, or None."""
        lo = max(0, line - 1 - _HOST_RADIUS)
        for text in self._lines[lo : line + _HOST_RADIUS]:
            for m in _HOST_ARG.finditer(text[: BEFORE_WINDOW * 2]):
                host = re.split(r"[/:?@]", m.group(1) or m.group(2), maxsplit=1)[0]
                if host and _LOCAL_HOST.fullmatch(host):
                    return host
        return None


def sample_password(value: str, line: int, place: WrittenPlace) -> str | None:
    """Why a keyword-assigned value is a sample password by where it is written (or None)."""
    where = place.kind(line)
    if where is None:
        return None
    if sample_word(value):
        return f"sample password in {where} (lower-case words, nothing chosen)"
    if place.host_nearby(line) is not None:
        return f"sample password in {where} (connection arguments to a local or placeholder host)"
    return None


_PY_TOKEN = re.compile(r"\\.|\"\"\"|'''|[\"'#\n]", re.DOTALL)
_STRING_PREFIX = re.compile(r"[rRuUbBfF]{0,2}")
_DOC_INDENT = 200


def python_docstrings(lines: Sequence[str]) -> list[tuple[int, int]]:
    """(first, last) line numbers of the triple-quoted strings that stand as statements in Python
    source (docstrings and bare string blocks, not strings assigned or passed): one linear pass over
    the quotes, comments and escapes (what precedes a quote on its line is read within a bounded
    window: a docstring is never indented further)."""
    text = "\n".join(lines)
    spans: list[tuple[int, int]] = []
    line = 1
    line_start = 0  # where the current line starts in text
    quote = ""  # the open string's quote, "" outside strings
    start_line = 0
    statement = False
    skip_to = -1
    for m in _PY_TOKEN.finditer(text):
        tok = m.group(0)
        if "\n" in tok:
            line += tok.count("\n")
            line_start = m.end() if tok == "\n" else m.start() + tok.rfind("\n") + 1
        if m.start() < skip_to:
            continue
        if tok == "\n" or tok.startswith("\\"):
            if tok == "\n" and len(quote) == 1:
                quote = ""  # an unterminated one-line string ends with its line
            continue
        if quote:
            if tok == quote:
                if len(quote) == 3 and statement:
                    spans.append((start_line, line))
                quote = ""
            continue
        if tok == "#":
            end = text.find("\n", m.start())
            skip_to = len(text) if end < 0 else end
            continue
        quote, start_line = tok, line
        if len(tok) == 3:
            indent = m.start() - line_start
            head = text[line_start : m.start()].strip() if indent <= _DOC_INDENT else "-"
            statement = _STRING_PREFIX.fullmatch(head) is not None
    return spans
