"""``dapr-chaos demo`` (what ``make demo`` runs): the shipped scenario set
(``scenarios/*.scenario.yaml``) against the reference order app, with the report
written to ``reports/<timestamp>-demo/`` and ``reports/latest`` pointing at it.

It is ``dapr-chaos run scenarios/ --name demo``; ``-k`` narrows it the same way.
"""

from __future__ import annotations

from pathlib import Path

from harness.run import DEFAULT_SCENARIOS, run_command
from harness.settings import Settings


def run_demo(
    *,
    report_root: Path,
    settings: Settings,
    expr: str | None = None,
    backend: str | None = None,
    images: str | None = None,
) -> int:
    """Returns 0 when every scenario passed, 1 otherwise (see the printed report path).
    ``backend``/``images``: as in :class:`~harness.StackConfig`, for every scenario."""
    return run_command(
        [DEFAULT_SCENARIOS],
        expr=expr,
        report_root=report_root,
        repeat=1,
        settings=settings,
        name="demo",
        backend=backend,
        images=images,
        argv=["dapr-chaos", "demo"],
    )
