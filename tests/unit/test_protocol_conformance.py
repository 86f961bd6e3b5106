"""Every implementation of the app protocol (harness/app/PROTOCOL.md) behaves as the Python
reference: the same scripts run through each driver in tests/protocol/ (Python through
``harness.app``, Go, JavaScript) must write the same ledger records (but for ``ts`` and
``pid``), make the same failpoint decisions and act the same way. A new implementation adds
a driver and an entry in ``IMPLEMENTATIONS``.

No Dapr stack: each run is a subprocess against a temporary ledger and failpoint directory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.app import effect, failpoint, recorded_activity
from harness.app._failpoints import ACTIONS, FAILPOINTS_ENV
from harness.app._ledger import LEDGER_ENV
from harness.faults.failpoints import Failpoint, Failpoints
from harness.record.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
DRIVERS = ROOT / "tests" / "protocol"
PROTOCOL = ROOT / "harness" / "app" / "PROTOCOL.md"
IMPLEMENTATIONS = ("python", "go", "js")
OTHERS = tuple(i for i in IMPLEMENTATIONS if i != "python")
Op = dict[str, Any]
Popen = subprocess.Popen[str]


@dataclasses.dataclass(frozen=True)
class Run:
    """One driver process: its exit status, its failpoint reports, the ledger it wrote."""

    returncode: int
    pid: int
    reports: list[dict[str, Any]]
    records: list[dict[str, Any]]
    stderr: str


@dataclasses.dataclass(frozen=True)
class Driver:
    name: str
    argv: tuple[str, ...]

    def start(self, ops: Sequence[Op], state: Path, *, unset_env: bool = False) -> Popen:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DAPR_CHAOS_")}
        if not unset_env:
            env[LEDGER_ENV] = str(state / "ledger.jsonl")
            env[FAILPOINTS_ENV] = str(state / "failpoints")
        env["PYTHONPATH"] = str(ROOT)
        script = state / f"script-{time.monotonic_ns()}.jsonl"
        script.write_text("".join(json.dumps(op) + "\n" for op in ops))
        with open(script) as stdin:
            return subprocess.Popen(
                self.argv,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=ROOT,
            )

    def run(self, ops: Sequence[Op], state: Path, *, unset_env: bool = False) -> Run:
        return finish(self.start(ops, state, unset_env=unset_env), state)


def reports(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def finish(proc: Popen, state: Path) -> Run:
    stdout, stderr = proc.communicate(timeout=30)
    ledger = state / "ledger.jsonl"
    records = (
        [json.loads(line) for line in ledger.read_text().splitlines()] if ledger.exists() else []
    )
    return Run(proc.returncode, proc.pid, reports(stdout), records, stderr)


@pytest.fixture(scope="session")
def drivers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Driver | str]:
    """Each implementation's driver, or the reason it cannot run here."""
    found: dict[str, Driver | str] = {
        "python": Driver("python", (sys.executable, str(DRIVERS / "python" / "driver.py")))
    }
    go = shutil.which("go")
    if go is None:
        found["go"] = "the Go toolchain (go) is not on PATH"
    else:
        out = tmp_path_factory.mktemp("go-driver") / "protocoldriver"
        built = subprocess.run(
            [go, "build", "-o", str(out), "."],
            cwd=DRIVERS / "go",
            capture_output=True,
            text=True,
            env={**os.environ, "CGO_ENABLED": "0"},
            timeout=300,
        )
        if built.returncode != 0:
            pytest.fail(f"building the Go driver failed:\n{built.stderr}")
        found["go"] = Driver("go", (str(out),))
    node = shutil.which("node")
    version = (
        subprocess.run([node, "--version"], capture_output=True, text=True).stdout if node else ""
    )
    major = int(m.group(1)) if (m := re.match(r"v(\d+)", version)) else 0
    if node is None or major < 18:
        found["js"] = f"Node.js >= 18 is needed (found {version.strip() or 'none'})"
    else:
        found["js"] = Driver("js", (node, str(DRIVERS / "js" / "driver.js")))
    return found


def driver(drivers: dict[str, Driver | str], name: str) -> Driver:
    found = drivers[name]
    if isinstance(found, str):
        pytest.skip(f"{name} driver: {found}")
    return found


@pytest.fixture
def states(tmp_path: Path) -> Iterator[Path]:
    """Fresh state directories (ledger + failpoints), one per call of next()."""

    def fresh() -> Iterator[Path]:
        n = 0
        while True:
            n += 1
            path = tmp_path / f"state-{n}"
            path.mkdir()
            yield path

    return fresh()


def arm(state: Path, *failpoints: Failpoint) -> Failpoints:
    armed = Failpoints(state / "failpoints")
    for fp in failpoints:
        armed.arm(fp)
    return armed


def without_ts_pid(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in ("ts", "pid")} for r in records]


def normalized(ledger: Ledger) -> tuple[list[Any], list[Any], list[Any], Counter[Any], int]:
    """What the harness's reader makes of a ledger, with ts and pid blanked."""
    return (
        [dataclasses.replace(e, ts=0.0, pid=0) for e in ledger.effects],
        [dataclasses.replace(i, ts=0.0, pid=0) for i in ledger.invocations],
        [dataclasses.replace(f, ts=0.0, pid=0) for f in ledger.failpoints],
        Counter({key[:3]: n for key, n in ledger.ended.items()}),
        ledger.rerecorded,
    )


def invocation(activity: str, wf: str, texec: str, task_id: int) -> Op:
    return {
        "op": "invocation",
        "activity": activity,
        "workflow_id": wf,
        "task_execution_id": texec,
        "task_id": task_id,
    }


def end(outcome: str = "ok") -> Op:
    return {"op": "end", "outcome": outcome}


def effect_op(kind: str, subject: str, application: str | None, **details: Any) -> Op:
    return {
        "op": "effect",
        "kind": kind,
        "subject": subject,
        "application": application,
        "details": details,
    }


def hit(name: str) -> Op:
    return {"op": "failpoint", "name": name}


RECORDS_SCRIPT: list[Op] = [
    effect_op("audit.logged", "o-0", None),
    invocation("ChargeActivity", "wf-1", "texec-1", 3),
    effect_op(
        "payment.charged",
        "wf-1",
        "wf-1:ChargeActivity#1",
        cents=1250,
        currency="EUR",
        nested={"list": [1, 2.5, None, True], "empty": {}},
    ),
    effect_op("payment.charged", "wf-1", "wf-1:ChargeActivity#1", cents=1250),
    hit("ChargeActivity.before"),
    hit("discovered.by_star"),
    end("ok"),
    invocation("RefundActivity", "wf-2", "", -1),
    hit("RefundActivity.raise"),
    hit("RefundActivity.raise"),
    end("error"),
    hit("outside.any_activity"),
    effect_op("customer.notified", "ö-ünïcode ✓", None, note='line\nbreak "quoted" \\ tab\t'),
]
RECORDS_ARMING = (
    Failpoint("ChargeActivity.before", "trace", count=None),
    Failpoint("RefundActivity.raise", "raise", count=1),
    Failpoint("*", "trace", count=None),
)


@pytest.mark.parametrize("name", OTHERS)
def test_records_are_those_of_the_python_reference(
    drivers: dict[str, Driver | str], states: Iterator[Path], name: str
) -> None:
    runs: dict[str, Run] = {}
    read: dict[str, object] = {}
    for impl in ("python", name):
        state = next(states)
        arm(state, *RECORDS_ARMING)
        runs[impl] = run = driver(drivers, impl).run(RECORDS_SCRIPT, state)
        assert run.returncode == 0, run.stderr
        assert all(r["pid"] == run.pid and isinstance(r["ts"], float) for r in run.records)
        assert all(abs(r["ts"] - time.time()) < 60 for r in run.records)
        ledger = Ledger.read(state / "ledger.jsonl")
        assert ledger.torn == 0
        read[impl] = normalized(ledger)
    reference, other = runs["python"], runs[name]
    assert len(reference.records) == 13  # the script really exercised every record type
    assert without_ts_pid(other.records) == without_ts_pid(reference.records)
    assert read[name] == read["python"]
    strip = [{k: v for k, v in r.items() if k != "elapsed"} for r in reference.reports]
    assert [{k: v for k, v in r.items() if k != "elapsed"} for r in other.reports] == strip
    assert strip[2] == {
        "name": "RefundActivity.raise",
        "error": "failpoint RefundActivity.raise raised (hit 1)",
    }


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_an_arming_for_some_instances_ignores_every_other_hit(
    drivers: dict[str, Driver | str], states: Iterator[Path], name: str
) -> None:
    # A straggler of an earlier test (other-1) reaches the failpoint first: it is not
    # counted and cannot use up the count of the arming made for this test's instances;
    # a hit outside any activity is not this test's either.
    state = next(states)
    arm(
        state,
        Failpoint("Scoped.crash", "crash", instances="mine-"),
        Failpoint("Scoped.trace", "trace", count=1, instances="mine-"),
    )
    script = [
        invocation("A", "other-1", "t1", 1),
        hit("Scoped.trace"),
        hit("Scoped.crash"),
        end(),
        hit("Scoped.trace"),
        invocation("A", "mine-1", "t2", 2),
        hit("Scoped.trace"),
        end(),
    ]
    run = driver(drivers, name).run(script, state)
    assert run.returncode == 0, run.stderr
    hits = [r for r in run.records if r["type"] == "failpoint"]
    assert [(r["name"], r["hit"], r["fired"], r["workflow_id"]) for r in hits] == [
        ("Scoped.trace", 1, True, "mine-1")
    ]
    assert not (state / "failpoints" / "Scoped.crash.hits").exists()


DECISION_ARMING = (
    Failpoint("fp.nth", "trace", nth=7, count=None),
    Failpoint("fp.count", "trace", nth=3, count=5),
    Failpoint("fp.probability", "trace", count=None, probability=0.3, seed=42),
    Failpoint("fp.mixed", "trace", nth=10, count=20, probability=0.5, seed=-3),
    Failpoint("fp.big-seed", "trace", count=None, probability=0.7, seed=2**52 + 1),
)


def chance(seed: int, name: str, hit: int) -> float:
    """The rule as PROTOCOL.md states it, written again independently of harness.app."""
    digest = hashlib.sha256(f"{seed}:{name}:{hit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@pytest.mark.parametrize("name", OTHERS)
def test_nth_count_and_probability_decide_as_python_does(
    drivers: dict[str, Driver | str], states: Iterator[Path], name: str
) -> None:
    script = [hit(fp.name) for _ in range(300) for fp in DECISION_ARMING]
    decisions = {}
    for impl in ("python", name):
        state = next(states)
        arm(state, *DECISION_ARMING)
        run = driver(drivers, impl).run(script, state)
        assert run.returncode == 0, run.stderr
        decisions[impl] = [(r["name"], r["hit"], r["fired"], r["action"]) for r in run.records]
    assert decisions[name] == decisions["python"]
    for fp in DECISION_ARMING:
        fired = [h for n, h, f, _ in decisions["python"] if n == fp.name and f]
        eligible = [
            h for h in range(1, 301) if h >= fp.nth and chance(fp.seed, fp.name, h) < fp.probability
        ]
        assert fired == eligible[: fp.count], fp.name


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_crash_kills_with_sigkill_after_the_record(
    drivers: dict[str, Driver | str], states: Iterator[Path], name: str
) -> None:
    state = next(states)
    arm(state, Failpoint("Pay.after", "crash"))
    script = [
        invocation("Pay", "wf-c", "t-1", 1),
        hit("Pay.after"),
        effect_op("payment.charged", "wf-c", None),
        end(),
    ]
    run = driver(drivers, name).run(script, state)
    assert run.returncode == -signal.SIGKILL, run.stderr
    assert [r["type"] for r in run.records] == ["invocation", "failpoint"]
    assert run.records[1] | {"ts": 0, "pid": 0} == {
        "type": "failpoint",
        "ts": 0,
        "pid": 0,
        "name": "Pay.after",
        "hit": 1,
        "fired": True,
        "action": "crash",
        "workflow_id": "wf-c",
        "activity": "Pay",
        "task_execution_id": "t-1",
    }
    assert run.reports == []
    assert [i.activity for i in Ledger.read(state / "ledger.jsonl").unfinished()] == ["Pay"]


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_raise_fails_the_call_and_the_script_goes_on(
    drivers: dict[str, Driver | str], states: Iterator[Path], name: str
) -> None:
    state = next(states)
    arm(state, Failpoint("Pay.before", "raise", nth=2))
    run = driver(drivers, name).run([hit("Pay.before")] * 3, state)
    assert run.returncode == 0, run.stderr
    assert [r["error"] for r in run.reports] == [None, "failpoint Pay.before raised (hit 2)", None]
    assert [(r["fired"], r["action"]) for r in run.records] == [
        (False, None),
        (True, "raise"),
        (False, None),
    ]


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
@pytest.mark.parametrize("action", ["delay", "pause"])
def test_delay_and_pause_last_about_their_seconds(
    drivers: dict[str, Driver | str], states: Iterator[Path], name: str, action: str
) -> None:
    state = next(states)
    arm(state, Failpoint("Slow.before", action, seconds=0.4))
    run = driver(drivers, name).run([hit("Slow.before"), hit("Slow.before")], state)
    assert run.returncode == 0, run.stderr
    first, second = run.reports
    # Lower bounds only: a loaded machine makes a hit slower, never faster.
    assert first["elapsed"] >= 0.35 and first["error"] is None, first
    # count=1: the second hit only counts (no action, so no wait of 0.4 s).
    assert second["elapsed"] < first["elapsed"], (first, second)
    assert [r["action"] for r in run.records] == [action, None]


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_trace_records_only(
    drivers: dict[str, Driver | str], states: Iterator[Path], name: str
) -> None:
    state = next(states)
    arm(state, Failpoint("Seen.here", "trace", count=None))
    run = driver(drivers, name).run([hit("Seen.here")] * 3, state)
    assert run.returncode == 0, run.stderr
    assert all(r["error"] is None and r["elapsed"] < 1.0 for r in run.reports)
    assert [(r["hit"], r["fired"], r["action"]) for r in run.records] == [
        (1, True, "trace"),
        (2, True, "trace"),
        (3, True, "trace"),
    ]


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_unarmed_failpoints_and_unset_env_write_nothing(
    drivers: dict[str, Driver | str], states: Iterator[Path], name: str
) -> None:
    impl = driver(drivers, name)
    script = [hit("Not.armed"), hit("Other.name")]
    nothing_armed = next(states)
    assert impl.run(script, nothing_armed).returncode == 0
    assert not (nothing_armed / "ledger.jsonl").exists()
    assert not (nothing_armed / "failpoints").exists()

    others_armed = next(states)
    arm(others_armed, Failpoint("Armed.elsewhere", "crash"))
    run = impl.run(script, others_armed)
    assert run.returncode == 0 and run.records == [], run.stderr
    assert sorted(p.name for p in (others_armed / "failpoints").iterdir()) == ["armed.json"]

    unset = next(states)
    arm(unset, Failpoint("Not.armed", "crash"))
    run = impl.run(
        [invocation("A", "wf", "t", 1), effect_op("k", "s", None), hit("Not.armed"), end()],
        unset,
        unset_env=True,
    )
    assert run.returncode == 0, run.stderr
    assert [r["error"] for r in run.reports] == [None]
    assert sorted(p.name for p in unset.rglob("*") if not p.name.startswith("script-")) == [
        "armed.json",
        "failpoints",
    ]


# Each implementation after itself, and after / before the Python reference.
RESTART_PAIRS = [(i, i) for i in IMPLEMENTATIONS] + [
    pair for other in OTHERS for pair in (("python", other), (other, "python"))
]


@pytest.mark.parametrize(("first", "second"), RESTART_PAIRS)
def test_hit_counts_continue_across_processes(
    drivers: dict[str, Driver | str], states: Iterator[Path], first: str, second: str
) -> None:
    state = next(states)
    arm(state, Failpoint("Restart.hit", "trace", nth=4, count=3))
    for impl in (first, second):
        assert driver(drivers, impl).run([hit("Restart.hit")] * 5, state).returncode == 0
    records = finish_records(state)
    assert [r["hit"] for r in records] == list(range(1, 11))
    assert [r["hit"] for r in records if r["fired"]] == [4, 5, 6]
    assert len({r["pid"] for r in records}) == 2


def finish_records(state: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (state / "ledger.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_concurrent_processes_count_every_hit_once(
    drivers: dict[str, Driver | str], states: Iterator[Path], name: str
) -> None:
    state = next(states)
    arm(state, Failpoint("Busy.hit", "trace", count=None))
    procs = [driver(drivers, name).start([hit("Busy.hit")] * 100, state) for _ in range(4)]
    for proc in procs:
        proc.communicate(timeout=30)
        assert proc.returncode == 0
    hits = sorted(r["hit"] for r in finish_records(state))
    assert hits == list(range(1, 401))  # unique numbers: the descriptor's offset, not the size
    assert Failpoints(state / "failpoints").hits("Busy.hit") == 400


# -- PROTOCOL.md cannot drift from the Python writer ----------------------------------


def documented_fields(heading: str) -> set[str]:
    """First-column names of the table under ``### `heading```."""
    text = PROTOCOL.read_text()
    match = re.search(rf"^### `{re.escape(heading)}`\n(.*?)(?=^#)", text, re.S | re.M)
    assert match, f"PROTOCOL.md has no section ### `{heading}`"
    return set(re.findall(r"^\| `([^`]+)` \|", match.group(1), re.M))


def test_protocol_md_lists_exactly_the_fields_python_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LEDGER_ENV, str(tmp_path / "ledger.jsonl"))
    monkeypatch.setenv(FAILPOINTS_ENV, str(tmp_path / "failpoints"))
    armed = arm(tmp_path, Failpoint("Doc.hit", "trace"))

    @recorded_activity
    def activity(ctx: object, _input: object) -> None:
        effect("payment.charged", "o-1", application="k#1", cents=1)
        failpoint("Doc.hit")

    inner = SimpleNamespace(task_execution_id="t")
    activity(SimpleNamespace(workflow_id="wf", task_id=1, get_inner_context=lambda: inner), None)
    written: dict[str, set[str]] = {}
    for line in (tmp_path / "ledger.jsonl").read_text().splitlines():
        record = json.loads(line)
        written.setdefault(record["type"], set()).update(record)
    assert set(written) == {"invocation", "invocation_end", "effect", "failpoint"}
    for record_type, fields in written.items():
        assert documented_fields(record_type) == fields, record_type

    arming = json.loads((armed.directory / "armed.json").read_text())
    assert documented_fields("armed.json") == set(arming["Doc.hit"])
    actions = re.findall(r"^\| `(\w+)` \| ", PROTOCOL.read_text().split("### Actions")[1], re.M)
    assert tuple(actions) == ACTIONS
    assert {LEDGER_ENV, FAILPOINTS_ENV} <= set(
        re.findall(r"`(DAPR_CHAOS_\w+)`", PROTOCOL.read_text())
    )


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_a_pause_holds_the_caller_before_the_failpoint_returns(
    drivers: dict[str, Driver | str], states: Iterator[Path], name: str
) -> None:
    # A pause is the calling thread's own stop: the code after the failpoint must not run
    # until the time is up. A SIGSTOP sent to the process lands on any thread, and the
    # caller ran on until the stop reached it (CI saw a Go pause of 0.4 s return in 1.6 ms).
    state = next(states)
    arm(state, Failpoint("Slow.before", "pause", seconds=0.05, count=None))
    run = driver(drivers, name).run([hit("Slow.before")] * 30, state)
    assert run.returncode == 0, run.stderr
    short = [r["elapsed"] for r in run.reports if r["elapsed"] < 0.045]
    assert len(run.reports) == 30 and not short, short
