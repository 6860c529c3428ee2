"""Tenant isolation through every path: by ID, node, nodes, list filters, writes, intake."""

from __future__ import annotations

import pytest

from tests.conftest import Api

DEMO = "demo@reos.dev"
OTHER = "other@reos.dev"

FIRST_AUSTIN = """{ properties(first: 1, filter: {city: "Austin"}, orderBy: {field: LIST_PRICE}) {
  edges { node { id listingId parcelNumber listPrice
    address { unparsedAddress streetNumber streetName city stateOrProvince postalCode
              countyOrParish }
  } } } }"""


@pytest.fixture(scope="module")
def demo_property(api: Api) -> dict:
    return api.as_user(DEMO, FIRST_AUSTIN)["data"]["properties"]["edges"][0]["node"]


def test_other_tenant_cannot_read_by_id_node_or_nodes(api: Api, demo_property: dict) -> None:
    pid = demo_property["id"]
    assert api.as_user(DEMO, "query($id: ID!) { property(id: $id) { id } }", {"id": pid})["data"][
        "property"
    ] == {"id": pid}
    data = api.as_user(
        OTHER,
        """query($id: ID!) { property(id: $id) { id } node(id: $id) { id }
                              nodes(ids: [$id, $id]) { id } }""",
        {"id": pid},
    )["data"]
    assert data == {"property": None, "node": None, "nodes": [None, None]}


def test_other_tenant_lists_never_show_foreign_rows(api: Api, demo_property: dict) -> None:
    listing = demo_property["listingId"]
    query = """query($f: PropertyFilter) { properties(filter: $f, first: 100) {
      totalCount edges { node { id listingId } } } }"""
    mine = api.as_user(DEMO, query, {"f": {"text": listing}})["data"]["properties"]
    assert [e["node"]["listingId"] for e in mine["edges"]] == [listing]
    theirs = api.as_user(OTHER, query, {"f": {"text": listing}})["data"]["properties"]
    assert theirs == {"totalCount": 0, "edges": []}
    everything = api.as_user(OTHER, query, {"f": None})["data"]["properties"]
    demo_ids = {
        e["node"]["id"]
        for e in api.as_user(DEMO, query, {"f": None})["data"]["properties"]["edges"]
    }
    assert not demo_ids & {e["node"]["id"] for e in everything["edges"]}


def test_other_tenant_cannot_update_or_delete(api: Api, demo_property: dict) -> None:
    pid = demo_property["id"]
    update = api.as_user(
        OTHER,
        """mutation($id: ID!) { propertyUpdate(id: $id, input: {listPrice: "1.00"}) {
             property { id } errors { code field } } }""",
        {"id": pid},
    )["data"]["propertyUpdate"]
    assert update == {"property": None, "errors": [{"code": "NOT_FOUND", "field": ["id"]}]}
    delete = api.as_user(
        OTHER,
        "mutation($id: ID!) { propertyDelete(id: $id) { deletedId errors { code } } }",
        {"id": pid},
    )["data"]["propertyDelete"]
    assert delete == {"deletedId": None, "errors": [{"code": "NOT_FOUND"}]}
    after = api.as_user(DEMO, FIRST_AUSTIN)["data"]["properties"]["edges"][0]["node"]
    assert after == demo_property


def test_intake_never_collides_across_tenants(api: Api, demo_property: dict) -> None:
    address = demo_property["address"]
    intake = """mutation($input: PropertyIntakeInput!) { propertyIntake(input: $input) {
      created property { id listPrice } errors { code } } }"""
    variables = {
        "input": {
            "source": "MLS",
            "property": {
                "parcelNumber": demo_property["parcelNumber"],
                "listPrice": "99.00",
                "address": {
                    "streetNumber": address["streetNumber"],
                    "streetName": address["streetName"],
                    "city": address["city"],
                    "stateOrProvince": address["stateOrProvince"],
                    "countyOrParish": address["countyOrParish"],
                },
            },
        }
    }
    theirs = api.as_user(OTHER, intake, variables)["data"]["propertyIntake"]
    assert theirs["errors"] == []
    assert theirs["created"] is True
    assert theirs["property"]["id"] != demo_property["id"]
    after = api.as_user(DEMO, FIRST_AUSTIN)["data"]["properties"]["edges"][0]["node"]
    assert after["listPrice"] == demo_property["listPrice"]


def test_users_and_tenants_of_another_tenant_are_invisible(api: Api) -> None:
    other_me = api.as_user(OTHER, "{ me { id tenant { id } } }")["data"]["me"]
    result = api.as_user(
        DEMO,
        "query($u: ID!, $t: ID!) { user: node(id: $u) { id } tenant: node(id: $t) { id } }",
        {"u": other_me["id"], "t": other_me["tenant"]["id"]},
    )
    assert result["data"] == {"user": None, "tenant": None}
