"""GraphQL over HTTP against a running server process: the calls the process tests share."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.processes import ServerProcess

LOGIN = """mutation($e: String!, $p: String!) {
  login(email: $e, password: $p) { accessToken errors { code } } }"""
PROPERTY_CREATE = """mutation($input: PropertyInput!) {
  propertyCreate(input: $input) { property { id } errors { code } } }"""
DEAL_CREATE = """mutation($input: DealCreateInput!) {
  dealCreate(input: $input) { deal { id } errors { code } } }"""


def graphql(
    server: ServerProcess, query: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    """The `data` of a GraphQL POST that must not fail at the top level."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        server.graphql_url,
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=10,
    )
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]


def login(server: ServerProcess, email: str, password: str) -> str:
    """An access token through the `login` mutation (which must succeed)."""
    result = graphql(server, LOGIN, {"e": email, "p": password})["login"]
    assert result["errors"] == [] and result["accessToken"], result
    return result["accessToken"]


def new_deal(server: ServerProcess, token: str) -> str:
    """A new deal of the token's tenant on a new property (its timeline holds only what the
    test posts)."""
    address = {
        "streetNumber": "7",
        "streetName": f"E2e {uuid.uuid4().hex[:10]} Street",
        "city": "Austin",
        "stateOrProvince": "TX",
        "postalCode": "78701",
    }
    fields = {"address": address, "propertyType": "RESIDENTIAL", "listPrice": "300000"}
    created = graphql(server, PROPERTY_CREATE, {"input": fields}, token)["propertyCreate"]
    assert created["errors"] == [], created
    deal_input = {"propertyId": created["property"]["id"], "strategy": "FLIP"}
    deal = graphql(server, DEAL_CREATE, {"input": deal_input}, token)["dealCreate"]
    assert deal["errors"] == [], deal
    return deal["deal"]["id"]
