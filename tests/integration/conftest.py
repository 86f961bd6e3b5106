from __future__ import annotations

import pytest

from harness import Settings

pytestmark = pytest.mark.integration


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def real_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytester points HOME at a temp dir: keep an inner run on the cached binaries
    (under ~/.cache it would find none and rebuild Dapr from scratch)."""
    monkeypatch.setenv("DAPR_CHAOS_CACHE", str(Settings.from_env().cache_dir))
