"""What a user installs is the wheel: build it, install it into a fresh virtualenv in a
temporary directory outside the checkout, and use it from there, as a new user would.

The virtualenv gets the wheel and its dependencies from the package index (pip's cache
makes that quick after the first time); nothing of the checkout is on its path. Inner
runs use the real binary cache (the Dapr binaries are built once per machine).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Settings

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

# An app not written for the harness: it reads what `dapr run` would give it.
PLAIN_APP = """\
import os
print("plain app sees daprd on", os.environ["DAPR_GRPC_PORT"], "app port", os.environ["APP_PORT"])
"""

# A user's task-chaining workflow, as the Dapr Python SDK's examples write one.
CHAIN_APP = """\
from dapr.ext.workflow import DaprWorkflowContext, WorkflowActivityContext, WorkflowRuntime

wfr = WorkflowRuntime()


@wfr.workflow(name="chain")
def chain(ctx: DaprWorkflowContext, text: str):
    a = yield ctx.call_activity(step1, input=text)
    b = yield ctx.call_activity(step2, input=a)
    return b


@wfr.activity(name="step1")
def step1(ctx: WorkflowActivityContext, text: str) -> str:
    return text + "-1"


@wfr.activity(name="step2")
def step2(ctx: WorkflowActivityContext, text: str) -> str:
    return text + "-2"
"""

USER_TEST = """\
import pytest

from harness import ConfigError


def test_the_chain_survives_a_crash_after_step1(chaos, workflows):
    chaos.arm("step1.after", "crash")
    first = workflows.start("chain", "a")
    chaos.wait_for_hit("step1.after")
    chaos.heal()
    second = workflows.start("chain", "b")
    chaos.assert_ok(workflows, checks=("nothing-lost", "completed", "activities"))
    outputs = {s.output for s in workflows.wait_terminal([first, second]).values()}
    assert outputs == {"a-1-2", "b-1-2"}


def test_an_unknown_workflow_lists_the_registered_ones(workflows):
    with pytest.raises(ConfigError, match="it registers: chain"):
        workflows.start("chian", "x")
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(a virtualenv with the built wheel installed, a project directory), outside the
    checkout."""
    base = tmp_path_factory.mktemp("wheel")
    assert not base.is_relative_to(ROOT)
    dist = base / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = list(dist.glob("dapr_chaos-*.whl"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)]
    install = subprocess.run(pip, capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-2000:]
    project = base / "project"
    project.mkdir()
    yield venv, project


def run(
    venv: Path, project: Path, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))},
        "DAPR_CHAOS_CACHE": str(Settings.from_env().cache_dir),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return subprocess.run(
        list(args), cwd=project, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_the_installed_package_carries_what_a_run_needs(installed: tuple[Path, Path]) -> None:
    venv, project = installed
    python = str(venv / "bin" / "python")
    probe = run(
        venv,
        project,
        python,
        "-c",
        "import harness, harness.stack.components as c, harness.cli.run as r;"
        "print(harness.__file__);"
        "print(sorted(p.name for p in c.DEFAULT_TEMPLATES.glob('*.yaml')));"
        "print(len(list(r.DEFAULT_SCENARIOS.glob('*.scenario.yaml'))))",
    )
    assert probe.returncode == 0, probe.stderr
    where, templates, scenarios = probe.stdout.splitlines()
    assert str(venv) in where and str(ROOT) not in where  # the wheel's copy, not the checkout
    assert "statestore.yaml" in templates
    assert int(scenarios) >= 10


def test_doctor_and_exec_from_the_wheel(installed: tuple[Path, Path]) -> None:
    venv, project = installed
    doctor = run(venv, project, "dapr-chaos", "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "daprd" in doctor.stdout and "ok" in doctor.stdout
    (project / "plain_app.py").write_text(PLAIN_APP)
    python = str(venv / "bin" / "python")
    proc = run(venv, project, "dapr-chaos", "exec", "--", python, "plain_app.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "plain app sees daprd on" in proc.stdout


def test_the_demo_runs_from_the_wheel(installed: tuple[Path, Path]) -> None:
    venv, project = installed
    proc = run(
        venv,
        project,
        "dapr-chaos",
        "demo",
        "-k",
        "baseline or app-crash-after-payment",
        "--report",
        str(project / "reports"),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "verdict: PASS" in proc.stdout
    assert (project / "reports" / "latest" / "index.html").is_file()


def test_a_user_pytest_project_hosts_its_own_workflow(installed: tuple[Path, Path]) -> None:
    venv, project = installed
    (project / "chain_app.py").write_text(CHAIN_APP)
    (project / "test_chain.py").write_text(USER_TEST)
    python = str(venv / "bin" / "python")
    proc = run(
        venv,
        project,
        python,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--dapr-chaos-workflows",
        "chain_app:wfr",
        "test_chain.py",
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "2 passed" in proc.stdout
