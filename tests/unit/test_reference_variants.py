"""The reference app's deliberately broken variants: the names the CLI and scenario files
offer are exactly the modules of the variants package, each module documents its mistake
and the check that catches it, patches something real, and exposes the workflow code the
replay check must use; the production modules carry no variant switch."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.reference_apps.orders import variants
from harness.replay.api import load_workflows
from harness.scenario.model import REFERENCE_VARIANTS, REFERENCE_WORKFLOWS, reference_workflows
from harness.scenario.parse import parse_scenario

APP = Path(variants.__file__).resolve().parents[1]


def test_the_offered_names_are_the_variants_package() -> None:
    assert REFERENCE_VARIANTS[0] == "correct"
    assert set(REFERENCE_VARIANTS[1:]) == set(variants.names())
    assert len(REFERENCE_VARIANTS) == len(set(REFERENCE_VARIANTS))
    assert len(variants.names()) >= 10


@pytest.mark.parametrize("variant", variants.names())
def test_each_variant_documents_its_mistake_and_its_catcher(variant: str) -> None:
    module = importlib.import_module(variants.module_of(variant))
    doc = inspect.getdoc(module) or ""
    first, _, rest = doc.partition("\n")
    assert first and rest.startswith("\n"), f"{variant}: the mistake in one line, then a blank"
    assert len(first) <= 96, first
    assert "\nCaught by: " in doc, f"{variant}: say which check catches it"
    assert callable(module.install)
    # The replay check replays against the variant's own workflow code.
    assert load_workflows(reference_workflows(variant)).has("order_processing")


def test_the_correct_app_replays_against_its_own_module() -> None:
    assert reference_workflows() == REFERENCE_WORKFLOWS
    with pytest.raises(ConfigError, match="unknown reference app variant 'nope'"):
        reference_workflows("nope")
    scenario = parse_scenario("name: x\napp: {variant: no-compensation}\n", "s.yaml")
    assert scenario.app.workflow_code == reference_workflows("no-compensation")


def test_production_modules_carry_no_variant_switch() -> None:
    for name in ("workflow.py", "store.py", "api.py"):
        source = (APP / name).read_text()
        assert "variant" not in source.lower(), name
        assert "ORDER_APP_VARIANT" not in source, name
    main = (APP / "__main__.py").read_text()
    # One generic hook; no variant is named there.
    assert not any(v in main for v in variants.names()), "__main__ names a variant"


_PATCHED = """
import sys
from harness.reference_apps.orders import api, store, workflow
from harness.reference_apps.orders.variants import install

def snapshot():
    out = {}
    for module in (api, store, workflow):
        for name, value in vars(module).items():
            out[(module.__name__, name)] = value
            for attr, member in vars(value).items() if isinstance(value, type) else ():
                out[(module.__name__, name, attr)] = member
    return out

before = snapshot()
install(sys.argv[1])
changed = sorted(".".join(k[1:]) for k, v in snapshot().items() if before.get(k) is not v)
print(" ".join(changed))
"""


def test_every_variant_patches_the_app_before_it_starts() -> None:
    procs = {
        v: subprocess.Popen(
            [sys.executable, "-c", _PATCHED, v], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for v in variants.names()
    }
    for variant, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        assert "deliberately broken variant" in out.decode(), variant
        changed = out.decode().strip().splitlines()[-1].split()
        assert changed, f"{variant} patched nothing"


def test_an_unknown_variant_exits_with_the_list() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _PATCHED, "broken-on-purpose"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "ORDER_APP_VARIANT='broken-on-purpose' is unknown; use correct or one of" in (
        proc.stderr
    )
    assert "payment-not-idempotent" in proc.stderr


def test_patch_refuses_a_name_the_app_does_not_have() -> None:
    from harness.reference_apps.orders import workflow

    with pytest.raises(AttributeError, match="no 'charge_twice' to patch"):
        variants.patch(workflow, "charge_twice", None)

    def refund_everything() -> None: ...

    with pytest.raises(AttributeError, match="no activity 'refund_everything'"):
        variants.replace_activity(refund_everything)
