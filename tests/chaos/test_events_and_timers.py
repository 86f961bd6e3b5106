"""Durable waits across restarts, on plain SDK code (tests/apps/python/signals.py): an
external event raised while the app is down is delivered once when it is back, and a
durable timer fires once across a daprd restart and an app kill (checks
``events-delivered`` and ``timers-fired``; they fail on bad histories in
tests/unit/test_durable_checks.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Chaos, Stack, StackConfig, Verdict, Verification
from harness.record.instances import InstanceReader, event_kind
from harness.stack.config import hosted_app
from harness.workload.workflow_api import WorkflowAPI
from harness.workload.workflows import Workflows
from tests.commands import ROOT, run_cli

APP = "tests.apps.python.signals:wfr"


@pytest.fixture(scope="module")
def signals_stack() -> Iterator[Stack]:
    with Stack(StackConfig(app=hosted_app(APP), proxies=False)) as stack:
        yield stack


def workload(stack: Stack, prefix: str) -> Workflows:
    return Workflows(WorkflowAPI(stack.ports["daprd_grpc"], stack.api_token), prefix)


def reached(chaos: Chaos, work: Workflows, failpoint: str, ids: list[str]) -> None:
    """Wait until every instance in ``ids`` passed ``failpoint`` (armed to trace)."""
    deadline = time.monotonic() + 30
    while {h.workflow_id for h in chaos.hits.hits(work.prefix) if h.name == failpoint} < set(ids):
        assert time.monotonic() < deadline, f"not every instance reached {failpoint}"
        time.sleep(0.05)


def verify(chaos: Chaos, work: Workflows, check: str) -> Verification:
    """Heal, wait, and run ``check`` beside the workflow checks that any durable wait
    must keep (nothing lost, completed, activities)."""
    return chaos.verify(
        work, deadline=60, checks=(check, "nothing-lost", "completed", "activities")
    )


def events_of(stack: Stack, instance_id: str, kind: str) -> int:
    reader = InstanceReader(stack.ports["daprd_grpc"], stack.api_token)
    try:
        return sum(1 for e in reader.events(instance_id) if event_kind(e) == kind)
    finally:
        reader.close()


def test_an_event_raised_while_the_app_is_down_is_delivered_once(signals_stack: Stack) -> None:
    chaos = Chaos(signals_stack, app_restart_delay=0, scope="ev-")
    work = workload(signals_stack, "ev-")
    try:
        chaos.arm("prepare.after", "trace", count=None)
        ids = [work.start("await_signal", {"n": n}) for n in range(3)]
        reached(chaos, work, "prepare.after", ids)
        chaos.kill("app")
        # A client keeps raising until daprd takes it; the app comes back meanwhile.
        raisers = [
            threading.Thread(
                target=work.try_raise_event, args=(i, "go", {"n": n}), kwargs={"resend_for": 40}
            )
            for n, i in enumerate(ids)
        ]
        for raiser in raisers:
            raiser.start()
        time.sleep(2.0)
        chaos.heal()
        for raiser in raisers:
            raiser.join(60)
        verification = verify(chaos, work, "events-delivered")
    finally:
        chaos.reset()
    assert verification.passed, verification.report()
    assert verification.result("events-delivered").verdict is Verdict.PASS
    outputs = {i: verification.history.statuses[i].output for i in ids}  # type: ignore[union-attr]
    assert outputs == {i: {"status": "done", "data": {"n": n}} for n, i in enumerate(ids)}
    assert all(events_of(signals_stack, i, "eventRaised") == 1 for i in ids)


def test_a_durable_timer_fires_once_across_a_daprd_restart_and_an_app_kill(
    signals_stack: Stack,
) -> None:
    chaos = Chaos(signals_stack, app_restart_delay=0, scope="tm-")
    work = workload(signals_stack, "tm-")
    try:
        chaos.arm("before.after", "trace", count=None)
        ids = [work.start("sleeper", {"seconds": 4}) for _ in range(3)]
        reached(chaos, work, "before.after", ids)
        chaos.restart("daprd")  # with every timer pending: daprd must keep them
        chaos.kill("app", duration=1.5)
        verification = verify(chaos, work, "timers-fired")
    finally:
        chaos.reset()
    assert verification.passed, verification.report()
    assert verification.result("timers-fired").verdict is Verdict.PASS
    assert all(events_of(signals_stack, i, "timerFired") == 1 for i in ids)


def test_a_scenario_raises_an_event_while_the_app_is_down_and_it_arrives_once(
    tmp_path: Path,
) -> None:
    """``action: raise-event`` in a scenario file (tests/apps/python/event-while-down):
    the raise goes out while the app is killed, is sent again until daprd takes it, and
    each instance gets the event once (events-delivered), with its data (output)."""
    scenario = ROOT / "tests" / "apps" / "python" / "event-while-down.scenario.yaml"
    report = tmp_path / "report"
    proc = run_cli("run", str(scenario), "--report", str(report), timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    (entry,) = json.loads((report / "latest" / "journal.json").read_text())["scenarios"]
    verdicts = {c["name"]: c["verdict"] for c in entry["checks"]}
    assert verdicts["events-delivered"] == verdicts["output"] == "pass", verdicts
    assert verdicts["nothing-lost"] == verdicts["activities"] == "pass", verdicts
    marks = [m for m in entry["timeline"]["marks"] if m["kind"] == "raise-event"]
    assert marks[0]["text"].startswith("'go' sent to 3 instance(s)"), marks
    assert marks[-1]["text"] == "'go': daprd took 3 of 3 raise(s)", marks
    (kill,) = [w for w in entry["timeline"]["windows"] if w["kind"] == "kill"]
    # The raise went out while the app was down: daprd took it only once it was back.
    assert kill["start_s"] <= marks[0]["t_s"] <= kill["end_s"], (kill, marks)


def test_a_scenario_restarts_daprd_and_kills_the_app_and_each_timer_fires_once(
    tmp_path: Path,
) -> None:
    """tests/apps/python/timer-across-restarts: 4 s timers pending across a daprd restart
    and a 1.5 s app kill, written as a scenario: timers-fired PASS, every instance done."""
    scenario = ROOT / "tests" / "apps" / "python" / "timer-across-restarts.scenario.yaml"
    report = tmp_path / "report"
    proc = run_cli("run", str(scenario), "--report", str(report), timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    (entry,) = json.loads((report / "latest" / "journal.json").read_text())["scenarios"]
    verdicts = {c["name"]: c["verdict"] for c in entry["checks"]}
    assert verdicts["timers-fired"] == verdicts["output"] == verdicts["nothing-lost"] == "pass"
    kinds = {w["kind"] for w in entry["timeline"]["windows"]}
    assert {"restart", "kill"} <= kinds, kinds
