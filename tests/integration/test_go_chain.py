"""The Go task-chaining test app (tests/apps/go_chain), built with build_go_app from a
source directory, run as the stack's app and driven by the workflow workload over
daprd's gRPC workflow API."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from harness import (
    AppSpec,
    Chaos,
    Failpoint,
    Ledger,
    Settings,
    Stack,
    StackConfig,
    WorkflowAPI,
    Workflows,
)
from harness.testing import build_go_app

SOURCE = Path(__file__).resolve().parents[1] / "apps" / "go_chain"
STEPS = ("step1", "step2", "step3")


@pytest.fixture(scope="module")
def go_chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = Settings.from_env()
    if shutil.which(settings.go) is None:
        pytest.skip(f"the Go toolchain ({settings.go}) is not on PATH: cannot build go_chain")
    cache = dataclasses.replace(settings, cache_dir=tmp_path_factory.mktemp("cache"))
    return build_go_app(cache, "go_chain", source=SOURCE, progress=lambda _: None)


def test_the_chain_runs_its_three_steps_in_order_and_records_them(go_chain: Path) -> None:
    config = StackConfig(app=AppSpec(command=(str(go_chain),)), proxies=False)
    with Stack(config) as stack:
        Chaos(stack).arm_failpoint(Failpoint("*", "trace", count=None))  # record every hit
        workflows = Workflows(WorkflowAPI(stack.ports["daprd_grpc"], stack.api_token), "c-")
        try:
            instance = workflows.start("chain", "x")
            status = workflows.wait_terminal([instance], timeout=60)[instance]
        finally:
            workflows.close()
        assert status.runtime_status == "COMPLETED", status
        assert status.output == "x|step1|step2|step3"

        ledger = Ledger.read(stack.ledger_path)
        assert [i.activity for i in ledger.invocations] == list(STEPS)
        assert ledger.unfinished() == [] and ledger.torn == 0
        assert [(e.kind, e.subject, e.application) for e in ledger.effects] == [
            ("chain.appended", f"{instance}/{step}", f"{instance}:{step}") for step in STEPS
        ]
        assert [f.name for f in ledger.failpoints] == [
            f"{step}.{place}" for step in STEPS for place in ("before", "after")
        ]
