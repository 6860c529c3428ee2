"""The delivery worker: sends queued e-mails and webhooks, daily digests, and raises
OFFER_EXPIRING from a periodic scan.

It never blocks the matcher: the matcher only inserts rows; this loop claims due rows (leases,
`FOR UPDATE SKIP LOCKED`, any number of instances), sends them with bounded concurrency and
timeouts outside any transaction, and records the outcome. Failures are retried with
exponential backoff (30 s doubling, up to 6 h, with jitter); a webhook endpoint that fails 8
attempts in a row is disabled. Wakes on `NOTIFY reos_deliveries`, polls as a fallback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain import alert as rules
from domain.alert import OFFER_EXPIRING_WINDOW, Alert
from domain.delivery import (
    DISABLE_AFTER_FAILURES,
    MAX_EMAIL_ATTEMPTS,
    MAX_WEBHOOK_ATTEMPTS,
    Delivery,
    Digest,
    WebhookEndpoint,
    gives_up,
    next_slot,
    retry_delay,
)
from integrations.delivery.email import Email, EmailError, Mailer, mailer_from_settings
from integrations.delivery.messages import digest_email, instant_email, webhook_body
from integrations.delivery.webhook import WebhookError, WebhookSender
from persistence import alert as alert_store
from persistence import delivery as store
from persistence.database import transaction
from persistence.passes import run_passes
from server.alert_consumer import PropertyMatchConsumer
from server.settings import Settings

logger = logging.getLogger("reos.delivery")


@dataclass
class Outcome:
    """What happened to one send: None error means delivered."""

    error: str | None = None
    permanent: bool = False
    skipped: bool = False


class DeliveryWorker:
    def __init__(
        self,
        engine: AsyncEngine,
        mailer: Mailer,
        webhooks: WebhookSender,
        *,
        digest_hour_utc: int = 12,
        batch: int = 50,
        concurrency: int = 10,
        poll_seconds: float = 5.0,
        scan_seconds: float = 60.0,
        lease: timedelta = timedelta(minutes=5),
        disable_after: int = DISABLE_AFTER_FAILURES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.mailer = mailer
        self.webhooks = webhooks
        self.digest_hour_utc = digest_hour_utc
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.scan_seconds = scan_seconds
        self.lease = lease
        self.disable_after = disable_after
        self.clock = clock
        self._limit = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._next_scan = 0.0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Work until cancelled: offers due for an alert every `scan_seconds`, then sends."""
        await run_passes(
            self._pass,
            name="delivery",
            wake=self._wake,
            poll_seconds=self.poll_seconds,
            full=self.batch,
            engine=self.engine,
            channel=store.WAKE_CHANNEL,
        )

    async def _pass(self) -> int:
        if time.monotonic() >= self._next_scan:
            self._next_scan = time.monotonic() + self.scan_seconds
            await self.scan_offers()
        return await self.run_once()

    async def run_once(self, now: datetime | None = None) -> int:
        """Send what is due now (deliveries, then digests); how many rows were taken."""
        now = now or self.clock()
        claimed = await store.claim_deliveries(self.engine, self.batch, self.lease, now)
        by_tenant: dict[UUID, list[Delivery]] = defaultdict(list)
        for delivery in claimed:
            by_tenant[delivery.tenant_id].append(delivery)
        for tenant_id, group in by_tenant.items():
            await self._deliver(tenant_id, group, now)
        digests = await store.claim_digests(self.engine, self.batch, self.lease, now)
        for digest in digests:
            await self._digest(digest, now)
        return len(claimed) + len(digests)

    async def close(self) -> None:
        await self.webhooks.aclose()

    # ------------------------------------------------------------ single deliveries

    async def _deliver(self, tenant_id: UUID, group: list[Delivery], now: datetime) -> None:
        async with transaction(self.engine, tenant_id) as conn:
            found = await store.alerts_with_properties(conn, tenant_id, [d.alert_id for d in group])
            people = await store.recipients(conn, tenant_id, [d.user_id for d in group])
            endpoints = await store.endpoints_in(conn, tenant_id, [d.endpoint_id for d in group])
        outcomes = await asyncio.gather(
            *(self._send_one(d, found.get(d.alert_id), people, endpoints) for d in group)
        )
        async with transaction(self.engine, tenant_id) as conn:
            for delivery, outcome in zip(group, outcomes, strict=True):
                await self._record(conn, delivery, outcome, endpoints, now)

    async def _send_one(
        self,
        delivery: Delivery,
        found: tuple[Alert, dict[str, Any] | None] | None,
        people: dict[UUID, store.Recipient],
        endpoints: dict[UUID, WebhookEndpoint],
    ) -> Outcome:
        if found is None:
            return Outcome("the alert no longer exists", skipped=True)
        alert, prop = found
        async with self._limit:
            if delivery.channel == "EMAIL":
                person = people.get(delivery.user_id)
                if person is None or not person.active:
                    return Outcome("the user is disabled", skipped=True)
                return await self._email(instant_email(person.email, person.name, alert, prop))
            endpoint = endpoints.get(delivery.endpoint_id)  # type: ignore[arg-type]
            if endpoint is None or not endpoint.enabled:
                return Outcome("the endpoint is disabled or deleted", skipped=True)
            body = webhook_body(delivery.id, alert, prop)
            try:
                await self.webhooks.send(
                    endpoint.url, endpoint.secret, body, str(delivery.id), "alert.matched"
                )
            except WebhookError as error:
                return Outcome(str(error), permanent=error.permanent)
            return Outcome()

    async def _email(self, email: Email) -> Outcome:
        try:
            await self.mailer.send(email)
        except EmailError as error:
            return Outcome(str(error), permanent=error.permanent)
        return Outcome()

    async def _record(
        self,
        conn: AsyncConnection,
        delivery: Delivery,
        outcome: Outcome,
        endpoints: dict[UUID, WebhookEndpoint],
        now: datetime,
    ) -> None:
        if outcome.skipped:
            await store.finish_delivery(conn, delivery, "SKIPPED", outcome.error, None, now)
            return
        disabled = False
        if delivery.channel == "WEBHOOK" and delivery.endpoint_id is not None:
            endpoint = await store.record_endpoint_result(
                conn,
                delivery.tenant_id,
                delivery.endpoint_id,
                outcome.error,
                now,
                self.disable_after,
            )
            disabled = endpoint is None or not endpoint.enabled
            if endpoint is not None:
                endpoints[endpoint.id] = endpoint
        if outcome.error is None:
            await store.finish_delivery(conn, delivery, "SENT", None, None, now)
            return
        limit = MAX_WEBHOOK_ATTEMPTS if delivery.channel == "WEBHOOK" else MAX_EMAIL_ATTEMPTS
        final = outcome.permanent or disabled or gives_up(delivery.attempts, limit)
        retry_at = None if final else now + timedelta(seconds=retry_delay(delivery.attempts))
        logger.warning(
            "delivery failed",
            extra={
                "delivery_id": str(delivery.id),
                "channel": delivery.channel,
                "attempt": delivery.attempts,
                "final": final,
                "error": outcome.error,
            },
        )
        await store.finish_delivery(conn, delivery, "FAILED", outcome.error, retry_at, now)

    # ------------------------------------------------------------ digests

    async def _digest(self, digest: Digest, now: datetime) -> None:
        async with transaction(self.engine, digest.tenant_id) as conn:
            members = await store.digest_members(conn, digest)
            found = await store.alerts_with_properties(
                conn, digest.tenant_id, [m.alert_id for m in members]
            )
            person = (await store.recipients(conn, digest.tenant_id, [digest.user_id])).get(
                digest.user_id
            )
        items = [found[m.alert_id] for m in members if m.alert_id in found]
        following = next_slot(digest.day, self.digest_hour_utc)
        ids = [m.id for m in members]
        if not items or person is None or not person.active:
            reason = "nothing to send" if not items else "the user is disabled"
            async with transaction(self.engine, digest.tenant_id) as conn:
                await store.finish_digest(
                    conn, digest, "SKIPPED", reason, None, ids, now, following
                )
            return
        outcome = await self._email(digest_email(person.email, person.name, digest.day, items))
        retry_at = None
        status = "SENT"
        if outcome.error is not None:
            final = outcome.permanent or gives_up(digest.attempts, MAX_EMAIL_ATTEMPTS)
            status = "FAILED"
            if not final:
                retry_at = now + timedelta(seconds=retry_delay(digest.attempts))
            logger.warning(
                "digest failed",
                extra={"user_id": str(digest.user_id), "day": str(digest.day), "final": final},
            )
        async with transaction(self.engine, digest.tenant_id) as conn:
            await store.finish_digest(
                conn, digest, status, outcome.error, retry_at, ids, now, following
            )

    # ------------------------------------------------------------ offers about to expire

    async def scan_offers(self, now: datetime | None = None, limit: int = 200) -> int:
        """Raise OFFER_EXPIRING for pending offers within 24 hours of expiry; how many offers
        were announced. Each offer once (a notice row and the alerts' dedupe keys)."""
        now = now or self.clock()
        announced = 0
        for offer in await store.expiring_offers(self.engine, now, OFFER_EXPIRING_WINDOW, limit):
            async with transaction(self.engine, offer.tenant_id) as conn:
                state = await store.offer_state(conn, offer.tenant_id, offer.offer_id)
                if state is None or not rules.expiring_soon(state[1], state[0], now):
                    continue
                if not await store.note_offer_announced(conn, offer.tenant_id, offer.offer_id):
                    continue
                team = await alert_store.deal_team(conn, offer.tenant_id, offer.deal_id)
                if team is not None:
                    await alert_store.insert_alerts(conn, rules.offer_expiring(offer, team, now))
                announced += 1
        return announced


def alert_workers(
    engine: AsyncEngine, settings: Settings
) -> tuple[PropertyMatchConsumer, DeliveryWorker]:
    """The property matcher and the delivery worker, configured from settings."""
    matcher = PropertyMatchConsumer(engine, digest_hour_utc=settings.digest_hour_utc)
    deliveries = DeliveryWorker(
        engine,
        mailer_from_settings(settings.smtp_url, settings.smtp_from),
        WebhookSender(
            allow_private=not settings.is_production, timeout=settings.webhook_timeout_seconds
        ),
        digest_hour_utc=settings.digest_hour_utc,
    )
    return matcher, deliveries
