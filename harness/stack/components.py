"""Render the Dapr component templates in ``components/`` into a run directory.

Templates are YAML files with ``${name}`` placeholders (string.Template). Every
placeholder must be provided: a missing one is a ConfigError naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from string import Template

from harness.errors import ConfigError

# The repository's components/, shipped in the package (harness/_shipped/components is a
# symlink to it in a checkout and a copy in a wheel).
DEFAULT_TEMPLATES = Path(__file__).resolve().parents[1] / "_shipped" / "components"


def render_components(templates: Path, out_dir: Path, values: Mapping[str, str]) -> list[Path]:
    """Write each ``*.yaml`` of ``templates`` into ``out_dir`` (0700) with ``values`` filled in."""
    if not templates.is_dir():
        raise ConfigError(
            f"component templates directory {templates} does not exist; pass an existing "
            "directory of Dapr component YAML templates"
        )
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = []
    for template in sorted(templates.glob("*.yaml")):
        try:
            text = Template(template.read_text()).substitute(values)
        except KeyError as exc:
            raise ConfigError(
                f"{template}: placeholder ${{{exc.args[0]}}} has no value; known placeholders: "
                + ", ".join(sorted(values))
            ) from exc
        except ValueError as exc:
            raise ConfigError(f"{template}: bad placeholder syntax: {exc}") from exc
        target = out_dir / template.name
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        written.append(target)
    if not written:
        raise ConfigError(f"no *.yaml component templates in {templates}")
    return written
