"""The HTML report of the README quick start as audit evidence: when and by what it was made, what
was scanned (with input hashes and commits), an executive summary first, named controls, and a
print that fits the page. The browser tests drive headless Chromium (skipped when absent); the PDF
text checks need poppler-utils' pdftotext/pdfinfo (skipped when absent; .ci/run installs both)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from nhiscan import __version__
from tests.conftest import ROOT, run_cli
from tests.e2e.test_fix_first import quickstart_args
from tests.report.cdp import evaluate, find_browser, open_page, print_to_pdf

BROWSER = find_browser()
needs_browser = pytest.mark.skipif(
    BROWSER is None, reason="chromium is not installed (apt-get install chromium; .ci/run installs it)"
)
PDFTOTEXT, PDFINFO = shutil.which("pdftotext"), shutil.which("pdfinfo")
needs_poppler = pytest.mark.skipif(
    PDFTOTEXT is None or PDFINFO is None,
    reason="pdftotext/pdfinfo are not installed (apt-get install poppler-utils; .ci/run installs it)",
)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], datetime]:
    out = tmp_path_factory.mktemp("html")
    before = datetime.now(timezone.utc).replace(microsecond=0)
    res = run_cli(
        "scan", *quickstart_args(), "--format", "json", "--output", str(out / "scan.json"), cwd=ROOT
    )
    assert res.code == 0, res.stderr
    res = run_cli("report", str(out / "scan.json"), "--format", "html", "--output", str(out / "report.html"))
    assert res.code == 0, res.stderr
    data = json.loads((out / "scan.json").read_text(encoding="utf-8"))
    return out / "report.html", data, before


def test_generation_time_and_version(scanned: tuple[Path, dict[str, Any], datetime]) -> None:
    page, _, before = scanned
    html = page.read_text(encoding="utf-8")
    stamp = re.search(r'id="generated">Generated <time datetime="([^"]+)">', html)
    assert stamp, "no generation time"
    made = datetime.fromisoformat(stamp.group(1).replace("Z", "+00:00"))
    assert before <= made <= datetime.now(timezone.utc) + timedelta(seconds=1)  # wall clock, not --as-of
    assert f"by nhiscan {__version__}" in html and "data as of 2026-11-01" in html


def test_scope_names_every_source_with_hashes_and_commits(
    scanned: tuple[Path, dict[str, Any], datetime],
) -> None:
    page, data, _ = scanned
    html = page.read_text(encoding="utf-8")
    scope = html.split('<section id="scope">', 1)[1].split("</section>", 1)[0]
    for expected in (
        "AWS account",
        "111122223333",
        "GCP project",
        "acme-prod",
        "Azure tenant",
        "Kubernetes cluster",
        "(cluster unnamed)",
        "acme-web",
        "acme-infra",
    ):
        assert expected in scope, expected
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:  # the fixtures are scanned inside this checkout
        assert f"commit <code>{head.stdout.strip()}</code>" in scope
    inputs = html.split('<table id="inputs">', 1)[1].split("</table>", 1)[0]
    exports = [s for s in data["sources"] if s["kind"] != "repository"]
    assert len(exports) == 21  # with the CloudTrail, diagnostic-settings and EKS cluster exports
    for src in exports:
        digest = hashlib.sha256((ROOT / src["path"]).read_bytes()).hexdigest()
        assert src["sha256"] == digest
        assert f'<code class="hash">sha256:{digest}</code>' in inputs, src["path"]


def test_summary_first_then_findings_then_inventory(scanned: tuple[Path, dict[str, Any], datetime]) -> None:
    page, data, _ = scanned
    html = page.read_text(encoding="utf-8")
    order = [html.index(f'<section id="{s}"') for s in ("scope", "summary", "findings-section", "identities")]
    assert order == sorted(order)
    summary = html.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    assert "NHI2:2025</code></td><td>Secret Leakage" in summary
    assert "Top identities by risk" in summary and "ci-deploy" in summary
    nhis = [i for i in data["identities"] if i["nonhuman"]]
    static = [
        i
        for i in nhis
        if any(
            c["active"]
            and c.get("attributes", {}).get("user_managed", True) is not False
            and (not c.get("expires") or c["expires"] >= data["as_of"])
            for c in i["credentials"]
        )
    ]
    assert f"of NHIs on static credentials ({len(static)} of {len(nhis)})" in summary
    for provider in ("AWS", "GCP", "Azure", "Kubernetes"):
        assert f"<td>{provider}</td>" in summary
    # identities with score 0 are collapsed after the others
    quiet = html.split('id="quiet-identities"', 1)
    zero = sum(1 for i in data["identities"] if not i.get("risk_score"))
    assert len(quiet) == 2 and f"{zero} identities with no findings" in quiet[1][:200]


def test_controls_and_owasp_risks_are_named(scanned: tuple[Path, dict[str, Any], datetime]) -> None:
    html = scanned[0].read_text(encoding="utf-8")
    assert "Identities and credentials for authorized users, services, and hardware are managed" in html
    assert re.search(r"<code>PR\.AA-05</code></td><td>Access permissions, entitlements", html)
    assert (
        '<span class="tag owasp" title="Secret Leakage">NHI2:2025</span> <span class="small">Secret Leakage'
        in html
    )


def test_arns_break_at_their_separators(scanned: tuple[Path, dict[str, Any], datetime]) -> None:
    html = scanned[0].read_text(encoding="utf-8")
    assert "arn:<wbr>aws:<wbr>iam:<wbr>:<wbr>111122223333:<wbr>user/<wbr>service/<wbr>ci-deploy" in html
    css = html.split("<style>", 1)[1].split("</style>", 1)[0]
    anywhere = [rule for rule in re.findall(r"[^{}]+\{[^{}]*overflow-wrap:anywhere", css)]
    assert anywhere and all(
        "@media print" in r or "td.id" in r or "hash" in r or "th,td" in r for r in anywhere
    )


@needs_browser
def test_first_screen_shows_time_scope_and_executive_summary(
    scanned: tuple[Path, dict[str, Any], datetime], tmp_path: Path
) -> None:
    assert BROWSER is not None
    with open_page(BROWSER, scanned[0], width=1280, height=800) as (browser, session):
        shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
        boxes = evaluate(
            browser,
            session,
            """(() => Object.fromEntries(['generated', 'scope', 'summary', 'exec-owasp', 'exec-providers',
                 'exec-top', 'n-static', 'findings-section'].map(id => {
                   const b = document.getElementById(id).getBoundingClientRect();
                   return [id, {top: b.top, bottom: b.bottom, left: b.left, right: b.right}]; })))()""",
        )
    png = base64.b64decode(shot["data"])
    (tmp_path / "first-screen.png").write_bytes(png)
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    for part in ("generated", "scope", "summary", "exec-owasp", "exec-providers", "exec-top", "n-static"):
        box = boxes[part]
        assert box["top"] >= 0 and box["bottom"] <= 800 and box["right"] <= 1280, (part, box)
    assert boxes["findings-section"]["top"] < 800  # the findings start on the first screen too


@needs_browser
def test_print_media_hides_filters_and_no_table_is_wider_than_the_page(
    scanned: tuple[Path, dict[str, Any], datetime],
) -> None:
    assert BROWSER is not None
    # A4 less 12 mm margins at 96 px/inch: 186 mm = 703 px
    with open_page(BROWSER, scanned[0], width=703, height=1000, media="print") as (browser, session):
        found = evaluate(
            browser,
            session,
            """(() => ({
                filters: getComputedStyle(document.querySelector('.filters')).display,
                tables: Array.from(document.querySelectorAll('table')).map(t => ({
                  id: t.id || t.className, scroll: t.scrollWidth, room: t.parentElement.clientWidth,
                  page: document.documentElement.clientWidth}))
            }))()""",
        )
    assert found["filters"] == "none"
    assert len(found["tables"]) > 5
    wide = [t for t in found["tables"] if t["scroll"] > t["room"] or t["scroll"] > t["page"]]
    assert wide == []


@needs_browser
@needs_poppler
def test_pdf_print_has_every_rule_and_fits_the_page(
    scanned: tuple[Path, dict[str, Any], datetime], tmp_path: Path
) -> None:
    assert BROWSER is not None and PDFTOTEXT is not None and PDFINFO is not None
    page, data, _ = scanned
    pdf = tmp_path / "report.pdf"
    print_to_pdf(BROWSER, page, pdf)
    info = subprocess.run([PDFINFO, str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    width = float(re.search(r"^Page size:\s+([\d.]+) x", info, re.M).group(1))  # type: ignore[union-attr]
    assert 2 <= pages <= 40
    raw = subprocess.run([PDFTOTEXT, "-raw", str(pdf), "-"], capture_output=True, text=True, check=True)
    text = re.sub(r"-\s*\n\s*", "-", raw.stdout)  # a rule id may break after a hyphen at a line end
    for rule_id in {f["rule_id"] for f in data["findings"]}:
        assert rule_id in text, rule_id
    assert "Executive summary" in text and "Scope: what was scanned" in text
    assert "Search rule, identity" not in raw.stdout  # no filter controls in print
    # nothing drawn past the right edge of any page
    boxes = subprocess.run([PDFTOTEXT, "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True)
    right = max(float(x) for x in re.findall(r'xMax="([\d.]+)"', boxes.stdout))
    assert right <= width
