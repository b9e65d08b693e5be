"""The live GCP collector in-process against the gRPC peer: retries, failures, concurrency, shapes."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import grpc
import pytest
from google.api_core.retry import Retry, if_transient_error

from nhiscan.config import ScanConfig
from nhiscan.sources.gcp import live
from nhiscan.sources.gcp.live import Clients, ProjectCollector, collect_projects, make_clients
from tests.gcp_live.conftest import GCP_DIR, assert_read_only, no_adc_env
from tests.gcp_live.peer import FakeGcp

# The library's own Retry with its transient-error predicate, only with a short deadline for tests.
QUICK = Retry(initial=0.01, maximum=0.05, multiplier=2, predicate=if_transient_error, timeout=1.0)


@pytest.fixture
def clients(peer: FakeGcp) -> Clients:
    c = make_clients(peer.env())
    yield c  # type: ignore[misc]
    c.close()


def collect(clients: Clients, project: str, **kw: object) -> live.ProjectResult:
    return ProjectCollector(clients, project, retry=QUICK, timeout=5.0, **kw).run()  # type: ignore[arg-type]


def kinds(result: live.ProjectResult) -> list[str]:
    return [d.kind for d in result.docs]


def test_documents_have_the_export_shapes(peer: FakeGcp, clients: Clients) -> None:
    import json

    peer.seed_export_dir(GCP_DIR, "acme-prod")
    result = collect(clients, "acme-prod")
    assert not result.errors
    docs = {d.kind: d for d in result.docs}
    assert all(
        d.provider == "gcp" and d.scope == "acme-prod" and d.path == "gcp:acme-prod" for d in docs.values()
    )
    exported_accounts = json.loads((GCP_DIR / "service-accounts.json").read_text())
    assert docs["gcp-service-accounts"].data == exported_accounts
    exported_keys = [k for p in sorted(GCP_DIR.glob("keys-*.json")) for k in json.loads(p.read_text())]
    assert docs["gcp-service-account-keys"].data == sorted(exported_keys, key=lambda k: k["name"])
    policy = json.loads((GCP_DIR / "project-iam-policy.json").read_text())
    got = docs["gcp-iam-policy"].data
    assert got["version"] == 3 and got["etag"] == policy["etag"]
    assert sorted(got["bindings"], key=lambda b: b["role"]) == sorted(
        policy["bindings"], key=lambda b: b["role"]
    )


def test_transient_errors_are_retried(peer: FakeGcp, clients: Clients) -> None:
    peer.seed_export_dir(GCP_DIR, "acme-prod")
    peer.fault("acme-prod", "ListServiceAccounts", grpc.StatusCode.UNAVAILABLE, "backend busy", times=2)
    peer.fault("acme-prod", "GetIamPolicy", grpc.StatusCode.UNAVAILABLE, "backend busy", times=1)
    result = collect(clients, "acme-prod")
    assert not result.errors
    assert kinds(result) == [
        "gcp-service-accounts",
        "gcp-service-account-keys",
        "gcp-iam-policy",
        "gcp-org-policies",
    ]
    assert peer.count()["ListServiceAccounts"] == 3
    assert peer.count()["GetIamPolicy"] == 2


def test_lasting_unavailability_is_bounded_and_one_error(peer: FakeGcp, clients: Clients) -> None:
    peer.seed_export_dir(GCP_DIR, "acme-prod")
    peer.fault("acme-prod", "ListServiceAccounts", grpc.StatusCode.UNAVAILABLE, "backend busy")
    started = time.monotonic()
    result = collect(clients, "acme-prod")
    assert time.monotonic() - started < 5
    assert result.docs == []
    assert len(result.errors) == 1
    assert result.errors[0].source == "gcp:acme-prod"
    assert "IAM API unavailable (ListServiceAccounts)" in result.errors[0].message
    assert peer.count()["ListServiceAccounts"] > 1  # it did retry


def test_deadline_exceeded_is_one_error(peer: FakeGcp, clients: Clients) -> None:
    peer.seed_export_dir(GCP_DIR, "acme-prod")
    peer.latency = 0.3
    result = ProjectCollector(clients, "acme-prod", retry=Retry(timeout=0.5), timeout=0.1).run()
    assert result.docs == []
    assert len(result.errors) == 1
    assert result.errors[0].message.startswith("IAM API timed out (ListServiceAccounts)"), result.errors


def test_policy_denied_keeps_accounts_and_keys(peer: FakeGcp, clients: Clients) -> None:
    peer.seed_export_dir(GCP_DIR, "acme-prod")
    peer.deny("acme-prod", "GetIamPolicy", "resourcemanager.projects.getIamPolicy")
    result = collect(clients, "acme-prod")
    assert kinds(result) == ["gcp-service-accounts", "gcp-service-account-keys", "gcp-org-policies"]
    assert [e.message for e in result.errors] == [
        "permission denied on resourcemanager.projects.getIamPolicy (need roles/iam.securityReviewer)"
    ]


def test_account_deleted_during_the_scan_is_skipped(peer: FakeGcp, clients: Clients) -> None:
    proj = peer.seed_export_dir(GCP_DIR, "acme-prod")
    doomed = "legacy-etl@acme-prod.iam.gserviceaccount.com"
    original = peer.list_service_accounts

    def list_then_delete(request, context):  # type: ignore[no-untyped-def]
        answer = original(request, context)
        proj.accounts = [a for a in proj.accounts if a.email != doomed]
        return answer

    peer.list_service_accounts = list_then_delete  # type: ignore[method-assign]
    try:
        result = ProjectCollector(make_clients(peer.env()), "acme-prod", retry=QUICK).run()
    finally:
        peer.list_service_accounts = original  # type: ignore[method-assign]
    assert not result.errors
    keys = next(d.data for d in result.docs if d.kind == "gcp-service-account-keys")
    assert keys and not any(doomed in k["name"] for k in keys)


def test_disabled_api_and_refused_credentials(peer: FakeGcp, clients: Clients) -> None:
    peer.seed_export_dir(GCP_DIR, "acme-prod")
    peer.fault(
        "acme-prod",
        "ListServiceAccounts",
        grpc.StatusCode.PERMISSION_DENIED,
        "Identity and Access Management (IAM) API has not been used in project 1234 before or it is "
        "disabled. reason: SERVICE_DISABLED",
    )
    result = collect(clients, "acme-prod")
    assert [e.message.split(":", 1)[0] for e in result.errors] == [
        "the IAM API (iam.googleapis.com) is disabled"
    ]
    peer.fault("acme-prod", "ListServiceAccounts", grpc.StatusCode.UNAUTHENTICATED, "token expired")
    result = collect(clients, "acme-prod")
    assert len(result.errors) == 1 and result.errors[0].message.startswith(
        "the Google credentials were refused"
    )


def test_projects_are_collected_concurrently(peer: FakeGcp, clients: Clients) -> None:
    for n in range(6):
        peer.synthetic_project(f"proj-{n:02d}", 3)
    peer.latency = 0.05
    results = collect_projects(
        clients,
        [f"proj-{n:02d}" for n in range(6)],
        project_workers=6,
        collector=lambda c, p: ProjectCollector(c, p, key_workers=1, retry=QUICK),
    )
    assert [r.project for r in results] == [f"proj-{n:02d}" for n in range(6)]
    assert all(not r.errors and len(r.docs) == 4 for r in results)
    assert peer.max_inflight >= 4  # several projects in flight at once (one call each at a time)
    assert_read_only(peer.methods())


def test_project_ids_are_checked_and_deduplicated(peer: FakeGcp, monkeypatch: pytest.MonkeyPatch) -> None:
    peer.synthetic_project("good-project", 2)
    for k, v in peer.env().items():
        monkeypatch.setenv(k, v)
    config = ScanConfig(
        as_of=datetime(2026, 11, 1, tzinfo=timezone.utc),
        gcp_projects=("good-project", "Bad Project", "good-project", "a/b"),
    )
    docs, errors = live.collect_live(config)
    assert {e.source for e in errors} == {"gcp:Bad Project", "gcp:a/b"}
    assert all("not a valid project id" in e.message for e in errors)
    assert peer.count()["ListServiceAccounts"] == 1
    assert {d.scope for d in docs} == {"good-project"}


@pytest.mark.parametrize(
    ("endpoint", "loopback"),
    [
        ("127.0.0.1:8080", True),
        ("localhost:1234", True),
        ("[::1]:443", True),
        ("iam.googleapis.com:443", False),
        ("127.0.0.1.evil.example:443", False),
        ("10.0.0.1:443", False),
    ],
)
def test_plain_text_channels_only_to_loopback(endpoint: str, loopback: bool) -> None:
    assert live._loopback(endpoint) is loopback


def test_a_key_denial_stops_the_other_key_calls(peer: FakeGcp, clients: Clients) -> None:
    peer.synthetic_project("many-accounts", 60)
    peer.deny("many-accounts", "ListServiceAccountKeys", "iam.serviceAccountKeys.list")
    result = collect(clients, "many-accounts", key_workers=4)
    assert kinds(result) == ["gcp-service-accounts", "gcp-iam-policy", "gcp-org-policies"]
    assert [e.message for e in result.errors] == [
        "permission denied on iam.serviceAccountKeys.list (need roles/iam.securityReviewer)"
    ]
    # each worker sees the denial before it takes another account: at most one call per worker
    assert peer.count()["ListServiceAccountKeys"] <= 4


def test_progress_display_does_not_change_the_result(peer: FakeGcp, monkeypatch: pytest.MonkeyPatch) -> None:
    peer.seed_export_dir(GCP_DIR, "acme-prod")
    for k, v in peer.env().items():
        monkeypatch.setenv(k, v)
    as_of = datetime(2026, 11, 1, tzinfo=timezone.utc)
    quiet, quiet_errors = live.collect_live(ScanConfig(as_of=as_of, gcp_projects=("acme-prod",)))
    shown, shown_errors = live.collect_live(
        ScanConfig(as_of=as_of, gcp_projects=("acme-prod",), progress=True)
    )
    assert not quiet_errors and not shown_errors
    assert [(d.kind, d.data) for d in quiet] == [(d.kind, d.data) for d in shown]


def test_an_unexpected_failure_costs_one_project(peer: FakeGcp, clients: Clients) -> None:
    peer.synthetic_project("fine-project", 2)

    class Broken(ProjectCollector):
        def service_accounts(self) -> list[dict[str, object]]:
            raise RuntimeError("boom")

    results = collect_projects(
        clients,
        ["broken-project", "fine-project"],
        collector=lambda c, p: (Broken if p == "broken-project" else ProjectCollector)(c, p, retry=QUICK),
    )
    assert [e.message for e in results[0].errors] == ["collection failed: RuntimeError: boom"]
    assert not results[1].errors and len(results[1].docs) == 4


def test_a_bad_credentials_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in no_adc_env(tmp_path).items():
        monkeypatch.setenv(k, v)
    missing = tmp_path / "nowhere" / "sa.json"
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(missing))
    with pytest.raises(live.GcpCallError) as caught:
        make_clients({})
    assert caught.value.category == "credentials"
    assert caught.value.message.startswith("GOOGLE_APPLICATION_CREDENTIALS is not usable")
    assert str(missing) in caught.value.message
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS")
    with pytest.raises(live.GcpCallError) as caught:
        make_clients({})
    assert caught.value.message.startswith("no Google credentials found")


def test_a_remote_endpoint_gets_tls_and_adc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only loopback endpoints skip credentials; any other host keeps ADC (and so TLS)."""
    import google.auth
    from google.auth.credentials import AnonymousCredentials

    asked: list[object] = []
    creds = AnonymousCredentials()

    def fake_default(scopes: object = None, **_: object) -> tuple[object, None]:
        asked.append(scopes)
        return creds, None

    monkeypatch.setattr(google.auth, "default", fake_default)
    clients = make_clients(
        {live.IAM_ENDPOINT_ENV: "iam.example.test:443", live.CRM_ENDPOINT_ENV: "127.0.0.1:1"}
    )
    try:
        assert asked == [list(live.SCOPES)]
        assert clients.iam.transport._host == "iam.example.test:443"
        assert clients.iam.transport._credentials is creds
    finally:
        clients.close()
