"""What every command needs: settings, a migrated engine, the keyring."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from custodes.config import Settings
from custodes.errors import ConfigError
from custodes.store.engine import make_engine
from custodes.store.migrate import is_initialised, upgrade
from custodes.vault.keyring import FileKeyring
from custodes.web.app import Services

if TYPE_CHECKING:
    from custodes.ledger.sequencer import Sequencer


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

    def sequencer(self) -> Sequencer:
        """The log's writer with its signing key and the signer's own state (not yet open)."""
        from custodes.ledger.keys import load_log_signer, load_signer_state
        from custodes.ledger.sequencer import Sequencer

        keys = self.settings.keys_dir
        origin = self.settings.ledger_origin
        return Sequencer(
            self.migrated_engine(), load_log_signer(keys), origin, load_signer_state(keys, origin)
        )

    def services(self) -> Services:
        """Everything the one door needs, from CUSTODES_HOME and the environment."""
        import os

        from custodes.access.notify import Notifier, SmtpNotifier
        from custodes.access.signing import load_or_create_approval_key
        from custodes.ledger.keys import load_log_signer, load_signer_state

        notifier: Notifier | None = None
        if os.environ.get("CUSTODES_SMTP_HOST"):
            notifier = SmtpNotifier(
                os.environ["CUSTODES_SMTP_HOST"], int(os.environ.get("CUSTODES_SMTP_PORT", "25"))
            )
        from custodes.access.door import DoorConfig
        from custodes.access.facts import RateLimits
        from custodes.access.policy_store import current_policy

        limits = RateLimits(
            per_hour=int(os.environ.get("CUSTODES_REVEAL_LIMIT_HOUR", "30")),
            per_day=int(os.environ.get("CUSTODES_REVEAL_LIMIT_DAY", "150")),
        )
        from custodes.ledger.witnessing import parse_witnesses

        witnesses = parse_witnesses(
            os.environ.get("CUSTODES_WITNESS_URLS", ""), os.environ.get("CUSTODES_WITNESS_KEYS", "")
        )
        signer = load_log_signer(self.settings.keys_dir)
        return Services(
            config=DoorConfig(limits=limits),
            witnesses=witnesses,
            keyring=self.keyring,
            policy=current_policy(self.migrated_engine(), signer.verifier()),
            log_verifier=signer.verifier(),
            socket_path=self.settings.home / "run" / "sequencer.sock",
            approval_key=load_or_create_approval_key(self.settings.keys_dir),
            signer=signer,
            signer_state=load_signer_state(self.settings.keys_dir, self.settings.ledger_origin),
            notifier=notifier,
        )
