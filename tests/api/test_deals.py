"""Deals through the real API: create and update, lists and filters, the status machine, the
team, the timeline with comments and mentions, the outbox, and tenant isolation."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import Api

ADMIN = "demo@reos.dev"
ANALYST = "analyst@reos.dev"
UNDERWRITER = "underwriter@reos.dev"
OPS = "ops@reos.dev"
VIEWER = "viewer@reos.dev"
OTHER_ADMIN = "other@reos.dev"

STATUSES = ["LEAD", "ANALYZING", "OFFER_MADE", "UNDER_CONTRACT", "CLOSED", "DEAD"]
ALLOWED: dict[str, list[str]] = {
    "LEAD": ["ANALYZING", "DEAD"],
    "ANALYZING": ["OFFER_MADE", "DEAD"],
    "OFFER_MADE": ["UNDER_CONTRACT", "ANALYZING", "DEAD"],
    "UNDER_CONTRACT": ["CLOSED", "DEAD"],
    "CLOSED": [],
    "DEAD": [],
}
# Allowed moves that take a fresh (LEAD) deal to each status.
PATH_TO: dict[str, list[str]] = {
    "LEAD": [],
    "ANALYZING": ["ANALYZING"],
    "OFFER_MADE": ["ANALYZING", "OFFER_MADE"],
    "UNDER_CONTRACT": ["ANALYZING", "OFFER_MADE", "UNDER_CONTRACT"],
    "CLOSED": ["ANALYZING", "OFFER_MADE", "UNDER_CONTRACT", "CLOSED"],
    "DEAD": ["DEAD"],
}

ERRORS = "errors { field message code }"
DEAL_FIELDS = """
  id name strategy status purchasePrice estimatedRepairs arv expectedProfit assumptions
  statusChangedAt createdAt updatedAt allowedTransitions
  property { id address { unparsedAddress } }
  team { role addedAt user { id email } }
"""
ENTRY_FIELDS = "id kind message data createdAt actor { id email } mentions { id email } deal { id }"

DEAL_CREATE = f"""mutation($input: DealCreateInput!) {{
  dealCreate(input: $input) {{ deal {{ {DEAL_FIELDS} }} {ERRORS} }} }}"""
DEAL_UPDATE = f"""mutation($id: ID!, $input: DealUpdateInput!) {{
  dealUpdate(id: $id, input: $input) {{ deal {{ {DEAL_FIELDS} }} {ERRORS} }} }}"""
STATUS_CHANGE = f"""mutation($id: ID!, $status: DealStatus!, $note: String) {{
  dealStatusChange(id: $id, status: $status, note: $note) {{ deal {{ {DEAL_FIELDS} }} {ERRORS} }}
}}"""
MEMBER_SET = f"""mutation($dealId: ID!, $userId: ID!, $role: DealRole!) {{
  dealMemberSet(dealId: $dealId, userId: $userId, role: $role) {{
    deal {{ id team {{ role user {{ id email }} }} }} {ERRORS} }} }}"""
MEMBER_REMOVE = f"""mutation($dealId: ID!, $userId: ID!) {{
  dealMemberRemove(dealId: $dealId, userId: $userId) {{
    deal {{ id team {{ role user {{ id email }} }} }} {ERRORS} }} }}"""
COMMENT = f"""mutation($dealId: ID!, $body: String!) {{
  timelineCommentAdd(dealId: $dealId, body: $body) {{ entry {{ {ENTRY_FIELDS} }} {ERRORS} }} }}"""
OFFER_SUBMIT = f"""mutation($dealId: ID!, $input: OfferInput!) {{
  offerSubmit(dealId: $dealId, input: $input) {{ offer {{ id status }} {ERRORS} }} }}"""
OFFER_RESPOND = f"""mutation($id: ID!, $action: OfferAction!, $counterAmount: Decimal) {{
  offerRespond(id: $id, action: $action, counterAmount: $counterAmount) {{
    offer {{ id status }} counterOffer {{ id }} {ERRORS} }} }}"""
GET_DEAL = f"query($id: ID!) {{ deal(id: $id) {{ {DEAL_FIELDS} }} }}"
LIST_DEALS = """query($filter: DealFilter, $first: Int, $after: String) {
  deals(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name status strategy createdAt property { id } } }
  } }"""
PROPERTY_DEALS = """query($id: ID!, $first: Int, $after: String) {
  property(id: $id) { id deals(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name property { id } } }
  } } }"""
TIMELINE = f"""query($id: ID!, $first: Int, $after: String) {{
  deal(id: $id) {{ timeline(first: $first, after: $after) {{
    totalCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {ENTRY_FIELDS} }} }}
  }} }} }}"""
PROPERTY_CREATE = """mutation($input: PropertyInput!) {
  propertyCreate(input: $input) { property { id address { unparsedAddress } } errors { code } } }"""


# ---------------------------------------------------------------- helpers


def new_tag() -> str:
    return "d" + uuid.uuid4().hex[:10]


def run(api: Api, query: str, variables: dict[str, Any] | None = None, user: str = ADMIN) -> dict:
    """The data of a request that must not fail at the top level."""
    result = api.as_user(user, query, variables)
    assert "errors" not in result, result["errors"]
    return result["data"]


def top_code(result: dict) -> str:
    assert result.get("errors"), result
    return result["errors"][0]["extensions"]["code"]


def error_fields(errors: list[dict]) -> list[tuple[str, tuple[str, ...]]]:
    return sorted((error["code"], tuple(error["field"] or ())) for error in errors)


def new_property(api: Api, user: str = ADMIN, tag: str | None = None) -> dict:
    """A fresh property of the user's tenant: {id, address {unparsedAddress}}."""
    tag = tag or new_tag()
    fields = {
        "address": {
            "streetNumber": "42",
            "streetName": f"{tag} Street",
            "city": "Austin",
            "stateOrProvince": "TX",
            "postalCode": "78701",
        },
        "propertyType": "RESIDENTIAL",
        "listPrice": "250000",
    }
    payload = run(api, PROPERTY_CREATE, {"input": fields}, user)["propertyCreate"]
    assert payload["errors"] == [], payload
    return payload["property"]


def deal_create(api: Api, fields: dict[str, Any], user: str = ADMIN) -> dict:
    return run(api, DEAL_CREATE, {"input": fields}, user)["dealCreate"]


def create_deal(
    api: Api,
    property_id: str | None = None,
    user: str = ADMIN,
    strategy: str = "FLIP",
    **fields: Any,
) -> dict:
    """A new deal (on a new property unless one is given), checked to have no errors."""
    if property_id is None:
        property_id = new_property(api, user)["id"]
    payload = deal_create(api, {"propertyId": property_id, "strategy": strategy, **fields}, user)
    assert payload["errors"] == [], payload["errors"]
    return payload["deal"]


def deal_update(api: Api, deal_id: str, fields: dict[str, Any], user: str = ADMIN) -> dict:
    return run(api, DEAL_UPDATE, {"id": deal_id, "input": fields}, user)["dealUpdate"]


def change_status(
    api: Api, deal_id: str, status: str, note: str | None = None, user: str = ADMIN
) -> dict:
    variables = {"id": deal_id, "status": status, "note": note}
    return run(api, STATUS_CHANGE, variables, user)["dealStatusChange"]


def drive(api: Api, deal_id: str, target: str, user: str = ADMIN) -> dict:
    """Move a fresh deal to target by allowed moves only; the deal as it ends up."""
    deal = None
    for status in PATH_TO[target]:
        payload = change_status(api, deal_id, status, user=user)
        assert payload["errors"] == [], (status, payload["errors"])
        deal = payload["deal"]
        assert deal["status"] == status
    return deal if deal is not None else get_deal(api, deal_id, user)


def deal_at(api: Api, status: str, user: str = ADMIN, **fields: Any) -> dict:
    """A new deal driven to status."""
    deal = create_deal(api, user=user, **fields)
    return drive(api, deal["id"], status, user)


def get_deal(api: Api, deal_id: str, user: str = ADMIN) -> dict | None:
    return run(api, GET_DEAL, {"id": deal_id}, user)["deal"]


def list_deals(api: Api, user: str = ADMIN, **variables: Any) -> dict:
    return run(api, LIST_DEALS, variables, user)["deals"]


def nodes_of(connection: dict) -> list[dict]:
    return [edge["node"] for edge in connection["edges"]]


def ids_of(connection: dict) -> list[str]:
    return [node["id"] for node in nodes_of(connection)]


def timeline_page(
    api: Api, deal_id: str, first: int | None = None, after: str | None = None, user: str = ADMIN
) -> dict:
    deal = run(api, TIMELINE, {"id": deal_id, "first": first, "after": after}, user)["deal"]
    assert deal is not None
    return deal["timeline"]


def entries(api: Api, deal_id: str, user: str = ADMIN) -> list[dict]:
    """Every timeline entry of a deal, newest first (one page of up to 100)."""
    connection = timeline_page(api, deal_id, first=100, user=user)
    assert connection["pageInfo"]["hasNextPage"] is False
    return nodes_of(connection)


def kinds(api: Api, deal_id: str) -> list[str]:
    return [entry["kind"] for entry in entries(api, deal_id)]


def local_id(global_id: str) -> uuid.UUID:
    return uuid.UUID(base64.b64decode(global_id).decode().partition(":")[2])


def global_id(type_name: str, local: uuid.UUID) -> str:
    return base64.b64encode(f"{type_name}:{local}".encode()).decode()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def outbox(db: Any, deal_global_id: str) -> list[tuple[str, dict]]:
    """(event_type, payload) of the deal's outbox rows, oldest first."""
    rows = db(
        "SELECT event_type, payload FROM outbox WHERE aggregate_id = $1 ORDER BY id",
        local_id(deal_global_id),
    )
    return [(row[0], _json(row[1])) for row in rows]


def event_types(db: Any, deal_global_id: str) -> list[str]:
    return [event_type for event_type, _ in outbox(db, deal_global_id)]


_USER_IDS: dict[str, str] = {}


def user_id(api: Api, email: str) -> str:
    """The global ID of a seeded user."""
    if email not in _USER_IDS:
        _USER_IDS[email] = run(api, "{ me { id } }", user=email)["me"]["id"]
    return _USER_IDS[email]


def stored_deal(db: Any, deal_global_id: str) -> dict[str, Any]:
    """The deal's row as the owner sees it (no RLS), plus its row counts."""
    deal = local_id(deal_global_id)
    row = db("SELECT name, status, strategy, purchase_price FROM deals WHERE id = $1", deal)[0]
    counts = db(
        """SELECT (SELECT count(*) FROM timeline_entries WHERE deal_id = $1),
                  (SELECT count(*) FROM offers WHERE deal_id = $1),
                  (SELECT count(*) FROM deal_members WHERE deal_id = $1),
                  (SELECT count(*) FROM outbox WHERE aggregate_id = $1)""",
        deal,
    )[0]
    return {
        **dict(row),
        "entries": counts[0],
        "offers": counts[1],
        "members": counts[2],
        "events": counts[3],
    }


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@pytest.fixture(scope="module")
def shared_property(api: Api) -> dict:
    """One property for tests that only need some property to put deals on."""
    return new_property(api)


# ---------------------------------------------------------------- dealCreate


def test_create_defaults_name_to_address_starts_as_lead_with_creator_leading(
    api: Api, db: Any
) -> None:
    prop = new_property(api)
    payload = deal_create(
        api,
        {
            "propertyId": prop["id"],
            "strategy": "FLIP",
            "purchasePrice": "200000.00",
            "estimatedRepairs": "35000.50",
            "arv": "310000",
        },
    )
    assert payload["errors"] == []
    deal = payload["deal"]
    assert deal["name"] == prop["address"]["unparsedAddress"]
    assert deal["status"] == "LEAD"
    assert deal["strategy"] == "FLIP"
    assert deal["property"]["id"] == prop["id"]
    assert money(deal["purchasePrice"]) == Decimal("200000")
    assert money(deal["estimatedRepairs"]) == Decimal("35000.50")
    assert money(deal["arv"]) == Decimal("310000")
    assert money(deal["expectedProfit"]) == Decimal("74999.50")
    assert deal["allowedTransitions"] == ALLOWED["LEAD"]
    assert deal["assumptions"] == {}
    assert [(m["role"], m["user"]["email"]) for m in deal["team"]] == [("LEAD", ADMIN)]
    assert deal["createdAt"] and deal["updatedAt"]

    assert get_deal(api, deal["id"]) == deal
    (created,) = entries(api, deal["id"])
    assert created["kind"] == "DEAL_CREATED"
    assert created["actor"]["email"] == ADMIN
    assert prop["address"]["unparsedAddress"] in created["message"]
    assert event_types(db, deal["id"]) == ["deal.created", "timeline.entry_added"]
    (_, event), (_, added) = outbox(db, deal["id"])
    assert event["deal_id"] == str(local_id(deal["id"]))
    assert event["strategy"] == "FLIP"
    assert event["property_id"] == str(local_id(prop["id"]))
    assert added["entry_id"] == str(local_id(created["id"]))
    assert added["kind"] == "DEAL_CREATED"


def test_create_keeps_a_given_name_with_spaces_collapsed_and_partial_money(api: Api) -> None:
    deal = create_deal(
        api, name="  Flip   on \t Main  ", strategy="BRRRR", purchasePrice="150000", arv="200000"
    )
    assert deal["name"] == "Flip on Main"
    assert deal["strategy"] == "BRRRR"
    assert deal["estimatedRepairs"] is None
    # Missing repairs count as zero; a missing ARV or price leaves nothing to compute.
    assert money(deal["expectedProfit"]) == Decimal("50000")
    assert create_deal(api, purchasePrice="150000")["expectedProfit"] is None
    assert create_deal(api, arv="150000")["expectedProfit"] is None


def test_an_analyst_creates_deals_and_leads_them(api: Api) -> None:
    deal = create_deal(api, user=ANALYST, strategy="WHOLESALE")
    assert [(m["role"], m["user"]["email"]) for m in deal["team"]] == [("LEAD", ANALYST)]
    # The rest of the tenant sees it.
    assert get_deal(api, deal["id"], user=VIEWER)["id"] == deal["id"]


CREATE_ERRORS: list[tuple[str, dict[str, Any], list[tuple[str, tuple[str, ...]]]]] = [
    ("negative-price", {"purchasePrice": "-1"}, [("INVALID", ("input", "purchasePrice"))]),
    ("three-decimals", {"purchasePrice": "100.123"}, [("INVALID", ("input", "purchasePrice"))]),
    (
        "negative-repairs",
        {"estimatedRepairs": "-0.01"},
        [("INVALID", ("input", "estimatedRepairs"))],
    ),
    ("arv-decimals", {"arv": "1.001"}, [("INVALID", ("input", "arv"))]),
    ("not-a-number", {"purchasePrice": "NaN"}, [("INVALID", ("input", "purchasePrice"))]),
    ("infinite", {"arv": "Infinity"}, [("INVALID", ("input", "arv"))]),
    ("implausible-arv", {"arv": "10000000000"}, [("INVALID", ("input", "arv"))]),
    ("long-name", {"name": "x" * 201}, [("INVALID", ("input", "name"))]),
    ("blank-name", {"name": "   "}, [("INVALID", ("input", "name"))]),
    (
        "all-at-once",
        {"name": "y" * 250, "purchasePrice": "-5", "arv": "9.999"},
        [
            ("INVALID", ("input", "arv")),
            ("INVALID", ("input", "name")),
            ("INVALID", ("input", "purchasePrice")),
        ],
    ),
]


@pytest.mark.parametrize(
    ("fields", "expected"), [pytest.param(f, e, id=name) for name, f, e in CREATE_ERRORS]
)
def test_create_rejects_bad_values_with_field_paths_and_writes_nothing(
    api: Api, db: Any, fields: dict[str, Any], expected: list[tuple[str, tuple[str, ...]]]
) -> None:
    prop = new_property(api)
    payload = deal_create(api, {"propertyId": prop["id"], "strategy": "FLIP", **fields})
    assert payload["deal"] is None
    assert error_fields(payload["errors"]) == expected
    assert all(error["message"] for error in payload["errors"])
    assert db("SELECT count(*) FROM deals WHERE property_id = $1", local_id(prop["id"]))[0][0] == 0


def test_create_accepts_the_limits(api: Api) -> None:
    deal = create_deal(api, name="n" * 200, purchasePrice="0", arv="1000000000.00")
    assert deal["name"] == "n" * 200
    assert money(deal["purchasePrice"]) == 0


@pytest.mark.parametrize(
    "bad_id",
    [
        pytest.param("not-an-id", id="garbage"),
        pytest.param(global_id("Deal", uuid.uuid4()), id="deal-id"),
    ],
)
def test_create_with_a_malformed_property_id_is_invalid_at_input_property_id(
    api: Api, db: Any, bad_id: str
) -> None:
    before = db("SELECT count(*) FROM deals")[0][0]
    payload = deal_create(api, {"propertyId": bad_id, "strategy": "FLIP"})
    assert payload["deal"] is None
    assert error_fields(payload["errors"]) == [("INVALID", ("input", "propertyId"))]
    assert db("SELECT count(*) FROM deals")[0][0] == before


@pytest.mark.parametrize(
    "bad_id",
    [
        pytest.param("not-an-id", id="garbage"),
        pytest.param(global_id("Deal", uuid.uuid4()), id="deal-id"),
    ],
)
def test_create_with_a_malformed_property_id_is_invalid(api: Api, db: Any, bad_id: str) -> None:
    before = db("SELECT count(*) FROM deals")[0][0]
    payload = deal_create(api, {"propertyId": bad_id, "strategy": "FLIP"})
    assert payload["deal"] is None
    assert [error["code"] for error in payload["errors"]] == ["INVALID"]
    assert payload["errors"][0]["field"][-1] == "propertyId"
    assert db("SELECT count(*) FROM deals")[0][0] == before


def test_create_on_another_tenants_or_an_unknown_property_is_not_found(api: Api, db: Any) -> None:
    theirs = new_property(api, user=OTHER_ADMIN)
    before = db("SELECT count(*) FROM deals")[0][0]
    events_before = db("SELECT count(*) FROM outbox")[0][0]
    for property_id in (theirs["id"], global_id("Property", uuid.uuid4())):
        payload = deal_create(api, {"propertyId": property_id, "strategy": "FLIP"})
        assert payload["deal"] is None
        assert error_fields(payload["errors"]) == [("NOT_FOUND", ("input", "propertyId"))]
    assert db("SELECT count(*) FROM deals")[0][0] == before
    assert db("SELECT count(*) FROM outbox")[0][0] == events_before


@pytest.mark.parametrize("user", [OPS, VIEWER])
def test_create_needs_deals_write(api: Api, db: Any, user: str, shared_property: dict) -> None:
    before = db("SELECT count(*) FROM deals")[0][0]
    variables = {"input": {"propertyId": shared_property["id"], "strategy": "FLIP"}}
    result = api.as_user(user, DEAL_CREATE, variables)
    assert top_code(result) == "FORBIDDEN"
    assert result["data"] is None
    assert db("SELECT count(*) FROM deals")[0][0] == before


# ---------------------------------------------------------------- dealUpdate


def test_update_changes_only_the_given_fields(api: Api, db: Any) -> None:
    deal = create_deal(
        api, name="Before", purchasePrice="100000", estimatedRepairs="20000", arv="180000"
    )
    payload = deal_update(api, deal["id"], {"name": " After  Rename "})
    assert payload["errors"] == []
    updated = payload["deal"]
    assert updated["name"] == "After Rename"
    for key in ("strategy", "status", "purchasePrice", "estimatedRepairs", "arv", "assumptions"):
        assert updated[key] == deal[key], key
    assert parse_time(updated["updatedAt"]) > parse_time(deal["updatedAt"])

    payload = deal_update(api, deal["id"], {"arv": "190000.25", "strategy": "BUY_AND_HOLD"})
    assert payload["errors"] == []
    updated = payload["deal"]
    assert updated["name"] == "After Rename"
    assert updated["strategy"] == "BUY_AND_HOLD"
    assert money(updated["arv"]) == Decimal("190000.25")
    assert money(updated["expectedProfit"]) == Decimal("70000.25")
    assert get_deal(api, deal["id"]) == updated

    latest, previous, _ = entries(api, deal["id"])
    assert latest["kind"] == previous["kind"] == "DEAL_UPDATED"
    assert "arv" in latest["message"] and "strategy" in latest["message"]
    assert latest["data"]["changes"] == {"arv": "190000.25", "strategy": "BUY_AND_HOLD"}
    assert previous["data"]["changes"] == {"name": "After Rename"}
    assert event_types(db, deal["id"]) == [
        "deal.created",
        "timeline.entry_added",
        "deal.updated",
        "timeline.entry_added",
        "deal.updated",
        "timeline.entry_added",
    ]
    assert outbox(db, deal["id"])[4][1]["changed"] == ["arv", "strategy"]


def test_update_without_a_change_writes_nothing(api: Api, db: Any) -> None:
    deal = create_deal(api, name="Same", purchasePrice="100000")
    before = stored_deal(db, deal["id"])
    for fields in ({}, {"name": "Same"}, {"purchasePrice": "100000.00"}):
        payload = deal_update(api, deal["id"], fields)
        assert payload["errors"] == []
        assert payload["deal"]["name"] == "Same"
    assert stored_deal(db, deal["id"]) == before


def test_update_merges_assumptions_into_the_saved_ones(api: Api, db: Any) -> None:
    deal = create_deal(api, strategy="BUY_AND_HOLD", purchasePrice="200000")
    first = deal_update(
        api, deal["id"], {"assumptions": {"monthlyRent": "2100", "vacancyRate": "0.05"}}
    )
    assert first["errors"] == []
    second = deal_update(
        api, deal["id"], {"assumptions": {"vacancyRate": "0.08", "loanTermMonths": 360}}
    )
    assert second["errors"] == []
    saved = {
        key.replace("_", "").lower(): value for key, value in second["deal"]["assumptions"].items()
    }
    assert {k: str(v) for k, v in saved.items()} == {
        "monthlyrent": "2100",
        "vacancyrate": "0.08",
        "loantermmonths": "360",
    }
    # The saved assumptions feed the analysis: 12 * 2100 rent with 8 % vacancy.
    analysis = run(
        api,
        """query($id: ID!) { deal(id: $id) {
             analysis { grossScheduledRent effectiveGrossIncome } } }""",
        {"id": deal["id"]},
    )["deal"]["analysis"]
    assert money(analysis["grossScheduledRent"]) == Decimal("25200")
    assert money(analysis["effectiveGrossIncome"]) == Decimal("23184")
    assert kinds(api, deal["id"]) == ["DEAL_UPDATED", "DEAL_UPDATED", "DEAL_CREATED"]


def test_assumptions_read_back_under_the_names_they_were_written_with(api: Api) -> None:
    deal = create_deal(api)
    payload = deal_update(api, deal["id"], {"assumptions": {"monthlyRent": "2100"}})
    assert payload["deal"]["assumptions"] == {"monthlyRent": "2100"}


def test_update_rejects_bad_values_and_changes_nothing(api: Api, db: Any) -> None:
    deal = create_deal(api, name="Keep", purchasePrice="100000")
    before = stored_deal(db, deal["id"])
    cases: list[tuple[dict[str, Any], list[tuple[str, tuple[str, ...]]]]] = [
        ({"purchasePrice": "-1"}, [("INVALID", ("input", "purchasePrice"))]),
        ({"arv": "1.234"}, [("INVALID", ("input", "arv"))]),
        ({"name": "z" * 201}, [("INVALID", ("input", "name"))]),
        ({"name": "Fine", "estimatedRepairs": "-3"}, [("INVALID", ("input", "estimatedRepairs"))]),
    ]
    for fields, expected in cases:
        payload = deal_update(api, deal["id"], fields)
        assert payload["deal"] is None
        assert error_fields(payload["errors"]) == expected, fields
    assert stored_deal(db, deal["id"]) == before


def test_update_rejects_bad_assumptions_at_their_paths(api: Api, db: Any) -> None:
    deal = create_deal(api)
    before = stored_deal(db, deal["id"])
    payload = deal_update(
        api,
        deal["id"],
        {"assumptions": {"vacancyRate": "1.5", "loanTermMonths": 0, "annualTaxes": "-1"}},
    )
    assert payload["deal"] is None
    assert error_fields(payload["errors"]) == [
        ("INVALID", ("input", "assumptions", "annualTaxes")),
        ("INVALID", ("input", "assumptions", "loanTermMonths")),
        ("INVALID", ("input", "assumptions", "vacancyRate")),
    ]
    assert stored_deal(db, deal["id"]) == before


def test_update_reports_every_problem_at_once(api: Api) -> None:
    deal = create_deal(api)
    payload = deal_update(
        api, deal["id"], {"purchasePrice": "-1", "assumptions": {"vacancyRate": "2"}}
    )
    assert error_fields(payload["errors"]) == [
        ("INVALID", ("input", "assumptions", "vacancyRate")),
        ("INVALID", ("input", "purchasePrice")),
    ]


def test_update_of_an_unknown_or_malformed_id(api: Api) -> None:
    unknown = deal_update(api, global_id("Deal", uuid.uuid4()), {"name": "x"})
    assert unknown["deal"] is None
    assert error_fields(unknown["errors"]) == [("NOT_FOUND", ("id",))]
    for bad in ("nope", global_id("Property", uuid.uuid4())):
        payload = deal_update(api, bad, {"name": "x"})
        assert error_fields(payload["errors"]) == [("INVALID", ("id",))]


# ---------------------------------------------------------------- deal, deals, Property.deals


def test_deal_by_id(api: Api) -> None:
    deal = create_deal(api)
    assert get_deal(api, deal["id"], user=VIEWER) == get_deal(api, deal["id"])
    assert get_deal(api, global_id("Deal", uuid.uuid4())) is None
    assert top_code(api.as_user(ADMIN, GET_DEAL, {"id": "garbage"})) == "BAD_USER_INPUT"
    node = run(
        api, "query($id: ID!) { node(id: $id) { id ... on Deal { name } } }", {"id": deal["id"]}
    )
    assert node["node"] == {"id": deal["id"], "name": deal["name"]}


def test_deals_filters_by_property_status_strategy_and_creation_time(api: Api) -> None:
    prop = new_property(api)
    pid = prop["id"]
    lead = create_deal(api, pid, strategy="FLIP")
    analyzing = create_deal(api, pid, strategy="BRRRR")
    drive(api, analyzing["id"], "ANALYZING")
    dead = create_deal(api, pid, strategy="WHOLESALE")
    drive(api, dead["id"], "DEAD")
    flip_analyzing = create_deal(api, pid, strategy="FLIP")
    drive(api, flip_analyzing["id"], "ANALYZING")
    newest_first = [flip_analyzing["id"], dead["id"], analyzing["id"], lead["id"]]

    def found(**filter: Any) -> list[str]:
        connection = list_deals(api, filter={"propertyId": pid, **filter}, first=100)
        assert connection["totalCount"] == len(connection["edges"])
        assert all(node["property"]["id"] == pid for node in nodes_of(connection))
        return ids_of(connection)

    def expect(*deals: dict) -> list[str]:
        wanted = {deal["id"] for deal in deals}
        return [deal_id for deal_id in newest_first if deal_id in wanted]

    assert found() == newest_first
    assert found(status=["ANALYZING"]) == expect(analyzing, flip_analyzing)
    assert found(status=["ANALYZING", "DEAD"]) == expect(analyzing, dead, flip_analyzing)
    assert found(status=["CLOSED"]) == []
    assert found(strategy=["FLIP"]) == expect(lead, flip_analyzing)
    assert found(strategy=["FLIP", "WHOLESALE"]) == expect(lead, dead, flip_analyzing)
    assert found(strategy=["FLIP"], status=["ANALYZING"]) == expect(flip_analyzing)

    created = [parse_time(deal["createdAt"]) for deal in (lead, analyzing, dead, flip_analyzing)]
    assert created == sorted(created) and len(set(created)) == 4
    between_2_and_3 = created[1] + (created[2] - created[1]) / 2
    assert found(createdFrom=iso(created[1])) == expect(analyzing, dead, flip_analyzing)
    assert found(createdTo=iso(between_2_and_3)) == expect(lead, analyzing)
    assert found(createdFrom=iso(created[1]), createdTo=iso(between_2_and_3)) == expect(analyzing)
    future = datetime.now(UTC) + timedelta(days=1)
    assert found(createdFrom=iso(future)) == []
    # Without a property filter the same filters apply across the tenant.
    everywhere = list_deals(api, filter={"createdFrom": iso(created[1])}, first=100)
    assert ids_of(everywhere)[:3] == expect(analyzing, dead, flip_analyzing)


def test_deals_are_newest_first_across_the_tenant(api: Api) -> None:
    mine = [create_deal(api) for _ in range(3)]
    connection = list_deals(api, first=3)
    assert ids_of(connection) == [deal["id"] for deal in reversed(mine)]
    created = [parse_time(node["createdAt"]) for node in nodes_of(list_deals(api, first=100))]
    assert created == sorted(created, reverse=True)


def test_deals_paging_visits_each_deal_once(api: Api) -> None:
    prop = new_property(api)
    made = [create_deal(api, prop["id"], name=f"Deal {n}")["id"] for n in range(5)]
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        connection = list_deals(api, filter={"propertyId": prop["id"]}, first=2, after=after)
        pages += 1
        assert connection["totalCount"] == 5
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert connection["pageInfo"]["startCursor"] == connection["edges"][0]["cursor"]
        assert connection["pageInfo"]["endCursor"] == connection["edges"][-1]["cursor"]
        seen += ids_of(connection)
        after = connection["pageInfo"]["endCursor"]
        if not connection["pageInfo"]["hasNextPage"]:
            break
    assert pages == 3
    assert seen == list(reversed(made))
    # Past the end: an empty page.
    empty = list_deals(api, filter={"propertyId": prop["id"]}, first=2, after=after)
    assert empty["edges"] == []
    assert empty["pageInfo"]["hasNextPage"] is False
    assert top_code(api.as_user(ADMIN, LIST_DEALS, {"after": "not-a-cursor"})) == "BAD_USER_INPUT"


def test_property_deals_lists_its_own_deals_newest_first_with_paging(api: Api) -> None:
    prop, neighbour = new_property(api), new_property(api)
    made = [create_deal(api, prop["id"])["id"] for _ in range(3)]
    next_door = create_deal(api, neighbour["id"])["id"]
    first = run(api, PROPERTY_DEALS, {"id": prop["id"], "first": 2})["property"]["deals"]
    assert first["totalCount"] == 3
    assert ids_of(first) == [made[2], made[1]]
    assert first["pageInfo"]["hasNextPage"] is True
    after = first["pageInfo"]["endCursor"]
    rest = run(api, PROPERTY_DEALS, {"id": prop["id"], "first": 2, "after": after})["property"]
    assert ids_of(rest["deals"]) == [made[0]]
    assert rest["deals"]["pageInfo"]["hasNextPage"] is False
    assert rest["deals"]["pageInfo"]["hasPreviousPage"] is True
    assert all(node["property"]["id"] == prop["id"] for node in nodes_of(first))
    # Two properties in one request each get their own deals.
    both = run(
        api,
        """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Property {
             id deals { totalCount edges { node { id } } } } } }""",
        {"ids": [prop["id"], neighbour["id"]]},
    )["nodes"]
    assert ids_of(both[0]["deals"]) == list(reversed(made))
    assert ids_of(both[1]["deals"]) == [next_door]
    assert both[1]["deals"]["totalCount"] == 1


# ---------------------------------------------------------------- the status machine


@pytest.mark.parametrize(
    ("source", "target"),
    [pytest.param(s, t, id=f"{s}->{t}") for s in STATUSES for t in STATUSES],
)
def test_status_change_follows_the_machine(
    api: Api, db: Any, shared_property: dict, source: str, target: str
) -> None:
    deal = create_deal(api, shared_property["id"])
    at_source = drive(api, deal["id"], source)
    assert at_source["allowedTransitions"] == ALLOWED[source]
    before = stored_deal(db, deal["id"])
    before_entries = entries(api, deal["id"])
    before_events = outbox(db, deal["id"])

    payload = change_status(api, deal["id"], target)
    if target in ALLOWED[source]:
        assert payload["errors"] == []
        moved = payload["deal"]
        assert moved["status"] == target
        assert moved["allowedTransitions"] == ALLOWED[target]
        assert parse_time(moved["statusChangedAt"]) >= parse_time(at_source["statusChangedAt"])
        assert get_deal(api, deal["id"])["status"] == target
        latest, *older = entries(api, deal["id"])
        assert older == before_entries
        assert latest["kind"] == "STATUS_CHANGED"
        assert latest["data"]["from"] == source and latest["data"]["to"] == target
        assert source in latest["message"] and target in latest["message"]
        assert latest["actor"]["email"] == ADMIN
        events = outbox(db, deal["id"])
        assert events[: len(before_events)] == before_events
        new = events[len(before_events) :]
        assert [event_type for event_type, _ in new] == [
            "deal.status_changed",
            "timeline.entry_added",
        ]
        assert new[0][1]["from"] == source and new[0][1]["to"] == target
        assert new[1][1]["entry_id"] == str(local_id(latest["id"]))
    else:
        assert payload["deal"] is None
        assert error_fields(payload["errors"]) == [("INVALID_TRANSITION", ("status",))]
        message = payload["errors"][0]["message"]
        for allowed in ALLOWED[source]:
            assert allowed in message, message
        assert get_deal(api, deal["id"])["status"] == source
        assert stored_deal(db, deal["id"]) == before
        assert entries(api, deal["id"]) == before_entries


def test_a_deal_runs_from_lead_to_closed_with_every_step_recorded(api: Api, db: Any) -> None:
    deal = create_deal(api)
    steps = PATH_TO["CLOSED"]
    for step in steps:
        moved = change_status(api, deal["id"], step, note=f"now {step.lower()}")["deal"]
        assert moved["allowedTransitions"] == ALLOWED[step]
    timeline = entries(api, deal["id"])
    assert [entry["kind"] for entry in timeline] == ["STATUS_CHANGED"] * 4 + ["DEAL_CREATED"]
    assert [entry["data"]["to"] for entry in timeline[:4]] == list(reversed(steps))
    assert [entry["data"]["note"] for entry in timeline[:4]] == [
        f"now {step.lower()}" for step in reversed(steps)
    ]
    assert all(f"now {entry['data']['to'].lower()}" in entry["message"] for entry in timeline[:4])
    changes = [p for kind, p in outbox(db, deal["id"]) if kind == "deal.status_changed"]
    assert [(p["from"], p["to"]) for p in changes] == [
        ("LEAD", "ANALYZING"),
        ("ANALYZING", "OFFER_MADE"),
        ("OFFER_MADE", "UNDER_CONTRACT"),
        ("UNDER_CONTRACT", "CLOSED"),
    ]
    assert get_deal(api, deal["id"])["allowedTransitions"] == []


def test_status_change_errors(api: Api, db: Any) -> None:
    deal = create_deal(api)
    before = stored_deal(db, deal["id"])
    too_long = change_status(api, deal["id"], "ANALYZING", note="n" * 2001)
    assert error_fields(too_long["errors"]) == [("INVALID", ("note",))]
    unknown = change_status(api, global_id("Deal", uuid.uuid4()), "ANALYZING")
    assert error_fields(unknown["errors"]) == [("NOT_FOUND", ("id",))]
    malformed = change_status(api, "xyz", "ANALYZING")
    assert error_fields(malformed["errors"]) == [("INVALID", ("id",))]
    assert stored_deal(db, deal["id"]) == before
    bad_enum = api.as_user(ADMIN, STATUS_CHANGE, {"id": deal["id"], "status": "WON"})
    assert top_code(bad_enum) in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED")
    assert stored_deal(db, deal["id"]) == before


def test_status_change_needs_deals_write(api: Api, db: Any) -> None:
    deal = create_deal(api)
    before = stored_deal(db, deal["id"])
    for user in (OPS, VIEWER):
        result = api.as_user(user, STATUS_CHANGE, {"id": deal["id"], "status": "ANALYZING"})
        assert top_code(result) == "FORBIDDEN"
    assert stored_deal(db, deal["id"]) == before
    moved = change_status(api, deal["id"], "ANALYZING", user=ANALYST)
    assert moved["deal"]["status"] == "ANALYZING"
    assert entries(api, deal["id"])[0]["actor"]["email"] == ANALYST


# ---------------------------------------------------------------- team


def team_of(deal: dict) -> dict[str, str]:
    """E-mail -> role of each team member."""
    return {member["user"]["email"]: member["role"] for member in deal["team"]}


def test_member_set_adds_and_changes_a_role(api: Api, db: Any) -> None:
    deal = create_deal(api)
    analyst = user_id(api, ANALYST)
    added = run(api, MEMBER_SET, {"dealId": deal["id"], "userId": analyst, "role": "ANALYST"})
    assert added["dealMemberSet"]["errors"] == []
    assert team_of(added["dealMemberSet"]["deal"]) == {ADMIN: "LEAD", ANALYST: "ANALYST"}

    changed = run(api, MEMBER_SET, {"dealId": deal["id"], "userId": analyst, "role": "UNDERWRITER"})
    assert changed["dealMemberSet"]["errors"] == []
    assert team_of(changed["dealMemberSet"]["deal"]) == {ADMIN: "LEAD", ANALYST: "UNDERWRITER"}
    assert team_of(get_deal(api, deal["id"])) == {ADMIN: "LEAD", ANALYST: "UNDERWRITER"}

    latest, previous, _ = entries(api, deal["id"])
    assert latest["kind"] == previous["kind"] == "MEMBER_ADDED"
    assert latest["data"] == {"user_id": str(local_id(analyst)), "role": "UNDERWRITER"}
    assert previous["data"]["role"] == "ANALYST"
    assert "UNDERWRITER" in latest["message"]
    assert event_types(db, deal["id"])[2:] == ["timeline.entry_added", "timeline.entry_added"]


def test_member_remove(api: Api, db: Any) -> None:
    deal = create_deal(api)
    underwriter = user_id(api, UNDERWRITER)
    run(api, MEMBER_SET, {"dealId": deal["id"], "userId": underwriter, "role": "UNDERWRITER"})
    removed = run(api, MEMBER_REMOVE, {"dealId": deal["id"], "userId": underwriter})
    assert removed["dealMemberRemove"]["errors"] == []
    assert team_of(removed["dealMemberRemove"]["deal"]) == {ADMIN: "LEAD"}
    latest = entries(api, deal["id"])[0]
    assert latest["kind"] == "MEMBER_REMOVED"
    assert latest["data"]["user_id"] == str(local_id(underwriter))
    assert latest["actor"]["email"] == ADMIN

    before = stored_deal(db, deal["id"])
    again = run(api, MEMBER_REMOVE, {"dealId": deal["id"], "userId": underwriter})
    assert again["dealMemberRemove"]["deal"] is None
    assert error_fields(again["dealMemberRemove"]["errors"]) == [("NOT_FOUND", ("userId",))]
    assert stored_deal(db, deal["id"]) == before


def test_member_errors_change_nothing(api: Api, db: Any) -> None:
    deal = create_deal(api)
    other_user = user_id(api, OTHER_ADMIN)
    before = stored_deal(db, deal["id"])
    foreign = run(api, MEMBER_SET, {"dealId": deal["id"], "userId": other_user, "role": "ANALYST"})
    assert foreign["dealMemberSet"]["deal"] is None
    assert error_fields(foreign["dealMemberSet"]["errors"]) == [("NOT_FOUND", ("userId",))]
    foreign_remove = run(api, MEMBER_REMOVE, {"dealId": deal["id"], "userId": other_user})
    assert error_fields(foreign_remove["dealMemberRemove"]["errors"]) == [
        ("NOT_FOUND", ("userId",))
    ]
    unknown_user = global_id("User", uuid.uuid4())
    unknown = run(api, MEMBER_SET, {"dealId": deal["id"], "userId": unknown_user, "role": "LEAD"})
    assert error_fields(unknown["dealMemberSet"]["errors"]) == [("NOT_FOUND", ("userId",))]
    no_deal = run(
        api,
        MEMBER_SET,
        {
            "dealId": global_id("Deal", uuid.uuid4()),
            "userId": user_id(api, ANALYST),
            "role": "LEAD",
        },
    )
    assert error_fields(no_deal["dealMemberSet"]["errors"]) == [("NOT_FOUND", ("dealId",))]
    malformed = run(api, MEMBER_SET, {"dealId": deal["id"], "userId": "nope", "role": "LEAD"})
    assert error_fields(malformed["dealMemberSet"]["errors"]) == [("INVALID", ("userId",))]
    result = api.as_user(
        VIEWER, MEMBER_SET, {"dealId": deal["id"], "userId": user_id(api, VIEWER), "role": "LEAD"}
    )
    assert top_code(result) == "FORBIDDEN"
    assert stored_deal(db, deal["id"]) == before
    assert team_of(get_deal(api, deal["id"])) == {ADMIN: "LEAD"}


# ---------------------------------------------------------------- timeline and comments


def test_every_change_is_on_the_timeline_with_actor_kind_message_data(api: Api, db: Any) -> None:
    deal = create_deal(api, purchasePrice="100000")
    deal_update(api, deal["id"], {"purchasePrice": "95000"})
    change_status(api, deal["id"], "ANALYZING", user=ANALYST)
    run(api, MEMBER_SET, {"dealId": deal["id"], "userId": user_id(api, OPS), "role": "OBSERVER"})
    run(api, COMMENT, {"dealId": deal["id"], "body": "Looks good"}, user=OPS)
    run(api, MEMBER_REMOVE, {"dealId": deal["id"], "userId": user_id(api, OPS)})

    timeline = entries(api, deal["id"])
    assert [entry["kind"] for entry in timeline] == [
        "MEMBER_REMOVED",
        "COMMENT",
        "MEMBER_ADDED",
        "STATUS_CHANGED",
        "DEAL_UPDATED",
        "DEAL_CREATED",
    ]
    assert [entry["actor"]["email"] for entry in timeline] == [
        ADMIN,
        OPS,
        ADMIN,
        ANALYST,
        ADMIN,
        ADMIN,
    ]
    for entry in timeline:
        assert entry["message"].strip()
        assert isinstance(entry["data"], dict)
        assert entry["deal"]["id"] == deal["id"]
        assert entry["createdAt"]
    created = [parse_time(entry["createdAt"]) for entry in timeline]
    assert created == sorted(created, reverse=True)
    assert [money(v) for v in timeline[4]["data"]["changes"].values()] == [Decimal("95000")]

    # Each entry has its timeline.entry_added event, in the same order.
    added = [p for kind, p in outbox(db, deal["id"]) if kind == "timeline.entry_added"]
    assert [p["entry_id"] for p in added] == [str(local_id(e["id"])) for e in reversed(timeline)]
    assert [p["kind"] for p in added] == [e["kind"] for e in reversed(timeline)]


def test_failed_mutations_leave_no_entry_and_no_event(api: Api, db: Any) -> None:
    deal = create_deal(api)
    before = stored_deal(db, deal["id"])
    before_entries = entries(api, deal["id"])
    assert change_status(api, deal["id"], "CLOSED")["errors"]
    assert deal_update(api, deal["id"], {"arv": "-1"})["errors"]
    assert run(api, COMMENT, {"dealId": deal["id"], "body": " "})["timelineCommentAdd"]["errors"]
    foreign = run(
        api,
        MEMBER_SET,
        {"dealId": deal["id"], "userId": user_id(api, OTHER_ADMIN), "role": "LEAD"},
    )
    assert foreign["dealMemberSet"]["errors"]
    offer = run(api, OFFER_SUBMIT, {"dealId": deal["id"], "input": {"amount": "100000"}})
    assert offer["offerSubmit"]["errors"]  # a LEAD deal takes no offers
    assert stored_deal(db, deal["id"]) == before
    assert entries(api, deal["id"]) == before_entries


def test_comment_mentions_only_users_of_the_tenant(api: Api, db: Any) -> None:
    deal = create_deal(api)
    body = (
        "@analyst@reos.dev please check the comps; cc @Underwriter@REOS.dev, "
        "@other@reos.dev and @nobody@reos.dev. Mail analyst@reos.dev twice: @analyst@reos.dev"
    )
    payload = run(api, COMMENT, {"dealId": deal["id"], "body": body}, user=ANALYST)
    result = payload["timelineCommentAdd"]
    assert result["errors"] == []
    entry = result["entry"]
    assert entry["kind"] == "COMMENT"
    assert entry["message"] == body
    assert entry["data"]["body"] == body
    assert entry["actor"]["email"] == ANALYST
    assert sorted(user["email"] for user in entry["mentions"]) == [ANALYST, UNDERWRITER]
    assert entries(api, deal["id"])[0] == entry

    (_, added) = outbox(db, deal["id"])[-1]
    assert added["entry_id"] == str(local_id(entry["id"]))
    assert sorted(added["mentions"]) == sorted(
        str(local_id(user_id(api, email))) for email in (ANALYST, UNDERWRITER)
    )
    # No mention leaks the other tenant's user or an unknown address.
    other = run(api, COMMENT, {"dealId": deal["id"], "body": "ping @other@reos.dev"})
    assert other["timelineCommentAdd"]["entry"]["mentions"] == []
    assert outbox(db, deal["id"])[-1][1]["mentions"] == []


def test_comment_body_limits(api: Api, db: Any) -> None:
    deal = create_deal(api)
    longest = "w" * 5000
    ok = run(api, COMMENT, {"dealId": deal["id"], "body": longest})["timelineCommentAdd"]
    assert ok["errors"] == [] and ok["entry"]["message"] == longest
    trimmed = run(api, COMMENT, {"dealId": deal["id"], "body": "  hi  "})["timelineCommentAdd"]
    assert trimmed["entry"]["message"] == "hi"
    before = stored_deal(db, deal["id"])
    for body in ("", "   \n\t ", "w" * 5001):
        payload = run(api, COMMENT, {"dealId": deal["id"], "body": body})["timelineCommentAdd"]
        assert payload["entry"] is None
        assert error_fields(payload["errors"]) == [("INVALID", ("body",))]
    unknown = run(api, COMMENT, {"dealId": global_id("Deal", uuid.uuid4()), "body": "hi"})
    assert error_fields(unknown["timelineCommentAdd"]["errors"]) == [("NOT_FOUND", ("dealId",))]
    assert stored_deal(db, deal["id"]) == before


def test_comments_need_timeline_comment(api: Api, db: Any) -> None:
    deal = create_deal(api)
    before = stored_deal(db, deal["id"])
    result = api.as_user(VIEWER, COMMENT, {"dealId": deal["id"], "body": "can I?"})
    assert top_code(result) == "FORBIDDEN"
    assert result["data"] is None
    assert stored_deal(db, deal["id"]) == before
    for user in (ANALYST, UNDERWRITER, OPS):
        payload = run(api, COMMENT, {"dealId": deal["id"], "body": f"from {user}"}, user=user)
        assert payload["timelineCommentAdd"]["errors"] == []


def test_timeline_pages_newest_first_and_visits_every_entry_once(api: Api, db: Any) -> None:
    deal = create_deal(api)
    for n in range(7):
        run(api, COMMENT, {"dealId": deal["id"], "body": f"comment {n}"})
    full = entries(api, deal["id"])
    assert len(full) == 8
    assert [entry["message"] for entry in full[:7]] == [f"comment {n}" for n in range(6, -1, -1)]
    assert full[7]["kind"] == "DEAL_CREATED"

    seen: list[dict] = []
    after = None
    while True:
        connection = timeline_page(api, deal["id"], first=3, after=after)
        assert connection["totalCount"] == 8
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert connection["pageInfo"]["endCursor"] == connection["edges"][-1]["cursor"]
        seen += nodes_of(connection)
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == full
    assert len({entry["id"] for entry in seen}) == 8

    default = timeline_page(api, deal["id"])
    assert len(default["edges"]) == 8
    bad = api.as_user(ADMIN, TIMELINE, {"id": deal["id"], "after": "zzz"})
    assert top_code(bad) == "BAD_USER_INPUT"

    added = {p["entry_id"] for kind, p in outbox(db, deal["id"]) if kind == "timeline.entry_added"}
    assert added == {str(local_id(entry["id"])) for entry in full}


def test_timeline_entries_resolve_as_nodes(api: Api) -> None:
    deal = create_deal(api)
    entry = run(api, COMMENT, {"dealId": deal["id"], "body": "node me"})["timelineCommentAdd"]
    found = run(
        api,
        """query($id: ID!) { node(id: $id) {
             id ... on TimelineEntry { kind message deal { id } } } }""",
        {"id": entry["entry"]["id"]},
        user=VIEWER,
    )["node"]
    assert found == {
        "id": entry["entry"]["id"],
        "kind": "COMMENT",
        "message": "node me",
        "deal": {"id": deal["id"]},
    }


# ---------------------------------------------------------------- tenant isolation


def demo_deal_with_everything(api: Api) -> tuple[dict, str, str]:
    """A Demo deal in OFFER_MADE with a pending offer and a comment: (deal, offer id, entry id)."""
    deal = deal_at(api, "ANALYZING", name="Demo secret deal")
    offer = run(api, OFFER_SUBMIT, {"dealId": deal["id"], "input": {"amount": "123456"}})
    assert offer["offerSubmit"]["errors"] == []
    comment = run(api, COMMENT, {"dealId": deal["id"], "body": "secret note"})
    return deal, offer["offerSubmit"]["offer"]["id"], comment["timelineCommentAdd"]["entry"]["id"]


def test_the_other_tenant_cannot_read_demo_deals_offers_or_entries(api: Api) -> None:
    deal, offer_id, entry_id = demo_deal_with_everything(api)
    assert get_deal(api, deal["id"], user=OTHER_ADMIN) is None
    node = "query($id: ID!) { node(id: $id) { id } }"
    for gid in (deal["id"], offer_id, entry_id):
        assert run(api, node, {"id": gid}, user=OTHER_ADMIN)["node"] is None
        assert run(api, node, {"id": gid})["node"] == {"id": gid}
    nodes = run(
        api,
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": [deal["id"], offer_id, entry_id]},
        user=OTHER_ADMIN,
    )["nodes"]
    assert nodes == [None, None, None]
    by_property = list_deals(
        api, user=OTHER_ADMIN, filter={"propertyId": deal["property"]["id"]}, first=100
    )
    assert by_property["totalCount"] == 0 and by_property["edges"] == []
    theirs = list_deals(api, user=OTHER_ADMIN, first=100)
    assert deal["id"] not in ids_of(theirs)
    assert run(api, PROPERTY_DEALS, {"id": deal["property"]["id"]}, user=OTHER_ADMIN) == {
        "property": None
    }


def test_the_other_tenant_cannot_change_demo_deals(api: Api, db: Any) -> None:
    deal, offer_id, _ = demo_deal_with_everything(api)
    before = stored_deal(db, deal["id"])
    their_user = user_id(api, OTHER_ADMIN)
    attempts: list[tuple[str, dict[str, Any], str, tuple[str, ...]]] = [
        (DEAL_UPDATE, {"id": deal["id"], "input": {"name": "pwned"}}, "dealUpdate", ("id",)),
        (STATUS_CHANGE, {"id": deal["id"], "status": "DEAD"}, "dealStatusChange", ("id",)),
        (
            OFFER_SUBMIT,
            {"dealId": deal["id"], "input": {"amount": "1"}},
            "offerSubmit",
            ("dealId",),
        ),
        (OFFER_RESPOND, {"id": offer_id, "action": "ACCEPT"}, "offerRespond", ("id",)),
        (OFFER_RESPOND, {"id": offer_id, "action": "WITHDRAW"}, "offerRespond", ("id",)),
        (COMMENT, {"dealId": deal["id"], "body": "hello"}, "timelineCommentAdd", ("dealId",)),
        (
            MEMBER_SET,
            {"dealId": deal["id"], "userId": their_user, "role": "LEAD"},
            "dealMemberSet",
            ("dealId",),
        ),
        (
            MEMBER_REMOVE,
            {"dealId": deal["id"], "userId": user_id(api, ADMIN)},
            "dealMemberRemove",
            ("dealId",),
        ),
        (
            DEAL_CREATE,
            {"input": {"propertyId": deal["property"]["id"], "strategy": "FLIP"}},
            "dealCreate",
            ("input", "propertyId"),
        ),
    ]
    for query, variables, name, path in attempts:
        payload = run(api, query, variables, user=OTHER_ADMIN)[name]
        assert error_fields(payload["errors"]) == [("NOT_FOUND", path)], (name, payload)
        assert all(value is None for key, value in payload.items() if key != "errors"), payload
    assert stored_deal(db, deal["id"]) == before
    after = get_deal(api, deal["id"])
    assert after["name"] == "Demo secret deal" and after["status"] == "OFFER_MADE"
    offers = db("SELECT status FROM offers WHERE deal_id = $1", local_id(deal["id"]))
    assert [row[0] for row in offers] == ["PENDING"]
    on_property = db(
        "SELECT id FROM deals WHERE property_id = $1", local_id(deal["property"]["id"])
    )
    assert [row[0] for row in on_property] == [local_id(deal["id"])]


def test_nested_fields_of_the_other_tenants_objects_never_show_demo_rows(api: Api) -> None:
    deal, _, _ = demo_deal_with_everything(api)
    demo_property = run(
        api,
        """query($id: ID!) { property(id: $id) { address {
             unparsedAddress streetNumber streetName city stateOrProvince postalCode } } }""",
        {"id": deal["property"]["id"]},
    )["property"]
    address = {k: v for k, v in demo_property["address"].items() if k != "unparsedAddress"}
    intake = run(
        api,
        """mutation($input: PropertyIntakeInput!) { propertyIntake(input: $input) {
             property { id deals { totalCount edges { node { id } } } }
             created errors { code } } }""",
        {"input": {"source": "MLS", "property": {"address": address}}},
        user=OTHER_ADMIN,
    )["propertyIntake"]
    assert intake["errors"] == []
    assert intake["created"] is True
    their_property = intake["property"]
    assert their_property["id"] != deal["property"]["id"]
    assert their_property["deals"] == {"totalCount": 0, "edges": []}

    theirs = create_deal(api, their_property["id"], user=OTHER_ADMIN, name="Their deal")
    assert theirs["property"]["id"] == their_property["id"]
    assert [m["user"]["email"] for m in theirs["team"]] == [OTHER_ADMIN]
    # Demo users are not theirs to add or mention.
    foreign = run(
        api,
        MEMBER_SET,
        {"dealId": theirs["id"], "userId": user_id(api, ANALYST), "role": "ANALYST"},
        user=OTHER_ADMIN,
    )["dealMemberSet"]
    assert error_fields(foreign["errors"]) == [("NOT_FOUND", ("userId",))]
    comment = run(
        api, COMMENT, {"dealId": theirs["id"], "body": "hi @demo@reos.dev"}, user=OTHER_ADMIN
    )["timelineCommentAdd"]
    assert comment["entry"]["mentions"] == []

    nested = run(
        api,
        """query($id: ID!) { deal(id: $id) {
             team { user { email tenant { name } } }
             offers { id }
             timeline(first: 100) { totalCount edges { node { actor { email } deal { id } } } }
             property { id deals(first: 100) { totalCount edges { node { id } } } }
           } }""",
        {"id": theirs["id"]},
        user=OTHER_ADMIN,
    )["deal"]
    assert nested["team"] == [{"user": {"email": OTHER_ADMIN, "tenant": {"name": "Other Fund"}}}]
    assert nested["offers"] == []
    assert nested["timeline"]["totalCount"] == 2
    assert {e["node"]["actor"]["email"] for e in nested["timeline"]["edges"]} == {OTHER_ADMIN}
    assert {e["node"]["deal"]["id"] for e in nested["timeline"]["edges"]} == {theirs["id"]}
    assert nested["property"]["id"] == their_property["id"]
    assert ids_of(nested["property"]["deals"]) == [theirs["id"]]
    assert nested["property"]["deals"]["totalCount"] == 1
    # And the Demo property still only shows Demo's deal.
    demo_side = run(api, PROPERTY_DEALS, {"id": deal["property"]["id"]})["property"]["deals"]
    assert ids_of(demo_side) == [deal["id"]]
