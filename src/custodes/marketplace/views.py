"""Non-PII projections of marketplace records: what `order.view`, `review.view`, `seller.view`
and `seller.metrics` return once the one door has allowed and recorded the read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custodes.errors import NotFoundError
from custodes.marketplace.models import Order, Review, Seller


def order_view(session: Session, order_id: str) -> dict[str, Any]:
    order = _get(session, Order, order_id)
    return {
        "order_id": order.order_id,
        "customer_id": order.customer_id,
        "product_id": order.product_id,
        "seller_id": order.seller_id,
        "ordered_at": order.ordered_at,
    }


def review_view(session: Session, review_id: str) -> dict[str, Any]:
    review = _get(session, Review, review_id)
    return {
        "review_id": review.review_id,
        "customer_id": review.customer_id,
        "product_id": review.product_id,
        "seller_id": review.seller_id,
        "rating": review.rating,
        "status": review.status,
        "created_at": review.created_at,
    }


def seller_view(session: Session, seller_id: str) -> dict[str, Any]:
    seller = _get(session, Seller, seller_id)
    return {
        "seller_id": seller.seller_id,
        "name": seller.name,
        "status": seller.status,
        "country": seller.country,
    }


def seller_metrics(session: Session, seller_id: str) -> dict[str, Any]:
    _get(session, Seller, seller_id)
    orders = session.scalar(select(func.count()).where(Order.seller_id == seller_id)) or 0
    reviews = session.execute(
        select(func.count(), func.avg(Review.rating)).where(Review.seller_id == seller_id)
    ).one()
    return {
        "seller_id": seller_id,
        "orders": orders,
        "reviews": reviews[0],
        "average_rating": round(float(reviews[1]), 2) if reviews[1] is not None else None,
    }


def _get(session: Session, model: Any, ident: str) -> Any:
    row = session.get(model, ident)
    if row is None:  # the door found it before recording; gone since is a race, not a 500
        raise NotFoundError(f"no {model.__tablename__.rstrip('s')} {ident}")
    return row
