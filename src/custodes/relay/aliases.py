"""Pair aliases: one stable, random address per (seller, customer), made once an order exists.

The alias is all a seller ever learns about a customer, and what the customer sees as the
seller's address: replies in either direction go through the relay.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custodes.errors import InputError
from custodes.marketplace.models import Order
from custodes.relay.models import RelayAlias
from custodes.store.engine import transaction


def new_alias() -> str:
    """20 random bytes would be overkill; 10 (80 bits) in lowercase base32 cannot be guessed
    and reads like no person's name."""
    return "r" + base64.b32encode(secrets.token_bytes(10)).decode().lower()


def alias_for(engine: Engine, seller_id: str, customer_id: str) -> str:
    """The pair's alias, created on first use; refused unless the pair has an order."""
    with Session(engine) as session:
        found = session.scalar(
            select(RelayAlias.alias).where(
                RelayAlias.seller_id == seller_id, RelayAlias.customer_id == customer_id
            )
        )
        if found:
            return found
        ordered = session.scalar(
            select(Order.order_id)
            .where(Order.seller_id == seller_id, Order.customer_id == customer_id)
            .limit(1)
        )
    if ordered is None:
        raise InputError("no order between this seller and this customer: no alias")
    alias = new_alias()
    try:
        with transaction(engine) as session:
            session.add(
                RelayAlias(
                    alias=alias,
                    seller_id=seller_id,
                    customer_id=customer_id,
                    created_at=datetime.now(UTC),
                )
            )
    except IntegrityError:  # created concurrently: the first one stands
        with Session(engine) as session:
            found = session.scalar(
                select(RelayAlias.alias).where(
                    RelayAlias.seller_id == seller_id, RelayAlias.customer_id == customer_id
                )
            )
        if found is None:
            raise
        return found
    return alias


def sync_aliases(engine: Engine) -> int:
    """Aliases for every ordering pair that has none yet; returns how many were made."""
    with Session(engine) as session:
        pairs = set(session.execute(select(Order.seller_id, Order.customer_id).distinct()).tuples())
        have = set(session.execute(select(RelayAlias.seller_id, RelayAlias.customer_id)).tuples())
    missing = sorted(pairs - have)
    now = datetime.now(UTC)
    with transaction(engine) as session:
        for seller_id, customer_id in missing:
            session.add(
                RelayAlias(
                    alias=new_alias(), seller_id=seller_id, customer_id=customer_id, created_at=now
                )
            )
    return len(missing)


def lookup(session: Session, alias: str) -> RelayAlias | None:
    return session.get(RelayAlias, alias.lower())
