"""Live Azure diagnostic settings: where the Activity Log and Entra ID logs are sent.

Two ARM reads, GETs only (through the same :class:`~nhiscan.sources.azure.live.ReadOnlyPolicy`):

- per subscription ``GET /subscriptions/{id}/providers/Microsoft.Insights/diagnosticSettings``
  (what ``az monitor diagnostic-settings subscription list`` prints), path
  ``azure:subscription/<id>``, scope ``subscriptions/<id>`` so that an empty list still names its
  subscription;
- once ``GET /providers/microsoft.aadiam/diagnosticSettings`` (Entra ID's settings), path
  ``azure:entra``, scope ``tenant`` (normalize gives it the tenant of the service principals).

Both become ``azure-diagnostic-settings`` documents, exactly what ``--input`` reads. A failure is
one error naming its source; the rest of the scan is kept.
"""

from __future__ import annotations

from typing import Any

from nhiscan.model import SourceError
from nhiscan.sources.azure.diagnostics import KIND
from nhiscan.sources.azure.live import PROVIDER
from nhiscan.sources.azure.live_clients import AzureCallError, Clients, rest_list
from nhiscan.sources.documents import RawDocument

ACTIVITY_API_VERSION = "2021-05-01-preview"
ENTRA_API_VERSION = "2017-04-01"
ENTRA_SOURCE = "azure:entra"
ACTIVITY_PERMISSION = "Microsoft.Insights/diagnosticSettings/read, e.g. Reader on the subscription"
ENTRA_PERMISSION = "microsoft.aadiam/diagnosticSettings/read, e.g. the Entra ID Security Reader role"


def arm_pipeline(clients: Clients) -> Any:
    return clients.pipeline(clients.endpoints.arm, clients.endpoints.arm_scope)


def arm_list(
    client: Any, clients: Clients, path: str, api_version: str, what: str, permission: str
) -> list[dict[str, Any]]:
    """Every item of an ARM list, following ``nextLink`` only to the same host."""
    base = clients.endpoints.arm
    params = {"api-version": api_version}
    return rest_list(
        client, clients, base, path, params, link_key="nextLink", what=what, permission=permission
    )


def read_settings(
    clients: Clients, source: str, scope: str, path: str, version: str, what: str, permission: str
) -> RawDocument:
    """One diagnostic settings list as the document ``--input`` reads (AzureCallError on failure)."""
    client = arm_pipeline(clients)
    try:
        items = arm_list(client, clients, path, version, what, permission)
    finally:
        client.close()
    return RawDocument(KIND, PROVIDER, source, {"value": items}, scope)


def subscription_settings(clients: Clients, subscription: str) -> RawDocument:
    return read_settings(
        clients,
        f"azure:subscription/{subscription}",
        f"subscriptions/{subscription}",
        f"/subscriptions/{subscription}/providers/Microsoft.Insights/diagnosticSettings",
        ACTIVITY_API_VERSION,
        "Activity Log diagnostic settings",
        ACTIVITY_PERMISSION,
    )


def entra_settings(clients: Clients) -> tuple[list[RawDocument], list[SourceError]]:
    try:
        doc = read_settings(
            clients,
            ENTRA_SOURCE,
            "tenant",
            "/providers/microsoft.aadiam/diagnosticSettings",
            ENTRA_API_VERSION,
            "Entra ID diagnostic settings",
            ENTRA_PERMISSION,
        )
    except AzureCallError as exc:
        return [], [SourceError(ENTRA_SOURCE, exc.message)]
    return [doc], []
