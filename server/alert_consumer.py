"""The alert consumer: turns published deal events into system alerts for the deal's team.

`bid.received` -> BID_RECEIVED, `budget.exceeded` -> BUDGET_EXCEEDED (rules in domain/alert.py).
Each stored alert is announced with `alert.created` in the same transaction, which the relay
then publishes to the recipient's own channel for `alertReceived`.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.alert import SYSTEM_ALERTS, deal_of, system_alerts
from domain.events import Event
from persistence import alert as store
from persistence.consumers import OutboxConsumer


class AlertConsumer(OutboxConsumer):
    name = "alerts"
    event_types = tuple(SYSTEM_ALERTS)

    async def handle(self, conn: AsyncConnection, event: Event) -> None:
        deal_id = await self._deal_id(conn, event)
        if deal_id is None:
            return
        team = await store.deal_team(conn, event.tenant_id, deal_id)
        if team is None:
            return
        await store.insert_alerts(conn, system_alerts(event, team), event.correlation_id)

    @staticmethod
    async def _deal_id(conn: AsyncConnection, event: Event) -> UUID | None:
        """The deal the event is about: named in its payload, else its project's deal."""
        deal_id = deal_of(event)
        if deal_id is None and event.aggregate_type == "project":
            deal_id = await store.project_deal_id(conn, event.tenant_id, event.aggregate_id)
        return deal_id
