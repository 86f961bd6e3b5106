"""`dapr-chaos run` end to end: a passing and a failing scenario on the real stack, the
exit status, the journal, junit.xml, and the HTML report as headless Chromium renders it."""

from __future__ import annotations

import functools
import json
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness import Settings
from tests.commands import run_cli

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "scenarios"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Read before pytester points HOME at a temp dir (the inner run would rebuild Dapr there).
CACHE = str(Settings.from_env().cache_dir)


cli = functools.partial(run_cli, timeout=300)


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """One real run of two scenarios: a latency fault on the correct app (passes) and a
    crash after the charge on the non-idempotent app (exactly-once fails)."""
    root = tmp_path_factory.mktemp("reports")
    done = cli(
        "run",
        str(HERE / "short-latency.yaml"),
        str(HERE / "duplicate-charge.yaml"),
        "--report",
        str(root),
        "--name",
        "mixed",
    )
    return done.returncode, done.stdout + done.stderr, (root / "latest").resolve()


def journal_of(report: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((report / "journal.json").read_text())
    return data


def test_a_failing_check_exits_1_and_the_journal_says_which_and_why(
    failing_run: tuple[int, str, Path],
) -> None:
    status, output, report = failing_run
    assert status == 1, output
    assert "verdict: FAIL" in output
    journal = journal_of(report)
    assert journal["schema"] == "dapr-chaos/journal/v1"
    assert journal["verdict"] == "fail" and journal["deviated"] is True
    assert journal["status"] == "completed"
    assert journal["versions"]["dapr_runtime"] == "1.18.3"
    assert journal["versions"]["sdk"]["dapr-ext-workflow"] == "1.18.3"
    by_name = {sc["name"]: sc for sc in journal["scenarios"]}
    assert by_name["short-latency"]["verdict"] == "pass", by_name["short-latency"]["checks"]
    bad = by_name["duplicate-charge"]
    assert bad["verdict"] == "fail" and bad["deviated"] is True
    assert bad["seed"] == 5
    failed = [c for c in bad["checks"] if c["verdict"] == "fail"]
    assert [c["name"] for c in failed] == ["exactly-once"]
    assert any("payment.charged" in line for line in failed[0]["evidence"]), failed[0]
    # The failing order is named, with its workflow history from daprd.
    assert bad["failing_orders"], bad
    order = bad["failing_orders"][0]
    assert order["named_by"] == ["exactly-once"]
    events = [row["event"] for row in order["history"]]
    assert events[0] == "workflowStarted" or "executionStarted" in events
    assert "taskScheduled" in events and "executionCompleted" in events
    # The fault timeline is in the journal, relative to the scenario start.
    windows = by_name["short-latency"]["timeline"]["windows"]
    assert [(w["kind"], w["target"]) for w in windows] == [("latency", "daprd->valkey")]
    assert 0 <= windows[0]["start_s"] < windows[0]["end_s"]
    fired = [h for h in bad["failpoint_hits"] if h["fired"]]
    assert [h["name"] for h in fired] == ["charge_payment.after_effect"]
    for path in bad["logs"].values():
        assert (report / path).is_file()
    # Coverage: what each scenario exercised, and over the run.
    cov = bad["coverage"]
    assert cov["executions"]["charge_payment"] >= 2  # run again after the crash
    assert cov["failpoints"]["charge_payment.after_effect"]["fired"] == 1
    latency = by_name["short-latency"]["coverage"]["faults"]
    assert [(f["kind"], f["target"]) for f in latency] == [("latency", "daprd->valkey")]
    assert journal["coverage"]["instances"] >= 2
    assert "coverage" in {c["name"] for c in by_name["short-latency"]["checks"]}


def test_junit_xml_parses_with_one_case_per_scenario(failing_run: tuple[int, str, Path]) -> None:
    _, _, report = failing_run
    root = ET.parse(report / "junit.xml").getroot()
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"short-latency", "duplicate-charge"}
    failure = cases["duplicate-charge"].find("failure")
    assert failure is not None and "exactly-once" in (failure.get("message") or "")
    assert cases["short-latency"].find("failure") is None


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (make test installs it as root)")
def test_the_html_report_renders_in_headless_chromium(
    failing_run: tuple[int, str, Path], tmp_path: Path
) -> None:
    from PIL import Image

    _, _, report = failing_run
    page = (report / "index.html").as_uri()
    assert CHROMIUM is not None
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(
        [*flags, "--dump-dom", page], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert '<table id="verdicts">' in dom
    assert dom.count('class="plot timeline"') == 2
    assert 'class="fault-window"' in dom and 'class="failpoint-hit"' in dom
    assert 'class="history"' in dom  # the failing order's workflow history table
    # What each scenario exercised, and the whole run: activities, paths, faults on work.
    assert 'id="run-coverage"' in dom
    assert dom.count("<h3>Coverage</h3>") == 2
    assert "paths taken (instances)" in dom and "activity executions" in dom
    shot = tmp_path / "report.png"
    subprocess.run(
        [*flags, "--window-size=1200,1600", f"--screenshot={shot}", page],
        capture_output=True,
        timeout=60,
        check=True,
    )
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 1600)
    colors = image.getcolors(maxcolors=1 << 20) or []
    # Rendered, not blank: the verdict badges, the series lines and the fault shading.
    assert len(colors) > 50

    def seen(rgb: tuple[int, int, int], tolerance: int = 12) -> int:
        return sum(
            n
            for n, c in colors
            if isinstance(c, tuple)
            and all(abs(a - b) <= tolerance for a, b in zip(c, rgb, strict=True))
        )

    assert seen((0xCF, 0x22, 0x2E)) > 100  # the red FAIL badge
    assert seen((0x1A, 0x7F, 0x37)) > 100  # green PASS badges
    assert seen((249, 204, 204), tolerance=8) > 500  # the shaded fault window


def test_a_typo_in_a_scenario_is_rejected_with_file_and_line_before_anything_starts(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "typo.scenario.yaml"
    bad.write_text(
        "name: typo\nworkload:\n  orders: 5\nfaults:\n  - action: kill\n    targett: app\n"
        "    trigger: {at: 1}\n"
    )
    done = cli("run", str(bad), "--report", str(tmp_path / "reports"), timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{bad}:6: unknown key 'targett' in a fault; allowed:" in done.stderr
    assert "target" in done.stderr
    assert "stack ready" not in done.stderr + done.stdout
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


pytest_plugins = ["pytester"]


def test_scenario_files_run_as_pytest_items_with_a_report_at_session_end(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAPR_CHAOS_CACHE", CACHE)
    text = (HERE / "short-latency.yaml").read_text().replace("short-latency", "as-pytest-item")
    pytester.path.joinpath("latency.scenario.yaml").write_text(text)
    pytester.path.joinpath("broken.scenario.yaml").write_text("name: broken\nseed: ten\n")
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-v",
        "--continue-on-collection-errors",
        "--dapr-chaos-report",
        "out",
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*latency.scenario.yaml::as-pytest-item PASSED*"])
    result.stdout.fnmatch_lines(["*broken.scenario.yaml:2: seed must be an integer, got 'ten'*"])
    result.stdout.fnmatch_lines(["dapr-chaos scenario report: *index.html"])
    journal = json.loads((pytester.path / "out" / "latest" / "journal.json").read_text())
    assert [sc["name"] for sc in journal["scenarios"]] == ["as-pytest-item"]
    assert journal["verdict"] == "pass"


def test_ctrl_c_stops_the_run_writes_a_partial_report_and_leaves_nothing(tmp_path: Path) -> None:
    from tests.integration.leftovers import child_processes
    from tests.integration.test_cli import runs_of

    root = tmp_path / "reports"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            str(HERE / "short-latency.yaml"),
            str(ROOT / "scenarios" / "valkey-link-down.scenario.yaml"),
            "--report",
            str(root),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # interrupt the second scenario mid-chaos
        if line.startswith("[2/2]"):
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out = line + proc.stdout.read()
    assert proc.wait(timeout=60) == 130, out
    assert "stopped early; report of the 1 finished run(s)" in out
    journal = json.loads(next(root.glob("*/journal.json")).read_text())
    assert journal["status"] == "aborted"
    assert [sc["name"] for sc in journal["scenarios"]] == ["short-latency"]
    assert runs_of(proc.pid) == []
    assert proc.pid not in child_processes()


def test_repeat_runs_a_scenario_n_times_with_fresh_instance_ids(tmp_path: Path) -> None:
    done = cli("run", str(HERE / "short-latency.yaml"), "--repeat", "2", "--report", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[1/2] short-latency #1" in done.stdout and "[2/2] short-latency #2" in done.stdout
    journal = journal_of((tmp_path / "latest").resolve())
    runs = journal["scenarios"]
    assert [sc["label"] for sc in runs] == ["short-latency #1", "short-latency #2"]
    assert runs[0]["instance_prefix"] != runs[1]["instance_prefix"]
    assert all(sc["metrics"]["orders_accepted"] == 10 for sc in runs)
