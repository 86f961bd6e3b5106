"""Hooks of the dapr-chaos pytest plugin: the documented extension points.

Implement any of them in a ``conftest.py`` (or a plugin of your own), by name as pytest
requires (``pytest_`` first); the plugin registers these specifications at start-up. Each
hook's docstring states its contract. Nothing here imports the harness's heavy parts: the
names are for type checkers only.

Example, a check of your own on every ``chaos.verify``::

    from harness import CheckResult, Verdict

    def pytest_dapr_chaos_add_checks(history):
        late = [i for i, s in history.statuses.items() if s and s.runtime_status == "FAILED"]
        return [CheckResult("no-failures", Verdict.FAIL if late else Verdict.PASS,
                            f"{len(late)} failed instance(s)", late)]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from harness.checks.result import CheckResult
    from harness.record.history import History
    from harness.scenario.outcome import ScenarioOutcome
    from harness.stack.config import StackConfig


@pytest.hookspec(firstresult=True)
def pytest_dapr_chaos_configure_stack(
    config: pytest.Config, stack_config: StackConfig
) -> StackConfig | None:
    """Called once per session (per pytest-xdist worker) before the ``dapr_stack``
    fixture starts its stack, with the :class:`~harness.StackConfig` the options describe.
    Return a replacement (e.g. ``dataclasses.replace(stack_config, app=...)``) or None to
    keep it; the first non-None result wins. Raise ``pytest.UsageError`` for a
    configuration you refuse."""


@pytest.hookspec
def pytest_dapr_chaos_add_checks(history: History) -> list[CheckResult] | None:
    """Called after the standard checks of every verification the plugin's fixtures make
    (``chaos.verify`` / ``chaos.assert_ok``, scenario files), with the run's
    :class:`~harness.History`. Return extra :class:`~harness.CheckResult`\\ s; they join
    the verification and decide its verdict like the built-in ones. Must be pure: read the
    history, do not act on the stack."""


@pytest.hookspec
def pytest_dapr_chaos_scenario_outcome(outcome: ScenarioOutcome, report_dir: Path) -> None:
    """Called after each scenario file ran as a test, with its outcome (verdict, checks,
    timeline, metrics) and the report directory of the session (written at session
    end). For notifications, dashboards, or collecting numbers; the return value is
    ignored."""
