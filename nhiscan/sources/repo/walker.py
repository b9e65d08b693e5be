"""Which files of a PATH the repository scan reads.

Inside a git work tree: tracked and untracked-but-not-ignored files (`git ls-files -co
--exclude-standard`), so .gitignore is respected. Anywhere else: every file under the directory
(never the silent empty result detect-secrets gives outside git). Vendored trees, generated or
minified files, lock files, binaries, files over the size cap and the settings' exclude globs are
skipped. Nothing is skipped for what it contains (nhiscan's own reports are scanned too; see
own_outputs.py). Symbolic links are never followed out of the tree (``Listing.links_out``), and a
directory that cannot be listed is reported (``Listing.unreadable``), never silently passed over.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nhiscan.sources.repo.gitsafe import git_argv, git_env

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


def _rev_parse(path: Path, *args: str) -> str:
    """What `git rev-parse ARGS` prints in the work tree at ``path`` ("" when git fails)."""
    try:
        out = subprocess.run(
            git_argv(path, "rev-parse", *args),
            capture_output=True,
            text=True,
            check=True,
            stdin=subprocess.DEVNULL,
            env=git_env(),
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return out.stdout.strip()


def git_toplevel(path: Path) -> Path | None:
    top = _rev_parse(path, "--show-toplevel")
    return Path(top) if top else None


def git_head(path: Path) -> str | None:
    """The commit checked out in the git work tree at ``path`` (None when there is none)."""
    head = _rev_parse(path, "--verify", "-q", "HEAD")
    return head if len(head) in (40, 64) and all(c in "0123456789abcdef" for c in head) else None


def _ignored(root: Path) -> bool:
    """Whether git ignores the directory itself (then it was named on purpose: walk it)."""
    proc = subprocess.run(
        git_argv(root, "check-ignore", "-q", "."),
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env=git_env(),
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


@dataclass
class Listing:
    """What a PATH holds for the scan: the files to read and what could not be listed or followed.

    ``files`` are (path relative to ``root``, size) of regular files inside the tree; a symbolic
    link that stays inside the tree is listed as its target (so the target is scanned once).
    ``unreadable`` are (relative path, reason) of directories that could not be listed (one entry
    for the topmost one: what is under it is not listed). ``links_out`` are symbolic links whose
    target is outside the tree: never followed. ``root`` is the real path of the tree (symbolic
    links resolved), which every file is read relative to.
    """

    root: str
    in_git: bool
    files: list[tuple[str, int]] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    links_out: list[str] = field(default_factory=list)


def inside(real_root: str, real_path: str) -> bool:
    """Whether a real (resolved) path is the real root or under it."""
    return real_path == real_root or real_path.startswith(real_root.rstrip(os.sep) + os.sep)


class _Collector:
    """Builds a Listing from candidate names, classifying each with one lstat."""

    def __init__(self, root: Path, in_git: bool, exclude: tuple[str, ...]) -> None:
        self.root = root
        self.exclude = exclude
        self.listing = Listing(os.path.realpath(root), in_git)
        self._seen: set[str] = set()
        self._bad_dirs: set[str] = set()

    def unreadable_dir(self, rel: str, exc: OSError) -> None:
        rel = rel.rstrip("/") or "."
        if rel in self._bad_dirs or any(_under(rel, d) for d in self._bad_dirs):
            return
        self._bad_dirs.add(rel)
        self.listing.unreadable.append((rel, f"cannot list directory: {exc.strerror or exc}"))

    def add(self, rel: str) -> None:
        if skip_reason(rel, self.exclude) is not None:
            return
        full = os.path.join(self.root, rel)
        try:
            st = os.lstat(full)
        except FileNotFoundError:
            return  # deleted since it was listed (or a tracked file removed from the work tree)
        except OSError as exc:
            self.unreadable_dir(self._blocking_dir(rel), exc)
            return
        if stat.S_ISLNK(st.st_mode):
            self._add_link(rel, full)
        elif stat.S_ISREG(st.st_mode):
            self._add_file(rel, st.st_size)
        # directories (submodules, directory links git lists), FIFOs, sockets, devices: not files

    def dir_link(self, rel: str) -> None:
        """A symbolic link to a directory met while walking: never descended; noted if it leaves."""
        real = os.path.realpath(os.path.join(self.root, rel))
        if not inside(self.listing.root, real):
            self.listing.links_out.append(rel)

    def _add_file(self, rel: str, size: int) -> None:
        if rel not in self._seen:
            self._seen.add(rel)
            self.listing.files.append((rel, size))

    def _add_link(self, rel: str, full: str) -> None:
        real = os.path.realpath(full)
        if not inside(self.listing.root, real):
            self.listing.links_out.append(rel)
            return
        try:
            st = os.stat(real)
        except OSError:
            return  # a broken link or a loop inside the tree: nothing to read
        if not stat.S_ISREG(st.st_mode):
            return  # a directory link inside the tree: its files are listed under their own names
        target = os.path.relpath(real, self.listing.root).replace(os.sep, "/")
        if skip_reason(target, self.exclude) is None:
            self._add_file(target, st.st_size)

    def _blocking_dir(self, rel: str) -> str:
        """The topmost directory on the way to ``rel`` that cannot be searched."""
        parts = rel.split("/")
        for i in range(1, len(parts)):
            try:
                os.lstat(os.path.join(self.root, *parts[: i + 1]))
            except PermissionError:
                return "/".join(parts[:i])
            except OSError:
                break
        return "/".join(parts[:-1]) or "."

    def done(self) -> Listing:
        self.listing.files.sort()
        self.listing.links_out.sort()
        self.listing.unreadable.sort()
        return self.listing


def _under(rel: str, parent: str) -> bool:
    return parent == "." or rel.startswith(parent + "/")


# git warns about each directory it cannot read while listing untracked files (messages forced to
# English with LC_ALL=C); the listing is otherwise complete, so those directories are the errors.
_GIT_UNREADABLE = re.compile(r"^warning: could not open directory '(?P<path>.*)': (?P<reason>.+)$", re.M)


def list_files(root: Path, exclude: Iterable[str] = ()) -> Listing:
    """The files of a directory to scan, and what in it could not be listed or was not followed."""
    excl = tuple(exclude)
    top = git_toplevel(root)
    if top is not None and not _ignored(root):
        proc = subprocess.run(
            git_argv(root, "ls-files", "-co", "--exclude-standard", "-z"),
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
            env=git_env(LC_ALL="C"),
        )
        if proc.returncode == 0:
            col = _Collector(root, True, excl)
            for m in _GIT_UNREADABLE.finditer(proc.stderr.decode("utf-8", "surrogateescape")):
                # git names the directory relative to the top of the work tree, not to PATH
                where = os.path.relpath(os.path.join(top, m["path"]), col.listing.root)
                col.unreadable_dir(where.replace(os.sep, "/"), PermissionError(0, m["reason"]))
            names = {n for n in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if n}
            for name in sorted(names):
                col.add(name)
            return col.done()
    col = _Collector(root, False, excl)

    def failed(exc: OSError) -> None:
        where = os.path.relpath(exc.filename, root) if exc.filename else "."
        col.unreadable_dir(where.replace(os.sep, "/"), exc)

    for dirpath, dirnames, filenames in os.walk(root, onerror=failed):
        rel_dir = os.path.relpath(dirpath, root)
        prefix = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        kept = []
        for d in sorted(dirnames):
            if d in VENDORED_DIRS:
                continue
            if os.path.islink(os.path.join(dirpath, d)):
                col.dir_link(prefix + d)
            else:
                kept.append(d)
        dirnames[:] = kept
        for fn in sorted(filenames):
            col.add(prefix + fn)
    return col.done()


class OutsideTree(OSError):
    """The file opened is not inside the scanned tree (a link or a directory swapped in a race)."""


def read_inside(real_root: str, rel: str) -> bytes | None:
    """The bytes of ``rel`` under ``real_root``, read only if the file opened is inside the tree.

    The last component is opened with O_NOFOLLOW (a link put there since listing is refused) and
    the file actually opened is checked afterwards, via /proc/self/fd, to lie inside the real root:
    a parent directory replaced by a link to elsewhere between listing and reading is caught too.
    Returns None for what is no longer a regular file (a FIFO swapped in must not block the scan).
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(os.path.join(real_root, rel), flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutsideTree(exc.errno, "a symbolic link, not followed") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        if not inside(real_root, _opened_path(fd, real_root, rel, st)):
            raise OutsideTree(errno.EXDEV, "leads outside the tree, not followed")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(MAX_FILE_BYTES + 1)
    finally:
        os.close(fd)


def _opened_path(fd: int, real_root: str, rel: str, st: os.stat_result) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:  # no /proc: resolve the name and check it is the very file opened
        real = os.path.realpath(os.path.join(real_root, rel))
        try:
            again = os.stat(real)
        except OSError:
            return ""
        return real if (again.st_dev, again.st_ino) == (st.st_dev, st.st_ino) else ""


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
