"""A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (test helper).

Chromium reads NUL-terminated JSON commands from fd 3 and writes NUL-terminated JSON messages to
fd 4. No websocket, no port, nothing listening: the browser talks only to this process.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, exe: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="nhiscan-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def remap() -> None:  # the child's fd 3 reads our commands, fd 4 carries its replies
            read_end, write_end = os.dup(to_child_r), os.dup(from_child_w)  # out of the way of 3 and 4
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.proc = subprocess.Popen(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                f"--user-data-dir={self.profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=remap,
            pass_fds=(3, 4),  # kept open after remap(); subprocess closes the rest
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read(timeout=30)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for ev in self.events:
            if ev.get("method") == method:
                return ev
        while True:
            ev = self._read(timeout=max(0.1, deadline - time.monotonic()))
            self.events.append(ev)
            if ev.get("method") == method:
                return ev

    def drain(self, seconds: float) -> None:
        """Collect events for a while (late console messages, late requests)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.events.append(self._read(timeout=deadline - time.monotonic()))
            except TimeoutError:
                return

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from the browser")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_child, 65536)
            if not chunk:
                raise RuntimeError("browser closed the DevTools pipe")
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        result: dict[str, Any] = json.loads(raw)
        return result

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)


def started(exe: str, attempts: int = 3) -> tuple[Browser, str]:
    """A browser that answered its first command, and the id of the blank tab it opened.

    On a loaded machine a headless Chromium now and then exits while starting (the pipe breaks
    before any reply); the report is not what failed then, so a fresh browser is started, up to
    ``attempts`` times in all."""
    for attempt in range(attempts):
        browser = Browser(exe)
        try:
            return browser, browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        except (BrokenPipeError, RuntimeError, TimeoutError):
            browser.close()
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def load_page(exe: str, page: Path, script: str) -> tuple[Any, list[dict[str, Any]]]:
    """Open ``page``, wait for load, evaluate ``script`` (an expression returning JSON-able data).

    Returns the script's value and every DevTools event seen (console, exceptions, log, network).
    """
    browser, target = started(exe)
    try:
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired")
        browser.drain(0.5)
        value = browser.send(
            "Runtime.evaluate", {"expression": script, "returnByValue": True}, session=session
        )
        if "exceptionDetails" in value:
            raise RuntimeError(f"script failed: {value['exceptionDetails']}")
        browser.drain(0.3)
        return value["result"].get("value"), browser.events
    finally:
        browser.close()


@contextlib.contextmanager
def open_page(exe: str, page: Path, *, width: int = 1280, height: int = 800, media: str = "") -> Any:
    """A browser showing ``page`` in a ``width`` x ``height`` viewport (CSS media ``media`` when
    given, e.g. "print"); yields ``(browser, session)`` for further commands."""
    browser, target = started(exe)
    try:
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        browser.send("Page.enable", session=session)
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        if media:
            browser.send("Emulation.setEmulatedMedia", {"media": media}, session=session)
        browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired")
        yield browser, session
    finally:
        browser.close()


def evaluate(browser: Browser, session: str, script: str) -> Any:
    value = browser.send("Runtime.evaluate", {"expression": script, "returnByValue": True}, session=session)
    if "exceptionDetails" in value:
        raise RuntimeError(f"script failed: {value['exceptionDetails']}")
    return value["result"].get("value")


def print_to_pdf(exe: str, page: Path, pdf: Path) -> None:
    """Chromium's own command-line printing (``--headless --print-to-pdf``), as a user would."""
    profile = tempfile.mkdtemp(prefix="nhiscan-chromium-")
    try:
        subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={pdf}",
                page.resolve().as_uri(),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=True,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
