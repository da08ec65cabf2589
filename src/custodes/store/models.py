"""Imports every package's tables so the shared metadata is complete (for Alembic and tests)."""

from custodes.access import models as access_models
from custodes.identity import models as identity_models
from custodes.ledger import models as ledger_models
from custodes.marketplace import models as marketplace_models
from custodes.store.base import Base
from custodes.vault import models as vault_models

metadata = Base.metadata

__all__ = [
    "access_models",
    "identity_models",
    "ledger_models",
    "marketplace_models",
    "metadata",
    "vault_models",
]
