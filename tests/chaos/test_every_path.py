"""Every run of a shipped scenario takes every path of the order workflow, not only the
first run on a stack: approved orders, orders rejected at the inventory check, and
orders charged, then refunded when another order took the last units in between (the
compensation). Each run has its own scarce and sold-out products, so the first run
selling out does not leave later runs rejecting everything at the check."""

from __future__ import annotations

import functools
import json
import os
from collections import defaultdict
from pathlib import Path

import pytest

from harness import Chaos, Ledger, OrderAPIClient, Orders, Schedule, Stack, run_schedule
from tests.commands import ROOT, run_cli

SCENARIOS = ROOT / "scenarios"
cli = functools.partial(run_cli, timeout=600)


def paths_taken(ledger: Ledger) -> dict[str, set[str]]:
    """Path → the orders that took it, read from the ledger alone."""
    kinds: dict[str, dict[str, float]] = defaultdict(dict)
    for effect in ledger.effects:
        kinds[effect.subject].setdefault(effect.kind, effect.ts)
    activities: dict[str, set[str]] = defaultdict(set)
    for invocation in ledger.invocations:
        activities[invocation.workflow_id].add(invocation.activity)
    paths: dict[str, set[str]] = defaultdict(set)
    for order, done in kinds.items():
        if {"payment.charged", "stock.reserved", "customer.notified"} <= set(done):
            paths["approved"].add(order)
        if "payment.refunded" in done and done["payment.charged"] <= done["payment.refunded"]:
            paths["charged, then refunded"].add(order)
    for order, ran in activities.items():
        if ran == {"check_inventory"}:
            paths["rejected at the check"].add(order)
    return paths


PATHS = ("approved", "rejected at the check", "charged, then refunded")


def test_two_runs_on_one_stack_each_take_every_path(dapr_stack: Stack) -> None:
    """The scenario mix of thirty orders, twice on one stack: the second run's scarce
    products are fresh ones, so it races and refunds like the first. Three blocks of
    ten, each with a racing pair of its own: a pair misses its race about one time in
    ten (the second order's check can come after the first reserved), so with one pair
    a run took no refund in 1 clean-clone CI run of 11; with three, all of them must
    miss."""
    for run in (1, 2):
        chaos = Chaos(dapr_stack)
        prefix = f"paths{run}-"
        orders = Orders(OrderAPIClient(dapr_stack.ports["app"]), prefix=prefix, seed=run)
        try:
            verification = run_schedule(chaos, Schedule(()), orders, count=30, concurrency=4)
        finally:
            chaos.reset()
        assert verification.passed, verification.report()
        paths = paths_taken(verification.history.ledger)
        for path in PATHS:
            assert paths[path], f"run {run}: no order {path}: {dict(paths)}"


@pytest.mark.slow
def test_each_run_approves_rejects_at_the_check_and_refunds(tmp_path: Path) -> None:
    """Shipped scenarios, twice each in one campaign (one stack while they pass)."""
    runs = tmp_path / "runs"
    runs.mkdir()
    # Keep each stack's run directory, to read the ledger the app wrote.
    env = {**os.environ, "DAPR_CHAOS_RUN_ROOT": str(runs), "DAPR_CHAOS_KEEP": "1"}
    names = ("baseline", "daprd-kill", "app-crash-after-payment")
    proc = cli(
        "run",
        *(str(SCENARIOS / f"{name}.scenario.yaml") for name in names),
        "--repeat",
        "2",
        "--report",
        str(tmp_path / "reports"),
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    journal = json.loads((tmp_path / "reports" / "latest" / "journal.json").read_text())
    prefixes = [sc["instance_prefix"] for sc in journal["scenarios"]]
    assert len(prefixes) == len(names) * 2
    ledgers = sorted(runs.glob("dapr-chaos-*/ledger.jsonl"))
    assert ledgers, list(runs.iterdir())
    for prefix in prefixes:
        effects, invocations = [], []
        for path in ledgers:  # a stack is replaced after an upstream finding
            part = Ledger.read(path, prefix=prefix)
            effects += part.effects
            invocations += part.invocations
        paths = paths_taken(Ledger(effects, invocations))
        for path in PATHS:
            assert paths[path], f"run {prefix}: no order {path}: {dict(paths)}"
        # The run's scarce products are its own.
        scarce = {e.details["product"] for e in effects if e.kind == "stock.reserved"}
        scarce = {p for p in scarce if p.endswith("scarce")}
        assert scarce and all(p.startswith(prefix) for p in scarce), scarce
