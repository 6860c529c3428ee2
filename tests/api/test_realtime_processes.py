"""Real-time subscriptions end to end: real `reos serve` processes, Redis and PostgreSQL.

Every test asserts what a user of the live deal timeline would notice. The relay is global
to the database while each server publishes to its own Redis, so tests that run their own
Redis or need committed rows to stay unpublished first stop the module's shared servers
(`alone`): at any time, every relay alive publishes to the same Redis, as in production.
"""

from __future__ import annotations

import asyncio
import base64
import signal
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
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

ADMIN = "demo@reos.dev"
ANALYST = "analyst@reos.dev"
VIEWER = "viewer@reos.dev"
OTHER_TENANT = "other@reos.dev"

LOGIN = """mutation($e: String!, $p: String!) {
  login(email: $e, password: $p) { accessToken errors { code } } }"""
PROPERTY_CREATE = """mutation($input: PropertyInput!) {
  propertyCreate(input: $input) { property { id } errors { code } } }"""
DEAL_CREATE = """mutation($input: DealCreateInput!) {
  dealCreate(input: $input) { deal { id } errors { code } } }"""
COMMENT = """mutation($d: ID!, $b: String!) { timelineCommentAdd(dealId: $d, body: $b) {
  entry { cursor message } errors { code } } }"""
TIMELINE = """subscription($d: ID!, $s: String) {
  timelineUpdated(dealId: $d, since: $s) { kind message cursor } }"""

_tokens: dict[str, str] = {}


# ---------------------------------------------------------------- HTTP helpers


def graphql(
    server: ServerProcess, query: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    """The `data` of a GraphQL POST that must not fail at the top level."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        server.graphql_url,
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=10,
    )
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]


def token_for(server: ServerProcess, email: str) -> str:
    """An access token (cached: every server shares the signing secret)."""
    if email not in _tokens:
        login = graphql(server, LOGIN, {"e": email, "p": DEMO_PASSWORD})["login"]
        assert login["errors"] == [] and login["accessToken"], login
        _tokens[email] = login["accessToken"]
    return _tokens[email]


def new_deal(server: ServerProcess, token: str) -> str:
    """A new deal of the token's tenant, on a new property."""
    tag = uuid.uuid4().hex[:10]
    address = {
        "streetNumber": "7",
        "streetName": f"E2e {tag} Street",
        "city": "Austin",
        "stateOrProvince": "TX",
        "postalCode": "78701",
    }
    fields = {"address": address, "propertyType": "RESIDENTIAL", "listPrice": "300000"}
    created = graphql(server, PROPERTY_CREATE, {"input": fields}, token)["propertyCreate"]
    assert created["errors"] == [], created
    deal_input = {"propertyId": created["property"]["id"], "strategy": "FLIP"}
    deal = graphql(server, DEAL_CREATE, {"input": deal_input}, token)["dealCreate"]
    assert deal["errors"] == [], deal
    return deal["deal"]["id"]


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
    return uuid.UUID(base64.b64decode(deal_id).decode().partition(":")[2])


def tag() -> str:
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


class Servers:
    """The module's shared servers, started on first use and stopped by `stop_all`."""

    def __init__(self, base_env: dict[str, str]) -> None:
        self.base_env = base_env
        self.running: dict[str, ServerProcess] = {}

    def get(self, name: str, **env: str) -> ServerProcess:
        server = self.running.get(name)
        if server is None or not server.running:
            server = ServerProcess({**self.base_env, **env}, name=name).start()
            self.running[name] = server
        return server

    def stop_all(self) -> None:
        for server in self.running.values():
            if server.running and server.terminate(5.0) is None:
                server.kill()
        self.running.clear()


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
    return servers.get("tuned", WS_MAX_SUBSCRIPTIONS_PER_CONNECTION="3", WS_PING_SECONDS="1")


async def _relay_listeners(owner_url: str) -> int:
    conn = await asyncpg.connect(owner_url)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE '%LISTEN%reos_outbox%'"
        )
    finally:
        await conn.close()


@pytest.fixture
def alone(servers: Servers, owner_url: str) -> None:
    """No other server (and so no other relay) runs during the test."""
    servers.stop_all()
    deadline = time.monotonic() + 10
    while (listeners := asyncio.run(_relay_listeners(owner_url))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert listeners == 0, f"{listeners} relay(s) of other processes still listen on the database"


async def _unpublished_comments(owner_url: str, deal_id: str) -> int:
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
    alone: None, base_env: dict[str, str], owner_url: str
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
            await asyncio.to_thread(comment, first, token, deal_id, lost)
            heard = await client.messages_for(1.0)
            await asyncio.to_thread(first.kill)
            code = await client.wait_closed(5.0)
            assert code != 1000, "a SIGKILLed server cannot close cleanly"
            return heard

        heard = run(on_first)
        assert [timeline_message(m) for m in heard] == [], "nothing should have been published"
        assert asyncio.run(_unpublished_comments(owner_url, deal_id)) == 1

    with ServerProcess(base_env, name="after-crash") as second:

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
        # B's relay sent the crashed server's row too (the live path had it to deduplicate).
        assert asyncio.run(_unpublished_comments(owner_url, deal_id)) == 0


def test_a_live_subscription_survives_a_redis_restart_on_the_same_socket(
    alone: None, base_env: dict[str, str]
) -> None:
    """Comments posted during and after a Redis outage arrive once, in order, without reconnect."""
    redis = RedisProcess(redis_binary()).start()
    try:
        with ServerProcess({**base_env, "REDIS_URL": redis.url}, name="redis-outage") as server:
            token = token_for(server, ADMIN)
            deal_id = new_deal(server, token)
            during, after = f"during the outage {tag()}", f"after the restart {tag()}"

            async def scenario() -> None:
                client = await live_timeline(server, token, deal_id)
                await asyncio.to_thread(redis.kill)
                # The comment needs only PostgreSQL: it must still be accepted.
                await asyncio.to_thread(comment, server, token, deal_id, during)
                await asyncio.sleep(1.0)
                await asyncio.to_thread(redis.start)
                await asyncio.to_thread(comment, server, token, deal_id, after)
                received: list[str] = []
                deadline = time.monotonic() + 20
                try:
                    while len(received) < 2 and time.monotonic() < deadline:
                        received.append(await next_comment(client, deadline - time.monotonic()))
                    received += [
                        text
                        for text in map(timeline_message, await client.messages_for(1.5))
                        if text is not None
                    ]
                except Closed as closed:
                    pytest.fail(
                        f"the server closed the socket ({closed.code} {closed.reason!r}) "
                        f"after receiving {received}, instead of replaying from the database"
                    )
                except TimeoutError:
                    pytest.fail(f"only {received} arrived within 20 s of the restart")
                assert received == [during, after]
                assert client.close_code is None, "the socket must stay open"
                await client.close()

            run(scenario)
    finally:
        redis.kill()


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
    assert _refused_then_deaf(tuned, OTHER_TENANT)


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
    ready = comment(tuned, token, deal_id, "ready")
    assert ready

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
        assert "LIMIT_EXCEEDED" in codes(errors) or "3" in errors[0].get("message", ""), errors
        live = f"still live {tag()}"
        await asyncio.to_thread(comment, tuned, token, deal_id, live)
        heard = [await client.receive(5.0) for _ in range(3)]
        assert sorted(m.get("id") for m in heard) == ["1", "2", "3"], heard
        assert {timeline_message(m) for m in heard} == {live}
        await client.close()

    run(scenario)


def test_malformed_messages_close_4400(tuned: ServerProcess) -> None:
    token = token_for(tuned, ADMIN)
    for raw in ("{not json", '{"type": "no-such-type"}', '["subscribe"]'):
        assert run(lambda raw=raw: _close_code_after(tuned, _after_ack(token, raw))) == 4400, raw


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


def test_sigterm_closes_sockets_with_1012_and_exits_0(base_env: dict[str, str]) -> None:
    with ServerProcess(base_env, name="sigterm") as server:
        token = token_for(server, ADMIN)
        deal_id = new_deal(server, token)

        async def scenario() -> int | None:
            client = await live_timeline(server, token, deal_id)
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            try:
                return await client.wait_closed(10.0)
            finally:
                await client.close()

        started = time.monotonic()
        code = run(scenario)
        assert server.process is not None
        try:
            exit_code = server.process.wait(max(0.1, 10.0 - (time.monotonic() - started)))
        except Exception as exc:  # noqa: BLE001 - report the timeout as a failure below
            exit_code = repr(exc)
        assert (code, exit_code) == (1012, 0), server.log()


def test_a_user_holds_at_most_the_configured_connections(base_env: dict[str, str]) -> None:
    env = {**base_env, "WS_MAX_CONNECTIONS_PER_USER": "2"}
    with ServerProcess(env, name="per-user-cap") as server:
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
