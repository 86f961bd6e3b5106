"""pytest-xdist: one isolated stack per worker, proven with two workers at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import Settings

pytest_plugins = ["pytester"]

SUITE = """
import json, os, time
from pathlib import Path

SHARED = Path({shared!r})


def barrier(name: str, me: str, other: str, timeout: float = 90.0) -> dict:
    (SHARED / f"{{name}}-{{me}}.json").write_text(json.dumps({{"at": time.time()}}))
    deadline = time.monotonic() + timeout
    while not (SHARED / f"{{name}}-{{other}}.json").exists():
        assert time.monotonic() < deadline, f"worker {{other}} never reached {{name}}"
        time.sleep(0.05)
    return json.loads((SHARED / f"{{name}}-{{other}}.json").read_text())


def gw0_daprd_running() -> bool:
    pid = json.loads((SHARED / "info-gw0.json").read_text())["pids"]["daprd"]
    try:
        state = Path(f"/proc/{{pid}}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_isolated_worker(dapr_stack, chaos, orders):
    me = os.environ["PYTEST_XDIST_WORKER"]
    other = "gw1" if me == "gw0" else "gw0"
    info = {{
        "pids": {{n: m.process.pid for n, m in dapr_stack.members.items()}},
        "ports": sorted(dapr_stack.ports.as_dict().values()),
        "run_dir": str(dapr_stack.run_dir),
        "valkey_password": dapr_stack.valkey_password,
    }}
    (SHARED / f"info-{{me}}.json").write_text(json.dumps(info))
    barrier("ready", me, other)
    daprd_pid = dapr_stack.process("daprd").pid
    if me == "gw0":
        orders.submit_many(5)
        chaos.kill("daprd")  # only this worker's daprd; down until assert_ok heals it
        barrier("killed", me, other)
        barrier("worked-meanwhile", me, other, timeout=180)
        chaos.assert_ok(orders)
    else:
        ids = orders.submit_many(10)
        barrier("killed", me, other)
        ids += orders.submit_many(10)  # while gw0's daprd is down
        statuses = orders.wait_terminal(ids, timeout=120)
        # Judged while gw0's daprd is still down: the other stack's loss is not ours.
        assert not gw0_daprd_running(), "gw0's daprd came back before gw1 was judged"
        assert {{s.runtime_status for s in statuses.values()}} == {{"COMPLETED"}}
        assert dapr_stack.process("daprd").pid == daprd_pid, "gw1's daprd was touched"
        (SHARED / "gw1-unaffected").write_text("yes")
        barrier("worked-meanwhile", me, other)
"""


@pytest.fixture(autouse=True)
def _real_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # pytester points HOME at a temp dir: keep using the real binary cache.
    monkeypatch.setenv("DAPR_CHAOS_CACHE", str(Settings.from_env().cache_dir))


def test_two_workers_get_disjoint_stacks_and_a_kill_in_one_spares_the_other(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    pytester.makepyfile(test_workers=SUITE.format(shared=str(shared)))
    result = pytester.runpytest_subprocess("-n", "2", "--dist", "each", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    gw0 = json.loads((shared / "info-gw0.json").read_text())
    gw1 = json.loads((shared / "info-gw1.json").read_text())
    assert set(gw0["pids"].values()).isdisjoint(gw1["pids"].values())
    assert set(gw0["ports"]).isdisjoint(gw1["ports"])
    assert gw0["run_dir"] != gw1["run_dir"]
    assert gw0["valkey_password"] != gw1["valkey_password"]
    assert (shared / "gw1-unaffected").read_text() == "yes"
