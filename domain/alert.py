"""Alerts: what a user is told, and the rules that turn domain events into alerts.

System alerts come from events on a deal and go to its team: BID_RECEIVED (a contractor bid
on the deal's rehab; not to the person who entered it) and BUDGET_EXCEEDED (to everyone on
the deal). Each alert names its cause in a dedupe key, so handling an event twice alerts no
one twice. OFFER_EXPIRING is raised by a periodic scan 24 hours before a pending offer expires,
for the deal's team, once per offer. PROPERTY_MATCH tells a saved search's owner that a
property fits their buy box (matching rules in domain/matching.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from domain.events import Event
from domain.matching import Change, Listing, Match
from domain.matching import dedupe_key as match_key
from domain.money import money_text
from domain.permissions import Role, can


class AlertKind(Enum):
    PROPERTY_MATCH = "PROPERTY_MATCH"
    BUDGET_EXCEEDED = "BUDGET_EXCEEDED"
    BID_RECEIVED = "BID_RECEIVED"
    OFFER_EXPIRING = "OFFER_EXPIRING"


ALERT_CREATED = "alert.created"
ALERT_MATCHED = "alert.matched"
OFFER_EXPIRING_WINDOW = timedelta(hours=24)
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
    """`alert.matched` for a saved-search match, `alert.created` for the others; routed to
    the recipient's own channel by the payload's user_id."""
    if alert.id is None or alert.seq is None:
        raise ValueError("an alert is announced once it is stored")
    payload: dict[str, Any] = {
        "alert_id": str(alert.id),
        "user_id": str(alert.user_id),
        "seq": alert.seq,
        "kind": alert.kind,
    }
    matched = alert.kind == AlertKind.PROPERTY_MATCH.value
    if matched:
        payload.update(
            saved_search_id=str(alert.saved_search_id),
            property_id=str(alert.property_id),
            score=alert.score,
        )
    return Event(
        event_type=ALERT_MATCHED if matched else ALERT_CREATED,
        aggregate_type="alert",
        aggregate_id=alert.id,
        tenant_id=alert.tenant_id,
        payload=payload,
        correlation_id=correlation_id,
    )


def property_match(
    owner: UUID, found: Match, listing: Listing, change: Change, event: Event
) -> Alert:
    """A PROPERTY_MATCH alert for a saved search's owner, with the reasons it fits."""
    search = found.search
    price = "no price" if listing.list_price is None else money_text(listing.list_price)
    title = f"New match: {listing.address} at {price}"
    if change.key.startswith("back:"):
        title = f"Back on the market: {listing.address} at {price}"
    why = "; ".join(reason.detail for reason in found.reasons) or "fits every criterion"
    body = f'Fits your saved search "{search.name}" (match score {found.score}): {why}.'
    return Alert(
        tenant_id=listing.tenant_id,
        user_id=owner,
        kind=AlertKind.PROPERTY_MATCH.value,
        title=title[:MAX_TITLE],
        body=body[:MAX_BODY],
        dedupe_key=match_key(search.id, listing.id, change),
        score=found.score,
        reasons=[reason.to_json() for reason in found.reasons],
        property_id=listing.id,
        saved_search_id=search.id,
        source_event_id=event.event_id,
    )


@dataclass(frozen=True, slots=True)
class ExpiringOffer:
    """A pending offer about to expire."""

    offer_id: UUID
    tenant_id: UUID
    deal_id: UUID
    party: str
    amount: Decimal
    expires_at: datetime


def expiring_soon(expires_at: datetime | None, status: str, now: datetime) -> bool:
    """A pending offer is announced once it is within 24 hours of its expiry (and not past)."""
    return (
        status == "PENDING"
        and expires_at is not None
        and now < expires_at <= now + OFFER_EXPIRING_WINDOW
    )


def offer_expiring(offer: ExpiringOffer, team: DealTeam, now: datetime) -> list[Alert]:
    """OFFER_EXPIRING for everyone on the deal's team who may read deals, once per offer."""
    left = offer.expires_at - now
    hours = max(1, round(left.total_seconds() / 3600))
    amount = money_text(offer.amount)
    party = offer.party.lower()
    title = f"Offer expires in {hours} h: {amount} ({party})"
    body = (
        f"The {party}'s offer of {amount} on {team.name} expires at "
        f"{offer.expires_at:%Y-%m-%d %H:%M} UTC. Accept, counter or let it lapse."
    )
    return [
        Alert(
            tenant_id=offer.tenant_id,
            user_id=user_id,
            kind=AlertKind.OFFER_EXPIRING.value,
            title=title[:MAX_TITLE],
            body=body[:MAX_BODY],
            dedupe_key=dedupe_key(AlertKind.OFFER_EXPIRING, offer.offer_id),
            property_id=team.property_id,
            deal_id=team.deal_id,
        )
        for user_id in _recipients(team, "deals:read")
    ]
