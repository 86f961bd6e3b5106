"""Replay recorded histories against workflow code: the public entry points.

``workflows`` may be a ``WorkflowRuntime`` your app registers its workflows on, a
workflow function (or a list of them), a module exposing either, or a string
``"MODULE[:ATTR]"`` (a dotted module name or a ``.py`` path). ``histories`` are history
files (``.pb``, as the recorder writes them), directories of them, or
:class:`~harness.record.recorder.RecordedHistory` objects.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dapr.ext.workflow import WorkflowRuntime

from harness.app._targets import import_target
from harness.errors import ConfigError
from harness.record.recorder import SUFFIX, RecordedHistory, read_history
from harness.replay.adapter import Workflows, require_known
from harness.replay.strict import Mismatch, replay_strictly

HistorySource = str | Path | RecordedHistory


@dataclass
class ReplayReport:
    """The outcome of replaying ``histories`` histories: clean when no mismatch."""

    histories: int
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.mismatches

    @property
    def failed_instances(self) -> list[str]:
        return sorted({m.instance_id for m in self.mismatches})

    def report(self) -> str:
        if self.clean:
            return f"replay: {self.histories} histories replayed, all clean"
        lines = [
            f"replay: {len(self.failed_instances)} of {self.histories} histories do not "
            f"replay ({len(self.mismatches)} mismatches)"
        ]
        lines += [f"  - {m}" for m in self.mismatches]
        return "\n".join(lines)


# Register functions already called in this process, and what they registered.
_REGISTERED: dict[Any, Workflows] = {}


def load_workflows(workflows: Any) -> Workflows:
    """The workflow code to replay against (see the module docstring for the forms)."""
    if isinstance(workflows, Workflows):
        return workflows
    if isinstance(workflows, str):
        workflows = import_target(workflows)
    if isinstance(workflows, WorkflowRuntime):
        return Workflows.from_runtime(workflows)
    if isinstance(workflows, types.ModuleType):
        runtimes = {n: v for n, v in vars(workflows).items() if isinstance(v, WorkflowRuntime)}
        if len(runtimes) > 1:
            raise ConfigError(
                f"module {workflows.__name__} has several WorkflowRuntimes "
                f"({', '.join(sorted(runtimes))}); name one as MODULE:ATTR"
            )
        if runtimes:
            return Workflows.from_runtime(next(iter(runtimes.values())))
        return Workflows.from_namespace(workflows)
    if callable(workflows) and workflows in _REGISTERED:
        return _REGISTERED[workflows]
    if callable(workflows) and not inspect.isgeneratorfunction(workflows):
        # A function that registers the workflows on the runtime it is given (what the
        # host accepts too); one that registers nothing is a workflow function itself.
        runtime = WorkflowRuntime()
        try:
            workflows(runtime)
        except Exception as exc:  # the user's function: any failure is bad input
            raise ConfigError(
                f"calling {getattr(workflows, '__name__', workflows)} with a WorkflowRuntime "
                f"to register the workflows failed: {type(exc).__name__}: {exc}"
            ) from exc
        found = Workflows.from_runtime(runtime)
        if found.names():
            # The SDK marks every function it registered: a second call would refuse.
            _REGISTERED[workflows] = found
            return found
    if callable(workflows):
        return Workflows.from_functions([workflows])
    if isinstance(workflows, (list, tuple)) and all(callable(f) for f in workflows):
        return Workflows.from_functions(workflows)
    raise ConfigError(
        f"cannot replay against {workflows!r}: give a WorkflowRuntime, workflow functions, "
        "a module, or 'MODULE[:ATTR]'"
    )


def load_histories(histories: Iterable[HistorySource]) -> list[RecordedHistory]:
    """Read every history; a directory stands for the ``.pb`` files in it. A missing or
    corrupt file, or an empty directory, is a ConfigError."""
    loaded: list[RecordedHistory] = []
    for item in histories:
        if isinstance(item, RecordedHistory):
            loaded.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(path.glob(f"*{SUFFIX}"))
            if not files:
                raise ConfigError(f"directory {path} holds no history files (*{SUFFIX})")
            loaded.extend(read_history(f) for f in files)
        else:
            loaded.append(read_history(path))
    if not loaded:
        raise ConfigError("no histories given to replay")
    return loaded


def replay_histories(
    workflows: Any, histories: Iterable[HistorySource] | HistorySource
) -> ReplayReport:
    """Replay each history strictly against ``workflows``. Bad input (an unreadable
    history, a workflow the code does not register) raises ConfigError before anything
    is replayed; differences come back as the report's mismatches."""
    if isinstance(histories, (str, Path, RecordedHistory)):
        histories = [histories]
    code = load_workflows(workflows)
    loaded = load_histories(histories)
    for history in loaded:
        require_known(code, [history.workflow_name], history.where)
    report = ReplayReport(len(loaded))
    for history in loaded:
        report.mismatches += replay_strictly(
            code,
            history.instance_id,
            history.events,
            str(history.source) if history.source else "",
        )
    return report


def assert_replays(
    workflows: Any, histories: Sequence[HistorySource] | HistorySource
) -> ReplayReport:
    """For your CI: AssertionError listing every mismatch unless all ``histories``
    replay exactly against ``workflows``; returns the (clean) report."""
    report = replay_histories(workflows, histories)
    if not report.clean:
        raise AssertionError(report.report())
    return report
