"""Insider scenarios in trust & safety: selling reviewers' e-mails, deleting a seller's
negative reviews, reinstating banned sellers (see ``insiders`` for the others)."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from custodes.sim.catalog import Review
from custodes.sim.config import seconds
from custodes.sim.scenarios.base import Stage, review_refs, window


def reviewer_email_sale(stage: Stage) -> None:
    """A trust & safety moderator sells a seller the e-mails of its critical reviewers."""
    rng = stage.rng("reviewer_email_sale")
    mod = stage.pick(rng, "trust_safety")
    sellers = sorted(
        s for s, rs in stage.reviews_by_seller.items() if sum(r.rating <= 3 for r in rs) >= 8
    )
    seller = rng.choice(sellers or sorted(stage.reviews_by_seller))
    lo, hi = window(stage, (6, 18), (2, 4), rng)
    reviews = [r for r in stage.reviews_by_seller[seller] if r.created_at < stage.day(lo)]
    reviews.sort(key=lambda r: (r.rating, r.review_id))
    reviews = reviews[: 25 + rng.randint(0, 20)]
    times = stage.shift_times(rng, mod, stage.day(lo), stage.day(hi), (4, 10))
    log = stage.world.log
    used = []
    for t, r in zip(times, reviews, strict=False):
        kw: dict[str, Any] = {
            "customer_ids": (r.customer_id,),
            "seller_id": r.seller_id,
            "product_id": r.product_id,
        }
        log.add(
            t,
            mod.employee_id,
            "review.view",
            review_id=r.review_id,
            justification="moderation",
            **kw,
        )
        log.add(
            t + seconds(rng.uniform(20, 200)),
            mod.employee_id,
            "customer.view",
            customer_ids=(r.customer_id,),
            fields=("email",),
            justification="moderation",
        )
        used.append(t)
        if rng.random() < 0.4:
            stage.signal(
                t + seconds(rng.uniform(1, 6) * 86400),
                "offplatform_contact",
                seller_id=seller,
                customer_id=r.customer_id,
            )
    if used:
        stage.label(
            "reviewer_email_sale", "insider", mod, used[0], used[-1], f"sold reviewers of {seller}"
        )


def _negative_reviews(
    stage: Stage, rng: random.Random, cutoff: datetime
) -> tuple[str, list[Review]]:
    """A seller with at least five published 1-2 star reviews before ``cutoff``, and 5-12 of
    them in random order."""

    def negative(r: Review) -> bool:
        return r.rating <= 2 and r.status == "published" and r.created_at < cutoff

    candidates = sorted(
        s for s, rs in stage.reviews_by_seller.items() if sum(negative(r) for r in rs) >= 5
    )
    seller = rng.choice(candidates)
    chosen = [r for r in stage.reviews_by_seller[seller] if negative(r)]
    rng.shuffle(chosen)
    return seller, chosen[: rng.randint(5, 12)]


def review_deletion(stage: Stage) -> None:
    """A moderator deletes a seller's negative reviews for pay, some under self-made cases."""
    rng = stage.rng("review_deletion")
    mod = stage.pick(rng, "trust_safety")
    lo, hi = window(stage, (6, 18), (2, 5), rng)
    seller, negative = _negative_reviews(stage, rng, stage.day(lo))
    cover_cases = rng.random() < 0.5
    times = stage.shift_times(rng, mod, stage.day(lo), stage.day(hi), (1, 4))
    log = stage.world.log
    used = []
    for t, r in zip(times, negative, strict=False):
        kw = review_refs(r)
        case_id = None
        if cover_cases:  # a report case opened by the moderator minutes before acting
            opened = t - seconds(rng.uniform(60, 600))
            case = log.open_case(
                "review_report",
                mod.employee_id,
                opened,
                customer_id=r.customer_id,
                seller_id=r.seller_id,
                closed_at=t + seconds(rng.uniform(60, 600)),
            )
            case_id = case.case_id
        log.add(
            t, mod.employee_id, "review.view", case_id=case_id, justification="review_report", **kw
        )
        deleted = t + seconds(rng.uniform(30, 300))
        log.add(
            deleted,
            mod.employee_id,
            "review.delete",
            case_id=case_id,
            justification="review_report",
            **kw,
        )
        r.status, r.removed_at, r.removed_by = "removed", deleted, mod.employee_id
        used.append(deleted)
    if used:
        stage.label(
            "review_deletion",
            "insider",
            mod,
            used[0],
            used[-1],
            f"deleted negative reviews of {seller}"
            + (" under self-opened cases" if cover_cases else ""),
        )


def reinstatement(stage: Stage) -> None:
    """A moderator reinstates banned merchants for pay, without a genuine appeal."""
    rng = stage.rng("reinstatement")
    mod = stage.pick(rng, "trust_safety")
    banned = sorted(
        s.seller_id for s in stage.world.sellers if s.status == "banned" and s.banned_at is not None
    )
    chosen = rng.sample(banned, min(len(banned), rng.randint(1, 2)))
    lo, hi = window(stage, (6, 20), (1, 4), rng)
    times = stage.shift_times(rng, mod, stage.day(lo), stage.day(hi), (1, 1))
    log = stage.world.log
    used = []
    for t, sid in zip(times, chosen, strict=False):
        case_id = None
        if rng.random() < 0.5:  # a cover appeal, opened by the same person just before
            case = log.open_case(
                "seller_appeal",
                mod.employee_id,
                t - seconds(rng.uniform(300, 1800)),
                seller_id=sid,
                closed_at=t + seconds(rng.uniform(60, 600)),
            )
            case_id = case.case_id
        log.add(
            t - seconds(rng.uniform(60, 240)),
            mod.employee_id,
            "seller.view",
            seller_id=sid,
            case_id=case_id,
            justification="seller_appeal",
        )
        log.add(
            t,
            mod.employee_id,
            "seller.reinstate",
            seller_id=sid,
            case_id=case_id,
            justification="seller_appeal",
        )
        seller = stage.seller_by_id[sid]
        seller.status, seller.banned_at = "active", None
        used.append(t)
    if used:
        stage.label(
            "reinstatement",
            "insider",
            mod,
            used[0],
            used[-1],
            f"reinstated {len(used)} banned seller(s)",
        )
