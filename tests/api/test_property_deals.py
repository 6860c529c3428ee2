"""A property and its deals: the deals show on the property, and it cannot vanish under them."""

from __future__ import annotations

import uuid

from tests.conftest import Api

ADMIN = "demo@reos.dev"


def new_property(api: Api) -> str:
    tag = uuid.uuid4().hex[:8]
    result = api.as_user(
        ADMIN,
        """mutation($a: AddressInput!) { propertyCreate(input: {address: $a}) {
             property { id } errors { code } } }""",
        {"a": {"unparsedAddress": f"7 {tag} Lane", "city": "Austin", "stateOrProvince": "TX"}},
    )
    return result["data"]["propertyCreate"]["property"]["id"]


def test_property_lists_its_deals_and_cannot_be_deleted_while_it_has_them(api: Api) -> None:
    property_id = new_property(api)
    deal = api.as_user(
        ADMIN,
        """mutation($p: ID!) { dealCreate(input: {propertyId: $p, strategy: FLIP, name: "Flip A"}) {
             deal { id } errors { code } } }""",
        {"p": property_id},
    )["data"]["dealCreate"]["deal"]
    listed = api.as_user(
        ADMIN,
        "query($p: ID!) { property(id: $p) { deals { totalCount edges { node { id name } } } } }",
        {"p": property_id},
    )["data"]["property"]["deals"]
    assert listed == {"totalCount": 1, "edges": [{"node": {"id": deal["id"], "name": "Flip A"}}]}

    deleted = api.as_user(
        ADMIN,
        "mutation($p: ID!) { propertyDelete(id: $p) { deletedId errors { code field } } }",
        {"p": property_id},
    )["data"]["propertyDelete"]
    assert deleted == {"deletedId": None, "errors": [{"code": "CONFLICT", "field": ["id"]}]}
    still_there = api.as_user(
        ADMIN, "query($p: ID!) { property(id: $p) { id } }", {"p": property_id}
    )
    assert still_there["data"]["property"] == {"id": property_id}
