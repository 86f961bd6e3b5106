"""The public surface is exactly what harness/__init__.py re-exports."""

from __future__ import annotations

from types import ModuleType

import harness
import harness.app


def test_public_names_are_exported_and_importable() -> None:
    for name in harness.__all__:
        assert getattr(harness, name) is not None, name
    assert "Stack" in harness.__all__ and "Orders" in harness.__all__
    assert {"OrderShape", "order_shape", "ORDER_SHAPES", "seed_go_app"} <= set(harness.__all__)
    assert issubclass(harness.AnswerMismatch, harness.WorkloadError)


def test_no_private_names_leak() -> None:
    for name in harness.__all__:  # names are imported on first use: import them all
        getattr(harness, name)
    public = {
        n
        for n, v in vars(harness).items()
        if not n.startswith(("_", "@")) and not isinstance(v, ModuleType)
    }
    assert public - {"annotations"} == set(harness.__all__)


def test_app_side_api() -> None:
    assert set(harness.app.__all__) == {
        "ActivityScope",
        "FailpointError",
        "failpoint",
        "current_scope",
        "effect",
        "idempotency_key",
        "recorded_activity",
        "task_execution_key",
    }


def test_strategies_api() -> None:
    import harness.strategies

    assert set(harness.strategies.__all__) == {
        "FaultPlan",
        "FaultSpace",
        "failpoint_faults",
        "fault_schedules",
        "link_faults",
        "member_faults",
        "run_example",
        "single_fault_sweep",
    }
    for name in harness.strategies.__all__:
        assert getattr(harness.strategies, name) is not None


def test_every_error_is_a_harness_error_with_an_exit_status() -> None:
    for cls in (
        harness.AnswerMismatch,
        harness.ConfigError,
        harness.FaultError,
        harness.PortInUseError,
        harness.ProvisionError,
        harness.StackError,
        harness.WorkloadError,
    ):
        assert issubclass(cls, harness.HarnessError)
    assert harness.ConfigError.exit_status == 2
    assert harness.PortInUseError.exit_status == 2
    assert harness.ProvisionError.exit_status == 2
    assert harness.StackError.exit_status == 1
