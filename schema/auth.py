"""Users, tenants, and the auth operations."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from domain.permissions import Role as DomainRole
from domain.permissions import permissions_of
from domain.user import Tenant as TenantRecord
from domain.user import User as UserRecord
from resolvers import auth as resolve
from resolvers.ids import to_global_id
from schema.common import Node, UserError
from schema.permissions import requires

Role = strawberry.enum(DomainRole, name="Role", description="What a user may do in a tenant.")


@strawberry.type(description="An organisation: every row belongs to exactly one.")
class Tenant(Node):
    name: str

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Tenant", self.id))  # type: ignore[arg-type]

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, TenantRecord)


@strawberry.type(description="A person who signs in to a tenant.")
class User(Node):
    email: str
    name: str
    role: Role
    created_at: datetime | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("User", self.id))  # type: ignore[arg-type]

    @strawberry.field(description="The tenant this user belongs to.")
    async def tenant(self, info: Info) -> Tenant:
        return await resolve.user_tenant(info.context, self)  # type: ignore[arg-type,return-value]

    @strawberry.field(description="Permission strings the user's role grants.")
    def permissions(self) -> list[str]:
        return sorted(permissions_of(self.role))

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, UserRecord)


@strawberry.type(description="Tokens for a signed-in user, or why sign-in failed.")
class AuthPayload:
    access_token: str | None = strawberry.field(description="JWT for `Authorization: Bearer`.")
    refresh_token: str | None = strawberry.field(
        description="Single-use: rotate with tokenRefresh."
    )
    expires_in: int | None = strawberry.field(description="Seconds until the access token expires.")
    user: User | None
    errors: list[UserError]


@strawberry.type
class LogoutPayload:
    ok: bool
    errors: list[UserError]


@strawberry.input
class UserCreateInput:
    email: str
    name: str
    role: Role
    password: str = strawberry.field(description="At least 10 characters.")


@strawberry.type
class UserCreatePayload:
    user: User | None
    errors: list[UserError]


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The signed-in user; null without a token.")
    async def me(self, info: Info) -> User | None:
        return await resolve.me(info.context)


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Sign in with e-mail and password.")
    async def login(self, info: Info, email: str, password: str) -> AuthPayload:
        return await resolve.login(info.context, email, password)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Exchange a refresh token for new ones; reusing an old one revokes the session."
    )
    async def token_refresh(self, info: Info, refresh_token: str) -> AuthPayload:
        return await resolve.token_refresh(info.context, refresh_token)  # type: ignore[return-value]

    @strawberry.mutation(description="End the session the refresh token belongs to.")
    async def logout(self, info: Info, refresh_token: str) -> LogoutPayload:
        return await resolve.logout(info.context, refresh_token)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Add a user to your tenant (ADMIN only).", extensions=requires("users:write")
    )
    async def user_create(self, info: Info, input: UserCreateInput) -> UserCreatePayload:
        return await resolve.user_create(  # type: ignore[return-value]
            info.context, input.email, input.name, input.role, input.password
        )
