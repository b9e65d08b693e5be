"""Which files of a PATH the repository scan reads.

Inside a git work tree: tracked and untracked-but-not-ignored files (`git ls-files -co
--exclude-standard`), so .gitignore is respected. Anywhere else: every file under the directory
(never the silent empty result detect-secrets gives outside git). Vendored trees, generated or
minified files, lock files, binaries, files over the size cap and the settings' exclude globs are
skipped. Files nhiscan itself wrote (its reports, baselines and inventories, recognised by content)
are not secret-scanned either: they name key ids and fingerprints by design (``nhiscan_output``).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

MAX_FILE_BYTES = 10 * 1024 * 1024

VENDORED_DIRS = frozenset(
    {
        ".git",
        "node_modules",
        "vendor",
        "third_party",
        "third-party",
        "bower_components",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "site-packages",
    }
)
LOCK_FILES = frozenset(
    {
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "Pipfile.lock",
        "Cargo.lock",
        "go.sum",
        "composer.lock",
        "Gemfile.lock",
        "uv.lock",
        "npm-shrinkwrap.json",
        "packages.lock.json",
        "pdm.lock",
        "mix.lock",
        "pubspec.lock",
        "flake.lock",
        ".secrets.baseline",
    }
)
GENERATED_SUFFIXES = (".min.js", ".min.css", ".map", ".pb.go", "_pb2.py", ".pyc", ".lock")
BINARY_SUFFIXES = frozenset(
    {
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".bmp",
        ".ico",
        ".webp",
        ".tif",
        ".tiff",
        ".pdf",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".7z",
        ".tar",
        ".jar",
        ".war",
        ".class",
        ".so",
        ".dll",
        ".dylib",
        ".exe",
        ".bin",
        ".o",
        ".a",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
        ".mp3",
        ".mp4",
        ".mov",
        ".avi",
        ".wav",
        ".ogg",
        ".webm",
        ".sqlite",
        ".db",
        ".parquet",
        ".whl",
        ".egg",
        ".npy",
        ".pkl",
        ".pt",
        ".onnx",
        ".h5",
        ".svgz",
        ".psd",
        ".iso",
        ".dmg",
    }
)


def git_toplevel(path: Path) -> Path | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=True,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    top = out.stdout.strip()
    return Path(top) if top else None


def _ignored(root: Path) -> bool:
    """Whether git ignores the directory itself (then it was named on purpose: walk it)."""
    proc = subprocess.run(
        ["git", "-C", str(root), "check-ignore", "-q", "."],
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return proc.returncode == 0


def skip_reason(rel_path: str, exclude: Iterable[str] = ()) -> str | None:
    """Why a repository-relative path is not scanned, judged from the path alone (or None)."""
    parts = rel_path.split("/")
    if any(p in VENDORED_DIRS for p in parts[:-1]):
        return "vendored"
    name = parts[-1]
    if name in LOCK_FILES:
        return "lock file"
    low = name.lower()
    if low.endswith(GENERATED_SUFFIXES):
        return "generated"
    if os.path.splitext(low)[1] in BINARY_SUFFIXES:
        return "binary"
    for pattern in exclude:
        if fnmatch.fnmatch(rel_path, pattern) or fnmatch.fnmatch(name, pattern):
            return "excluded"
        if pattern.endswith("/**") and (rel_path + "/").startswith(pattern[:-2]):
            return "excluded"
    return None


def list_files(root: Path, exclude: Iterable[str] = ()) -> tuple[list[str], bool]:
    """(relative paths to scan, whether root is inside a git work tree)."""
    excl = tuple(exclude)
    if git_toplevel(root) is not None and not _ignored(root):
        proc = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-co", "--exclude-standard", "-z"],
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode == 0:
            names = sorted({n for n in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if n})
            return [n for n in names if skip_reason(n, excl) is None and (root / n).is_file()], True
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in VENDORED_DIRS)
        rel_dir = os.path.relpath(dirpath, root)
        for fn in sorted(filenames):
            rel = fn if rel_dir == "." else f"{rel_dir}/{fn}".replace(os.sep, "/")
            full = os.path.join(dirpath, fn)
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            if skip_reason(rel, excl) is None:
                out.append(rel)
    return out, False


# Bytes that do not occur in text files (C0 controls other than tab, newlines, form feed, escape).
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\f\v\x1b") + b"\x7f"


def decode_text(data: bytes) -> str | None:
    """The file's text, or None for binaries.

    UTF-8 first, UTF-16 when the file starts with a byte order mark. A text file in a legacy 8-bit
    encoding (a Latin-1 comment in an old script) is still text, and the credentials in it are
    ASCII: it is read as Latin-1, which keeps every byte and every line. Content with control
    bytes or mostly high bytes is binary and skipped.
    """
    if len(data) > MAX_FILE_BYTES:
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # UTF-16 with a byte order mark (Windows PowerShell and Notepad save scripts this way).
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    sample = data[:65536]
    controls = len(sample) - len(sample.translate(None, _CONTROL))
    high = sum(1 for b in sample if b >= 0x80)
    if controls * 100 > len(sample) or high * 10 > len(sample) * 3:
        return None
    return data.decode("latin-1")


# What nhiscan writes, recognised from the start of the text. JSON documents must also parse and
# carry nhiscan's schema (or, for SARIF, name nhiscan as the tool), so a look-alike prefix alone is
# not enough; every file recognised here is named in the scan's result (sources[].nhiscan_files).
_OWN_JSON_SCHEMAS = frozenset({"nhiscan/v1", "nhiscan-baseline/v1", "nhiscan-inventory/v1"})
_OWN_JSON_START = re.compile(r'\A\{\s*"schema"\s*:\s*"nhiscan')
_SARIF_START = re.compile(r'\A\s*\{\s*"\$schema"\s*:\s*"[^"]*sarif')
_OWN_TEXT_STARTS = (
    ("html", re.compile(r'\A<!doctype html>.{0,2000}?<meta name="generator" content="nhiscan ', re.S | re.I)),
    ("markdown", re.compile(r"\A## nhiscan: non-human identity scan\n")),
    ("csv", re.compile(r"\A\ufeff?severity,rule_id,title,owasp_nhi,identity_id,provider,identity_kind,")),
)


def nhiscan_output(text: str) -> str | None:
    """The kind of nhiscan output this text is (json, sarif, html, markdown, csv), or None."""
    head = text[:4096].lstrip()
    if head.startswith("{"):
        if not (_OWN_JSON_START.match(head) or _SARIF_START.match(head)):
            return None
        try:
            doc = json.loads(text)
        except ValueError:
            return None
        if isinstance(doc, dict) and doc.get("schema") in _OWN_JSON_SCHEMAS:
            return "json"
        runs = doc.get("runs") if isinstance(doc, dict) else None
        if isinstance(runs, list) and runs and all(_sarif_run_is_ours(r) for r in runs):
            return "sarif"
        return None
    for kind, pattern in _OWN_TEXT_STARTS:
        if pattern.match(head):
            return kind
    return None


def _sarif_run_is_ours(run: object) -> bool:
    tool = run.get("tool") if isinstance(run, dict) else None
    driver = tool.get("driver") if isinstance(tool, dict) else None
    return isinstance(driver, dict) and driver.get("name") == "nhiscan"
