"""``${NAME}`` in the app's command: a scenario file can name a binary a test built."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.stack.environment import expand_command


def test_braced_references_are_replaced_from_the_apps_environment() -> None:
    env = {"GO_CHAIN_BINARY": "/cache/apps/go_chain-abc/go_chain", "DAPR_GRPC_PORT": "1"}
    assert expand_command(["${GO_CHAIN_BINARY}", "--port=${DAPR_GRPC_PORT}"], env) == [
        "/cache/apps/go_chain-abc/go_chain",
        "--port=1",
    ]


def test_any_other_dollar_is_the_programs_business() -> None:
    command = ["sh", "-c", "echo $1 $HOME $$ ${not a name}"]
    assert expand_command(command, {"HOME": "/root"}) == command


def test_a_name_that_is_not_set_says_which_and_where_to_set_it() -> None:
    with pytest.raises(ConfigError, match=r"names \$\{GO_CHAIN_BINARY\}, which is not set"):
        expand_command(["${GO_CHAIN_BINARY}"], {})
