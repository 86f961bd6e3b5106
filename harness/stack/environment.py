"""The app's environment: ``${NAME}`` references in the values a user gives."""

from __future__ import annotations

from collections.abc import Mapping
from string import Template

from harness.errors import ConfigError


def expand(values: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    """``values`` with ``${NAME}`` replaced from ``env`` (``$$`` is a literal ``$``); a
    name ``env`` lacks is a ConfigError listing the harness's variables."""
    out: dict[str, str] = {}
    for key, value in values.items():
        try:
            out[key] = Template(value).substitute(env)
        except KeyError as exc:
            names = sorted(k for k in env if k.startswith(("DAPR_", "APP_")))
            raise ConfigError(
                f"app env {key}={value!r} names ${{{exc.args[0]}}}, which is not set; the "
                f"harness sets: {', '.join(names)}"
            ) from None
        except ValueError as exc:
            raise ConfigError(f"app env {key}={value!r}: bad ${{...}} syntax ({exc})") from None
    return out
