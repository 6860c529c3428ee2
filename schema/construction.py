"""Rehab projects, contractors, bids, tasks, change orders, inspections and progress."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import UNSET
from strawberry.types import Info

from domain import construction as domain
from resolvers import construction as resolve
from resolvers.ids import to_global_id
from schema.auth import User
from schema.common import Connection, Node, UserError
from schema.permissions import requires

if TYPE_CHECKING:
    from schema.deal import Deal
    from schema.document import Photo

ProjectStatus = strawberry.enum(domain.ProjectStatus, name="ConstructionProjectStatus")
Trade = strawberry.enum(domain.Trade, name="Trade")
BidStatus = strawberry.enum(domain.BidStatus, name="BidStatus")
TaskStatus = strawberry.enum(
    domain.TaskStatus, name="TaskStatus", description="TODO -> IN_PROGRESS -> BLOCKED | DONE."
)
InspectionStatus = strawberry.enum(domain.InspectionStatus, name="InspectionStatus")
DealRef = Annotated["Deal", strawberry.lazy("schema.deal")]
PhotoRef = Annotated["Photo", strawberry.lazy("schema.document")]


def _gid(type_name: str, obj: object) -> strawberry.ID:
    return strawberry.ID(to_global_id(type_name, obj.id))  # type: ignore[attr-defined]


@strawberry.type(description="A contractor; one whose insurance has lapsed can't be awarded.")
class Contractor(Node):
    name: str
    trade: Trade
    license_number: str | None
    insurance_expires_on: date | None
    rating: Decimal | None = strawberry.field(description="0 to 5.")
    email: str | None
    phone: str | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return _gid("Contractor", self)

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, domain.Contractor)


@strawberry.type(description="A contractor's price for a project's work.")
class Bid(Node):
    amount: Decimal
    scope: str | None
    status: BidStatus
    decided_at: datetime | None
    created_at: datetime | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return _gid("Bid", self)

    @strawberry.field
    async def contractor(self, info: Info) -> Contractor | None:
        return await info.context.loaders.contractor_by_id.load(self.contractor_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def project(self, info: Info) -> ConstructionProject | None:
        return await info.context.loaders.project_by_id.load(self.project_id)  # type: ignore[attr-defined]

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, domain.Bid)


@strawberry.type(description="A piece of rehab work; milestones announce themselves when done.")
class Task(Node):
    title: str
    status: TaskStatus
    milestone: bool
    due_date: date | None
    budget: Decimal | None
    completed_at: datetime | None
    created_at: datetime | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return _gid("Task", self)

    @strawberry.field
    async def assignee(self, info: Info) -> User | None:
        if self.assignee_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.user_by_id.load(self.assignee_id)  # type: ignore[attr-defined]

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, domain.Task)


@strawberry.type(description="A change to the committed cost (positive adds, negative credits).")
class ChangeOrder:
    description: str
    amount: Decimal
    created_at: datetime | None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return _gid("ChangeOrder", self)


@strawberry.type(description="A scheduled inspection and its outcome.")
class Inspection(Node):
    title: str
    scheduled_for: datetime
    status: InspectionStatus
    inspector: str | None
    notes: str | None
    completed_at: datetime | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return _gid("Inspection", self)

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, domain.Inspection)


@strawberry.type(description="Work done and money committed against the budget.")
class Progress:
    percent_complete: Decimal = strawberry.field(
        description="Done tasks weighted by budget share (by count when no task has a budget)."
    )
    tasks_done: int
    tasks_total: int
    budget: Decimal
    committed: Decimal = strawberry.field(description="The awarded bid.")
    change_orders: Decimal
    spent: Decimal = strawberry.field(description="The deal's repairs and capex, net of refunds.")
    variance: Decimal = strawberry.field(description="budget - (committed + change orders).")


@strawberry.type(description="The rehab of a deal.")
class ConstructionProject(Node):
    name: str
    scope: str | None
    budget: Decimal
    status: ProjectStatus
    start_date: date | None
    target_end_date: date | None
    created_at: datetime | None

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return _gid("ConstructionProject", self)

    @strawberry.field
    async def deal(self, info: Info) -> DealRef | None:
        return await info.context.loaders.deal_by_id.load(self.deal_id)  # type: ignore[attr-defined]

    @strawberry.field(description="Bids in the order they came in.")
    async def bids(self, info: Info) -> list[Bid]:
        return await info.context.loaders.bids_by_project_id.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field
    async def tasks(self, info: Info) -> list[Task]:
        return await info.context.loaders.tasks_by_project_id.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field
    async def change_orders(self, info: Info) -> list[ChangeOrder]:
        return await info.context.loaders.change_orders_by_project_id.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field
    async def inspections(self, info: Info) -> list[Inspection]:
        return await info.context.loaders.inspections_by_project_id.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field(description="Uploaded photos, newest first.")
    async def photos(self, info: Info) -> list[PhotoRef]:
        return await info.context.loaders.photos_by_project_id.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field
    async def progress(self, info: Info) -> Progress:
        return await resolve.project_progress(info.context, self)  # type: ignore[arg-type,return-value]

    @classmethod
    def is_type_of(cls, obj: object, info: Info) -> bool:
        return isinstance(obj, domain.Project)


@strawberry.type(name="ConstructionProjectConnection")
class ConstructionProjectConnection(Connection[ConstructionProject]):
    pass


@strawberry.input
class ConstructionProjectFilter:
    deal_id: strawberry.ID | None = None
    status: list[ProjectStatus] | None = None


@strawberry.input
class ContractorFilter:
    trade: list[Trade] | None = None


@strawberry.input
class ConstructionProjectInput:
    deal_id: strawberry.ID
    name: str
    budget: Decimal
    scope: str | None = UNSET
    start_date: date | None = UNSET
    target_end_date: date | None = UNSET


@strawberry.input
class ContractorInput:
    name: str
    trade: Trade
    license_number: str | None = UNSET
    insurance_expires_on: date | None = UNSET
    rating: Decimal | None = UNSET
    email: str | None = UNSET
    phone: str | None = UNSET


@strawberry.input
class BidInput:
    contractor_id: strawberry.ID
    amount: Decimal
    scope: str | None = UNSET


@strawberry.input
class TaskInput:
    title: str
    milestone: bool | None = UNSET
    due_date: date | None = UNSET
    assignee_id: strawberry.ID | None = UNSET
    budget: Decimal | None = UNSET


@strawberry.input(description="Omitted fields stay as they are.")
class TaskUpdateInput:
    title: str | None = UNSET
    status: TaskStatus | None = UNSET
    milestone: bool | None = UNSET
    due_date: date | None = UNSET
    assignee_id: strawberry.ID | None = UNSET
    budget: Decimal | None = UNSET


@strawberry.input
class ChangeOrderInput:
    description: str
    amount: Decimal = strawberry.field(description="Positive adds cost, negative is a credit.")


@strawberry.input
class InspectionInput:
    title: str
    scheduled_for: datetime
    inspector: str | None = UNSET


@strawberry.input
class InspectionResultInput:
    status: InspectionStatus = strawberry.field(description="PASSED or FAILED.")
    notes: str | None = strawberry.field(default=UNSET, description="Required when FAILED.")


@strawberry.type
class ConstructionProjectPayload:
    project: ConstructionProject | None
    errors: list[UserError]


@strawberry.type
class ContractorPayload:
    contractor: Contractor | None
    errors: list[UserError]


@strawberry.type
class BidPayload:
    bid: Bid | None
    errors: list[UserError]


@strawberry.type
class TaskPayload:
    task: Task | None
    errors: list[UserError]


@strawberry.type
class ChangeOrderPayload:
    change_order: ChangeOrder | None
    errors: list[UserError]


@strawberry.type
class InspectionPayload:
    inspection: Inspection | None
    errors: list[UserError]


@strawberry.type
class ConstructionQuery:
    @strawberry.field(extensions=requires("construction:read"))
    async def construction_project(
        self, info: Info, id: strawberry.ID
    ) -> ConstructionProject | None:
        return await resolve.project_by_id(info.context, id)  # type: ignore[return-value]

    @strawberry.field(
        description="Projects, newest first.", extensions=requires("construction:read")
    )
    async def construction_projects(
        self,
        info: Info,
        filter: ConstructionProjectFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ConstructionProjectConnection:
        return await resolve.projects(info.context, filter, first, after)  # type: ignore[return-value]

    @strawberry.field(description="Contractors by name.", extensions=requires("construction:read"))
    async def contractors(
        self,
        info: Info,
        filter: ContractorFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Contractor]:
        return await resolve.contractors_page(info.context, filter, first, after)  # type: ignore[return-value]


W = requires("construction:write")


@strawberry.type
class ConstructionMutation:
    @strawberry.mutation(extensions=W)
    async def construction_project_create(
        self, info: Info, input: ConstructionProjectInput
    ) -> ConstructionProjectPayload:
        return await resolve.project_create(info.context, input)  # type: ignore[return-value]

    @strawberry.mutation(extensions=W)
    async def contractor_create(self, info: Info, input: ContractorInput) -> ContractorPayload:
        return await resolve.contractor_create(info.context, input)  # type: ignore[return-value]

    @strawberry.mutation(extensions=W)
    async def bid_submit(
        self, info: Info, project_id: strawberry.ID, input: BidInput
    ) -> BidPayload:
        return await resolve.bid_submit(info.context, project_id, input)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Award a bid: the others are rejected and its amount is committed.",
        extensions=W,
    )
    async def bid_award(self, info: Info, id: strawberry.ID) -> BidPayload:
        return await resolve.bid_award(info.context, id)  # type: ignore[return-value]

    @strawberry.mutation(extensions=W)
    async def task_create(
        self, info: Info, project_id: strawberry.ID, input: TaskInput
    ) -> TaskPayload:
        return await resolve.task_create(info.context, project_id, input)  # type: ignore[return-value]

    @strawberry.mutation(extensions=W)
    async def task_update(
        self, info: Info, id: strawberry.ID, input: TaskUpdateInput
    ) -> TaskPayload:
        return await resolve.task_update(info.context, id, input)  # type: ignore[return-value]

    @strawberry.mutation(extensions=W)
    async def change_order_create(
        self, info: Info, project_id: strawberry.ID, input: ChangeOrderInput
    ) -> ChangeOrderPayload:
        return await resolve.change_order_create(info.context, project_id, input)  # type: ignore[return-value]

    @strawberry.mutation(extensions=W)
    async def inspection_schedule(
        self, info: Info, project_id: strawberry.ID, input: InspectionInput
    ) -> InspectionPayload:
        return await resolve.inspection_schedule(info.context, project_id, input)  # type: ignore[return-value]

    @strawberry.mutation(extensions=W)
    async def inspection_record(
        self, info: Info, id: strawberry.ID, input: InspectionResultInput
    ) -> InspectionPayload:
        return await resolve.inspection_record(info.context, id, input)  # type: ignore[return-value]
