"""Golden histories recorded on the real stack by running the ORIGINAL workflows
(tests/replay/apps/shop.py) as the app, once per pytest worker."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import InstanceReader, Stack, StackConfig, record_histories

SHOP = Path(__file__).resolve().parent / "apps" / "shop.py"
PREFIX = "golden-"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/replay" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@dataclass(frozen=True)
class Recorded:
    """The stack the originals ran on (still up) and their recorded history files."""

    stack: Stack
    directory: Path

    def path(self, suffix: str) -> Path:
        """The history file of instance ``golden-<suffix>`` (e.g. "shop-1")."""
        return self.directory / f"{PREFIX}{suffix}.pb"


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    directory = tmp_path_factory.mktemp("golden")
    with Stack(StackConfig(app=None)) as stack:
        status = stack.run_command([sys.executable, str(SHOP), PREFIX], timeout=120)
        assert status == 0, f"the original workflows did not all complete (exit {status})"
        reader = InstanceReader(stack.ports["daprd_grpc"], stack.api_token)
        try:
            record_histories(reader, directory)
        finally:
            reader.close()
        yield Recorded(stack, directory)
