"""Our app run inside this process: SQL statements per request, and the pyinstrument profile.

The app is the real one (``server.app.create_app`` with its lifespan and middleware), on the bench
database as the application role, called through ASGI directly (no HTTP client in the process,
so a profile shows only the server's work).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bench.perf.dataset import LOGIN_EMAIL, LOGIN_PASSWORD, Database
from bench.perf.processes import RunError, ours_env

LOGIN = (
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) "
    "{ accessToken errors { code message } } }"
)


async def asgi_post(
    app: Any, body: bytes, headers: dict[str, str], path: str = "/graphql"
) -> tuple[int, bytes]:
    """One POST through the ASGI app: (status, body)."""
    raw_headers = [
        (b"host", b"in-process"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *[(key.lower().encode(), value.encode()) for key, value in headers.items()],
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("in-process", 80),
        "state": {},
    }
    request_sent = False
    response_done = asyncio.Event()
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await response_done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                response_done.set()

    await app(scope, receive, send)
    return status, b"".join(chunks)


@dataclass
class InProcess:
    app: Any
    token: str

    async def post(self, payload: dict[str, Any]) -> tuple[int, bytes]:
        headers = {"authorization": f"Bearer {self.token}"}
        return await asgi_post(self.app, json.dumps(payload).encode(), headers)


@asynccontextmanager
async def in_process(db: Database) -> AsyncIterator[InProcess]:
    """The app with its lifespan running, and a token of the bench user."""
    from server.app import create_app
    from server.settings import Settings

    settings = Settings.from_env(ours_env(db, 0))
    app = create_app(settings, db.app_url)
    async with app.router.lifespan_context(app):
        payload = {"query": LOGIN, "variables": {"e": LOGIN_EMAIL, "p": LOGIN_PASSWORD}}
        status, raw = await asgi_post(app, json.dumps(payload).encode(), {})
        token = (json.loads(raw).get("data") or {}).get("login", {}).get("accessToken")
        if status != 200 or not token:
            raise RunError(f"in-process login failed: HTTP {status} {raw[:500]!r}")
        yield InProcess(app, token)


def _check(status: int, raw: bytes, what: str) -> None:
    body = json.loads(raw) if raw else None
    if status != 200 or not isinstance(body, dict) or body.get("errors") or not body.get("data"):
        raise RunError(f"{what} failed in-process: HTTP {status} {raw[:1000]!r}")


async def count_statements(db: Database, payloads: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Statements per request of each payload (``before_cursor_execute`` on the app's engine),
    after one warm-up request each; the tenant-scope statement is included."""
    from sqlalchemy import event

    executed: list[str] = []

    def counter(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        executed.append(statement)

    counts: dict[str, int] = {}
    async with in_process(db) as ours:
        engine = ours.app.state.services.engine.sync_engine
        event.listen(engine, "before_cursor_execute", counter)
        try:
            for name, payload in payloads.items():
                _check(*await ours.post(payload), name)
                before = len(executed)
                _check(*await ours.post(payload), name)
                counts[name] = len(executed) - before
        finally:
            event.remove(engine, "before_cursor_execute", counter)
    return counts


async def profile(
    db: Database,
    name: str,
    payload: dict[str, Any],
    iterations: int,
    interval: float,
    clients: int = 1,
) -> tuple[Any, float, int]:
    """(the profiler, seconds per request, response bytes) of ``iterations`` requests after 3
    warm-up ones, sent by ``clients`` concurrent tasks (1: one after the other)."""
    from pyinstrument import Profiler

    async with in_process(db) as ours:
        for _ in range(3):
            status, raw = await ours.post(payload)
            _check(status, raw, name)
        remaining = iterations

        async def client() -> None:
            nonlocal remaining, status, raw
            while remaining > 0:
                remaining -= 1
                status, raw = await ours.post(payload)
                _check(status, raw, name)

        profiler = Profiler(interval=interval, async_mode="enabled")
        start = time.perf_counter()
        profiler.start()
        await asyncio.gather(*(client() for _ in range(clients)))
        profiler.stop()
        elapsed = time.perf_counter() - start
    return profiler, elapsed / iterations, len(raw)
