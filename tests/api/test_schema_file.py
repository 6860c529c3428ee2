"""schema.graphql is the contract clients generate code from: it must match the served schema."""

from __future__ import annotations

from pathlib import Path

from schema.root import build_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_file_matches_the_schema() -> None:
    exported = build_schema().as_str() + "\n"
    assert SCHEMA_FILE.read_text() == exported, "run `make schema` and commit schema.graphql"


def test_contract_names_exist() -> None:
    sdl = SCHEMA_FILE.read_text()
    for name in (
        "interface Node",
        "node(id: ID!): Node",
        "nodes(ids: [ID!]!): [Node]!",
        "login(email: String!, password: String!): AuthPayload!",
        "tokenRefresh(refreshToken: String!): AuthPayload!",
        "logout(refreshToken: String!): LogoutPayload!",
        "me: User",
        "userCreate(input: UserCreateInput!): UserCreatePayload!",
        "property(id: ID!): Property",
        "propertyCreate(input: PropertyInput!): PropertyPayload!",
        "propertyUpdate(id: ID!, input: PropertyInput!): PropertyPayload!",
        "propertyDelete(id: ID!): PropertyDeletePayload!",
        "propertyIntake(input: PropertyIntakeInput!): PropertyIntakePayload!",
        "ACTIVE_UNDER_CONTRACT",
        "RESIDENTIAL_INCOME",
    ):
        assert name in sdl, name
