"""The synthetic marketplace: determinism, format, referential integrity and realism."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import phonenumbers
import pytest

from custodes.dataset.schema import ACCESS_KEYS
from custodes.sim import SimConfig, World, build, generate, write
from custodes.sim.activity import ACTIONS, CASE_KINDS, ROUTINE_JUSTIFICATIONS
from custodes.sim.people import ROLES, ascii_slug
from custodes.sim.writer import COLUMNS, FILES

CONFIG = SimConfig(seed=7, customers=1000, employees=40, days=21)
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
EMAIL = re.compile(r"^[a-z0-9](?:[a-z0-9]|[._](?=[a-z0-9]))*@[a-z0-9-]+(\.[a-z0-9-]+)+$")
REGION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")
ID = {
    "employee_id": r"E\d{4}",
    "customer_id": r"C\d{6}",
    "seller_id": r"S\d{4}",
    "product_id": r"P\d{5}",
    "order_id": r"O\d{6}",
    "review_id": r"R\d{6}",
    "case_id": r"K\d{6}",
}
TIME_COLUMNS = (
    "hired_at",
    "left_at",
    "created_at",
    "banned_at",
    "ordered_at",
    "removed_at",
    "opened_at",
    "closed_at",
)


@pytest.fixture(scope="module")
def world() -> World:
    return build(CONFIG)


@pytest.fixture(scope="module")
def out(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sim")
    write(world, d)
    return d


@pytest.fixture(scope="module")
def data(out: Path) -> dict[str, list[dict[str, str]]]:
    tables: dict[str, list[dict[str, str]]] = {}
    for name in COLUMNS:
        with (out / name).open(encoding="utf-8", newline="") as f:
            tables[name.removesuffix(".csv")] = list(csv.DictReader(f))
    return tables


@pytest.fixture(scope="module")
def access(out: Path) -> list[dict]:
    with (out / "access.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def ts(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def index(rows: list[dict[str, str]], key: str) -> dict[str, dict[str, str]]:
    return {r[key]: r for r in rows}


# -- determinism and format ------------------------------------------------------------------


def test_same_config_same_bytes_and_seed_matters(out: Path, tmp_path: Path) -> None:
    """``generate`` equals ``write(build(...))``, run after run; another seed differs."""
    again = tmp_path / "again"
    summary = generate(again, CONFIG)
    for name in FILES:
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    other = tmp_path / "other"
    generate(other, SimConfig(seed=8, customers=1000, employees=40, days=21))
    for name in ("customers.csv", "orders.csv", "access.jsonl"):
        assert (other / name).read_bytes() != (out / name).read_bytes(), name
    assert summary.rows["customers.csv"] == 1000
    assert summary["employees.csv"] == 40


def test_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    """Nothing depends on set or str-hash order: separate processes write identical files."""
    script = (
        "import sys; from pathlib import Path; from custodes.sim import SimConfig, generate; "
        "generate(Path(sys.argv[1]), SimConfig(seed=5, customers=300, employees=20, days=7))"
    )
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / hash_seed)], check=True, env=env
        )
    for name in FILES:
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()


def test_files_have_documented_headers(out: Path) -> None:
    expected = {
        "employees.csv": "employee_id,name,role,team,manager_id,hired_at,left_at,region",
        "customers.csv": "customer_id,name,email,phone,country,region,language,created_at",
        "sellers.csv": "seller_id,name,status,country,created_at,banned_at",
        "products.csv": "product_id,seller_id,category,title",
        "orders.csv": "order_id,customer_id,product_id,seller_id,ordered_at",
        "reviews.csv": "review_id,customer_id,product_id,seller_id,rating,created_at,status,"
        "removed_at,removed_by",
        "cases.csv": "case_id,kind,employee_id,customer_id,seller_id,opened_at,closed_at",
    }
    assert set(expected) == set(COLUMNS)
    for name, header in expected.items():
        first = (out / name).read_text(encoding="utf-8").split("\n", 1)[0]
        assert first == header, name
    assert (out / "signals.jsonl").read_bytes() == b""


def test_times_ids_and_row_counts(data: dict[str, list[dict[str, str]]]) -> None:
    for table, rows in data.items():
        assert rows, table
        for column in TIME_COLUMNS:
            for r in rows:
                if r.get(column):
                    assert TIME.match(r[column]), (table, column, r[column])
        key = f"{table.removesuffix('s')}_id" if table != "cases" else "case_id"
        ids = [r[key] for r in rows]
        assert len(ids) == len(set(ids)), table
        assert all(re.fullmatch(ID[key], i) for i in ids), table
    assert len(data["customers"]) == CONFIG.customers
    assert len(data["employees"]) == CONFIG.employees


# -- referential integrity -------------------------------------------------------------------


def test_foreign_keys_resolve(data: dict[str, list[dict[str, str]]], access: list[dict]) -> None:
    customers = index(data["customers"], "customer_id")
    sellers = index(data["sellers"], "seller_id")
    products = index(data["products"], "product_id")
    employees = index(data["employees"], "employee_id")
    cases = index(data["cases"], "case_id")
    reviews = index(data["reviews"], "review_id")
    for p in data["products"]:
        assert p["seller_id"] in sellers
    bought: dict[tuple[str, str], datetime] = {}
    for o in data["orders"]:
        assert o["customer_id"] in customers
        assert products[o["product_id"]]["seller_id"] == o["seller_id"]
        assert ts(customers[o["customer_id"]]["created_at"]) <= ts(o["ordered_at"])
        bought.setdefault((o["customer_id"], o["product_id"]), ts(o["ordered_at"]))
    for r in data["reviews"]:
        first_order = bought[(r["customer_id"], r["product_id"])]
        assert first_order < ts(r["created_at"])
        assert products[r["product_id"]]["seller_id"] == r["seller_id"]
    for k in data["cases"]:
        assert k["employee_id"] in employees
        assert not k["customer_id"] or k["customer_id"] in customers
        assert not k["seller_id"] or k["seller_id"] in sellers
    for e in access:
        assert e["employee_id"] in employees
        assert e["case_id"] is None or e["case_id"] in cases
        assert all(c in customers for c in e["customer_ids"])
        assert e["seller_id"] is None or e["seller_id"] in sellers
        assert e["product_id"] is None or e["product_id"] in products
        assert e["review_id"] is None or e["review_id"] in reviews


def test_org_chart_is_a_tree_of_managers(data: dict[str, list[dict[str, str]]]) -> None:
    employees = index(data["employees"], "employee_id")
    roles = Counter(e["role"] for e in employees.values())
    assert set(roles) == set(ROLES)
    assert roles.most_common(1)[0][0] == "support_agent"
    tops = [e for e in employees.values() if not e["manager_id"]]
    assert len(tops) == 1 and tops[0]["role"] == "manager"
    for e in employees.values():
        seen = {e["employee_id"]}
        boss = e["manager_id"]
        while boss:
            assert employees[boss]["role"] == "manager"
            assert boss not in seen, "cycle in the org chart"
            seen.add(boss)
            boss = employees[boss]["manager_id"]
        assert REGION.match(e["region"])
        assert not e["left_at"] or e["left_at"] > e["hired_at"]


def test_cases_go_to_the_right_role(
    data: dict[str, list[dict[str, str]]], access: list[dict]
) -> None:
    reinstated = {e["seller_id"] for e in access if e["action"] == "seller.reinstate"}
    employees = index(data["employees"], "employee_id")
    sellers = index(data["sellers"], "seller_id")
    role_of_kind = {
        "customer_contact": "support_agent",
        "order_dispute": "support_agent",
        "review_report": "trust_safety",
        "seller_appeal": "trust_safety",
        "seller_support": "seller_support",
        "investigation": "investigator",
    }
    kinds: Counter[str] = Counter()
    for k in data["cases"]:
        kinds[k["kind"]] += 1
        assert employees[k["employee_id"]]["role"] == role_of_kind[k["kind"]]
        if k["kind"] in ("customer_contact", "order_dispute", "review_report"):
            assert k["customer_id"]
        if k["kind"] in ("order_dispute", "review_report", "seller_appeal", "seller_support"):
            assert k["seller_id"]
        if k["kind"] == "seller_appeal":
            s = sellers[k["seller_id"]]
            assert s["status"] in ("suspended", "banned") or s["seller_id"] in reinstated
        assert not k["closed_at"] or k["closed_at"] >= k["opened_at"]
    assert [k["opened_at"] for k in data["cases"]] == sorted(k["opened_at"] for k in data["cases"])
    assert set(kinds) == set(CASE_KINDS)
    assert any(not k["closed_at"] for k in data["cases"]), "some cases are still open"


def test_removed_reviews_were_removed_under_a_report(
    data: dict[str, list[dict[str, str]]], access: list[dict]
) -> None:
    employees = index(data["employees"], "employee_id")
    cases = index(data["cases"], "case_id")
    deletes = {e["review_id"]: e for e in access if e["action"] == "review.delete"}
    removed = [r for r in data["reviews"] if r["status"] == "removed"]
    assert removed
    assert len(removed) == len(deletes)
    for r in data["reviews"]:
        assert r["status"] in ("published", "removed")
        if r["status"] == "published":
            assert not r["removed_at"] and not r["removed_by"]
            continue
        assert employees[r["removed_by"]]["role"] == "trust_safety"
        event = deletes[r["review_id"]]
        assert (event["employee_id"], event["time"]) == (r["removed_by"], r["removed_at"])
        case = cases[event["case_id"]]
        assert case["kind"] == "review_report" and case["employee_id"] == r["removed_by"]
        assert (case["customer_id"], case["seller_id"]) == (r["customer_id"], r["seller_id"])


def test_reinstatements_follow_appeals(
    data: dict[str, list[dict[str, str]]], access: list[dict]
) -> None:
    sellers = index(data["sellers"], "seller_id")
    cases = index(data["cases"], "case_id")
    reinstated = [e for e in access if e["action"] == "seller.reinstate"]
    for e in reinstated:
        case = cases[e["case_id"]]
        assert case["kind"] == "seller_appeal" and case["seller_id"] == e["seller_id"]
        assert sellers[e["seller_id"]]["status"] == "active"
        assert not sellers[e["seller_id"]]["banned_at"]
    for s in data["sellers"]:
        assert (s["status"] == "active") == (not s["banned_at"])


# -- realism ---------------------------------------------------------------------------------


def test_customers_look_real(data: dict[str, list[dict[str, str]]]) -> None:
    customers = data["customers"]
    emails = [c["email"] for c in customers]
    assert len(set(emails)) == len(emails)
    phones = [c["phone"] for c in customers if c["phone"]]
    assert len(set(phones)) == len(phones)
    assert len(phones) > 0.85 * len(customers)
    for c in customers:
        assert EMAIL.match(c["email"]), c["email"]
        assert REGION.match(c["region"]) and c["region"].startswith(c["country"] + "-")
        assert re.fullmatch(r"[a-z]{2}-[A-Z]{2}", c["language"])
        assert c["created_at"] < CONFIG.start.strftime("%Y-%m-%dT%H:%M:%SZ")
        if c["phone"]:
            number = phonenumbers.parse(c["phone"])
            assert phonenumbers.is_valid_number(number), c["phone"]
            assert phonenumbers.region_code_for_number(number) == c["country"]
            assert (
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                == c["phone"]
            )
    countries = Counter(c["country"] for c in customers)
    assert countries.most_common(1)[0][0] == "US" and len(countries) >= 10
    for c in customers:
        if c["country"] == "JP":
            assert c["language"] == "ja-JP"
        if c["country"] == "DE":
            assert c["language"] == "de-DE"


def test_ratings_skew_high(data: dict[str, list[dict[str, str]]]) -> None:
    ratings = Counter(int(r["rating"]) for r in data["reviews"])
    total = sum(ratings.values())
    assert set(ratings) <= {1, 2, 3, 4, 5}
    assert ratings[5] > ratings[4] > ratings[2]
    assert (ratings[4] + ratings[5]) / total > 0.65


def test_sellers_mostly_active(data: dict[str, list[dict[str, str]]]) -> None:
    status = Counter(s["status"] for s in data["sellers"])
    assert set(status) == {"active", "suspended", "banned"}
    assert status["active"] > 0.8 * len(data["sellers"])


# -- access log ------------------------------------------------------------------------------


def test_access_lines_are_well_formed_and_sorted(out: Path, access: list[dict]) -> None:
    lines = (out / "access.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(access) > 100
    times = [e["time"] for e in access]
    assert times == sorted(times)
    start, end = CONFIG.start, CONFIG.end
    for e in access:
        assert tuple(e) == ACCESS_KEYS
        assert e["action"] in ACTIONS
        assert TIME.match(e["time"]) and start <= ts(e["time"]) < end
        assert isinstance(e["customer_ids"], list) and isinstance(e["fields"], list)
        assert e["justification"] in CASE_KINDS or e["justification"] in ROUTINE_JUSTIFICATIONS
        if e["case_id"] is None:
            assert e["justification"] in ROUTINE_JUSTIFICATIONS
        if e["action"] == "customer.search":
            assert e["fields"] == []


def test_every_role_works_and_only_while_employed(
    data: dict[str, list[dict[str, str]]], access: list[dict]
) -> None:
    employees = index(data["employees"], "employee_id")
    by_role = Counter(employees[e["employee_id"]]["role"] for e in access)
    assert set(by_role) == set(ROLES)
    assert by_role.most_common(1)[0][0] == "support_agent"
    for e in access:
        who = employees[e["employee_id"]]
        assert who["hired_at"] <= e["time"]
        assert not who["left_at"] or e["time"] < who["left_at"]
    analysts = [e for e in access if employees[e["employee_id"]]["role"] == "data_analyst"]
    assert all(e["action"] == "customer.search" and not e["fields"] for e in analysts)
    assert max(len(e["customer_ids"]) for e in analysts) >= 20


def test_support_views_need_an_open_case_on_that_customer(
    data: dict[str, list[dict[str, str]]], access: list[dict]
) -> None:
    employees = index(data["employees"], "employee_id")
    cases = index(data["cases"], "case_id")
    views = [
        e
        for e in access
        if e["action"] == "customer.view" and employees[e["employee_id"]]["role"] == "support_agent"
    ]
    assert len(views) > 50
    for e in views:
        case = cases[e["case_id"]]
        assert case["employee_id"] == e["employee_id"]
        assert e["customer_ids"] == [case["customer_id"]]
        assert case["opened_at"] <= e["time"]
        assert not case["closed_at"] or e["time"] <= case["closed_at"]
        assert e["justification"] == case["kind"]
        assert e["fields"] and set(e["fields"]) <= {"name", "email", "phone"}


def test_seller_support_keeps_to_its_portfolio(world: World) -> None:
    staff = {e.employee_id: e for e in world.by_role("seller_support")}
    owned = [sid for e in staff.values() for sid in e.sellers]
    assert sorted(owned) == sorted(s.seller_id for s in world.sellers)  # each seller once
    routine = [e for e in world.log.events if e.justification == "account_management"]
    assert routine
    for e in routine:
        assert e.action == "seller.metrics" and e.seller_id in staff[e.employee_id].sellers
    cases = [k for k in world.log.cases if k.kind == "seller_support"]
    mine = sum(k.seller_id in staff[k.employee_id].sellers for k in cases)
    assert mine > 0.8 * len(cases)


def test_work_follows_shifts(data: dict[str, list[dict[str, str]]], access: list[dict]) -> None:
    weekday = Counter(ts(e["time"]).weekday() for e in access)
    assert weekday[5] + weekday[6] < 0.2 * sum(weekday.values())  # weekends are quieter
    employees = index(data["employees"], "employee_id")
    # A day-shift employee in Dublin (UTC+0) works office hours.
    dublin = [e for e in access if employees[e["employee_id"]]["region"] == "IE-D"]
    assert dublin
    hours = Counter(ts(e["time"]).hour for e in dublin)
    assert sum(n for h, n in hours.items() if 7 <= h < 20) > 0.95 * len(dublin)


def test_scenarios_can_add_to_the_world(tmp_path: Path) -> None:
    world = build(SimConfig(seed=3, customers=200, employees=20, days=7))
    agent = world.by_role("support_agent")[0]
    when = world.config.start + timedelta(days=2, hours=3)
    case = world.log.open_case(
        "customer_contact", agent.employee_id, when, customer_id=world.customers[0].customer_id
    )
    world.log.add(
        when + timedelta(minutes=5),
        agent.employee_id,
        "customer.view",
        customer_ids=[world.customers[0].customer_id],
        case_id=case.case_id,
        fields=["email"],
        justification="customer_contact",
    )
    with pytest.raises(ValueError, match="unknown action"):
        world.log.add(when, agent.employee_id, "customer.steal")
    summary = write(world, tmp_path)
    lines = (tmp_path / "access.jsonl").read_text(encoding="utf-8").splitlines()
    assert summary["access.jsonl"] == len(lines)
    assert any(f'"case_id": "{case.case_id}"' in line for line in lines)


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="employees"):
        SimConfig(employees=5)
    with pytest.raises(ValueError, match="timezone"):
        SimConfig(start=datetime(2026, 1, 5))
    assert SimConfig().start == datetime(2026, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Müller", "muller"),
        ("Groß", "gross"),
        ("Łukasz", "lukasz"),
        ("María José", "mariajose"),
        ("van Opper-Lotharingen", "vanopperlotharingen"),
        ("Ørsted", "orsted"),
    ],
)
def test_ascii_slug(text: str, slug: str) -> None:
    assert ascii_slug(text) == slug
