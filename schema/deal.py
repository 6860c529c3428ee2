"""Deals, team members, offers, the timeline and deal analysis."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON
from strawberry.types import Info

from domain import deal as domain
from domain import timeline as timeline_domain
from domain.deal import allowed_transitions
from persistence.deal import TIMELINE_SORT
from resolvers import deal as resolve
from resolvers import finance as resolve_finance
from resolvers.analysis_input import camel_keys
from resolvers.display import analysis_for_display
from resolvers.ids import to_global_id
from schema.auth import User
from schema.common import Connection, Node, UserError
from schema.finance import AnalysisAssumptionsInput, Budget, Formula, Transaction
from schema.permissions import requires
from schema.property import Property

if TYPE_CHECKING:
    from schema.construction import ConstructionProject
    from schema.document import Document

DealStrategy = strawberry.enum(domain.DealStrategy, name="DealStrategy")
DealStatus = strawberry.enum(
    domain.DealStatus,
    name="DealStatus",
    description="LEAD, ANALYZING, OFFER_MADE, UNDER_CONTRACT, CLOSED; DEAD from any open status.",
)
DealRole = strawberry.enum(
    domain.DealRole, name="DealRole", description="A person's role on one deal."
)
OfferStatus = strawberry.enum(domain.OfferStatus, name="OfferStatus")
OfferAction = strawberry.enum(domain.OfferAction, name="OfferAction")
OfferParty = strawberry.enum(
    domain.OfferParty, name="OfferParty", description="Who made the offer."
)
TimelineKind = strawberry.enum(timeline_domain.TimelineKind, name="TimelineKind")


@strawberry.type(description="A person on a deal's team.")
class DealMember:
    role: DealRole
    added_at: datetime | None

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        return await info.context.loaders.user_by_id.load(self.user_id)  # type: ignore[attr-defined]


@strawberry.type(description="An offer on a deal; counters link to the offer they answer.")
class Offer(Node):
    party: OfferParty
    amount: Decimal
    earnest_money: Decimal | None
    closing_date: date | None
    contingencies: list[str]
    note: str | None
    expires_at: datetime | None
    responded_at: datetime | None
    created_at: datetime | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Offer", self.id))  # type: ignore[arg-type]

    @strawberry.field(description="EXPIRED once a pending offer passes expiresAt.")
    def status(self) -> OfferStatus:
        return self.effective_status(datetime.now(UTC))  # type: ignore[attr-defined,return-value]

    @strawberry.field
    async def deal(self, info: Info) -> Deal | None:
        return await info.context.loaders.deal_by_id.load(self.deal_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The offer this one counters.")
    async def parent(self, info: Info) -> Offer | None:
        if self.parent_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.offer_by_id.load(self.parent_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def submitted_by(self, info: Info) -> User | None:
        if self.submitted_by is None:
            return None
        return await info.context.loaders.user_by_id.load(self.submitted_by)

    @strawberry.field
    async def responded_by(self, info: Info) -> User | None:
        if self.responded_by is None:
            return None
        return await info.context.loaders.user_by_id.load(self.responded_by)

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, domain.Offer)


@strawberry.type(description="Something that happened on a deal.")
class TimelineEntry(Node):
    kind: TimelineKind
    message: str
    data: JSON
    created_at: datetime | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("TimelineEntry", self.id))  # type: ignore[arg-type]

    @strawberry.field(description="Pass as `since` to timelineUpdated to resume after this entry.")
    def cursor(self) -> str:
        return TIMELINE_SORT.cursor(self.seq, self.id)  # type: ignore[attr-defined]

    @strawberry.field
    async def actor(self, info: Info) -> User | None:
        if self.actor_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.user_by_id.load(self.actor_id)  # type: ignore[attr-defined]

    @strawberry.field(description="Users @mentioned in a comment.")
    async def mentions(self, info: Info) -> list[User]:
        users = await info.context.loaders.user_by_id.load_many(self.mentions)
        return [user for user in users if user is not None]

    @strawberry.field
    async def deal(self, info: Info) -> Deal | None:
        return await info.context.loaders.deal_by_id.load(self.deal_id)  # type: ignore[attr-defined]

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, timeline_domain.TimelineEntry)


@strawberry.type(description="Every metric for the deal's strategy; null ones say why in formulas.")
class DealAnalysis:
    max_allowable_offer: Decimal | None = strawberry.field(description="0.70 * ARV - repairs.")
    total_cash_invested: Decimal | None
    loan_amount: Decimal | None
    net_profit: Decimal | None
    roi: Decimal | None
    gross_scheduled_rent: Decimal | None
    effective_gross_income: Decimal | None
    operating_expenses: Decimal | None
    noi: Decimal | None
    cap_rate: Decimal | None
    annual_cash_flow: Decimal | None
    cash_on_cash: Decimal | None
    dscr: Decimal | None
    grm: Decimal | None
    monthly_payment: Decimal | None
    annual_debt_service: Decimal | None
    irr: Decimal | None
    npv: Decimal | None
    cash_left_in_deal: Decimal | None
    one_percent_rule: bool | None
    formulas: list[Formula]


@strawberry.type(description="A deal on a property, from lead to close.")
class Deal(Node):
    name: str
    strategy: DealStrategy
    status: DealStatus
    purchase_price: Decimal | None
    estimated_repairs: Decimal | None
    arv: Decimal | None = strawberry.field(description="After-repair value.")
    status_changed_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Deal", self.id))  # type: ignore[arg-type]

    @strawberry.field(description="Saved analysis assumptions, by AnalysisAssumptionsInput name.")
    def assumptions(self) -> JSON:
        return camel_keys(self.assumptions)  # type: ignore[arg-type]

    @strawberry.field(description="ARV - purchase price - repairs, before costs.")
    def expected_profit(self) -> Decimal | None:
        return self.expected_profit  # type: ignore[return-value]

    @strawberry.field(description="Statuses this deal may move to next.")
    def allowed_transitions(self) -> list[DealStatus]:
        return list(allowed_transitions(domain.DealStatus(self.status)))  # type: ignore[arg-type]

    @strawberry.field
    async def property(self, info: Info) -> Property | None:
        return await info.context.loaders.property_by_id.load(self.property_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The team and their roles.")
    async def team(self, info: Info) -> list[DealMember]:
        return await resolve.members(info.context, self)  # type: ignore[arg-type,return-value]

    @strawberry.field(description="Offers, newest first.")
    async def offers(self, info: Info) -> list[Offer]:
        return await resolve.offers(info.context, self)  # type: ignore[arg-type,return-value]

    @strawberry.field(description="What happened on this deal, newest first.")
    async def timeline(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[TimelineEntry]:
        return await resolve.timeline(info.context, self, first, after)  # type: ignore[arg-type,return-value]

    @strawberry.field(description="Budgets by category with spending.")
    async def budgets(self, info: Info) -> list[Budget]:
        return await resolve_finance.deal_budgets(info.context, self)  # type: ignore[arg-type,return-value]

    @strawberry.field(description="The deal's transactions, newest first.")
    async def transactions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Transaction]:
        return await resolve_finance.deal_transactions(info.context, self, first, after)  # type: ignore[arg-type,return-value]

    @strawberry.field(description="Rehab projects of this deal.")
    async def construction_projects(
        self, info: Info
    ) -> list[Annotated[ConstructionProject, strawberry.lazy("schema.construction")]]:
        info.context.require("construction:read")
        return await info.context.loaders.projects_by_deal_id.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field(description="Documents of this deal you can see, newest first.")
    async def documents(
        self, info: Info
    ) -> list[Annotated[Document, strawberry.lazy("schema.document")]]:
        info.context.require("documents:read")
        return await info.context.loaders.documents_by_deal_id.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field(
        description="Metrics for the strategy; given assumptions override the deal's."
    )
    async def analysis(
        self, info: Info, assumptions: AnalysisAssumptionsInput | None = None
    ) -> DealAnalysis:
        result = await resolve_finance.analysis(info.context, self, assumptions)  # type: ignore[arg-type]
        return analysis_for_display(result)  # type: ignore[return-value]

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, domain.Deal)


@strawberry.type(name="DealConnection", description="A page of deals (Relay connection).")
class DealConnection(Connection[Deal]):
    pass


@strawberry.input
class DealFilter:
    status: list[DealStatus] | None = None
    strategy: list[DealStrategy] | None = None
    property_id: strawberry.ID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@strawberry.input
class DealCreateInput:
    property_id: strawberry.ID
    strategy: DealStrategy
    name: str | None = UNSET
    purchase_price: Decimal | None = UNSET
    estimated_repairs: Decimal | None = UNSET
    arv: Decimal | None = UNSET


@strawberry.input(description="Omitted fields stay as they are.")
class DealUpdateInput:
    name: str | None = UNSET
    strategy: DealStrategy | None = UNSET
    purchase_price: Decimal | None = UNSET
    estimated_repairs: Decimal | None = UNSET
    arv: Decimal | None = UNSET
    assumptions: AnalysisAssumptionsInput | None = strawberry.field(
        default=UNSET, description="Merged into the saved assumptions."
    )


@strawberry.input
class OfferInput:
    amount: Decimal
    party: OfferParty | None = UNSET
    earnest_money: Decimal | None = UNSET
    closing_date: date | None = UNSET
    contingencies: list[str] | None = UNSET
    expires_at: datetime | None = UNSET
    note: str | None = UNSET


@strawberry.type
class DealPayload:
    deal: Deal | None
    errors: list[UserError]


@strawberry.type
class OfferPayload:
    offer: Offer | None
    counter_offer: Offer | None = strawberry.field(description="The new offer made by COUNTER.")
    errors: list[UserError]


@strawberry.type
class TimelineEntryPayload:
    entry: TimelineEntry | None
    errors: list[UserError]


@strawberry.type
class DealQuery:
    @strawberry.field(
        description="A deal by ID; null when not found.", extensions=requires("deals:read")
    )
    async def deal(self, info: Info, id: strawberry.ID) -> Deal | None:
        return await resolve.deal_by_id(info.context, id)  # type: ignore[return-value]

    @strawberry.field(description="Deals, newest first.", extensions=requires("deals:read"))
    async def deals(
        self,
        info: Info,
        filter: DealFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> DealConnection:
        return await resolve.deals(info.context, filter, first, after)  # type: ignore[return-value]


@strawberry.type
class DealMutation:
    @strawberry.mutation(extensions=requires("deals:write"))
    async def deal_create(self, info: Info, input: DealCreateInput) -> DealPayload:
        return await resolve.deal_create(info.context, input)  # type: ignore[return-value]

    @strawberry.mutation(extensions=requires("deals:write"))
    async def deal_update(
        self, info: Info, id: strawberry.ID, input: DealUpdateInput
    ) -> DealPayload:
        return await resolve.deal_update(info.context, id, input)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Move a deal along its status machine.", extensions=requires("deals:write")
    )
    async def deal_status_change(
        self, info: Info, id: strawberry.ID, status: DealStatus, note: str | None = None
    ) -> DealPayload:
        return await resolve.deal_status_change(info.context, id, status, note)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Add a user to the team, or change their role.",
        extensions=requires("deals:write"),
    )
    async def deal_member_set(
        self, info: Info, deal_id: strawberry.ID, user_id: strawberry.ID, role: DealRole
    ) -> DealPayload:
        return await resolve.deal_member_set(info.context, deal_id, user_id, role)  # type: ignore[return-value]

    @strawberry.mutation(extensions=requires("deals:write"))
    async def deal_member_remove(
        self, info: Info, deal_id: strawberry.ID, user_id: strawberry.ID
    ) -> DealPayload:
        return await resolve.deal_member_remove(info.context, deal_id, user_id)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Make an offer; a deal in ANALYZING moves to OFFER_MADE.",
        extensions=requires("offers:write"),
    )
    async def offer_submit(
        self, info: Info, deal_id: strawberry.ID, input: OfferInput
    ) -> OfferPayload:
        return await resolve.offer_submit(info.context, deal_id, input)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Accept (the deal goes UNDER_CONTRACT), reject, counter or withdraw an offer.",
        extensions=requires("offers:write"),
    )
    async def offer_respond(
        self,
        info: Info,
        id: strawberry.ID,
        action: OfferAction,
        counter_amount: Decimal | None = None,
    ) -> OfferPayload:
        return await resolve.offer_respond(info.context, id, action, counter_amount)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Comment on a deal; @name@example.com mentions a user of your tenant.",
        extensions=requires("timeline:comment"),
    )
    async def timeline_comment_add(
        self, info: Info, deal_id: strawberry.ID, body: str
    ) -> TimelineEntryPayload:
        return await resolve.timeline_comment_add(info.context, deal_id, body)  # type: ignore[return-value]
