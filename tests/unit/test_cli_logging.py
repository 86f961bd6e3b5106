"""What the command line prints of Python logging: the harness's messages, not the
registrations the Dapr SDK announces when the replay check imports a user's code."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from harness.cli.main import configure_logging

NAMES = ("", "harness", "WorkflowRuntime")


@pytest.fixture
def levels() -> Iterator[None]:
    saved = {name: logging.getLogger(name).level for name in NAMES}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("levels")
def test_the_harness_speaks_at_info_and_the_sdk_only_warns() -> None:
    configure_logging(verbose=False)
    assert logging.getLogger("harness.stack").isEnabledFor(logging.INFO)
    assert not logging.getLogger("WorkflowRuntime").isEnabledFor(logging.INFO)
    assert logging.getLogger("WorkflowRuntime").isEnabledFor(logging.WARNING)


@pytest.mark.usefixtures("levels")
def test_verbose_shows_everything() -> None:
    configure_logging(verbose=True)
    assert logging.getLogger("harness.stack").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("WorkflowRuntime").isEnabledFor(logging.INFO)
