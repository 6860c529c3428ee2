"""SQL statements of the screens people open most: a dashboard of properties with their deals,
offers, budgets, team and latest timeline, and a deal's detail page. Both cost a fixed number of
statements however many rows they show (one batch per relation, never one query per row)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Api

ADMIN = "demo@reos.dev"
ANALYST = "analyst@reos.dev"
ERRORS = "errors { field message code }"

DASHBOARD = """query($first: Int!, $text: String!) {
  properties(first: $first, filter: {text: $text}) { edges { node { id
    deals(first: 5) { totalCount edges { node {
      id status
      offers { id amount status }
      budgets { category amount spent }
      team { role user { email } }
      timeline(first: 3) { edges { node { kind actor { email } } } }
    } } }
  } } } }"""
DEAL_DETAIL = """query($id: ID!) { deal(id: $id) {
  property { id }
  analysis { noi }
  timeline(first: 50) { edges { node { kind } } }
  budgets { spent }
  transactions(first: 20) { edges { node { amount } } }
  offers { amount }
  team { user { email } }
} }"""

# tenant scope, properties, deals, deal counts, offers, budgets, team, users, timeline
DASHBOARD_MAX_STATEMENTS = 9
# tenant scope, deal, property, timeline, budgets, transactions, offers, team, users
DEAL_DETAIL_MAX_STATEMENTS = 9


def run(api: Api, query: str, variables: dict[str, Any] | None = None, user: str = ADMIN) -> dict:
    result = api.as_user(user, query, variables)
    assert "errors" not in result, result["errors"]
    return result["data"]


def mutate(api: Api, query: str, variables: dict[str, Any], name: str) -> dict:
    payload = run(api, query, variables)[name]
    assert payload["errors"] == [], payload["errors"]
    return payload


def create_property(api: Api, tag: str, number: int) -> str:
    fields = {
        "address": {
            "streetNumber": str(100 + number),
            "streetName": f"Dashboard {tag} Street",
            "city": "Austin",
            "stateOrProvince": "TX",
            "postalCode": "78701",
        },
        "propertyType": "RESIDENTIAL",
        "listPrice": "300000",
    }
    query = f"""mutation($input: PropertyInput!) {{
      propertyCreate(input: $input) {{ property {{ id }} {ERRORS} }} }}"""
    return mutate(api, query, {"input": fields}, "propertyCreate")["property"]["id"]


def analyst_id(api: Api) -> str:
    return run(api, "{ me { id } }", user=ANALYST)["me"]["id"]


def create_busy_deal(api: Api, property_id: str, member: str, number: int) -> str:
    """A deal with an offer, two budgets, transactions, two team members and a comment."""
    query = f"""mutation($input: DealCreateInput!) {{
      dealCreate(input: $input) {{ deal {{ id }} {ERRORS} }} }}"""
    variables = {
        "input": {"propertyId": property_id, "strategy": "FLIP", "purchasePrice": "250000"}
    }
    deal = mutate(api, query, variables, "dealCreate")["deal"]["id"]
    status = f"""mutation($id: ID!) {{
      dealStatusChange(id: $id, status: ANALYZING) {{ deal {{ id }} {ERRORS} }} }}"""
    mutate(api, status, {"id": deal}, "dealStatusChange")
    offer = f"""mutation($id: ID!, $input: OfferInput!) {{
      offerSubmit(dealId: $id, input: $input) {{ offer {{ id }} {ERRORS} }} }}"""
    mutate(api, offer, {"id": deal, "input": {"amount": str(240000 + number)}}, "offerSubmit")
    budget = f"""mutation($input: BudgetInput!) {{
      budgetSet(input: $input) {{ budget {{ id }} {ERRORS} }} }}"""
    for category in ("REPAIRS", "UTILITIES"):
        variables = {"input": {"dealId": deal, "category": category, "amount": "1000"}}
        mutate(api, budget, variables, "budgetSet")
    transaction = f"""mutation($input: TransactionInput!) {{
      transactionCreate(input: $input) {{ transaction {{ id }} {ERRORS} }} }}"""
    for amount, category in (("-120.00", "REPAIRS"), ("-45.50", "UTILITIES")):
        variables = {
            "input": {"dealId": deal, "amount": amount, "category": category, "date": "2026-02-01"}
        }
        mutate(api, transaction, variables, "transactionCreate")
    team = f"""mutation($deal: ID!, $user: ID!) {{
      dealMemberSet(dealId: $deal, userId: $user, role: ANALYST) {{ deal {{ id }} {ERRORS} }} }}"""
    mutate(api, team, {"deal": deal, "user": member}, "dealMemberSet")
    comment(api, deal, f"Looked at it, offer {number}")
    return deal


def comment(api: Api, deal: str, body: str) -> None:
    query = f"""mutation($id: ID!, $body: String!) {{
      timelineCommentAdd(dealId: $id, body: $body) {{ entry {{ id }} {ERRORS} }} }}"""
    mutate(api, query, {"id": deal, "body": body}, "timelineCommentAdd")


@dataclass
class Dashboard:
    small: str
    large: str
    few_entries_deal: str
    many_entries_deal: str


@pytest.fixture(scope="module")
def data(api: Api) -> Dashboard:
    """3 and 12 tagged properties with one or two busy deals each; two deals to open."""
    member = analyst_id(api)
    tags = {"small": "ds" + uuid.uuid4().hex[:10], "large": "dl" + uuid.uuid4().hex[:10]}
    for tag, size in ((tags["small"], 3), (tags["large"], 12)):
        for number in range(size):
            property_id = create_property(api, tag, number)
            for deal_number in range(1 + number % 2):
                create_busy_deal(api, property_id, member, number * 10 + deal_number)
    detail_property = create_property(api, "dd" + uuid.uuid4().hex[:10], 0)
    few = create_busy_deal(api, detail_property, member, 1)
    many = create_busy_deal(api, detail_property, member, 2)
    for number in range(40):
        comment(api, many, f"Note {number}")
    return Dashboard(tags["small"], tags["large"], few, many)


def statements(api: Api, count_statements: Any, query: str, variables: dict[str, Any]) -> tuple:
    before = count_statements.count
    result = run(api, query, variables)
    return count_statements.count - before, result


def test_dashboard_costs_the_same_for_3_and_12_properties(
    api: Api, count_statements: Any, data: Dashboard
) -> None:
    counts = []
    for tag, size in ((data.small, 3), (data.large, 12), (data.small, 3)):
        count, result = statements(api, count_statements, DASHBOARD, {"first": 50, "text": tag})
        properties = [edge["node"] for edge in result["properties"]["edges"]]
        assert len(properties) == size
        deals = [edge["node"] for p in properties for edge in p["deals"]["edges"]]
        assert [p["deals"]["totalCount"] for p in properties].count(2) == size // 2
        assert len(deals) == size + size // 2
        # every deal really has rows in every nested list
        for deal in deals:
            assert deal["status"] == "OFFER_MADE"
            assert len(deal["offers"]) == 1
            assert {b["category"]: b["spent"] for b in deal["budgets"]} == {
                "REPAIRS": "120.00",
                "UTILITIES": "45.50",
            }
            assert sorted(m["user"]["email"] for m in deal["team"]) == [ANALYST, ADMIN]
            entries = deal["timeline"]["edges"]
            assert len(entries) == 3
            assert entries[0]["node"] == {"kind": "COMMENT", "actor": {"email": ADMIN}}
        counts.append(count)
    assert counts[0] == counts[1] == counts[2], counts
    assert counts[0] <= DASHBOARD_MAX_STATEMENTS, counts


def test_deal_detail_costs_the_same_for_few_and_many_timeline_entries(
    api: Api, count_statements: Any, data: Dashboard
) -> None:
    few_count, few = statements(api, count_statements, DEAL_DETAIL, {"id": data.few_entries_deal})
    many_count, many = statements(
        api, count_statements, DEAL_DETAIL, {"id": data.many_entries_deal}
    )
    few_entries = len(few["deal"]["timeline"]["edges"])
    many_entries = len(many["deal"]["timeline"]["edges"])
    assert 5 <= few_entries <= 12  # the deal's own history
    assert many_entries == 50  # 40 comments more, the first 50 shown
    for result in (few, many):
        deal = result["deal"]
        assert deal["property"]["id"]
        assert deal["analysis"] == {"noi": None}  # a flip has no NOI
        assert [b["spent"] for b in deal["budgets"]] == ["120.00", "45.50"]
        assert len(deal["transactions"]["edges"]) == 2
        assert len(deal["offers"]) == 1
        assert len(deal["team"]) == 2
    assert few_count == many_count, (few_count, many_count)
    assert few_count <= DEAL_DETAIL_MAX_STATEMENTS, few_count
