"""The relay's group writer: every caller hears of its own commit (threads and event loops
alike), one bad write fails only its caller, and rows land as the ORM reads them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from custodes.relay import rows
from custodes.relay.models import RelayMessage
from custodes.relay.writer import GroupWriter

WHEN = datetime(2026, 12, 4, 17, 0, 0, 123456, tzinfo=UTC)


def _record(message_id: str) -> tuple[rows.Rows, ...]:
    return (rows.record(message_id, WHEN, "inbound", None, None, ("refused", "x", 550), []),)


def test_each_caller_hears_of_its_own_commit(engine: Engine) -> None:
    duplicate = engine.dialect.loaded_dbapi.IntegrityError  # the driver's own error
    writer = GroupWriter(engine)
    try:
        done = [writer.submit(_record(f"msg_{n}")) for n in range(20)]
        again = writer.submit(_record("msg_3"))  # the same message twice: this one fails
        late = writer.submit(_record("msg_20"))
        for future in [*done, late]:
            future.result(10)
        with pytest.raises(duplicate):
            again.result(10)

        async def sessions() -> None:
            await asyncio.gather(*(writer.write_async(_record(f"msg_a{n}")) for n in range(10)))
            with pytest.raises(duplicate):
                await writer.write_async(_record("msg_a1"))

        asyncio.run(sessions())
    finally:
        writer.close()
    with Session(engine) as session:
        stored = session.scalars(select(RelayMessage)).all()
    assert len(stored) == 31
    assert {m.received_at for m in stored} == {WHEN}  # read back as written, aware UTC
    assert {m.smtp_code for m in stored} == {550}
