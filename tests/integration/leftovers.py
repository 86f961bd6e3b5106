"""What a stack owns, captured while it runs, to prove nothing of it survives (the
helpers live in :mod:`harness.testing`, public for any CI that wants the same proof)."""

from __future__ import annotations

from harness.testing import Footprint, child_processes

__all__ = ["Footprint", "child_processes"]
