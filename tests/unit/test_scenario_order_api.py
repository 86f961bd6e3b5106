"""``app.order_api`` and ``app.builtin`` in scenario files, ``--app`` / ``--order-api`` on
the CLI, and the AppSpec a campaign builds from them."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from harness.cli import options
from harness.cli.run import DEFAULT_SCENARIOS, with_app, with_order_api
from harness.errors import ConfigError, ProvisionError
from harness.record.order_shape import ORIGINAL, REFERENCE, OrderShape
from harness.scenario.campaign import app_spec
from harness.scenario.parse import load_all, parse_scenario
from harness.settings import Settings

pytest_plugins = ["pytester"]


def parse(app: str, extra: str = "") -> object:
    return parse_scenario(f"name: x\napp:\n{app}{extra}", "s.yaml")


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_scenario(text, "s.yaml")
    return str(info.value)


def test_order_api_by_name_or_as_a_mapping() -> None:
    named = parse_scenario("name: x\napp: {order_api: original}\n", "s.yaml")
    assert named.app.order_api is ORIGINAL and named.app.shape is ORIGINAL
    mapping = parse_scenario(
        "name: x\n"
        "app:\n"
        "  command: ./my-app\n"
        "  order_api:\n"
        "    field: outcome\n"
        "    approved: [OK, DONE]\n"
        "    rejected_prefix: Refused\n",
        "s.yaml",
    )
    assert mapping.app.shape == OrderShape(
        "custom", "outcome", ("OK", "DONE"), rejected_prefixes=("Refused",)
    )
    default = parse_scenario("name: x\n", "s.yaml")
    assert default.app.order_api is None and default.app.shape is REFERENCE


def test_the_seed_go_builtin_speaks_the_original_shape() -> None:
    sc = parse_scenario(
        "name: x\napp: {builtin: seed-go, variant: payment-not-idempotent}\n", "s.yaml"
    )
    assert sc.app.seed_go and not sc.app.reference and sc.runs_reference_app
    assert sc.app.shape is ORIGINAL and sc.app.workflow_code is None
    assert sc.app.links == ()  # it reads Valkey directly: no app->store proxy
    assert sc.app.describe() == "seed-go order app (payment-not-idempotent)"
    assert sc.stack_key != parse_scenario("name: x\n", "s.yaml").stack_key


def test_written_back_order_api_loads_to_the_same_app() -> None:
    for app in (
        "{builtin: seed-go}",
        "{order_api: original}",
        "{command: ./a, order_api: {field: s, approved: Y, rejected: [N]}}",
    ):
        sc = parse_scenario(f"name: x\napp: {app}\n", "s.yaml")
        again = parse_scenario(sc.as_yaml(), "again.yaml")
        assert again.app == sc.app, app


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: x\napp:\n  order_api: seed\n",
            "s.yaml:3: app.order_api: unknown order API shape 'seed'; use one of reference, "
            "original",
        ),
        (
            "name: x\napp:\n  order_api:\n    approved: OK\n    rejected: NO\n",
            "s.yaml:4: app.order_api.field is required",
        ),
        (
            "name: x\napp:\n  order_api: {field: s, approved: OK, rejected: NO, nope: 1}\n",
            "s.yaml:3: app.order_api has unknown key(s) nope; allowed: field, approved,",
        ),
        (
            "name: x\napp:\n  order_api: {field: s, approved: 7, rejected: NO}\n",
            "s.yaml:3: app.order_api.approved must be a string or a list of non-empty strings",
        ),
        (
            "name: x\napp:\n  order_api: {field: s, approved: OK}\n",
            "s.yaml:3: app.order_api: order API shape 'custom': give rejected values",
        ),
        ("name: x\napp:\n  order_api: [original]\n", "s.yaml:3: app.order_api: must be one of"),
        ("name: x\napp:\n  order_api: 3\n", "s.yaml:3: app.order_api must be a string, got '3'"),
        (
            "name: x\napp: {builtin: seed-gone}\n",
            "s.yaml:2: app.builtin 'seed-gone' is unknown; allowed: reference, seed-go",
        ),
        (
            "name: x\napp: {builtin: seed-go, variant: loses-orders}\n",
            "s.yaml:2: app.variant of seed-go 'loses-orders' is unknown; allowed: correct, "
            "payment-not-idempotent",
        ),
        (
            "name: x\napp: {command: ./a, builtin: seed-go}\n",
            "s.yaml:2: app.builtin names a built-in order app to run; drop it, or command",
        ),
        (
            "name: x\napp: {builtin: seed-go}\nchecks: [exactly-once, replay]\n",
            "s.yaml:3: the replay check replays Python workflow code; the seed-go app is Go",
        ),
        (
            "name: x\napp: {builtin: seed-go}\nfaults:\n"
            "  - {action: down, target: app->store, trigger: {at: 1}, duration: 1}\n",
            "s.yaml:4: down target 'app->store' is unknown",
        ),
    ],
)
def test_bad_order_api_and_builtin_name_file_line_and_field(text: str, expected: str) -> None:
    assert expected in error_of(text)


def test_run_app_seed_go_replaces_the_reference_app_and_drops_replay() -> None:
    shipped = load_all([DEFAULT_SCENARIOS])
    on_go = with_app(shipped, "seed-go")
    assert all(sc.app.seed_go and sc.app.shape is ORIGINAL for sc in on_go)
    assert all("replay" not in sc.checks for sc in on_go)
    assert any("replay" in sc.checks for sc in shipped)  # it was there for the Python app
    assert on_go[0].with_variant("payment-not-idempotent").app.variant == "payment-not-idempotent"
    with pytest.raises(ConfigError, match="the seed-go app has no variant 'loses-orders'"):
        on_go[0].with_variant("loses-orders")
    own = dataclasses.replace(shipped[0], app=dataclasses.replace(shipped[0].app, command=("a",)))
    assert with_app([shipped[0], own], "seed-go")[1] is own
    with pytest.raises(ConfigError, match="none of the 1 selected"):
        with_app([own], "seed-go")
    read = with_order_api([own], ORIGINAL)
    assert read[0].app.shape is ORIGINAL


def test_a_campaign_builds_the_app_spec_with_its_shape(tmp_path: Path) -> None:
    reference = parse_scenario("name: x\n", "s.yaml")
    assert app_spec(reference).order_api is REFERENCE
    own = parse_scenario("name: x\napp: {command: ./a, order_api: original}\n", "s.yaml")
    spec = app_spec(own)
    assert spec.command == ("./a",) and spec.order_api is ORIGINAL
    # A built-in Go app is built first: without Go, and building forbidden, a clear error.
    go = parse_scenario("name: x\napp: {builtin: seed-go}\n", "s.yaml")
    settings = Settings(cache_dir=tmp_path, run_root=tmp_path, allow_build=False)
    with pytest.raises(ProvisionError, match="building is disabled"):
        app_spec(go, settings)


def test_the_order_api_option() -> None:
    assert options.order_api("original") is ORIGINAL
    custom = options.order_api('{"field": "state", "approved": "ok", "rejected": ["no"]}')
    assert custom.field == "state" and custom.rejected == ("no",)
    for bad, message in (("nope", "unknown order API shape"), ("{oops", "is not JSON")):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            options.order_api(bad)

    def value(dest: str) -> object:
        return {"order_api": ORIGINAL, "app": "./my-app"}.get(dest)

    assert options.app_spec(value).order_api is ORIGINAL
    with pytest.raises(ConfigError, match="--app seed-go is a built-in app"):
        options.app_spec(lambda d: {"app": "seed-go", "workflows": "m:x"}.get(d))


SHAPE_PROBE = """
from harness.plugin import stack_config_from

def test_shape(request):
    app = stack_config_from(request.config).app
    print("SHAPE", app.order_api.name, app.order_api.field, app.command[0])
"""


def test_the_plugin_takes_the_order_api_from_the_option_or_the_ini(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_probe=SHAPE_PROBE)
    pytester.makeini("[pytest]\ndapr_chaos_order_api = original\n")
    from_ini = pytester.runpytest_subprocess("-s", "--dapr-chaos-app", "./my-app")
    from_ini.assert_outcomes(passed=1)
    from_ini.stdout.fnmatch_lines(["*SHAPE original status ./my-app*"])
    given = pytester.runpytest_subprocess(
        "-s",
        "--dapr-chaos-app",
        "./my-app",
        "--dapr-chaos-order-api",
        '{"field": "outcome", "approved": "OK", "rejected": "NO"}',
    )
    given.stdout.fnmatch_lines(["*SHAPE custom outcome ./my-app*"])
    pytester.makeini("[pytest]\ndapr_chaos_order_api = seed\n")
    bad = pytester.runpytest_subprocess("--dapr-chaos-app", "./my-app")
    assert bad.ret != 0
    bad.stdout.fnmatch_lines(["*dapr_chaos_order_api*unknown order API shape 'seed'*"])
