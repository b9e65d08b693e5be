"""Recognise Azure CLI JSON exports by their content.

Kinds:
  azure-sp-list            `az ad sp list --all` (Microsoft Graph servicePrincipal objects)
  azure-app-list           `az ad app list --all` (Microsoft Graph application objects)
  azure-role-assignments   `az role assignment list --all` (flattened), or the ARM/SDK form with
                           each assignment's fields under `properties`
  azure-diagnostic-settings `az monitor diagnostic-settings subscription list` (Activity Log),
                           `az rest --url .../providers/microsoft.aadiam/diagnosticSettings?...`
                           (Entra ID), `az monitor diagnostic-settings list --resource AKS_ID`
                           (see diagnostics.py)
  azure-federated-credentials
                           `az ad app federated-credential list --id APP` ({name, issuer, subject,
                           audiences}); it does not name its application: `--input APPID=FILE`
                           (an empty list `[]` only as `--input applications/APPID=FILE`); the
                           Graph page names it in `@odata.context`
  azure-app-role-assignments
                           `az rest --url https://graph.microsoft.com/v1.0/servicePrincipals/ID/appRoleAssignments`
                           (the application permissions granted to a service principal: appRoleId,
                           principalId, resourceId, resourceDisplayName)
  azure-directory-role-assignments
                           `az rest --url "https://graph.microsoft.com/v1.0/roleManagement/directory/roleAssignments?$expand=roleDefinition"`
                           (Entra ID directory roles: principalId, roleDefinitionId, directoryScopeId)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nhiscan.sources.documents import Parsed


def _items(data: Any) -> list[Any] | None:
    if isinstance(data, dict) and isinstance(data.get("value"), list):
        data = data["value"]  # raw Graph / ARM page
    if isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        return data
    return None


def _is_sp(x: dict[str, Any]) -> bool:
    return "appId" in x and "servicePrincipalType" in x


def _is_app(x: dict[str, Any]) -> bool:
    return "appId" in x and "signInAudience" in x and "servicePrincipalType" not in x


def _is_assignment(x: dict[str, Any]) -> bool:
    nested = x.get("properties")
    props: dict[str, Any] = nested if isinstance(nested, dict) else x
    return "principalId" in props and "roleDefinitionId" in props and "scope" in props


def _is_federated(x: dict[str, Any]) -> bool:
    return "issuer" in x and "subject" in x and "audiences" in x


def _is_app_role_assignment(x: dict[str, Any]) -> bool:
    return "appRoleId" in x and "principalId" in x and "resourceId" in x


def _is_directory_role_assignment(x: dict[str, Any]) -> bool:
    return "principalId" in x and "roleDefinitionId" in x and "directoryScopeId" in x


FEDERATED_CONTEXT = "/federatedIdentityCredentials"


def detect(parsed: Parsed) -> str | None:
    from nhiscan.sources.azure.diagnostics import is_setting

    data = parsed.data if parsed.is_structured else None
    if isinstance(data, dict) and str(data.get("@odata.context", "")).endswith(FEDERATED_CONTEXT):
        return "azure-federated-credentials"
    if isinstance(data, dict) and data.get("value") == []:
        return "azure-diagnostic-settings"  # an empty ARM list, whose owner SCOPE must name
    items = _items(data) if parsed.is_structured else None
    if not items:
        return None
    if all(is_setting(x) for x in items):
        return "azure-diagnostic-settings"
    if all(_is_sp(x) for x in items):
        return "azure-sp-list"
    if all(_is_app(x) for x in items):
        return "azure-app-list"
    if all(_is_assignment(x) for x in items):
        return "azure-role-assignments"
    if all(_is_federated(x) for x in items):
        return "azure-federated-credentials"
    if all(_is_app_role_assignment(x) for x in items):
        return "azure-app-role-assignments"
    if all(_is_directory_role_assignment(x) for x in items):
        return "azure-directory-role-assignments"
    return None
