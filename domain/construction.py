"""Rehab projects: contractors, bids and awards, tasks and milestones, change orders, progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import Enum
from uuid import UUID

from domain.errors import DomainError, ErrorCode


class ProjectStatus(Enum):
    ACTIVE = "ACTIVE"
    ON_HOLD = "ON_HOLD"
    COMPLETED = "COMPLETED"


class Trade(Enum):
    GENERAL = "GENERAL"
    DEMOLITION = "DEMOLITION"
    ELECTRICAL = "ELECTRICAL"
    PLUMBING = "PLUMBING"
    HVAC = "HVAC"
    ROOFING = "ROOFING"
    CARPENTRY = "CARPENTRY"
    DRYWALL = "DRYWALL"
    PAINTING = "PAINTING"
    FLOORING = "FLOORING"
    MASONRY = "MASONRY"
    LANDSCAPING = "LANDSCAPING"
    OTHER = "OTHER"


class BidStatus(Enum):
    SUBMITTED = "SUBMITTED"
    AWARDED = "AWARDED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"


class TaskStatus(Enum):
    TODO = "TODO"
    IN_PROGRESS = "IN_PROGRESS"
    BLOCKED = "BLOCKED"
    DONE = "DONE"


class InspectionStatus(Enum):
    SCHEDULED = "SCHEDULED"
    PASSED = "PASSED"
    FAILED = "FAILED"


T = TaskStatus
TASK_TRANSITIONS: dict[TaskStatus, tuple[TaskStatus, ...]] = {
    T.TODO: (T.IN_PROGRESS, T.BLOCKED),
    T.IN_PROGRESS: (T.BLOCKED, T.DONE),
    T.BLOCKED: (T.IN_PROGRESS,),
    T.DONE: (),
}
PERCENT = Decimal("0.01")


@dataclass(slots=True)
class Project:
    id: UUID
    tenant_id: UUID
    deal_id: UUID
    name: str
    budget: Decimal
    status: str
    scope: str | None = None
    start_date: date | None = None
    target_end_date: date | None = None
    created_by: UUID | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class Contractor:
    id: UUID
    tenant_id: UUID
    name: str
    trade: str
    license_number: str | None = None
    insurance_expires_on: date | None = None
    rating: Decimal | None = None
    email: str | None = None
    phone: str | None = None
    created_at: datetime | None = None

    def insured_on(self, day: date) -> bool:
        """Whether the contractor's insurance covers day (unknown expiry counts as uninsured)."""
        return self.insurance_expires_on is not None and self.insurance_expires_on >= day


@dataclass(slots=True)
class Bid:
    id: UUID
    seq: int
    tenant_id: UUID
    project_id: UUID
    contractor_id: UUID
    amount: Decimal
    status: str
    scope: str | None = None
    submitted_by: UUID | None = None
    decided_by: UUID | None = None
    decided_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(slots=True)
class Task:
    id: UUID
    seq: int
    tenant_id: UUID
    project_id: UUID
    title: str
    status: str
    milestone: bool = False
    due_date: date | None = None
    assignee_id: UUID | None = None
    budget: Decimal | None = None
    completed_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class ChangeOrder:
    id: UUID
    tenant_id: UUID
    project_id: UUID
    description: str
    amount: Decimal
    created_by: UUID | None = None
    created_at: datetime | None = None


@dataclass(slots=True)
class Inspection:
    id: UUID
    tenant_id: UUID
    project_id: UUID
    title: str
    scheduled_for: datetime
    status: str
    inspector: str | None = None
    notes: str | None = None
    completed_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Progress:
    percent_complete: Decimal
    tasks_done: int
    tasks_total: int
    budget: Decimal
    committed: Decimal
    change_orders: Decimal
    spent: Decimal
    variance: Decimal


def check_task_transition(current: TaskStatus, target: TaskStatus) -> None:
    """Raise INVALID_TRANSITION naming the allowed statuses when a task move is not allowed."""
    allowed = TASK_TRANSITIONS[current]
    if target not in allowed:
        names = ", ".join(s.value for s in allowed) or "none (the task is done)"
        raise DomainError.of(
            ErrorCode.INVALID_TRANSITION,
            f"A {current.value} task cannot move to {target.value}. Allowed: {names}.",
            "input",
            "status",
        )


def check_award(bid: Bid, contractor: Contractor, bids: list[Bid], today: date) -> None:
    """A submitted bid may be awarded once per project, to an insured contractor."""
    if any(other.status == BidStatus.AWARDED.value for other in bids):
        raise DomainError.of(ErrorCode.CONFLICT, "A bid on this project was already awarded.", "id")
    if bid.status != BidStatus.SUBMITTED.value:
        raise DomainError.of(
            ErrorCode.INVALID_TRANSITION,
            f"Only submitted bids can be awarded; this one is {bid.status}.",
            "id",
        )
    if not contractor.insured_on(today):
        expiry = contractor.insurance_expires_on
        when = f"expired on {expiry.isoformat()}" if expiry else "is not on file"
        raise DomainError.of(
            ErrorCode.INVALID, f"{contractor.name}'s insurance {when}; it can't be awarded.", "id"
        )


def progress(
    budget: Decimal, tasks: list[Task], committed: Decimal, change_orders: Decimal, spent: Decimal
) -> Progress:
    """Done tasks weighted by budget share (by count when no task has a budget); variance."""
    done = [task for task in tasks if task.status == TaskStatus.DONE.value]
    budgeted = sum((task.budget or Decimal(0) for task in tasks), Decimal(0))
    if not tasks:
        share = Decimal(0)
    elif budgeted > 0:
        share = sum((task.budget or Decimal(0) for task in done), Decimal(0)) / budgeted
    else:
        share = Decimal(len(done)) / Decimal(len(tasks))
    return Progress(
        percent_complete=(share * 100).quantize(PERCENT, ROUND_HALF_EVEN),
        tasks_done=len(done),
        tasks_total=len(tasks),
        budget=budget,
        committed=committed,
        change_orders=change_orders,
        spent=spent,
        variance=budget - (committed + change_orders),
    )
