"""Every package's tables, so the metadata Alembic compares against is complete. It lives with
the migrations, the one place allowed to know every package's tables: `store/` stays below them."""

from custodes.access import models as access_models
from custodes.forensics import models as forensics_models
from custodes.identity import models as identity_models
from custodes.ledger import models as ledger_models
from custodes.marketplace import models as marketplace_models
from custodes.relay import models as relay_models
from custodes.store.base import Base
from custodes.vault import models as vault_models

metadata = Base.metadata

__all__ = [
    "access_models",
    "forensics_models",
    "identity_models",
    "ledger_models",
    "marketplace_models",
    "metadata",
    "relay_models",
    "vault_models",
]
