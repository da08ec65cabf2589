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
from custodes.sim.people import Employee
from custodes.sim.scenarios.base import Stage, window
from custodes.sim.scenarios.moderation import reinstatement, review_deletion, reviewer_email_sale

FIELDS_EMAIL = (("email",), ("name", "email"), ("email",), ("name", "email", "phone"))


def email_sale(stage: Stage) -> None:
    """A support agent sells a seller the e-mails of its rivals' buyers, over a few days."""
    rng = stage.rng("email_sale")
    agent = stage.pick(rng, "support_agent")
    buyer, category = stage.busiest_category(rng)
    rivals = stage.category_sellers(category, {buyer})
    targets = sorted({c for s in rng.sample(rivals, min(3, len(rivals))) for c in stage.buyers[s]})
    rng.shuffle(targets)
    lo, hi = window(stage, (6, 16), (3, 6), rng)
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


def metrics_sale(stage: Stage) -> None:
    """A seller-support employee sells a seller its rivals' sales metrics."""
    rng = stage.rng("metrics_sale")
    emp = stage.pick(rng, "seller_support")
    buyer, category = stage.busiest_category(rng)
    rivals = [s for s in stage.category_sellers(category, {buyer}) if s not in emp.sellers]
    rng.shuffle(rivals)
    rivals = rivals[: rng.randint(12, 30)]
    lo, hi = window(stage, (6, 20), (2, 4), rng)
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


def _leaver(stage: Stage, rng: random.Random) -> Employee:
    """Someone (untaken, not a manager or privacy officer) who leaves late in the window; if
    nobody does, a support agent is made to leave and their later work removed."""
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
        return emp
    emp = stage.pick(rng, "support_agent")
    left_at = emp.left_at = stage.day(rng.uniform(12, stage.world.config.days - 1))
    stage.world.log.events = [
        e
        for e in stage.world.log.events
        if not (e.employee_id == emp.employee_id and e.time >= left_at)
    ]
    return emp


def departing_export(stage: Stage) -> None:
    """Someone who is leaving exports hundreds of customers in their last days."""
    rng = stage.rng("departing_export")
    emp = _leaver(stage, rng)
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
    lo, hi = window(stage, (6, 18), (3, 6), rng)
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
