"""A run's credentials survive every command line they are handed to."""

from __future__ import annotations

import string

from harness.cli.main import build_parser
from harness.stack.topology import Secrets


def test_run_credentials_are_48_hex_digits_and_fresh_each_run() -> None:
    seen = [Secrets.new() for _ in range(200)]
    values = [v for s in seen for v in (s.valkey_password, s.api_token)]
    assert all(len(v) == 48 and set(v) <= set(string.hexdigits) for v in values)
    assert len(set(values)) == len(values)


def test_the_printed_api_token_is_taken_by_history_export_as_a_value() -> None:
    # CI met a URL-safe token that began with "-": argparse read it as an option and
    # exited 2 ("--api-token: expected one argument"). 1000 fresh tokens must all parse.
    parser = build_parser()
    for _ in range(1000):
        token = Secrets.new().api_token
        args = parser.parse_args(
            ["history", "export", "--app-id", "a", "--out", "o", "--api-token", token]
        )
        assert args.api_token == token


def test_a_users_own_token_that_begins_with_a_dash_is_given_with_an_equals_sign() -> None:
    args = build_parser().parse_args(
        ["history", "export", "--app-id", "a", "--out", "o", "--api-token=-Xy_9"]
    )
    assert args.api_token == "-Xy_9"
