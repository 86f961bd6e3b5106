"""Hypothesis strategies for fault schedules, to compose in your own tests (public).

A :class:`FaultSpace` says what a stack offers to break: the app's failpoints (with how
often a fault-free run hits each), the members that can be killed, paused or restarted,
and the proxied links. :func:`fault_schedules` draws a :class:`FaultPlan` from it: a list
of faults, each either a failpoint armed with an action (a crash exactly mid-activity)
or a process/network fault whose trigger is an *event* (the Nth hit of a failpoint, the
Nth terminal order) rather than a wall-clock time, so the same plan does the same thing
on a fast or a slow machine. Plans shrink towards fewer, simpler faults: fewer entries,
crash before other actions, the first hit, the shortest duration.

One example is one run on a reused stack with fresh instance ids::

    from hypothesis import given, settings
    from harness.strategies import FaultSpace, fault_schedules, run_example

    @settings(settings.get_profile("dapr-chaos-ci"))
    @given(plan=fault_schedules(FaultSpace.reference()))
    def test_orders_survive_generated_faults(dapr_stack, plan):
        verification = run_example(dapr_stack, plan)
        assert verification.passed, verification.report()

``dapr-chaos explore`` runs the same search from the command line, shrinks a failure and
writes it as a scenario file. Profiles ``dapr-chaos-ci`` (derandomized, 10 examples) and
``dapr-chaos-deep`` (200 examples) are registered with Hypothesis on import.

Durations are seconds; latencies are milliseconds.
"""

from __future__ import annotations

from harness.explore.example import run_example as run_example
from harness.explore.strategies import FaultPlan as FaultPlan
from harness.explore.strategies import FaultSpace as FaultSpace
from harness.explore.strategies import failpoint_faults as failpoint_faults
from harness.explore.strategies import fault_schedules as fault_schedules
from harness.explore.strategies import link_faults as link_faults
from harness.explore.strategies import member_faults as member_faults
from harness.explore.strategies import single_fault_sweep as single_fault_sweep

__all__ = [
    "FaultPlan",
    "FaultSpace",
    "failpoint_faults",
    "fault_schedules",
    "link_faults",
    "member_faults",
    "run_example",
    "single_fault_sweep",
]
