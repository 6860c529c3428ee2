"""Deals, their status machine, team roles, and offers with their responses and expiry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from domain.errors import DomainError, ErrorCode, FieldError


class DealStrategy(Enum):
    FLIP = "FLIP"
    BRRRR = "BRRRR"
    BUY_AND_HOLD = "BUY_AND_HOLD"
    WHOLESALE = "WHOLESALE"


class DealStatus(Enum):
    LEAD = "LEAD"
    ANALYZING = "ANALYZING"
    OFFER_MADE = "OFFER_MADE"
    UNDER_CONTRACT = "UNDER_CONTRACT"
    CLOSED = "CLOSED"
    DEAD = "DEAD"


class DealRole(Enum):
    LEAD = "LEAD"
    ACQUISITIONS = "ACQUISITIONS"
    ANALYST = "ANALYST"
    UNDERWRITER = "UNDERWRITER"
    PROJECT_MANAGER = "PROJECT_MANAGER"
    OBSERVER = "OBSERVER"


class OfferStatus(Enum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    COUNTERED = "COUNTERED"
    WITHDRAWN = "WITHDRAWN"
    EXPIRED = "EXPIRED"


class OfferAction(Enum):
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    COUNTER = "COUNTER"
    WITHDRAW = "WITHDRAW"


class OfferParty(Enum):
    BUYER = "BUYER"
    SELLER = "SELLER"


S = DealStatus
TRANSITIONS: dict[DealStatus, tuple[DealStatus, ...]] = {
    S.LEAD: (S.ANALYZING, S.DEAD),
    S.ANALYZING: (S.OFFER_MADE, S.DEAD),
    S.OFFER_MADE: (S.UNDER_CONTRACT, S.ANALYZING, S.DEAD),
    S.UNDER_CONTRACT: (S.CLOSED, S.DEAD),
    S.CLOSED: (),
    S.DEAD: (),
}
OFFERABLE = (S.ANALYZING, S.OFFER_MADE)
RESULTS_BY_ACTION = {
    OfferAction.ACCEPT: OfferStatus.ACCEPTED,
    OfferAction.REJECT: OfferStatus.REJECTED,
    OfferAction.COUNTER: OfferStatus.COUNTERED,
    OfferAction.WITHDRAW: OfferStatus.WITHDRAWN,
}
MAX_PRICE = Decimal("1000000000")


@dataclass(slots=True)
class Deal:
    id: UUID
    tenant_id: UUID
    property_id: UUID
    name: str
    strategy: str
    status: str
    purchase_price: Decimal | None = None
    estimated_repairs: Decimal | None = None
    arv: Decimal | None = None
    assumptions: dict[str, Any] = field(default_factory=dict)
    created_by: UUID | None = None
    status_changed_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def expected_profit(self) -> Decimal | None:
        """ARV less purchase price and repairs, before any costs."""
        if self.arv is None or self.purchase_price is None:
            return None
        return self.arv - self.purchase_price - (self.estimated_repairs or Decimal(0))


@dataclass(slots=True)
class DealMember:
    deal_id: UUID
    user_id: UUID
    role: str
    added_at: datetime | None = None


@dataclass(slots=True)
class Offer:
    id: UUID
    tenant_id: UUID
    deal_id: UUID
    party: str
    amount: Decimal
    status: str
    parent_id: UUID | None = None
    earnest_money: Decimal | None = None
    closing_date: date | None = None
    contingencies: list[str] = field(default_factory=list)
    note: str | None = None
    expires_at: datetime | None = None
    submitted_by: UUID | None = None
    responded_by: UUID | None = None
    responded_at: datetime | None = None
    created_at: datetime | None = None

    def effective_status(self, now: datetime) -> OfferStatus:
        """The status a user sees: a pending offer past its expiry is EXPIRED."""
        status = OfferStatus(self.status)
        if status is OfferStatus.PENDING and self.expires_at is not None and self.expires_at <= now:
            return OfferStatus.EXPIRED
        return status


def allowed_transitions(status: DealStatus) -> tuple[DealStatus, ...]:
    """Statuses a deal may move to from status."""
    return TRANSITIONS[status]


def check_transition(current: DealStatus, target: DealStatus) -> None:
    """Raise INVALID_TRANSITION naming the allowed statuses when a move is not allowed."""
    allowed = TRANSITIONS[current]
    if target not in allowed:
        names = ", ".join(s.value for s in allowed) or "none (the deal is finished)"
        raise DomainError.of(
            ErrorCode.INVALID_TRANSITION,
            f"A {current.value} deal cannot move to {target.value}. Allowed: {names}.",
            "status",
        )


def check_money(
    value: Decimal | None, path: tuple[str, ...], positive: bool = False
) -> list[FieldError]:
    """Problems with an amount of money: sign, size, cents."""
    if value is None:
        return []
    name = path[-1]
    if not value.is_finite() or value < 0 or (positive and value == 0):
        qualifier = "greater than zero" if positive else "zero or more"
        return [FieldError(ErrorCode.INVALID, f"{name} must be {qualifier}.", path)]
    if value > MAX_PRICE:
        return [
            FieldError(ErrorCode.INVALID, f"{name} above {MAX_PRICE:,} is not plausible.", path)
        ]
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        return [FieldError(ErrorCode.INVALID, f"{name} has more than two decimal places.", path)]
    return []


def validate_deal_fields(values: dict[str, Any]) -> None:
    """Raise every problem with deal values (name and money fields that are present)."""
    errors: list[FieldError] = []
    if "name" in values and values["name"] is not None:
        name = values["name"]
        if not name.strip() or len(name) > 200:
            errors.append(
                FieldError(ErrorCode.INVALID, "name must be 1-200 characters.", ("input", "name"))
            )
    for key, label in (
        ("purchase_price", "purchasePrice"),
        ("estimated_repairs", "estimatedRepairs"),
        ("arv", "arv"),
    ):
        errors += check_money(values.get(key), ("input", label))
    if errors:
        raise DomainError(*errors)


def respond(
    offer: Offer, action: OfferAction, now: datetime, counter_amount: Decimal | None
) -> OfferStatus:
    """The offer's new status for an action, or the reason it cannot be taken."""
    current = offer.effective_status(now)
    if current is OfferStatus.EXPIRED:
        raise DomainError.of(
            ErrorCode.EXPIRED, f"This offer expired at {offer.expires_at:%Y-%m-%d %H:%M} UTC.", "id"
        )
    if current is not OfferStatus.PENDING:
        raise DomainError.of(
            ErrorCode.INVALID_TRANSITION,
            f"Only pending offers can be answered; this one is {current.value}.",
            "id",
        )
    if action is OfferAction.COUNTER:
        if counter_amount is None:
            raise DomainError.of(
                ErrorCode.INVALID, "A counter needs counterAmount.", "counterAmount"
            )
        errors = check_money(counter_amount, ("counterAmount",), positive=True)
        if errors:
            raise DomainError(*errors)
    elif counter_amount is not None:
        raise DomainError.of(
            ErrorCode.INVALID, "counterAmount is only for COUNTER.", "counterAmount"
        )
    return RESULTS_BY_ACTION[action]


def counter_party(party: OfferParty) -> OfferParty:
    """Who answers a counter-offer."""
    return OfferParty.SELLER if party is OfferParty.BUYER else OfferParty.BUYER


MENTION = re.compile(r"(?<![\w.+-])@([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def mentioned_emails(body: str) -> list[str]:
    """E-mails @mentioned in a comment, lower-cased, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in MENTION.finditer(body):
        seen.setdefault(match.group(1).lower().rstrip("."), None)
    return list(seen)
