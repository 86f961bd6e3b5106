from __future__ import annotations

import stat
from pathlib import Path

import pytest

from harness import ConfigError
from harness.stack.components import DEFAULT_TEMPLATES, render_components


def test_shipped_templates_render_with_the_run_values(tmp_path: Path) -> None:
    out = tmp_path / "components"
    files = render_components(
        DEFAULT_TEMPLATES,
        out,
        {"valkey_address": "127.0.0.1:20000", "valkey_password": "s3cret", "app_id": "orders"},
    )
    text = (out / "statestore.yaml").read_text()
    assert 'value: "127.0.0.1:20000"' in text and "s3cret" in text
    assert 'name: actorStateStore\n      value: "true"' in text
    assert "writeTimeout\n" not in text  # see the template: it duplicates commands
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_a_missing_placeholder_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "c.yaml").write_text("value: ${nope}\n")
    with pytest.raises(ConfigError, match=r"c.yaml: placeholder \$\{nope\} has no value"):
        render_components(tmp_path / "t", tmp_path / "o", {"app_id": "x"})


def test_a_missing_template_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        render_components(tmp_path / "absent", tmp_path / "o", {})
