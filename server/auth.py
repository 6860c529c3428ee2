"""Access tokens (HS256 JWT), refresh tokens and password hashing (Argon2id)."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from uuid import UUID

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.permissions import Principal, Role

ALGORITHM = "HS256"
ISSUER = "reos"
REQUIRED_CLAIMS = ["sub", "tenant_id", "role", "exp", "iat", "jti", "iss"]


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not signed by us."""


@dataclass(frozen=True)
class Authenticator:
    secret: str
    access_ttl_seconds: int = 900

    def issue_access_token(self, user_id: UUID, tenant_id: UUID, role: Role) -> str:
        now = int(time.time())
        claims = {
            "sub": str(user_id),
            "tenant_id": str(tenant_id),
            "role": role.value,
            "iat": now,
            "exp": now + self.access_ttl_seconds,
            "jti": uuid.uuid4().hex,
            "iss": ISSUER,
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def claims(self, token: str) -> dict[str, object]:
        """The verified claims of a token; InvalidToken for anything else."""
        try:
            return jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc

    def verify_access_token(self, token: str) -> Principal:
        """The principal of a valid token; InvalidToken for anything else."""
        claims = self.claims(token)
        try:
            return Principal(UUID(claims["sub"]), UUID(claims["tenant_id"]), Role(claims["role"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidToken(str(exc)) from exc


def principal_from_header(authenticator: Authenticator, header: str | None) -> Principal | None:
    """None without credentials; InvalidToken when credentials are present but bad."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("expected a Bearer token")
    return authenticator.verify_access_token(token.strip())


class Passwords:
    """Argon2id hashing; verify runs in a thread so the event loop keeps serving."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._dummy = self.hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Constant work whether or not the user exists (a dummy hash stands in)."""
        try:
            return self.hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False
