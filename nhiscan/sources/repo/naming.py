"""A repository's stable name: what finding fingerprints rest on instead of the path it was scanned at.

A developer scans ``~/src/acme-web``, CI scans ``/home/runner/work/acme-web/acme-web`` or a Jenkins
workspace named after the job: the paths differ, the repository does not. The name is

1. the last component of the ``origin`` remote's URL (``git@github.com:acme/acme-web.git`` and
   ``https://github.com/acme/acme-web`` both give ``acme-web``; a fork keeps the name too);
2. else the name of the git work tree's top-level directory;
3. else (not in git) the name of the directory scanned (of the file's directory, for a file);

followed by the path below the work tree's top level when a subdirectory is scanned, so that two
subdirectories of one repository stay apart. When two paths of one scan would get the same name
(two checkouts of one repository, two organisations' ``api``), each of them is named by the path
as given instead: identical problems in different places stay different findings.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from nhiscan.sources.repo.gitsafe import git_argv, git_env
from nhiscan.sources.repo.walker import git_toplevel

_URL_TAIL = re.compile(r"([^/:\\]+?)(?:\.git)?/*$")


def origin_url(top: Path) -> str | None:
    """The ``origin`` remote's URL of the checkout at ``top`` (git reads config only: no hook runs)."""
    try:
        out = subprocess.run(
            git_argv(top, "config", "--get", "remote.origin.url"),
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            env=git_env(),
        )
    except OSError:
        return None
    url = out.stdout.strip()
    return url if out.returncode == 0 and url else None


def _git_remote(top: Path) -> str | None:
    url = origin_url(top)
    m = _URL_TAIL.search(url) if url else None
    return m.group(1) if m else None


def repository_name(arg: str) -> str:
    """The stable name of the repository at ``arg`` (see the module docstring)."""
    path = Path(arg)
    directory = path if path.is_dir() else path.parent
    real = Path(os.path.realpath(directory))
    top = git_toplevel(real) if os.path.exists(directory) else None
    if top is None:
        return real.name or str(real)
    top = Path(os.path.realpath(top))
    name = _git_remote(top) or top.name or str(top)
    try:
        below = real.relative_to(top).as_posix()
    except ValueError:
        below = "."
    return name if below in ("", ".") else f"{name}/{below}"


def repository_names(args: Sequence[str]) -> dict[str, str]:
    """arg -> stable name for every PATH of one scan, a name shared by two distinct paths replaced
    by the paths as given."""
    names = {
        arg: repository_name(arg) for arg in args if os.path.exists(arg)
    }  # False, not an error, where it cannot be searched
    by_name: dict[str, set[str]] = {}
    for arg, name in names.items():
        by_name.setdefault(name, set()).add(os.path.realpath(arg))
    return {arg: (arg if len(by_name[name]) > 1 else name) for arg, name in names.items()}
