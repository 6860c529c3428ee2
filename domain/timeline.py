"""Timeline entries: what happened on a deal, by whom, with the data behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID


class TimelineKind(Enum):
    DEAL_CREATED = "DEAL_CREATED"
    DEAL_UPDATED = "DEAL_UPDATED"
    STATUS_CHANGED = "STATUS_CHANGED"
    MEMBER_ADDED = "MEMBER_ADDED"
    MEMBER_REMOVED = "MEMBER_REMOVED"
    OFFER_SUBMITTED = "OFFER_SUBMITTED"
    OFFER_RESPONDED = "OFFER_RESPONDED"
    BUDGET_SET = "BUDGET_SET"
    BUDGET_EXCEEDED = "BUDGET_EXCEEDED"
    TRANSACTION_ADDED = "TRANSACTION_ADDED"
    COMMENT = "COMMENT"
    PROJECT_CREATED = "PROJECT_CREATED"
    BID_RECEIVED = "BID_RECEIVED"
    BID_AWARDED = "BID_AWARDED"
    TASK_COMPLETED = "TASK_COMPLETED"
    MILESTONE_REACHED = "MILESTONE_REACHED"
    CHANGE_ORDER_CREATED = "CHANGE_ORDER_CREATED"
    INSPECTION_RECORDED = "INSPECTION_RECORDED"
    DOCUMENT_ADDED = "DOCUMENT_ADDED"


MAX_COMMENT_LENGTH = 5000


@dataclass(slots=True)
class TimelineEntry:
    id: UUID
    seq: int
    tenant_id: UUID
    deal_id: UUID
    kind: str
    message: str
    actor_id: UUID | None = None
    data: dict[str, Any] = field(default_factory=dict)
    mentions: list[UUID] = field(default_factory=list)
    created_at: datetime | None = None
