"""Settings from the environment, so the same code runs embedded (SQLite) or against PostgreSQL.

Every `CUSTODES_*` variable is declared once in `SETTINGS` (name, default, meaning) and read only
here: a bad value is a `ConfigError` naming the variable, never a stray `ValueError` later on.
The README's settings table is checked against `SETTINGS` by a test, so the two cannot drift.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custodes.errors import ConfigError

DEFAULT_HOME = Path(".custodes")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, its default as the README shows it, what it means."""

    env: str
    default: str
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting("CUSTODES_HOME", "./.custodes", "keys (never in git, never in the database); 0700"),
    Setting(
        "CUSTODES_DATABASE_URL",
        "sqlite:///$CUSTODES_HOME/custodes.db",
        "any SQLAlchemy URL; `postgresql://…` uses psycopg 3",
    ),
    Setting(
        "CUSTODES_LEDGER_ORIGIN",
        "custodes.example/ledger",
        "the log's origin line and signing-key name",
    ),
    Setting(
        "CUSTODES_REVEAL_LIMIT_HOUR",
        "30",
        "distinct customers an employee may reveal per hour before approval is needed",
    ),
    Setting(
        "CUSTODES_REVEAL_LIMIT_DAY",
        "150",
        "distinct customers an employee may reveal per day before approval is needed",
    ),
    Setting(
        "CUSTODES_SMTP_HOST", "unset", "SMTP relay for approver notifications (unset: in-memory)"
    ),
    Setting("CUSTODES_SMTP_PORT", "25", "port of the SMTP relay"),
    Setting(
        "CUSTODES_LOG_LEVEL",
        "info",
        f"application log level: {', '.join(LOG_LEVELS)} (JSON lines on stderr)",
    ),
    Setting(
        "CUSTODES_WITNESS_URL",
        "unset",
        "witness base URLs (comma-separated, loopback): asked to cosign every new checkpoint, "
        "checked by `/readyz`",
    ),
    Setting(
        "CUSTODES_WITNESS_KEYS",
        "unset",
        "the witnesses' cosigner verifier keys (or files), comma-separated, same order as the URLs",
    ),
)
# Sign-in settings: parsed here, checked and used by `custodes.identity.settings`.
SETTINGS = (
    *SETTINGS,
    Setting(
        "CUSTODES_WEB_ORIGIN",
        "http://localhost:8000",
        "the pages' exact origin (https, or http on loopback)",
    ),
    Setting(
        "CUSTODES_WEBAUTHN_RP_ID",
        "localhost",
        "the passkeys' relying-party id (the origin's host)",
    ),
    Setting(
        "CUSTODES_OIDC_ISSUER",
        "unset",
        "the identity provider whose employee ID tokens are trusted (unset: passkeys only)",
    ),
    Setting(
        "CUSTODES_OIDC_JWKS_URL",
        "unset",
        "the provider's JWKS URL (https, or http on loopback)",
    ),
    Setting(
        "CUSTODES_OIDC_AUDIENCE",
        "unset",
        "the audience employee ID tokens must name",
    ),
    Setting(
        "CUSTODES_OIDC_EMPLOYEE_CLAIM",
        "employee_id",
        "the claim holding the employee id",
    ),
    Setting(
        "CUSTODES_OIDC_LEEWAY",
        "30",
        "clock-skew allowance in seconds for exp/nbf",
    ),
    Setting(
        "CUSTODES_OIDC_ALGORITHMS",
        "RS256,ES256,EdDSA",
        "allowed (asymmetric) signing algorithms",
    ),
)
SETTING_NAMES = frozenset(s.env for s in SETTINGS)


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw[:40]!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated value, items stripped, empty items dropped."""
    return tuple(item.strip() for item in (env.get(name) or "").split(",") if item.strip())


def _sign_in(env: Mapping[str, str]) -> dict[str, Any]:
    """The passkey relying party and the identity provider, as far as they are set (the rest
    keeps `Settings`' defaults; `custodes.identity.settings` checks the values)."""
    values: dict[str, Any] = {
        field: env[name].strip()
        for field, name in _SIGN_IN_TEXT.items()
        if env.get(name, "").strip()
    }
    if env.get("CUSTODES_OIDC_LEEWAY", "").strip():
        # The allowed range is the identity layer's rule (OIDCSettings); here, a number.
        values["oidc_leeway"] = _int(env, "CUSTODES_OIDC_LEEWAY", 0, 0, 86_400)
    algorithms = _list(env, "CUSTODES_OIDC_ALGORITHMS")
    if algorithms:
        values["oidc_algorithms"] = algorithms
    return values


_SIGN_IN_TEXT = {
    "web_origin": "CUSTODES_WEB_ORIGIN",
    "webauthn_rp_id": "CUSTODES_WEBAUTHN_RP_ID",
    "oidc_issuer": "CUSTODES_OIDC_ISSUER",
    "oidc_jwks_url": "CUSTODES_OIDC_JWKS_URL",
    "oidc_audience": "CUSTODES_OIDC_AUDIENCE",
    "oidc_employee_claim": "CUSTODES_OIDC_EMPLOYEE_CLAIM",
}


@dataclass(frozen=True)
class Settings:
    """Where the database and the key material live, and the knobs an operator may turn.

    `home` holds keys (never in git, never in the database); `database_url` is any SQLAlchemy
    URL, defaulting to an SQLite file under `home` so a laptop needs no server.
    """

    home: Path
    database_url: str
    ledger_origin: str = "custodes.example/ledger"
    reveal_limit_hour: int = 30
    reveal_limit_day: int = 150
    smtp_host: str | None = None
    smtp_port: int = 25
    log_level: str = "info"
    witness_urls: tuple[str, ...] = ()
    witness_keys: tuple[str, ...] = ()
    # Sign-in (checked and used by `custodes.identity.settings`).
    web_origin: str = "http://localhost:8000"
    webauthn_rp_id: str | None = None  # None: the origin's host
    oidc_issuer: str | None = None  # None: passkeys only
    oidc_jwks_url: str = ""
    oidc_audience: str = ""
    oidc_employee_claim: str = "employee_id"
    oidc_leeway: int = 30
    oidc_algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("CUSTODES_HOME") or str(DEFAULT_HOME))
        url = env.get("CUSTODES_DATABASE_URL") or f"sqlite:///{home / 'custodes.db'}"
        origin = env.get("CUSTODES_LEDGER_ORIGIN") or "custodes.example/ledger"
        level = (env.get("CUSTODES_LOG_LEVEL") or "info").strip().lower()
        if level not in LOG_LEVELS:
            raise ConfigError(f"CUSTODES_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        return cls(
            home=home,
            database_url=url,
            ledger_origin=origin,
            reveal_limit_hour=_int(env, "CUSTODES_REVEAL_LIMIT_HOUR", 30, 1, 1_000_000),
            reveal_limit_day=_int(env, "CUSTODES_REVEAL_LIMIT_DAY", 150, 1, 1_000_000),
            smtp_host=(env.get("CUSTODES_SMTP_HOST") or "").strip() or None,
            smtp_port=_int(env, "CUSTODES_SMTP_PORT", 25, 1, 65535),
            log_level=level,
            witness_urls=_list(env, "CUSTODES_WITNESS_URL"),
            witness_keys=_list(env, "CUSTODES_WITNESS_KEYS"),
            **_sign_in(env),
        )

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def log_level_number(self) -> int:
        return int(logging.getLevelName(self.log_level.upper()))

    def database_display(self) -> str:
        """The database URL with any password hidden, for logs and start-up banners."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(self.database_url).render_as_string(hide_password=True)
        except ArgumentError:
            return "(unparseable URL)"
