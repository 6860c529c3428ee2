"""The per-request DataLoader registry: one batch query per relation per level of a query."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Generic, TypeVar
from uuid import UUID

from strawberry.dataloader import DataLoader

from domain.property import Property, Provenance
from domain.user import Tenant, User
from persistence import property as property_store
from persistence import users as user_store
from persistence.database import TenantSession
from persistence.property import Media

V = TypeVar("V")


class TenantLoader(DataLoader[UUID, V], Generic[V]):
    """A DataLoader bound to one request's tenant session."""

    def __init__(self, session: TenantSession, tenant_id: UUID) -> None:
        super().__init__(load_fn=self.load_batch)
        self.session = session
        self.tenant_id = tenant_id

    async def load_batch(self, keys: Sequence[UUID]) -> list[V]:
        raise NotImplementedError


class PropertyByIdLoader(TenantLoader[Property | None]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[Property | None]:
        found = await property_store.properties_by_ids(self.session, self.tenant_id, keys)
        return [found.get(key) for key in keys]


class MediaByPropertyIdLoader(TenantLoader[list[Media]]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[list[Media]]:
        found = await property_store.media_by_property_ids(self.session, self.tenant_id, keys)
        return [found.get(key, []) for key in keys]


class ProvenanceByPropertyIdLoader(TenantLoader[list[Provenance]]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[list[Provenance]]:
        found = await property_store.provenance_by_property_ids(self.session, self.tenant_id, keys)
        return [found.get(key, []) for key in keys]


class UserByIdLoader(TenantLoader[User | None]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[User | None]:
        found = await user_store.users_by_ids(self.session, self.tenant_id, keys)
        return [found.get(key) for key in keys]


class TenantByIdLoader(TenantLoader[Tenant | None]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[Tenant | None]:
        found = await user_store.tenants_by_ids(self.session, keys)
        return [found.get(key) for key in keys]


class Loaders:
    """Loaders are created on first use, so a request pays only for the relations it reads."""

    def __init__(self, session: TenantSession, tenant_id: UUID | None) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def _bind(self, loader_class: type[TenantLoader[V]]) -> TenantLoader[V]:
        if self.tenant_id is None:
            raise RuntimeError("loaders need an authenticated tenant")
        return loader_class(self.session, self.tenant_id)

    @cached_property
    def property_by_id(self) -> PropertyByIdLoader:
        return self._bind(PropertyByIdLoader)  # type: ignore[return-value]

    @cached_property
    def media_by_property_id(self) -> MediaByPropertyIdLoader:
        return self._bind(MediaByPropertyIdLoader)  # type: ignore[return-value]

    @cached_property
    def provenance_by_property_id(self) -> ProvenanceByPropertyIdLoader:
        return self._bind(ProvenanceByPropertyIdLoader)  # type: ignore[return-value]

    @cached_property
    def user_by_id(self) -> UserByIdLoader:
        return self._bind(UserByIdLoader)  # type: ignore[return-value]

    @cached_property
    def tenant_by_id(self) -> TenantByIdLoader:
        return self._bind(TenantByIdLoader)  # type: ignore[return-value]
