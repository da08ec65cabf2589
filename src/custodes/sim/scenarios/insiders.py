"""Insider scenarios from the story: each one hides in ordinary-looking accesses.

Every function adds accesses (and the cases, sanctions and outside signals that go with them) to
``stage.world`` and labels the insider(s) with the episode's first and last access. Insiders act
inside their own shifts, cite their own open cases when they can and use routine
justifications, so no single line looks wrong; only the pattern does.
"""

from __future__ import annotations

import random
from datetime import timedelta

from custodes.sim.config import DAY, HOUR, MINUTE, seconds
from custodes.sim.scenarios.base import Stage

FIELDS_EMAIL = (("email",), ("name", "email"), ("email",), ("name", "email", "phone"))


def _window(
    stage: Stage, first_day: tuple[float, float], length: tuple[float, float], rng: random.Random
) -> tuple[float, float]:
    """Episode bounds in days from the window's start, kept inside the window."""
    first = rng.uniform(*first_day)
    return first, min(first + rng.uniform(*length), stage.world.config.days - 0.5)


def email_sale(stage: Stage) -> None:
    """A support agent sells a seller the e-mails of its rivals' buyers, over a few days."""
    rng = stage.rng("email_sale")
    agent = stage.pick(rng, "support_agent")
    buyer, category = stage.busiest_category(rng)
    rivals = stage.category_sellers(category, {buyer})
    targets = sorted({c for s in rng.sample(rivals, min(3, len(rivals))) for c in stage.buyers[s]})
    rng.shuffle(targets)
    lo, hi = _window(stage, (6, 16), (3, 6), rng)
    times = stage.shift_times(rng, agent, stage.day(lo), stage.day(hi), (3, 8))
    victims = targets[: min(len(targets), 40 + rng.randint(0, 30))]
    log = stage.world.log
    for t, cid in zip(times, victims, strict=False):
        cover = stage.open_case_of(agent, t)
        log.add(
            t,
            agent.employee_id,
            "customer.view",
            customer_ids=(cid,),
            fields=rng.choice(FIELDS_EMAIL),
            case_id=cover.case_id if cover else None,
            justification="customer_contact",
        )
        if rng.random() < 0.35:
            stage.signal(
                t + seconds(rng.uniform(2, 8) * 86400),
                "offplatform_contact",
                seller_id=buyer,
                customer_id=cid,
            )
    used = times[: len(victims)]
    if used:
        stage.label(
            "email_sale",
            "insider",
            agent,
            used[0],
            used[-1],
            f"sold buyers of {category} rivals to {buyer}",
        )


def reviewer_email_sale(stage: Stage) -> None:
    """A trust & safety moderator sells a seller the e-mails of its critical reviewers."""
    rng = stage.rng("reviewer_email_sale")
    mod = stage.pick(rng, "trust_safety")
    sellers = sorted(
        s for s, rs in stage.reviews_by_seller.items() if sum(r.rating <= 3 for r in rs) >= 8
    )
    seller = rng.choice(sellers or sorted(stage.reviews_by_seller))
    lo, hi = _window(stage, (6, 18), (2, 4), rng)
    reviews = [r for r in stage.reviews_by_seller[seller] if r.created_at < stage.day(lo)]
    reviews.sort(key=lambda r: (r.rating, r.review_id))
    reviews = reviews[: 25 + rng.randint(0, 20)]
    times = stage.shift_times(rng, mod, stage.day(lo), stage.day(hi), (4, 10))
    log = stage.world.log
    used = []
    for t, r in zip(times, reviews, strict=False):
        kw = {
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


def review_deletion(stage: Stage) -> None:
    """A moderator deletes a seller's negative reviews for pay, some under self-made cases."""
    rng = stage.rng("review_deletion")
    mod = stage.pick(rng, "trust_safety")
    lo, hi = _window(stage, (6, 18), (2, 5), rng)
    cutoff = stage.day(lo)
    candidates = sorted(
        (
            s
            for s, rs in stage.reviews_by_seller.items()
            if sum(r.rating <= 2 and r.status == "published" and r.created_at < cutoff for r in rs)
            >= 5
        ),
        key=lambda s: s,
    )
    seller = rng.choice(candidates)
    negative = [
        r
        for r in stage.reviews_by_seller[seller]
        if r.rating <= 2 and r.status == "published" and r.created_at < cutoff
    ]
    rng.shuffle(negative)
    negative = negative[: rng.randint(5, 12)]
    cover_cases = rng.random() < 0.5
    times = stage.shift_times(rng, mod, stage.day(lo), stage.day(hi), (1, 4))
    log = stage.world.log
    used = []
    for t, r in zip(times, negative, strict=False):
        kw = {
            "customer_ids": (r.customer_id,),
            "seller_id": r.seller_id,
            "product_id": r.product_id,
            "review_id": r.review_id,
        }
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
    lo, hi = _window(stage, (6, 20), (1, 4), rng)
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


def metrics_sale(stage: Stage) -> None:
    """A seller-support employee sells a seller its rivals' sales metrics."""
    rng = stage.rng("metrics_sale")
    emp = stage.pick(rng, "seller_support")
    buyer, category = stage.busiest_category(rng)
    rivals = [s for s in stage.category_sellers(category, {buyer}) if s not in emp.sellers]
    rng.shuffle(rivals)
    rivals = rivals[: rng.randint(12, 30)]
    lo, hi = _window(stage, (6, 20), (2, 4), rng)
    times = stage.shift_times(rng, emp, stage.day(lo), stage.day(hi), (4, 9))
    log = stage.world.log
    used = []
    for t, sid in zip(times, rivals, strict=False):
        if rng.random() < 0.4:
            log.add(
                t - seconds(rng.uniform(20, 120)),
                emp.employee_id,
                "seller.view",
                seller_id=sid,
                justification="account_management",
            )
        log.add(
            t, emp.employee_id, "seller.metrics", seller_id=sid, justification="account_management"
        )
        used.append(t)
    if used:
        stage.label(
            "metrics_sale",
            "insider",
            emp,
            used[0],
            used[-1],
            f"sold metrics of {len(used)} {category} rivals to {buyer}",
        )


def departing_export(stage: Stage) -> None:
    """Someone who is leaving exports hundreds of customers in their last days."""
    rng = stage.rng("departing_export")
    leavers = [
        e
        for e in stage.world.employees
        if e.left_at is not None
        and e.role not in ("manager", "privacy_officer")
        and e.employee_id not in stage.taken
        and e.hired_at < stage.start - 30 * DAY
        and stage.day(9) <= e.left_at <= stage.end
    ]
    if leavers:
        emp = rng.choice(leavers)
        stage.taken.add(emp.employee_id)
    else:  # nobody leaves in this world: make someone leave
        emp = stage.pick(rng, "support_agent")
        emp.left_at = stage.day(rng.uniform(12, stage.world.config.days - 1))
        stage.world.log.events = [
            e
            for e in stage.world.log.events
            if not (e.employee_id == emp.employee_id and e.time >= emp.left_at)
        ]
    assert emp.left_at is not None
    lo = max(stage.start + DAY, emp.left_at - timedelta(days=rng.uniform(2, 5)))
    times = stage.shift_times(rng, emp, lo, emp.left_at, (1, 2))
    if not times:
        times = [emp.left_at - HOUR]
    pool = sorted(stage.customer_by_id)
    log = stage.world.log
    exported: list[str] = []
    for t in times[: rng.randint(2, 4)]:
        batch = sorted(rng.sample(pool, min(len(pool), rng.randint(80, 300))))
        log.add(
            t, emp.employee_id, "customer.search", customer_ids=batch, justification="analytics"
        )
        log.add(
            t + seconds(rng.uniform(30, 300)),
            emp.employee_id,
            "customer.export",
            customer_ids=batch,
            fields=("name", "email", "phone"),
            justification="data_subject_request",
        )
        exported += batch
    # One exported record turns up where it should not (an e-mail-only canary report).
    canary = rng.choice(exported)
    stage.signal(
        times[0] + seconds(rng.uniform(2, 6) * 86400),
        "canary_hit",
        customer_id=canary,
        email_only=True,
    )
    stage.label(
        "departing_export",
        "insider",
        emp,
        times[0],
        times[-1] + 5 * MINUTE,
        f"exported {len(set(exported))} customers before leaving",
    )


def colluding_pair(stage: Stage) -> None:
    """One agent opens cover cases; another reads those customers' e-mails under them."""
    rng = stage.rng("colluding_pair")
    opener = stage.pick(rng, "support_agent")
    reader = stage.pick(rng, "support_agent")
    buyer, category = stage.busiest_category(rng)
    targets = sorted(
        {c for s in stage.category_sellers(category, {buyer})[:4] for c in stage.buyers[s]}
    )
    rng.shuffle(targets)
    lo, hi = _window(stage, (6, 18), (3, 6), rng)
    times = stage.shift_times(rng, reader, stage.day(lo), stage.day(hi), (2, 5))
    log = stage.world.log
    used = []
    for t, cid in zip(times, targets[: rng.randint(15, 35)], strict=False):
        case = log.open_case(
            "customer_contact",
            opener.employee_id,
            t - seconds(rng.uniform(0.5, 6) * 3600),
            customer_id=cid,
            closed_at=t + seconds(rng.uniform(1, 24) * 3600),
        )
        log.add(
            t,
            reader.employee_id,
            "customer.view",
            customer_ids=(cid,),
            fields=rng.choice(FIELDS_EMAIL),
            case_id=case.case_id,
            justification="customer_contact",
        )
        used.append((case.opened_at, t))
        if rng.random() < 0.3:
            stage.signal(
                t + seconds(rng.uniform(2, 8) * 86400),
                "offplatform_contact",
                seller_id=buyer,
                customer_id=cid,
            )
    if used:
        stage.label(
            "colluding_pair",
            "insider",
            opener,
            min(o for o, _ in used),
            max(t for _, t in used),
            "opened cover cases for the pair",
        )
        stage.label(
            "colluding_pair",
            "insider",
            reader,
            min(t for _, t in used),
            max(t for _, t in used),
            "read e-mails under the partner's cases",
        )


def low_and_slow(stage: Stage) -> None:
    """An agent leaks one or two e-mails a shift for weeks, citing their own open cases."""
    rng = stage.rng("low_and_slow")
    agent = stage.pick(rng, "support_agent")
    buyer, category = stage.busiest_category(rng)
    targets = sorted(
        {c for s in stage.category_sellers(category, {buyer}) for c in stage.buyers[s]}
    )
    rng.shuffle(targets)
    lo = rng.uniform(5, 9)
    hi = min(stage.world.config.days - 1, lo + rng.uniform(14, 21))
    times = stage.shift_times(rng, agent, stage.day(lo), stage.day(hi), (1, 3), p_shift=0.7)
    log = stage.world.log
    used = []
    for t, cid in zip(times, targets, strict=False):
        cover = stage.open_case_of(agent, t)
        log.add(
            t,
            agent.employee_id,
            "customer.view",
            customer_ids=(cid,),
            fields=("email",),
            case_id=cover.case_id if cover else None,
            justification="customer_contact",
        )
        used.append(t)
        if rng.random() < 0.2:
            stage.signal(
                t + seconds(rng.uniform(3, 10) * 86400),
                "offplatform_contact",
                seller_id=buyer,
                customer_id=cid,
            )
    if used:
        stage.label(
            "low_and_slow",
            "insider",
            agent,
            used[0],
            used[-1],
            f"leaked {len(used)} e-mails slowly",
        )


INSIDERS = {
    "email_sale": email_sale,
    "reviewer_email_sale": reviewer_email_sale,
    "review_deletion": review_deletion,
    "reinstatement": reinstatement,
    "metrics_sale": metrics_sale,
    "departing_export": departing_export,
    "colluding_pair": colluding_pair,
    "low_and_slow": low_and_slow,
}
"""Scenario name → function adding it to a ``Stage``."""
