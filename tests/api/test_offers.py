"""Offers through the real API: submitting moves a deal to OFFER_MADE, answers (accept, reject,
counter, withdraw) move it on or back, expiry, one accepted offer per deal even under a race,
roles, and what each answer leaves on the timeline and in the outbox."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from server.app import create_app
from tests.api.test_deals import (
    ADMIN,
    ANALYST,
    OTHER_ADMIN,
    STATUS_CHANGE,
    UNDERWRITER,
    VIEWER,
    deal_at,
    entries,
    error_fields,
    event_types,
    get_deal,
    global_id,
    iso,
    local_id,
    money,
    outbox,
    run,
    stored_deal,
    top_code,
)
from tests.conftest import Api, make_settings

OFFER_FIELDS = """
  id party amount earnestMoney closingDate contingencies note expiresAt respondedAt createdAt
  status deal { id status }
  parent { id amount party status }
  submittedBy { email } respondedBy { email }
"""
ERRORS = "errors { field message code }"
SUBMIT = f"""mutation($dealId: ID!, $input: OfferInput!) {{
  offerSubmit(dealId: $dealId, input: $input) {{ offer {{ {OFFER_FIELDS} }} {ERRORS} }} }}"""
RESPOND = f"""mutation($id: ID!, $action: OfferAction!, $counterAmount: Decimal) {{
  offerRespond(id: $id, action: $action, counterAmount: $counterAmount) {{
    offer {{ {OFFER_FIELDS} }} counterOffer {{ {OFFER_FIELDS} }} {ERRORS} }} }}"""
DEAL_OFFERS = f"""query($id: ID!) {{ deal(id: $id) {{
  id status allowedTransitions offers {{ {OFFER_FIELDS} }} }} }}"""
OFFER_NODE = f"query($id: ID!) {{ node(id: $id) {{ id ... on Offer {{ {OFFER_FIELDS} }} }} }}"


# ---------------------------------------------------------------- helpers


def submit(api: Api, deal_id: str, user: str = UNDERWRITER, **fields: Any) -> dict:
    """offerSubmit's payload; amount defaults to 200000."""
    variables = {"dealId": deal_id, "input": {"amount": "200000", **fields}}
    return run(api, SUBMIT, variables, user)["offerSubmit"]


def make_offer(api: Api, deal_id: str, user: str = UNDERWRITER, **fields: Any) -> dict:
    payload = submit(api, deal_id, user, **fields)
    assert payload["errors"] == [], payload["errors"]
    return payload["offer"]


def respond(
    api: Api,
    offer_id: str,
    action: str,
    counter_amount: str | None = None,
    user: str = UNDERWRITER,
) -> dict:
    variables = {"id": offer_id, "action": action, "counterAmount": counter_amount}
    return run(api, RESPOND, variables, user)["offerRespond"]


def deal_offers(api: Api, deal_id: str, user: str = ADMIN) -> dict:
    deal = run(api, DEAL_OFFERS, {"id": deal_id}, user)["deal"]
    assert deal is not None
    return deal


def offer_made(api: Api, offers: int = 1) -> tuple[dict, list[dict]]:
    """A deal in OFFER_MADE with the given number of pending offers (oldest first)."""
    deal = deal_at(api, "ANALYZING")
    made = [make_offer(api, deal["id"], amount=f"{200000 + n * 1000}") for n in range(offers)]
    return deal, made


def future(seconds: float = 3600) -> str:
    return iso(datetime.now(UTC) + timedelta(seconds=seconds))


def expire(db: Any, offer_id: str) -> None:
    """Move an offer's expiry into the past, straight in the database."""
    db(
        "UPDATE offers SET expires_at = now() - interval '1 minute' WHERE id = $1",
        local_id(offer_id),
    )


def offer_rows(db: Any, deal_id: str) -> dict[uuid.UUID, str]:
    """Stored offer statuses of a deal by offer ID."""
    rows = db("SELECT id, status FROM offers WHERE deal_id = $1", local_id(deal_id))
    return {row[0]: row[1] for row in rows}


def new_events(db: Any, deal_id: str, before: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    events = outbox(db, deal_id)
    assert events[: len(before)] == before
    return events[len(before) :]


# ---------------------------------------------------------------- offerSubmit


def test_an_offer_on_an_analyzing_deal_moves_it_to_offer_made(api: Api, db: Any) -> None:
    deal = deal_at(api, "ANALYZING")
    before = outbox(db, deal["id"])
    closing = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    expires = future()
    payload = submit(
        api,
        deal["id"],
        amount="187500.50",
        earnestMoney="5000",
        closingDate=closing,
        contingencies=["  inspection   period ", "financing"],
        expiresAt=expires,
        note="Cash, quick close",
    )
    assert payload["errors"] == []
    offer = payload["offer"]
    assert offer["party"] == "BUYER"
    assert offer["status"] == "PENDING"
    assert money(offer["amount"]) == Decimal("187500.50")
    assert money(offer["earnestMoney"]) == Decimal("5000")
    assert offer["closingDate"] == closing
    assert offer["contingencies"] == ["inspection period", "financing"]
    assert offer["note"] == "Cash, quick close"
    assert datetime.fromisoformat(offer["expiresAt"]) == datetime.fromisoformat(expires)
    assert offer["respondedAt"] is None and offer["respondedBy"] is None
    assert offer["parent"] is None
    assert offer["submittedBy"] == {"email": UNDERWRITER}
    assert offer["deal"] == {"id": deal["id"], "status": "OFFER_MADE"}

    seen = deal_offers(api, deal["id"])
    assert seen["status"] == "OFFER_MADE"
    assert seen["allowedTransitions"] == ["UNDER_CONTRACT", "ANALYZING", "DEAD"]
    assert seen["offers"] == [offer]
    assert run(api, OFFER_NODE, {"id": offer["id"]}, user=VIEWER)["node"] == offer

    submitted, moved, *_ = entries(api, deal["id"])
    assert submitted["kind"] == "OFFER_SUBMITTED"
    assert submitted["actor"]["email"] == UNDERWRITER
    assert submitted["data"]["offer_id"] == str(local_id(offer["id"]))
    assert "187,500.50" in submitted["message"]
    assert moved["kind"] == "STATUS_CHANGED"
    assert (moved["data"]["from"], moved["data"]["to"]) == ("ANALYZING", "OFFER_MADE")
    events = new_events(db, deal["id"], before)
    assert [kind for kind, _ in events] == [
        "deal.status_changed",
        "timeline.entry_added",
        "offer.received",
        "timeline.entry_added",
    ]
    assert events[2][1]["offer_id"] == str(local_id(offer["id"]))
    assert events[2][1]["amount"] == "187500.50"


def test_more_offers_on_an_offer_made_deal_keep_it_there(api: Api, db: Any) -> None:
    deal, (first,) = offer_made(api)
    before = outbox(db, deal["id"])
    second = make_offer(api, deal["id"], user=ADMIN, amount="210000", party="SELLER")
    assert second["party"] == "SELLER"
    assert second["deal"]["status"] == "OFFER_MADE"
    seen = deal_offers(api, deal["id"])
    assert [offer["id"] for offer in seen["offers"]] == [second["id"], first["id"]]
    assert [kind for kind, _ in new_events(db, deal["id"], before)] == [
        "offer.received",
        "timeline.entry_added",
    ]
    assert entries(api, deal["id"])[0]["kind"] == "OFFER_SUBMITTED"


@pytest.mark.parametrize("status", ["LEAD", "UNDER_CONTRACT", "CLOSED", "DEAD"])
def test_offers_only_on_analyzing_or_offer_made_deals(api: Api, db: Any, status: str) -> None:
    deal = deal_at(api, status)
    before = stored_deal(db, deal["id"])
    payload = submit(api, deal["id"])
    assert payload["offer"] is None
    assert error_fields(payload["errors"]) == [("INVALID_TRANSITION", ("dealId",))]
    message = payload["errors"][0]["message"]
    assert "ANALYZING" in message and "OFFER_MADE" in message
    assert stored_deal(db, deal["id"]) == before
    assert get_deal(api, deal["id"])["status"] == status


OFFER_ERRORS: list[tuple[str, dict[str, Any], list[tuple[str, tuple[str, ...]]]]] = [
    ("zero", {"amount": "0"}, [("INVALID", ("input", "amount"))]),
    ("negative", {"amount": "-100"}, [("INVALID", ("input", "amount"))]),
    ("not-a-number", {"amount": "NaN"}, [("INVALID", ("input", "amount"))]),
    ("three-decimals", {"amount": "100.001"}, [("INVALID", ("input", "amount"))]),
    ("implausible", {"amount": "5000000000"}, [("INVALID", ("input", "amount"))]),
    ("negative-earnest", {"earnestMoney": "-1"}, [("INVALID", ("input", "earnestMoney"))]),
    ("earnest-decimals", {"earnestMoney": "1.234"}, [("INVALID", ("input", "earnestMoney"))]),
    ("expired", {"expiresAt": "2020-01-01T00:00:00+00:00"}, [("INVALID", ("input", "expiresAt"))]),
    (
        "just-expired",
        {"expiresAt": iso(datetime.now(UTC) - timedelta(seconds=5))},
        [("INVALID", ("input", "expiresAt"))],
    ),
    (
        "blank-contingency",
        {"contingencies": ["ok", "  "]},
        [("INVALID", ("input", "contingencies"))],
    ),
    (
        "too-many-contingencies",
        {"contingencies": [f"c{n}" for n in range(21)]},
        [("INVALID", ("input", "contingencies"))],
    ),
    ("long-note", {"note": "n" * 2001}, [("INVALID", ("input", "note"))]),
    (
        "all-at-once",
        {"amount": "-1", "earnestMoney": "-1", "expiresAt": "2020-01-01T00:00:00Z"},
        [
            ("INVALID", ("input", "amount")),
            ("INVALID", ("input", "earnestMoney")),
            ("INVALID", ("input", "expiresAt")),
        ],
    ),
]


@pytest.mark.parametrize(
    ("fields", "expected"), [pytest.param(f, e, id=name) for name, f, e in OFFER_ERRORS]
)
def test_bad_offers_are_invalid_and_change_nothing(
    api: Api, db: Any, fields: dict[str, Any], expected: list[tuple[str, tuple[str, ...]]]
) -> None:
    deal = deal_at(api, "ANALYZING")
    before = stored_deal(db, deal["id"])
    payload = submit(api, deal["id"], **fields)
    assert payload["offer"] is None
    assert error_fields(payload["errors"]) == expected
    assert stored_deal(db, deal["id"]) == before
    assert get_deal(api, deal["id"])["status"] == "ANALYZING"


def test_submit_to_an_unknown_or_malformed_deal(api: Api) -> None:
    unknown = submit(api, global_id("Deal", uuid.uuid4()))
    assert error_fields(unknown["errors"]) == [("NOT_FOUND", ("dealId",))]
    for bad in ("nope", global_id("Property", uuid.uuid4())):
        assert error_fields(submit(api, bad)["errors"]) == [("INVALID", ("dealId",))]


# ---------------------------------------------------------------- offerRespond


def test_accept_puts_the_deal_under_contract_in_the_same_response(api: Api, db: Any) -> None:
    deal, (offer,) = offer_made(api)
    before = outbox(db, deal["id"])
    payload = respond(api, offer["id"], "ACCEPT", user=ADMIN)
    assert payload["errors"] == []
    assert payload["counterOffer"] is None
    accepted = payload["offer"]
    assert accepted["status"] == "ACCEPTED"
    assert accepted["deal"] == {"id": deal["id"], "status": "UNDER_CONTRACT"}
    assert accepted["respondedBy"] == {"email": ADMIN}
    assert accepted["respondedAt"]
    assert get_deal(api, deal["id"])["status"] == "UNDER_CONTRACT"
    assert offer_rows(db, deal["id"]) == {local_id(offer["id"]): "ACCEPTED"}

    moved, answered, *_ = entries(api, deal["id"])
    assert answered["kind"] == "OFFER_RESPONDED"
    assert answered["data"]["status"] == "ACCEPTED"
    assert answered["data"]["offer_id"] == str(local_id(offer["id"]))
    assert answered["actor"]["email"] == ADMIN
    assert moved["kind"] == "STATUS_CHANGED"
    assert (moved["data"]["from"], moved["data"]["to"]) == ("OFFER_MADE", "UNDER_CONTRACT")
    events = new_events(db, deal["id"], before)
    assert [kind for kind, _ in events] == [
        "offer.responded",
        "timeline.entry_added",
        "deal.status_changed",
        "timeline.entry_added",
    ]
    assert events[0][1]["status"] == "ACCEPTED"
    assert events[0][1]["offer_id"] == str(local_id(offer["id"]))
    assert (events[2][1]["from"], events[2][1]["to"]) == ("OFFER_MADE", "UNDER_CONTRACT")


def test_rejecting_the_last_pending_offer_moves_the_deal_back_to_analyzing(
    api: Api, db: Any
) -> None:
    deal, (first, second) = offer_made(api, offers=2)
    payload = respond(api, first["id"], "REJECT")
    assert payload["errors"] == []
    assert payload["offer"]["status"] == "REJECTED"
    assert payload["offer"]["deal"]["status"] == "OFFER_MADE"  # the second one is still open
    assert entries(api, deal["id"])[0]["kind"] == "OFFER_RESPONDED"
    assert "deal.status_changed" not in event_types(db, deal["id"])[-2:]

    before = outbox(db, deal["id"])
    payload = respond(api, second["id"], "REJECT")
    assert payload["errors"] == []
    assert payload["offer"]["status"] == "REJECTED"
    assert payload["offer"]["deal"]["status"] == "ANALYZING"
    moved, answered, *_ = entries(api, deal["id"])
    assert answered["kind"] == "OFFER_RESPONDED" and answered["data"]["status"] == "REJECTED"
    assert (moved["data"]["from"], moved["data"]["to"]) == ("OFFER_MADE", "ANALYZING")
    assert [kind for kind, _ in new_events(db, deal["id"], before)] == [
        "offer.responded",
        "timeline.entry_added",
        "deal.status_changed",
        "timeline.entry_added",
    ]
    # A new offer moves it forward again.
    assert make_offer(api, deal["id"])["deal"]["status"] == "OFFER_MADE"


def test_an_expired_offer_does_not_keep_the_deal_in_offer_made(api: Api, db: Any) -> None:
    deal, (stale, live) = offer_made(api, offers=2)
    expire(db, stale["id"])
    payload = respond(api, live["id"], "REJECT")
    assert payload["offer"]["deal"]["status"] == "ANALYZING"


def test_counter_creates_a_pending_offer_from_the_other_party(api: Api, db: Any) -> None:
    deal, (offer,) = offer_made(api)
    before = stored_deal(db, deal["id"])
    missing = respond(api, offer["id"], "COUNTER")
    assert error_fields(missing["errors"]) == [("INVALID", ("counterAmount",))]
    for bad in ("0", "-5", "1.001"):
        invalid = respond(api, offer["id"], "COUNTER", counter_amount=bad)
        assert error_fields(invalid["errors"]) == [("INVALID", ("counterAmount",))], bad
    stray = respond(api, offer["id"], "ACCEPT", counter_amount="1000")
    assert error_fields(stray["errors"]) == [("INVALID", ("counterAmount",))]
    assert stored_deal(db, deal["id"]) == before

    events_before = outbox(db, deal["id"])
    payload = respond(api, offer["id"], "COUNTER", counter_amount="215000")
    assert payload["errors"] == []
    countered, counter = payload["offer"], payload["counterOffer"]
    assert countered["status"] == "COUNTERED"
    assert countered["respondedBy"] == {"email": UNDERWRITER}
    assert counter["status"] == "PENDING"
    assert counter["party"] == "SELLER"
    assert money(counter["amount"]) == Decimal("215000")
    assert counter["parent"]["id"] == offer["id"]
    assert counter["parent"]["status"] == "COUNTERED"
    assert counter["deal"]["status"] == "OFFER_MADE"
    seen = deal_offers(api, deal["id"])
    assert seen["status"] == "OFFER_MADE"
    assert [o["id"] for o in seen["offers"]] == [counter["id"], offer["id"]]

    submitted, answered, *_ = entries(api, deal["id"])
    assert answered["kind"] == "OFFER_RESPONDED" and answered["data"]["status"] == "COUNTERED"
    assert submitted["kind"] == "OFFER_SUBMITTED"
    assert submitted["data"]["offer_id"] == str(local_id(counter["id"]))
    assert submitted["data"]["party"] == "SELLER"
    assert [kind for kind, _ in new_events(db, deal["id"], events_before)] == [
        "offer.responded",
        "timeline.entry_added",
        "offer.received",
        "timeline.entry_added",
    ]

    # A counter to the counter comes from the buyer again, and can be accepted.
    again = respond(api, counter["id"], "COUNTER", counter_amount="210000", user=ADMIN)
    assert again["counterOffer"]["party"] == "BUYER"
    assert again["counterOffer"]["parent"]["id"] == counter["id"]
    accepted = respond(api, again["counterOffer"]["id"], "ACCEPT")
    assert accepted["offer"]["status"] == "ACCEPTED"
    assert accepted["offer"]["deal"]["status"] == "UNDER_CONTRACT"


def test_withdraw(api: Api, db: Any) -> None:
    deal, (first, second) = offer_made(api, offers=2)
    withdrawn = respond(api, first["id"], "WITHDRAW")
    assert withdrawn["errors"] == []
    assert withdrawn["offer"]["status"] == "WITHDRAWN"
    assert withdrawn["offer"]["deal"]["status"] == "OFFER_MADE"
    last = respond(api, second["id"], "WITHDRAW")
    assert last["offer"]["status"] == "WITHDRAWN"
    assert last["offer"]["deal"]["status"] == "ANALYZING"
    assert set(offer_rows(db, deal["id"]).values()) == {"WITHDRAWN"}
    assert entries(api, deal["id"])[1]["data"]["status"] == "WITHDRAWN"


@pytest.mark.parametrize("answer", ["REJECT", "WITHDRAW", "ACCEPT"])
def test_answering_an_offer_that_is_no_longer_pending(api: Api, db: Any, answer: str) -> None:
    deal, (offer, other) = offer_made(api, offers=2)
    assert respond(api, offer["id"], answer)["errors"] == []
    final = {"ACCEPT": "ACCEPTED", "REJECT": "REJECTED", "WITHDRAW": "WITHDRAWN"}[answer]
    before = stored_deal(db, deal["id"])
    for action, amount in (("ACCEPT", None), ("REJECT", None), ("WITHDRAW", None)):
        payload = respond(api, offer["id"], action, amount)
        assert payload["offer"] is None
        assert error_fields(payload["errors"]) == [("INVALID_TRANSITION", ("id",))], action
        assert final in payload["errors"][0]["message"]
    counter = respond(api, offer["id"], "COUNTER", "199000")
    assert error_fields(counter["errors"]) == [("INVALID_TRANSITION", ("id",))]
    assert stored_deal(db, deal["id"]) == before
    assert offer_rows(db, deal["id"])[local_id(offer["id"])] == final


def test_an_offer_past_its_expiry_shows_expired_and_cannot_be_accepted(api: Api, db: Any) -> None:
    deal, (offer,) = offer_made(api)
    expire(db, offer["id"])
    seen = deal_offers(api, deal["id"])
    assert [o["status"] for o in seen["offers"]] == ["EXPIRED"]
    assert run(api, OFFER_NODE, {"id": offer["id"]})["node"]["status"] == "EXPIRED"
    before = stored_deal(db, deal["id"])
    for action, amount in (("ACCEPT", None), ("COUNTER", "190000"), ("REJECT", None)):
        payload = respond(api, offer["id"], action, amount)
        assert payload["offer"] is None
        assert error_fields(payload["errors"]) == [("EXPIRED", ("id",))], action
    assert stored_deal(db, deal["id"]) == before
    assert get_deal(api, deal["id"])["status"] == "OFFER_MADE"


def test_an_offer_expires_in_real_time(api: Api, db: Any) -> None:
    deal = deal_at(api, "ANALYZING")
    offer = make_offer(api, deal["id"], expiresAt=future(1.5))
    assert offer["status"] == "PENDING"
    time.sleep(2)
    assert run(api, OFFER_NODE, {"id": offer["id"]})["node"]["status"] == "EXPIRED"
    payload = respond(api, offer["id"], "ACCEPT")
    assert error_fields(payload["errors"]) == [("EXPIRED", ("id",))]
    assert get_deal(api, deal["id"])["status"] == "OFFER_MADE"
    assert offer_rows(db, deal["id"]) == {local_id(offer["id"]): "PENDING"}


def test_a_second_accept_on_the_same_deal_is_a_conflict(api: Api, db: Any) -> None:
    deal, (first, second) = offer_made(api, offers=2)
    assert respond(api, first["id"], "ACCEPT")["offer"]["status"] == "ACCEPTED"
    before = stored_deal(db, deal["id"])
    payload = respond(api, second["id"], "ACCEPT")
    assert payload["offer"] is None
    assert error_fields(payload["errors"]) == [("CONFLICT", ("id",))]
    assert stored_deal(db, deal["id"]) == before
    assert offer_rows(db, deal["id"]) == {
        local_id(first["id"]): "ACCEPTED",
        local_id(second["id"]): "PENDING",
    }
    assert get_deal(api, deal["id"])["status"] == "UNDER_CONTRACT"


def test_a_leftover_offer_can_be_rejected_without_moving_a_deal_under_contract(
    api: Api, db: Any
) -> None:
    deal, (first, second) = offer_made(api, offers=2)
    respond(api, first["id"], "ACCEPT")
    payload = respond(api, second["id"], "REJECT")
    assert payload["errors"] == []
    assert payload["offer"]["status"] == "REJECTED"
    assert payload["offer"]["deal"]["status"] == "UNDER_CONTRACT"
    changes = [p["to"] for kind, p in outbox(db, deal["id"]) if kind == "deal.status_changed"]
    assert changes == ["ANALYZING", "OFFER_MADE", "UNDER_CONTRACT"]


def test_an_offer_on_a_dead_deal_cannot_be_accepted(api: Api, db: Any) -> None:
    deal, (offer,) = offer_made(api)
    run(api, STATUS_CHANGE, {"id": deal["id"], "status": "DEAD"})
    before = stored_deal(db, deal["id"])
    payload = respond(api, offer["id"], "ACCEPT")
    assert payload["offer"] is None
    assert [error["code"] for error in payload["errors"]] == ["INVALID_TRANSITION"]
    assert stored_deal(db, deal["id"]) == before
    assert offer_rows(db, deal["id"]) == {local_id(offer["id"]): "PENDING"}
    assert get_deal(api, deal["id"])["status"] == "DEAD"


def test_answering_an_unknown_or_malformed_offer(api: Api) -> None:
    unknown = respond(api, global_id("Offer", uuid.uuid4()), "ACCEPT")
    assert error_fields(unknown["errors"]) == [("NOT_FOUND", ("id",))]
    for bad in ("nope", global_id("Deal", uuid.uuid4())):
        assert error_fields(respond(api, bad, "ACCEPT")["errors"]) == [("INVALID", ("id",))]


def test_the_other_tenant_cannot_answer_demo_offers(api: Api, db: Any) -> None:
    deal, (offer,) = offer_made(api)
    before = stored_deal(db, deal["id"])
    for action, amount in (("ACCEPT", None), ("COUNTER", "1000"), ("REJECT", None)):
        payload = respond(api, offer["id"], action, amount, user=OTHER_ADMIN)
        assert error_fields(payload["errors"]) == [("NOT_FOUND", ("id",))]
    assert run(api, OFFER_NODE, {"id": offer["id"]}, user=OTHER_ADMIN)["node"] is None
    assert stored_deal(db, deal["id"]) == before


@pytest.mark.parametrize("user", [ANALYST, VIEWER])
def test_offers_need_offers_write(api: Api, db: Any, user: str) -> None:
    deal, (offer,) = offer_made(api)
    before = stored_deal(db, deal["id"])
    submitted = api.as_user(user, SUBMIT, {"dealId": deal["id"], "input": {"amount": "1000"}})
    assert top_code(submitted) == "FORBIDDEN"
    answered = api.as_user(user, RESPOND, {"id": offer["id"], "action": "ACCEPT"})
    assert top_code(answered) == "FORBIDDEN"
    assert stored_deal(db, deal["id"]) == before
    assert offer_rows(db, deal["id"]) == {local_id(offer["id"]): "PENDING"}
    # Reading offers needs only deals:read.
    assert [o["id"] for o in deal_offers(api, deal["id"], user=user)["offers"]] == [offer["id"]]


# ---------------------------------------------------------------- concurrent accepts


def test_concurrent_accepts_leave_exactly_one_accepted_offer(
    api: Api, db: Any, app_url: Any, redis_url: str
) -> None:
    races = [offer_made(api, offers=2) for _ in range(5)]
    headers = {"Authorization": f"Bearer {api.token(UNDERWRITER)}"}

    async def race() -> list[list[dict]]:
        app = create_app(make_settings(redis_url), app_url)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

                async def accept(offer_id: str) -> dict:
                    body = {"query": RESPOND, "variables": {"id": offer_id, "action": "ACCEPT"}}
                    response = await client.post("/graphql", json=body, headers=headers)
                    assert response.status_code == 200, response.text
                    result = response.json()
                    assert "errors" not in result, result
                    return result["data"]["offerRespond"]

                results = []
                for _, (first, second) in races:
                    results.append(
                        list(await asyncio.gather(accept(first["id"]), accept(second["id"])))
                    )
                return results

    outcomes = asyncio.run(race())
    for (deal, offers), payloads in zip(races, outcomes, strict=True):
        winners = [i for i, p in enumerate(payloads) if p["errors"] == []]
        assert len(winners) == 1, payloads
        winner, loser = offers[winners[0]], offers[1 - winners[0]]
        won, lost = payloads[winners[0]], payloads[1 - winners[0]]
        assert won["offer"]["status"] == "ACCEPTED"
        assert won["offer"]["deal"]["status"] == "UNDER_CONTRACT"
        assert lost["offer"] is None
        assert [e["code"] for e in lost["errors"]] == ["CONFLICT"]
        assert get_deal(api, deal["id"])["status"] == "UNDER_CONTRACT"
        assert offer_rows(db, deal["id"]) == {
            local_id(winner["id"]): "ACCEPTED",
            local_id(loser["id"]): "PENDING",
        }
        changes = [p for kind, p in outbox(db, deal["id"]) if kind == "deal.status_changed"]
        assert [p["to"] for p in changes] == ["ANALYZING", "OFFER_MADE", "UNDER_CONTRACT"]
        responded = [p for kind, p in outbox(db, deal["id"]) if kind == "offer.responded"]
        assert [p["offer_id"] for p in responded] == [str(local_id(winner["id"]))]
