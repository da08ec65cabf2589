"""Settings from the environment, so the same code runs embedded (SQLite) or against PostgreSQL."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path(".custodes")


@dataclass(frozen=True)
class Settings:
    """Where the database and the key material live.

    `home` holds keys (never in git, never in the database); `database_url` is any SQLAlchemy
    URL, defaulting to an SQLite file under `home` so a laptop needs no server.
    """

    home: Path
    database_url: str
    ledger_origin: str = "custodes.example/ledger"

    @classmethod
    def from_env(cls, env: os._Environ[str] | dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("CUSTODES_HOME", str(DEFAULT_HOME)))
        url = env.get("CUSTODES_DATABASE_URL") or f"sqlite:///{home / 'custodes.db'}"
        origin = env.get("CUSTODES_LEDGER_ORIGIN", "custodes.example/ledger")
        return cls(home=home, database_url=url, ledger_origin=origin)

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"
