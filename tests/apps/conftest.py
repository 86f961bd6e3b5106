"""The example apps' scenario files are pytest items too (the dapr-chaos plugin collects
``*.scenario.yaml``): ``pytest tests/apps/python/`` runs each correct app under its
scenario. At 20-40 s each they are ``slow``; ``make test`` proves them through
``tests/chaos/test_own_apps.py`` instead."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name.endswith(".scenario.yaml") and "tests/apps" in str(item.path):
            item.add_marker(pytest.mark.slow)
