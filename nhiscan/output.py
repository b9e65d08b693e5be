"""Writing what nhiscan produces: files replaced atomically, and never onto the scan's own inputs.

``write_file`` writes a report, inventory or baseline to a temporary file in the target's
directory, fsyncs it and renames it over the target, so a reader (or a crash, a full disk, a
signal) only ever sees the previous file or the complete new one. The temporary file never stays
behind: a write error removes it, and so does a signal ending nhiscan (``nhiscan.lifecycle``).
Only SIGKILL, which no process can handle, can leave one (``.NAME.XXXXXXXX.nhiscan-tmp``, hidden,
beside an intact previous report). The new file keeps
an existing file's permissions (and owner, where allowed), or gets the umask's for a new one. A
symbolic link is written through (the link stays, its target is replaced). What is not a regular
file (``--output /dev/null``, ``/dev/stdout``, a FIFO) is written to directly: there is nothing
to replace; so is a writable file in a directory where no temporary file may be created.

``clobbered_input`` says which input of a scan an ``--output`` would overwrite (compared by device
and inode, so symbolic and hard links count), so the CLI can refuse before scanning.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from nhiscan import lifecycle

if TYPE_CHECKING:
    from nhiscan.config import ScanConfig


def write_file(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` (UTF-8) atomically. OSError when that cannot be done."""
    write_pieces(path, (text,))


def write_pieces(path: Path, pieces: Iterable[str]) -> None:
    """Replace ``path`` atomically by the text ``pieces`` make up, written as they come: a large
    report is encoded record by record into the temporary file, never held whole in memory."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        existing: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        with open(target, "wb") as fh:  # a device or a FIFO: nothing to replace
            for piece in pieces:
                fh.write(piece.encode("utf-8"))
        return
    directory = target.parent
    directory.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = _temporary(directory, target.name)
    except PermissionError:
        if existing is None or not os.access(target, os.W_OK):
            raise
        with open(target, "wb") as fh:  # a writable file in a directory we may not write to
            for piece in pieces:
                fh.write(piece.encode("utf-8"))
        return
    try:
        _fill(fd, pieces, existing)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        lifecycle.discard_temporary(tmp)
        raise
    finally:
        os.close(fd)
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        lifecycle.discard_temporary(tmp)
    _fsync_dir(directory)


def _temporary(directory: Path, name: str) -> tuple[int, str]:
    """A new file in ``directory`` under a temporary name that a signal ending nhiscan removes
    (``lifecycle.add_temporary``)."""
    with lifecycle.deferred_signals():  # created and registered together, or not at all
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".nhiscan-tmp", dir=directory)
        lifecycle.add_temporary(tmp)
    return fd, tmp


# Write-behind: every WINDOW bytes, the file's pages written so far are handed to the kernel to
# write out and drop (posix_fadvise DONTNEED starts writeback of dirty pages and drops clean ones),
# so a report of several GB passes through the page cache a window or two at a time instead of
# evicting everything else from memory. Measured on a 2-core VM writing 3.4 GB: 1.1 s of kernel
# time against 2.9 to 13.7 s (the kernel reclaiming other memory for each new page), with no cost
# at 345 MB (benchmarks/README.md). A report smaller than a window is never advised about.
WINDOW = 64 << 20
_ADVISE = getattr(os, "posix_fadvise", None)


def _fill(fd: int, pieces: Iterable[str], existing: os.stat_result | None) -> None:
    _set_mode(fd, existing)
    written = 0
    mark = WINDOW
    for piece in pieces:
        view = memoryview(piece.encode("utf-8"))
        while view:
            n = os.write(fd, view)
            view = view[n:]
            written += n
        if written >= mark:
            mark = written + WINDOW
            _drop(fd, written)
    os.fsync(fd)
    if written >= WINDOW:
        _drop(fd, written)  # written out now: none of a large report stays behind in the cache


def _drop(fd: int, upto: int) -> None:
    if _ADVISE is not None:
        with contextlib.suppress(OSError):  # only advice: a file system may not take it
            _ADVISE(fd, 0, upto, os.POSIX_FADV_DONTNEED)


def _set_mode(fd: int, existing: os.stat_result | None) -> None:
    if existing is None:
        os.fchmod(fd, 0o666 & ~_umask())
        return
    os.fchmod(fd, stat.S_IMODE(existing.st_mode))
    with contextlib.suppress(OSError):  # another user's file: ours now, with its mode
        os.fchown(fd, existing.st_uid, existing.st_gid)


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would, for a moment, for every thread)
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- refusing to overwrite an input ---------------------------------------------------------------
def clobbered_input(
    output: Path,
    *,
    files: Iterable[tuple[str, str]] = (),
    input_dirs: Iterable[str] = (),
    scanned: Iterable[str] = (),
) -> str | None:
    """Which input writing ``output`` would overwrite, as the end of an error message, or None.

    ``files`` are (option, path) of input files (--input, --baseline, --config, --waivers);
    ``input_dirs`` the --input directories (their files, one level); ``scanned`` the repository
    PATHs. A report nhiscan wrote earlier inside a scanned PATH may be replaced (that is how a scan
    is re-run: `nhiscan scan . -o nhiscan.sarif`); any other file there may not. A new file is
    never an input.
    """
    try:
        out = os.stat(output)
    except OSError:
        return None
    if not stat.S_ISREG(out.st_mode):
        return None  # /dev/null, a FIFO: nothing is replaced
    key = (out.st_dev, out.st_ino)
    for option, path in files:
        if _key(path) == key:
            return f"is the {option} file {path}"
    for directory in input_dirs:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if _key(entry.path) == key:
                return f"is {entry.path}, in the --input directory {directory}"
    real_out = os.path.realpath(output)
    for root in scanned:
        if _key(root) == key:
            return f"is the scanned file {root}"
        real_root = os.path.realpath(root)
        inside = real_out.startswith(real_root.rstrip(os.sep) + os.sep)
        if not inside and out.st_nlink > 1 and os.path.isdir(root):
            inside = _has_inode(root, key)
        if inside and not _nhiscan_wrote(real_out):
            return f"is a file inside the scanned path {root}"
    return None


def clobbered_scan_input(output: Path, cfg: ScanConfig) -> str | None:
    """``clobbered_input`` for everything a scan reads: its inputs, PATHs, baseline, config, waivers."""
    from nhiscan.waivers import resolve_path

    files = [("--input", spec.path) for spec in cfg.inputs]
    if cfg.baseline:
        files.append(("--baseline", cfg.baseline))
    if cfg.settings.path:
        files.append(("--config", cfg.settings.path.removesuffix(" [tool.nhiscan]")))
    waivers = resolve_path(cfg.waivers, cfg.settings.waivers)
    if waivers:
        files.append(("--waivers", waivers))
    dirs = [spec.path for spec in cfg.inputs if os.path.isdir(spec.path)]
    return clobbered_input(output, files=files, input_dirs=dirs, scanned=cfg.paths)


def _key(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _has_inode(root: str, key: tuple[int, int]) -> bool:
    """Whether a hard link to the file ``key`` is under ``root`` (walked without following links)."""
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) == key:
                return True
    return False


def _nhiscan_wrote(path: str) -> bool:
    from nhiscan.sources.repo.own_outputs import nhiscan_output
    from nhiscan.sources.repo.walker import decode_text

    try:
        text = decode_text(Path(path).read_bytes())
    except OSError:
        return False
    return text is not None and nhiscan_output(text) is not None


# -- stdout ---------------------------------------------------------------------------------------
def write_stdout(text: str) -> None:
    """Write all of ``text`` to stdout. On failure (BrokenPipeError when the reader is gone,
    OSError such as ENOSPC) stdout is pointed at /dev/null first, so that Python's own flush at
    exit cannot fail again with a traceback, and the error is raised for the caller to report.

    The bytes go to the file descriptor in a loop: with PYTHONUNBUFFERED (common in containers and
    CI) ``sys.stdout.write`` makes one write(2) and silently drops what a pipe did not take."""
    write_stdout_pieces((text,))


def write_stdout_pieces(pieces: Iterable[str]) -> None:
    """``write_stdout`` for text that comes in pieces, each written as it comes."""
    import sys

    stream = sys.stdout
    try:
        stream.flush()
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test harness's buffer)
        fd = -1
    try:
        for piece in pieces:
            if fd < 0:
                stream.write(piece)
                continue
            data = memoryview(piece.encode(stream.encoding or "utf-8", stream.errors or "strict"))
            while data:
                data = data[os.write(fd, data) :]
        if fd < 0:
            stream.flush()
    except OSError:
        discard_stdout()
        raise


def discard_stdout() -> None:
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
