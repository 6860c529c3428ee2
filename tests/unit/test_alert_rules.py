"""System alert rules: who is told about a bid or a blown budget, in what words, and once."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from domain.alert import (
    ALERT_CREATED,
    Alert,
    AlertKind,
    DealTeam,
    TeamMember,
    bid_received,
    budget_exceeded,
    created_event,
    deal_of,
    dedupe_key,
    system_alerts,
)
from domain.events import Event
from domain.permissions import Role

TENANT = uuid4()
DEAL = uuid4()
PROPERTY = uuid4()
ADMIN, ANALYST, VIEWER = uuid4(), uuid4(), uuid4()


def team(*members: tuple[UUID, Role]) -> DealTeam:
    chosen = members or ((ADMIN, Role.ADMIN), (ANALYST, Role.ANALYST), (VIEWER, Role.VIEWER))
    return DealTeam(
        deal_id=DEAL,
        name="12 Elm St flip",
        property_id=PROPERTY,
        members=tuple(TeamMember(user, role) for user, role in chosen),
    )


def event(event_type: str, payload: dict, actor: UUID | None = ADMIN) -> Event:
    return Event(
        event_type=event_type,
        aggregate_type="project" if event_type.startswith("bid.") else "deal",
        aggregate_id=uuid4(),
        tenant_id=TENANT,
        payload={"deal_id": str(DEAL), **payload},
        actor_id=actor,
    )


BID = {"bid_id": str(uuid4()), "contractor": "Acme Roofing", "amount": "12500", "kind": "RECEIVED"}
OVER = {"budget_id": str(uuid4()), "category": "REPAIRS", "amount": "10000.00", "spent": "10250.5"}


def test_a_bid_alerts_the_team_except_whoever_entered_it() -> None:
    received = event("bid.received", BID, actor=ADMIN)
    alerts = bid_received(received, team())
    assert [a.user_id for a in alerts] == [ANALYST, VIEWER]
    first = alerts[0]
    assert first.kind == "BID_RECEIVED"
    assert first.title == "Bid received: Acme Roofing $12,500.00"
    assert first.body == "Acme Roofing bid $12,500.00 on the rehab of 12 Elm St flip."
    assert (first.deal_id, first.property_id, first.tenant_id) == (DEAL, PROPERTY, TENANT)
    assert first.source_event_id == received.event_id
    assert first.dedupe_key == f"BID_RECEIVED:{received.event_id}"
    assert first.score is None and first.reasons == []
    assert first.id is None and first.seq is None  # not stored yet


def test_a_bid_without_an_actor_alerts_the_whole_team() -> None:
    alerts = bid_received(event("bid.received", BID, actor=None), team())
    assert [a.user_id for a in alerts] == [ADMIN, ANALYST, VIEWER]


def test_a_bid_entered_by_the_only_member_alerts_no_one() -> None:
    assert bid_received(event("bid.received", BID), team((ADMIN, Role.ADMIN))) == []


def test_a_blown_budget_alerts_the_whole_team_spender_included() -> None:
    over = event("budget.exceeded", OVER, actor=ANALYST)
    alerts = budget_exceeded(over, team())
    assert [a.user_id for a in alerts] == [ADMIN, ANALYST, VIEWER]
    assert alerts[0].kind == "BUDGET_EXCEEDED"
    assert alerts[0].title == "Repairs budget exceeded: $10,250.50 spent of $10,000.00"
    assert alerts[0].body == (
        "12 Elm St flip: repairs spending is $10,250.50, $250.50 over its $10,000.00 budget."
    )
    assert {a.dedupe_key for a in alerts} == {f"BUDGET_EXCEEDED:{over.event_id}"}


def test_categories_read_as_words() -> None:
    payload = {**OVER, "category": "CLEANING_MAINTENANCE"}
    title = budget_exceeded(event("budget.exceeded", payload), team())[0].title
    assert title.startswith("Cleaning maintenance budget exceeded: ")


def test_someone_twice_on_a_team_is_told_once() -> None:
    twice = team((ANALYST, Role.ANALYST), (ANALYST, Role.ANALYST), (VIEWER, Role.VIEWER))
    alerts = budget_exceeded(event("budget.exceeded", OVER), twice)
    assert [a.user_id for a in alerts] == [ANALYST, VIEWER]


def test_the_same_cause_has_the_same_dedupe_key_and_different_causes_do_not() -> None:
    one, other = uuid4(), uuid4()
    assert dedupe_key(AlertKind.BID_RECEIVED, one) == dedupe_key(AlertKind.BID_RECEIVED, one)
    assert dedupe_key(AlertKind.BID_RECEIVED, one) != dedupe_key(AlertKind.BID_RECEIVED, other)
    assert dedupe_key(AlertKind.BID_RECEIVED, one) != dedupe_key(AlertKind.BUDGET_EXCEEDED, one)


def test_only_bids_and_budgets_raise_system_alerts() -> None:
    assert len(system_alerts(event("bid.received", BID), team())) == 2
    assert len(system_alerts(event("budget.exceeded", OVER), team())) == 3
    for other in ("bid.awarded", "deal.status_changed", "timeline.entry_added", ALERT_CREATED):
        assert system_alerts(event(other, BID), team()) == []


def test_the_deal_comes_from_the_payload() -> None:
    assert deal_of(event("bid.received", BID)) == DEAL
    bare = Event("bid.received", "project", uuid4(), TENANT, {"contractor": "A", "amount": "1"})
    assert deal_of(bare) is None


def test_a_stored_alert_is_announced_on_its_recipients_channel() -> None:
    alert = Alert(
        tenant_id=TENANT,
        user_id=ANALYST,
        kind="BID_RECEIVED",
        title="Bid received",
        dedupe_key="BID_RECEIVED:x",
        id=uuid4(),
        seq=41,
    )
    announced = created_event(alert, correlation_id="req-1")
    assert announced.event_type == "alert.created"
    assert (announced.aggregate_type, announced.aggregate_id) == ("alert", alert.id)
    assert announced.payload == {
        "alert_id": str(alert.id),
        "user_id": str(ANALYST),
        "seq": 41,
        "kind": "BID_RECEIVED",
    }
    assert announced.correlation_id == "req-1"
    with pytest.raises(ValueError):
        created_event(Alert(TENANT, ANALYST, "BID_RECEIVED", "t", "k"))
