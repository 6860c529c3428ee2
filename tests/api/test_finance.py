"""Finance through the real API: accounts, signed transactions, budgets with their crossing
alerts, P&L and cash-flow reports, deal analysis and projections checked against
numpy-financial, commission splits, roles and tenant isolation. Each test makes its own deal
and reads reports filtered to it, so the shared database never changes the expected numbers."""

from __future__ import annotations

import base64
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import numpy_financial as npf
import pytest

from tests.conftest import Api

ADMIN = "demo@reos.dev"
ANALYST = "analyst@reos.dev"
UNDERWRITER = "underwriter@reos.dev"
OPS = "ops@reos.dev"
VIEWER = "viewer@reos.dev"
OTHER_ADMIN = "other@reos.dev"

ERRORS = "errors { field message code }"
TRANSACTION_FIELDS = """id amount category description counterparty date inProfitAndLoss
  deal { id } account { id name kind } createdBy { email }"""
BUDGET_FIELDS = "id category amount spent remaining exceeded exceededAt"

ACCOUNT_CREATE = f"""mutation($input: AccountInput!) {{
  accountCreate(input: $input) {{ account {{ id name kind }} {ERRORS} }} }}"""
ACCOUNTS = "{ accounts { id name kind } }"
TRANSACTION_CREATE = f"""mutation($input: TransactionInput!) {{
  transactionCreate(input: $input) {{ transaction {{ {TRANSACTION_FIELDS} }} {ERRORS} }} }}"""
TRANSACTIONS = """query($filter: TransactionFilter, $first: Int, $after: String) {
  transactions(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id amount category date inProfitAndLoss account { id } } }
  } }"""
DEAL_TRANSACTIONS = """query($id: ID!, $first: Int, $after: String) { deal(id: $id) {
  transactions(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id amount category date deal { id } } }
  } } }"""
BUDGET_SET = f"""mutation($input: BudgetInput!) {{
  budgetSet(input: $input) {{ budget {{ {BUDGET_FIELDS} }} {ERRORS} }} }}"""
DEAL_BUDGETS = f"query($id: ID!) {{ deal(id: $id) {{ budgets {{ {BUDGET_FIELDS} }} }} }}"
DEAL_TIMELINE = """query($id: ID!) { deal(id: $id) {
  timeline(first: 100) { edges { node { kind message data actor { email } } } } } }"""
PNL = """query($dealId: ID, $from: Date!, $to: Date!) {
  profitAndLoss(dealId: $dealId, from: $from, to: $to) {
    income { category amount } expenses { category amount }
    totalIncome totalExpenses netIncome from to
  } }"""
CASH_FLOW = """query($dealId: ID, $from: Date!, $to: Date!, $interval: Interval!) {
  cashFlow(dealId: $dealId, from: $from, to: $to, interval: $interval) {
    label start end inflow outflow net
  } }"""
ANALYSIS_FIELDS = """maxAllowableOffer totalCashInvested loanAmount netProfit roi
  grossScheduledRent effectiveGrossIncome operatingExpenses noi capRate annualCashFlow
  cashOnCash dscr grm monthlyPayment annualDebtService irr npv cashLeftInDeal onePercentRule
  formulas { name expression inputs value reason }"""
ANALYSIS = f"""query($id: ID!, $a: AnalysisAssumptionsInput) {{ deal(id: $id) {{
  analysis(assumptions: $a) {{ {ANALYSIS_FIELDS} }} }} }}"""
PROJECTION = """query($dealId: ID!, $input: ProjectionInput!, $first: Int, $after: String) {
  projection(dealId: $dealId, input: $input) {
    years { year grossRent noi debtService cashFlow loanBalance propertyValue }
    saleProceeds irr npv reason
    formulas { name expression inputs value reason }
    amortization(first: $first, after: $after) {
      month payment interest principal balance cursor
    }
  } }"""
COMMISSION = f"""query($input: CommissionInput!) {{ commissionSplit(input: $input) {{
  gross shares {{ party amount basis }} {ERRORS} }} }}"""
NODE = """query($id: ID!) { node(id: $id) { id
  ... on Transaction { amount category }
  ... on Account { name kind } } }"""

CENT = Decimal("0.01")
RATIO = Decimal("0.000001")
NOT_IN_PNL = {"CAPEX", "PURCHASE", "SALE", "LOAN_PRINCIPAL", "TRANSFER"}
ALL_CATEGORIES = [
    "RENTS",
    "ADVERTISING",
    "AUTO_TRAVEL",
    "CLEANING_MAINTENANCE",
    "COMMISSIONS",
    "INSURANCE",
    "LEGAL_PROFESSIONAL",
    "MANAGEMENT_FEES",
    "MORTGAGE_INTEREST",
    "OTHER_INTEREST",
    "REPAIRS",
    "SUPPLIES",
    "TAXES",
    "UTILITIES",
    "DEPRECIATION",
    "OTHER",
    "CAPEX",
    "PURCHASE",
    "SALE",
    "LOAN_PRINCIPAL",
    "TRANSFER",
]


# ---------------------------------------------------------------- helpers


def new_tag() -> str:
    return "f" + uuid.uuid4().hex[:10]


def run(api: Api, query: str, variables: dict[str, Any] | None = None, user: str = ADMIN) -> dict:
    """The data of a request that must not fail at the top level."""
    result = api.as_user(user, query, variables)
    assert "errors" not in result, result["errors"]
    return result["data"]


def top_code(result: dict) -> str:
    assert result.get("errors"), result
    return result["errors"][0]["extensions"]["code"]


def local_id(global_id: str, type_name: str = "Deal") -> uuid.UUID:
    kind, _, raw = base64.b64decode(global_id).decode().partition(":")
    assert kind == type_name
    return uuid.UUID(raw)


def global_id(type_name: str, local: uuid.UUID) -> str:
    return base64.b64encode(f"{type_name}:{local}".encode()).decode()


def cents(value: Decimal) -> str:
    return str(value.quantize(CENT, ROUND_HALF_EVEN))


def ratio(value: Decimal) -> str:
    return str(value.quantize(RATIO, ROUND_HALF_EVEN))


def error_codes(errors: list[dict]) -> list[tuple[str, tuple[str, ...]]]:
    return sorted((error["code"], tuple(error["field"] or ())) for error in errors)


def create_property(api: Api, tag: str, user: str = ADMIN) -> str:
    fields = {
        "address": {
            "streetNumber": "77",
            "streetName": f"Ledger {tag} Street",
            "city": "Austin",
            "stateOrProvince": "TX",
            "postalCode": "78701",
        },
        "propertyType": "RESIDENTIAL",
        "listPrice": "250000",
    }
    query = f"""mutation($input: PropertyInput!) {{
      propertyCreate(input: $input) {{ property {{ id }} {ERRORS} }} }}"""
    payload = run(api, query, {"input": fields}, user)["propertyCreate"]
    assert payload["errors"] == [], payload["errors"]
    return payload["property"]["id"]


def create_deal(
    api: Api, property_id: str, strategy: str = "BUY_AND_HOLD", user: str = ADMIN, **fields: Any
) -> str:
    query = f"""mutation($input: DealCreateInput!) {{
      dealCreate(input: $input) {{ deal {{ id }} {ERRORS} }} }}"""
    variables = {"input": {"propertyId": property_id, "strategy": strategy, **fields}}
    payload = run(api, query, variables, user)["dealCreate"]
    assert payload["errors"] == [], payload["errors"]
    return payload["deal"]["id"]


def create_account(api: Api, name: str, kind: str = "CHECKING", user: str = ADMIN) -> dict:
    payload = run(api, ACCOUNT_CREATE, {"input": {"name": name, "kind": kind}}, user)
    assert payload["accountCreate"]["errors"] == [], payload["accountCreate"]["errors"]
    return payload["accountCreate"]["account"]


def transaction_create(api: Api, user: str = ADMIN, **fields: Any) -> dict:
    return run(api, TRANSACTION_CREATE, {"input": fields}, user)["transactionCreate"]


def add(
    api: Api,
    deal_id: str | None,
    amount: str,
    category: str,
    day: str,
    user: str = ADMIN,
    **fields: Any,
) -> dict:
    """Create a transaction that must succeed; the created transaction."""
    payload = transaction_create(
        api, user, dealId=deal_id, amount=amount, category=category, date=day, **fields
    )
    assert payload["errors"] == [], payload["errors"]
    return payload["transaction"]


def set_budget(api: Api, deal_id: str, category: str, amount: str, user: str = ADMIN) -> dict:
    variables = {"input": {"dealId": deal_id, "category": category, "amount": amount}}
    return run(api, BUDGET_SET, variables, user)["budgetSet"]


def budgets(api: Api, deal_id: str) -> dict[str, dict]:
    deal = run(api, DEAL_BUDGETS, {"id": deal_id})["deal"]
    return {budget["category"]: budget for budget in deal["budgets"]}


def timeline(api: Api, deal_id: str) -> list[dict]:
    deal = run(api, DEAL_TIMELINE, {"id": deal_id})["deal"]
    return [edge["node"] for edge in deal["timeline"]["edges"]]


def kinds(api: Api, deal_id: str, kind: str) -> list[dict]:
    return [entry for entry in timeline(api, deal_id) if entry["kind"] == kind]


def outbox_events(db: Any, deal_id: str, event_type: str) -> list[dict]:
    rows = db(
        "SELECT payload FROM outbox WHERE event_type = $1 AND aggregate_id = $2 ORDER BY id",
        event_type,
        local_id(deal_id),
    )
    return [json.loads(row[0]) if isinstance(row[0], str) else row[0] for row in rows]


def exceeded_events(db: Any, deal_id: str) -> int:
    rows = db(
        "SELECT count(*) FROM outbox WHERE event_type = 'budget.exceeded' AND aggregate_id = $1",
        local_id(deal_id),
    )
    return rows[0][0]


def stored_transactions(db: Any, deal_id: str) -> int:
    return db("SELECT count(*) FROM transactions WHERE deal_id = $1", local_id(deal_id))[0][0]


def transactions_page(api: Api, user: str = ADMIN, **variables: Any) -> dict:
    return run(api, TRANSACTIONS, variables, user)["transactions"]


def node_ids(connection: dict) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


def all_pages(api: Api, filter: dict[str, Any], first: int, user: str = ADMIN) -> list[dict]:
    """Every page of a filtered transactions list, following endCursor."""
    pages: list[dict] = []
    after: str | None = None
    while True:
        page = transactions_page(api, user, filter=filter, first=first, after=after)
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]
        assert len(pages) < 50, "paging does not end"


@pytest.fixture(scope="module")
def property_id(api: Api) -> str:
    """A fresh Demo Capital property for this module's deals."""
    return create_property(api, new_tag())


@pytest.fixture
def deal(api: Api, property_id: str) -> str:
    """A fresh BUY_AND_HOLD deal for one test."""
    return create_deal(api, property_id, purchasePrice="200000")


@pytest.fixture(scope="module")
def other_deal(api: Api) -> str:
    """A deal of the Other Fund tenant."""
    return create_deal(api, create_property(api, new_tag(), OTHER_ADMIN), user=OTHER_ADMIN)


@pytest.fixture(scope="module")
def other_account(api: Api) -> dict:
    return create_account(api, f"Other operating {new_tag()}", user=OTHER_ADMIN)


# ---------------------------------------------------------------- accounts


def test_account_create_lists_accounts_by_name(api: Api) -> None:
    tag = new_tag()
    second = create_account(api, f"{tag} Zeta escrow", "ESCROW")
    first = create_account(api, f"{tag} Alpha checking", "CHECKING")
    assert first["name"] == f"{tag} Alpha checking"
    assert first["kind"] == "CHECKING"
    assert local_id(first["id"], "Account")
    listed = run(api, ACCOUNTS)["accounts"]
    mine = [account for account in listed if account["name"].startswith(tag)]
    assert mine == [first, second]
    node = run(api, NODE, {"id": second["id"]})["node"]
    assert node == {"id": second["id"], "name": second["name"], "kind": "ESCROW"}


def test_account_with_a_taken_name_is_a_conflict(api: Api, db: Any) -> None:
    name = f"Operating {new_tag()}"
    create_account(api, name)
    for same in (name, f"  {name.replace(' ', '   ')} "):
        payload = run(api, ACCOUNT_CREATE, {"input": {"name": same, "kind": "SAVINGS"}})
        assert payload["accountCreate"]["account"] is None
        assert error_codes(payload["accountCreate"]["errors"]) == [("CONFLICT", ("input", "name"))]
    assert db("SELECT count(*) FROM accounts WHERE name = $1", name)[0][0] == 1
    # another tenant may use the same name
    assert create_account(api, name, user=OTHER_ADMIN)["name"] == name


def test_account_name_must_not_be_blank(api: Api) -> None:
    payload = run(api, ACCOUNT_CREATE, {"input": {"name": "   ", "kind": "CHECKING"}})
    assert payload["accountCreate"]["account"] is None
    assert error_codes(payload["accountCreate"]["errors"]) == [("INVALID", ("input", "name"))]


def test_account_kind_outside_the_enum_fails_validation(api: Api) -> None:
    result = api.as_user(
        ADMIN,
        f'mutation {{ accountCreate(input: {{name: "x {new_tag()}", kind: BROKERAGE}}) '
        "{ account { id } errors { code } } }",
    )
    assert top_code(result) == "GRAPHQL_VALIDATION_FAILED"
    assert result.get("data") is None


# ---------------------------------------------------------------- transactions


def test_transaction_create_keeps_the_sign_and_links_deal_and_account(
    api: Api, db: Any, deal: str
) -> None:
    account = create_account(api, f"Rent account {new_tag()}")
    rent = add(
        api,
        deal,
        "2000",
        "RENTS",
        "2026-03-01",
        accountId=account["id"],
        description="March rent",
        counterparty="Tenant A",
    )
    assert rent["amount"] == "2000.00"
    assert rent["category"] == "RENTS"
    assert rent["date"] == "2026-03-01"
    assert rent["description"] == "March rent"
    assert rent["counterparty"] == "Tenant A"
    assert rent["inProfitAndLoss"] is True
    assert rent["deal"] == {"id": deal}
    assert rent["account"] == account
    assert rent["createdBy"] == {"email": ADMIN}

    repair = add(api, deal, "-150.25", "REPAIRS", "2026-03-04")
    assert repair["amount"] == "-150.25"
    assert repair["account"] is None
    assert repair["description"] is None

    stored = db(
        "SELECT amount FROM transactions WHERE deal_id = $1 ORDER BY amount", local_id(deal)
    )
    assert [row[0] for row in stored] == [Decimal("-150.25"), Decimal("2000.00")]
    added = kinds(api, deal, "TRANSACTION_ADDED")
    assert len(added) == 2
    assert len(outbox_events(db, deal, "transaction.created")) == 2
    node = run(api, NODE, {"id": repair["id"]})["node"]
    assert node == {"id": repair["id"], "amount": "-150.25", "category": "REPAIRS"}


def test_transaction_without_a_deal(api: Api) -> None:
    made = add(api, None, "-42.00", "SUPPLIES", "2026-02-02")
    assert made["deal"] is None
    assert made["amount"] == "-42.00"


@pytest.mark.parametrize(
    "amount",
    ["0", "0.00", "-0.00", "10.005", "-0.001", "1000000000000", "-1000000000000", "1E+15", "NaN"],
)
def test_implausible_amounts_are_invalid_and_write_nothing(
    api: Api, db: Any, deal: str, amount: str
) -> None:
    payload = transaction_create(
        api, dealId=deal, amount=amount, category="REPAIRS", date="2026-01-10"
    )
    assert payload["transaction"] is None
    assert error_codes(payload["errors"]) == [("INVALID", ("input", "amount"))]
    assert stored_transactions(db, deal) == 0
    assert kinds(api, deal, "TRANSACTION_ADDED") == []
    assert outbox_events(db, deal, "transaction.created") == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"description": "d" * 501}, "description"), ({"counterparty": "c" * 201}, "counterparty")],
)
def test_overlong_description_or_counterparty_is_invalid(
    api: Api, db: Any, deal: str, fields: dict, field: str
) -> None:
    payload = transaction_create(
        api, dealId=deal, amount="-5", category="SUPPLIES", date="2026-01-10", **fields
    )
    assert payload["transaction"] is None
    assert error_codes(payload["errors"]) == [("INVALID", ("input", field))]
    assert stored_transactions(db, deal) == 0


def test_every_problem_of_a_transaction_is_reported_at_once(api: Api, db: Any, deal: str) -> None:
    payload = transaction_create(
        api,
        dealId=deal,
        amount="0",
        category="SUPPLIES",
        date="2026-01-10",
        description="d" * 501,
        counterparty="c" * 201,
    )
    assert payload["transaction"] is None
    assert error_codes(payload["errors"]) == [
        ("INVALID", ("input", "amount")),
        ("INVALID", ("input", "counterparty")),
        ("INVALID", ("input", "description")),
    ]
    assert stored_transactions(db, deal) == 0


def test_unknown_or_foreign_deal_and_account_are_not_found(
    api: Api, db: Any, deal: str, other_deal: str, other_account: dict
) -> None:
    before = db("SELECT count(*) FROM transactions")[0][0]
    cases = [
        ({"dealId": global_id("Deal", uuid.uuid4())}, ("input", "dealId")),
        ({"dealId": other_deal}, ("input", "dealId")),
        ({"dealId": deal, "accountId": global_id("Account", uuid.uuid4())}, ("input", "accountId")),
        ({"dealId": deal, "accountId": other_account["id"]}, ("input", "accountId")),
    ]
    for ids, field in cases:
        payload = transaction_create(
            api, amount="-10.00", category="REPAIRS", date="2026-01-10", **ids
        )
        assert payload["transaction"] is None
        assert error_codes(payload["errors"]) == [("NOT_FOUND", field)], ids
    assert db("SELECT count(*) FROM transactions")[0][0] == before
    assert stored_transactions(db, other_deal) == 0
    assert kinds(api, deal, "TRANSACTION_ADDED") == []


@pytest.mark.parametrize("bad", ["property", "garbage"])
def test_a_malformed_or_wrong_type_id_is_invalid_at_its_input_path(
    api: Api, db: Any, deal: str, property_id: str, bad: str
) -> None:
    wrong = property_id if bad == "property" else "not-an-id"
    payload = transaction_create(
        api, dealId=wrong, amount="-10.00", category="REPAIRS", date="2026-01-10"
    )
    assert payload["transaction"] is None
    assert error_codes(payload["errors"]) == [("INVALID", ("input", "dealId"))]
    payload = transaction_create(
        api, dealId=deal, accountId=wrong, amount="-10.00", category="REPAIRS", date="2026-01-10"
    )
    assert payload["transaction"] is None
    assert error_codes(payload["errors"]) == [("INVALID", ("input", "accountId"))]
    budget = set_budget(api, wrong, "REPAIRS", "10")
    assert budget["budget"] is None
    assert error_codes(budget["errors"]) == [("INVALID", ("input", "dealId"))]
    assert stored_transactions(db, deal) == 0


def test_in_profit_and_loss_per_category(api: Api, deal: str) -> None:
    for category in ALL_CATEGORIES:
        made = add(api, deal, "-1.00", category, "2026-05-05")
        assert made["inProfitAndLoss"] is (category not in NOT_IN_PNL), category
    listed = transactions_page(api, filter={"dealId": deal}, first=100)
    assert listed["totalCount"] == len(ALL_CATEGORIES)
    flags = {edge["node"]["category"]: edge["node"]["inProfitAndLoss"] for edge in listed["edges"]}
    assert flags == {category: category not in NOT_IN_PNL for category in ALL_CATEGORIES}


@dataclass
class Made:
    id: str
    day: str
    amount: Decimal
    category: str
    account: str | None
    order: int


@pytest.fixture
def listed_deal(api: Api, deal: str) -> tuple[str, list[Made], dict, dict]:
    """A deal with ten transactions over two accounts, some on the same day."""
    checking = create_account(api, f"Checking {new_tag()}")
    card = create_account(api, f"Card {new_tag()}", "CREDIT_CARD")
    plan = [
        ("2026-01-15", "1800.00", "RENTS", checking),
        ("2026-02-15", "1800.00", "RENTS", checking),
        ("2026-02-03", "-120.40", "REPAIRS", card),
        ("2026-02-15", "-64.99", "UTILITIES", card),
        ("2026-03-01", "-700.00", "MORTGAGE_INTEREST", checking),
        ("2026-03-01", "-250.00", "LOAN_PRINCIPAL", checking),
        ("2026-03-20", "-89.10", "REPAIRS", None),
        ("2026-04-02", "1800.00", "RENTS", checking),
        ("2025-12-31", "-1000.00", "TRANSFER", checking),
        ("2026-04-30", "-45.00", "SUPPLIES", card),
    ]
    made = []
    for order, (day, amount, category, account) in enumerate(plan):
        extra = {"accountId": account["id"]} if account else {}
        item = add(api, deal, amount, category, day, **extra)
        made.append(
            Made(item["id"], day, Decimal(amount), category, account and account["id"], order)
        )
    return deal, made, checking, card


def newest_first(items: Iterable[Made]) -> list[str]:
    return [m.id for m in sorted(items, key=lambda m: (m.day, m.order), reverse=True)]


def test_transactions_of_a_deal_newest_first(api: Api, listed_deal: Any) -> None:
    deal, made, _, _ = listed_deal
    listed = transactions_page(api, filter={"dealId": deal}, first=100)
    assert listed["totalCount"] == len(made)
    # by date, newest first; on the same day the one entered last comes first
    assert node_ids(listed) == newest_first(made)
    days = [edge["node"]["date"] for edge in listed["edges"]]
    assert days == sorted(days, reverse=True)
    assert listed["pageInfo"]["hasNextPage"] is False
    assert listed["pageInfo"]["hasPreviousPage"] is False


def test_transaction_filters(api: Api, listed_deal: Any) -> None:
    deal, made, checking, card = listed_deal
    cases: list[tuple[dict[str, Any], list[Made]]] = [
        ({"accountId": card["id"]}, [m for m in made if m.account == card["id"]]),
        ({"category": ["RENTS"]}, [m for m in made if m.category == "RENTS"]),
        (
            {"category": ["REPAIRS", "UTILITIES"]},
            [m for m in made if m.category in ("REPAIRS", "UTILITIES")],
        ),
        ({"from": "2026-02-15"}, [m for m in made if m.day >= "2026-02-15"]),
        ({"to": "2026-02-15"}, [m for m in made if m.day <= "2026-02-15"]),
        (
            {"from": "2026-02-15", "to": "2026-03-01"},
            [m for m in made if "2026-02-15" <= m.day <= "2026-03-01"],
        ),
        (
            {"accountId": checking["id"], "category": ["RENTS"], "from": "2026-02-01"},
            [
                m
                for m in made
                if m.account == checking["id"] and m.category == "RENTS" and m.day >= "2026-02-01"
            ],
        ),
        ({"from": "2027-01-01"}, []),
    ]
    for extra, expected in cases:
        listed = transactions_page(api, filter={"dealId": deal, **extra}, first=100)
        assert node_ids(listed) == newest_first(expected), extra
        assert listed["totalCount"] == len(expected), extra
    # an account filter alone finds that account's transactions (the accounts are fresh)
    listed = transactions_page(api, filter={"accountId": card["id"]}, first=100)
    assert node_ids(listed) == newest_first(m for m in made if m.account == card["id"])


def test_paging_visits_each_transaction_once(api: Api, listed_deal: Any) -> None:
    deal, made, _, _ = listed_deal
    pages = all_pages(api, {"dealId": deal}, first=3)
    assert [len(page["edges"]) for page in pages] == [3, 3, 3, 1]
    assert [page["totalCount"] for page in pages] == [len(made)] * 4
    assert [page["pageInfo"]["hasPreviousPage"] for page in pages] == [False, True, True, True]
    seen = [node_id for page in pages for node_id in node_ids(page)]
    assert seen == newest_first(made)
    for page in pages:
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]


def test_malformed_cursor_is_bad_user_input(api: Api, deal: str) -> None:
    result = api.as_user(
        ADMIN, TRANSACTIONS, {"filter": {"dealId": deal}, "first": 2, "after": "nonsense"}
    )
    assert top_code(result) == "BAD_USER_INPUT"


def test_deal_transactions_newest_first_with_paging(api: Api, listed_deal: Any) -> None:
    deal, made, _, _ = listed_deal
    expected = newest_first(made)
    seen: list[str] = []
    after: str | None = None
    while True:
        variables = {"id": deal, "first": 4, "after": after}
        connection = run(api, DEAL_TRANSACTIONS, variables)["deal"]["transactions"]
        assert connection["totalCount"] == len(made)
        assert all(edge["node"]["deal"] == {"id": deal} for edge in connection["edges"])
        seen += node_ids(connection)
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == expected


# ---------------------------------------------------------------- budgets


def test_budget_set_creates_then_updates_one_budget(api: Api, db: Any, deal: str) -> None:
    created = set_budget(api, deal, "REPAIRS", "1000")
    assert created["errors"] == []
    budget = created["budget"]
    assert {k: budget[k] for k in ("category", "amount", "spent", "remaining", "exceeded")} == {
        "category": "REPAIRS",
        "amount": "1000.00",
        "spent": "0.00",
        "remaining": "1000.00",
        "exceeded": False,
    }
    assert budget["exceededAt"] is None

    add(api, deal, "-300.00", "REPAIRS", "2026-01-05")
    add(api, deal, "-999.00", "UTILITIES", "2026-01-05")  # another category
    add(api, deal, "45.50", "REPAIRS", "2026-01-06")  # a refund
    shown = budgets(api, deal)["REPAIRS"]
    assert (shown["spent"], shown["remaining"], shown["exceeded"]) == ("254.50", "745.50", False)

    updated = set_budget(api, deal, "REPAIRS", "1500.00")["budget"]
    assert updated["id"] == budget["id"]
    assert (updated["amount"], updated["spent"], updated["remaining"]) == (
        "1500.00",
        "254.50",
        "1245.50",
    )
    assert list(budgets(api, deal)) == ["REPAIRS"]
    assert len(kinds(api, deal, "BUDGET_SET")) == 2
    assert exceeded_events(db, deal) == 0


def test_budget_set_rejects_bad_amounts_and_unknown_deals(api: Api, db: Any, deal: str) -> None:
    for amount in ("-1", "10.001", "NaN", "1000000000000"):
        payload = set_budget(api, deal, "REPAIRS", amount)
        assert payload["budget"] is None
        assert error_codes(payload["errors"]) == [("INVALID", ("input", "amount"))], amount
    payload = set_budget(api, global_id("Deal", uuid.uuid4()), "REPAIRS", "100")
    assert payload["budget"] is None
    assert error_codes(payload["errors"]) == [("NOT_FOUND", ("input", "dealId"))]
    assert db("SELECT count(*) FROM budgets WHERE deal_id = $1", local_id(deal))[0][0] == 0
    assert kinds(api, deal, "BUDGET_SET") == []


def test_overspending_alerts_once_per_crossing(api: Api, db: Any, deal: str) -> None:
    set_budget(api, deal, "REPAIRS", "1000")
    add(api, deal, "-600.00", "REPAIRS", "2026-02-01")
    assert exceeded_events(db, deal) == 0
    assert budgets(api, deal)["REPAIRS"]["exceeded"] is False

    add(api, deal, "-500.00", "REPAIRS", "2026-02-02")  # 1100 of 1000: the crossing
    assert exceeded_events(db, deal) == 1
    over = budgets(api, deal)["REPAIRS"]
    assert (over["spent"], over["remaining"], over["exceeded"]) == ("1100.00", "-100.00", True)
    assert over["exceededAt"] is not None
    entries = kinds(api, deal, "BUDGET_EXCEEDED")
    assert len(entries) == 1
    assert entries[0]["actor"] == {"email": ADMIN}
    event = outbox_events(db, deal, "budget.exceeded")[0]
    assert event["category"] == "REPAIRS"
    assert Decimal(event["amount"]) == Decimal("1000")
    assert Decimal(event["spent"]) == Decimal("1100")

    add(api, deal, "-100.00", "REPAIRS", "2026-02-03")  # still over: no new alert
    add(api, deal, "-5000.00", "UTILITIES", "2026-02-03")  # no budget in that category
    assert exceeded_events(db, deal) == 1
    assert len(kinds(api, deal, "BUDGET_EXCEEDED")) == 1

    add(api, deal, "400.00", "REPAIRS", "2026-02-04")  # refund: 800 of 1000, back under
    back = budgets(api, deal)["REPAIRS"]
    assert (back["spent"], back["exceeded"], back["exceededAt"]) == ("800.00", False, None)
    assert exceeded_events(db, deal) == 1

    add(api, deal, "-300.00", "REPAIRS", "2026-02-05")  # 1100 again: a second crossing
    assert exceeded_events(db, deal) == 2
    assert len(kinds(api, deal, "BUDGET_EXCEEDED")) == 2
    assert budgets(api, deal)["REPAIRS"]["exceeded"] is True


def test_lowering_the_budget_below_spending_is_a_crossing(api: Api, db: Any, deal: str) -> None:
    set_budget(api, deal, "REPAIRS", "1000")
    add(api, deal, "-800.00", "REPAIRS", "2026-02-01")
    set_budget(api, deal, "REPAIRS", "900")
    assert exceeded_events(db, deal) == 0

    lowered = set_budget(api, deal, "REPAIRS", "500")["budget"]
    assert (lowered["spent"], lowered["remaining"], lowered["exceeded"]) == (
        "800.00",
        "-300.00",
        True,
    )
    assert exceeded_events(db, deal) == 1
    assert len(kinds(api, deal, "BUDGET_EXCEEDED")) == 1
    assert budgets(api, deal)["REPAIRS"]["exceededAt"] is not None

    set_budget(api, deal, "REPAIRS", "400")  # lower still, but already over
    assert exceeded_events(db, deal) == 1

    raised = set_budget(api, deal, "REPAIRS", "2000")["budget"]
    assert (raised["remaining"], raised["exceeded"]) == ("1200.00", False)
    shown = budgets(api, deal)["REPAIRS"]
    assert (shown["exceeded"], shown["exceededAt"]) == (False, None)
    assert exceeded_events(db, deal) == 1

    set_budget(api, deal, "REPAIRS", "700")  # under again, now over: a second crossing
    assert exceeded_events(db, deal) == 2
    assert len(kinds(api, deal, "BUDGET_EXCEEDED")) == 2


def test_a_first_budget_below_what_was_spent_is_a_crossing(api: Api, db: Any, deal: str) -> None:
    add(api, deal, "-300.00", "CLEANING_MAINTENANCE", "2026-02-01")
    payload = set_budget(api, deal, "CLEANING_MAINTENANCE", "200")
    assert payload["budget"]["exceeded"] is True
    assert exceeded_events(db, deal) == 1


def test_budget_set_payload_shows_the_same_exceeded_at_as_a_fresh_read(api: Api, deal: str) -> None:
    set_budget(api, deal, "REPAIRS", "1000")
    add(api, deal, "-800.00", "REPAIRS", "2026-02-01")
    lowered = set_budget(api, deal, "REPAIRS", "500")["budget"]
    assert lowered["exceeded"] is True
    assert lowered["exceededAt"] == budgets(api, deal)["REPAIRS"]["exceededAt"] is not None
    raised = set_budget(api, deal, "REPAIRS", "2000")["budget"]
    assert raised["exceeded"] is False
    assert raised["exceededAt"] is None


# ---------------------------------------------------------------- reports


@dataclass(frozen=True)
class Entry:
    day: date
    amount: Decimal
    category: str


def year_plan() -> list[Entry]:
    """A year (2026) of a rental's money, a few one-offs, and two entries just outside it."""
    entries: list[Entry] = []
    for month in range(1, 13):
        entries += [
            Entry(date(2026, month, 1), Decimal("2000.00") + 25 * (month - 1), "RENTS"),
            Entry(date(2026, month, 10), Decimal("-100.25") - 10 * month, "REPAIRS"),
            Entry(date(2026, month, 15), Decimal("-875.00") + month, "MORTGAGE_INTEREST"),
            Entry(date(2026, month, 15), Decimal("-122.95") - month, "LOAN_PRINCIPAL"),
            Entry(date(2026, month, 20), Decimal("-1000.00"), "TRANSFER"),
        ]
    entries += [
        Entry(date(2026, 1, 2), Decimal("-50000.00"), "PURCHASE"),
        Entry(date(2026, 2, 14), Decimal("1000.00"), "TRANSFER"),
        Entry(date(2026, 3, 5), Decimal("-5000.00"), "CAPEX"),
        Entry(date(2026, 6, 12), Decimal("75.50"), "REPAIRS"),
        Entry(date(2026, 8, 31), Decimal("-1200.00"), "INSURANCE"),
        Entry(date(2026, 9, 30), Decimal("-2400.00"), "TAXES"),
        Entry(date(2026, 12, 31), Decimal("260000.00"), "SALE"),
        Entry(date(2025, 12, 31), Decimal("1999.99"), "RENTS"),
        Entry(date(2027, 1, 1), Decimal("-999.99"), "REPAIRS"),
    ]
    return entries


@pytest.fixture(scope="module")
def ledger(api: Api, property_id: str) -> tuple[str, list[Entry]]:
    deal = create_deal(api, property_id, purchasePrice="250000")
    entries = year_plan()
    for entry in entries:
        add(api, deal, str(entry.amount), entry.category, entry.day.isoformat())
    return deal, entries


def within(entries: list[Entry], start: date, end: date) -> list[Entry]:
    return [entry for entry in entries if start <= entry.day <= end]


def by_category(entries: Iterable[Entry]) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        sums[entry.category] += entry.amount
    return dict(sums)


def pnl(api: Api, deal: str | None, start: date, end: date, user: str = ADMIN) -> dict:
    variables = {"dealId": deal, "from": start.isoformat(), "to": end.isoformat()}
    return run(api, PNL, variables, user)["profitAndLoss"]


def cash_flow(api: Api, deal: str, start: date, end: date, interval: str) -> list[dict]:
    variables = {
        "dealId": deal,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "interval": interval,
    }
    return run(api, CASH_FLOW, variables)["cashFlow"]


def lines(report_lines: list[dict]) -> dict[str, Decimal]:
    return {line["category"]: Decimal(line["amount"]) for line in report_lines}


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 1, 1), date(2026, 12, 31)),
        (date(2026, 4, 1), date(2026, 6, 30)),
        (date(2025, 12, 31), date(2026, 1, 10)),
        (date(2026, 12, 31), date(2027, 1, 1)),
        (date(2026, 9, 30), date(2026, 9, 30)),
    ],
)
def test_profit_and_loss_is_the_sum_of_the_deals_transactions_by_category(
    api: Api, db: Any, ledger: tuple[str, list[Entry]], start: date, end: date
) -> None:
    deal, entries = ledger
    sums = by_category(within(entries, start, end))
    income = {c: v for c, v in sums.items() if c == "RENTS"}
    expenses = {c: -v for c, v in sums.items() if c != "RENTS" and c not in NOT_IN_PNL}

    report = pnl(api, deal, start, end)
    assert (report["from"], report["to"]) == (start.isoformat(), end.isoformat())
    assert lines(report["income"]) == income
    assert lines(report["expenses"]) == expenses
    assert Decimal(report["totalIncome"]) == sum(income.values(), Decimal(0))
    assert Decimal(report["totalExpenses"]) == sum(expenses.values(), Decimal(0))
    assert Decimal(report["netIncome"]) == Decimal(report["totalIncome"]) - Decimal(
        report["totalExpenses"]
    )
    for value in (report["totalIncome"], report["totalExpenses"], report["netIncome"]):
        assert value == cents(Decimal(value))
    reported = {line["category"] for line in report["income"] + report["expenses"]}
    assert not reported & NOT_IN_PNL

    # the same sums straight from the database
    rows = db(
        "SELECT category, sum(amount) FROM transactions "
        "WHERE deal_id = $1 AND occurred_on BETWEEN $2 AND $3 GROUP BY category",
        local_id(deal),
        start,
        end,
    )
    stored = {row[0]: row[1] for row in rows}
    assert stored == sums
    assert Decimal(report["netIncome"]) == sum(
        (v for c, v in stored.items() if c not in NOT_IN_PNL), Decimal(0)
    )


def test_profit_and_loss_for_the_year_in_numbers(api: Api, ledger: tuple[str, list[Entry]]) -> None:
    deal, _ = ledger
    report = pnl(api, deal, date(2026, 1, 1), date(2026, 12, 31))
    # rent 2000 + 25 * (m - 1); repairs 100.25 + 10 m less a 75.50 refund; interest 875 - m
    rent = sum(Decimal(2000 + 25 * m) for m in range(12))
    repairs = sum(Decimal("100.25") + 10 * m for m in range(1, 13)) - Decimal("75.50")
    interest = sum(Decimal(875 - m) for m in range(1, 13))
    assert report["income"] == [{"category": "RENTS", "amount": cents(rent)}]
    assert lines(report["expenses"]) == {
        "REPAIRS": repairs,
        "MORTGAGE_INTEREST": interest,
        "INSURANCE": Decimal("1200.00"),
        "TAXES": Decimal("2400.00"),
    }
    assert all(Decimal(line["amount"]) > 0 for line in report["expenses"])
    assert report["totalIncome"] == "25650.00"
    assert report["netIncome"] == cents(
        rent - repairs - interest - Decimal("1200") - Decimal("2400")
    )


def test_profit_and_loss_of_an_empty_range_is_zero(api: Api, deal: str) -> None:
    report = pnl(api, deal, date(2026, 1, 1), date(2026, 12, 31))
    assert report["income"] == [] and report["expenses"] == []
    assert (report["totalIncome"], report["totalExpenses"], report["netIncome"]) == (
        "0.00",
        "0.00",
        "0.00",
    )


def month_periods(start: date, end: date) -> list[tuple[str, date, date]]:
    periods = []
    year, month = start.year, start.month
    while date(year, month, 1) <= end:
        following = date(year + month // 12, month % 12 + 1, 1)
        last = date.fromordinal(following.toordinal() - 1)
        periods.append((f"{year}-{month:02d}", date(year, month, 1), last))
        year, month = following.year, following.month
    return periods


def flows(entries: Iterable[Entry]) -> tuple[Decimal, Decimal]:
    items = list(entries)
    inflow = sum((e.amount for e in items if e.amount > 0), Decimal(0))
    outflow = -sum((e.amount for e in items if e.amount < 0), Decimal(0))
    return inflow, outflow


def assert_periods(
    periods: list[dict], expected: list[tuple[str, date, date]], entries: Any
) -> None:
    assert [p["label"] for p in periods] == [label for label, _, _ in expected]
    for period, (label, start, end) in zip(periods, expected, strict=True):
        assert (period["start"], period["end"]) == (start.isoformat(), end.isoformat()), label
        inflow, outflow = flows(within(entries, start, end))
        assert period["inflow"] == cents(inflow), label
        assert period["outflow"] == cents(outflow), label
        assert period["net"] == cents(inflow - outflow), label


def assert_totals(periods: list[dict], entries: list[Entry], start: date, end: date) -> None:
    inflow, outflow = flows(within(entries, start, end))
    assert sum(Decimal(p["inflow"]) for p in periods) == inflow
    assert sum(Decimal(p["outflow"]) for p in periods) == outflow
    assert sum(Decimal(p["net"]) for p in periods) == inflow - outflow
    assert inflow - outflow == sum(e.amount for e in within(entries, start, end))


def test_monthly_cash_flow_has_every_month_and_includes_transfers(
    api: Api, ledger: tuple[str, list[Entry]]
) -> None:
    deal, entries = ledger
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    periods = cash_flow(api, deal, start, end, "MONTH")
    assert_periods(periods, month_periods(start, end), entries)
    assert_totals(periods, entries, start, end)
    february = periods[1]
    # rent 2025 + transfer in 1000 / repairs 120.25, interest 873, principal 124.95, transfer 1000
    assert (february["label"], february["inflow"], february["outflow"]) == (
        "2026-02",
        "3025.00",
        "2118.20",
    )


def test_cash_flow_lists_empty_periods_with_zeros(
    api: Api, ledger: tuple[str, list[Entry]]
) -> None:
    deal, entries = ledger
    start, end = date(2026, 11, 1), date(2027, 4, 30)
    periods = cash_flow(api, deal, start, end, "MONTH")
    assert_periods(periods, month_periods(start, end), entries)
    assert [p["label"] for p in periods] == [
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
        "2027-03",
        "2027-04",
    ]
    for empty in periods[3:]:
        assert (empty["inflow"], empty["outflow"], empty["net"]) == ("0.00", "0.00", "0.00")
    assert periods[2]["outflow"] == "999.99"
    assert_totals(periods, entries, start, end)


def test_quarterly_and_yearly_cash_flow(api: Api, ledger: tuple[str, list[Entry]]) -> None:
    deal, entries = ledger
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    quarters = cash_flow(api, deal, start, end, "QUARTER")
    expected = [
        (f"2026-Q{q + 1}", date(2026, 3 * q + 1, 1), month_periods(start, end)[3 * q + 2][2])
        for q in range(4)
    ]
    assert_periods(quarters, expected, entries)
    assert_totals(quarters, entries, start, end)

    years = cash_flow(api, deal, date(2025, 1, 1), date(2027, 12, 31), "YEAR")
    expected = [(str(y), date(y, 1, 1), date(y, 12, 31)) for y in (2025, 2026, 2027)]
    assert_periods(years, expected, entries)
    assert_totals(years, entries, date(2025, 1, 1), date(2027, 12, 31))
    assert (years[0]["inflow"], years[0]["outflow"]) == ("1999.99", "0.00")
    assert (years[2]["inflow"], years[2]["outflow"]) == ("0.00", "999.99")


def test_cash_flow_range_cuts_off_transactions_outside_it(
    api: Api, ledger: tuple[str, list[Entry]]
) -> None:
    deal, entries = ledger
    start, end = date(2026, 3, 10), date(2026, 5, 14)
    periods = cash_flow(api, deal, start, end, "MONTH")
    assert [p["label"] for p in periods] == ["2026-03", "2026-04", "2026-05"]
    assert_totals(periods, entries, start, end)
    # March from the 10th: repairs 130.25, interest 872, principal 125.95, transfer 1000
    assert (periods[0]["inflow"], periods[0]["outflow"]) == ("0.00", "2128.20")
    # May until the 14th: rent 2100 and repairs 150.25 only
    assert (periods[2]["inflow"], periods[2]["outflow"]) == ("2100.00", "150.25")


@pytest.mark.parametrize("report", ["pnl", "cashFlow"])
def test_from_after_to_is_bad_user_input(api: Api, deal: str, report: str) -> None:
    variables: dict[str, Any] = {"dealId": deal, "from": "2026-06-01", "to": "2026-05-31"}
    if report == "cashFlow":
        result = api.as_user(ADMIN, CASH_FLOW, {**variables, "interval": "MONTH"})
    else:
        result = api.as_user(ADMIN, PNL, variables)
    assert top_code(result) == "BAD_USER_INPUT"


def test_reports_for_an_unknown_deal_are_bad_user_input(api: Api) -> None:
    unknown = global_id("Deal", uuid.uuid4())
    variables = {"dealId": unknown, "from": "2026-01-01", "to": "2026-12-31"}
    assert top_code(api.as_user(ADMIN, PNL, variables)) == "BAD_USER_INPUT"
    result = api.as_user(ADMIN, CASH_FLOW, {**variables, "interval": "YEAR"})
    assert top_code(result) == "BAD_USER_INPUT"


# ---------------------------------------------------------------- analysis and projection

RENTAL = {
    "downPaymentRate": "0.25",
    "interestRate": "0.07",
    "loanTermMonths": 360,
    "monthlyRent": "2000",
    "vacancyRate": "0.05",
    "annualTaxes": "2400",
    "annualInsurance": "1200",
    "managementRate": "0.08",
    "maintenanceRate": "0.05",
    "capexRate": "0.05",
    "otherMonthlyExpenses": "50",
    "closingCosts": "6000",
    "rehabCost": "4000",
    "holdYears": 5,
    "appreciationRate": "0.03",
    "rentGrowthRate": "0.02",
    "expenseGrowthRate": "0.03",
    "sellingCostRate": "0.06",
    "discountRate": "0.08",
}
PURCHASE = Decimal("200000")


def d(name: str) -> Decimal:
    return Decimal(str(RENTAL[name]))


def expected_rental() -> dict[str, Any]:
    """Every DOMAIN.md figure of the RENTAL assumptions, by plain Decimal arithmetic."""
    with localcontext() as ctx:
        ctx.prec = 40
        loan = PURCHASE * (1 - d("downPaymentRate"))
        invested = PURCHASE * d("downPaymentRate") + d("closingCosts") + d("rehabCost")
        r, n = d("interestRate") / 12, int(RENTAL["loanTermMonths"])
        growth = (1 + r) ** n
        payment = loan * r * growth / (growth - 1)
        debt = 12 * payment
        gsr = 12 * d("monthlyRent")
        egi = gsr * (1 - d("vacancyRate"))
        opex = (
            d("annualTaxes")
            + d("annualInsurance")
            + d("managementRate") * egi
            + (d("maintenanceRate") + d("capexRate")) * gsr
            + 12 * d("otherMonthlyExpenses")
        )
        noi = egi - opex
        cash_flow = noi - debt

        def balance(months: int) -> Decimal:
            grown = (1 + r) ** months
            return loan * grown - payment * (grown - 1) / r

        years = []
        for t in range(1, int(RENTAL["holdYears"]) + 1):
            rent = gsr * (1 + d("rentGrowthRate")) ** (t - 1)
            income = rent * (1 - d("vacancyRate"))
            fixed = (d("annualTaxes") + d("annualInsurance") + 12 * d("otherMonthlyExpenses")) * (
                1 + d("expenseGrowthRate")
            ) ** (t - 1)
            year_noi = (
                income
                - fixed
                - d("managementRate") * income
                - (d("maintenanceRate") + d("capexRate")) * rent
            )
            years.append(
                {
                    "year": t,
                    "grossRent": rent,
                    "noi": year_noi,
                    "debtService": debt,
                    "cashFlow": year_noi - debt,
                    "loanBalance": balance(12 * t),
                    "propertyValue": PURCHASE * (1 + d("appreciationRate")) ** t,
                }
            )
        last = years[-1]
        sale = last["propertyValue"] * (1 - d("sellingCostRate")) - last["loanBalance"]
        cash_flows = [-invested, *(year["cashFlow"] for year in years)]
        cash_flows[-1] += sale
        npv = sum(
            (flow / (1 + d("discountRate")) ** t for t, flow in enumerate(cash_flows)),
            Decimal(0),
        )
        return {
            "loanAmount": loan,
            "totalCashInvested": invested,
            "monthlyPayment": payment,
            "annualDebtService": debt,
            "grossScheduledRent": gsr,
            "effectiveGrossIncome": egi,
            "operatingExpenses": opex,
            "noi": noi,
            "annualCashFlow": cash_flow,
            "capRate": noi / PURCHASE,
            "cashOnCash": cash_flow / invested,
            "dscr": noi / debt,
            "grm": PURCHASE / gsr,
            "years": years,
            "saleProceeds": sale,
            "cashFlows": cash_flows,
            "npv": npv,
            "irr": Decimal(repr(npf.irr([float(flow) for flow in cash_flows]))),
            "balance": balance,
        }


MONEY_METRICS = (
    "loanAmount",
    "totalCashInvested",
    "monthlyPayment",
    "annualDebtService",
    "grossScheduledRent",
    "effectiveGrossIncome",
    "operatingExpenses",
    "noi",
    "annualCashFlow",
    "npv",
)
RATIO_METRICS = ("capRate", "cashOnCash", "dscr", "grm")
ANALYSIS_METRICS = (
    "maxAllowableOffer",
    "totalCashInvested",
    "loanAmount",
    "netProfit",
    "roi",
    "grossScheduledRent",
    "effectiveGrossIncome",
    "operatingExpenses",
    "noi",
    "capRate",
    "annualCashFlow",
    "cashOnCash",
    "dscr",
    "grm",
    "monthlyPayment",
    "annualDebtService",
    "irr",
    "npv",
    "cashLeftInDeal",
    "onePercentRule",
)


def close(actual: Decimal | float, expected: Decimal | float, relative: float = 1e-9) -> bool:
    a, e = float(actual), float(expected)
    return abs(a - e) <= relative * max(abs(e), 1e-12)


def formulas_by_name(result: dict) -> dict[str, dict]:
    return {formula["name"]: formula for formula in result["formulas"]}


def analysis(api: Api, deal: str, assumptions: dict[str, Any] | None = None) -> dict:
    return run(api, ANALYSIS, {"id": deal, "a": assumptions})["deal"]["analysis"]


def test_numpy_financial_agrees_with_the_domain_formulas() -> None:
    """The test's own arithmetic, checked once against numpy-financial."""
    expected = expected_rental()
    assert close(expected["monthlyPayment"], npf.pmt(0.07 / 12, 360, -150000))
    assert close(expected["npv"], npf.npv(0.08, [float(f) for f in expected["cashFlows"]]))
    balance = expected["balance"](60)
    repaid = sum(npf.ppmt(0.07 / 12, month, 360, -150000) for month in range(1, 61))
    assert close(balance, 150000 - repaid)


def test_buy_and_hold_analysis_matches_the_formulas(api: Api, deal: str) -> None:
    expected = expected_rental()
    result = analysis(api, deal, RENTAL)
    for name in MONEY_METRICS:
        assert result[name] == cents(expected[name]), name
    for name in RATIO_METRICS:
        assert result[name] == ratio(expected[name]), name
    assert result["monthlyPayment"] == "997.95"
    assert result["noi"] == "14376.00"
    assert result["capRate"] == "0.071880"
    assert result["grm"] == "8.333333"
    assert result["onePercentRule"] is True
    assert abs(Decimal(result["irr"]) - expected["irr"]) <= Decimal("0.0000006")
    # flip-only and BRRRR-only metrics stay empty for a hold
    assert (result["netProfit"], result["roi"], result["cashLeftInDeal"]) == (None, None, None)


def test_every_metric_has_a_formula_with_inputs(api: Api, deal: str) -> None:
    expected = expected_rental()
    result = analysis(api, deal, RENTAL)
    formulas = formulas_by_name(result)
    assert set(ANALYSIS_METRICS) <= set(formulas)
    for name in ANALYSIS_METRICS:
        formula = formulas[name]
        assert formula["expression"], name
        if result[name] is not None:
            assert formula["inputs"], name
            assert formula["reason"] is None, name
        else:
            assert formula["value"] is None and formula["reason"], name
    # the formula values are full precision and recompute the displayed figures
    for name in (*MONEY_METRICS, *RATIO_METRICS):
        assert close(Decimal(formulas[name]["value"]), expected[name], 1e-20), name
    assert formulas["noi"]["inputs"].keys() == {"effectiveGrossIncome", "operatingExpenses"}
    noi_inputs = {k: Decimal(v) for k, v in formulas["noi"]["inputs"].items()}
    assert noi_inputs["effectiveGrossIncome"] - noi_inputs["operatingExpenses"] == Decimal(
        formulas["noi"]["value"]
    )
    payment = formulas["monthlyPayment"]["inputs"]
    assert Decimal(payment["loanAmount"]) == Decimal("150000")
    assert Decimal(payment["interestRate"]) == Decimal("0.07")
    assert int(payment["loanTermMonths"]) == 360
    assert Decimal(formulas["capRate"]["inputs"]["purchasePrice"]) == PURCHASE
    flows = [Decimal(formulas["irr"]["inputs"][f"cashFlow{t}"]) for t in range(6)]
    assert close(Decimal(formulas["irr"]["value"]), npf.irr([float(f) for f in flows]))
    assert formulas["netProfit"]["reason"] and "BUY_AND_HOLD" in formulas["netProfit"]["reason"]


def test_a_hold_without_rent_has_null_rental_metrics_with_reasons(api: Api, deal: str) -> None:
    result = api.as_user(ADMIN, ANALYSIS, {"id": deal, "a": {"downPaymentRate": "0.25"}})
    assert "errors" not in result, result["errors"]
    metrics = result["data"]["deal"]["analysis"]
    formulas = formulas_by_name(metrics)
    for name in (
        "grossScheduledRent",
        "effectiveGrossIncome",
        "operatingExpenses",
        "noi",
        "capRate",
        "annualCashFlow",
        "cashOnCash",
        "dscr",
        "grm",
        "onePercentRule",
        "irr",
        "npv",
    ):
        assert metrics[name] is None, name
        assert formulas[name]["value"] is None, name
        assert formulas[name]["reason"], name
    assert "monthlyRent" in formulas["noi"]["reason"]
    # what does not need rent is still there
    assert metrics["loanAmount"] == "150000.00"
    assert metrics["totalCashInvested"] == "50000.00"


def test_flip_max_allowable_offer_is_70_percent_of_arv_less_repairs(
    api: Api, property_id: str
) -> None:
    flip = create_deal(
        api,
        property_id,
        "FLIP",
        purchasePrice="150000",
        estimatedRepairs="40000",
        arv="300000",
    )
    result = analysis(
        api, flip, {"closingCosts": "3000", "holdingCosts": "5000", "sellingCostRate": "0.06"}
    )
    assert result["maxAllowableOffer"] == "170000.00"
    assert result["totalCashInvested"] == "198000.00"
    # 300000 * 0.94 - 150000 - 40000 - 3000 - 5000
    assert result["netProfit"] == "84000.00"
    assert result["roi"] == ratio(Decimal(84000) / Decimal(198000))
    for name in ("noi", "capRate", "dscr", "cashOnCash", "irr"):
        assert result[name] is None, name
        assert "FLIP" in formulas_by_name(result)[name]["reason"], name
    mao = formulas_by_name(result)["maxAllowableOffer"]
    assert {k: Decimal(v) for k, v in mao["inputs"].items()} == {
        "arv": Decimal(300000),
        "rehabCost": Decimal(40000),
    }
    # given assumptions override the deal's own numbers
    assert analysis(api, flip, {"rehabCost": "50000"})["maxAllowableOffer"] == "160000.00"
    assert analysis(api, flip, {"arv": "250000.50"})["maxAllowableOffer"] == "135000.35"


@pytest.mark.parametrize(
    "bad",
    [
        {"downPaymentRate": "1.5"},
        {"holdYears": 0},
        {"vacancyRate": "-0.1"},
        {"loanTermMonths": 0},
        {"annualTaxes": "-1"},
    ],
)
def test_out_of_range_assumptions_are_bad_user_input(api: Api, deal: str, bad: dict) -> None:
    result = api.as_user(ADMIN, ANALYSIS, {"id": deal, "a": {**RENTAL, **bad}})
    assert top_code(result) == "BAD_USER_INPUT"
    assert next(iter(bad)) in result["errors"][0]["message"]
    projected = api.as_user(ADMIN, PROJECTION, {"dealId": deal, "input": {**RENTAL, **bad}})
    assert top_code(projected) == "BAD_USER_INPUT"


def projection(api: Api, deal: str, inputs: dict[str, Any], first: int = 12, **extra: Any) -> dict:
    variables = {"dealId": deal, "input": inputs, "first": first, **extra}
    return run(api, PROJECTION, variables)["projection"]


def test_projection_year_by_year(api: Api, deal: str) -> None:
    expected = expected_rental()
    result = projection(api, deal, RENTAL)
    assert result["reason"] is None
    years = result["years"]
    assert [year["year"] for year in years] == [1, 2, 3, 4, 5]
    for year, wanted in zip(years, expected["years"], strict=True):
        for name in ("grossRent", "noi", "debtService", "cashFlow", "loanBalance", "propertyValue"):
            assert year[name] == cents(wanted[name]), (year["year"], name)
    # rent grows from year 2, the loan is paid down, debt service stays fixed
    assert [year["grossRent"] for year in years[:2]] == ["24000.00", "24480.00"]
    balances = [Decimal(year["loanBalance"]) for year in years]
    assert balances == sorted(balances, reverse=True) and len(set(balances)) == 5
    assert balances[0] < Decimal("150000")
    assert len({year["debtService"] for year in years}) == 1
    assert years[-1]["propertyValue"] == cents(PURCHASE * Decimal("1.03") ** 5)
    assert result["saleProceeds"] == cents(expected["saleProceeds"])
    assert result["npv"] == cents(expected["npv"])


def test_projection_irr_is_numpy_financials_irr_of_the_flows(api: Api, deal: str) -> None:
    expected = expected_rental()
    result = projection(api, deal, RENTAL)
    formulas = formulas_by_name(result)
    inputs = formulas["irr"]["inputs"]
    flows = [Decimal(inputs[f"cashFlow{t}"]) for t in range(6)]
    for flow, wanted in zip(flows, expected["cashFlows"], strict=True):
        assert close(flow, wanted, 1e-20)
    # the flows from the displayed years give the same rate to display precision
    years = result["years"]
    shown = [-expected["totalCashInvested"], *(Decimal(y["cashFlow"]) for y in years)]
    shown[-1] += Decimal(result["saleProceeds"])
    assert abs(Decimal(result["irr"]) - Decimal(repr(npf.irr([float(f) for f in shown])))) < (
        Decimal("0.000002")
    )
    rate = npf.irr([float(flow) for flow in flows])
    assert close(Decimal(formulas["irr"]["value"]), rate)
    assert result["irr"] == ratio(Decimal(formulas["irr"]["value"]))
    assert abs(Decimal(result["irr"]) - Decimal(repr(rate))) <= Decimal("0.0000006")
    assert close(Decimal(formulas["npv"]["value"]), npf.npv(0.08, [float(f) for f in flows]))
    # Deal.analysis reports the same irr and npv
    metrics = analysis(api, deal, RENTAL)
    assert (metrics["irr"], metrics["npv"]) == (result["irr"], result["npv"])


def test_projection_amortization_first_12_months(api: Api, deal: str) -> None:
    expected = expected_rental()
    result = projection(api, deal, RENTAL, first=12)
    months = result["amortization"]
    assert [row["month"] for row in months] == list(range(1, 13))
    assert {row["payment"] for row in months} == {cents(expected["monthlyPayment"])}
    assert months[0]["interest"] == cents(Decimal("150000") * Decimal("0.07") / 12)
    for row in months:
        assert row["balance"] == cents(expected["balance"](row["month"])), row["month"]
    balances = [Decimal(row["balance"]) for row in months]
    assert balances == sorted(balances, reverse=True)
    assert months[-1]["balance"] == result["years"][0]["loanBalance"]
    following = projection(api, deal, RENTAL, first=12, after=months[-1]["cursor"])
    assert [row["month"] for row in following["amortization"]] == list(range(13, 25))


def test_projection_amortization_principal_plus_interest_is_the_payment(
    api: Api, deal: str
) -> None:
    months = projection(api, deal, RENTAL, first=12)["amortization"]
    for row in months:
        total = Decimal(row["principal"]) + Decimal(row["interest"])
        assert total == Decimal(row["payment"]), row


def test_projection_amortization_balance_falls_by_the_principal(api: Api, deal: str) -> None:
    months = projection(api, deal, RENTAL, first=12)["amortization"]
    balance = Decimal("150000.00")
    for row in months:
        balance -= Decimal(row["principal"])
        assert Decimal(row["balance"]) == balance, row


def test_projection_amortization_first_zero_is_empty(api: Api, deal: str) -> None:
    assert projection(api, deal, RENTAL, first=0)["amortization"] == []


def test_projection_amortization_pages_to_the_last_month(api: Api, deal: str) -> None:
    tail = projection(api, deal, RENTAL, first=12, after="355")["amortization"]
    assert [row["month"] for row in tail] == [356, 357, 358, 359, 360]
    assert tail[-1]["balance"] == "0.00"
    assert projection(api, deal, RENTAL, first=12, after="360")["amortization"] == []


def test_projection_amortization_malformed_cursor_is_bad_user_input(api: Api, deal: str) -> None:
    variables = {"dealId": deal, "input": RENTAL, "first": 3, "after": "not-a-cursor"}
    assert top_code(api.as_user(ADMIN, PROJECTION, variables)) == "BAD_USER_INPUT"


def test_an_all_cash_hold_has_no_debt_and_no_dscr(api: Api, deal: str) -> None:
    inputs = {k: v for k, v in RENTAL.items() if k not in ("downPaymentRate", "interestRate")}
    result = analysis(api, deal, {**inputs, "downPaymentRate": "1"})
    assert (result["loanAmount"], result["monthlyPayment"], result["annualDebtService"]) == (
        "0.00",
        "0.00",
        "0.00",
    )
    assert result["dscr"] is None
    assert formulas_by_name(result)["dscr"]["reason"]
    # 200000 + 6000 + 4000 invested; the cash flow is the whole NOI
    assert result["totalCashInvested"] == "210000.00"
    assert result["annualCashFlow"] == result["noi"] == "14376.00"
    assert result["cashOnCash"] == ratio(Decimal(14376) / Decimal(210000))


def test_a_loan_shorter_than_the_hold_stops_its_debt_service(api: Api, deal: str) -> None:
    inputs = {**RENTAL, "loanTermMonths": 24, "holdYears": 4}
    result = projection(api, deal, inputs, first=30)
    years = result["years"]
    assert len(years) == 4
    payment = monthly_payment(Decimal(150000), Decimal("0.07"), 24)
    assert [y["debtService"] for y in years] == [cents(12 * payment)] * 2 + ["0.00"] * 2
    assert [y["loanBalance"] for y in years][1:] == ["0.00"] * 3
    assert len(result["amortization"]) == 24
    assert Decimal(years[2]["cashFlow"]) == Decimal(years[2]["noi"])


def monthly_payment(loan: Decimal, annual_rate: Decimal, months: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 40
        rate = annual_rate / 12
        growth = (1 + rate) ** months
        return loan * rate * growth / (growth - 1)


def test_no_sign_change_gives_a_null_irr_not_an_error(api: Api, property_id: str) -> None:
    free = create_deal(api, property_id, purchasePrice="200000")
    inputs = {"downPaymentRate": "0", "interestRate": "0", "monthlyRent": "2000", "holdYears": 3}
    result = api.as_user(ADMIN, PROJECTION, {"dealId": free, "input": inputs, "first": 1})
    assert "errors" not in result, result["errors"]
    projected = result["data"]["projection"]
    # nothing invested, every year positive: no rate makes the NPV zero
    assert projected["irr"] is None
    formulas = formulas_by_name(projected)
    assert formulas["irr"]["value"] is None and formulas["irr"]["reason"]
    assert projected["npv"] is None and "discountRate" in formulas["npv"]["reason"]
    # a zero rate loan is repaid in equal parts
    assert projected["amortization"][0]["payment"] == cents(Decimal(200000) / 360)
    assert analysis(api, free, inputs)["irr"] is None


def test_saved_assumptions_fill_the_gaps(api: Api, deal: str) -> None:
    update = f"""mutation($id: ID!, $input: DealUpdateInput!) {{
      dealUpdate(id: $id, input: $input) {{ deal {{ id }} {ERRORS} }} }}"""
    payload = run(api, update, {"id": deal, "input": {"assumptions": RENTAL}})["dealUpdate"]
    assert payload["errors"] == []
    saved = analysis(api, deal)
    assert saved == analysis(api, deal, RENTAL)
    assert saved["noi"] == "14376.00"
    richer = analysis(api, deal, {"monthlyRent": "2500"})
    assert richer["grossScheduledRent"] == "30000.00"
    assert richer["loanAmount"] == "150000.00"  # the saved down payment still applies


def test_brrrr_cash_left_in_deal(api: Api, property_id: str) -> None:
    brrrr = create_deal(
        api, property_id, "BRRRR", purchasePrice="150000", estimatedRepairs="30000", arv="240000"
    )
    inputs = {
        "downPaymentRate": "0.2",
        "interestRate": "0.08",
        "monthlyRent": "1800",
        "closingCosts": "3000",
        "refinanceLtv": "0.75",
        "refinanceCosts": "4000",
    }
    result = analysis(api, brrrr, inputs)
    # cash in 30000 + 3000 + 30000 = 63000; loan 120000; refinance 0.75 * 240000 - 4000
    assert result["totalCashInvested"] == "63000.00"
    assert result["loanAmount"] == "120000.00"
    assert result["cashLeftInDeal"] == "7000.00"
    assert result["maxAllowableOffer"] == "138000.00"
    assert result["netProfit"] is None


def test_projection_for_an_unknown_deal_is_bad_user_input(api: Api) -> None:
    variables = {"dealId": global_id("Deal", uuid.uuid4()), "input": RENTAL, "first": 1}
    assert top_code(api.as_user(ADMIN, PROJECTION, variables)) == "BAD_USER_INPUT"


# ---------------------------------------------------------------- commission


def commission(api: Api, gross: str, rules: list[dict], **extra: Any) -> dict:
    return run(api, COMMISSION, {"input": {"gross": gross, "rules": rules, **extra}})[
        "commissionSplit"
    ]


def test_commission_split_sums_to_the_gross(api: Api) -> None:
    gross = cents(Decimal("400000") * Decimal("0.03"))
    assert gross == "12000.00"
    split = commission(
        api, gross, [{"party": "TC", "flatFee": "500"}, {"party": "BROKER", "rate": "0.30"}]
    )
    assert split["errors"] == []
    assert split["gross"] == "12000.00"
    shares = {share["party"]: share["amount"] for share in split["shares"]}
    # flat fees first, then 30 % of what is left (11,500), the agent keeps the remainder
    assert shares == {"TC": "500.00", "BROKER": "3450.00", "AGENT": "8050.00"}
    assert sum(Decimal(amount) for amount in shares.values()) == Decimal("12000.00")
    assert all(share["basis"] for share in split["shares"])


def test_commission_cap_and_remainder_party(api: Api) -> None:
    split = commission(
        api,
        "12000.00",
        [{"party": "TC", "flatFee": "500"}, {"party": "BROKER", "rate": "0.30", "cap": "3000"}],
        remainderParty="LISTING AGENT",
    )
    shares = {share["party"]: share["amount"] for share in split["shares"]}
    assert shares == {"TC": "500.00", "BROKER": "3000.00", "LISTING AGENT": "8500.00"}
    assert "cap" in next(s["basis"] for s in split["shares"] if s["party"] == "BROKER")


@pytest.mark.parametrize("gross", ["10000.01", "0.03", "999999.99", "1.00"])
def test_commission_shares_sum_exactly_when_rates_round(api: Api, gross: str) -> None:
    rules = [
        {"party": "A", "rate": "0.333333"},
        {"party": "B", "rate": "0.333333"},
        {"party": "C", "rate": "0.333333"},
    ]
    split = commission(api, gross, rules)
    amounts = [Decimal(share["amount"]) for share in split["shares"]]
    assert sum(amounts) == Decimal(gross)
    assert all(amount >= 0 and amount == amount.quantize(CENT) for amount in amounts)


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ([{"party": "BROKER", "rate": "1.5"}], ("input", "rules", "0", "rate")),
        ([{"party": "BROKER", "rate": "-0.1"}], ("input", "rules", "0", "rate")),
        ([{"party": "BROKER", "rate": "0.1", "flatFee": "5"}], ("input", "rules", "0")),
        ([{"party": "TC", "flatFee": "-5"}], ("input", "rules", "0", "flatFee")),
        ([{"party": "A", "rate": "0.6"}, {"party": "B", "rate": "0.6"}], ("input", "rules")),
    ],
)
def test_invalid_commission_plans_are_errors_not_exceptions(
    api: Api, rules: list[dict], field: tuple[str, ...]
) -> None:
    result = api.as_user(ADMIN, COMMISSION, {"input": {"gross": "12000.00", "rules": rules}})
    assert "errors" not in result, result["errors"]
    split = result["data"]["commissionSplit"]
    assert split["shares"] == [] and split["gross"] is None
    assert {"INVALID"} == {error["code"] for error in split["errors"]}
    assert field in [tuple(error["field"]) for error in split["errors"]]


def test_negative_gross_is_invalid(api: Api) -> None:
    split = commission(api, "-1.00", [])
    assert error_codes(split["errors"]) == [("INVALID", ("input", "gross"))]


# ---------------------------------------------------------------- roles


@pytest.mark.parametrize("user", [VIEWER, ANALYST])
def test_read_only_roles_cannot_write_money(api: Api, db: Any, deal: str, user: str) -> None:
    created = api.as_user(
        user,
        TRANSACTION_CREATE,
        {"input": {"dealId": deal, "amount": "-5.00", "category": "REPAIRS", "date": "2026-01-01"}},
    )
    assert top_code(created) == "FORBIDDEN"
    budget = api.as_user(
        user, BUDGET_SET, {"input": {"dealId": deal, "category": "REPAIRS", "amount": "10"}}
    )
    assert top_code(budget) == "FORBIDDEN"
    account = api.as_user(
        user, ACCOUNT_CREATE, {"input": {"name": f"x {new_tag()}", "kind": "CHECKING"}}
    )
    assert top_code(account) == "FORBIDDEN"
    assert stored_transactions(db, deal) == 0
    assert db("SELECT count(*) FROM budgets WHERE deal_id = $1", local_id(deal))[0][0] == 0
    # but they can read
    add(api, deal, "-5.00", "REPAIRS", "2026-01-01")
    listed = transactions_page(api, user, filter={"dealId": deal})
    assert listed["totalCount"] == 1
    report = pnl(api, deal, date(2026, 1, 1), date(2026, 1, 31), user)
    assert report["totalExpenses"] == "5.00"


@pytest.mark.parametrize("user", [UNDERWRITER, OPS])
def test_finance_writers_can_record_money(api: Api, deal: str, user: str) -> None:
    made = add(api, deal, "-12.34", "SUPPLIES", "2026-01-01", user=user)
    assert made["createdBy"] == {"email": user}
    payload = set_budget(api, deal, "SUPPLIES", "10", user)
    assert payload["errors"] == []
    assert payload["budget"]["exceeded"] is True


def test_without_a_token_everything_is_unauthenticated(api: Api, deal: str) -> None:
    requests: list[tuple[str, dict[str, Any]]] = [
        (
            TRANSACTION_CREATE,
            {
                "input": {
                    "dealId": deal,
                    "amount": "-5",
                    "category": "REPAIRS",
                    "date": "2026-01-01",
                }
            },
        ),
        (BUDGET_SET, {"input": {"dealId": deal, "category": "REPAIRS", "amount": "10"}}),
        (ACCOUNT_CREATE, {"input": {"name": "x", "kind": "CHECKING"}}),
        (TRANSACTIONS, {"filter": {"dealId": deal}}),
        (ACCOUNTS, {}),
        (PNL, {"dealId": deal, "from": "2026-01-01", "to": "2026-12-31"}),
        (CASH_FLOW, {"dealId": deal, "from": "2026-01-01", "to": "2026-12-31", "interval": "YEAR"}),
        (COMMISSION, {"input": {"gross": "100", "rules": []}}),
    ]
    for query, variables in requests:
        assert top_code(api.post(query, variables)) == "UNAUTHENTICATED", query


# ---------------------------------------------------------------- tenant isolation


def test_other_fund_sees_no_demo_money(api: Api, db: Any, deal: str) -> None:
    account = create_account(api, f"Demo only {new_tag()}")
    made = add(api, deal, "-77.77", "REPAIRS", "2031-07-13", accountId=account["id"])
    set_budget(api, deal, "REPAIRS", "50")

    # filtering by a deal the tenant cannot see is an empty list, not an error
    by_deal = transactions_page(api, OTHER_ADMIN, filter={"dealId": deal}, first=100)
    assert (by_deal["edges"], by_deal["totalCount"]) == ([], 0)
    assert run(api, DEAL_BUDGETS, {"id": deal}, OTHER_ADMIN)["deal"] is None
    by_account = transactions_page(api, OTHER_ADMIN, filter={"accountId": account["id"]})
    assert (by_account["edges"], by_account["totalCount"]) == ([], 0)
    same_day = transactions_page(
        api, OTHER_ADMIN, filter={"from": "2031-07-13", "to": "2031-07-13"}, first=100
    )
    assert made["id"] not in node_ids(same_day)

    for hidden in (made["id"], account["id"]):
        assert run(api, NODE, {"id": hidden}, OTHER_ADMIN)["node"] is None
    other_accounts = run(api, ACCOUNTS, user=OTHER_ADMIN)["accounts"]
    other_tenant = db("SELECT tenant_id FROM users WHERE email = $1", OTHER_ADMIN)[0][0]
    own = db("SELECT id FROM accounts WHERE tenant_id = $1", other_tenant)
    listed = {local_id(a["id"], "Account") for a in other_accounts}
    assert listed == {row[0] for row in own}
    assert account["name"] not in {a["name"] for a in other_accounts}

    variables = {"dealId": deal, "from": "2031-01-01", "to": "2031-12-31"}
    assert top_code(api.as_user(OTHER_ADMIN, PNL, variables)) == "BAD_USER_INPUT"
    flow = api.as_user(OTHER_ADMIN, CASH_FLOW, {**variables, "interval": "YEAR"})
    assert top_code(flow) == "BAD_USER_INPUT"
    projected = api.as_user(OTHER_ADMIN, PROJECTION, {"dealId": deal, "input": RENTAL})
    assert top_code(projected) == "BAD_USER_INPUT"


def test_other_fund_cannot_write_to_a_demo_deal(api: Api, db: Any, deal: str) -> None:
    payload = transaction_create(
        api, OTHER_ADMIN, dealId=deal, amount="-5.00", category="REPAIRS", date="2026-01-01"
    )
    assert payload["transaction"] is None
    assert error_codes(payload["errors"]) == [("NOT_FOUND", ("input", "dealId"))]
    budget = set_budget(api, deal, "REPAIRS", "10", OTHER_ADMIN)
    assert budget["budget"] is None
    assert error_codes(budget["errors"]) == [("NOT_FOUND", ("input", "dealId"))]
    demo_account = create_account(api, f"Demo acct {new_tag()}")
    payload = transaction_create(
        api,
        OTHER_ADMIN,
        accountId=demo_account["id"],
        amount="-5.00",
        category="REPAIRS",
        date="2026-01-01",
    )
    assert error_codes(payload["errors"]) == [("NOT_FOUND", ("input", "accountId"))]
    assert stored_transactions(db, deal) == 0
    assert db("SELECT count(*) FROM budgets WHERE deal_id = $1", local_id(deal))[0][0] == 0
    assert (
        db(
            "SELECT count(*) FROM transactions WHERE account_id = $1",
            local_id(demo_account["id"], "Account"),
        )[0][0]
        == 0
    )
