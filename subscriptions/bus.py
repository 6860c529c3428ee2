"""The event bus for real-time subscriptions: broadcaster's API over Redis pub/sub or memory.

Why not broadcaster's own Redis backend: with broadcaster 0.3.1 and redis-py 8 its listener
task races the first subscribe (nothing is delivered) and it never reconnects after Redis
restarts (encode/broadcaster#144). `RedisPubSubBackend` below fixes both; `EventBus` adds
bounded per-subscriber queues and tells subscribers when they may have missed events.

Contract for consumers (the subscription resolvers):

- Iterating a `Subscriber` (or `await subscriber.get()`) yields `broadcaster.Event`
  (`.channel`, `.message`: the published string), as broadcaster's own subscriber does.
- After the Redis connection was lost and re-established, each live subscriber's next read
  raises `BusReconnected` once (after the events queued before the gap). The subscription
  stays open: catch it, replay from the database since the last event the client saw, and
  iterate again. It is raised only once the channel is subscribed again, so a replay started
  on catching it cannot miss an event; duplicates are possible, so dedupe by `event_id`.
- When a subscriber falls `max_queue` events behind, the bus stops queueing for it (others
  are never blocked) and its next read raises `SubscriberOverflow`: close that client with
  a clear code and let it reconnect with `since`.
- `publish` raises `BusUnavailable` while Redis is unreachable; nothing is dropped silently
  (the outbox relay leaves the row unsent and retries later).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from broadcaster import Broadcast, BroadcastBackend, Event
from broadcaster._base import Unsubscribed
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

__all__ = [
    "BusError",
    "BusReconnected",
    "BusUnavailable",
    "EventBus",
    "Reconnected",
    "RedisPubSubBackend",
    "Subscriber",
    "SubscriberOverflow",
    "bus_from_url",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_QUEUE = 256
REDIS_SCHEMES = ("redis", "rediss")
# Errors that mean "Redis is not reachable right now" when publishing.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


class BusError(Exception):
    """Base class of the event bus's errors."""


class BusUnavailable(BusError):
    """The bus cannot reach Redis right now; publish again later."""


class SubscriberOverflow(BusError):
    """The subscriber fell too far behind and was cut off; reconnect it with `since`."""

    def __init__(self, channel: str, max_queue: int) -> None:
        super().__init__(
            f"subscriber on {channel!r} fell more than {max_queue} events behind; "
            "close it and let the client resubscribe with `since`"
        )
        self.channel = channel
        self.max_queue = max_queue


class BusReconnected(BusError):
    """Redis came back after a gap: replay `channel` from the database, then iterate again."""

    def __init__(self, channel: str, reconnects: int) -> None:
        super().__init__(
            f"the event bus reconnected (#{reconnects}); events on {channel!r} may have been "
            "missed: replay from the database"
        )
        self.channel = channel
        self.reconnects = reconnects


@dataclass(frozen=True)
class _Resync:
    """Queued in place of the gap; `Subscriber.get` turns it into `BusReconnected`."""

    reconnects: int


class Reconnected(Event):
    """Backend-internal event: the Redis connection was re-established (all channels live)."""

    def __init__(self, reconnects: int) -> None:
        super().__init__(channel="", message="")
        self.reconnects = reconnects


def redact(url: str) -> str:
    """The URL without credentials, for logs and error messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class _StrictPubSub(PubSub):
    """A PubSub that never reconnects (and resubscribes) behind our back: gaps must be seen."""

    def _ensure_alive(self) -> None:
        """Raise if this pub/sub's connection was ever dropped."""
        if self.connection is not None and not self.connection.is_connected:
            raise RedisConnectionError("pub/sub connection lost")

    async def connect(self) -> None:
        """Connect once; refuse to reconnect a dropped connection."""
        self._ensure_alive()
        await super().connect()

    async def parse_response(self, block: bool = True, timeout: float = 0) -> Any:
        """Read one reply, refusing to reconnect a dropped connection."""
        self._ensure_alive()
        return await super().parse_response(block=block, timeout=timeout)


class RedisPubSubBackend(BroadcastBackend):
    """Broadcaster backend on redis.asyncio pub/sub that reconnects and resubscribes itself.

    One dedicated pub/sub connection is read by a supervisor task; when it drops (or stops
    answering heartbeats) the task reconnects with capped, jittered exponential backoff,
    resubscribes every channel in `channels`, then emits a `Reconnected` event through
    `next_published()`. `connected` and `reconnects` report the state.
    """

    def __init__(
        self,
        url: str,
        *,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        connect_timeout: float = 10.0,
        heartbeat: float = 5.0,
        subscribe_timeout: float = 5.0,
        socket_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.connect_timeout = connect_timeout
        self.heartbeat = heartbeat
        self.subscribe_timeout = subscribe_timeout
        self.socket_timeout = socket_timeout
        self.connected = False
        self.reconnects = 0
        self.last_error: str | None = None
        self.channels: set[str] = set()
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self._waiters: dict[str, list[asyncio.Future[bool]]] = {}
        self._publisher: Redis | None = None
        self._client: Redis | None = None
        self._pubsub: _StrictPubSub | None = None
        self._supervisor: asyncio.Task[None] | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect (retrying up to `connect_timeout`), then start the supervisor task."""
        self._publisher = Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 1),
            socket_connect_timeout=min(2.0, self.socket_timeout),
            socket_timeout=self.socket_timeout,
        )
        try:
            await self._connect_within_timeout()
        except BusUnavailable:
            await self._publisher.aclose()
            raise
        self._supervisor = asyncio.create_task(self._supervise(), name="redis-pubsub-bus")

    async def disconnect(self) -> None:
        """Stop the supervisor and close both connections."""
        if self._supervisor is not None:
            self._supervisor.cancel()
            with suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        self.connected = False
        self._release_waiters()
        await self._close_pubsub()
        if self._publisher is not None:
            await self._publisher.aclose()
            self._publisher = None

    async def _connect_within_timeout(self) -> None:
        """Open the pub/sub connection, retrying with backoff until `connect_timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_timeout
        delay = self.backoff_initial
        while True:
            try:
                await self._open()
                return
            except Exception as exc:  # any failure means "not reachable yet"
                self._note_error(exc)
                if loop.time() + delay > deadline:
                    raise BusUnavailable(
                        f"cannot reach Redis at {redact(self.url)}: {exc}"
                    ) from exc
            await asyncio.sleep(delay)
            delay = self._next_delay(delay)

    # -- BroadcastBackend ----------------------------------------------------------------

    async def subscribe(self, channel: str) -> None:
        """Add `channel` and, when connected, return once Redis confirmed the subscription."""
        async with self._lock:
            self.channels.add(channel)
            if not self.connected or self._pubsub is None:
                return  # the reconnect resubscribes it (subscribers get BusReconnected)
            waiter = self._expect(channel)
            try:
                await self._pubsub.subscribe(channel)
            except Exception as exc:  # the supervisor notices and reconnects
                self._note_error(exc)
                return
        await self._wait_confirmed(waiter)

    async def unsubscribe(self, channel: str) -> None:
        """Forget `channel` and unsubscribe it on the live connection, if any."""
        async with self._lock:
            self.channels.discard(channel)
            if not self.connected or self._pubsub is None:
                return
            try:
                await self._pubsub.unsubscribe(channel)
            except Exception as exc:  # the new connection will not subscribe it
                self._note_error(exc)

    async def publish(self, channel: str, message: Any) -> None:
        """PUBLISH, or raise `BusUnavailable` while Redis is unreachable."""
        if not self.connected or self._publisher is None:
            raise BusUnavailable(
                f"Redis pub/sub at {redact(self.url)} is disconnected "
                f"({self.last_error or 'not connected'}); publish again later"
            )
        try:
            await self._publisher.publish(channel, message)
        except UNAVAILABLE_ERRORS as exc:
            self._note_error(exc)
            raise BusUnavailable(f"publish to {redact(self.url)} failed: {exc}") from exc

    async def next_published(self) -> Event:
        """The next message received (or a `Reconnected` event after a reconnect)."""
        return await self._events.get()

    # -- the supervisor --------------------------------------------------------------------

    async def _supervise(self) -> None:
        """Read until the connection fails, then reconnect; forever (until cancelled)."""
        while True:
            try:
                await self._read_forever()
            except Exception as exc:  # whatever broke, start a new connection
                self._lost(exc)
            await self._close_pubsub()
            await self._reconnect()

    async def _read_forever(self) -> None:
        """Hand messages to `next_published`; PING when idle, fail when PINGs go unanswered."""
        pubsub = self._pubsub
        if pubsub is None:
            raise RedisConnectionError("no pub/sub connection")
        loop = asyncio.get_running_loop()
        poll = min(1.0, self.heartbeat)
        last_seen, pinged, quiet_polls = loop.time(), False, 0
        while True:
            started = loop.time()
            message = await pubsub.get_message(timeout=poll)
            now = loop.time()
            if message is not None:
                last_seen, pinged, quiet_polls = now, False, 0
                self._handle(message)
                continue
            # A poll that overran its timeout means our own event loop was busy (fan-out under
            # load), not that Redis went quiet: only punctual empty polls count as silence.
            if now - started <= poll * 1.5:
                quiet_polls += 1
            idle = now - last_seen
            if pinged and idle > 2 * self.heartbeat and quiet_polls >= 3:
                raise RedisConnectionError(f"no reply from Redis for {idle:.1f}s")
            if idle > self.heartbeat and not pinged:
                await pubsub.ping()
                pinged, quiet_polls = True, 0

    async def _reconnect(self) -> None:
        """Reopen with capped, jittered exponential backoff; then emit `Reconnected`."""
        delay = self.backoff_initial
        while True:
            await asyncio.sleep(self._jitter(delay))
            try:
                await self._open()
            except Exception as exc:  # Redis still away: back off and retry
                self._note_error(exc)
                delay = self._next_delay(delay)
                continue
            self.reconnects += 1
            logger.info("redis pub/sub reconnected (%d channels)", len(self.channels))
            self._events.put_nowait(Reconnected(self.reconnects))
            return

    async def _open(self) -> None:
        """Open a fresh pub/sub connection and wait until every held channel is subscribed."""
        await self._close_pubsub()
        client = Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 0, supported_errors=()),
            socket_connect_timeout=min(2.0, self.socket_timeout),
            socket_timeout=self.socket_timeout,
        )
        pubsub = _StrictPubSub(client.connection_pool)
        try:
            await pubsub.connect()
            async with self._lock:
                channels = set(self.channels)
                if channels:
                    await pubsub.subscribe(*sorted(channels))
                await self._confirm_inline(pubsub, channels)
                self._client, self._pubsub = client, pubsub
                self.connected = True
                self.last_error = None
        except BaseException:
            await self._close(client, pubsub)
            raise

    async def _confirm_inline(self, pubsub: PubSub, channels: set[str]) -> None:
        """Read replies until Redis confirmed `channels` (queueing messages that arrive)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.subscribe_timeout
        pending = set(channels)
        while pending:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise RedisConnectionError(f"no SUBSCRIBE confirmation for {sorted(pending)}")
            message = await pubsub.get_message(timeout=remaining)
            if message is not None:
                confirmed = self._handle(message)
                pending.discard(confirmed or "")

    def _handle(self, message: dict[str, Any]) -> str | None:
        """Queue a published message; resolve waiters on a SUBSCRIBE reply (its channel)."""
        kind = message["type"]
        if kind == "message":
            channel = _text(message["channel"])
            if channel in self.channels:
                self._events.put_nowait(Event(channel=channel, message=_text(message["data"])))
        elif kind == "subscribe":
            channel = _text(message["channel"])
            for waiter in self._waiters.pop(channel, []):
                if not waiter.done():
                    waiter.set_result(True)
            return channel
        return None

    def _lost(self, exc: BaseException) -> None:
        """Record a dropped connection."""
        self.connected = False
        self._note_error(exc)
        self._release_waiters()
        logger.warning("redis pub/sub connection lost (%s); reconnecting", self.last_error)

    # -- helpers ---------------------------------------------------------------------------

    def _expect(self, channel: str) -> asyncio.Future[bool]:
        """A future resolved when Redis confirms SUBSCRIBE `channel`."""
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append(waiter)
        return waiter

    async def _wait_confirmed(self, waiter: asyncio.Future[bool]) -> None:
        """Wait (bounded) for a SUBSCRIBE confirmation; a lost connection also releases it."""
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.subscribe_timeout)
        except TimeoutError:
            logger.warning("no SUBSCRIBE confirmation within %.1fs", self.subscribe_timeout)

    def _release_waiters(self) -> None:
        """Release everyone waiting for a confirmation (the reconnect will resubscribe)."""
        waiters, self._waiters = self._waiters, {}
        for waiter in (w for group in waiters.values() for w in group):
            if not waiter.done():
                waiter.set_result(False)

    async def _close_pubsub(self) -> None:
        """Close the current pub/sub connection, if any."""
        client, pubsub = self._client, self._pubsub
        self._client, self._pubsub = None, None
        if client is not None and pubsub is not None:
            await self._close(client, pubsub)

    @staticmethod
    async def _close(client: Redis, pubsub: PubSub) -> None:
        """Close a pub/sub and its client, ignoring errors from a dead connection."""
        with suppress(Exception):
            await pubsub.aclose()
        with suppress(Exception):
            await client.aclose()

    def _note_error(self, exc: BaseException) -> None:
        """Remember the last connection error (shown in `BusUnavailable`)."""
        self.last_error = f"{type(exc).__name__}: {exc}"

    def _next_delay(self, delay: float) -> float:
        """Double the delay, capped at `backoff_max`."""
        return min(delay * 2, self.backoff_max)

    @staticmethod
    def _jitter(delay: float) -> float:
        """Between half and all of `delay`, so instances do not reconnect in lockstep."""
        return delay / 2 + random.uniform(0, delay / 2)


def _text(value: bytes | str) -> str:
    """Decode a Redis reply field."""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


class Subscriber:
    """One subscription: a bounded queue of events, cut off when it overflows."""

    def __init__(self, channel: str, max_queue: int = DEFAULT_MAX_QUEUE) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.channel = channel
        self.max_queue = max_queue
        self.overflowed = False
        self.closed = False
        self._items: deque[Event | _Resync] = deque()
        self._wakeup = asyncio.Event()

    def offer(self, item: Event | _Resync) -> bool:
        """Queue `item` without blocking; False if closed, overflowed or now overflowing."""
        if self.closed or self.overflowed:
            return False
        if len(self._items) >= self.max_queue:
            self.overflowed = True
            self._items.clear()
            self._wakeup.set()
            return False
        self._items.append(item)
        self._wakeup.set()
        return True

    def close(self) -> None:
        """End iteration (after the queued items) and stop accepting new ones."""
        self.closed = True
        self._wakeup.set()

    async def get(self) -> Event:
        """The next event; raises `BusReconnected`, `SubscriberOverflow` or `Unsubscribed`."""
        while True:
            if self.overflowed:
                raise SubscriberOverflow(self.channel, self.max_queue)
            if self._items:
                return self._pop()
            if self.closed:
                raise Unsubscribed()
            self._wakeup.clear()
            await self._wakeup.wait()

    def _pop(self) -> Event:
        """The oldest queued event, or raise `BusReconnected` where the gap was."""
        item = self._items.popleft()
        if isinstance(item, _Resync):
            raise BusReconnected(self.channel, item.reconnects)
        return item

    async def __aiter__(self) -> AsyncGenerator[Event, None]:
        """Iterate until unsubscribed; `BusReconnected` and `SubscriberOverflow` propagate."""
        try:
            while True:
                yield await self.get()
        except Unsubscribed:
            return


class EventBus(Broadcast):
    """broadcaster.Broadcast with our Redis backend, bounded queues, resync and counters."""

    def __init__(self, url: str | None = None, *, backend: BroadcastBackend | None = None) -> None:
        super().__init__(url or (None if backend else "memory://"), backend=backend)
        self.subscribers = 0
        self.published = 0
        self.delivered = 0
        self.overflows = 0
        self.reconnects = 0
        self._members: dict[str, set[Subscriber]] = {}
        self._joining: dict[str, asyncio.Future[None]] = {}

    def _create_backend(self, url: str) -> BroadcastBackend:
        """Our Redis backend for redis:// and rediss://, broadcaster's for memory://."""
        scheme = urlsplit(url).scheme
        if scheme in REDIS_SCHEMES:
            return RedisPubSubBackend(url)
        if scheme == "memory":
            return super()._create_backend(url)
        raise ValueError(f"unsupported event bus URL scheme {scheme!r} (use redis:// or memory://)")

    @property
    def backend(self) -> BroadcastBackend:
        """The backend in use."""
        return self._backend

    @property
    def connected(self) -> bool:
        """Whether the backend currently reaches its broker (memory: always)."""
        return bool(getattr(self._backend, "connected", True))

    async def disconnect(self) -> None:
        """Stop the listener, end every subscriber's iteration, close the backend."""
        task: asyncio.Task[None] | None = getattr(self, "_listener_task", None)
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        for members in self._members.values():
            for subscriber in members:
                subscriber.close()
        await self._backend.disconnect()

    async def publish(self, channel: str, message: Any) -> None:
        """Publish; raises `BusUnavailable` when the broker cannot be reached."""
        await self._backend.publish(channel, message)
        self.published += 1

    @asynccontextmanager
    async def subscribe(
        self, channel: str, max_queue: int = DEFAULT_MAX_QUEUE
    ) -> AsyncIterator[Subscriber]:
        """Subscribe for the duration of the block; the subscriber iterates events."""
        subscriber = Subscriber(channel, max_queue)
        self.subscribers += 1
        try:
            await self._join(subscriber)
            yield subscriber
        finally:
            subscriber.close()
            self.subscribers -= 1
            await self._leave(subscriber)

    async def _join(self, subscriber: Subscriber) -> None:
        """Register the subscriber, then wait until its channel is live on the backend."""
        members = self._members.setdefault(subscriber.channel, set())
        members.add(subscriber)
        if len(members) == 1:
            coro = self._backend.subscribe(subscriber.channel)
            self._joining[subscriber.channel] = asyncio.ensure_future(coro)
        await asyncio.shield(self._joining[subscriber.channel])

    async def _leave(self, subscriber: Subscriber) -> None:
        """Unregister; unsubscribe the channel on the backend when it was the last one."""
        members = self._members.get(subscriber.channel)
        if members is None:
            return
        members.discard(subscriber)
        if members:
            return
        del self._members[subscriber.channel]
        joining = self._joining.pop(subscriber.channel, None)
        if joining is not None and not joining.done():
            await asyncio.wait({joining})
        await self._backend.unsubscribe(subscriber.channel)

    async def _listener(self) -> None:
        """Fan each backend event out without ever blocking on a subscriber."""
        while True:
            event = await self._backend.next_published()
            try:
                self._dispatch(event)
            except Exception:
                logger.exception("event bus failed to dispatch %r", event)

    def _dispatch(self, event: Event) -> None:
        """Deliver a message to its channel's subscribers, or tell everyone to resync."""
        if isinstance(event, Reconnected):
            self.reconnects += 1
            for members in list(self._members.values()):
                for subscriber in list(members):
                    self._offer(subscriber, _Resync(self.reconnects))
            return
        for subscriber in list(self._members.get(event.channel, ())):
            if self._offer(subscriber, event):
                self.delivered += 1

    def _offer(self, subscriber: Subscriber, item: Event | _Resync) -> bool:
        """Offer one item; count the subscriber's overflow the moment it happens."""
        was_overflowed = subscriber.overflowed
        accepted = subscriber.offer(item)
        if subscriber.overflowed and not was_overflowed:
            self.overflows += 1
            logger.warning(
                "subscriber on %r overflowed (max_queue=%d)",
                subscriber.channel,
                subscriber.max_queue,
            )
        return accepted


def bus_from_url(url: str | None) -> EventBus:
    """An EventBus on Redis for redis:// / rediss:// URLs, in memory when `url` is empty."""
    return EventBus(url or None)
