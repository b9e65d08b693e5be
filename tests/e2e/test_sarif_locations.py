"""Code scanning drops SARIF results without a physical location: every result of the README's
quick-start scan must carry one, relative to the working directory like the file findings."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT, run_cli
from tests.report.test_formats import validate_sarif
from tests.test_docs import quickstart_scan_args


def test_every_quickstart_result_has_a_physical_location_in_the_scanned_tree() -> None:
    res = run_cli(*quickstart_scan_args(), "--format", "sarif", cwd=ROOT, timeout=300)
    assert res.code == 0, res.stderr
    doc = json.loads(res.stdout)
    validate_sarif(doc)
    results = doc["runs"][0]["results"]
    assert len(results) > 50
    for r in results:
        physical = [loc["physicalLocation"] for loc in r.get("locations", []) if "physicalLocation" in loc]
        assert physical, f"{r['ruleId']} {r['properties']['identity_id']} has no physical location"
        artifact = physical[0]["artifactLocation"]
        assert artifact.get("uriBaseId") == "%SRCROOT%", artifact
        uri = artifact["uri"]
        assert not uri.startswith(("/", "file:")) and ".." not in uri.split("/"), uri
        assert (ROOT / uri).exists(), uri  # it names a file of the scanned tree
    # the GCP service account of another project, known only from a binding in acme-prod's
    # policy export, is anchored to the export that lists the binding
    foreign = [
        r
        for r in results
        if r["properties"]["identity_id"] == "ci-runner@acme-shared-ci.iam.gserviceaccount.com"
    ]
    assert foreign
    for r in foreign:
        uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert Path(uri).parent == Path("fixtures/gcp/acme-prod"), uri
