"""The log's side of witnessing: send the latest checkpoint with a consistency proof from the
last one the witness cosigned, and keep the cosignature beside the checkpoint."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine, insert

from custodes.ledger.errors import LedgerError
from custodes.ledger.models import LedgerCosignature
from custodes.ledger.note import CosignerKey
from custodes.ledger.storage import LedgerReader
from custodes.ledger.witness import WitnessConflict, submit_checkpoint


class CosignError(LedgerError):
    """The witness did not cosign: unreachable, or nothing to cosign yet. (A witness that
    answers with a refusal raises its own `WitnessError` subclass.)"""


def request_cosignature(
    engine: Engine, witness_url: str, witness_key: CosignerKey, client: httpx.Client | None = None
) -> tuple[int, str]:
    """Get the latest checkpoint cosigned; returns (size, cosignature line).

    A 409 tells us the size the witness really holds (say, after our database was restored);
    we retry once from there. A fork is never retried. A witness that has cosigned nothing for
    us yet is sent old size 0, never skipped.
    """
    reader = LedgerReader(engine)
    latest = reader.latest_checkpoint(cosigned=False)
    if latest is None:
        raise CosignError("the log has no signed checkpoint to cosign yet")
    size, note = latest
    old = reader.last_cosigned_size(witness_key.name)
    if old == size:
        cosigned = reader.latest_checkpoint()
        assert cosigned is not None
        return size, cosigned[1][len(note) :]
    start = old or 0
    lines: list[str] = []
    for attempt in range(2):
        proof = reader.consistency_proof(start, size) if 0 < start < size else []
        try:
            lines = submit_checkpoint(
                witness_url, start, proof, note, client, witness_key=witness_key
            )
            break
        except WitnessConflict as conflict:
            if conflict.fork or attempt:
                raise
            start = conflict.recorded_size
        except (httpx.HTTPError, OSError) as exc:
            raise CosignError(f"the witness is unreachable ({type(exc).__name__})") from None
    line = "".join(lines)
    with engine.begin() as conn:
        conn.execute(
            insert(LedgerCosignature).values(
                size=size, witness=witness_key.name, line=line, created_at=datetime.now(UTC)
            )
        )
    return size, line
