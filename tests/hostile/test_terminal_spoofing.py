"""Spoofing: identity names chosen by an attacker (an Azure display name is set by whoever registers
a multi-tenant app; a Kubernetes service account or IAM user name by whoever can create one) must not
drive the reader's terminal, reorder or hide text, inject console markup, Markdown or HTML, or start
a spreadsheet formula. Every human-readable view shows them visibly escaped and still readable; the
JSON result keeps them exactly as read.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import select
import subprocess
import time
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AS_OF, FIXTURES, nhiscan_exe, run_cli
from tests.hostile.harness import HostileResult, hostile_scan

TIMEOUT = 90

# name -> (payload, how every human-readable view must show it)
PAYLOADS: dict[str, tuple[str, str]] = {
    "clear-screen": ("ci\x1b[2J\x1b[Hall clear", "ci\\x1b[2J\\x1b[Hall clear"),
    "osc8-link": (
        "ci\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07",
        "ci\\x1b]8;;https://evil.example/\x5cx07click\\x1b]8;;\\x07",
    ),
    "dcs-and-c1": ("ci\x1bP+q\x1b\\dcs\x9b2J\x85", "ci\\x1bP+q\\x1b\\dcs\\x9b2J\\x85"),
    "rich-markup": (
        "ci[link=https://evil.example]click[/link][/]",
        "ci[link=https://evil.example]click[/link][/]",
    ),
    "bidi": (
        "deploy\u202egnp.exe\u2066x\u2069\u200b\u00ad",
        "deploy\\u202egnp.exe\\u2066x\\u2069\\u200b\\xad",
    ),
    "formula": ('=HYPERLINK("https://evil.example","x")', '=HYPERLINK("https://evil.example","x")'),
    "markdown": (
        "ci![x](https://evil.example/p.png)<img src=x>|a\nb\\|c",  # a backslash before a pipe
        "ci![x](https://evil.example/p.png)<img src=x>|a\\nb\\|c",
    ),
}
RAW = {k: v[0] for k, v in PAYLOADS.items()}
SHOWN = {k: v[1] for k, v in PAYLOADS.items()}
# The Azure record whose bad shape is reported on stderr, by its (hostile) display name.
BAD_RECORD_NAME = RAW["clear-screen"] + RAW["bidi"]
BAD_RECORD_SHOWN = SHOWN["clear-screen"] + SHOWN["bidi"]

RULES = FIXTURES / "rules"
ACCOUNT = "210987654321"


def _gaad() -> dict[str, Any]:
    gaad = json.loads((RULES / "aws-admin-equivalent" / "fires" / "gaad.json").read_text("utf-8"))
    template = gaad["UserDetailList"][0]
    gaad["UserDetailList"] = []
    for n, name in enumerate(RAW.values()):
        user = copy.deepcopy(template)
        user.update(
            UserName=name, UserId=f"AIDA{n:017d}", Arn=f"arn:aws:iam::{ACCOUNT}:user/service/{name}", Tags=[]
        )
        gaad["UserDetailList"].append(user)
    return gaad


def _sp_list() -> list[dict[str, Any]]:
    template = json.loads((RULES / "azure-secret-long-lived" / "fires" / "sp-list.json").read_text("utf-8"))[
        0
    ]
    out = []
    for kind, name in RAW.items():
        sp = copy.deepcopy(template)
        sp.update(
            displayName=name, appDisplayName=name, id=str(uuid.uuid4()), appId=str(uuid.uuid4()), tags=[]
        )
        key_id = name if kind == "formula" else str(uuid.uuid4())  # a credential id is a CSV cell of its own
        sp["passwordCredentials"] = [
            {
                "keyId": key_id,
                "displayName": name,
                "hint": "Qx7",
                "startDateTime": "2021-01-01T00:00:00Z",
                "endDateTime": "2099-01-01T00:00:00Z",
            }
        ]
        out.append(sp)
    bad = copy.deepcopy(template)
    bad.update(displayName=BAD_RECORD_NAME, id=str(uuid.uuid4()), passwordCredentials="not a list")
    out.append(bad)
    return out


def _kubectl() -> dict[str, Any]:
    doc = json.loads((RULES / "k8s-sa-cluster-admin" / "fires" / "kubectl.json").read_text("utf-8"))
    sa_template, cluster_admin, binding_template = doc["items"]
    items = [cluster_admin]
    for n, name in enumerate(RAW.values()):
        sa = copy.deepcopy(sa_template)
        sa["metadata"].update(name=name, uid=str(uuid.uuid4()))
        sa.pop("secrets", None)
        binding = copy.deepcopy(binding_template)
        binding["metadata"].update(name=f"bind-{n}", uid=str(uuid.uuid4()))
        binding["subjects"] = [{"kind": "ServiceAccount", "name": name, "namespace": "kube-system"}]
        items += [sa, binding]
    doc["items"] = items
    return doc


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spoof")
    (root / "gaad.json").write_text(json.dumps(_gaad()), encoding="utf-8")
    (root / "sp-list.json").write_text(json.dumps(_sp_list()), encoding="utf-8")
    (root / "kubectl.json").write_text(json.dumps(_kubectl()), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def scanned(exports: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[HostileResult, Path]:
    tmp = tmp_path_factory.mktemp("spoof-json")
    res = hostile_scan(tmp, "--input", str(exports), "--fail-on", "none", expect_code=2, timeout=TIMEOUT)
    return res, tmp / "hostile-out" / "result.json"


def _hidden_or_control(text: str, allowed: str = "\n") -> list[str]:
    """Characters a terminal or viewer acts on or hides: controls (C0, C1, DEL), format characters
    (bidi overrides and isolates, zero-width), line/paragraph separators, private use, unassigned."""
    bad = {
        c
        for c in text
        if unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp", "Co", "Cn"} and c not in allowed
    }
    return sorted(f"U+{ord(c):04X}" for c in bad)


def _squash(text: str) -> str:
    """Text without table borders and line breaks, so a folded cell reads as one string again."""
    return re.sub(r"[\s│┃]+", "", text)


def _assert_readable(text: str, names: dict[str, str]) -> None:
    flat = _squash(text)
    for kind, shown in names.items():
        assert _squash(shown) in flat, f"{kind}: {shown!r} not shown"


def test_json_keeps_values_exactly_as_read(scanned: tuple[HostileResult, Path]) -> None:
    res, _ = scanned
    names = {i["name"] for i in res.result["identities"]}
    for kind, raw in RAW.items():
        assert raw in names, kind  # structured output is data: nothing altered
    assert {f["rule_id"] for f in res.findings()} >= {
        "aws-admin-equivalent",
        "k8s-sa-cluster-admin",
        "azure-secret-long-lived",
    }


def test_stderr_error_line_shows_the_record_name_escaped(scanned: tuple[HostileResult, Path]) -> None:
    res, _ = scanned
    assert _hidden_or_control(res.cli.stderr) == []
    (line,) = res.errors
    assert "sp-list.json" in line and BAD_RECORD_SHOWN in line


def test_table_view_through_a_pipe(exports: Path) -> None:
    res = run_cli("scan", "--input", str(exports), "--as-of", AS_OF, "--fail-on", "none", timeout=TIMEOUT)
    assert res.code == 2 and "Traceback" not in res.stderr, res.stderr
    assert _hidden_or_control(res.stdout) == [] and _hidden_or_control(res.stderr) == []
    _assert_readable(res.stdout, SHOWN)  # rich markup printed literally, never applied
    assert _squash(BAD_RECORD_SHOWN) in _squash(res.stdout)  # the "inputs that could not be scanned" table


def _run_on_a_pty(*args: str, timeout: float) -> tuple[int, str, str]:
    """Run nhiscan with stdout on a pseudo-terminal (rich's terminal path: colour, styles, links)."""
    import fcntl
    import pty
    import struct
    import termios

    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(FORCE_COLOR="1", TERM="xterm-256color", COLUMNS="240", LINES="60")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 240, 0, 0))
    proc = subprocess.Popen(
        [nhiscan_exe(), *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=env
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "nhiscan did not finish in time on a terminal"
            ready, _, _ = select.select([master], [], [], min(left, 1.0))
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        assert proc.stderr is not None
        err = proc.stderr.read().decode("utf-8", "replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, b"".join(chunks).decode("utf-8", "replace"), err


SGR = re.compile(r"\x1b\[[0-9;]*m")  # colours and styles: the only escape sequences nhiscan emits itself


def test_table_view_on_a_terminal_with_colour(exports: Path) -> None:
    code, out, err = _run_on_a_pty(
        "scan", "--input", str(exports), "--as-of", AS_OF, "--fail-on", "none", timeout=TIMEOUT
    )
    assert code == 2 and "Traceback" not in err, err
    assert SGR.search(out), "not rendered as a terminal: no colour"
    assert "\x1b]" not in out, "an OSC sequence (hyperlink, title) reached the terminal"
    plain = SGR.sub("", out)
    assert _hidden_or_control(plain, allowed="\r\n") == []
    assert _hidden_or_control(err) == []
    _assert_readable(plain, SHOWN)


def _report(result: Path, fmt: str) -> str:
    res = run_cli("report", str(result), "--format", fmt, timeout=TIMEOUT)
    assert res.code == 0 and res.stderr == "", res.stderr
    return res.stdout


def _bare_pipes(line: str) -> int:
    """Cell separators GitHub sees: pipes not escaped by a backslash (an escape covers one character)."""
    n, i = 0, 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        n += line[i] == "|"
        i += 1
    return n


def test_markdown_cannot_inject_links_images_html_or_break_tables(
    scanned: tuple[HostileResult, Path],
) -> None:
    md = _report(scanned[1], "markdown")
    assert _hidden_or_control(md) == []
    prose = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", md)  # outside code spans, where text is inert
    assert "<" not in prose, "raw HTML can form"
    assert not re.search(r"(?<!\\)\]\(", prose), "a link or image can form"
    assert "ci!\\[x\\](https://evil.example/p.png)&lt;img src=x&gt;\\|a\\\\nb\\\\\\|c" in prose  # shown
    lines = md.splitlines()
    rows = [ln for ln in lines if ln.startswith("|")]
    tables: list[list[str]] = []
    for ln, prev in zip(lines, ["", *lines[:-1]], strict=True):
        if ln.startswith("|"):
            if not prev.startswith("|"):
                tables.append([])
            tables[-1].append(ln)
    assert len(rows) > 30 and tables
    for table in tables:
        assert len({_bare_pipes(row) for row in table}) == 1, table[0]
    for kind, shown in SHOWN.items():  # the identity id column: a code span, the name unchanged
        if kind == "markdown":
            continue  # a backslash before a pipe cannot sit in a code span: a plain cell, checked above
        assert f"`arn:aws:iam::{ACCOUNT}:user/service/{shown.replace('|', chr(92) + '|')}`" in md, kind


FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def test_csv_cells_cannot_start_a_formula_or_hide_text(scanned: tuple[HostileResult, Path]) -> None:
    text = _report(scanned[1], "csv")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    assert len(body) > 30
    cells = [c for row in body for c in row]
    for c in cells:
        assert not c.lstrip(" ").startswith(FORMULA_START), c
        assert _hidden_or_control(c, allowed="") == [], c
    assert "'" + RAW["formula"] in cells  # the credential id: neutralised, still readable
    line = header.index("line")
    assert all(row[line] == "" or row[line].isdigit() for row in body)
    messages = " ".join(row[header.index("message")] for row in body)
    for kind in ("clear-screen", "bidi", "osc8-link", "dcs-and-c1"):
        assert SHOWN[kind] in messages, kind


def test_html_shows_hidden_characters_escaped(scanned: tuple[HostileResult, Path]) -> None:
    page = _report(scanned[1], "html")
    assert _hidden_or_control(page) == []
    assert "<img src=x>" not in page and "[link=https://evil.example]" in page
    assert SHOWN["bidi"] in page
