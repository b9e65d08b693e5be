"""Reading the bytes of one ``--input`` without ever waiting forever on it.

A regular file is read as it is. A pipe or FIFO (``--input <(cmd)``, ``--input /dev/stdin`` with
an export piped in, a named FIFO) is read as its data arrives, with a deadline: when nothing arrives
(neither data nor its end) for ``NHISCAN_INPUT_TIMEOUT`` seconds (default 5) -- a FIFO that no
process opens for writing, a writer that stalls -- that input fails with one error naming it, and
the scan goes on with the others. What comes through a pipe is capped (an endless writer is not an
export). Sockets, terminals and other device files are not exports: refused without being opened
(opening a device can have effects of its own).
"""

from __future__ import annotations

import os
import select
import stat
from pathlib import Path

from nhiscan.errors import InputError

TIMEOUT_ENV = "NHISCAN_INPUT_TIMEOUT"
DEFAULT_TIMEOUT = 5.0
MAX_STREAM_BYTES = 1024 * 1024 * 1024
_TERMINAL_MAJORS = frozenset({4, 5, *range(136, 144)})  # ttyN / console / pts


def input_timeout() -> float:
    """Seconds a pipe or FIFO input may stay silent (NHISCAN_INPUT_TIMEOUT; default 5)."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV, ""))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def read_input_bytes(path: str) -> bytes:
    """The content of an input file or stream, or InputError naming ``path``."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISREG(mode):
            return Path(path).read_bytes()
        if stat.S_ISFIFO(mode):
            return _read_stream(path, input_timeout())
        rdev = os.stat(path).st_rdev
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    if stat.S_ISCHR(mode) and os.major(rdev) in _TERMINAL_MAJORS:
        raise InputError(path, "is a terminal, not an export (pipe one in: --input /dev/stdin < FILE)")
    raise InputError(path, f"is {describe_mode(mode)}, not an export; not read")


def describe_mode(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "a device file" if stat.S_ISCHR(mode) else "not a regular file"


def _read_stream(path: str, timeout: float) -> bytes:
    # O_NONBLOCK: opening a FIFO that has no writer returns at once instead of waiting for one;
    # poll then waits for data or for the end, at most `timeout` seconds at a time.
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            raise InputError(path, "changed while being opened; not read")
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        chunks: list[bytes] = []
        total = 0
        while True:
            if not poller.poll(timeout * 1000):
                got = f" after {total} bytes" if total else ""
                raise InputError(
                    path,
                    f"nothing arrived for {timeout:g} s{got} (a pipe or FIFO no process writes to?); "
                    f"not read (set {TIMEOUT_ENV} to wait longer)",
                )
            try:
                chunk = os.read(fd, 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                return b"".join(chunks)
            total += len(chunk)
            if total > MAX_STREAM_BYTES:
                raise InputError(path, f"more than {MAX_STREAM_BYTES >> 20} MiB through a pipe; not read")
            chunks.append(chunk)
    finally:
        os.close(fd)
