"""Alerts: what a user is told, and the rules that turn domain events into alerts.

System alerts come from events on a deal and go to its team: BID_RECEIVED (a contractor bid
on the deal's rehab; not to the person who entered it) and BUDGET_EXCEEDED (to everyone on
the deal). Each alert names its cause in a dedupe key, so handling an event twice alerts no
one twice. PROPERTY_MATCH (saved searches) and OFFER_EXPIRING (time-based) use the same
Alert and dedupe keys; their rules come later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from domain.events import Event
from domain.money import money_text
from domain.permissions import Role, can


class AlertKind(Enum):
    PROPERTY_MATCH = "PROPERTY_MATCH"
    BUDGET_EXCEEDED = "BUDGET_EXCEEDED"
    BID_RECEIVED = "BID_RECEIVED"
    OFFER_EXPIRING = "OFFER_EXPIRING"


ALERT_CREATED = "alert.created"
MAX_TITLE = 300
MAX_BODY = 5000


@dataclass(slots=True)
class Alert:
    """One user's alert. id, seq and created_at are set once it is stored."""

    tenant_id: UUID
    user_id: UUID
    kind: str
    title: str
    dedupe_key: str
    body: str = ""
    score: int | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    property_id: UUID | None = None
    deal_id: UUID | None = None
    saved_search_id: UUID | None = None
    source_event_id: UUID | None = None
    id: UUID | None = None
    seq: int | None = None
    read_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TeamMember:
    user_id: UUID
    role: Role


@dataclass(frozen=True, slots=True)
class DealTeam:
    """The deal an event is about, and the active users on its team."""

    deal_id: UUID
    name: str
    property_id: UUID | None
    members: tuple[TeamMember, ...]


def dedupe_key(kind: AlertKind, cause: UUID | str) -> str:
    """The same cause never alerts the same user twice: `<kind>:<cause>`."""
    return f"{kind.value}:{cause}"


def _label(category: str) -> str:
    """A Schedule E category for people: CLEANING_MAINTENANCE -> Cleaning maintenance."""
    return category.replace("_", " ").capitalize()


def _recipients(team: DealTeam, permission: str, skip: UUID | None = None) -> list[UUID]:
    """Team members whose role may read what the alert is about, once each, in team order."""
    seen: set[UUID] = set()
    chosen = []
    for member in team.members:
        if member.user_id == skip or member.user_id in seen:
            continue
        if can(member.role, permission):
            seen.add(member.user_id)
            chosen.append(member.user_id)
    return chosen


def _for_each(
    event: Event, team: DealTeam, kind: AlertKind, users: Sequence[UUID], title: str, body: str
) -> list[Alert]:
    return [
        Alert(
            tenant_id=event.tenant_id,
            user_id=user_id,
            kind=kind.value,
            title=title[:MAX_TITLE],
            body=body[:MAX_BODY],
            dedupe_key=dedupe_key(kind, event.event_id),
            property_id=team.property_id,
            deal_id=team.deal_id,
            source_event_id=event.event_id,
        )
        for user_id in users
    ]


def bid_received(event: Event, team: DealTeam) -> list[Alert]:
    """A contractor bid on the deal's rehab: tell the team, except whoever entered the bid."""
    contractor = str(event.payload["contractor"])
    amount = money_text(Decimal(event.payload["amount"]))
    users = _recipients(team, "construction:read", skip=event.actor_id)
    title = f"Bid received: {contractor} {amount}"
    body = f"{contractor} bid {amount} on the rehab of {team.name}."
    return _for_each(event, team, AlertKind.BID_RECEIVED, users, title, body)


def budget_exceeded(event: Event, team: DealTeam) -> list[Alert]:
    """Spending crossed a budget: tell the whole team (the person who spent included)."""
    category = _label(str(event.payload["category"]))
    budget = Decimal(event.payload["amount"])
    spent = Decimal(event.payload["spent"])
    users = _recipients(team, "finance:read")
    title = f"{category} budget exceeded: {money_text(spent)} spent of {money_text(budget)}"
    body = (
        f"{team.name}: {category.lower()} spending is {money_text(spent)}, "
        f"{money_text(spent - budget)} over its {money_text(budget)} budget."
    )
    return _for_each(event, team, AlertKind.BUDGET_EXCEEDED, users, title, body)


SYSTEM_ALERTS: dict[str, Callable[[Event, DealTeam], list[Alert]]] = {
    "bid.received": bid_received,
    "budget.exceeded": budget_exceeded,
}


def system_alerts(event: Event, team: DealTeam) -> list[Alert]:
    """The alerts an event on a deal raises (none for events that raise no alert)."""
    rule = SYSTEM_ALERTS.get(event.event_type)
    return rule(event, team) if rule else []


def deal_of(event: Event) -> UUID | None:
    """The deal an event is about, when its payload names one."""
    raw = event.payload.get("deal_id")
    return UUID(str(raw)) if raw else None


def created_event(alert: Alert, correlation_id: str | None = None) -> Event:
    """`alert.created`, routed to the recipient's own channel by its payload's user_id."""
    if alert.id is None or alert.seq is None:
        raise ValueError("an alert is announced once it is stored")
    return Event(
        event_type=ALERT_CREATED,
        aggregate_type="alert",
        aggregate_id=alert.id,
        tenant_id=alert.tenant_id,
        payload={
            "alert_id": str(alert.id),
            "user_id": str(alert.user_id),
            "seq": alert.seq,
            "kind": alert.kind,
        },
        correlation_id=correlation_id,
    )
