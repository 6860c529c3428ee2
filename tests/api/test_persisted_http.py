"""Persisted queries over HTTP: APQ round trips, trusted documents and partner API keys."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from starlette.testclient import TestClient

from tests.conftest import Api

DEMO = "demo@reos.dev"
OTHER = "other@reos.dev"
PROPERTIES = (
    "query Listings { properties(first: 100) "
    "{ totalCount edges { node { id address { city } } } } }"
)
ONE_PROPERTY = "query OneProperty($id: ID!) { property(id: $id) { id address { city } } }"
FREE_FORM = "{ properties(first: 1) { totalCount } }"


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def apq(document_hash: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": document_hash}}


def code_of(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


def test_apq_miss_register_then_hit_over_get(client: TestClient, api: Api) -> None:
    document = "query MyEmail" + uuid.uuid4().hex[:8] + " { me { email } }"
    digest = sha256(document)
    auth = {"Authorization": f"Bearer {api.token(DEMO)}"}
    params = {"extensions": json.dumps(apq(digest))}

    miss = client.get("/graphql", params=params, headers=auth)
    assert miss.status_code == 200
    assert code_of(miss) == "PERSISTED_QUERY_NOT_FOUND"

    registered = client.post(
        "/graphql", json={"query": document, "extensions": apq(digest)}, headers=auth
    )
    assert registered.json() == {"data": {"me": {"email": DEMO}}}

    hit = client.get("/graphql", params=params, headers=auth)
    assert hit.status_code == 200
    assert hit.json() == {"data": {"me": {"email": DEMO}}}
    assert hit.headers["cache-control"] == "private, no-store"

    relay_style = client.post("/graphql", json={"documentId": f"sha256:{digest}"}, headers=auth)
    assert relay_style.json() == {"data": {"me": {"email": DEMO}}}

    other_tenant = client.get(
        "/graphql", params=params, headers={"Authorization": f"Bearer {api.token(OTHER)}"}
    )
    assert code_of(other_tenant) == "PERSISTED_QUERY_NOT_FOUND"


def test_a_hash_that_does_not_match_its_document_is_refused(client: TestClient) -> None:
    response = client.post(
        "/graphql",
        json={"query": "{ __typename }", "extensions": apq(sha256("{ me { id } }"))},
    )
    assert response.status_code == 400
    assert code_of(response) == "BAD_USER_INPUT"


@pytest.fixture(scope="module")
def partner_keys(api: Api) -> dict:
    """A manifest for tenant A and two keys: persisted-only and free-form allowed."""
    manifest = {sha256(PROPERTIES): PROPERTIES, sha256(ONE_PROPERTY): ONE_PROPERTY}
    name = "partner-" + uuid.uuid4().hex[:8]
    registered = api.as_user(
        DEMO,
        """mutation($input: PersistedManifestRegisterInput!) {
             persistedManifestRegister(input: $input) { manifest { id } errors { code message } }
           }""",
        {"input": {"name": name, "manifest": manifest}},
    )["data"]["persistedManifestRegister"]
    assert registered["errors"] == []
    keys = {}
    for label, persisted_only in (("strict", True), ("open", False)):
        created = api.as_user(
            DEMO,
            """mutation($input: PartnerApiKeyCreateInput!) {
                 partnerApiKeyCreate(input: $input) { apiKey errors { code message } }
               }""",
            {
                "input": {
                    "name": f"{name}-{label}",
                    "role": "VIEWER",
                    "manifestId": registered["manifest"]["id"],
                    "persistedOnly": persisted_only,
                }
            },
        )["data"]["partnerApiKeyCreate"]
        assert created["errors"] == []
        keys[label] = created["apiKey"]
    return keys


def test_a_persisted_only_key_is_refused_free_form_and_served_registered(
    client: TestClient, partner_keys: dict
) -> None:
    key = {"X-API-Key": partner_keys["strict"]}
    free_form = client.post("/graphql", json={"query": FREE_FORM}, headers=key)
    assert free_form.status_code == 400
    assert code_of(free_form) == "PERSISTED_QUERY_REQUIRED"

    by_id = client.post("/graphql", json={"documentId": sha256(PROPERTIES)}, headers=key)
    assert by_id.status_code == 200, by_id.text
    assert "data" in by_id.json(), by_id.text
    listing = by_id.json()["data"]["properties"]
    assert listing["totalCount"] > 0

    over_get = client.get(
        "/graphql", params={"extensions": json.dumps(apq(sha256(PROPERTIES)))}, headers=key
    )
    assert over_get.json() == by_id.json()

    unknown = client.post("/graphql", json={"documentId": sha256(FREE_FORM)}, headers=key)
    assert code_of(unknown) == "PERSISTED_QUERY_NOT_FOUND"
    registering = client.post(
        "/graphql", json={"query": FREE_FORM, "extensions": apq(sha256(FREE_FORM))}, headers=key
    )
    assert code_of(registering) == "PERSISTED_QUERY_REQUIRED"


def test_a_partner_key_reads_only_its_own_tenant(
    client: TestClient, api: Api, partner_keys: dict
) -> None:
    theirs = api.as_user(OTHER, "{ properties(first: 1) { edges { node { id } } } }")
    foreign_id = theirs["data"]["properties"]["edges"][0]["node"]["id"]
    key = {"X-API-Key": partner_keys["strict"]}
    foreign = client.post(
        "/graphql",
        json={"documentId": sha256(ONE_PROPERTY), "variables": {"id": foreign_id}},
        headers=key,
    )
    assert foreign.json()["data"] == {"property": None}
    mine = client.post("/graphql", json={"documentId": sha256(PROPERTIES)}, headers=key).json()
    their_ids = {
        edge["node"]["id"] for edge in api.as_user(OTHER, PROPERTIES)["data"]["properties"]["edges"]
    }
    assert their_ids.isdisjoint({e["node"]["id"] for e in mine["data"]["properties"]["edges"]})


def test_an_open_key_runs_free_form_documents_with_its_role(
    client: TestClient, partner_keys: dict
) -> None:
    key = {"X-API-Key": partner_keys["open"]}
    read = client.post("/graphql", json={"query": FREE_FORM}, headers=key).json()
    assert read["data"]["properties"]["totalCount"] > 0
    property_id = read_id(client, key)
    write = client.post(
        "/graphql",
        json={
            "query": """mutation($p: ID!) { dealCreate(input: {propertyId: $p, strategy: FLIP}) {
                          deal { id } errors { code } } }""",
            "variables": {"p": property_id},
        },
        headers=key,
    ).json()
    assert write["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # the key's role: VIEWER


def read_id(client: TestClient, key: dict) -> str:
    query = "{ properties(first: 1) { edges { node { id } } } }"
    body = client.post("/graphql", json={"query": query}, headers=key).json()
    return body["data"]["properties"]["edges"][0]["node"]["id"]


def test_bad_or_doubled_credentials_are_refused(client: TestClient, api: Api) -> None:
    bad = client.post("/graphql", json={"query": FREE_FORM}, headers={"X-API-Key": "reos_pk_x"})
    assert bad.status_code == 401
    assert code_of(bad) == "UNAUTHENTICATED"
    both = client.post(
        "/graphql",
        json={"query": FREE_FORM},
        headers={"X-API-Key": "reos_pk_x", "Authorization": f"Bearer {api.token(DEMO)}"},
    )
    assert both.status_code == 400
    assert code_of(both) == "BAD_REQUEST"
