"""What every command and the server need: settings, a migrated engine, the keyring, and the
services the one door runs on. It sits above the capabilities and below `web/` and `cli/`,
which both assemble from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from custodes.config import Settings
from custodes.errors import ConfigError
from custodes.store.engine import make_engine
from custodes.store.migrate import is_initialised, upgrade
from custodes.vault.keyring import FileKeyring

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from custodes.access.door import DoorConfig
    from custodes.access.exposure import ExposureHook
    from custodes.access.notify import Notifier
    from custodes.access.policy import Policy
    from custodes.identity.settings import OIDCSettings, WebAuthnSettings
    from custodes.ledger.note import Signer, Verifier
    from custodes.ledger.sequencer import Sequencer
    from custodes.ledger.signer_state import SignerState
    from custodes.ledger.witnessing import WitnessConfig
    from custodes.vault.keyring import Keyring


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
        from custodes.store.engine import sqlite_path

        path = sqlite_path(self.settings.database_url)
        if path is not None and not path.is_file():
            # Checked before connecting: SQLite would create an empty file (and folders).
            raise ConfigError(
                f"no database at {path}; run `custodes init` first (or set CUSTODES_HOME)"
            )
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
        """Everything the one door needs, from CUSTODES_HOME and the settings."""
        from custodes.access.door import DoorConfig
        from custodes.access.facts import RateLimits
        from custodes.access.notify import SmtpNotifier
        from custodes.access.policy_store import current_policy
        from custodes.access.signing import load_or_create_approval_key
        from custodes.ledger.keys import load_log_signer, load_signer_state

        settings = self.settings
        notifier: Notifier | None = None
        if settings.smtp_host:
            notifier = SmtpNotifier(settings.smtp_host, settings.smtp_port)
        limits = RateLimits(per_hour=settings.reveal_limit_hour, per_day=settings.reveal_limit_day)
        from custodes.ledger.witnessing import parse_witnesses

        witnesses = parse_witnesses(settings.witness_urls, settings.witness_keys)
        signer = load_log_signer(settings.keys_dir)
        return Services(
            config=DoorConfig(limits=limits),
            witnesses=witnesses,
            keyring=self.keyring,
            policy=current_policy(self.migrated_engine(), signer.verifier()),
            log_verifier=signer.verifier(),
            socket_path=settings.home / "run" / "sequencer.sock",
            approval_key=load_or_create_approval_key(settings.keys_dir),
            signer=signer,
            signer_state=load_signer_state(settings.keys_dir, settings.ledger_origin),
            notifier=notifier,
            exposures=self.exposures(),
        )

    def exposures(self) -> ExposureHook:
        """Canaries for every exposure the door serves: search pages, executed requests."""
        from custodes.forensics.exposures import CanaryExposures

        return CanaryExposures(self.migrated_engine(), self.keyring)


@dataclass
class Services:
    """What the one door needs; without it the app serves the ledger read-only."""

    keyring: Keyring
    approval_key: Ed25519PrivateKey
    signer: Signer | None = None
    signer_state: SignerState | None = None
    policy: Policy | None = None
    notifier: Notifier | None = None
    config: DoorConfig | None = None
    witnesses: list[WitnessConfig] = field(default_factory=list)
    expiry_interval: float = 60.0  # seconds between sweeps for expired requests
    policy_interval: float = 2.0  # seconds between checks for a newly applied policy
    log_verifier: Verifier | None = None  # checks the policy's ledger entry is signed
    socket_path: Path | None = None  # where operator commands reach this process's sequencer
    webauthn: WebAuthnSettings | None = None  # passkeys and sessions (default: from the env)
    oidc: OIDCSettings | None = None  # the identity provider (default: from the env, if any)
    exposures: ExposureHook | None = None  # plants each exposure's canaries (forensics)
