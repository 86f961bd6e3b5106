"""``MODULE[:ATTR]``: how the harness names a user's workflow code (a dotted module or a
``.py`` path, and optionally one attribute of it), for hosting and for replay.

Importing runs the user's module: any exception it raises becomes one ConfigError naming
the module, so bad input is exit status 2 with the reason, never a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from harness.errors import ConfigError


def import_target(spec: str) -> Any:
    """The module ``spec`` names, or its attribute ATTR. A dotted name is imported with
    the working directory on ``sys.path`` (as ``python -m`` would)."""
    module_name, _, attr = spec.partition(":")
    if not module_name:
        raise ConfigError(f"{spec!r} names no module; use MODULE[:ATTR]")
    try:
        if module_name.endswith(".py") or "/" in module_name:
            path = Path(module_name).resolve()
            if not path.is_file():
                raise ConfigError(f"workflow module file {path} does not exist")
            name = f"_dapr_chaos_workflows_{abs(hash(str(path)))}"
            loaded = sys.modules.get(name)
            if loaded is None:
                module_spec = importlib.util.spec_from_file_location(name, path)
                assert module_spec is not None and module_spec.loader is not None
                loaded = importlib.util.module_from_spec(module_spec)
                sys.modules[name] = loaded
                module_spec.loader.exec_module(loaded)
            module: Any = loaded
        else:
            if "" not in sys.path and str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))  # as `python -m` would
            module = importlib.import_module(module_name)
    except ConfigError:
        raise
    except Exception as exc:  # the user's module may raise anything while importing
        raise ConfigError(
            f"cannot import workflow module {module_name!r}: {type(exc).__name__}: {exc}"
        ) from exc
    if not attr:
        return module
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"module {module_name!r} has no attribute {attr!r}") from None
