"""Cost-weighted rate limits: GCRA over several buckets at once, in Redis or in memory.

A bucket holds `limit` cost units per window and refills continuously (GCRA, the generic cell
rate algorithm: one timestamp per bucket, the "theoretical arrival time" TAT). A request of
cost `c` moves a bucket's TAT forward by `c * window / limit`; it is allowed when the new TAT
lies at most one window ahead of now, so a full bucket takes `limit` units at once and then
`limit / window` units per second. A request is charged on all its buckets, or on none: one
Lua script (Redis) or one synchronous step (memory) checks every bucket first and writes only
if each allows. A cost larger than a bucket's whole budget can never pass: it is refused with
`retry_after` = the window.

Redis keeps the state shared by every instance (the clock is Redis's own `TIME`, so servers
with skewed clocks agree). Should Redis fail, requests are allowed (fail open): a rate limiter
must not turn a Redis outage into an API outage (nor a Redis that hangs: one second at most).
The warning is logged once a minute at most.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from schema.rate_limits import RatePolicy

logger = logging.getLogger("reos.rate_limit")

EPSILON = 1e-6  # seconds: float rounding must not refuse the N-th of N allowed requests
WARN_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class RateDecision:
    """The outcome for a request, reported for its tightest bucket (fewest units left)."""

    allowed: bool
    retry_after: float  # seconds until the same request could pass (0 when allowed)
    limit: int  # the tightest bucket's budget per window
    remaining: int  # units left in that bucket (after the charge when allowed)
    reset_after: float  # seconds until that bucket is full again


class RateLimiter(Protocol):
    policy: RatePolicy

    async def charge(
        self, buckets: Sequence[tuple[str, int]], cost: int, window_seconds: int
    ) -> RateDecision: ...


def _unlimited() -> RateDecision:
    return RateDecision(allowed=True, retry_after=0.0, limit=0, remaining=0, reset_after=0.0)


def gcra(
    tats: Sequence[float | None],
    limits: Sequence[int],
    cost: int,
    window: float,
    now: float,
) -> tuple[RateDecision, list[float] | None]:
    """The decision for stored TATs (None: unused bucket), and the TATs to store if allowed.

    The same arithmetic as the Lua script below: keep them in step.
    """
    current = [max(tat or now, now) for tat in tats]
    proposed = [tat + cost * window / limit for tat, limit in zip(current, limits, strict=True)]
    retry = 0.0
    for limit, new_tat in zip(limits, proposed, strict=True):
        if cost > limit:
            retry = max(retry, float(window))
        elif new_tat - window - now > EPSILON:
            retry = max(retry, new_tat - window - now)
    allowed = retry == 0.0
    states = proposed if allowed else current
    tightest: tuple[int, float, int] | None = None
    for limit, state in zip(limits, states, strict=True):
        remaining = math.floor((now + window - state + EPSILON) * limit / window)
        remaining = min(limit, max(0, remaining))
        reset = max(0.0, state - now)
        if tightest is None or (remaining, -reset) < (tightest[0], -tightest[1]):
            tightest = (remaining, reset, limit)
    if tightest is None:
        return _unlimited(), []
    remaining, reset, limit = tightest
    decision = RateDecision(allowed, retry, limit, remaining, reset)
    return decision, (proposed if allowed else None)


def _check(buckets: Sequence[tuple[str, int]], cost: int, window_seconds: int) -> None:
    if window_seconds <= 0:
        raise ValueError("window_seconds must be positive")
    if cost < 0:
        raise ValueError("cost must not be negative")
    for key, limit in buckets:
        if limit <= 0:
            raise ValueError(f"bucket {key!r}: limit must be positive")


class MemoryRateLimiter:
    """The same limits for one process (no Redis): exact, and atomic by running without awaits."""

    def __init__(
        self,
        policy: RatePolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.policy = policy or RatePolicy()
        self.clock = clock
        self.max_keys = max_keys
        self._tats: dict[str, float] = {}

    async def charge(
        self, buckets: Sequence[tuple[str, int]], cost: int, window_seconds: int
    ) -> RateDecision:
        _check(buckets, cost, window_seconds)
        now = self.clock()
        keys = [key for key, _ in buckets]
        decision, new_tats = gcra(
            [self._tats.get(key) for key in keys],
            [limit for _, limit in buckets],
            cost,
            window_seconds,
            now,
        )
        if new_tats:
            if len(self._tats) + len(keys) > self.max_keys:
                self._prune(now)
            self._tats.update(zip(keys, new_tats, strict=True))
        return decision

    def _prune(self, now: float) -> None:
        """Forget buckets that are full again (a TAT in the past is the same as no TAT)."""
        self._tats = {key: tat for key, tat in self._tats.items() if tat > now}
        while len(self._tats) >= self.max_keys:  # still full: drop the oldest entries
            self._tats.pop(next(iter(self._tats)))


# KEYS: the buckets. ARGV: cost, window (s), now (s; empty: Redis TIME), then one limit per key.
# Returns {allowed 0/1, retry_after, limit, remaining, reset_after} (floats as strings).
GCRA_SCRIPT = """
local cost = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now
if ARGV[3] ~= '' then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local current, proposed, limits = {}, {}, {}
local retry = 0
for i = 1, #KEYS do
  local limit = tonumber(ARGV[3 + i])
  limits[i] = limit
  local tat = tonumber(redis.call('GET', KEYS[i]) or '')
  if tat == nil or tat < now then tat = now end
  current[i] = tat
  proposed[i] = tat + cost * window / limit
  if cost > limit then
    retry = math.max(retry, window)
  elseif proposed[i] - window - now > 1e-6 then
    retry = math.max(retry, proposed[i] - window - now)
  end
end
local allowed = retry == 0
local states = current
if allowed then
  states = proposed
  for i = 1, #KEYS do
    local ttl = math.ceil((proposed[i] - now) * 1000)
    if ttl > 0 then
      redis.call('SET', KEYS[i], string.format('%.17g', proposed[i]), 'PX', ttl)
    end
  end
end
local best_remaining, best_reset, best_limit = nil, 0, 0
for i = 1, #KEYS do
  local limit = limits[i]
  local remaining = math.floor((now + window - states[i] + 1e-6) * limit / window)
  remaining = math.min(limit, math.max(0, remaining))
  local reset = math.max(0, states[i] - now)
  if best_remaining == nil or remaining < best_remaining
      or (remaining == best_remaining and reset > best_reset) then
    best_remaining, best_reset, best_limit = remaining, reset, limit
  end
end
return {allowed and 1 or 0, string.format('%.17g', retry), best_limit, best_remaining or 0,
        string.format('%.17g', best_reset)}
"""
GCRA_SHA = hashlib.sha1(GCRA_SCRIPT.encode()).hexdigest()


class RedisRateLimiter:
    """Limits shared by every instance through Redis: one script call per request."""

    def __init__(
        self,
        redis: Any,
        policy: RatePolicy | None = None,
        clock: Callable[[], float] | None = None,
        timeout_seconds: float = 1.0,
    ) -> None:
        self.redis = redis
        self.policy = policy or RatePolicy()
        self.clock = clock  # None: Redis's clock (tests pass a fake one)
        self.timeout = timeout_seconds  # a Redis that hangs must not hang every request
        self._warned_at: float | None = None

    async def charge(
        self, buckets: Sequence[tuple[str, int]], cost: int, window_seconds: int
    ) -> RateDecision:
        _check(buckets, cost, window_seconds)
        if not buckets:
            return _unlimited()
        keys = [key for key, _ in buckets]
        now = "" if self.clock is None else repr(self.clock())
        args = [cost, window_seconds, now, *(limit for _, limit in buckets)]
        try:
            async with asyncio.timeout(self.timeout):
                reply = await self._run(keys, args)
        except Exception:  # any Redis failure or timeout: allow rather than fail the API
            self._warn()
            return _unlimited()
        allowed, retry, limit, remaining, reset = reply
        return RateDecision(
            allowed=int(allowed) == 1,
            retry_after=float(retry),
            limit=int(limit),
            remaining=int(remaining),
            reset_after=float(reset),
        )

    async def _run(self, keys: list[str], args: list[Any]) -> Any:
        from redis.exceptions import NoScriptError

        try:
            return await self.redis.evalsha(GCRA_SHA, len(keys), *keys, *args)
        except NoScriptError:  # first use, or after SCRIPT FLUSH / a Redis restart
            return await self.redis.eval(GCRA_SCRIPT, len(keys), *keys, *args)

    def _warn(self) -> None:
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            logger.warning("rate limiting unavailable (Redis error): allowing", exc_info=True)


def policy_from(settings: Any) -> RatePolicy:
    return RatePolicy(
        window_seconds=settings.rate_limit_window_seconds,
        user_cost=settings.rate_limit_user_cost,
        api_key_cost=settings.rate_limit_api_key_cost,
        address_cost=settings.rate_limit_address_cost,
    )


def rate_limiter_from(redis: Any, settings: Any) -> RateLimiter | None:
    """Redis-backed when Redis is configured, else in memory; None when rate limits are off."""
    if not settings.rate_limit_enabled:
        return None
    policy = policy_from(settings)
    if redis is not None:
        return RedisRateLimiter(redis, policy)
    return MemoryRateLimiter(policy)
