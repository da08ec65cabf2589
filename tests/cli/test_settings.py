"""Every setting is read through `Settings`, and the README's table lists every one of them."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from custodes.config import SETTINGS, Settings
from custodes.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
NOT_SETTINGS = {"CUSTODES_DEBUG", "CUSTODES_OIDC_"}  # a bug-report switch; a message prefix


def _readme_settings() -> dict[str, str]:
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        match = re.match(r"^\| `(CUSTODES_[A-Z_]+)` \| ([^|]+) \|", line)
        if match:
            rows[match.group(1)] = match.group(2).strip().strip("`")
    return rows


def test_readme_table_lists_every_setting_with_its_default() -> None:
    rows = _readme_settings()
    assert set(rows) == {s.env for s in SETTINGS}
    for setting in SETTINGS:
        assert rows[setting.env] == setting.default, setting.env


def test_settings_are_read_only_in_config() -> None:
    """No module reads a CUSTODES_ variable behind Settings' back."""
    src = ROOT / "src" / "custodes"
    names: dict[str, set[str]] = {}
    for path in src.rglob("*.py"):
        for name in re.findall(r"CUSTODES_[A-Z_]+", path.read_text()):
            names.setdefault(name, set()).add(str(path.relative_to(src)))
    declared = {s.env for s in SETTINGS}
    unknown = {n: p for n, p in names.items() if n not in declared | NOT_SETTINGS}
    assert not unknown, unknown
    readers = set()
    for path in src.rglob("*.py"):
        text = path.read_text()
        # os.environ["CUSTODES_…"], os.getenv("CUSTODES_…"), and env.get("CUSTODES_…") on a
        # mapping that is os.environ in disguise.
        if re.search(r"(\.get|getenv)\(\s*[\"']CUSTODES_|\[\s*[\"']CUSTODES_", text):
            readers.add(str(path.relative_to(src)))
    assert readers <= {"config.py"}, readers


# A value for each setting that differs from its default.
SAMPLES = {
    "CUSTODES_HOME": "/srv/custodes",
    "CUSTODES_DATABASE_URL": "postgresql://db/custodes",
    "CUSTODES_LEDGER_ORIGIN": "example.org/log",
    "CUSTODES_REVEAL_LIMIT_HOUR": "7",
    "CUSTODES_REVEAL_LIMIT_DAY": "70",
    "CUSTODES_SMTP_HOST": "127.0.0.1",
    "CUSTODES_SMTP_PORT": "2525",
    "CUSTODES_LOG_LEVEL": "debug",
    "CUSTODES_WITNESS_URL": "http://127.0.0.1:9",
    "CUSTODES_WITNESS_KEYS": "w+1+AAAA",
    "CUSTODES_WEB_ORIGIN": "https://custodes.example",
    "CUSTODES_WEBAUTHN_RP_ID": "example",
    "CUSTODES_OIDC_ISSUER": "https://idp.example",
    "CUSTODES_OIDC_JWKS_URL": "https://idp.example/jwks",
    "CUSTODES_OIDC_AUDIENCE": "custodes",
    "CUSTODES_OIDC_EMPLOYEE_CLAIM": "sub",
    "CUSTODES_OIDC_LEEWAY": "5",
    "CUSTODES_OIDC_ALGORITHMS": "ES256",
}


def test_every_setting_is_read_by_settings_and_every_field_is_a_setting() -> None:
    """Each declared variable changes `Settings`, and each field of `Settings` comes from one:
    nothing is declared that is not read, nothing read that is not declared (and listed)."""
    assert set(SAMPLES) == {s.env for s in SETTINGS}
    default = dataclasses.asdict(Settings.from_env({}))
    changed: set[str] = set()
    for name, value in SAMPLES.items():
        fields = dataclasses.asdict(Settings.from_env({name: value}))
        differ = {f for f in fields if fields[f] != default[f]}
        assert differ, f"{name} changes nothing in Settings"
        changed |= differ
    assert changed == set(default), set(default) - changed


def test_defaults_and_values() -> None:
    settings = Settings.from_env({})
    assert (settings.reveal_limit_hour, settings.reveal_limit_day) == (30, 150)
    assert settings.smtp_host is None and settings.smtp_port == 25
    assert settings.log_level == "info" and settings.witness_urls == ()
    custom = Settings.from_env(
        {
            "CUSTODES_REVEAL_LIMIT_HOUR": " 5 ",
            "CUSTODES_SMTP_HOST": "127.0.0.1",
            "CUSTODES_LOG_LEVEL": "DEBUG",
            "CUSTODES_WITNESS_URL": "http://127.0.0.1:1, http://[::1]:2",
        }
    )
    assert custom.reveal_limit_hour == 5 and custom.smtp_host == "127.0.0.1"
    assert custom.log_level == "debug"
    assert custom.witness_urls == ("http://127.0.0.1:1", "http://[::1]:2")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CUSTODES_REVEAL_LIMIT_HOUR", "abc"),
        ("CUSTODES_REVEAL_LIMIT_HOUR", "0"),
        ("CUSTODES_REVEAL_LIMIT_DAY", "1e3"),
        ("CUSTODES_SMTP_PORT", "70000"),
        ("CUSTODES_LOG_LEVEL", "verbose"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_database_display_hides_the_password() -> None:
    settings = Settings.from_env({"CUSTODES_DATABASE_URL": "postgresql://u:s3cret@db/x"})
    assert "s3cret" not in settings.database_display()
