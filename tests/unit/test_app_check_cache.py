"""Hosted code that passed its check is not imported again in the same process (a deploy
of a version its scenario checked before the stack started acts at once); a failed check
is run again (the code may be fixed meanwhile). No real import: the child is a stand-in."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from harness.errors import ConfigError
from harness.stack import app_check
from harness.stack.config import hosted_app

REGISTRY = {"workflows": ["wf"], "activities": ["a1"]}


def counting(monkeypatch: pytest.MonkeyPatch, returncode: int) -> list[list[str]]:
    calls: list[list[str]] = []

    def run(argv: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        out = json.dumps(REGISTRY) if returncode == 0 else ""
        err = "" if returncode == 0 else "dapr-chaos host: error: no module named nowhere"
        return subprocess.CompletedProcess(argv, returncode, out, err)

    monkeypatch.setattr(app_check.subprocess, "run", run)
    monkeypatch.setattr(app_check, "_CHECKED", {})
    return calls


def test_a_passed_check_is_answered_from_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch, 0)
    spec = hosted_app("somewhere.app:wfr")
    first = app_check.check_hosted_code(spec, "orders")
    first["workflows"].append("changed by the caller")  # a copy: the cache is not touched
    assert app_check.check_hosted_code(spec, "orders") == REGISTRY
    assert len(calls) == 1
    other = hosted_app("somewhere.app:wfr", env={"VARIANT": "b"})
    assert app_check.check_hosted_code(other, "orders") == REGISTRY
    assert len(calls) == 2  # other environment: checked on its own


def test_a_failed_check_runs_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch, 1)
    spec = hosted_app("nowhere:wfr")
    for _ in range(2):
        with pytest.raises(ConfigError, match="no module named nowhere"):
            app_check.check_hosted_code(spec, "orders")
    assert len(calls) == 2
