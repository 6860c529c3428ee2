"""Sign-in, tokens, sessions, roles: what a user and an attacker would try."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest

from server.settings import DEVELOPMENT_JWT_SECRET
from tests.conftest import Api, make_settings

ME = "{ me { email role tenant { name } permissions } }"
PROPERTIES = "{ properties(first: 1) { totalCount } }"


def code_of(result: dict) -> str:
    return result["errors"][0]["extensions"]["code"]


def claims_token(secret: str = DEVELOPMENT_JWT_SECRET, **overrides: object) -> str:
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "tenant_id": str(uuid.uuid4()),
        "role": "ADMIN",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "iss": "reos",
    }
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm="HS256")


def test_login_returns_tokens_user_and_tenant(api: Api) -> None:
    result = api.login("demo@reos.dev")["data"]["login"]
    assert result["errors"] == []
    assert result["expiresIn"] == 900
    assert result["user"]["email"] == "demo@reos.dev"
    assert result["user"]["role"] == "ADMIN"
    assert result["user"]["tenant"]["name"] == "Demo Capital"
    header = jwt.get_unverified_header(result["accessToken"])
    claims = jwt.decode(result["accessToken"], options={"verify_signature": False})
    assert header["alg"] == "HS256"
    assert {"sub", "tenant_id", "role", "exp", "iat", "jti"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 900


def test_login_is_case_insensitive_on_email(api: Api) -> None:
    assert api.login("  Analyst@REOS.dev ")["data"]["login"]["user"]["role"] == "ANALYST"


def test_wrong_password_and_unknown_user_are_the_same_error(api: Api) -> None:
    wrong = api.login("demo@reos.dev", "not-the-password")["data"]["login"]
    unknown = api.login("nobody@reos.dev", "whatever-pass")["data"]["login"]
    for result in (wrong, unknown):
        assert result["accessToken"] is None
        assert [e["code"] for e in result["errors"]] == ["INVALID_CREDENTIALS"]
    assert wrong["errors"][0]["message"] == unknown["errors"][0]["message"]


def test_me_reflects_the_token(api: Api) -> None:
    me = api.as_user("viewer@reos.dev", ME)["data"]["me"]
    assert me["role"] == "VIEWER"
    assert me["tenant"]["name"] == "Demo Capital"
    assert "properties:read" in me["permissions"]
    assert "properties:write" not in me["permissions"]
    assert api.post(ME)["data"]["me"] is None


def test_no_token_is_unauthenticated(api: Api) -> None:
    result = api.post(PROPERTIES)
    assert result["data"] is None
    assert code_of(result) == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            claims_token(exp=int(time.time()) - 10, iat=int(time.time()) - 1000), id="expired"
        ),
        pytest.param(claims_token(secret="another-secret-another-secret-123"), id="other-secret"),
        pytest.param(claims_token(jti=None), id="missing-claim"),
        pytest.param("not.a.jwt", id="garbage"),
    ],
)
def test_bad_tokens_are_refused(api: Api, token: str) -> None:
    result = api.post(PROPERTIES, token=token)
    assert result["data"] is None
    assert code_of(result) == "UNAUTHENTICATED"


def test_tampered_signature_and_alg_none_are_refused(api: Api) -> None:
    real = api.token("demo@reos.dev")
    head, body, signature = real.split(".")
    tampered = f"{head}.{body}.{signature[:-4]}AAAA"
    forged_claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged_claims["role"] = "ADMIN"

    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    alg_none = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(forged_claims)}."
    for token in (tampered, alg_none):
        result = api.post(PROPERTIES, token=token)
        assert code_of(result) == "UNAUTHENTICATED", token


REFRESH = """mutation($t: String!) { tokenRefresh(refreshToken: $t) {
  accessToken refreshToken user { email } errors { code } } }"""
LOGOUT = "mutation($t: String!) { logout(refreshToken: $t) { ok errors { code } } }"


def test_refresh_rotates_and_reuse_revokes_the_family(api: Api) -> None:
    first = api.login("ops@reos.dev")["data"]["login"]["refreshToken"]
    rotated = api.post(REFRESH, {"t": first})["data"]["tokenRefresh"]
    assert rotated["errors"] == []
    assert rotated["refreshToken"] != first
    assert api.post(ME, token=rotated["accessToken"])["data"]["me"]["email"] == "ops@reos.dev"

    reuse = api.post(REFRESH, {"t": first})["data"]["tokenRefresh"]
    assert [e["code"] for e in reuse["errors"]] == ["INVALID_TOKEN"]
    # The thief's reuse revoked the whole family: the legitimate newer token is dead too.
    newer = api.post(REFRESH, {"t": rotated["refreshToken"]})["data"]["tokenRefresh"]
    assert [e["code"] for e in newer["errors"]] == ["INVALID_TOKEN"]


def test_forged_refresh_tokens_are_refused(api: Api) -> None:
    real = api.login("ops@reos.dev")["data"]["login"]["refreshToken"]
    other_tenant = uuid.uuid4().hex + "." + real.split(".", 1)[1]
    for token in ("", "garbage", real + "x", other_tenant):
        result = api.post(REFRESH, {"t": token})["data"]["tokenRefresh"]
        assert result["accessToken"] is None
        assert [e["code"] for e in result["errors"]] == ["INVALID_TOKEN"]


def test_logout_ends_the_session(api: Api) -> None:
    refresh = api.login("ops@reos.dev")["data"]["login"]["refreshToken"]
    assert api.post(LOGOUT, {"t": refresh})["data"]["logout"] == {"ok": True, "errors": []}
    result = api.post(REFRESH, {"t": refresh})["data"]["tokenRefresh"]
    assert [e["code"] for e in result["errors"]] == ["INVALID_TOKEN"]


USER_CREATE = """mutation($input: UserCreateInput!) { userCreate(input: $input) {
  user { id email role tenant { name } } errors { field code message } } }"""


def test_admin_creates_a_user_who_can_sign_in(api: Api) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@reos.dev"
    variables = {
        "input": {
            "email": email,
            "name": "New Analyst",
            "role": "ANALYST",
            "password": "long-enough-pw",
        }
    }
    created = api.as_user("demo@reos.dev", USER_CREATE, variables)["data"]["userCreate"]
    assert created["errors"] == []
    assert created["user"]["role"] == "ANALYST"
    assert created["user"]["tenant"]["name"] == "Demo Capital"
    signed_in = api.login(email, "long-enough-pw")["data"]["login"]
    assert signed_in["user"]["tenant"]["name"] == "Demo Capital"

    again = api.as_user("demo@reos.dev", USER_CREATE, variables)["data"]["userCreate"]
    assert [e["code"] for e in again["errors"]] == ["CONFLICT"]


def test_user_create_rejects_bad_input_and_writes_nothing(api: Api, db) -> None:
    before = db("SELECT count(*) FROM users")[0][0]
    bad = {"email": "not-an-email", "name": "", "role": "VIEWER", "password": "short"}
    result = api.as_user("demo@reos.dev", USER_CREATE, {"input": bad})["data"]["userCreate"]
    assert result["user"] is None
    assert sorted(e["field"][0] for e in result["errors"]) == ["email", "name", "password"]
    assert {e["code"] for e in result["errors"]} == {"INVALID"}
    assert db("SELECT count(*) FROM users")[0][0] == before


def test_only_admins_create_users(api: Api) -> None:
    variables = {
        "input": {"email": "x@reos.dev", "name": "X", "role": "ADMIN", "password": "long-enough-pw"}
    }
    for email in ("analyst@reos.dev", "viewer@reos.dev"):
        result = api.as_user(email, USER_CREATE, variables)
        assert result["data"] is None
        assert code_of(result) == "FORBIDDEN"


def test_passwords_are_stored_as_argon2id(db) -> None:
    hashes = [row[0] for row in db("SELECT password_hash FROM users")]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)


def test_failed_logins_are_rate_limited_per_email_and_per_address(app_url, redis_url) -> None:
    from starlette.testclient import TestClient

    from server.app import create_app

    settings = make_settings(
        redis_url.rsplit("/", 1)[0] + "/1",
        login_max_failures_per_email=3,
        login_max_failures_per_address=6,
    )
    with TestClient(create_app(settings, app_url)) as client:
        limited = Api(client)
        for _ in range(3):
            assert limited.login("analyst@reos.dev", "wrong-password")["data"]["login"]["errors"]
        blocked = limited.login("analyst@reos.dev")
        assert code_of(blocked) == "RATE_LIMITED"
        # Another e-mail from the same address still works until the address limit.
        assert limited.login("ops@reos.dev")["data"]["login"]["accessToken"]
        for _ in range(3):
            limited.login("underwriter@reos.dev", "wrong-password")
        assert code_of(limited.login("ops@reos.dev")) == "RATE_LIMITED"
