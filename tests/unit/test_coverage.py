"""Coverage over hand-made histories: every path counted, every gap named, and a fault
that overlapped no work said to be vacuous, never a pass."""

from __future__ import annotations

from typing import Any

from harness import Verdict
from harness.checks.coverage import (
    APPROVED,
    REFUNDED,
    REJECTED,
    coverage,
    coverage_of,
    merge,
)
from harness.record.history import Attempt, History, InstanceStatus, Outcome
from harness.record.ledger import Effect, Invocation, Ledger
from harness.record.timeline import FaultWindow, Timeline
from harness.report.html import render

ACTIVITIES = ("check_inventory", "charge_payment", "reserve_stock", "notify_customer")


def run(
    orders: dict[str, str], windows: list[FaultWindow] | None = None, *, crash_in: str = ""
) -> History:
    """A history of orders, each taking the path named (approved / rejected / refunded),
    activities one second apart from t = 100 s per order. ``crash_in``: the order whose
    charge never ended (its process died inside it) and ran again a second later."""
    effects: list[Effect] = []
    invocations: list[Invocation] = []
    ends: dict[tuple[str, str, str, int], list[float]] = {}
    statuses: dict[str, InstanceStatus | None] = {}
    for n, (order, path) in enumerate(orders.items()):
        t = 100.0 + 10 * n
        ran = ACTIVITIES[:1] if path == "rejected" else ACTIVITIES
        if path == "refunded":
            ran = (*ACTIVITIES[:3], "refund_payment")
        for k, activity in enumerate(ran):
            start = t + k
            inv = Invocation(activity, order, f"{order}-{activity}", k, start, 1)
            invocations.append(inv)
            key = (order, activity, inv.task_execution_id, 1)
            if order == crash_in and activity == "charge_payment":
                again = Invocation(activity, order, inv.task_execution_id, k, start + 0.5, 2)
                invocations.append(again)
                ends.setdefault((order, activity, inv.task_execution_id, 2), []).append(start + 0.9)
            else:
                ends.setdefault(key, []).append(start + 0.5)
        kinds = {
            "approved": ("payment.charged", "stock.reserved", "customer.notified"),
            "refunded": ("payment.charged", "payment.refunded"),
            "rejected": (),
        }[path]
        effects += [Effect(kind, order, t + 1, 1, None, order, None) for kind in kinds]
        result = "Approved" if path == "approved" else "Rejected: out of stock"
        statuses[order] = InstanceStatus(order, "COMPLETED", {"result": result})
    ledger = Ledger(effects, invocations)
    ledger.end_times = ends
    ledger.ended.update({key: len(times) for key, times in ends.items()})
    return History(
        attempts={o: Attempt(o, Outcome.OK, {}) for o in orders},
        statuses=statuses,
        ledger=ledger,
        timeline=Timeline(windows=windows or []),
        worker_probed=True,
    )


ALL_PATHS = {"o-1": "approved", "o-2": "rejected", "o-3": "refunded"}


def test_every_path_counted_and_a_run_that_took_them_all_passes() -> None:
    cov = coverage_of(run(ALL_PATHS))
    assert cov.paths == {APPROVED: 1, REJECTED: 1, REFUNDED: 1}
    assert cov.executions["check_inventory"] == 3 and cov.executions["refund_payment"] == 1
    assert cov.missed() == []
    result = coverage(run(ALL_PATHS))
    assert result.verdict is Verdict.PASS, result


def test_a_run_without_the_compensation_path_is_vacuous_naming_it() -> None:
    result = coverage(run({"o-1": "approved", "o-2": "rejected"}))
    assert result.verdict is Verdict.VACUOUS
    assert result.evidence == [f"no instance took the path {REFUNDED!r}"]
    assert "missed: no instance took the path" in result.summary


def test_a_fault_that_overlapped_no_activity_is_named_and_one_that_did_counts_it() -> None:
    idle = FaultWindow("kill", "daprd", 50.0, 55.0)  # before any order
    busy = FaultWindow("latency", "daprd->valkey", 101.2, 101.4)  # inside the charge of o-1
    cov = coverage_of(run(ALL_PATHS, [idle, busy]))
    by_target = {f.target: f for f in cov.faults}
    assert by_target["daprd"].executions == 0
    assert by_target["daprd->valkey"].activities == {"charge_payment": 1}
    result = coverage(run(ALL_PATHS, [idle, busy]))
    assert result.verdict is Verdict.VACUOUS
    assert any("kill daprd" in g and "no instance was in flight" in g for g in result.evidence)


def test_an_execution_that_never_ended_was_in_flight_until_its_redelivery() -> None:
    # The first charge of o-1 starts at 101 and never ends; it runs again at 101.5.
    kill = FaultWindow("kill", "app", 101.3, 101.35)
    cov = coverage_of(run(ALL_PATHS, [kill], crash_in="o-1"))
    assert cov.faults[0].activities == {"charge_payment": 1}
    assert cov.reexecuted == {"charge_payment": 1}
    late = FaultWindow("kill", "app", 101.92, 101.96)  # after the redelivery ended
    between = coverage_of(run(ALL_PATHS, [late], crash_in="o-1")).faults[0]
    # No activity ran then, but o-1 was mid-run: its next step had to cross the fault.
    assert (between.executions, between.instances) == (0, 1) and between.hit_work


def test_the_harness_own_windows_are_not_faults_of_the_run() -> None:
    windows = [
        FaultWindow("upstream", "daprd", 0, 1, "known upstream race"),
        FaultWindow("soft-restart", "daprd", 0, 1, "heal: registration race"),
    ]
    assert coverage_of(run(ALL_PATHS, windows)).faults == []


def test_nothing_run_is_vacuous() -> None:
    empty = History(attempts={}, statuses={}, ledger=Ledger([], []), timeline=Timeline())
    result = coverage(empty)
    assert result.verdict is Verdict.VACUOUS
    assert "no instance ran: nothing was exercised" in result.evidence


def test_workflow_paths_are_terminal_statuses_and_expect_none() -> None:
    history = run({"w-1": "approved"})
    history.kind = "workflows"
    cov = coverage_of(history)
    assert cov.paths == {"completed": 1} and cov.expected_paths == ()


def test_a_run_merges_its_scenarios_and_names_paths_none_took() -> None:
    first = coverage_of(run({"o-1": "approved"})).to_dict()
    second = coverage_of(run({"o-2": "rejected"}, [FaultWindow("kill", "app", 0, 1)])).to_dict()
    total = merge([first, second])
    assert total["paths"] == {APPROVED: 1, REJECTED: 1}
    assert total["missed_paths"] == [REFUNDED]
    assert (total["faults"], total["faults_hitting_work"]) == (1, 0)
    assert total["instances"] == 2


def journal_with(coverage_dict: dict[str, Any]) -> dict[str, Any]:
    scenario = {
        "label": "s",
        "verdict": "pass",
        "description": "",
        "file": None,
        "seed": 1,
        "stack": {},
        "instance_prefix": "s-",
        "duration_s": 1.0,
        "error": None,
        "timeline": {"windows": [], "marks": []},
        "failpoint_hits": [],
        "checks": [],
        "coverage": coverage_dict,
        "metrics": {},
        "series": {},
        "load": None,
        "failing_orders": [],
        "logs": {},
    }
    return {
        "name": "t",
        "verdict": "pass",
        "status": "completed",
        "deviated": False,
        "started": "2026-12-02T00:00:00Z",
        "duration_s": 1.0,
        "command": ["dapr-chaos", "run"],
        "versions": {},
        "summary": {"scenarios": 1, "passed": 1, "failed": 0, "errors": 0},
        "scenarios": [scenario],
        "coverage": merge([coverage_dict]),
    }


def test_the_html_report_shows_each_scenario_coverage_and_the_run_total() -> None:
    cov = coverage_of(run({"o-1": "approved"}, [FaultWindow("kill", "app", 0, 1)])).to_dict()
    for fault in cov["faults"]:
        fault["start_s"], fault["end_s"] = fault.pop("start"), fault.pop("end")
    page = render(journal_with(cov))
    assert "<h3>Coverage</h3>" in page and 'id="run-coverage"' in page
    assert "Not exercised, so unproven by this run" in page
    assert "no instance took the path &#x27;rejected at the check&#x27;" in page
    assert "no instance in flight" in page


def test_an_order_sent_before_a_fault_and_run_after_it_was_in_flight_through_it() -> None:
    # o-1 was sent at 90 s; the app was paused 95-98 s; its first activity ran at 100 s.
    history = run({"o-1": "approved"}, [FaultWindow("pause", "app", 95.0, 98.0)])
    history.attempts["o-1"] = Attempt("o-1", Outcome.OK, {}, at=90.0)
    [pause] = coverage_of(history).faults
    assert (pause.executions, pause.instances) == (0, 1) and pause.hit_work
    # Sent after the fault: not in flight through it.
    history.attempts["o-1"] = Attempt("o-1", Outcome.OK, {}, at=99.0)
    assert not coverage_of(history).faults[0].hit_work
