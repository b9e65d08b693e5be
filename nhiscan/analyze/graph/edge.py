"""One edge of the escalation graph: ``source`` can act as, or gain the privileges of, ``target``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Edge:
    source: str  # a node id: an identity id, or "workflow:<repo>:<path>", or "secret:<fingerprint_id>"
    target: str  # a node id (normally an identity id)
    kind: str  # technique id, e.g. "aws-assume-role", "aws-passrole-ec2", "gcp-token-creator"
    via: str  # the permission or trust that makes the edge, for people: "iam:PassRole on arn:…"
    path: str | None = None  # the export file the permission/trust came from (SourceRef path)
    conditional: bool = False  # true when a condition could not be decided from the export
    condition: str = ""  # the undecided condition, said plainly, when conditional
