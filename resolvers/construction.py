"""Rehab projects: contractors, bids and awards, tasks, change orders, inspections, progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry import UNSET

from domain.construction import (
    Bid,
    BidStatus,
    ChangeOrder,
    Contractor,
    Inspection,
    InspectionStatus,
    Progress,
    Project,
    ProjectStatus,
    Task,
    TaskStatus,
    check_award,
    check_task_transition,
    progress,
)
from domain.deal import check_money
from domain.errors import DomainError, ErrorCode, FieldError, collect
from domain.events import Event
from domain.money import money_text
from domain.timeline import TimelineKind
from persistence import construction as store
from persistence import deal as deal_store
from persistence import users as user_store
from persistence.tables import (
    bids,
    change_orders,
    construction_projects,
    contractors,
    inspections,
    tasks,
)
from resolvers.context import Context
from resolvers.deal import decode, decode_query_id
from resolvers.errors import bad_input, run_write
from resolvers.pagination import Page, build_page, page_size
from resolvers.timeline import record


@dataclass
class Result:
    """A mutation's object (under the payload's name) and its errors."""

    value: Any = None
    errors: list[FieldError] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return self.value


def _text(data: Any, name: str, limit: int, *, required: bool = False) -> str | None:
    value = getattr(data, name, UNSET)
    if value in (UNSET, None):
        if required:
            raise DomainError.of(ErrorCode.INVALID, f"{name} is required.", "input", name)
        return None
    value = " ".join(value.split()) if limit <= 200 else value.strip()
    if (required and not value) or len(value) > limit:
        raise DomainError.of(
            ErrorCode.INVALID, f"{name} must be 1-{limit} characters.", "input", name
        )
    return value or None


def _given(data: Any, name: str) -> Any:
    value = getattr(data, name, UNSET)
    return None if value is UNSET else value


def _project_event(
    ctx: Context, project: Project, event_type: str, payload: dict[str, Any]
) -> Event:
    principal = ctx.require()
    return Event(
        event_type=event_type,
        aggregate_type="project",
        aggregate_id=project.id,
        tenant_id=principal.tenant_id,
        actor_id=principal.user_id,
        payload={"project_id": str(project.id), "deal_id": str(project.deal_id), **payload},
    )


async def _project_for_update(
    conn: AsyncConnection, ctx: Context, project_id: UUID, *path: str
) -> Project:
    project = await store.get_for_update(conn, construction_projects, ctx.tenant_id, project_id)
    if project is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, "No construction project with this ID.", *path)
    return project


async def project_by_id(ctx: Context, global_id: str) -> Project | None:
    ctx.require("construction:read")
    return await ctx.loaders.project_by_id.load(decode_query_id(global_id, "ConstructionProject"))


def _after(sort: Any, after: str | None) -> Any:
    if not after:
        return None
    try:
        return sort.decode(after)
    except DomainError as error:
        raise bad_input(error.errors[0].message) from error


async def projects(
    ctx: Context, filter: Any, first: int | None, after: str | None
) -> Page[Project]:
    principal = ctx.require("construction:read")
    limit = page_size(first)
    position = _after(store.PROJECT_SORT, after)
    deal_id = decode_query_id(filter.deal_id, "Deal") if filter and filter.deal_id else None
    statuses = [s.value for s in filter.status] if filter and filter.status else None
    rows = await store.list_projects(
        ctx.session, principal.tenant_id, deal_id, statuses, position, limit
    )

    async def count() -> int:
        return await store.count_projects(ctx.session, principal.tenant_id, deal_id, statuses)

    return build_page(
        rows, limit, lambda p: store.PROJECT_SORT.cursor(p.created_at, p.id), count, after
    )


async def project_create(ctx: Context, data: Any) -> Result:
    principal = ctx.require("construction:write")
    (deal_id, name, scope, *_), errors = collect(
        lambda: decode(data.deal_id, "Deal", "input", "dealId"),
        lambda: _text(data, "name", 200, required=True),
        lambda: _text(data, "scope", 5000),
        lambda: _raise(check_money(data.budget, ("input", "budget"))),
    )
    start, end = _given(data, "start_date"), _given(data, "target_end_date")
    if start and end and end < start:
        errors.append(
            FieldError(
                ErrorCode.INVALID, "targetEndDate is before startDate.", ("input", "targetEndDate")
            )
        )
    if errors:
        return Result(errors=errors)

    async def create(conn: AsyncConnection) -> Project:
        if await deal_store.get_deal_for_update(conn, principal.tenant_id, deal_id) is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No deal with this ID.", "input", "dealId")
        project = await store.insert_row(
            conn,
            construction_projects,
            principal.tenant_id,
            {
                "deal_id": deal_id,
                "name": name,
                "scope": scope,
                "budget": data.budget,
                "status": ProjectStatus.ACTIVE.value,
                "start_date": start,
                "target_end_date": end,
                "created_by": principal.user_id,
            },
        )
        payload = {"name": name, "budget": str(project.budget)}
        event = _project_event(ctx, project, "project.created", payload)
        message = f"Rehab project {name} created with a {money_text(project.budget)} budget"
        await record(
            conn, ctx, deal_id, TimelineKind.PROJECT_CREATED, message, payload, events=[event]
        )
        return project

    project, errors = await run_write(ctx, create)
    return Result(project, errors)


def _raise(errors: list[FieldError]) -> None:
    if errors:
        raise DomainError(*errors)


async def contractors_page(
    ctx: Context, filter: Any, first: int | None, after: str | None
) -> Page[Contractor]:
    principal = ctx.require("construction:read")
    limit = page_size(first)
    position = _after(store.CONTRACTOR_SORT, after)
    trades = [t.value for t in filter.trade] if filter and filter.trade else None
    rows = await store.list_contractors(ctx.session, principal.tenant_id, trades, position, limit)

    async def count() -> int:
        return await store.count_contractors(ctx.session, principal.tenant_id, trades)

    return build_page(
        rows, limit, lambda c: store.CONTRACTOR_SORT.cursor(c.name, c.id), count, after
    )


async def contractor_create(ctx: Context, data: Any) -> Result:
    principal = ctx.require("construction:write")
    rating = _given(data, "rating")
    (name, license_number, email, phone), errors = collect(
        lambda: _text(data, "name", 200, required=True),
        lambda: _text(data, "license_number", 64),
        lambda: _text(data, "email", 254),
        lambda: _text(data, "phone", 40),
    )
    if rating is not None and (
        not rating.is_finite() or not 0 <= rating <= 5 or rating.as_tuple().exponent < -1
    ):
        errors.append(
            FieldError(ErrorCode.INVALID, "rating is 0 to 5 in steps of 0.1.", ("input", "rating"))
        )
    if errors:
        return Result(errors=errors)

    async def create(conn: AsyncConnection) -> Contractor:
        contractor = await store.insert_contractor(
            conn,
            principal.tenant_id,
            {
                "name": name,
                "trade": data.trade.value,
                "license_number": license_number,
                "insurance_expires_on": _given(data, "insurance_expires_on"),
                "rating": rating,
                "email": email,
                "phone": phone,
            },
        )
        if contractor is None:
            raise DomainError.of(
                ErrorCode.CONFLICT, "A contractor with this name exists.", "input", "name"
            )
        return contractor

    contractor, errors = await run_write(ctx, create)
    return Result(contractor, errors)


async def bid_submit(ctx: Context, project_gid: str, data: Any) -> Result:
    principal = ctx.require("construction:write")
    (project_id, contractor_id, scope, _), errors = collect(
        lambda: decode(project_gid, "ConstructionProject", "projectId"),
        lambda: decode(data.contractor_id, "Contractor", "input", "contractorId"),
        lambda: _text(data, "scope", 5000),
        lambda: _raise(check_money(data.amount, ("input", "amount"), positive=True)),
    )
    if errors:
        return Result(errors=errors)

    async def submit(conn: AsyncConnection) -> Bid:
        project = await _project_for_update(conn, ctx, project_id, "projectId")
        contractor = await store.get_for_update(
            conn, contractors, principal.tenant_id, contractor_id
        )
        if contractor is None:
            raise DomainError.of(
                ErrorCode.NOT_FOUND, "No contractor with this ID.", "input", "contractorId"
            )
        bid = await store.insert_row(
            conn,
            bids,
            principal.tenant_id,
            {
                "project_id": project_id,
                "contractor_id": contractor_id,
                "amount": data.amount,
                "scope": scope,
                "status": BidStatus.SUBMITTED.value,
                "submitted_by": principal.user_id,
            },
        )
        payload = {
            "bid_id": str(bid.id),
            "contractor": contractor.name,
            "amount": str(bid.amount),
            "kind": "RECEIVED",
        }
        event = _project_event(ctx, project, "bid.received", payload)
        message = f"Bid from {contractor.name}: {money_text(bid.amount)}"
        await record(
            conn, ctx, project.deal_id, TimelineKind.BID_RECEIVED, message, payload, events=[event]
        )
        return bid

    bid, errors = await run_write(ctx, submit)
    return Result(bid, errors)


async def bid_award(ctx: Context, global_id: str) -> Result:
    principal = ctx.require("construction:write")
    try:
        bid_id = decode(global_id, "Bid")
    except DomainError as error:
        return Result(errors=list(error.errors))

    async def award(conn: AsyncConnection) -> Bid:
        tenant_id = principal.tenant_id
        found = await store.get_for_update(conn, bids, tenant_id, bid_id, lock=False)
        if found is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No bid with this ID.", "id")
        # The project's lock comes first, so concurrent awards queue instead of deadlocking.
        project = await _project_for_update(conn, ctx, found.project_id, "id")
        siblings = await store.bids_of_project(conn, tenant_id, project.id)
        bid = next(b for b in siblings if b.id == bid_id)
        contractor = await store.get_for_update(conn, contractors, tenant_id, bid.contractor_id)
        check_award(bid, contractor, siblings, datetime.now(UTC).date())
        awarded = await store.update_row(
            conn,
            bids,
            tenant_id,
            bid_id,
            {
                "status": BidStatus.AWARDED.value,
                "decided_by": principal.user_id,
                "decided_at": datetime.now(UTC),
            },
        )
        rejected = await store.reject_other_bids(
            conn, tenant_id, project.id, bid_id, principal.user_id
        )
        payload = {
            "bid_id": str(bid_id),
            "contractor": contractor.name,
            "amount": str(awarded.amount),
            "kind": "AWARDED",
            "rejected_bid_ids": [str(b.id) for b in rejected],
        }
        event = _project_event(ctx, project, "bid.awarded", payload)
        message = f"Awarded to {contractor.name}: {money_text(awarded.amount)} committed"
        await record(
            conn, ctx, project.deal_id, TimelineKind.BID_AWARDED, message, payload, events=[event]
        )
        return awarded

    bid, errors = await run_write(ctx, award)
    return Result(bid, errors)


async def _assignee(conn: AsyncConnection, tenant_id: UUID, global_id: str | None) -> UUID | None:
    if not global_id:
        return None
    user_id = decode(global_id, "User", "input", "assigneeId")
    if await user_store.get_user(conn, tenant_id, user_id) is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, "No user with this ID.", "input", "assigneeId")
    return user_id


async def task_create(ctx: Context, project_gid: str, data: Any) -> Result:
    principal = ctx.require("construction:write")
    budget = _given(data, "budget")
    (project_id, title, _), errors = collect(
        lambda: decode(project_gid, "ConstructionProject", "projectId"),
        lambda: _text(data, "title", 200, required=True),
        lambda: _raise(check_money(budget, ("input", "budget"))),
    )
    if errors:
        return Result(errors=errors)

    async def create(conn: AsyncConnection) -> Task:
        await _project_for_update(conn, ctx, project_id, "projectId")
        return await store.insert_row(
            conn,
            tasks,
            principal.tenant_id,
            {
                "project_id": project_id,
                "title": title,
                "status": TaskStatus.TODO.value,
                "milestone": bool(_given(data, "milestone")),
                "due_date": _given(data, "due_date"),
                "assignee_id": await _assignee(
                    conn, principal.tenant_id, _given(data, "assignee_id")
                ),
                "budget": budget,
            },
        )

    task, errors = await run_write(ctx, create)
    return Result(task, errors)


async def task_update(ctx: Context, global_id: str, data: Any) -> Result:
    principal = ctx.require("construction:write")
    budget = _given(data, "budget")
    (task_id, title, _), errors = collect(
        lambda: decode(global_id, "Task"),
        lambda: _text(data, "title", 200) if _given(data, "title") is not None else None,
        lambda: _raise(check_money(budget, ("input", "budget"))),
    )
    if errors:
        return Result(errors=errors)

    async def apply(conn: AsyncConnection) -> Task:
        tenant_id = principal.tenant_id
        task = await store.get_for_update(conn, tasks, tenant_id, task_id)
        if task is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No task with this ID.", "id")
        project = await _project_for_update(conn, ctx, task.project_id, "id")
        values: dict[str, Any] = {"updated_at": datetime.now(UTC)}
        if title:
            values["title"] = title
        for name in ("milestone", "due_date", "budget"):
            if getattr(data, name, UNSET) is not UNSET:
                values[name] = (
                    getattr(data, name) if name != "milestone" else bool(getattr(data, name))
                )
        if getattr(data, "assignee_id", UNSET) is not UNSET:
            values["assignee_id"] = await _assignee(conn, tenant_id, data.assignee_id)
        status = _given(data, "status")
        completed = False
        if status is not None and status.value != task.status:
            check_task_transition(TaskStatus(task.status), TaskStatus(status.value))
            values["status"] = status.value
            completed = status.value == TaskStatus.DONE.value
            if completed:
                values["completed_at"] = datetime.now(UTC)
        updated = await store.update_row(conn, tasks, tenant_id, task_id, values)
        if completed:
            await _announce_completion(conn, ctx, project, updated)
        return updated

    task, errors = await run_write(ctx, apply)
    return Result(task, errors)


async def _announce_completion(
    conn: AsyncConnection, ctx: Context, project: Project, task: Task
) -> None:
    payload = {"task_id": str(task.id), "title": task.title, "milestone": task.milestone}
    events = [_project_event(ctx, project, "task.completed", payload)]
    kind, message = TimelineKind.TASK_COMPLETED, f"Task done: {task.title}"
    if task.milestone:
        events.append(_project_event(ctx, project, "milestone.reached", payload))
        kind, message = TimelineKind.MILESTONE_REACHED, f"Milestone reached: {task.title}"
    await record(conn, ctx, project.deal_id, kind, message, payload, events=events)


async def change_order_create(ctx: Context, project_gid: str, data: Any) -> Result:
    principal = ctx.require("construction:write")
    amount = data.amount
    (project_id, description), errors = collect(
        lambda: decode(project_gid, "ConstructionProject", "projectId"),
        lambda: _text(data, "description", 2000, required=True),
    )
    if (
        not amount.is_finite()
        or amount == 0
        or abs(amount) > Decimal("1e9")
        or amount.as_tuple().exponent < -2
    ):
        errors.append(
            FieldError(
                ErrorCode.INVALID, "amount must be a non-zero amount in cents.", ("input", "amount")
            )
        )
    if errors:
        return Result(errors=errors)

    async def create(conn: AsyncConnection) -> ChangeOrder:
        project = await _project_for_update(conn, ctx, project_id, "projectId")
        order = await store.insert_row(
            conn,
            change_orders,
            principal.tenant_id,
            {
                "project_id": project_id,
                "description": description,
                "amount": amount,
                "created_by": principal.user_id,
            },
        )
        payload = {
            "change_order_id": str(order.id),
            "amount": str(amount),
            "description": description,
        }
        event = _project_event(ctx, project, "change_order.created", payload)
        message = f"Change order {money_text(amount)}: {description[:120]}"
        await record(
            conn,
            ctx,
            project.deal_id,
            TimelineKind.CHANGE_ORDER_CREATED,
            message,
            payload,
            events=[event],
        )
        return order

    order, errors = await run_write(ctx, create)
    return Result(order, errors)


async def inspection_schedule(ctx: Context, project_gid: str, data: Any) -> Result:
    principal = ctx.require("construction:write")
    (project_id, title, inspector), errors = collect(
        lambda: decode(project_gid, "ConstructionProject", "projectId"),
        lambda: _text(data, "title", 200, required=True),
        lambda: _text(data, "inspector", 200),
    )
    if errors:
        return Result(errors=errors)

    async def create(conn: AsyncConnection) -> Inspection:
        await _project_for_update(conn, ctx, project_id, "projectId")
        return await store.insert_row(
            conn,
            inspections,
            principal.tenant_id,
            {
                "project_id": project_id,
                "title": title,
                "scheduled_for": data.scheduled_for,
                "inspector": inspector,
                "status": InspectionStatus.SCHEDULED.value,
            },
        )

    inspection, errors = await run_write(ctx, create)
    return Result(inspection, errors)


async def inspection_record(ctx: Context, global_id: str, data: Any) -> Result:
    principal = ctx.require("construction:write")
    outcome = InspectionStatus(data.status.value)
    (inspection_id, notes), errors = collect(
        lambda: decode(global_id, "Inspection"), lambda: _text(data, "notes", 5000)
    )
    if outcome is InspectionStatus.SCHEDULED:
        errors.append(
            FieldError(ErrorCode.INVALID, "Record PASSED or FAILED.", ("input", "status"))
        )
    if outcome is InspectionStatus.FAILED and not notes:
        errors.append(
            FieldError(ErrorCode.INVALID, "A failed inspection needs notes.", ("input", "notes"))
        )
    if errors:
        return Result(errors=errors)

    async def apply(conn: AsyncConnection) -> Inspection:
        tenant_id = principal.tenant_id
        inspection = await store.get_for_update(conn, inspections, tenant_id, inspection_id)
        if inspection is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No inspection with this ID.", "id")
        if inspection.status != InspectionStatus.SCHEDULED.value:
            raise DomainError.of(
                ErrorCode.INVALID_TRANSITION,
                f"This inspection was already {inspection.status}.",
                "id",
            )
        project = await _project_for_update(conn, ctx, inspection.project_id, "id")
        updated = await store.update_row(
            conn,
            inspections,
            tenant_id,
            inspection_id,
            {"status": outcome.value, "notes": notes, "completed_at": datetime.now(UTC)},
        )
        payload = {"inspection_id": str(inspection_id), "status": outcome.value, "notes": notes}
        event = _project_event(ctx, project, "inspection.recorded", payload)
        message = f"Inspection {inspection.title}: {outcome.value}" + (
            f" — {notes[:200]}" if notes else ""
        )
        await record(
            conn,
            ctx,
            project.deal_id,
            TimelineKind.INSPECTION_RECORDED,
            message,
            payload,
            events=[event],
        )
        return updated

    inspection, errors = await run_write(ctx, apply)
    return Result(inspection, errors)


async def project_progress(ctx: Context, project: Project) -> Progress:
    loaders = ctx.loaders
    project_tasks = await loaders.tasks_by_project_id.load(project.id)
    project_bids = await loaders.bids_by_project_id.load(project.id)
    orders = await loaders.change_orders_by_project_id.load(project.id)
    spent = await loaders.construction_spent_by_deal_id.load(project.deal_id)
    committed = sum(
        (b.amount for b in project_bids if b.status == BidStatus.AWARDED.value), Decimal("0.00")
    )
    change_total = sum((o.amount for o in orders), Decimal("0.00"))
    return progress(project.budget, project_tasks, committed, change_total, spent)
