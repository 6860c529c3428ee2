"""Delivery rules for alerts outside the app: retry schedule, endpoint disabling, digest days.

In-app delivery is the alert row itself (and its `alert.matched` / `alert.created` event for
`alertReceived`); e-mail and webhooks are queued rows a worker sends, retried with backoff.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 6 * 3600
MAX_EMAIL_ATTEMPTS = 8
MAX_WEBHOOK_ATTEMPTS = 10
DISABLE_AFTER_FAILURES = 8


def retry_delay(attempts: int, jitter: float = 0.1, rng: random.Random | None = None) -> float:
    """Seconds before the next try after `attempts` failed ones: 30 s doubling (60, 120, ...)
    up to 6 h, plus up to 10 % jitter so failing deliveries do not retry in lockstep."""
    base = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)
    spread = (rng or random).uniform(0, jitter) if jitter else 0.0
    return base * (1 + spread)


def gives_up(attempts: int, max_attempts: int) -> bool:
    """Whether a delivery that has failed `attempts` times is given up on."""
    return attempts >= max_attempts


def should_disable(consecutive_failures: int, limit: int = DISABLE_AFTER_FAILURES) -> bool:
    """An endpoint that failed this many attempts in a row (across deliveries) is disabled."""
    return consecutive_failures >= limit


def digest_slot(at: datetime, hour_utc: int) -> tuple[date, datetime]:
    """The digest a match made at `at` goes into: (its day, when it is sent).

    Digests go out once a day at `hour_utc`:00 UTC and carry every match since the previous
    one, so a match waits at most 24 hours. The day names the date the digest is sent.
    """
    at = at.astimezone(UTC)
    send = datetime.combine(at.date(), time(hour_utc), tzinfo=UTC)
    if at >= send:
        send += timedelta(days=1)
    return send.date(), send


def next_slot(day: date, hour_utc: int) -> tuple[date, datetime]:
    """The digest after the one of `day` (for a match that arrives once `day`'s is sent)."""
    following = day + timedelta(days=1)
    return following, datetime.combine(following, time(hour_utc), tzinfo=UTC)


@dataclass(slots=True)
class WebhookEndpoint:
    """A partner's URL that receives the tenant's matches, signed with its secret."""

    id: UUID
    tenant_id: UUID
    url: str
    description: str
    secret: str
    consecutive_failures: int = 0
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None
    created_by: UUID | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


@dataclass(slots=True)
class Delivery:
    """One alert on its way out by e-mail or to one webhook endpoint."""

    id: UUID
    tenant_id: UUID
    alert_id: UUID
    user_id: UUID
    channel: str
    endpoint_id: UUID | None
    digest_day: date | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = None
    sent_at: datetime | None = None
    locked_until: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class Digest:
    """One user's daily e-mail of matches."""

    tenant_id: UUID
    user_id: UUID
    day: date
    status: str
    attempts: int
    next_attempt_at: datetime
    alert_count: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    locked_until: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
