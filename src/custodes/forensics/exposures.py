"""The door's exposure hook (`access.exposure.ExposureHook`), implemented with canaries.

- A search result page gets its own canaries (taken from stock, minted if the stock is out)
  placed among the results at random and masked by the vault like every other record.
- An executed reveal or export request gets its own freshly minted canaries among its
  records, with the same fields filled in.
- A reveal of one customer who is a canary is a hit on the exposure that showed it.

Each exposure is recorded with a manifest (who, when, the ledger entry of the decision, the
customers shown by pseudonym, its canaries), so one canary names one exposure.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from custodes.access.model import new_id
from custodes.forensics.canaries import Minting, assign, mint
from custodes.forensics.models import Canary, CanaryHit, Exposure
from custodes.marketplace.models import Customer
from custodes.store.engine import transaction
from custodes.store.hot_reads import HotReader
from custodes.vault.keyring import Keyring
from custodes.vault.service import MaskedCustomer, masked_view

_IS_CANARY = "SELECT 1 FROM forensics_canaries WHERE customer_id = ?"

log = logging.getLogger(__name__)
Alert = Callable[[dict[str, Any]], None]
KINDS = {"customer.view": "reveal", "customer.export": "export"}


class CanaryExposures:
    """Plants and records canaries per exposure; installed through `runtime.Services`."""

    def __init__(
        self,
        engine: Engine,
        keyring: Keyring,
        per_page: int = 2,
        per_set: int = 3,
        minting: Minting = Minting(),
        alert: Alert | None = None,
    ) -> None:
        self.engine, self.keyring = engine, keyring
        self.reads = HotReader(engine)
        self.per_page, self.per_set, self.minting = per_page, per_set, minting
        self.alert = alert or (lambda found: log.warning("canary revealed: %s", found))
        self._rng = random.Random(secrets.randbits(64))

    def search_page(
        self, employee_id: str, ledger_index: int | None, results: list[MaskedCustomer]
    ) -> list[MaskedCustomer]:
        if not results or self.per_page <= 0:
            return results  # nothing was shown: no exposure
        now = datetime.now(UTC)
        exposure_id = new_id("ex")
        with transaction(self.engine) as session:
            session.add(self._exposure(exposure_id, "search", employee_id, now, ledger_index))
            session.flush()
            ids = assign(session, exposure_id, self.per_page, now)
            if len(ids) < self.per_page:  # the stock ran out: mint the rest here
                people = mint(
                    session, self.keyring, self.per_page - len(ids), exposure_id, now, self.minting
                )
                ids += [p.customer_id for p in people]
            canaries = masked_view(session, ids)
            self._manifest(session, exposure_id, [r.customer_id for r in results], ids)
        page = list(results)
        for canary in canaries:
            page.insert(self._rng.randrange(len(page) + 1), canary)
        return page

    def revealed_set(
        self,
        employee_id: str,
        action: str,
        ledger_index: int | None,
        request_id: str | None,
        records: dict[str, Any],
    ) -> dict[str, Any]:
        kind = KINDS.get(action)
        if kind is None or not records or self.per_set <= 0:
            return records
        now = datetime.now(UTC)
        exposure_id = new_id("ex")
        fields = sorted({f for values in records.values() for f in values if f != "erased"})
        with transaction(self.engine) as session:
            session.add(
                self._exposure(exposure_id, kind, employee_id, now, ledger_index, request_id)
            )
            session.flush()
            people = mint(session, self.keyring, self.per_set, exposure_id, now, self.minting)
            self._manifest(session, exposure_id, list(records), [p.customer_id for p in people])
        planted = {p.customer_id: {f: getattr(p.pii, f) for f in fields} for p in people}
        order = list(records.items()) + list(planted.items())
        self._rng.shuffle(order)
        return dict(order)

    def revealed_one(self, employee_id: str, customer_id: str, ledger_index: int | None) -> None:
        # Every allowed reveal passes here: the common answer (not a canary) costs one indexed
        # driver-level read, not an ORM session and a join.
        if self.reads.first(_IS_CANARY, (customer_id,)) is None:
            return
        with Session(self.engine) as session:
            found = session.execute(
                select(Canary.exposure_id, Exposure.employee_id, Exposure.kind)
                .outerjoin(Exposure, Exposure.exposure_id == Canary.exposure_id)
                .where(Canary.customer_id == customer_id)
            ).first()
        if found is None:
            return
        now = datetime.now(UTC)
        with transaction(self.engine) as session:
            session.add(
                CanaryHit(
                    customer_id=customer_id,
                    exposure_id=found.exposure_id,
                    employee_id=found.employee_id,
                    time=now,
                    source="reveal" if ledger_index is None else f"reveal:{ledger_index}",
                    headers=json.dumps({"revealed_by": employee_id}),
                )
            )
        self.alert(
            {
                "kind": "canary_revealed",
                "canary": customer_id,
                "exposure": found.exposure_id,
                "exposure_kind": found.kind,
                "shown_to": found.employee_id,
                "revealed_by": employee_id,
                "time": now.isoformat(),
                "ledger_index": ledger_index,
            }
        )

    @staticmethod
    def _exposure(
        exposure_id: str,
        kind: str,
        employee_id: str,
        now: datetime,
        ledger_index: int | None,
        reference: str | None = None,
    ) -> Exposure:
        return Exposure(
            exposure_id=exposure_id,
            kind=kind,
            employee_id=employee_id,
            created_at=now,
            ledger_index=ledger_index,
            reference=reference,
        )

    @staticmethod
    def _manifest(
        session: Session, exposure_id: str, shown: list[str], canaries: list[str]
    ) -> None:
        """What the exposure showed: real customers by pseudonym (never their details), and
        its canaries by id."""
        rows = session.execute(
            select(Customer.customer_id, Customer.pseudonym).where(Customer.customer_id.in_(shown))
        ).all()
        pseudonyms = {row.customer_id: row.pseudonym for row in rows}
        exposure = session.get(Exposure, exposure_id)
        assert exposure is not None
        exposure.manifest = json.dumps(
            {
                "customers": sorted(pseudonyms.get(c, c) for c in shown),
                "canaries": sorted(canaries),
            }
        )
