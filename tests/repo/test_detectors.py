"""The detector catalogue (rules/detectors/*.yaml): validation, every inline example end to end,
checksums, precision on checksums and digests, and inline suppression markers."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from nhiscan.errors import NhiscanError
from nhiscan.inline_ignore import parse_ignore
from nhiscan.sources.repo.detectors import (
    CatalogueScanner,
    base62,
    github_checksum_ok,
    load_detectors,
    parse_detector,
)
from nhiscan.sources.repo.engine import ds_session
from nhiscan.sources.repo.secrets import to_secrets

DETECTORS = load_detectors()


def test_catalogue_breadth() -> None:
    assert len(DETECTORS) >= 150
    kinds = {d.category for d in DETECTORS}
    for needed in ("cloud-key", "vcs-token", "ci-token", "registry-token", "chat-token", "payment-key",
                   "observability-key", "ai-key", "secret-manager-token", "database-credential"):  # fmt: skip
        assert needed in kinds
    ids = {d.id for d in DETECTORS}
    for missed_before in ("vault-service-token", "vault-batch-token", "terraform-cloud-token", "doppler-service-token",
                          "dynatrace-token", "harness-pat", "heroku-api-key", "hubspot-private-app-token",
                          "mapbox-secret-token", "notion-token", "openshift-token", "plaid-access-token",
                          "sendgrid-api-key", "snyk-token", "twitter-bearer-token", "teams-webhook", "age-secret-key",
                          "cloudflare-origin-ca-key", "alibaba-access-key-id", "base64-jwt", "curl-basic-auth",
                          "nuget-config-password", "stripe-test-secret-key", "stripe-restricted-key",
                          "slack-workflow-webhook", "slack-trigger-webhook", "gcp-api-key", "url-password"):  # fmt: skip
        assert missed_before in ids


@pytest.fixture(scope="module")
def scanner():  # type: ignore[no-untyped-def]
    with ds_session() as s:
        yield s


@pytest.mark.parametrize("det", DETECTORS, ids=[d.id for d in DETECTORS])
def test_every_example_end_to_end(det, scanner) -> None:  # type: ignore[no-untyped-def]
    """Positive examples are reported by their detector; negative look-alikes are not reported by it."""
    for ex in det.examples:
        text = "# sample\n" + ex.render() + "\n"
        reported, _ = to_secrets(scanner.scan_text("sample.txt", text), text, "sample.txt")
        mine = [s for s in reported if s.attributes.get("catalogue_detector") == det.id]
        assert bool(mine) == ex.positive, (det.id, ex)
        for s in mine:
            assert ex.value not in s.redacted  # never the value in full
            assert s.attributes["kind"] == det.category and s.attributes["evidence"]


def test_github_checksum() -> None:
    body = "A" * 15 + "b" * 15
    token = "ghp_" + body + base62(zlib.crc32(body.encode()))
    assert github_checksum_ok(token)
    assert not github_checksum_ok(token[:-1] + ("0" if token[-1] != "0" else "1"))
    det = next(d for d in DETECTORS if d.id == "github-pat-token")
    assert [h.value for h in CatalogueScanner((det,)).scan(f"x = {token}\n")] == [token]
    assert CatalogueScanner((det,)).scan(f"x = {token[:-1]}Z\n") == [] or token.endswith("Z")


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            {
                "id": "x",
                "name": "x",
                "category": "nope",
                "severity": "high",
                "nhi": "x",
                "regex": "a",
                "prefixes": ["a"],
                "examples": [{"positive": "a"}, {"negative": "b"}],
            },
            "category",
        ),
        (
            {
                "id": "x",
                "name": "x",
                "category": "api-token",
                "severity": "high",
                "nhi": "x",
                "regex": "(",
                "prefixes": ["a"],
                "examples": [{"positive": "a"}, {"negative": "b"}],
            },
            "invalid regex",
        ),
        (
            {
                "id": "x",
                "name": "x",
                "category": "api-token",
                "severity": "high",
                "nhi": "x",
                "regex": "a",
                "prefixes": ["a"],
                "examples": [{"positive": "a"}],
            },
            "negative",
        ),
        (
            {
                "id": "x",
                "name": "x",
                "category": "api-token",
                "severity": "high",
                "nhi": "x",
                "regex": "a",
                "examples": [{"positive": "a"}, {"negative": "b"}],
            },
            "prefixes, keywords or a context",
        ),
        ({"id": "x", "bogus": 1}, "unknown key"),
    ],
)
def test_catalogue_validation(entry: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(NhiscanError, match=message):
        parse_detector(entry, "detectors.yaml detector 1")


def test_bad_catalogue_file_names_file(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("detectors:\n- id: Bad Id\n  name: x\n  category: api-token\n  severity: high\n"
                                     "  nhi: x\n  regex: a\n  prefixes: [a]\n  examples: [{positive: a}, {negative: b}]\n")  # fmt: skip
    with pytest.raises(NhiscanError, match=r"x\.yaml detector 1"):
        load_detectors(tmp_path)


def _reported(scanner, name: str, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    reported, _ = to_secrets(scanner.scan_text(name, text), text, name)
    return [s.type for s in reported]


def test_checksums_and_digests_are_not_secrets(scanner) -> None:  # type: ignore[no-untyped-def]
    sri = "sha512-" + "Zm9vYmFyYmF6cXV4" * 5 + "Ab9+/Q=="
    assert _reported(scanner, "package-lock.json", f'{{"x": {{"integrity": "{sri}"}}}}\n') == []
    assert (
        _reported(
            scanner,
            "go.sum",
            "github.com/a/b v1.0.0 h1:" + "q8Zx3vN2mB7kL4pR9tY6wE1uI0oP5aS3dF8gH2jK4lQ=" + "\n",
        )
        == []
    )
    digest = "f3b1c2d4e5a6978812345abcdef0123456789abcdef0123456789abcdef01234"
    assert _reported(scanner, "Dockerfile", f'FROM python@sha256:{digest}\nLABEL checksum="{digest}"\n') == []
    assert _reported(scanner, "conf.py", f'commit_sha = "{digest[:40]}"\n') == []
    assert (
        _reported(
            scanner,
            "index.html",
            f'<script integrity="sha384-{"Q2hlY2tzdW1TdGFuZGluZ0FzQVNlY3JldA" * 2}" src="a.js">\n',
        )
        == []
    )
    assert _reported(scanner, "doc.py", "# Masked proxy url, i.e. https://***:***@proxy.com\n") == []
    # a credential-like name is evidence: still reported
    assert _reported(scanner, "conf.py", 'api_secret = "q8Zx3vN2mB7kL4pR9tY6wE1uI0oP5aS3"\n')


def test_generic_findings_say_their_evidence(scanner) -> None:  # type: ignore[no-untyped-def]
    text = 'db_password = "Vq9!xr2Lm#pT4sW8"\n'
    reported, _ = to_secrets(scanner.scan_text("c.py", text), text, "c.py")
    assert reported and all(s.attributes.get("evidence") for s in reported)


@pytest.mark.parametrize(
    "line, rules, reason",
    [
        (
            "token = 'x'  # nhiscan:ignore[secret-api-token] rotated test key",
            ("secret-api-token",),
            "rotated test key",
        ),
        (
            "# nhiscan: ignore[gha-secrets-inherit, gha-permissions-write-all] reusable workflow",
            ("gha-secrets-inherit", "gha-permissions-write-all"),
            "reusable workflow",
        ),
        ("x = 1 // nhiscan:ignore fixture only", (), "fixture only"),
        ("<!-- nhiscan:ignore sample config -->", (), "sample config"),
        ("secret = 'abc'  # pragma: allowlist secret", (), "marked `pragma: allowlist secret`"),
        ("key: abc # gitleaks:allow", (), "marked `gitleaks:allow`"),
    ],
)
def test_parse_ignore(line: str, rules: tuple[str, ...], reason: str) -> None:
    ig = parse_ignore(line)
    assert ig is not None and ig.rules == rules and ig.reason == reason
    assert ig.covers("secret-api-token") == (not rules or "secret-api-token" in rules)


def test_parse_ignore_absent() -> None:
    assert parse_ignore("nhiscan_ignored = True") is None
    assert parse_ignore("password = 'x'  # ignore this") is None


def test_inline_ignore_is_reported_waived_through_cli(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    repo = tmp_path / "r"
    repo.mkdir()
    body = "Zq8xW2mN4bV6cX1zA3sDpL0k"
    (repo / "a.py").write_text(
        f'T = "glpat-{body[:20]}"  # nhiscan:ignore[secret-api-token] revoked, kept for the parser test\n'
        f'U = "hvs.{body * 4}"\n'
    )
    out = tmp_path / "r.json"
    run_cli("scan", str(repo), "-f", "json", "-o", str(out))
    import json

    findings = json.loads(out.read_text())["findings"]
    by_line = {f["location"]["line"]: f for f in findings if f["rule_id"] == "secret-api-token"}
    assert (
        by_line[1]["waived"] is True and by_line[1]["waiver"]["reason"] == "revoked, kept for the parser test"
    )
    assert by_line[2]["waived"] is False


@pytest.mark.parametrize(
    "text",
    [
        "EAAB" * 50_000 + "-",  # every prefix inside one run, and a failing boundary at its end
        "ghp_" * 50_000,
        "aaa8Q~" * 30_000,
        "://a:b" * 30_000,
        "curl -u " * 10_000,
        "datadog_api_key = " * 10_000 + "a" * 32,
        "sv=2020-01-01&" * 15_000,
        ("glc_" + "A" * 50 + "_") * 4_000,
    ],
    ids=["eaab", "ghp", "azure", "url", "curl", "context", "sas", "glc"],
)
def test_hostile_lines_cost_linear_time(text: str) -> None:
    import time

    scanner = CatalogueScanner()
    start = time.process_time()
    scanner.scan(text)
    small = time.process_time() - start
    start = time.process_time()
    scanner.scan(text * 4)
    big = time.process_time() - start
    # four times the text: about four times the time (a quadratic scan would take sixteen)
    assert big < 8 * small + 0.5, (small, big)


def test_docs_list_every_detector() -> None:
    from nhiscan.sources.repo.detectors import catalogue_table

    doc = (Path(__file__).resolve().parents[2] / "docs" / "detectors.md").read_text()
    table = doc.split("<!-- detectors-table -->\n", 1)[1].split("<!-- /detectors-table -->", 1)[0]
    assert table == catalogue_table()


def test_cloud_key_from_the_catalogue_links_to_its_key_id(scanner) -> None:  # type: ignore[no-untyped-def]
    """A secret access key only the catalogue finds (a Makefile ``?=`` assignment) still carries the
    access key id found next to it, which is what links a leak to its IAM user."""
    key_id = "AKIA" + "QWERTYUIOPASDFGH"[:16]
    secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYzq8Tm2Lp4Hs1"
    text = f"AWS_ACCESS_KEY_ID ?= {key_id}\nAWS_SECRET_ACCESS_KEY ?= {secret}\n"
    reported, _ = to_secrets(scanner.scan_text("Makefile", text), text, "Makefile")
    secrets = [s for s in reported if s.type == "AWS secret access key"]
    assert secrets and secrets[0].attributes.get("key_id") == key_id
    assert secrets[0].provider == "aws" and secrets[0].attributes["category"] == "cloud-key"


def test_a_checksum_shared_by_two_repositories_is_not_a_reused_secret(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from nhiscan.config import ScanConfig
    from nhiscan.core import run_scan

    digest = "9b2f0c1d7e4a5b6c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"
    secret = "hvs." + "Zq8xW2mN4bV6cX1zA3sDpL0k" * 4
    for name in ("one", "two"):
        repo = tmp_path / name
        repo.mkdir()
        (repo / "Dockerfile").write_text(f"FROM python@sha256:{digest}\n")
        (repo / "go.sum").write_text(f"example.org/m v1.0.0 h1:{digest[:43]}=\n")
        (repo / "vault.env").write_text(f"VAULT_TOKEN={secret}\n")
    report = run_scan(
        ScanConfig(
            as_of=datetime(2026, 12, 1, tzinfo=timezone.utc),
            paths=(str(tmp_path / "one"), str(tmp_path / "two")),
        )
    )
    reused = [f for f in report.findings if f.rule_id == "secret-reused-across-repositories"]
    assert len(reused) == 1 and "Vault" in reused[0].message  # the token, never the checksums
    assert not [f for f in report.findings if f.rule_id == "secret-generic"]


@pytest.mark.parametrize(
    "line, bracketed, alone",
    [
        ("# nhiscan: ignore[gha-secret-echoed] debugging", True, True),
        ("    // nhiscan:ignore[secret-generic] sample", True, True),
        ("run: echo x  # nhiscan: ignore[gha-secret-echoed] why", True, False),
        ("# nhiscan:ignore sample config", False, True),
        ("key = 'v'  # nhiscan:ignore[] empty list", True, False),
    ],
)
def test_parse_ignore_shape(line: str, bracketed: bool, alone: bool) -> None:
    """One parser serves secret lines and CI files: whether the marker names its rules (the CI
    checks read only those) and whether it stands alone (then it speaks of the line below)."""
    ig = parse_ignore(line)
    assert ig is not None and ig.bracketed is bracketed and ig.alone is alone


def test_many_unclosed_markers_on_one_line_cost_linear_time() -> None:
    import time

    line = "# " + "nhiscan:ignore[" * 20000 + "x"
    start = time.perf_counter()
    ig = parse_ignore(line)
    assert time.perf_counter() - start < 1.0
    assert ig is not None and not ig.bracketed
