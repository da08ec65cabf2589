"""What every command needs: settings, a migrated engine, the keyring."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine

from custodes.config import Settings
from custodes.errors import ConfigError
from custodes.store.engine import make_engine
from custodes.store.migrate import is_initialised, upgrade
from custodes.vault.keyring import FileKeyring


@dataclass
class Runtime:
    settings: Settings

    @classmethod
    def from_env(cls) -> Runtime:
        return cls(Settings.from_env())

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    def migrated_engine(self) -> Engine:
        """The engine, refusing to run on a database `custodes init` has not set up."""
        if not is_initialised(self.engine):
            raise ConfigError("the database is not initialised; run `custodes init` first")
        upgrade(self.engine)
        return self.engine

    @cached_property
    def keyring(self) -> FileKeyring:
        return FileKeyring.open(self.settings.keys_dir)
