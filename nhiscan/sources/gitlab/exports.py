"""Recognise GitLab CI/CD variable listings by their content.

Kind ``gitlab-variables``: `glab variable list -F json` (a project's, or a group's with `-g`), and
the REST API's `GET /projects/:id/variables` / `GET /groups/:id/variables`: a JSON list of
``{key, value, variable_type, protected, masked, environment_scope, ...}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nhiscan.sources.documents import Parsed


def _is_variable(x: Any) -> bool:
    return isinstance(x, dict) and "key" in x and "protected" in x and "variable_type" in x


def detect(parsed: Parsed) -> str | None:
    data = parsed.data if parsed.is_structured else None
    if isinstance(data, list) and data and all(_is_variable(x) for x in data):
        return "gitlab-variables"
    return None
