"""The Go task-chaining test app (tests/apps/go_chain), built with build_go_app from a
source directory, run as the stack's app and started over daprd's gRPC workflow API."""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2 as pb
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2_grpc as stubs
from google.protobuf.wrappers_pb2 import StringValue

from harness import AppSpec, Chaos, Failpoint, Ledger, Settings, Stack, StackConfig
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


def status_name(state: Any) -> str:
    """``COMPLETED`` for ORCHESTRATION_STATUS_COMPLETED, and so on."""
    enum = state.DESCRIPTOR.fields_by_name["workflowStatus"].enum_type
    return str(enum.values_by_number[state.workflowStatus].name).removeprefix(
        "ORCHESTRATION_STATUS_"
    )


def test_the_chain_runs_its_three_steps_in_order_and_records_them(go_chain: Path) -> None:
    config = StackConfig(app=AppSpec(command=(str(go_chain),)), proxies=False)
    with Stack(config) as stack:
        Chaos(stack).arm_failpoint(Failpoint("*", "trace", count=None))  # record every hit
        channel = grpc.insecure_channel(stack.grpc_endpoint)
        hub = stubs.TaskHubSidecarServiceStub(channel)
        token = (("dapr-api-token", stack.api_token),)
        hub.StartInstance(
            pb.CreateInstanceRequest(
                instanceId="c-1", name="chain", input=StringValue(value='"x"')
            ),
            metadata=token,
            timeout=10,
        )
        deadline = time.monotonic() + 60
        while True:
            state = hub.GetInstance(
                pb.GetInstanceRequest(instanceId="c-1", getInputsAndOutputs=True),
                metadata=token,
                timeout=10,
            ).workflowState
            status = status_name(state)
            if status == "COMPLETED":
                break
            assert status in ("PENDING", "RUNNING"), state
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
        channel.close()
        assert state.output.value == '"x|step1|step2|step3"'

        ledger = Ledger.read(stack.ledger_path)
        assert [i.activity for i in ledger.invocations] == list(STEPS)
        assert ledger.unfinished() == [] and ledger.torn == 0
        assert [(e.kind, e.subject, e.application) for e in ledger.effects] == [
            ("chain.appended", "c-1", f"c-1:{step}") for step in STEPS
        ]
        assert [f.name for f in ledger.failpoints] == [
            f"{step}.{place}" for step in STEPS for place in ("before", "after")
        ]
