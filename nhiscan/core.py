"""The library entry points the CLI calls: collect -> normalize -> analyze.

Kept separate from cli.py so that a test, a notebook or another tool can run a scan without Typer.
"""

from __future__ import annotations

from nhiscan import secret_ids
from nhiscan.analyze.agents import mark_agents
from nhiscan.analyze.engine import analyze, validate_settings
from nhiscan.analyze.rules import load_catalog
from nhiscan.baseline import baseline_matcher, load_baseline
from nhiscan.config import ScanConfig
from nhiscan.errors import NhiscanError
from nhiscan.gcpause import cyclic_gc_paused
from nhiscan.model import Inventory, Report, SourceError
from nhiscan.shard import shard_inventory
from nhiscan.sources.collect import collect
from nhiscan.waivers import Matcher, first_match, load_waivers, resolve_path


def collect_inventory(config: ScanConfig) -> tuple[Inventory, list[SourceError]]:
    try:
        secret_ids.check_key()  # an unusable fingerprint key fails the command before any work
    except secret_ids.FingerprintKeyError as exc:
        raise NhiscanError(str(exc)) from None
    # the collector paused while the model is built, and the model frozen out of its reach after
    # (nhiscan/gcpause.py: its walks grew faster than the estate)
    with cyclic_gc_paused(frozen=True):
        return _collect_inventory(config)


def _collect_inventory(config: ScanConfig) -> tuple[Inventory, list[SourceError]]:
    inventory, errors = collect(config)
    # Normalization across sources: mark AI-agent identities (attributes agent / agent_reason);
    # name secrets by labels that are reproducible and say nothing about their values.
    inventory = mark_agents(inventory, config.settings)
    if config.shard is not None:
        # after marking, which reads the whole estate (a leak in one repository marks an identity
        # of another account), so a shard's records are what the unsharded run says about them.
        # Live Azure: a job lists its subscriptions' role assignments, whose principals belong to the
        # tenant's shard; the grants it saw go with the inventory, and the merge adds them
        partial = ("azure",) if config.azure_subscriptions else ()
        inventory = shard_inventory(inventory, config.shard, partial)
    return secret_ids.relabel(inventory), errors


def run_scan(config: ScanConfig) -> Report:
    # Settings and waivers are checked before collection so that a bad file fails fast (exit 2).
    validate_settings(config.settings, load_catalog())
    matchers: list[Matcher] = []
    waivers_path = resolve_path(config.waivers, config.settings.waivers)
    if waivers_path:
        known = [r.id for r in load_catalog()]
        matchers.append(load_waivers(waivers_path, config.as_of.date(), known).match)
    if config.baseline:
        load_baseline(config.baseline)  # fail fast on a missing or malformed file (exit 2)
    with cyclic_gc_paused(frozen=True):  # as in collect_inventory, through the analysis
        return _scan(config, matchers)


def _scan(config: ScanConfig, matchers: list[Matcher]) -> Report:
    inventory, errors = collect_inventory(config)
    if config.baseline:
        # read again with the inventory: a detect-secrets baseline names secrets by file and hash
        matchers.append(baseline_matcher(load_baseline(config.baseline, inventory)))
    waive = first_match(matchers)
    return analyze(
        inventory, config.as_of, config.settings, errors=errors, waive=waive, progress=config.progress
    )
