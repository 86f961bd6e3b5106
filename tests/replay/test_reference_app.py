"""Histories recorded from the reference order app on the shared stack: the unmodified
app replays clean, offline and as the ``replay`` check of a chaos run; a changed
workflow fails both."""

from __future__ import annotations

from pathlib import Path

from harness import (
    Chaos,
    InstanceReader,
    Orders,
    Stack,
    Verdict,
    history_rows,
    read_history,
    record_histories,
    replay_histories,
)

REFERENCE = "harness.reference_apps.orders.workflow"
CHANGED = "tests.replay.apps.order_changed"


def record(stack: Stack, orders: Orders, directory: Path, count: int) -> list[Path]:
    ids = orders.submit_many(count, quantity=1)
    orders.wait_terminal(ids, timeout=60)
    reader = InstanceReader(stack.ports["daprd_grpc"], stack.api_token)
    try:
        return record_histories(reader, directory, ids)
    finally:
        reader.close()


def test_the_unmodified_reference_app_replays_clean(
    dapr_stack: Stack, orders: Orders, tmp_path: Path
) -> None:
    paths = record(dapr_stack, orders, tmp_path, 3)
    report = replay_histories(REFERENCE, paths)
    assert report.clean and report.histories == 3, report.report()
    changed = replay_histories(CHANGED, paths)
    assert changed.failed_instances == sorted(orders.accepted)
    assert {m.index for m in changed.mismatches} == {5}  # the charge, scheduled 2nd


def test_history_rows_render_one_instance_for_a_table(
    dapr_stack: Stack, orders: Orders, tmp_path: Path
) -> None:
    (path,) = record(dapr_stack, orders, tmp_path, 1)
    rows = history_rows(read_history(path).events)
    assert [r["event"] for r in rows][:3] == [
        "workflowStarted",
        "executionStarted",
        "taskScheduled",
    ]
    assert rows[1]["name"] == "order_processing" and rows[1]["detail"].startswith("input {")
    assert rows[2]["name"] == "check_inventory" and rows[2]["id"] == "1"
    assert rows[4] | {"time": ""} == {
        "index": "4",
        "time": "",
        "event": "taskCompleted",
        "id": "-1",
        "name": "#1",
        "detail": "result true",
    }
    assert rows[-1]["event"] == "executionCompleted" and rows[-1]["name"] == "COMPLETED"
    assert '"result": "Approved"' in rows[-1]["detail"]
    assert all(r["time"].endswith("Z") and len(r["detail"]) <= 120 for r in rows)


def test_the_replay_check_of_a_chaos_run(dapr_stack: Stack, orders: Orders) -> None:
    good = Chaos(dapr_stack, workflows=REFERENCE)
    bad = Chaos(dapr_stack, workflows=CHANGED)
    try:
        good.arm("charge_payment.after_effect", "crash")
        orders.submit(quantity=1)  # 202 comes before the workflow reaches the payment
        good.wait_for_hit("charge_payment.after_effect", prefix=orders.prefix)
        good.heal()
        orders.submit_many(2, quantity=1)
        verification = good.verify(orders, checks=("nothing-lost", "replay"))
        assert verification.passed, verification.report()
        files = verification.history.histories
        assert sorted(p.name for p in files) == sorted(f"{i}.pb" for i in orders.accepted)
        assert all(p.with_suffix(".json").exists() for p in files)
        result = bad.verify(orders, checks=("replay",)).result("replay")
        assert result.verdict is Verdict.FAIL
        assert "3 of 3 histories do not replay" in result.summary
        assert "event #5 (turn 1): activity name differs" in result.evidence[0]
    finally:
        good.reset()
