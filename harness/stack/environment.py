"""The app's environment: ``${NAME}`` references in the values a user gives (its env
values and its command's arguments)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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


_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_command(command: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """``command`` with every ``${NAME}`` replaced from ``env`` (the app's environment:
    the harness's own variables and everything it inherits), e.g. ``${MY_APP_BINARY}``
    for a binary a test built. Only the braced form is a reference: any other ``$`` is
    the program's business (``sh -c 'echo $1'``). A name ``env`` lacks is a ConfigError."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(
                f"the app command {' '.join(command)!r} names ${{{name}}}, which is not set; "
                f"set {name} in the environment dapr-chaos runs in"
            )
        return env[name]

    return [_REFERENCE.sub(value, arg) for arg in command]
