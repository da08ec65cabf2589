"""The marketplace's own writes that the one door carries out after dual control: removing
reviews and reinstating sellers. They live with the tables they change; the door decides and
records, then calls these inside the execution's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from custodes.marketplace.models import Review, Seller


def remove_reviews(session: Session, review_ids: Sequence[str], by: str, now: datetime) -> None:
    for review_id in review_ids:
        session.execute(
            update(Review)
            .where(Review.review_id == review_id)
            .values(status="removed", removed_at=now, removed_by=by)
        )


def reinstate_sellers(session: Session, seller_ids: Sequence[str]) -> None:
    for seller_id in seller_ids:
        session.execute(
            update(Seller)
            .where(Seller.seller_id == seller_id)
            .values(status="active", banned_at=None)
        )
