"""Container-backend tests: the same stack, faults and checks with every member in a
container. They skip, with one line, where no Docker engine answers (``make test``
starts one as root on Debian: ``.ci/docker-engine.sh``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from harness import HarnessError, Settings, Stack
from harness.plugin import stack_config_from
from harness.testing import build_images, engine_problem


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/containers" in str(item.fspath):
            item.add_marker(pytest.mark.containers)
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """A running engine with the local images built (idempotent: ~0.1 s when current)."""
    problem = engine_problem()
    if problem is not None:
        pytest.skip(problem)
    build_images(Settings.from_env(), progress=lambda _line: None)


@pytest.fixture(scope="session")
def dapr_stack(docker_engine: None, request: pytest.FixtureRequest) -> Iterator[Stack]:
    """The session stack of these tests: containers, local images (no registry here)."""
    config = dataclasses.replace(
        stack_config_from(request.config), backend="containers", images="local"
    )
    try:
        stack = Stack(config, settings=Settings.from_env())
        stack.start()
    except HarnessError as exc:
        pytest.fail(f"dapr-chaos could not start the container stack: {exc}", pytrace=False)
    try:
        yield stack
    finally:
        stack.stop()
