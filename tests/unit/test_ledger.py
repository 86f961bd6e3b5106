"""Ledger writer (app side) and reader (harness side) agree, across threads."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness import Ledger
from harness.app import effect, idempotency_key, recorded_activity


def fake_ctx(workflow_id: str, texec: str, task_id: int = 1) -> SimpleNamespace:
    # Pure-logic fake of the SDK's activity context: only what recorded_activity reads.
    inner = SimpleNamespace(task_execution_id=texec)
    return SimpleNamespace(
        workflow_id=workflow_id, task_id=task_id, get_inner_context=lambda: inner
    )


def test_invocations_and_effects_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAPR_CHAOS_LEDGER", str(tmp_path / "ledger.jsonl"))

    @recorded_activity
    def charge(ctx: object, order: dict[str, str]) -> str:
        effect("payment.charged", order["id"], cents=100)
        return idempotency_key()

    keys = []
    threads = [
        threading.Thread(
            target=lambda i=i: keys.append(
                charge(fake_ctx(f"wf-{i % 5}", f"x-{i}"), {"id": f"wf-{i % 5}"})
            )
        )
        for i in range(50)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ledger = Ledger.read(tmp_path / "ledger.jsonl")
    assert len(ledger.invocations) == 50 and len(ledger.effects) == 50 and ledger.torn == 0
    assert ledger.effect_counts()[("payment.charged", "wf-0")] == 10
    assert set(keys) == {f"wf-{i}:charge" for i in range(5)}
    only = Ledger.read(tmp_path / "ledger.jsonl", prefix="wf-1")
    assert {e.subject for e in only.effects} == {"wf-1"}


def test_reexecutions_are_counted_per_scheduled_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAPR_CHAOS_LEDGER", str(tmp_path / "l.jsonl"))

    @recorded_activity
    def act(ctx: object, _: object) -> None:
        return None

    for _ in range(3):
        act(fake_ctx("wf", "same"), None)
    act(fake_ctx("wf", "other"), None)
    assert Ledger.read(tmp_path / "l.jsonl").reexecutions() == {("wf", "act"): 2}


def test_outside_the_harness_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAPR_CHAOS_LEDGER", raising=False)
    effect("x", "y")  # no ledger configured: a no-op, not an error
    assert list(tmp_path.iterdir()) == []


def test_a_torn_line_is_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    path.write_text('{"type":"effect","kind":"k","subject":"s","ts":1,"pid":1}\n{"type":"eff')
    ledger = Ledger.read(path)
    assert len(ledger.effects) == 1 and ledger.torn == 1


def test_an_application_recorded_twice_is_one_effect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAPR_CHAOS_LEDGER", str(tmp_path / "l.jsonl"))

    @recorded_activity
    def charge(ctx: object, application: str) -> None:
        effect("payment.charged", "o-1", application=application)

    charge(fake_ctx("o-1", "k"), "o-1:k#1")  # applied, recorded
    charge(fake_ctx("o-1", "k"), "o-1:k#1")  # retried: found applied, recorded again
    ledger = Ledger.read(tmp_path / "l.jsonl")
    assert ledger.effect_counts()[("payment.charged", "o-1")] == 1 and ledger.rerecorded == 1
    charge(fake_ctx("o-1", "k"), "o-1:k#2")  # a non-idempotent app applies it again
    assert Ledger.read(tmp_path / "l.jsonl").effect_counts()[("payment.charged", "o-1")] == 2


def test_the_failpoint_follower_reads_only_what_was_appended(tmp_path: Path) -> None:
    from harness.record.ledger import FailpointFollower

    path = tmp_path / "l.jsonl"

    def hit(n: int, wf: str) -> str:
        return (
            f'{{"type":"failpoint","name":"fp","hit":{n},"fired":true,"action":"crash",'
            f'"ts":{n},"pid":1,"workflow_id":"{wf}"}}\n'
        )

    path.write_text(hit(1, "old-1"))  # before the follower: not its business
    follower = FailpointFollower(path)
    assert follower.hits() == []
    with open(path, "a") as handle:
        handle.write(hit(2, "a-1") + hit(3, "b-1") + hit(4, "a-2")[:20])  # last line torn
    assert [h.hit for h in follower.hits()] == [2, 3]
    assert [h.hit for h in follower.hits("a-")] == [2]
    with open(path, "a") as handle:
        handle.write(hit(4, "a-2")[20:])  # the line is now complete
    assert [h.hit for h in follower.hits("a-")] == [2, 4]
