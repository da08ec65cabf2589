"""Does the keyring still open what the database holds? Unwrap a sample of stored data keys.

A keyring can be present, well-formed and wrong (restored from another home, a fresh one made
over a lost one): only unwrapping real data keys tells. The unwrapped keys are dropped at once;
no field is decrypted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from custodes.vault.envelope import key_context
from custodes.vault.errors import VaultError
from custodes.vault.keyring import Keyring
from custodes.vault.models import VaultRecord


@dataclass
class KeyCheck:
    """How many stored data keys were tried per KEK version, and which failed to unwrap."""

    tried: dict[int, int] = field(default_factory=dict)
    failed: dict[int, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    def describe(self) -> str:
        if not self.tried:
            return "no stored data keys to check"
        total = sum(self.tried.values())
        if self.ok:
            return f"keyring opens all {total} sampled data keys"
        bad = sum(len(v) for v in self.failed.values())
        versions = ", ".join(f"v{v}" for v in sorted(self.failed))
        return (
            f"keyring FAILS to open {bad} of {total} sampled data keys (KEK {versions}); "
            "restore keyring.json from the backup of CUSTODES_HOME/keys"
        )


def check_data_keys(
    engine: Engine, keyring: Keyring, per_version: int = 8, shuffle: bool = True
) -> KeyCheck:
    """Unwrap up to `per_version` stored data keys (random ones, unless `shuffle` is off:
    readiness probes take the first, without a sort) under each KEK version in use."""
    check = KeyCheck()
    with Session(engine) as session:
        versions = session.scalars(
            select(VaultRecord.kek_version)
            .where(VaultRecord.wrapped_key.is_not(None))
            .group_by(VaultRecord.kek_version)
        ).all()
        for version in sorted(v for v in versions if v is not None):
            sample = session.execute(
                select(VaultRecord.customer_id, VaultRecord.wrapped_key)
                .where(VaultRecord.kek_version == version, VaultRecord.wrapped_key.is_not(None))
                .order_by(func.random() if shuffle else VaultRecord.customer_id)
                .limit(per_version)
            ).all()
            check.tried[version] = len(sample)
            for customer_id, wrapped in sample:
                assert wrapped is not None  # selected so above
                try:
                    keyring.unwrap(version, bytes(wrapped), key_context(customer_id))
                except VaultError:
                    check.failed.setdefault(version, []).append(customer_id)
    return check
