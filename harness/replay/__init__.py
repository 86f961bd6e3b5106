"""Strict offline replay of recorded workflow histories (see :mod:`harness.replay.api`)."""

from __future__ import annotations

from harness.replay.api import ReplayReport as ReplayReport
from harness.replay.api import assert_replays as assert_replays
from harness.replay.api import load_workflows as load_workflows
from harness.replay.api import replay_histories as replay_histories
from harness.replay.strict import Mismatch as Mismatch

__all__ = ["Mismatch", "ReplayReport", "assert_replays", "load_workflows", "replay_histories"]
