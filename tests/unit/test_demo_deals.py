"""The demo deals generator: deterministic, every status and strategy, stories the app tells."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.analysis import Assumptions, analyze
from domain.assumption_rules import INTEGERS, assumption_errors
from domain.deal import TRANSITIONS, DealRole, DealStatus, OfferStatus, mentioned_emails
from domain.ledger import Category, in_pnl
from domain.permissions import Role, can
from domain.timeline import TimelineKind
from persistence.demo_data import demo_properties
from persistence.demo_deals import DealPlan, demo_deals
from persistence.seed import DEMO_TENANTS, NAMESPACE

TODAY = date(2026, 11, 22)
MIDNIGHT = datetime(2026, 11, 22, tzinfo=UTC)
DEMO = DEMO_TENANTS[0]
STRATEGIES = {"FLIP", "BRRRR", "BUY_AND_HOLD", "WHOLESALE"}
RENTALS = {"BRRRR", "BUY_AND_HOLD"}
PERMISSION_OF_KIND = {
    "DEAL_CREATED": ("deals:write",),
    "DEAL_UPDATED": ("deals:write",),
    "MEMBER_ADDED": ("deals:write",),
    "STATUS_CHANGED": ("deals:write", "offers:write"),
    "OFFER_SUBMITTED": ("offers:write",),
    "OFFER_RESPONDED": ("offers:write",),
    "BUDGET_SET": ("finance:write",),
    "BUDGET_EXCEEDED": ("finance:write",),
    "TRANSACTION_ADDED": ("finance:write",),
    "COMMENT": ("timeline:comment",),
}


def inputs(tenant: Any, today: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    props = [
        {**p, "id": uuid.uuid5(tenant.id, p["listing_id"])}
        for p in demo_properties(tenant.slug, today)
    ]
    users = [
        {
            "id": uuid.uuid5(NAMESPACE, f"user:{tenant.slug}:{email}"),
            "email": email,
            "name": name,
            "role": role,
        }
        for email, name, role in tenant.users
    ]
    return props, users


def make(tenant: Any = DEMO, today: date = TODAY) -> tuple[DealPlan, list[dict[str, Any]]]:
    props, users = inputs(tenant, today)
    return demo_deals(tenant.slug, tenant.id, today, props, users), users


@pytest.fixture(scope="module")
def demo() -> tuple[DealPlan, list[dict[str, Any]]]:
    return make()


def by_deal(rows: list[dict[str, Any]]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    grouped: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row["deal_id"]].append(row)
    return grouped


def months_back(today: date) -> list[date]:
    """The firsts of the 12 months in [today - 12 months, today), newest first."""
    year, month = today.year, today.month
    if today.day == 1:
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    firsts = []
    for _ in range(12):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return firsts


def test_same_inputs_same_rows_and_input_order_does_not_matter() -> None:
    props, users = inputs(DEMO, TODAY)
    first = demo_deals(DEMO.slug, DEMO.id, TODAY, props, users)
    again = demo_deals(DEMO.slug, DEMO.id, TODAY, list(reversed(props)), list(reversed(users)))
    assert first == again
    other = demo_deals("other-slug", DEMO.id, TODAY, props, users)
    assert [d["name"] for d in other.deals] != [d["name"] for d in first.deals]


def test_no_properties_or_no_users_give_an_empty_plan() -> None:
    props, users = inputs(DEMO, TODAY)
    assert demo_deals(DEMO.slug, DEMO.id, TODAY, [], users) == DealPlan()
    assert demo_deals(DEMO.slug, DEMO.id, TODAY, props, []) == DealPlan()


@pytest.mark.parametrize("tenant", DEMO_TENANTS, ids=lambda t: t.slug)
def test_about_forty_deals_in_every_status_and_strategy(tenant: Any) -> None:
    plan, _ = make(tenant)
    assert 38 <= len(plan.deals) <= 45
    pairs = Counter((d["status"], d["strategy"]) for d in plan.deals)
    assert {s.value for s in DealStatus} == {status for status, _ in pairs}
    assert {(s.value, k) for s in DealStatus for k in STRATEGIES} <= set(pairs)
    closed = Counter(d["strategy"] for d in plan.deals if d["status"] == "CLOSED")
    assert closed["BRRRR"] >= 2 and closed["BUY_AND_HOLD"] >= 2 and closed["FLIP"] >= 2


def test_ids_are_unique_and_rows_belong_to_the_tenant(demo) -> None:
    plan, _ = demo
    for table in ("accounts", "deals", "offers", "timeline_entries", "budgets", "transactions"):
        rows = getattr(plan, table)
        assert len({r["id"] for r in rows}) == len(rows), table
        assert {r["tenant_id"] for r in rows} == {DEMO.id}, table
    deal_ids = {d["id"] for d in plan.deals}
    for table in ("deal_members", "offers", "timeline_entries", "budgets", "transactions"):
        assert {r["deal_id"] for r in getattr(plan, table)} <= deal_ids, table
    assert {(a["name"], a["kind"]) for a in plan.accounts} == {
        ("Operating Checking", "CHECKING"),
        ("Renovation Card", "CREDIT_CARD"),
    }
    assert {t["account_id"] for t in plan.transactions} <= {a["id"] for a in plan.accounts}
    assert len({(m["deal_id"], m["user_id"]) for m in plan.deal_members}) == len(plan.deal_members)
    property_deals = Counter(d["property_id"] for d in plan.deals)
    assert max(property_deals.values()) == 2  # one property got a second look


def test_prices_are_realistic_and_assumptions_are_valid(demo) -> None:
    plan, _ = demo
    for deal in plan.deals:
        assert deal["purchase_price"] > 50_000
        assert deal["purchase_price"] == deal["purchase_price"].quantize(Decimal("0.01"))
        if deal["arv"] is not None:
            assert deal["arv"] >= deal["purchase_price"]
            assert 0 <= deal["estimated_repairs"] < deal["arv"] / 2
        values = {k: v if k in INTEGERS else Decimal(v) for k, v in deal["assumptions"].items()}
        assert all(
            isinstance(v, int if k in INTEGERS else str) for k, v in deal["assumptions"].items()
        )
        assert assumption_errors(values, ("assumptions",)) == []
        own = Assumptions(
            purchase_price=deal["purchase_price"],
            rehab_cost=deal["estimated_repairs"],
            arv=deal["arv"],
        )
        analysis = analyze(deal["strategy"], Assumptions(**values).merged(own))
        if deal["strategy"] in RENTALS and deal["status"] != "LEAD":
            assert {
                "monthly_rent",
                "down_payment_rate",
                "interest_rate",
                "vacancy_rate",
                "annual_taxes",
                "annual_insurance",
            } <= set(deal["assumptions"])
            assert analysis.gross_scheduled_rent == 12 * Decimal(
                deal["assumptions"]["monthly_rent"]
            )
    assert any(d["assumptions"] == {} for d in plan.deals)  # bare leads exist too


def test_teams_have_two_or_three_members_led_by_the_creator(demo) -> None:
    plan, users = demo
    roles = {u["id"]: u["role"] for u in users}
    members = by_deal(plan.deal_members)
    for deal in plan.deals:
        team = members[deal["id"]]
        assert 2 <= len(team) <= 3
        assert [m["user_id"] for m in team if m["role"] == "LEAD"] == [deal["created_by"]]
        assert {m["role"] for m in team} <= {r.value for r in DealRole}
        assert can(Role(roles[deal["created_by"]]), "deals:write")
    assert {m["role"] for m in plan.deal_members} >= {"LEAD", "UNDERWRITER", "PROJECT_MANAGER"}
    # A one-user tenant gets one-person teams.
    other, _ = make(DEMO_TENANTS[1])
    assert Counter(len(t) for t in by_deal(other.deal_members).values()) == {1: len(other.deals)}


def test_offers_match_the_deal_status(demo) -> None:
    plan, _ = demo
    offers = by_deal(plan.offers)
    for deal in plan.deals:
        mine = offers.get(deal["id"], [])
        statuses = Counter(o["status"] for o in mine)
        if deal["status"] in ("UNDER_CONTRACT", "CLOSED"):
            assert statuses["ACCEPTED"] == 1, deal["name"]
            accepted = next(o for o in mine if o["status"] == "ACCEPTED")
            assert accepted["amount"] == deal["purchase_price"]
            assert statuses["PENDING"] == 0
        else:
            assert statuses["ACCEPTED"] == 0, deal["name"]
        if deal["status"] == "LEAD":
            assert mine == []
        if deal["status"] == "OFFER_MADE":
            assert statuses["PENDING"] >= 1
        for offer in mine:
            assert offer["status"] in {s.value for s in OfferStatus}
            assert offer["status"] != "EXPIRED"  # stored PENDING, shown EXPIRED after expiry
            assert offer["amount"] > 0 and offer["party"] in ("BUYER", "SELLER")
            if offer["responded_at"] is not None:
                assert offer["status"] != "PENDING"
                assert offer["created_at"] < offer["responded_at"]
                if offer["expires_at"] is not None:
                    assert offer["responded_at"] < offer["expires_at"]
            if offer["parent_id"] is not None:
                parent = next(o for o in mine if o["id"] == offer["parent_id"])
                assert parent["status"] == "COUNTERED"
                assert parent["party"] != offer["party"]
                assert parent["responded_at"] < offer["created_at"]
    statuses = Counter(o["status"] for o in plan.offers)
    assert statuses["REJECTED"] and statuses["COUNTERED"] and statuses["WITHDRAWN"]
    pending = [o for o in plan.offers if o["status"] == "PENDING"]
    assert any(o["expires_at"] < MIDNIGHT for o in pending)  # expired-looking
    assert any(o["expires_at"] > MIDNIGHT for o in pending)  # still open
    assert any(o["parent_id"] for o in plan.offers)


def test_timelines_are_ordered_and_tell_the_status_story(demo) -> None:
    plan, _ = demo
    entries = by_deal(plan.timeline_entries)
    created = [e["created_at"] for e in plan.timeline_entries]
    assert created == sorted(created)  # insertion order follows time: seq does too
    for deal in plan.deals:
        story = entries[deal["id"]]
        times = [e["created_at"] for e in story]
        assert all(a < b for a, b in zip(times, times[1:], strict=False)), deal["name"]
        assert times[-1] < MIDNIGHT
        assert story[0]["kind"] == "DEAL_CREATED" and story[0]["created_at"] == deal["created_at"]
        assert story[0]["message"] == f"Deal created: {deal['name']}"
        status = "LEAD"
        for entry in story:
            assert entry["kind"] in {k.value for k in TimelineKind}
            if entry["kind"] == "STATUS_CHANGED":
                assert entry["data"]["from"] == status
                assert DealStatus(entry["data"]["to"]) in TRANSITIONS[DealStatus(status)]
                status = entry["data"]["to"]
                last_change = entry["created_at"]
        assert status == deal["status"]
        if deal["status"] != "LEAD":
            assert deal["status_changed_at"] == last_change
        kinds = Counter(e["kind"] for e in story)
        offers = [o for o in plan.offers if o["deal_id"] == deal["id"]]
        assert kinds["OFFER_SUBMITTED"] == len(offers)
        assert kinds["OFFER_RESPONDED"] == sum(1 for o in offers if o["responded_at"])
        assert kinds["TRANSACTION_ADDED"] == sum(
            1 for t in plan.transactions if t["deal_id"] == deal["id"]
        )
    kinds = Counter(e["kind"] for e in plan.timeline_entries)
    for kind in (
        "STATUS_CHANGED",
        "OFFER_SUBMITTED",
        "OFFER_RESPONDED",
        "COMMENT",
        "BUDGET_SET",
        "TRANSACTION_ADDED",
        "BUDGET_EXCEEDED",
        "MEMBER_ADDED",
    ):
        assert kinds[kind] > 0, kind


def test_actors_may_do_what_their_entries_say(demo) -> None:
    plan, users = demo
    roles = {u["id"]: Role(u["role"]) for u in users}
    for entry in plan.timeline_entries:
        allowed = PERMISSION_OF_KIND[entry["kind"]]
        assert any(can(roles[entry["actor_id"]], p) for p in allowed), entry["kind"]
    for offer in plan.offers:
        assert can(roles[offer["submitted_by"]], "offers:write")
    for txn in plan.transactions:
        assert can(roles[txn["created_by"]], "finance:write")


def test_comments_mention_tenant_users_by_email(demo) -> None:
    plan, users = demo
    ids = {u["email"]: u["id"] for u in users}
    comments = [e for e in plan.timeline_entries if e["kind"] == "COMMENT"]
    assert len(comments) >= 20
    for comment in comments:
        assert comment["data"] == {"body": comment["message"]}
        expected = [ids[email] for email in mentioned_emails(comment["message"])]
        assert comment["mentions"] == expected
        assert comment["actor_id"] not in comment["mentions"]
    assert sum(1 for c in comments if c["mentions"]) >= len(comments) * 0.9


def test_amounts_are_signed(demo) -> None:
    plan, _ = demo
    for txn in plan.transactions:
        category = Category(txn["category"])
        amount = txn["amount"]
        assert amount != 0 and amount == amount.quantize(Decimal("0.01"))
        assert txn["occurred_on"] < TODAY
        if category in (Category.RENTS, Category.SALE):
            assert amount > 0, txn
        elif category is Category.LOAN_PRINCIPAL:
            assert (amount > 0) == (txn["description"] == "Refinance loan funded"), txn
        elif category is not Category.TRANSFER:
            assert amount < 0, txn
            assert in_pnl(category) or category in (Category.PURCHASE, Category.CAPEX)


def test_closed_rentals_have_a_year_of_books(demo) -> None:
    plan, _ = demo
    transactions = by_deal(plan.transactions)
    window = months_back(TODAY)
    assert len(window) == 12
    rentals = [d for d in plan.deals if d["status"] == "CLOSED" and d["strategy"] in RENTALS]
    assert len(rentals) >= 4
    for deal in rentals:
        books = transactions[deal["id"]]
        rent_months = {t["occurred_on"].replace(day=1) for t in books if t["category"] == "RENTS"}
        assert set(window) <= rent_months, deal["name"]
        rent = Decimal(deal["assumptions"]["monthly_rent"])
        assert {t["amount"] for t in books if t["category"] == "RENTS"} == {rent}
        since = TODAY - timedelta(days=365)
        last_year = {t["category"] for t in books if t["occurred_on"] >= since}
        assert {
            "RENTS",
            "MORTGAGE_INTEREST",
            "LOAN_PRINCIPAL",
            "TAXES",
            "INSURANCE",
            "MANAGEMENT_FEES",
        } <= last_year, deal["name"]
        interest = [
            t["amount"]
            for t in sorted(books, key=lambda t: t["occurred_on"])
            if t["category"] == "MORTGAGE_INTEREST"
            and t["description"].startswith("Mortgage interest")
        ]
        assert interest == sorted(interest)  # the balance amortizes: interest shrinks
    categories = {t["category"] for t in plan.transactions}
    assert {"REPAIRS", "UTILITIES", "TRANSFER", "SUPPLIES", "SALE", "PURCHASE"} <= categories
    flips = [d for d in plan.deals if d["status"] == "CLOSED" and d["strategy"] == "FLIP"]
    for deal in flips:
        repairs = sum(-t["amount"] for t in transactions[deal["id"]] if t["category"] == "REPAIRS")
        assert repairs > deal["estimated_repairs"] * Decimal("0.85")
    assert not any(
        transactions.get(d["id"])
        for d in plan.deals
        if d["status"] not in ("UNDER_CONTRACT", "CLOSED")
    )


def test_budgets_and_their_crossings_follow_the_ledger_rule(demo) -> None:
    plan, _ = demo
    spent: Counter[tuple[uuid.UUID, str]] = Counter()
    for txn in plan.transactions:
        spent[(txn["deal_id"], txn["category"])] -= txn["amount"]
    exceeded_entries = Counter(
        e["data"]["budget_id"] for e in plan.timeline_entries if e["kind"] == "BUDGET_EXCEEDED"
    )
    statuses = {d["id"]: d["status"] for d in plan.deals}
    for budget in plan.budgets:
        assert statuses[budget["deal_id"]] in ("UNDER_CONTRACT", "CLOSED")
        over = spent[(budget["deal_id"], budget["category"])] > budget["amount"]
        assert (budget["exceeded_at"] is not None) == over, budget
        if over:
            assert exceeded_entries[str(budget["id"])] >= 1
    assert len(exceeded_entries) >= 2
    past_contract = [d for d in plan.deals if d["status"] in ("UNDER_CONTRACT", "CLOSED")]
    assert {b["deal_id"] for b in plan.budgets} == {d["id"] for d in past_contract}
    assert {"REPAIRS", "UTILITIES"} <= {b["category"] for b in plan.budgets}


@pytest.mark.parametrize("today", [date(2024, 2, 29), date(2025, 1, 1), date(2027, 7, 31)])
def test_other_days_keep_the_rules(today: date) -> None:
    plan, _ = make(DEMO, today)
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
    assert max(e["created_at"] for e in plan.timeline_entries) < midnight
    assert max(t["occurred_on"] for t in plan.transactions) < today
    for story in by_deal(plan.timeline_entries).values():
        times = [e["created_at"] for e in story]
        assert all(a < b for a, b in zip(times, times[1:], strict=False))
    offers = by_deal(plan.offers)
    for deal in plan.deals:
        accepted = sum(1 for o in offers.get(deal["id"], []) if o["status"] == "ACCEPTED")
        assert accepted == (1 if deal["status"] in ("UNDER_CONTRACT", "CLOSED") else 0)
    window = months_back(today)
    for deal in plan.deals:
        if deal["status"] == "CLOSED" and deal["strategy"] in RENTALS:
            months = {
                t["occurred_on"].replace(day=1)
                for t in plan.transactions
                if t["deal_id"] == deal["id"] and t["category"] == "RENTS"
            }
            assert set(window) <= months
