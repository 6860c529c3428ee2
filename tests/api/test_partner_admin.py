"""ADMIN management of persisted-query manifests and partner API keys, over HTTP."""

from __future__ import annotations

import hashlib
from uuid import uuid4

from tests.conftest import Api

ADMIN = "demo@reos.dev"
ANALYST = "analyst@reos.dev"
OTHER_ADMIN = "other@reos.dev"

MANIFEST_FIELDS = "id name documentCount createdAt"
KEY_FIELDS = (
    f"id name prefix role persistedOnly createdAt revokedAt manifest {{ {MANIFEST_FIELDS} }}"
)

REGISTER = f"""mutation($input: PersistedManifestRegisterInput!) {{
  persistedManifestRegister(input: $input) {{
    manifest {{ {MANIFEST_FIELDS} }} documentsAdded errors {{ field message code }}
  }}
}}"""
KEY_CREATE = f"""mutation($input: PartnerApiKeyCreateInput!) {{
  partnerApiKeyCreate(input: $input) {{
    apiKey key {{ {KEY_FIELDS} }} errors {{ field message code }}
  }}
}}"""
KEY_REVOKE = f"""mutation($id: ID!) {{
  partnerApiKeyRevoke(id: $id) {{ key {{ {KEY_FIELDS} }} errors {{ field message code }} }}
}}"""
PAGE = "(first: 100) {{ totalCount edges {{ node {{ {} }} }} }}"
MANIFESTS = "{ persistedManifests" + PAGE.format(MANIFEST_FIELDS) + " }"
KEYS = "{ partnerApiKeys" + PAGE.format(KEY_FIELDS) + " }"


def sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def documents(*texts: str) -> dict[str, str]:
    return {sha(text): text for text in texts}


def top_code(result: dict) -> str | None:
    errors = result.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


def register(api: Api, name: str, manifest: object, email: str = ADMIN) -> dict:
    result = api.as_user(email, REGISTER, {"input": {"name": name, "manifest": manifest}})
    assert "errors" not in result, result
    return result["data"]["persistedManifestRegister"]


def test_register_a_manifest_then_add_to_it(api: Api, db) -> None:
    name = f"mobile-{uuid4().hex[:8]}"
    me = "query Me { me { id } }"
    first = register(api, name, documents(me, "query P { properties { totalCount } }"))
    assert first["errors"] == []
    assert first["manifest"]["name"] == name
    assert first["manifest"]["documentCount"] == 2 and first["documentsAdded"] == 2
    apollo = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": sha(me), "body": me, "name": "Me", "type": "query"},
            {
                "id": sha("query D { deals { totalCount } }"),
                "body": "query D { deals { totalCount } }",
                "name": "D",
                "type": "query",
            },
        ],
    }
    again = register(api, name, apollo)
    assert again["errors"] == []
    assert again["manifest"]["id"] == first["manifest"]["id"]
    assert again["manifest"]["documentCount"] == 3 and again["documentsAdded"] == 1
    stored = db(
        """SELECT d.sha256, d.document FROM persisted_documents d
           JOIN persisted_manifests m ON m.id = d.manifest_id WHERE m.name = $1""",
        name,
    )
    assert {row[0]: row[1] for row in stored}[sha(me)] == me
    listed = api.as_user(ADMIN, MANIFESTS)["data"]["persistedManifests"]
    assert name in [edge["node"]["name"] for edge in listed["edges"]]
    # Another tenant's admin sees none of it.
    theirs = api.as_user(OTHER_ADMIN, MANIFESTS)["data"]["persistedManifests"]
    assert name not in [edge["node"]["name"] for edge in theirs["edges"]]


def test_a_bad_manifest_is_a_user_error_and_writes_nothing(api: Api, db) -> None:
    name = f"bad-{uuid4().hex[:8]}"
    good = f"query Me {{ me {{ id }} }} # {uuid4().hex}"
    wrong_id = sha("something else")
    result = register(api, name, {sha(good): good, wrong_id: "query X { me { id } }"})
    assert result["manifest"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [
        ("INVALID", ["input", "manifest"])
    ]
    assert wrong_id in result["errors"][0]["message"]
    broken = "query { me { id "
    unparsable = register(api, name, {sha(broken): broken})
    assert unparsable["errors"][0]["code"] == "INVALID"
    assert "not valid GraphQL" in unparsable["errors"][0]["message"]
    not_an_object = register(api, name, ["query { me { id } }"])
    assert not_an_object["errors"][0]["code"] == "INVALID"
    assert db("SELECT count(*) FROM persisted_manifests WHERE name = $1", name)[0][0] == 0
    assert db("SELECT count(*) FROM persisted_documents WHERE sha256 = $1", sha(good))[0][0] == 0


def test_create_list_and_revoke_a_key(api: Api, db) -> None:
    manifest = register(api, f"partner-{uuid4().hex[:8]}", documents("query Me { me { id } }"))
    manifest_id = manifest["manifest"]["id"]
    created = api.as_user(
        ADMIN,
        KEY_CREATE,
        {"input": {"name": "CRM sync", "role": "VIEWER", "manifestId": manifest_id}},
    )["data"]["partnerApiKeyCreate"]
    assert created["errors"] == []
    raw = created["apiKey"]
    key = created["key"]
    assert raw.startswith("reos_pk_") and raw.startswith(key["prefix"])
    assert key["role"] == "VIEWER" and key["persistedOnly"] is True  # the default
    assert key["manifest"]["id"] == manifest_id and key["manifest"]["documentCount"] == 1
    assert key["revokedAt"] is None
    stored = db("SELECT key_hash FROM partner_api_keys WHERE prefix = $1", key["prefix"])
    assert [row[0] for row in stored] == [sha(raw)]  # only the hash is kept

    listed = api.as_user(ADMIN, KEYS)["data"]["partnerApiKeys"]
    mine = [edge["node"] for edge in listed["edges"] if edge["node"]["id"] == key["id"]]
    assert mine == [key]
    assert raw not in str(listed)

    revoked = api.as_user(ADMIN, KEY_REVOKE, {"id": key["id"]})["data"]["partnerApiKeyRevoke"]
    assert revoked["errors"] == [] and revoked["key"]["revokedAt"] is not None
    # The other tenant's admin can neither see nor revoke it.
    theirs = api.as_user(OTHER_ADMIN, KEYS)["data"]["partnerApiKeys"]
    assert key["id"] not in [edge["node"]["id"] for edge in theirs["edges"]]
    foreign = api.as_user(OTHER_ADMIN, KEY_REVOKE, {"id": key["id"]})["data"]["partnerApiKeyRevoke"]
    assert [e["code"] for e in foreign["errors"]] == ["NOT_FOUND"]


def test_free_form_keys_and_key_input_errors(api: Api) -> None:
    free = api.as_user(
        ADMIN,
        KEY_CREATE,
        {"input": {"name": "Internal BI", "role": "ANALYST", "persistedOnly": False}},
    )["data"]["partnerApiKeyCreate"]
    assert free["errors"] == [] and free["key"]["manifest"] is None
    assert free["key"]["persistedOnly"] is False

    no_manifest = api.as_user(ADMIN, KEY_CREATE, {"input": {"name": "x", "role": "VIEWER"}})
    errors = no_manifest["data"]["partnerApiKeyCreate"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", ["input", "manifestId"])]
    assert no_manifest["data"]["partnerApiKeyCreate"]["apiKey"] is None

    # A manifest of another tenant is not found.
    theirs = register(api, f"theirs-{uuid4().hex[:8]}", documents("{ me { id } }"), OTHER_ADMIN)
    foreign = api.as_user(
        ADMIN,
        KEY_CREATE,
        {"input": {"name": "x", "role": "VIEWER", "manifestId": theirs["manifest"]["id"]}},
    )["data"]["partnerApiKeyCreate"]
    assert [e["code"] for e in foreign["errors"]] == ["NOT_FOUND"] and foreign["apiKey"] is None

    blank = api.as_user(
        ADMIN, KEY_CREATE, {"input": {"name": "  ", "role": "VIEWER", "persistedOnly": False}}
    )["data"]["partnerApiKeyCreate"]
    assert [e["field"] for e in blank["errors"]] == [["input", "name"]]
    malformed = api.as_user(ADMIN, KEY_REVOKE, {"id": "nope"})["data"]["partnerApiKeyRevoke"]
    assert [e["code"] for e in malformed["errors"]] == ["INVALID"]


def test_only_admins_manage_partners(api: Api) -> None:
    manifest = {sha("{ me { id } }"): "{ me { id } }"}
    for query, variables in (
        (REGISTER, {"input": {"name": "x", "manifest": manifest}}),
        (KEY_CREATE, {"input": {"name": "x", "role": "ADMIN", "persistedOnly": False}}),
        (
            KEY_REVOKE,
            {"id": "UGFydG5lckFwaUtleTowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA="},
        ),
        (MANIFESTS, None),
        (KEYS, None),
    ):
        assert top_code(api.as_user(ANALYST, query, variables)) == "FORBIDDEN"
        assert top_code(api.post(query, variables)) == "UNAUTHENTICATED"
