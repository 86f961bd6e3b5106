from __future__ import annotations

from pathlib import Path

import pytest

from harness import AppSpec, ConfigError, Settings, StackConfig


def test_settings_defaults_and_overrides(tmp_path: Path) -> None:
    s = Settings.from_env({"HOME": str(tmp_path)})
    assert s.cache_dir == tmp_path / ".cache" / "dapr-chaos"
    s = Settings.from_env({"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert s.cache_dir == tmp_path / "xdg" / "dapr-chaos"
    s = Settings.from_env(
        {
            "DAPR_CHAOS_CACHE": str(tmp_path / "c"),
            "DAPR_CHAOS_DAPRD": "/x/daprd",
            "DAPR_CHAOS_NO_BUILD": "1",
            "DAPR_CHAOS_KEEP": "yes",
        }
    )
    assert s.cache_dir == tmp_path / "c"
    assert s.binary_overrides == {"daprd": Path("/x/daprd")}
    assert not s.allow_build and s.keep_run_dirs


def test_settings_reject_a_non_boolean_flag() -> None:
    with pytest.raises(ConfigError, match="DAPR_CHAOS_KEEP='maybe' is not a boolean"):
        Settings.from_env({"DAPR_CHAOS_KEEP": "maybe"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"app_id": "Bad_Id"}, "app id 'Bad_Id' is invalid"),
        ({"log_level": "loud"}, "log level 'loud' is invalid"),
        ({"ready_timeout": 0}, "ready timeout must be > 0"),
        ({"stop_grace": -1}, "stop grace must be >= 0"),
    ],
)
def test_stack_config_rejects_bad_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StackConfig(**kwargs)  # type: ignore[arg-type]


def test_app_spec_rejects_an_empty_command() -> None:
    with pytest.raises(ConfigError, match="the app command is empty"):
        AppSpec(command=())
