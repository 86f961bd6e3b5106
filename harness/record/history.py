"""The history of one chaos run: the single input of every checker.

What was attempted (orders accepted, refused, or with no answer), what was observed at
the end (each order's final state, the business state, daprd metadata), what the app
recorded (the ledger), and what the harness did (the timeline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.record.ledger import Ledger
from harness.record.timeline import Timeline
from harness.workload.orders import Order, OrderStatus


@dataclass
class History:
    accepted: dict[str, Order]
    statuses: dict[str, OrderStatus | None]
    ledger: Ledger
    timeline: Timeline
    uncertain: dict[str, Order] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    business_state: dict[str, dict[str, int]] | None = None
    metadata: dict[str, Any] | None = None
    last_events: dict[str, str] = field(default_factory=dict)
    worker_findings: list[str] = field(default_factory=list)
    # Upstream misbehaviour the harness recognised and recovered from (reported, not blamed
    # on the app).
    known_findings: list[str] = field(default_factory=list)
    # Workflow history files (<run dir>/histories/<id>.pb, with a readable .json beside)
    # of this run's orders, recorded at verify time, and the workflow code
    # ("MODULE[:ATTR]") the replay check replays them against.
    histories: list[Path] = field(default_factory=list)
    workflows: str | None = None
