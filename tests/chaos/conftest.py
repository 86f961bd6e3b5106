from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness import Stack, StackConfig, reference_app


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/chaos" in str(item.fspath):
            item.add_marker(pytest.mark.chaos)
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="module")
def variant_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """A stack of its own running a deliberately broken variant of the reference app
    (``ORDER_APP_VARIANT``): the test's indirect parameter, or the module's ``VARIANT``."""
    variant = getattr(request, "param", None) or request.module.VARIANT
    with Stack(StackConfig(app=reference_app(("ORDER_APP_VARIANT", variant)))) as stack:
        yield stack
