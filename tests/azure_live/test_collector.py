"""The Azure live collector in process, against the HTTPS peer: read-only policy, retries, failures."""

from __future__ import annotations

import socket

import pytest

from nhiscan.sources.azure.live import (
    Clients,
    Endpoints,
    RetrySettings,
    StaticTokenCredential,
    WriteRefused,
    collect_all,
    credential_for,
    endpoints_from,
    graph_list,
    make_clients,
)
from tests.azure_live.conftest import AZURE_DIR
from tests.azure_live.peer import CONTOSO_SUBSCRIPTION, TEST_TOKEN, FakeAzure

OTHER = "22222222-3333-4444-8555-666666666666"
FAST = RetrySettings(total=2, backoff=0.01, backoff_max=1)


def clients(peer: FakeAzure, retry: RetrySettings = FAST) -> Clients:
    return make_clients(peer.env(), verify=peer.ca_path, retry=retry)


def test_the_read_only_policy_refuses_writes_before_sending(peer: FakeAzure) -> None:
    from azure.core.rest import HttpRequest

    peer.seed_export_dir(AZURE_DIR)
    c = clients(peer)
    arm = c.arm(CONTOSO_SUBSCRIPTION)
    try:
        with pytest.raises(WriteRefused, match="refused to send DELETE"):
            arm.role_assignments.delete(
                f"/subscriptions/{CONTOSO_SUBSCRIPTION}", "2129d338-b425-4188-bcb5-d0e3bcb1cec4"
            )
        for method in ("POST", "PATCH", "PUT", "DELETE"):
            with pytest.raises(WriteRefused, match=f"refused to send {method}"):
                c.graph().send_request(HttpRequest(method, f"{c.endpoints.graph}/v1.0/applications", json={}))
        assert peer.calls == []  # nothing left the process
        list(arm.role_assignments.list_for_subscription())  # reads still work
        assert peer.methods() == ["GET"]
    finally:
        arm.close()
        c.close()


def test_two_subscriptions_share_one_role_definition_read(peer: FakeAzure) -> None:
    peer.seed_export_dir(AZURE_DIR)
    peer.add_subscription(OTHER, list(peer.tenant.subscriptions[CONTOSO_SUBSCRIPTION]))
    c = clients(peer)
    try:
        out = collect_all(c, [CONTOSO_SUBSCRIPTION, OTHER])
    finally:
        c.close()
    assert out.errors == []
    assert [d.path for d in out.docs] == [
        "azure:graph",
        "azure:graph",
        f"azure:subscription/{CONTOSO_SUBSCRIPTION}",  # role assignments, then diagnostic settings
        f"azure:subscription/{CONTOSO_SUBSCRIPTION}",
        f"azure:subscription/{OTHER}",
        f"azure:subscription/{OTHER}",
        "azure:entra",
    ]
    assert [(d.kind, d.scope) for d in (out.docs[3], out.docs[5], out.docs[6])] == [
        ("azure-diagnostic-settings", f"subscriptions/{CONTOSO_SUBSCRIPTION}"),
        ("azure-diagnostic-settings", f"subscriptions/{OTHER}"),
        ("azure-diagnostic-settings", "tenant"),
    ]
    assert out.docs[5].data == {"value": []}  # the other subscription exports nothing: a fact too
    assert peer.count()["roleDefinitions"] == 1
    for doc in out.docs[2:5:2]:
        names = {a["properties"].get("roleDefinitionName") for a in doc.data}
        assert "AcrPull" in names and None not in names


def test_throttling_exhausted_is_one_error_per_source(peer: FakeAzure) -> None:
    peer.seed_export_dir(AZURE_DIR)
    peer.throttle(f"/subscriptions/{CONTOSO_SUBSCRIPTION}/", times=100)
    c = clients(peer)
    try:
        out = collect_all(c, [CONTOSO_SUBSCRIPTION])
    finally:
        c.close()
    assert [(e.source, e.message.split(" (")[0]) for e in out.errors] == [
        (
            f"azure:subscription/{CONTOSO_SUBSCRIPTION}",
            "throttled on role assignments",
        )
    ]
    assert "gave up after 2 retries" in out.errors[0].message
    assert peer.count()["roleAssignments"] == 3  # the first try and two retries
    assert {d.kind for d in out.docs} == {"azure-sp-list", "azure-app-list"}


def test_server_errors_are_retried_then_reported(peer: FakeAzure) -> None:
    from tests.azure_live.peer import Fault

    peer.seed_export_dir(AZURE_DIR)
    peer.fault(Fault("/v1.0/servicePrincipals", 503, "ServiceUnavailable", "try later", times=1))
    peer.fault(Fault("/v1.0/applications", 500, "InternalServerError", "boom"))
    c = clients(peer)
    try:
        out = collect_all(c, [CONTOSO_SUBSCRIPTION])
    finally:
        c.close()
    assert [(e.source, e.message) for e in out.errors] == [
        (
            "azure:graph",
            "Graph applications unavailable (HTTP 500), gave up after 2 retries: InternalServerError: boom",
        )
    ]
    assert peer.count()["servicePrincipals"] == 2 and peer.count()["applications"] == 3
    assert "azure-sp-list" in {d.kind for d in out.docs}


def test_unreachable_endpoint_is_one_line_per_source(peer: FakeAzure) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"https://127.0.0.1:{s.getsockname()[1]}"
    c = Clients(Endpoints(closed, closed), StaticTokenCredential(TEST_TOKEN), retry=RetrySettings(total=0))
    try:
        out = collect_all(c, [CONTOSO_SUBSCRIPTION])
    finally:
        c.close()
    assert out.docs == []
    assert sorted(e.source for e in out.errors) == [
        "azure:graph",
        "azure:graph",
        f"azure:subscription/{CONTOSO_SUBSCRIPTION}",
    ]
    assert all("cannot reach the endpoint" in e.message for e in out.errors), out.errors


def test_a_next_link_to_another_host_is_not_followed(peer: FakeAzure) -> None:
    from nhiscan.sources.azure.live import AzureCallError

    peer.seed_export_dir(AZURE_DIR)
    peer.graph_max_page = 2
    c = clients(peer)
    try:
        assert len(graph_list(c, "applications", ["appId", "signInAudience"])) == 3  # 2 pages, same host
    finally:
        c.close()
    # the same peer reached as "localhost": its next links name 127.0.0.1, another host for the token
    port = peer.endpoint.rsplit(":", 1)[1]
    other = Clients(
        Endpoints(f"https://localhost:{port}", peer.endpoint),
        StaticTokenCredential(TEST_TOKEN),
        verify=peer.ca_path,
        retry=FAST,
    )
    try:
        with pytest.raises(AzureCallError, match="refusing to follow a nextLink to another host"):
            graph_list(other, "applications", ["appId", "signInAudience"])
    finally:
        other.close()
    assert peer.count()["applications"] == 3


def test_test_token_only_for_loopback_ip_endpoints() -> None:
    from nhiscan.sources.azure.live import AzureCallError

    env = {"NHISCAN_AZURE_TEST_TOKEN": "t"}
    for graph, arm in (
        ("https://127.0.0.1:1", "https://management.azure.com"),
        ("https://localhost:1", "https://127.0.0.1:1"),
        ("https://graph.microsoft.com", "https://127.0.0.1:1"),
    ):
        ep = endpoints_from({**env, "NHISCAN_AZURE_GRAPH_ENDPOINT": graph, "NHISCAN_AZURE_ARM_ENDPOINT": arm})
        with pytest.raises(AzureCallError, match="refusing to send a test token"):
            credential_for(ep, env)
    ep = endpoints_from(
        {
            "NHISCAN_AZURE_GRAPH_ENDPOINT": "https://[::1]:1",
            "NHISCAN_AZURE_ARM_ENDPOINT": "https://127.0.0.1:2/x",
        }
    )
    assert isinstance(credential_for(ep, env), StaticTokenCredential)
    assert ep.arm == "https://127.0.0.1:2" and ep.arm_scope == "https://127.0.0.1:2/.default"
    with pytest.raises(AzureCallError, match="must be an https:// URL"):
        endpoints_from({"NHISCAN_AZURE_ARM_ENDPOINT": "http://127.0.0.1:1"})
    assert endpoints_from({}) == Endpoints("https://graph.microsoft.com", "https://management.azure.com")


def test_a_refused_token_and_a_denied_role_definition_are_each_one_line(peer: FakeAzure) -> None:
    from tests.azure_live.peer import Fault

    peer.seed_export_dir(AZURE_DIR)
    peer.add_subscription(OTHER)
    peer.fault(Fault(f"/subscriptions/{OTHER}/", 401, "InvalidAuthenticationToken", "expired"))
    peer.fault(
        Fault(
            f"/subscriptions/{CONTOSO_SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/", 403
        )
    )
    c = clients(peer)
    try:
        out = collect_all(c, [CONTOSO_SUBSCRIPTION, OTHER])
    finally:
        c.close()
    messages = {e.source: e.message for e in out.errors}
    assert len(out.errors) == 2, out.errors
    assert messages[f"azure:subscription/{OTHER}"].startswith(
        "the token was refused on role assignments (HTTP 401)"
    )
    assert "roleDefinitions/read" in messages[f"azure:subscription/{CONTOSO_SUBSCRIPTION}"]
    # the assignments are still there; the role nhiscan could not name keeps its id
    (doc,) = [d for d in out.docs if d.kind == "azure-role-assignments"]
    unnamed = [a["properties"] for a in doc.data if "roleDefinitionName" not in a["properties"]]
    assert [p["roleDefinitionId"].rsplit("/", 1)[1] for p in unnamed] == [
        "7f951dda-4ed3-4680-a7ca-43fe172d538d"
    ]


def test_an_untrusted_certificate_says_so(peer: FakeAzure) -> None:
    peer.seed_export_dir(AZURE_DIR)
    c = Clients(
        Endpoints(peer.endpoint, peer.endpoint),
        StaticTokenCredential(TEST_TOKEN),
        retry=RetrySettings(total=0),
    )
    c.verify = True  # the system CAs, which do not hold the peer's test CA
    try:
        out = collect_all(c, [CONTOSO_SUBSCRIPTION])
    finally:
        c.close()
    assert len(out.errors) == 3 and out.docs == []
    assert all("TLS certificate is not trusted" in e.message for e in out.errors), out.errors
