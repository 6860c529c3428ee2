"""Login, token rotation, logout, the current user, and user creation."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain.errors import DomainError, ErrorCode, FieldError
from domain.permissions import Role
from domain.tokens import hash_refresh_token, new_refresh_token, refresh_token_tenant
from domain.user import Tenant, User, normalize_email, validate_new_user
from persistence import users as user_store
from persistence.database import transaction
from resolvers.context import Context
from resolvers.errors import ApiError, run_write

INVALID_CREDENTIALS = FieldError(ErrorCode.INVALID_CREDENTIALS, "Wrong e-mail or password.")
INVALID_REFRESH = FieldError(ErrorCode.INVALID_TOKEN, "This refresh token is not valid.")


@dataclass
class AuthResult:
    access_token: str | None = None
    refresh_token: str | None = None
    expires_in: int | None = None
    user: User | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class LogoutResult:
    ok: bool
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class UserCreateResult:
    user: User | None = None
    errors: list[FieldError] = field(default_factory=list)


async def _issue(ctx: Context, user: User, family_id: uuid.UUID) -> AuthResult:
    services = ctx.services
    refresh = new_refresh_token(user.tenant_id)
    async with transaction(services.engine, user.tenant_id) as conn:
        await user_store.insert_refresh_token(
            conn,
            user.tenant_id,
            user.id,
            family_id,
            hash_refresh_token(refresh),
            services.refresh_ttl,
        )
    return AuthResult(
        access_token=services.authenticator.issue_access_token(user.id, user.tenant_id, user.role),
        refresh_token=refresh,
        expires_in=services.authenticator.access_ttl_seconds,
        user=user,
    )


async def login(ctx: Context, email: str, password: str) -> AuthResult:
    services = ctx.services
    email = normalize_email(email)
    if len(email) > 254 or len(password) > 1024:
        return AuthResult(errors=[INVALID_CREDENTIALS])
    if await services.login_limiter.blocked(email, ctx.client_address):
        raise ApiError("Too many failed logins. Try again later.", "RATE_LIMITED")
    candidates = await user_store.login_candidates(services.engine, email)
    verify = services.passwords.verify
    user = None
    for candidate in candidates or [None]:
        password_hash = candidate.password_hash if candidate else None
        if await asyncio.to_thread(verify, password_hash, password) and candidate:
            user = candidate.user
            break
    if user is None or not user.active:
        await services.login_limiter.failed(email, ctx.client_address)
        return AuthResult(errors=[INVALID_CREDENTIALS])
    await services.login_limiter.succeeded(email)
    return await _issue(ctx, user, family_id=uuid.uuid4())


async def token_refresh(ctx: Context, refresh_token: str) -> AuthResult:
    """Rotate a refresh token; presenting a rotated one revokes its whole family."""
    tenant_id = refresh_token_tenant(refresh_token)
    if tenant_id is None:
        return AuthResult(errors=[INVALID_REFRESH])
    engine = ctx.services.engine
    async with transaction(engine, tenant_id) as conn:
        stored = await user_store.refresh_token_for_update(
            conn, tenant_id, hash_refresh_token(refresh_token)
        )
        if stored is None or stored.revoked_at is not None:
            return AuthResult(errors=[INVALID_REFRESH])
        if stored.rotated_at is not None:
            await user_store.revoke_family(conn, tenant_id, stored.family_id)
            return AuthResult(errors=[INVALID_REFRESH])
        if stored.expires_at <= datetime.now(UTC):
            return AuthResult(errors=[INVALID_REFRESH])
        user = await user_store.get_user(conn, tenant_id, stored.user_id)
        if user is None or not user.active:
            await user_store.revoke_family(conn, tenant_id, stored.family_id)
            return AuthResult(errors=[INVALID_REFRESH])
        await user_store.mark_rotated(conn, tenant_id, stored.id)
    return await _issue(ctx, user, family_id=stored.family_id)


async def logout(ctx: Context, refresh_token: str) -> LogoutResult:
    """Revoke the session (the refresh token's family)."""
    tenant_id = refresh_token_tenant(refresh_token)
    if tenant_id is None:
        return LogoutResult(ok=False, errors=[INVALID_REFRESH])
    async with transaction(ctx.services.engine, tenant_id) as conn:
        stored = await user_store.refresh_token_for_update(
            conn, tenant_id, hash_refresh_token(refresh_token)
        )
        if stored is None:
            return LogoutResult(ok=False, errors=[INVALID_REFRESH])
        await user_store.revoke_family(conn, tenant_id, stored.family_id)
    return LogoutResult(ok=True)


async def me(ctx: Context) -> User | None:
    if ctx.principal is None:
        if ctx.auth_error:
            ctx.require()
        return None
    return await ctx.loaders.user_by_id.load(ctx.principal.user_id)


async def user_create(
    ctx: Context, email: str, name: str, role: Role, password: str
) -> UserCreateResult:
    principal = ctx.require("users:write")
    email = normalize_email(email)
    try:
        validate_new_user(email, name, password)
    except DomainError as error:
        return UserCreateResult(errors=list(error.errors))
    password_hash = await asyncio.to_thread(ctx.services.passwords.hash, password)

    async def create(conn):  # type: ignore[no-untyped-def]
        user = await user_store.insert_user(
            conn, principal.tenant_id, email, name.strip(), role, password_hash
        )
        if user is None:
            raise DomainError.of(ErrorCode.CONFLICT, "A user with this e-mail exists.", "email")
        return user

    user, errors = await run_write(ctx, create)
    return UserCreateResult(user=user, errors=errors)


async def user_tenant(ctx: Context, user: User) -> Tenant | None:
    """A user's tenant: through the request's loader, or (right after sign-in) by its own lookup."""
    if ctx.principal is not None and ctx.principal.tenant_id == user.tenant_id:
        return await ctx.loaders.tenant_by_id.load(user.tenant_id)
    async with transaction(ctx.services.engine, user.tenant_id) as conn:
        return await user_store.get_tenant(conn, user.tenant_id)
