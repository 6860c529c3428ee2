"""Seeding the session database again changes nothing; the demo tenant has its demo deals."""

from __future__ import annotations

import asyncio
from typing import Any

from persistence.seed import DEMO_TENANTS, seed
from server.auth import Passwords

TABLES = (
    "tenants",
    "users",
    "properties",
    "property_media",
    "property_provenance",
    "deals",
    "deal_members",
    "offers",
    "timeline_entries",
    "accounts",
    "transactions",
    "budgets",
    "outbox",
)
DEMO = DEMO_TENANTS[0]


def counts(db: Any) -> dict[str, int]:
    return {table: db(f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}


def test_seeding_again_changes_no_table(owner_url: str, db: Any) -> None:
    before = counts(db)
    report = asyncio.run(seed(owner_url, Passwords().hash))
    assert counts(db) == before
    assert (report.tenants, report.users, report.properties, report.deals) == (0, 0, 0, 0)


def test_the_demo_tenant_has_deals_in_every_status_and_strategy(db: Any) -> None:
    rows = db("SELECT DISTINCT status, strategy FROM deals WHERE tenant_id = $1", DEMO.id)
    assert {status for status, _ in rows} == {
        "LEAD",
        "ANALYZING",
        "OFFER_MADE",
        "UNDER_CONTRACT",
        "CLOSED",
        "DEAD",
    }
    assert {strategy for _, strategy in rows} == {"FLIP", "BRRRR", "BUY_AND_HOLD", "WHOLESALE"}


def test_seeded_deals_hold_together(db: Any) -> None:
    seeded = "(SELECT id FROM deals WHERE tenant_id = $1 AND created_at < now() - interval '1 day')"
    accepted = db(
        f"""SELECT d.status, count(o.id) FILTER (WHERE o.status = 'ACCEPTED')
            FROM deals d LEFT JOIN offers o ON o.tenant_id = d.tenant_id AND o.deal_id = d.id
            WHERE d.tenant_id = $1 AND d.id IN {seeded} GROUP BY d.id, d.status""",
        DEMO.id,
    )
    assert len(accepted) >= 38
    for status, count in accepted:
        assert count == (1 if status in ("UNDER_CONTRACT", "CLOSED") else 0), status
    # Timeline sequence numbers follow time, so the newest-first timeline reads in order.
    disordered = db(
        f"""SELECT count(*) FROM (
              SELECT created_at, lag(created_at) OVER (PARTITION BY deal_id ORDER BY seq) AS prev
              FROM timeline_entries WHERE tenant_id = $1 AND deal_id IN {seeded}) t
            WHERE prev >= created_at""",
        DEMO.id,
    )
    assert disordered[0][0] == 0
    signed = db(
        f"""SELECT count(*) FILTER (WHERE category = 'RENTS' AND amount <= 0),
                   count(*) FILTER (WHERE category IN ('REPAIRS', 'TAXES', 'INSURANCE',
                                    'MORTGAGE_INTEREST', 'UTILITIES', 'MANAGEMENT_FEES')
                                    AND amount >= 0),
                   count(*)
            FROM transactions WHERE tenant_id = $1 AND deal_id IN {seeded}""",
        DEMO.id,
    )
    assert tuple(signed[0])[:2] == (0, 0) and signed[0][2] > 300
    assert db("SELECT count(*) FROM outbox WHERE aggregate_id IN " + seeded, DEMO.id)[0][0] == 0
