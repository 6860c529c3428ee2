"""Real-time subscriptions end to end: real `reos serve` processes, Redis and PostgreSQL.

Every test asserts what a user of the live deal timeline would notice. The relay is global
to the database while each server publishes to its own Redis, so at any time every relay
alive must publish to the same Redis, as in production: the crash test stops the shared
servers first (`alone`), and the Redis-failure tests, which run on a Redis of their own,
come last (`outage` stops the shared servers, and nothing may start them again).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import signal
import statistics
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
import redis as redis_client
from websockets.exceptions import InvalidStatus

from server.settings import DEVELOPMENT_JWT_SECRET
from tests.conftest import APP_PASSWORD, DEMO_PASSWORD, redis_binary
from tests.support.processes import (
    LEGACY_WS,
    TRANSPORT_WS,
    Closed,
    GraphQLWebSocket,
    RedisProcess,
    ServerProcess,
)
from tests.support.server_api import graphql, login, new_deal

ADMIN = "demo@reos.dev"
ANALYST = "analyst@reos.dev"
VIEWER = "viewer@reos.dev"
OTHER_TENANT = "other@reos.dev"

COMMENT = """mutation($d: ID!, $b: String!) { timelineCommentAdd(dealId: $d, body: $b) {
  entry { cursor message } errors { code } } }"""
TIMELINE = """subscription($d: ID!, $s: String) {
  timelineUpdated(dealId: $d, since: $s) { kind message cursor } }"""

_tokens: dict[str, str] = {}


# ---------------------------------------------------------------- HTTP helpers


def token_for(server: ServerProcess, email: str) -> str:
    """An access token (cached: every server shares the signing secret)."""
    if email not in _tokens:
        _tokens[email] = login(server, email, DEMO_PASSWORD)
    return _tokens[email]


def comment(server: ServerProcess, token: str, deal_id: str, body: str) -> str:
    """Post a comment (it must succeed); its timeline cursor."""
    payload = graphql(server, COMMENT, {"d": deal_id, "b": body}, token)["timelineCommentAdd"]
    assert payload["errors"] == [] and payload["entry"]["message"] == body, payload
    return payload["entry"]["cursor"]


async def acomment(
    client: httpx.AsyncClient, server: ServerProcess, token: str, deal_id: str, body: str
) -> str:
    """`comment` on an async client."""
    response = await client.post(
        server.graphql_url,
        json={"query": COMMENT, "variables": {"d": deal_id, "b": body}},
        headers={"Authorization": f"Bearer {token}"},
    )
    payload = response.json()
    assert response.status_code == 200 and not payload.get("errors"), payload
    entry = payload["data"]["timelineCommentAdd"]
    assert entry["errors"] == [], entry
    return entry["entry"]["cursor"]


def deal_uuid(deal_id: str) -> uuid.UUID:
    """The database ID inside a Relay global ID."""
    return uuid.UUID(base64.b64decode(deal_id).decode().partition(":")[2])


def tag() -> str:
    """A short random suffix that makes a comment unique."""
    return uuid.uuid4().hex[:6]


# ---------------------------------------------------------------- WebSocket helpers


def timeline_message(message: dict[str, Any]) -> str | None:
    """The comment text of a `next`/`data` message, else None."""
    if message.get("type") not in ("next", "data"):
        return None
    data = (message.get("payload") or {}).get("data") or {}
    entry = data.get("timelineUpdated")
    return entry["message"] if entry else None


def errors_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """GraphQL errors carried by an `error` message or a `next`/`data` with errors."""
    if message.get("type") == "error":
        payload = message.get("payload")
        return payload if isinstance(payload, list) else [payload or {}]
    if message.get("type") in ("next", "data"):
        return (message.get("payload") or {}).get("errors") or []
    return []


def codes(errors: list[dict[str, Any]]) -> list[str | None]:
    """The `extensions.code` of each error."""
    return [(error.get("extensions") or {}).get("code") for error in errors]


async def live_timeline(
    server: ServerProcess, token: str, deal_id: str, writer: ServerProcess | None = None
) -> GraphQLWebSocket:
    """A timeline subscription known to be live on the bus.

    The server subscribes the Redis channel before it replays `since`, so receiving a
    comment replayed from before the subscription proves the channel is subscribed.
    """
    writer = writer or server
    anchor = await asyncio.to_thread(comment, writer, token, deal_id, f"anchor {tag()}")
    ready = f"ready {tag()}"
    await asyncio.to_thread(comment, writer, token, deal_id, ready)
    client = await GraphQLWebSocket.connected(server.ws_url, token)
    await client.subscribe("t", TIMELINE, {"d": deal_id, "s": anchor})
    first = await client.receive(5.0)
    assert timeline_message(first) == ready, first
    return client


async def next_comment(client: GraphQLWebSocket, timeout: float) -> str:
    """The next comment the subscription streams (anything else fails)."""
    message = await client.receive(timeout)
    text = timeline_message(message)
    assert text is not None, message
    return text


def forged_token(real_token: str, expires_in: float) -> str:
    """A token with the real one's claims, signed with the dev secret, expiring as given."""
    claims = jwt.decode(real_token, options={"verify_signature": False})
    now = int(time.time())
    claims.update(iat=now - 60, exp=int(now + expires_in), jti=uuid.uuid4().hex)
    return jwt.encode(claims, DEVELOPMENT_JWT_SECRET, algorithm="HS256")


def run(scenario: Callable[[], Awaitable[Any]], timeout: float = 60.0) -> Any:
    """Run one async scenario with an overall time limit."""

    async def bounded() -> Any:
        return await asyncio.wait_for(scenario(), timeout)

    return asyncio.run(bounded())


# ---------------------------------------------------------------- processes


# The module's shared servers (all on the session Redis, all running the relay), by name.
SHARED: dict[str, dict[str, str]] = {
    "first": {},
    "second": {},
    "tuned": {
        "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION": "3",
        "WS_PING_SECONDS": "1",
        "WS_RECHECK_SECONDS": "1",
    },
    "per-user-cap": {"WS_MAX_CONNECTIONS_PER_USER": "2"},
    "sigterm": {},  # stopped by its test
}


class Servers:
    """The shared servers: the first `get` starts every one not running, side by side
    (start-up is mostly imports, so this overlaps it); `stop_all` stops them."""

    def __init__(self, base_env: dict[str, str]) -> None:
        self.base_env = base_env
        self.running: dict[str, ServerProcess] = {}
        self.exclusive: str | None = None  # who runs relays on another Redis right now

    def get(self, name: str) -> ServerProcess:
        if self.exclusive:
            raise RuntimeError(
                f"{self.exclusive} run relays on their own Redis until the module ends: "
                "keep tests that use the shared servers above them"
            )
        server = self.running.get(name)
        if server is None or not server.running:
            self.start_missing()
        return self.running[name]

    def start_missing(self) -> None:
        missing = [
            name for name in SHARED if name not in self.running or not self.running[name].running
        ]
        started = {
            name: ServerProcess({**self.base_env, **SHARED[name]}, name=name) for name in missing
        }
        for server in started.values():
            server.launch()
        try:
            for server in started.values():
                server.wait_ready()
        finally:
            self.running.update(started)

    def stop_all(self) -> None:
        stop_together(list(self.running.values()))
        self.running.clear()


def stop_together(servers: list[ServerProcess]) -> None:
    """SIGTERM them all at once, wait (5 s at most each), kill any that hung, clean up."""
    for server in servers:
        if server.running and server.process is not None:
            server.process.send_signal(signal.SIGTERM)
    for server in servers:
        if server.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.process.wait(5.0)
        server.stop()


@pytest.fixture(scope="module")
def base_env(owner_url: str, redis_url: str) -> dict[str, str]:
    """Every setting a test relies on, explicit (nothing inherited decides)."""
    return {
        "DATABASE_URL": owner_url,
        "APP_DB_PASSWORD": APP_PASSWORD,
        "APP_DATABASE_URL": "",
        "REDIS_URL": redis_url,
        "JWT_SECRET": DEVELOPMENT_JWT_SECRET,
        "CORS_ORIGINS": "",
        "RUN_RELAY": "true",
        "ACCESS_TOKEN_TTL_SECONDS": "900",
        "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION": "20",
        "WS_MAX_CONNECTIONS_PER_USER": "10",
        "WS_PING_SECONDS": "15",
        "LOGIN_MAX_FAILURES_PER_EMAIL": "1000",
        "LOGIN_MAX_FAILURES_PER_ADDRESS": "1000",
    }


@pytest.fixture(scope="module")
def servers(base_env: dict[str, str]) -> Iterator[Servers]:
    """The module's pool of shared servers, stopped at the end."""
    pool = Servers(base_env)
    yield pool
    pool.stop_all()


@pytest.fixture
def pair(servers: Servers) -> tuple[ServerProcess, ServerProcess]:
    """Two plain servers on the session Redis, both running the relay."""
    return servers.get("first"), servers.get("second")


@pytest.fixture
def tuned(servers: Servers) -> ServerProcess:
    """A server with 3 subscriptions per connection and a ping every second."""
    return servers.get("tuned")


async def _relay_listeners(owner_url: str) -> int:
    """How many database sessions LISTEN for the outbox (one per running relay)."""
    conn = await asyncpg.connect(owner_url)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE query ILIKE '%LISTEN%reos_outbox%' AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()


def _stop_every_relay(servers: Servers, owner_url: str) -> None:
    """Stop the shared servers and make sure no relay of any process listens any more."""
    servers.stop_all()
    deadline = time.monotonic() + 10
    while (listeners := asyncio.run(_relay_listeners(owner_url))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert listeners == 0, f"{listeners} relay(s) of other processes still listen on the database"


@pytest.fixture
def alone(servers: Servers, owner_url: str) -> None:
    """No other server (and so no other relay) runs during the test."""
    _stop_every_relay(servers, owner_url)


SUBSCRIBER_USER, SUBSCRIBER_PASSWORD = "subscriber", "subscriber-pw"


@dataclass
class OutageStack:
    """A Redis of its own; `subscriber` connects as an ACL user that can be shut out alone."""

    redis: RedisProcess
    subscriber: ServerProcess
    writer: ServerProcess

    def acl(self, *args: str) -> None:
        """Run one admin command (ACL, CLIENT KILL) as Redis's default user."""
        client = redis_client.Redis.from_url(self.redis.url)
        try:
            client.execute_command(*args)
        finally:
            client.close()


@pytest.fixture(scope="module")
def outage(servers: Servers, base_env: dict[str, str], owner_url: str) -> Iterator[OutageStack]:
    """Two servers (both running the relay) on a Redis to break; nothing else runs after."""
    _stop_every_relay(servers, owner_url)
    servers.exclusive = "the Redis-outage tests"
    user = [SUBSCRIBER_USER, "on", f">{SUBSCRIBER_PASSWORD}", "~*", "&*", "+@all"]
    redis = RedisProcess(redis_binary(), extra_args=["--user", *user]).start()
    subscriber = ServerProcess(
        {**base_env, "REDIS_URL": redis.url_for(SUBSCRIBER_USER, SUBSCRIBER_PASSWORD)},
        name="outage-subscriber",
    )
    writer = ServerProcess({**base_env, "REDIS_URL": redis.url}, name="outage-writer")
    try:
        for server in (subscriber, writer):
            server.launch()
        for server in (subscriber, writer):
            server.wait_ready()
        yield OutageStack(redis, subscriber, writer)
    finally:
        stop_together([subscriber, writer])
        redis.stop()


async def _unpublished_comments(owner_url: str, deal_id: str) -> int:
    """Timeline events of the deal that no relay has published yet."""
    conn = await asyncpg.connect(owner_url)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE aggregate_id = $1 "
            "AND event_type = 'timeline.entry_added' AND published_at IS NULL",
            deal_uuid(deal_id),
        )
    finally:
        await conn.close()


# ---------------------------------------------------------------- crashes and outages


def test_a_comment_committed_but_never_published_reaches_a_client_resuming_elsewhere(
    alone: None, servers: Servers, base_env: dict[str, str], owner_url: str
) -> None:
    """Server A commits a comment and dies before publishing; B replays it exactly once."""
    with ServerProcess({**base_env, "RUN_RELAY": "false"}, name="no-relay") as first:
        token = token_for(first, ADMIN)
        deal_id = new_deal(first, token)
        since = comment(first, token, deal_id, "before the crash")
        lost = f"committed, never published {tag()}"

        async def on_first() -> list[dict[str, Any]]:
            client = await GraphQLWebSocket.connected(first.ws_url, token)
            await client.subscribe("t", TIMELINE, {"d": deal_id})
            before = await _unpublished_comments(owner_url, deal_id)
            await asyncio.to_thread(comment, first, token, deal_id, lost)
            after = await _unpublished_comments(owner_url, deal_id)
            assert after == before + 1, "the comment must stay unpublished"
            heard = await client.messages_for(0.5)
            await asyncio.to_thread(first.kill)
            code = await client.wait_closed(5.0)
            assert code != 1000, "a SIGKILLed server cannot close cleanly"
            return heard

        heard = run(on_first)
        assert [timeline_message(m) for m in heard] == [], "nothing should have been published"

    # B: the shared "first" server (relay on, same Redis and database), started only now.
    second = servers.get("first")

    async def on_second() -> None:
        client = await GraphQLWebSocket.connected(second.ws_url, token)
        await client.subscribe("t", TIMELINE, {"d": deal_id, "s": since})
        assert await next_comment(client, 5.0) == lost
        between = await client.messages_for(2.0)
        assert between == [], f"expected nothing more, got {between}"
        fresh = f"fresh on B {tag()}"
        await asyncio.to_thread(comment, second, token, deal_id, fresh)
        assert await next_comment(client, 5.0) == fresh
        await client.close()

    run(on_second)
    assert asyncio.run(_relay_listeners(owner_url)) >= 1  # so `alone` can see relays
    # The relays sent the crashed server's row too (the live path had it to deduplicate);
    # rows are marked sent when the relay's transaction commits, just after publishing.
    deadline = time.monotonic() + 5
    while (left := asyncio.run(_unpublished_comments(owner_url, deal_id))) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert left == 0


def test_reos_worker_relays_for_servers_that_do_not(
    alone: None, base_env: dict[str, str], owner_url: str
) -> None:
    """`reos worker` publishes what a server with RUN_RELAY=false commits."""
    with ServerProcess({**base_env, "RUN_RELAY": "false"}, name="relay-off") as server:
        worker = ServerProcess(base_env, name="worker", command="worker")
        worker.launch()
        try:
            deadline = time.monotonic() + 30
            while asyncio.run(_relay_listeners(owner_url)) < 1:
                assert time.monotonic() < deadline, f"worker never listened:\n{worker.log()}"
                time.sleep(0.2)
            token = token_for(server, ADMIN)
            deal_id = new_deal(server, token)
            published = f"relayed by the worker {tag()}"

            async def scenario() -> None:
                client = await GraphQLWebSocket.connected(server.ws_url, token)
                await client.subscribe("t", TIMELINE, {"d": deal_id})
                await asyncio.to_thread(comment, server, token, deal_id, published)
                assert await next_comment(client, 5.0) == published
                await client.close()

            run(scenario)
            worker.terminate()
            assert worker.process is not None and worker.process.returncode == 0, worker.log()
        finally:
            worker.stop()


# ---------------------------------------------------------------- fan-out across servers


def test_comments_on_one_server_stream_to_a_subscriber_on_another_in_order_once(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = pair
    token = token_for(first, ADMIN)
    deal_id = new_deal(second, token)
    count = 30
    run_tag = tag()
    bodies = [f"{run_tag} comment {n}" for n in range(count)]

    async def scenario() -> tuple[list[str], list[float]]:
        client = await live_timeline(first, token, deal_id, writer=second)
        sent_at: dict[str, float] = {}
        arrivals: list[tuple[str, float]] = []

        async def post_all() -> None:
            async with httpx.AsyncClient(timeout=10) as http:
                for body in bodies:
                    sent_at[body] = time.perf_counter()
                    await acomment(http, second, token, deal_id, body)
                    await asyncio.sleep(0.05)

        async def receive_all() -> None:
            while len(arrivals) < count:
                text = await next_comment(client, 10.0)
                arrivals.append((text, time.perf_counter()))

        await asyncio.gather(post_all(), receive_all())
        extra = await client.messages_for(1.0)
        await client.close()
        assert extra == [], f"duplicates or strays after the last comment: {extra}"
        return [text for text, _ in arrivals], [at - sent_at[text] for text, at in arrivals]

    received, delays = run(scenario)
    assert received == bodies
    delays.sort()
    p50 = statistics.median(delays)
    p99 = delays[min(len(delays) - 1, int(0.99 * len(delays)))]
    print(
        f"\ncross-server delivery of {count} comments: p50 {p50 * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {delays[-1] * 1000:.0f} ms"
    )
    assert p99 < 1.0


# ---------------------------------------------------------------- who may listen


def _refused_then_deaf(server: ServerProcess, user: str) -> list[str | None]:
    """`user` subscribes to a tenant-A deal: the error codes; asserts no event leaks after."""
    admin = token_for(server, ADMIN)
    deal_id = new_deal(server, admin)
    outsider_token = token_for(server, user)

    async def scenario() -> list[str | None]:
        control = await live_timeline(server, admin, deal_id)
        outsider = await GraphQLWebSocket.connected(server.ws_url, outsider_token)
        await outsider.subscribe("x", TIMELINE, {"d": deal_id})
        answer = await outsider.receive(5.0)
        errors = errors_of(answer)
        assert errors, f"expected an error, got {answer}"
        assert timeline_message(answer) is None
        secret = f"tenant A only {tag()}"
        await asyncio.to_thread(comment, server, admin, deal_id, secret)
        assert await next_comment(control, 5.0) == secret  # it was published
        later = await outsider.messages_for(1.0)
        assert [m for m in later if timeline_message(m) or m.get("type") == "next"] == []
        await outsider.close()
        await control.close()
        return codes(errors)

    return run(scenario)


def test_another_tenant_gets_an_error_and_no_events(tuned: ServerProcess) -> None:
    # NOT_FOUND, as over HTTP: another tenant must not learn that the deal exists.
    assert "NOT_FOUND" in _refused_then_deaf(tuned, OTHER_TENANT)


def test_a_viewer_is_forbidden_the_live_timeline(tuned: ServerProcess) -> None:
    assert "FORBIDDEN" in _refused_then_deaf(tuned, VIEWER)


# ---------------------------------------------------------------- protocol abuse


async def _close_code_after(
    server: ServerProcess, send: Callable[[GraphQLWebSocket], Awaitable[None]]
) -> int | None:
    client = await GraphQLWebSocket.open(server.ws_url)
    try:
        await send(client)
        return await client.wait_closed(5.0)
    finally:
        await client.close()


async def _subscribe_before_init(client: GraphQLWebSocket) -> None:
    await client.subscribe("1", TIMELINE, {"d": "RGVhbDox"})


def _init_with(token: str | None) -> Callable[[GraphQLWebSocket], Awaitable[None]]:
    async def send(client: GraphQLWebSocket) -> None:
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await client.send({"type": "connection_init", "payload": payload})

    return send


def _after_ack(token: str, raw: str) -> Callable[[GraphQLWebSocket], Awaitable[None]]:
    async def send(client: GraphQLWebSocket) -> None:
        assert (await client.init(token))["type"] == "connection_ack"
        await client.send_raw(raw)

    return send


def test_subscribing_before_connection_init_closes_4401(tuned: ServerProcess) -> None:
    assert run(lambda: _close_code_after(tuned, _subscribe_before_init)) == 4401


def test_a_missing_or_bad_token_closes_4403(tuned: ServerProcess) -> None:
    real = token_for(tuned, ADMIN)
    claims = jwt.decode(real, options={"verify_signature": False})
    wrong_secret = jwt.encode(claims, "not-our-secret-" * 3, algorithm="HS256")
    for token in (None, "not-a-token", wrong_secret):
        assert run(lambda token=token: _close_code_after(tuned, _init_with(token))) == 4403, token


def test_an_expired_token_closes_4403(tuned: ServerProcess) -> None:
    real = token_for(tuned, ADMIN)

    async def accepted(token: str) -> str:
        client = await GraphQLWebSocket.open(tuned.ws_url)
        try:
            return (await client.init(token))["type"]
        finally:
            await client.close()

    assert run(lambda: accepted(forged_token(real, 600))) == "connection_ack"  # forged right
    expired = forged_token(real, -30)
    assert run(lambda: _close_code_after(tuned, _init_with(expired))) == 4403


def test_an_open_connection_closes_4403_when_its_token_expires(tuned: ServerProcess) -> None:
    real = token_for(tuned, ADMIN)
    deal_id = new_deal(tuned, real)

    async def scenario() -> tuple[int | None, float]:
        short = forged_token(real, 2)
        client = await GraphQLWebSocket.connected(tuned.ws_url, short)
        await client.subscribe("t", TIMELINE, {"d": deal_id})
        started = time.monotonic()
        code = await client.wait_closed(6.0)
        return code, time.monotonic() - started

    code, waited = run(scenario)
    assert code == 4403
    assert waited < 4.0


def test_an_open_connection_closes_4403_when_its_user_is_disabled(
    tuned: ServerProcess, owner_url: str
) -> None:
    token = token_for(tuned, ANALYST)

    async def set_disabled(disabled: bool) -> None:
        conn = await asyncpg.connect(owner_url)
        try:
            await conn.execute(
                "UPDATE users SET disabled_at = CASE WHEN $2 THEN now() END WHERE email = $1",
                ANALYST,
                disabled,
            )
        finally:
            await conn.close()

    async def scenario() -> tuple[int | None, int | None]:
        client = await GraphQLWebSocket.connected(tuned.ws_url, token)
        try:
            await set_disabled(True)
            closed_on_disable = await client.wait_closed(5.0)
            refused = await _close_code_after(tuned, _init_with(token))
        finally:
            await set_disabled(False)
        return closed_on_disable, refused

    assert run(scenario) == (4403, 4403)
    assert run(lambda: _close_code_after(tuned, _after_ack(token, "{}"))) == 4400  # back again


def test_a_foreign_origin_is_refused(tuned: ServerProcess) -> None:
    token = token_for(tuned, ADMIN)

    async def attempt(origin: str) -> str:
        try:
            client = await GraphQLWebSocket.open(tuned.ws_url, origin=origin)
        except InvalidStatus as refused:
            return f"http {refused.response.status_code}"
        try:
            answer = await client.init(token)
            return answer["type"]
        except Closed as closed:
            return f"close {closed.code}"
        finally:
            await client.close()

    assert run(lambda: attempt(tuned.url)) == "connection_ack"  # its own origin is fine
    assert run(lambda: attempt("https://evil.example")) in ("http 403", "close 4403")


def test_the_fourth_subscription_on_a_connection_is_refused(tuned: ServerProcess) -> None:
    token = token_for(tuned, ADMIN)
    deal_id = new_deal(tuned, token)
    # The first three must be live before the refusal is judged.
    anchor = comment(tuned, token, deal_id, "anchor")
    comment(tuned, token, deal_id, "ready")

    async def scenario() -> None:
        client = await GraphQLWebSocket.connected(tuned.ws_url, token)
        for op_id in ("1", "2", "3"):
            await client.subscribe(op_id, TIMELINE, {"d": deal_id, "s": anchor})
        replayed = [await client.receive(5.0) for _ in range(3)]
        assert sorted(m.get("id") for m in replayed) == ["1", "2", "3"], replayed
        assert {timeline_message(m) for m in replayed} == {"ready"}, replayed
        await client.subscribe("4", TIMELINE, {"d": deal_id})
        refusal = await client.receive(5.0)
        assert refusal.get("id") == "4", refusal
        errors = errors_of(refusal)
        assert errors, refusal
        message = errors[0].get("message", "")
        assert "LIMIT_EXCEEDED" in codes(errors) or ("3" in message and "subscri" in message)
        live = f"still live {tag()}"
        await asyncio.to_thread(comment, tuned, token, deal_id, live)
        heard: list[dict[str, Any]] = []
        while len(heard) < 3:
            message = await client.receive(5.0)
            if message != {"id": "4", "type": "complete"}:  # the refused one may be completed
                heard.append(message)
        assert sorted(m.get("id") for m in heard) == ["1", "2", "3"], heard
        assert {timeline_message(m) for m in heard} == {live}
        await client.close()

    run(scenario)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("{not json", id="invalid-json"),
        pytest.param('{"type": "no-such-type"}', id="unknown-type"),
        pytest.param('["subscribe"]', id="json-array"),
        pytest.param('"subscribe"', id="json-string"),
        pytest.param('{"type": 7}', id="type-not-a-string"),
    ],
)
def test_a_malformed_message_closes_4400(tuned: ServerProcess, raw: str) -> None:
    token = token_for(tuned, ADMIN)
    assert run(lambda: _close_code_after(tuned, _after_ack(token, raw))) == 4400


def test_abuse_on_other_connections_leaves_a_subscriber_streaming(tuned: ServerProcess) -> None:
    token = token_for(tuned, ADMIN)
    deal_id = new_deal(tuned, token)
    expired = forged_token(token, -30)

    async def scenario() -> None:
        bystander = await live_timeline(tuned, token, deal_id)
        abuses = [
            _close_code_after(tuned, _subscribe_before_init),
            _close_code_after(tuned, _init_with("not-a-token")),
            _close_code_after(tuned, _init_with(expired)),
            _close_code_after(tuned, _after_ack(token, "{not json")),
            _close_code_after(tuned, _after_ack(token, '{"type": "no-such-type"}')),
        ]
        results = await asyncio.gather(*abuses, return_exceptions=True)
        assert all(isinstance(code, int) for code in results), results
        fresh = f"after the abuse {tag()}"
        await asyncio.to_thread(comment, tuned, token, deal_id, fresh)
        assert await next_comment(bystander, 5.0) == fresh
        assert bystander.close_code is None
        await bystander.close()

    run(scenario)


# ---------------------------------------------------------------- keep-alive


@pytest.mark.parametrize(("protocol", "expected"), [(TRANSPORT_WS, "ping"), (LEGACY_WS, "ka")])
def test_the_server_keeps_idle_sockets_alive(
    tuned: ServerProcess, protocol: str, expected: str
) -> None:
    token = token_for(tuned, ADMIN)

    async def scenario() -> list[str]:
        client = await GraphQLWebSocket.connected(tuned.ws_url, token, protocol)
        seen: list[str] = []
        try:
            for _ in range(2):  # one keep-alive, answered, then the socket still gets the next
                message = await client.receive_raw(3.0)
                seen.append(message["type"])
                if message["type"] == "ping":
                    await client.send({"type": "pong"})
        except TimeoutError:
            seen.append("timeout")
        finally:
            await client.close()
        return seen

    assert run(scenario) == [expected, expected]


# ---------------------------------------------------------------- lifecycle and limits


def test_sigterm_closes_sockets_with_1012_and_exits_0(servers: Servers) -> None:
    server = servers.get("sigterm")
    token = token_for(server, ADMIN)
    deal_id = new_deal(server, token)
    assert server.process is not None
    process = server.process

    async def scenario() -> tuple[int | None, float]:
        client = await live_timeline(server, token, deal_id)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        try:
            return await client.wait_closed(10.0), started
        finally:
            await client.close()

    code, started = run(scenario)
    closed_after = time.monotonic() - started
    try:
        exit_code: int | str = process.wait(max(0.1, 10.0 - closed_after))
    except subprocess.TimeoutExpired:
        exit_code = "still running after 10 s"
    print(
        f"\nSIGTERM: socket closed after {closed_after:.2f} s, "
        f"process gone after {time.monotonic() - started:.2f} s"
    )
    assert (code, exit_code) == (1012, 0), server.log()


def test_a_user_holds_at_most_the_configured_connections(servers: Servers) -> None:
    server = servers.get("per-user-cap")  # WS_MAX_CONNECTIONS_PER_USER=2
    analyst = token_for(server, ANALYST)
    admin = token_for(server, ADMIN)

    async def scenario() -> None:
        first = await GraphQLWebSocket.connected(server.ws_url, analyst)
        second = await GraphQLWebSocket.connected(server.ws_url, analyst)
        third = await GraphQLWebSocket.open(server.ws_url)
        with pytest.raises(Closed) as refused:
            await third.init(analyst)
        assert refused.value.code == 4429
        someone_else = await GraphQLWebSocket.connected(server.ws_url, admin)
        await first.close()
        await asyncio.sleep(0.5)
        again = await GraphQLWebSocket.connected(server.ws_url, analyst)
        for client in (second, someone_else, again):
            assert client.close_code is None
            await client.close()

    run(scenario)


# ---------------------------------------------------------------- Redis failures (run last)


async def _comments_on_the_same_socket(
    client: GraphQLWebSocket, count: int, seconds: float
) -> list[str]:
    """`count` comments within `seconds`, then whatever else comes within 1.5 s.

    A socket the server closes fails the test: the design replays from the database after
    a Redis reconnect, so the client never has to reconnect.
    """
    received: list[str] = []
    deadline = time.monotonic() + seconds
    try:
        while len(received) < count and time.monotonic() < deadline:
            received.append(await next_comment(client, deadline - time.monotonic()))
        received += [
            text
            for text in map(timeline_message, await client.messages_for(1.5))
            if text is not None
        ]
    except Closed as closed:
        pytest.fail(
            f"the server closed the socket ({closed.code} {closed.reason!r}) after "
            f"{received}, instead of replaying from the database"
        )
    except TimeoutError:
        pytest.fail(f"only {received} arrived within {seconds} s")
    assert client.close_code is None, "the socket must stay open"
    return received


def test_a_subscriber_cut_off_from_redis_gets_what_it_missed_by_replay(
    outage: OutageStack, owner_url: str
) -> None:
    """Another server publishes while this one's Redis connection is down: replay fills the gap.

    Redis stays up; only the subscriber's ACL user is shut out, so the missed comment is
    really published (and marked sent) before the subscriber can listen again.
    """
    server, writer = outage.subscriber, outage.writer
    token = token_for(writer, ADMIN)
    deal_id = new_deal(writer, token)
    missed, after = f"missed while cut off {tag()}", f"after coming back {tag()}"

    async def scenario() -> list[str]:
        client = await live_timeline(server, token, deal_id, writer=writer)
        outage.acl("ACL", "SETUSER", SUBSCRIBER_USER, "off")
        outage.acl("CLIENT", "KILL", "USER", SUBSCRIBER_USER)
        try:
            await asyncio.to_thread(comment, writer, token, deal_id, missed)
            deadline = time.monotonic() + 10
            while await _unpublished_comments(owner_url, deal_id):
                assert time.monotonic() < deadline, "the writer's relay never published"
                await asyncio.sleep(0.1)
            assert await client.messages_for(0.5) == []  # deaf, as intended
        finally:
            outage.acl("ACL", "SETUSER", SUBSCRIBER_USER, "on")
        back = time.monotonic()
        received = await _comments_on_the_same_socket(client, 1, 15.0)
        waited = time.monotonic() - back
        print(f"\nRedis cut-off: replayed and checked {waited:.2f} s after (incl. 1.5 s wait)")
        await asyncio.to_thread(comment, writer, token, deal_id, after)
        received += await _comments_on_the_same_socket(client, 1, 5.0)
        await client.close()
        return received

    assert run(scenario) == [missed, after]


def test_a_live_subscription_survives_a_redis_restart_on_the_same_socket(
    outage: OutageStack,
) -> None:
    """Comments posted during and after a Redis outage arrive once, in order, without reconnect."""
    server = outage.subscriber
    token = token_for(server, ADMIN)
    deal_id = new_deal(server, token)
    during, after = f"during the outage {tag()}", f"after the restart {tag()}"

    async def scenario() -> list[str]:
        client = await live_timeline(server, token, deal_id)
        await asyncio.to_thread(outage.redis.kill)
        # The comment needs only PostgreSQL: it must still be accepted.
        await asyncio.to_thread(comment, server, token, deal_id, during)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(outage.redis.start)  # same port, same ACL user
        restarted = time.monotonic()
        await asyncio.to_thread(comment, server, token, deal_id, after)
        received = await _comments_on_the_same_socket(client, 2, 20.0)
        waited = time.monotonic() - restarted
        print(f"\nRedis restart: both in and checked {waited:.2f} s after (incl. 1.5 s wait)")
        await client.close()
        return received

    assert run(scenario) == [during, after]
