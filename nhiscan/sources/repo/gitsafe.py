"""Running git on a repository nhiscan did not make: nothing in it may run a program.

A scanned directory may come from anyone, ``.git/config`` included. Every git command nhiscan runs
goes through ``git_argv`` / ``git_env``, which turn off each way a repository's configuration can
make git start a program on a read-only command: the file-system monitor hook
(``core.fsmonitor``), hooks (``core.hooksPath`` pointed at an empty place), external diff and
textconv drivers (``diff.external``; ``--no-ext-diff --no-textconv`` on every diff), the pager
(``core.pager``, ``GIT_PAGER``), and the system configuration file (``GIT_CONFIG_NOSYSTEM``).
Optional locks are off too (``GIT_OPTIONAL_LOCKS=0``: a scan never rewrites the index), and git
never prompts (``GIT_TERMINAL_PROMPT=0``).

Which repositories git agrees to open is left to git itself (``safe.directory``): like the
work-tree listing (walker.py), nhiscan never widens it, so a repository owned by another user is
not read as one. ``dotgit_outside`` refuses a ``.git`` *file* (``gitdir: ...``) that sends git to a
repository outside the scanned tree.
"""

from __future__ import annotations

import os
from pathlib import Path

# `-c` settings given before the command: command-line configuration wins over the repository's.
SAFE_CONFIG: tuple[str, ...] = (
    "core.fsmonitor=false",
    f"core.hooksPath={os.devnull}",
    "core.pager=cat",
    "diff.external=",
    "core.untrackedCache=false",
    "gc.auto=0",
    "maintenance.auto=false",
    "protocol.allow=never",
)


def git_argv(root: Path | str, *args: str) -> list[str]:
    argv = ["git", "--no-pager"]
    for setting in SAFE_CONFIG:
        argv += ["-c", setting]
    return [*argv, "-C", str(root), *args]


def git_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEPT_ENV}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GIT_PAGER="cat",
        PAGER="cat",
        GIT_NO_REPLACE_OBJECTS="1",
    )
    env.update(extra)
    return env


# What a user's environment may still tell git (where their own global configuration is); the
# rest (GIT_DIR, GIT_WORK_TREE, GIT_EXTERNAL_DIFF, GIT_SSH, ...) would redirect or run something.
_KEPT_ENV = frozenset({"GIT_CONFIG_GLOBAL", "GIT_CEILING_DIRECTORIES"})


def dotgit_outside(top: Path) -> str | None:
    """The repository a ``.git`` file at the top of the work tree points to, when that is outside the
    tree (None when ``.git`` is a directory, or its target lies inside ``top``)."""
    dotgit = top / ".git"
    if dotgit.is_symlink():
        target = Path(os.path.realpath(dotgit))
    elif dotgit.is_file():
        try:
            with open(dotgit, "rb") as fh:
                first = fh.read(4096).split(b"\n", 1)[0].decode("utf-8", "surrogateescape").strip()
        except OSError:
            return None
        if not first.startswith("gitdir:"):
            return None
        target = Path(os.path.realpath(top / first[len("gitdir:") :].strip()))
    else:
        return None
    base = Path(os.path.realpath(top))
    return None if target == base or base in target.parents else str(target)
