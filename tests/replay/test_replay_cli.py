"""`dapr-chaos history export` and `dapr-chaos replay`, run as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness import read_history
from tests.replay.conftest import PREFIX, SHOP, Recorded

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_history_export_writes_every_instance_of_a_running_stack(
    recorded: Recorded, tmp_path: Path
) -> None:
    stack = recorded.stack
    port, token = str(stack.ports["daprd_grpc"]), stack.api_token
    out = tmp_path / "exported"
    result = cli(
        "history", "export", "--app-id", "orders", "--dapr-grpc-port", port,
        "--api-token", token, "--prefix", PREFIX + "shop-", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "2 histories of app orders written" in result.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "golden-shop-1.json",
        "golden-shop-1.pb",
        "golden-shop-2.json",
        "golden-shop-2.pb",
    ]
    exported = read_history(out / "golden-shop-1.pb")
    assert exported.events == read_history(recorded.path("shop-1")).events

    wrong = cli(
        "history", "export", "--app-id", "billing", "--dapr-grpc-port", port,
        "--api-token", token, "--out", str(tmp_path / "x"),
    )  # fmt: skip
    assert wrong.returncode == 2
    assert "serves app 'orders', not 'billing'" in wrong.stderr
    assert not (tmp_path / "x").exists()

    unknown = cli(
        "history", "export", "--app-id", "orders", "--dapr-grpc-port", port,
        "--api-token", token, "--instance", "no-such-instance", "--out", str(tmp_path / "y"),
    )  # fmt: skip
    assert unknown.returncode == 2
    assert "no-such-instance" in unknown.stderr and "check the instance ids" in unknown.stderr


def test_replay_exits_0_when_clean_and_1_listing_each_mismatch(recorded: Recorded) -> None:
    shop_1, shop_2 = str(recorded.path("shop-1")), str(recorded.path("shop-2"))
    clean = cli("replay", "--workflows", str(SHOP), shop_1, shop_2)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "2 histories replayed, all clean" in clean.stdout
    assert "Registering" not in clean.stderr  # the SDK's chatter stays out of the report

    broken = cli("replay", "--workflows", "tests.replay.apps.changed:renamed_rt", shop_1, shop_2)
    assert broken.returncode == 1
    assert "2 of 2 histories do not replay (2 mismatches)" in broken.stdout
    assert (
        f"{shop_1}: instance golden-shop-1, event #2 (turn 0): activity name differs; "
        "history: activity 'reserve'"
    ) in broken.stdout
    assert "now: activity 'reserve_stock'" in broken.stdout
