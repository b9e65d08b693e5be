"""Errors that carry a message meant for the user. The CLI prints it on one line and exits 2."""

from __future__ import annotations


class NhiscanError(Exception):
    """A usage, input or credential problem that stops the whole command."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(NhiscanError):
    """One input (file, account, project) could not be read. Other inputs still get scanned."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.detail = message
