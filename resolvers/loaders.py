"""The per-request DataLoader registry: one batch query per relation per level of a query."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import Table
from strawberry.dataloader import DataLoader

from domain.alert import Alert
from domain.comps import CompSearch
from domain.deal import Deal, DealMember, Offer
from domain.document import Document, DocumentKind, DocumentVersion, Share
from domain.ledger import Transaction
from domain.permissions import Principal
from domain.property import Property, Provenance
from domain.timeline import TimelineEntry
from domain.user import Tenant, User
from domain.valuation import Valuation, value_property
from persistence import alert as alert_store
from persistence import construction as construction_store
from persistence import deal as deal_store
from persistence import delivery as delivery_store
from persistence import document as document_store
from persistence import finance as finance_store
from persistence import property as property_store
from persistence import saved_search as saved_search_store
from persistence import tables as t
from persistence import users as user_store
from persistence import valuation as valuation_store
from persistence.database import TenantSession
from persistence.deal import DEAL_SORT
from persistence.finance import Account, Budget
from persistence.property import Media
from resolvers.metrics import dataloader_batch_size

V = TypeVar("V")


class TenantLoader(DataLoader[Any, V], Generic[V]):
    """A DataLoader bound to one request's tenant session."""

    label: str | None = None  # in metrics; Loaders sets the registry name, else the class name

    def __init__(self, session: TenantSession, principal: Principal) -> None:
        super().__init__(load_fn=self._observed_batch)
        self.session = session
        self.principal = principal
        self.tenant_id = principal.tenant_id

    async def _observed_batch(self, keys: Sequence[Any]) -> list[V]:
        dataloader_batch_size.labels(self.label or type(self).__name__).observe(len(keys))
        return await self.load_batch(keys)

    async def load_batch(self, keys: Sequence[Any]) -> list[V]:
        raise NotImplementedError


PageKey = tuple[UUID, int, Any]  # (parent id, page size, position after which to start)


class PagePerParentLoader(TenantLoader[list[V]], Generic[V]):
    """Pages of children for many parents: one query per distinct (size, position)."""

    async def fetch(self, parent_ids: list[UUID], limit: int, position: Any) -> dict[UUID, list[V]]:
        raise NotImplementedError

    async def load_batch(self, keys: Sequence[PageKey]) -> list[list[V]]:
        groups: dict[tuple[int, Any], list[UUID]] = defaultdict(list)
        for parent_id, limit, position in keys:
            groups[(limit, position)].append(parent_id)
        found: dict[PageKey, list[V]] = {}
        for (limit, position), parent_ids in groups.items():
            pages = await self.fetch(parent_ids, limit, position)
            for parent_id in parent_ids:
                found[(parent_id, limit, position)] = pages.get(parent_id, [])
        return [found[key] for key in keys]


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


class DealByIdLoader(TenantLoader[Deal | None]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[Deal | None]:
        found = await deal_store.deals_by_ids(self.session, self.tenant_id, keys)
        return [found.get(key) for key in keys]


class DealsByPropertyIdLoader(PagePerParentLoader[Deal]):
    async def fetch(
        self, parent_ids: list[UUID], limit: int, position: Any
    ) -> dict[UUID, list[Deal]]:
        after = DEAL_SORT.decode(position) if position else None
        return await deal_store.deals_by_property_ids(
            self.session, self.tenant_id, parent_ids, limit, after
        )


class DealCountByPropertyIdLoader(TenantLoader[int]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[int]:
        found = await deal_store.count_deals_by_property_ids(self.session, self.tenant_id, keys)
        return [found.get(key, 0) for key in keys]


class MembersByDealIdLoader(TenantLoader[list[DealMember]]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[list[DealMember]]:
        found = await deal_store.members_by_deal_ids(self.session, self.tenant_id, keys)
        return [found.get(key, []) for key in keys]


class OffersByDealIdLoader(TenantLoader[list[Offer]]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[list[Offer]]:
        found = await deal_store.offers_by_deal_ids(self.session, self.tenant_id, keys)
        return [found.get(key, []) for key in keys]


class OfferByIdLoader(TenantLoader[Offer | None]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[Offer | None]:
        found = await deal_store.offers_by_ids(self.session, self.tenant_id, keys)
        return [found.get(key) for key in keys]


class TimelineByDealIdLoader(PagePerParentLoader[TimelineEntry]):
    async def fetch(
        self, parent_ids: list[UUID], limit: int, position: Any
    ) -> dict[UUID, list[TimelineEntry]]:
        return await deal_store.timeline_by_deal_ids(
            self.session, self.tenant_id, parent_ids, limit, position
        )


class TimelineCountByDealIdLoader(TenantLoader[int]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[int]:
        found = await deal_store.count_timeline_by_deal_ids(self.session, self.tenant_id, keys)
        return [found.get(key, 0) for key in keys]


class TimelineEntryByIdLoader(TenantLoader[TimelineEntry | None]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[TimelineEntry | None]:
        found = await deal_store.entries_by_ids(self.session, self.tenant_id, keys)
        return [found.get(key) for key in keys]


class BudgetsByDealIdLoader(TenantLoader[list[Budget]]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[list[Budget]]:
        found = await finance_store.budgets_by_deal_ids(self.session, self.tenant_id, keys)
        return [found.get(key, []) for key in keys]


class TransactionsByDealIdLoader(PagePerParentLoader[Transaction]):
    async def fetch(
        self, parent_ids: list[UUID], limit: int, position: Any
    ) -> dict[UUID, list[Transaction]]:
        return await finance_store.transactions_by_deal_ids(
            self.session, self.tenant_id, parent_ids, limit, position
        )


class TransactionCountByDealIdLoader(TenantLoader[int]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[int]:
        query = finance_store.count_transactions_by_deal_ids
        found = await query(self.session, self.tenant_id, keys)
        return [found.get(key, 0) for key in keys]


class TransactionByIdLoader(TenantLoader[Transaction | None]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[Transaction | None]:
        found = await finance_store.transactions_by_ids(self.session, self.tenant_id, keys)
        return [found.get(key) for key in keys]


class AccountByIdLoader(TenantLoader[Account | None]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[Account | None]:
        found = await finance_store.accounts_by_ids(self.session, self.tenant_id, keys)
        return [found.get(key) for key in keys]


class ConstructionSpentByDealIdLoader(TenantLoader[Decimal]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[Decimal]:
        query = construction_store.construction_spent_by_deal_ids
        found = await query(self.session, self.tenant_id, keys)
        return [found.get(key, Decimal("0.00")) for key in keys]


def rows_by_id(table: Table) -> type[TenantLoader[Any]]:
    """A loader of one construction table's rows by id."""

    class RowByIdLoader(TenantLoader[Any]):
        async def load_batch(self, keys: Sequence[UUID]) -> list[Any]:
            found = await construction_store.by_ids(self.session, table, self.tenant_id, keys)
            return [found.get(key) for key in keys]

    return RowByIdLoader


def rows_by_parent(table: Table, parent: str, *order: Any) -> type[TenantLoader[Any]]:
    """A loader of a table's rows grouped by a parent id, in order."""

    class RowsByParentLoader(TenantLoader[list[Any]]):
        async def load_batch(self, keys: Sequence[UUID]) -> list[list[Any]]:
            query = construction_store.by_parent
            found = await query(self.session, table, parent, self.tenant_id, keys, order)
            return [found.get(key, []) for key in keys]

    return RowsByParentLoader


class DocumentByIdLoader(TenantLoader[Document | None]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[Document | None]:
        found = await document_store.documents_by_ids(self.session, self.principal, keys)
        return [found.get(key) for key in keys]


def documents_by(parent: str, kind: DocumentKind) -> type[TenantLoader[Any]]:
    """Visible documents (or photos) of many parents, newest first."""

    class DocumentsByParentLoader(TenantLoader[list[Document]]):
        async def load_batch(self, keys: Sequence[UUID]) -> list[list[Document]]:
            query = document_store.documents_by_parent
            found = await query(self.session, self.principal, parent, keys, kind.value)
            return [found.get(key, []) for key in keys]

    return DocumentsByParentLoader


class VersionsByDocumentIdLoader(TenantLoader[list[DocumentVersion]]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[list[DocumentVersion]]:
        found = await document_store.versions_by_document_ids(self.session, self.tenant_id, keys)
        return [found.get(key, []) for key in keys]


class SharesByDocumentIdLoader(TenantLoader[list[Share]]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[list[Share]]:
        found = await document_store.shares_by_document_ids(self.session, self.tenant_id, keys)
        return [found.get(key, []) for key in keys]


class AlertByIdLoader(TenantLoader[Alert | None]):
    """The principal's own alerts: another user's alert is simply not found."""

    async def load_batch(self, keys: Sequence[UUID]) -> list[Alert | None]:
        query = alert_store.alerts_by_ids
        found = await query(self.session, self.tenant_id, self.principal.user_id, keys)
        return [found.get(key) for key in keys]


class SavedSearchByIdLoader(TenantLoader[Any]):
    """The principal's own saved searches: anyone else's is simply not found."""

    async def load_batch(self, keys: Sequence[UUID]) -> list[Any]:
        query = saved_search_store.own_searches_by_ids
        found = await query(self.session, self.tenant_id, self.principal.user_id, keys)
        return [found.get(key) for key in keys]


class WebhookEndpointByIdLoader(TenantLoader[Any]):
    async def load_batch(self, keys: Sequence[UUID]) -> list[Any]:
        found = await delivery_store.endpoints_by_ids(self.session, self.tenant_id, keys)
        return [found.get(key) for key in keys]


class ValuationByPropertyIdLoader(TenantLoader[Valuation | None]):
    """Live valuations keyed by (property id, comp search): one comps statement per distinct
    search for every property asking, whatever the page size."""

    async def load_batch(self, keys: Sequence[tuple[UUID, CompSearch]]) -> list[Valuation | None]:
        as_of = datetime.now(UTC).date()
        groups: dict[CompSearch, list[UUID]] = defaultdict(list)
        for property_id, search in keys:
            groups[search].append(property_id)
        found: dict[tuple[UUID, CompSearch], Valuation] = {}
        for search, ids in groups.items():
            subjects = await valuation_store.comps_for(
                self.session, self.tenant_id, ids, search, as_of
            )
            for property_id, (subject, candidates) in subjects.items():
                found[(property_id, search)] = value_property(subject, candidates, search, as_of)
        return [found.get(key) for key in keys]


LOADERS: dict[str, type[TenantLoader[Any]]] = {
    "property_by_id": PropertyByIdLoader,
    "media_by_property_id": MediaByPropertyIdLoader,
    "provenance_by_property_id": ProvenanceByPropertyIdLoader,
    "user_by_id": UserByIdLoader,
    "tenant_by_id": TenantByIdLoader,
    "deal_by_id": DealByIdLoader,
    "deals_by_property_id": DealsByPropertyIdLoader,
    "deal_count_by_property_id": DealCountByPropertyIdLoader,
    "members_by_deal_id": MembersByDealIdLoader,
    "offers_by_deal_id": OffersByDealIdLoader,
    "offer_by_id": OfferByIdLoader,
    "timeline_by_deal_id": TimelineByDealIdLoader,
    "timeline_count_by_deal_id": TimelineCountByDealIdLoader,
    "timeline_entry_by_id": TimelineEntryByIdLoader,
    "budgets_by_deal_id": BudgetsByDealIdLoader,
    "transactions_by_deal_id": TransactionsByDealIdLoader,
    "transaction_count_by_deal_id": TransactionCountByDealIdLoader,
    "transaction_by_id": TransactionByIdLoader,
    "account_by_id": AccountByIdLoader,
    "project_by_id": rows_by_id(t.construction_projects),
    "projects_by_deal_id": rows_by_parent(
        t.construction_projects, "deal_id", t.construction_projects.c.created_at
    ),
    "contractor_by_id": rows_by_id(t.contractors),
    "bid_by_id": rows_by_id(t.bids),
    "bids_by_project_id": rows_by_parent(t.bids, "project_id", t.bids.c.seq),
    "task_by_id": rows_by_id(t.tasks),
    "tasks_by_project_id": rows_by_parent(t.tasks, "project_id", t.tasks.c.seq),
    "change_order_by_id": rows_by_id(t.change_orders),
    "change_orders_by_project_id": rows_by_parent(
        t.change_orders, "project_id", t.change_orders.c.created_at
    ),
    "inspection_by_id": rows_by_id(t.inspections),
    "inspections_by_project_id": rows_by_parent(
        t.inspections, "project_id", t.inspections.c.scheduled_for
    ),
    "construction_spent_by_deal_id": ConstructionSpentByDealIdLoader,
    "document_by_id": DocumentByIdLoader,
    "documents_by_deal_id": documents_by("deal_id", DocumentKind.DOCUMENT),
    "documents_by_property_id": documents_by("property_id", DocumentKind.DOCUMENT),
    "photos_by_project_id": documents_by("project_id", DocumentKind.PHOTO),
    "versions_by_document_id": VersionsByDocumentIdLoader,
    "shares_by_document_id": SharesByDocumentIdLoader,
    "alert_by_id": AlertByIdLoader,
    "saved_search_by_id": SavedSearchByIdLoader,
    "webhook_endpoint_by_id": WebhookEndpointByIdLoader,
    "valuation_by_property_id": ValuationByPropertyIdLoader,
}


class Loaders:
    """Loaders are created on first use, so a request pays only for the relations it reads."""

    def __init__(self, session: TenantSession, principal: Principal | None) -> None:
        self.session = session
        self.principal = principal

    def __getattr__(self, name: str) -> Any:
        loader_class = LOADERS.get(name)
        if loader_class is None:
            raise AttributeError(name)
        if self.principal is None:
            raise RuntimeError("loaders need an authenticated principal")
        loader = loader_class(self.session, self.principal)
        loader.label = name
        setattr(self, name, loader)
        return loader
