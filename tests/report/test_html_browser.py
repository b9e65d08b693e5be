"""The HTML report in a real headless Chromium, driven over the DevTools protocol (pipe transport).

Checks: the page loads with no console message of level error/warning, no uncaught exception, no
browser log error (CSP violations land there) and no network request other than the report file
itself; the filters' JS-computed counts are right. A negative control proves the detector sees an
external request and a console error when a page has them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, run_cli
from tests.report.cdp import find_browser, load_page

BROWSER = find_browser()
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="chromium is not installed (apt-get install chromium; .ci/run installs it)"
)
SAVED = FIXTURES / "reports" / "scan-result.json"

PROBE = """(() => {
  const shown = () => Number(document.getElementById('shown').dataset.count);
  const set = (id, v) => { const el = document.getElementById(id); el.value = v;
                            el.dispatchEvent(new Event('change')); };
  const out = {initial: shown(), rows: document.querySelectorAll('#findings tbody tr.finding').length};
  set('f-severity', 'high'); out.high = shown(); set('f-severity', '');
  set('f-provider', 'gcp'); out.gcp = shown(); set('f-provider', '');
  set('f-owasp', 'NHI5:2025'); out.nhi5 = shown(); set('f-owasp', '');
  const q = document.getElementById('q'); q.value = 'CI-DEPLOY'; q.dispatchEvent(new Event('input'));
  out.search = shown(); q.value = ''; q.dispatchEvent(new Event('input'));
  const w = document.getElementById('f-waived'); w.checked = false; w.dispatchEvent(new Event('change'));
  out.unwaived = shown();
  out.text = document.getElementById('shown').textContent;
  out.identities = document.querySelectorAll('details.identity').length;
  out.errors = document.querySelectorAll('#errors tr.error').length;
  out.critical = document.getElementById('n-critical').textContent;
  return out;
})()"""


def problems(events: list[dict[str, Any]], page: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"console": [], "exceptions": [], "log": [], "requests": []}
    own = page.resolve().as_uri()
    for ev in events:
        method, params = ev.get("method"), ev.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
            out["console"].append(str(params.get("args")))
        elif method == "Runtime.exceptionThrown":
            out["exceptions"].append(str(params.get("exceptionDetails")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
            out["log"].append(str(params["entry"].get("text")))
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if url != own:
                out["requests"].append(url)
    return out


def _html(tmp_path: Path) -> Path:
    page = tmp_path / "report.html"
    res = run_cli("report", str(SAVED), "--format", "html", "--output", str(page))
    assert res.code == 0, res.stderr
    return page


def test_html_report_in_chromium_has_no_errors_no_requests_and_working_filters(tmp_path: Path) -> None:
    assert BROWSER is not None
    page = _html(tmp_path)
    value, events = load_page(BROWSER, page, PROBE)
    assert problems(events, page) == {"console": [], "exceptions": [], "log": [], "requests": []}
    # exactly one request: the report file itself
    loads = [e for e in events if e.get("method") == "Network.requestWillBeSent"]
    assert len(loads) == 1
    assert value["rows"] == 14 and value["initial"] == 14
    assert value["high"] == 6  # 5 active + 1 waived high finding
    assert value["gcp"] == 3
    assert value["nhi5"] == 3
    assert value["search"] == 4  # findings naming ci-deploy, case-insensitive
    assert value["unwaived"] == 13
    assert value["text"] == "13 of 14 findings shown"
    assert value["identities"] == 7 and value["errors"] == 1 and value["critical"] == "2"


def test_detector_sees_requests_and_console_errors(tmp_path: Path) -> None:
    """Negative control: the same checks do fail on a page that calls out and logs an error."""
    assert BROWSER is not None
    page = _html(tmp_path)
    text = page.read_text(encoding="utf-8")
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text)
    text = text.replace(
        "</body>",
        '<img src="http://127.0.0.1:9/pixel.png" alt=""><script>console.error("boom")</script></body>',
    )
    bad = tmp_path / "bad.html"
    bad.write_text(text, encoding="utf-8")
    _, events = load_page(BROWSER, bad, "1")
    found = problems(events, bad)
    assert any("127.0.0.1:9" in u for u in found["requests"])
    assert any("boom" in c for c in found["console"])


def test_csp_blocks_injected_markup(tmp_path: Path) -> None:
    """The report's CSP allows only its own script: an injected inline script does not run."""
    assert BROWSER is not None
    page = _html(tmp_path)
    text = page.read_text(encoding="utf-8").replace(
        "</body>", "<script>document.title = 'pwned'</script></body>"
    )
    bad = tmp_path / "injected.html"
    bad.write_text(text, encoding="utf-8")
    title, events = load_page(BROWSER, bad, "document.title")
    assert title != "pwned"
    assert problems(events, bad)["log"] or problems(events, bad)["console"]  # CSP violation reported
