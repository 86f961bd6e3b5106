"""dapr-chaos: prove that Dapr workflows survive crashes, network faults and load.

This module is the public API; everything else is private unless re-exported here. The
app-side API (for the workflow app under test) is :mod:`harness.app`, the Hypothesis
strategies are :mod:`harness.strategies`, the pytest hooks :mod:`harness.hooks`.

Names are imported on first use (PEP 562), so ``import harness`` (and the pytest plugin,
which every pytest run in a project with dapr-chaos installed loads) costs almost
nothing until a test uses the harness.
"""

from __future__ import annotations

import importlib
import os
import typing

# The harness forks only to exec (its members, Locust, the apps it starts, builds).
# grpcio 1.85's fork handlers are on by default: in the child they restart gRPC's poller,
# which aborts (SIGABRT, "epoll_wait error: Bad file descriptor") once the child closes
# its inherited descriptors before exec, grpc/grpc#43055. Seen here: a Locust worker that
# died so before it ran (status -6), and 3 of 4500 children spawned beside a gRPC channel
# (none with the handlers off). gRPC documents turning them off for fork-then-exec
# programs; it must happen before gRPC starts. The app under test gets the environment
# without it (Stack.app_env), unless it was set where dapr-chaos runs.
if "GRPC_ENABLE_FORK_SUPPORT" not in os.environ:
    os.environ["GRPC_ENABLE_FORK_SUPPORT"] = "false"
    os.environ["DAPR_CHAOS_GRPC_FORK_OFF"] = "1"

__version__ = "0.1.0"

# Public name -> the private module that defines it.
_EXPORTS: dict[str, str] = {
    # stack
    "AppSpec": "harness.stack.config",
    "Stack": "harness.stack.stack",
    "StackConfig": "harness.stack.config",
    "reference_app": "harness.stack.config",
    "seed_go_app": "harness.stack.builtin_apps",
    "reference_workflows": "harness.scenario.model",
    "Settings": "harness.settings",
    "provision_stack": "harness.runtime.provision",
    "KNOWN_REGISTRATION_RACE": "harness.stack.supervisor",
    # errors
    "AnswerMismatch": "harness.errors",
    "ConfigError": "harness.errors",
    "FaultError": "harness.errors",
    "HarnessError": "harness.errors",
    "NotDelivered": "harness.errors",
    "PortInUseError": "harness.errors",
    "ProvisionError": "harness.errors",
    "StackError": "harness.errors",
    "ToxiproxyError": "harness.errors",
    "WorkloadError": "harness.errors",
    # faults and schedules
    "Fault": "harness.faults.fault",
    "Failpoint": "harness.faults.failpoints",
    "Kill": "harness.faults.process",
    "Pause": "harness.faults.process",
    "Restart": "harness.faults.process",
    "SoftRestart": "harness.faults.process",
    "LinkDown": "harness.faults.network",
    "LinkToxic": "harness.faults.network",
    "Toxic": "harness.stack.toxiproxy",
    "Schedule": "harness.faults.schedule",
    "FaultEvent": "harness.faults.schedule",
    "At": "harness.faults.schedule",
    "OnFailpoint": "harness.faults.schedule",
    "OnCompleted": "harness.faults.schedule",
    # workloads
    "Workload": "harness.workload.protocol",
    "Order": "harness.workload.order_api",
    "OrderAPIClient": "harness.workload.order_api",
    "OrderStatus": "harness.workload.order_api",
    "Orders": "harness.workload.orders",
    "OrderShape": "harness.record.order_shape",
    "ORDER_SHAPES": "harness.record.order_shape",
    "order_shape": "harness.record.order_shape",
    "Workflows": "harness.workload.workflows",
    "WorkflowAPI": "harness.workload.workflow_api",
    "NO_EXPECTATION": "harness.workload.protocol",
    "hosted_app": "harness.stack.config",
    "LoadProfile": "harness.workload.load_config",
    # record
    "Attempt": "harness.record.history",
    "History": "harness.record.history",
    "InstanceStatus": "harness.record.history",
    "Outcome": "harness.record.history",
    "Effect": "harness.record.ledger",
    "FailpointHit": "harness.record.ledger",
    "Invocation": "harness.record.ledger",
    "Ledger": "harness.record.ledger",
    "InstanceReader": "harness.record.instances",
    "RecordedHistory": "harness.record.recorder",
    "history_rows": "harness.record.recorder",
    "read_history": "harness.record.recorder",
    "record_histories": "harness.record.recorder",
    # checks
    "CheckResult": "harness.checks.result",
    "Verdict": "harness.checks.result",
    "Verification": "harness.checks.verification",
    "SLO": "harness.checks.slo",
    "check_slos": "harness.checks.slo",
    "conservation": "harness.checks.conservation",
    # replay
    "Mismatch": "harness.replay.strict",
    "ReplayReport": "harness.replay.api",
    "assert_replays": "harness.replay.api",
    "replay_histories": "harness.replay.api",
    # experiments
    "Chaos": "harness.experiment.chaos",
    "run_schedule": "harness.experiment.schedule_run",
    "determinism": "harness.experiment.determinism",
    "LoadResult": "harness.experiment.load_result",
    "run_load": "harness.experiment.load",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> typing.Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if typing.TYPE_CHECKING:
    from harness.checks.conservation import conservation as conservation
    from harness.checks.result import CheckResult as CheckResult
    from harness.checks.result import Verdict as Verdict
    from harness.checks.slo import SLO as SLO
    from harness.checks.slo import check_slos as check_slos
    from harness.checks.verification import Verification as Verification
    from harness.errors import AnswerMismatch as AnswerMismatch
    from harness.errors import ConfigError as ConfigError
    from harness.errors import FaultError as FaultError
    from harness.errors import HarnessError as HarnessError
    from harness.errors import NotDelivered as NotDelivered
    from harness.errors import PortInUseError as PortInUseError
    from harness.errors import ProvisionError as ProvisionError
    from harness.errors import StackError as StackError
    from harness.errors import ToxiproxyError as ToxiproxyError
    from harness.errors import WorkloadError as WorkloadError
    from harness.experiment.chaos import Chaos as Chaos
    from harness.experiment.determinism import determinism as determinism
    from harness.experiment.load import run_load as run_load
    from harness.experiment.load_result import LoadResult as LoadResult
    from harness.experiment.schedule_run import run_schedule as run_schedule
    from harness.faults.failpoints import Failpoint as Failpoint
    from harness.faults.fault import Fault as Fault
    from harness.faults.network import LinkDown as LinkDown
    from harness.faults.network import LinkToxic as LinkToxic
    from harness.faults.process import Kill as Kill
    from harness.faults.process import Pause as Pause
    from harness.faults.process import Restart as Restart
    from harness.faults.process import SoftRestart as SoftRestart
    from harness.faults.schedule import At as At
    from harness.faults.schedule import FaultEvent as FaultEvent
    from harness.faults.schedule import OnCompleted as OnCompleted
    from harness.faults.schedule import OnFailpoint as OnFailpoint
    from harness.faults.schedule import Schedule as Schedule
    from harness.record.history import Attempt as Attempt
    from harness.record.history import History as History
    from harness.record.history import InstanceStatus as InstanceStatus
    from harness.record.history import Outcome as Outcome
    from harness.record.instances import InstanceReader as InstanceReader
    from harness.record.ledger import Effect as Effect
    from harness.record.ledger import FailpointHit as FailpointHit
    from harness.record.ledger import Invocation as Invocation
    from harness.record.ledger import Ledger as Ledger
    from harness.record.order_shape import ORDER_SHAPES as ORDER_SHAPES
    from harness.record.order_shape import OrderShape as OrderShape
    from harness.record.order_shape import order_shape as order_shape
    from harness.record.recorder import RecordedHistory as RecordedHistory
    from harness.record.recorder import history_rows as history_rows
    from harness.record.recorder import read_history as read_history
    from harness.record.recorder import record_histories as record_histories
    from harness.replay.api import ReplayReport as ReplayReport
    from harness.replay.api import assert_replays as assert_replays
    from harness.replay.api import replay_histories as replay_histories
    from harness.replay.strict import Mismatch as Mismatch
    from harness.runtime.provision import provision_stack as provision_stack
    from harness.scenario.model import reference_workflows as reference_workflows
    from harness.settings import Settings as Settings
    from harness.stack.builtin_apps import seed_go_app as seed_go_app
    from harness.stack.config import AppSpec as AppSpec
    from harness.stack.config import StackConfig as StackConfig
    from harness.stack.config import hosted_app as hosted_app
    from harness.stack.config import reference_app as reference_app
    from harness.stack.stack import Stack as Stack
    from harness.stack.supervisor import KNOWN_REGISTRATION_RACE as KNOWN_REGISTRATION_RACE
    from harness.stack.toxiproxy import Toxic as Toxic
    from harness.workload.load_config import LoadProfile as LoadProfile
    from harness.workload.order_api import Order as Order
    from harness.workload.order_api import OrderAPIClient as OrderAPIClient
    from harness.workload.order_api import OrderStatus as OrderStatus
    from harness.workload.orders import Orders as Orders
    from harness.workload.protocol import NO_EXPECTATION as NO_EXPECTATION
    from harness.workload.protocol import Workload as Workload
    from harness.workload.workflow_api import WorkflowAPI as WorkflowAPI
    from harness.workload.workflows import Workflows as Workflows
