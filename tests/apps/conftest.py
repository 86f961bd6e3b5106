"""The example apps' scenario files are pytest items too (the dapr-chaos plugin collects
``*.scenario.yaml``): ``pytest tests/apps/`` runs each correct app under its scenario.
At 10-40 s each they are ``slow``; ``make test`` proves them through
``tests/chaos/test_own_apps.py`` instead. The Go app's scenario names its binary as
``${GO_CHAIN_BINARY}``: it is built (once, cached) before that item runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harness import Settings
from harness.testing import build_go_app

GO_CHAIN = Path(__file__).resolve().parent / "go_chain"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name.endswith(".scenario.yaml") and "tests/apps" in str(item.path):
            item.add_marker(pytest.mark.slow)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.path.name != "go-chain.scenario.yaml" or os.environ.get("GO_CHAIN_BINARY"):
        return
    settings = Settings.from_env()
    if shutil.which(settings.go) is None:
        pytest.skip(f"the Go toolchain ({settings.go}) is not on PATH: cannot build go_chain")
    os.environ["GO_CHAIN_BINARY"] = str(build_go_app(settings, "go_chain", source=GO_CHAIN))
