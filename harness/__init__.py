"""dapr-chaos: prove that Dapr workflows survive crashes, network faults and load.

This module is the public API; everything else is private unless re-exported here.
The app-side API (for the workflow app under test) is :mod:`harness.app`.
"""

from __future__ import annotations

from harness.checks.conservation import conservation as conservation
from harness.checks.determinism import determinism as determinism
from harness.checks.result import CheckResult as CheckResult
from harness.checks.result import Verdict as Verdict
from harness.checks.slo import SLO as SLO
from harness.checks.slo import check_slos as check_slos
from harness.errors import ConfigError as ConfigError
from harness.errors import FaultError as FaultError
from harness.errors import HarnessError as HarnessError
from harness.errors import PortInUseError as PortInUseError
from harness.errors import ProvisionError as ProvisionError
from harness.errors import StackError as StackError
from harness.errors import WorkloadError as WorkloadError
from harness.record.ledger import Effect as Effect
from harness.record.ledger import Invocation as Invocation
from harness.record.ledger import Ledger as Ledger
from harness.record.recorder import RecordedHistory as RecordedHistory
from harness.record.recorder import history_rows as history_rows
from harness.record.recorder import read_history as read_history
from harness.record.recorder import record_histories as record_histories
from harness.replay.api import ReplayReport as ReplayReport
from harness.replay.api import assert_replays as assert_replays
from harness.replay.api import replay_histories as replay_histories
from harness.replay.strict import Mismatch as Mismatch
from harness.runtime.provision import provision_stack as provision_stack
from harness.settings import Settings as Settings
from harness.stack.stack import AppSpec as AppSpec
from harness.stack.stack import Stack as Stack
from harness.stack.stack import StackConfig as StackConfig
from harness.stack.stack import reference_app as reference_app
from harness.workload.load import LoadProfile as LoadProfile
from harness.workload.load import LoadResult as LoadResult
from harness.workload.load import run_load as run_load
from harness.workload.orders import Order as Order
from harness.workload.orders import OrderAPIClient as OrderAPIClient
from harness.workload.orders import Orders as Orders
from harness.workload.orders import OrderStatus as OrderStatus

__version__ = "0.1.0"

__all__ = [
    "SLO",
    "AppSpec",
    "CheckResult",
    "ConfigError",
    "Effect",
    "FaultError",
    "HarnessError",
    "Invocation",
    "Ledger",
    "LoadProfile",
    "LoadResult",
    "Mismatch",
    "Order",
    "OrderAPIClient",
    "OrderStatus",
    "Orders",
    "PortInUseError",
    "ProvisionError",
    "RecordedHistory",
    "ReplayReport",
    "Settings",
    "Stack",
    "StackConfig",
    "StackError",
    "Verdict",
    "WorkloadError",
    "assert_replays",
    "check_slos",
    "conservation",
    "determinism",
    "history_rows",
    "provision_stack",
    "read_history",
    "record_histories",
    "reference_app",
    "replay_histories",
    "run_load",
]
