"""`custodes init` and `keys status` safety: a private home, and keys that match the database.

`init` must never paper over a lost keyring: a fresh KEK cannot open a single stored data key, so
every reveal would fail later while everything looked healthy. It refuses instead and says what
to restore. `keys status` proves the keyring still opens what the database holds by unwrapping a
sample of stored data keys (the keys are dropped at once; no field is decrypted).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from custodes.config import Settings
from custodes.errors import ConfigError
from custodes.store.engine import sqlite_path

HOME_MODE = 0o700
DB_MODE = 0o600


def prepare_home(settings: Settings) -> list[str]:
    """Create CUSTODES_HOME as 0700 and an SQLite database file as 0600 before anyone opens it.

    Returns warnings for things we do not change on our own (an existing home others can read).
    """
    warnings: list[str] = []
    home = settings.home
    if not home.exists():
        home.mkdir(parents=True, mode=HOME_MODE)
        os.chmod(home, HOME_MODE)  # mkdir's mode is masked by the umask
    elif not home.is_dir():
        raise ConfigError(f"CUSTODES_HOME {home} is a file, not a folder")
    elif stat.S_IMODE(home.stat().st_mode) & 0o077:
        warnings.append(f"{home} is open to other users; `chmod 700 {home}` (it holds keys)")
    path = sqlite_path(settings.database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=HOME_MODE)
        if not path.exists():
            # Created empty and private; SQLite gives its -wal and -shm files the same mode.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DB_MODE))
        elif stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, DB_MODE)
            warnings.append(f"{path} was readable by others; now 0600")
    return warnings


def refuse_orphaning_keys(engine: Engine, keys_dir: Path) -> None:
    """Refuse to create keys for a database whose data the missing keys were protecting."""
    from custodes.ledger.keys import SIGNER_FILE
    from custodes.store.migrate import is_initialised
    from custodes.vault.keyring import KEYRING_FILE

    if not is_initialised(engine):
        return
    keyring_file = keys_dir / KEYRING_FILE
    if not keyring_file.exists():
        sealed, versions = _sealed_keys(engine)
        if sealed:
            listed = ", ".join(f"v{v}" for v in versions)
            raise ConfigError(
                f"the keyring {keyring_file} is missing but the database holds {sealed} sealed "
                f"data keys wrapped by KEK {listed}; restore {KEYRING_FILE} (0600) from the "
                "backup of CUSTODES_HOME/keys, or point CUSTODES_HOME at the right home; "
                "a new keyring could open none of them"
            )
    signer_file = keys_dir / SIGNER_FILE
    if not signer_file.exists():
        size = _ledger_size(engine)
        if size:
            raise ConfigError(
                f"the ledger signing key {signer_file} is missing but the log holds {size} "
                f"entries; restore {SIGNER_FILE} (0600) from the backup of CUSTODES_HOME/keys: "
                "checkpoints signed by a new key would not verify against the published one"
            )


def _sealed_keys(engine: Engine) -> tuple[int, list[int]]:
    from custodes.vault.models import VaultRecord

    with Session(engine) as session:
        rows = session.execute(
            select(VaultRecord.kek_version, func.count())
            .where(VaultRecord.wrapped_key.is_not(None))
            .group_by(VaultRecord.kek_version)
            .order_by(VaultRecord.kek_version)
        ).all()
    return sum(int(n) for _, n in rows), [int(v) for v, _ in rows if v is not None]


def _ledger_size(engine: Engine) -> int:
    from custodes.ledger.storage import LedgerReader

    return LedgerReader(engine).head().size
