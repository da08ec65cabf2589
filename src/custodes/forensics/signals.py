"""Outside signals (signals.jsonl) as evidence: a `canary_hit` that names a canary (by id or by
the e-mail's blind index) becomes a recorded hit and an alert, once; `offplatform_contact`
signals are cited by attribution next to the customers and the seller they name."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from custodes.forensics.models import Canary, CanaryHit, Exposure
from custodes.marketplace.models import OutsideSignal
from custodes.store.engine import transaction
from custodes.vault.models import BlindIndexEntry


def _new_hits(engine: Engine) -> list[tuple[str, datetime, str, Exposure | None]]:
    """canary_hit signals not yet recorded that name a canary: (source, time, canary, exposure)."""
    with Session(engine) as session:
        done = set(
            session.scalars(
                select(CanaryHit.source).where(CanaryHit.source.like("signals.jsonl:%"))
            )
        )
        rows = session.execute(
            select(
                OutsideSignal.source_line,
                OutsideSignal.time,
                OutsideSignal.customer_id,
                OutsideSignal.email_index,
            ).where(OutsideSignal.kind == "canary_hit")
        ).all()
        hits: list[tuple[str, datetime, str, Exposure | None]] = []
        for line, time, customer_id, email_index in rows:
            source = f"signals.jsonl:{line}"
            if source in done:
                continue
            if customer_id is None and email_index is not None:
                customer_id = session.scalar(
                    select(BlindIndexEntry.customer_id).where(
                        BlindIndexEntry.kind == "email", BlindIndexEntry.digest == email_index
                    )
                )
            if customer_id is None:
                continue
            found = session.execute(
                select(Canary.customer_id, Exposure)
                .outerjoin(Exposure, Exposure.exposure_id == Canary.exposure_id)
                .where(Canary.customer_id == customer_id)
            ).first()
            if found is None:
                continue  # a real customer: the signal stays an outside observation
            hits.append((source, time, customer_id, found[1]))
    return hits


def ingest_canary_signals(
    engine: Engine, alert: Callable[[dict[str, Any]], None], show: Callable[[str], str]
) -> int:
    """Record each canary_hit signal about a canary as a hit (idempotent by source line)."""
    hits = _new_hits(engine)
    with transaction(engine) as session:
        for source, time, customer_id, exposure in hits:
            session.add(
                CanaryHit(
                    customer_id=customer_id,
                    exposure_id=exposure.exposure_id if exposure else None,
                    employee_id=exposure.employee_id if exposure else None,
                    time=time,
                    source=source,
                    headers="{}",
                )
            )
    for source, time, _, exposure in hits:
        alert(
            {
                "kind": "canary_hit",
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "exposure": exposure.exposure_id if exposure else None,
                "exposure_kind": exposure.kind if exposure else None,
                "employee_id": show(exposure.employee_id) if exposure else None,
                "ledger_index": exposure.ledger_index if exposure else None,
                "source": source,
            }
        )
    return len(hits)
