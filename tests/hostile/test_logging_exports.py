"""Hostile logging exports: huge trail lists and selectors cost linear time; broken ones are one
error naming the file, and everything else is still reported."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.hostile.harness import hostile_scan

ACCOUNT = "111122223333"


def test_many_trails_and_selectors_scale_linearly(tmp_path: Path) -> None:
    def write(n: int) -> list[str]:
        d = tmp_path / f"n{n}"
        d.mkdir()
        arns = [f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/t{i}" for i in range(n)]
        trails = [
            {"Name": f"t{i}", "TrailARN": a, "IsMultiRegionTrail": False, "HasCustomEventSelectors": True}
            for i, a in enumerate(arns)
        ]
        (d / "trails.json").write_text(json.dumps({"trailList": trails}))
        status = {
            "Kind": "nhiscan-aws-cloudtrail-status",
            "Trails": [{"TrailARN": a, "IsLogging": True} for a in arns],
        }
        (d / "status.json").write_text(json.dumps(status))
        many = [{"Field": "eventSource", "NotEquals": [f"s{j}.amazonaws.com" for j in range(50)]}] * 20
        sel = {
            "TrailARN": arns[0],
            "AdvancedEventSelectors": [
                {
                    "Name": f"s{k}",
                    "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, *many],
                }
                for k in range(200)
            ],
        }
        (d / "selectors.json").write_text(json.dumps(sel))
        return ["--input", str(d)]

    timings = []
    for n in (2_000, 8_000):
        args = write(n)
        started = time.perf_counter()
        res = hostile_scan(tmp_path / f"out{n}", *args, expect_code=0, timeout=120)
        timings.append(time.perf_counter() - started)
        [scope] = res.result["logging"]["aws"]["scopes"]
        assert scope["status"] == "unknown" or scope["status"] == "partial"
        assert len(scope["details"]["trails"]) == n
    # four times the trails: far from sixteen times the time (startup dominates the small run)
    assert timings[1] < timings[0] * 8, timings


def test_broken_logging_exports_are_one_error_each(tmp_path: Path) -> None:
    bad_trails = tmp_path / "trails.json"
    bad_trails.write_text(json.dumps({"trailList": [{"Name": 5, "TrailARN": ["x"]}]}))
    bad_diag = tmp_path / "diag.json"
    bad_diag.write_text(json.dumps({"value": []}))  # names nobody: needs a SCOPE
    bad_eks = tmp_path / "eks.json"
    bad_eks.write_text(
        json.dumps(
            {
                "cluster": {
                    "name": "c",
                    "arn": "arn:aws:eks:eu-west-1:111122223333:cluster/c",
                    "logging": {"clusterLogging": [{"types": {"audit": 1}, "enabled": True}]},
                }
            }
        )
    )
    res = hostile_scan(
        tmp_path, "--input", str(bad_trails), "--input", str(bad_diag), "--input", str(bad_eks), expect_code=2
    )
    sources = sorted(line.split(": ")[2] for line in res.errors)
    assert sources == sorted([str(bad_trails), str(bad_diag), str(bad_eks)]), res.errors
