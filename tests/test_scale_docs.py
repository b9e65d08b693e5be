"""docs/scale.md: the GitHub Actions matrix and the Kubernetes Indexed Job are valid YAML of the
right shape, and every nhiscan command line in them uses options the installed CLI has."""

from __future__ import annotations

import re
import shlex
from typing import Any

import yaml

from tests.conftest import ROOT, run_cli

DOC = ROOT / "docs" / "scale.md"


def yaml_blocks() -> list[dict[str, Any]]:
    text = DOC.read_text(encoding="utf-8")
    return [yaml.safe_load(body) for body in re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M)]


def help_options(*command: str) -> set[str]:
    res = run_cli(*command, "--help")
    assert res.code == 0, res.stderr
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", res.stdout))


def nhiscan_commands(shell: str) -> list[list[str]]:
    """The nhiscan invocations of a shell line (GitHub expressions kept as one word)."""
    out = []
    for part in re.split(r"&&|;|\|\|", shell):
        words = shlex.split(re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", r"GH_\1", part))
        if words and words[0] == "nhiscan":
            out.append(words)
    return out


def check_options(words: list[str]) -> None:
    assert words[1] in ("inventory", "scan"), words
    known = help_options(words[1])
    used = {w.split("=")[0] for w in words if w.startswith("--")}
    assert used and used <= known, f"not options of nhiscan {words[1]}: {sorted(used - known)}"


def shard_of(words: list[str]) -> tuple[str, int]:
    value = words[words.index("--shard") + 1]
    index, _, count = value.partition("/")
    return index, int(count)


def test_the_document_holds_a_workflow_and_a_job() -> None:
    kinds = [("jobs" in b, b.get("kind")) for b in yaml_blocks()]
    assert (True, None) in kinds and (False, "Job") in kinds


def test_github_actions_matrix_runs_every_shard_and_merges() -> None:
    workflow = next(b for b in yaml_blocks() if "jobs" in b)
    collect = workflow["jobs"]["collect"]
    shards = collect["strategy"]["matrix"]["shard"]
    runs = [s["run"] for job in workflow["jobs"].values() for s in job["steps"] if "run" in s]
    commands = [w for r in runs for w in nhiscan_commands(r)]
    inventory = [w for w in commands if w[1] == "inventory"]
    scan = [w for w in commands if w[1] == "scan"]
    assert len(inventory) == 1 and len(scan) == 1
    index, count = shard_of(inventory[0])
    assert index == "GH_matrix.shard" and shards == list(range(count))
    assert workflow["jobs"]["analyse"]["needs"] == "collect"
    assert scan[0][scan[0].index("--input") + 1] == "shards"
    for words in commands:
        check_options(words)


def test_kubernetes_indexed_job_reads_its_index() -> None:
    job = next(b for b in yaml_blocks() if b.get("kind") == "Job")
    assert job["apiVersion"] == "batch/v1"
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    container = spec["template"]["spec"]["containers"][0]
    commands = [w for a in container["args"] for w in nhiscan_commands(a)]
    assert len(commands) == 1
    index, count = shard_of(commands[0])
    assert index == "auto" and count == spec["completions"]
    check_options(commands[0])
    mounted = {m["mountPath"] for m in container["volumeMounts"]}
    output = commands[0][commands[0].index("--output") + 1]
    assert any(output.startswith(m + "/") for m in mounted)


def test_the_option_checker_rejects_an_unknown_option() -> None:
    words = nhiscan_commands("nhiscan inventory --shard 1/2 --shards 2")[0]
    try:
        check_options(words)
    except AssertionError as exc:
        assert "--shards" in str(exc)
    else:
        raise AssertionError("an unknown option passed")
