"""Write a run's report directory: journal.json, junit.xml, index.html, reports/latest."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.report.html import write_html
from harness.report.journal import build_journal, point_latest, write_journal
from harness.report.junit import write_junit
from harness.scenario.outcome import ScenarioOutcome


def write_report(
    report: Path,
    outcomes: Sequence[ScenarioOutcome],
    *,
    name: str,
    started: float,
    ended: float,
    command: Sequence[str],
    aborted: bool = False,
) -> Path:
    """Write the three files into ``report`` (which already holds the logs) and point
    ``<report root>/latest`` at it. ``aborted``: the run was stopped before every
    scenario ran (Ctrl-C). Returns the path of index.html."""
    journal = build_journal(
        outcomes, name=name, started=started, ended=ended, command=command, aborted=aborted
    )
    write_journal(journal, report)
    write_junit(journal, report)
    page = write_html(journal, report)
    point_latest(report)
    return page
