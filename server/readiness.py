"""Readiness: each dependency checked on its own, all at once, each within a short timeout.

`GET /ready` answers 200 when every configured dependency answers and 503 when any fails,
listing each one ("ok", "ok (in-memory)", "ok (postgres)", "off" when not configured, or
"unavailable") with how long its check took, so a hung dependency costs at most the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from integrations.delivery.email import parse_smtp_url
from persistence.storage import LocalObjectStore, S3ObjectStore

logger = logging.getLogger("reos.server")

CHECK_TIMEOUT_SECONDS = 2.0
UNAVAILABLE = "unavailable"

Check = Callable[[], Awaitable[str]]  # the status when healthy; raises when not


async def run_checks(
    checks: dict[str, Check], timeout: float = CHECK_TIMEOUT_SECONDS
) -> tuple[dict[str, str], dict[str, float]]:
    """Every check concurrently: (status by name, latency in ms by name)."""

    async def one(name: str, check: Check) -> tuple[str, str, float]:
        started = perf_counter()
        try:
            async with asyncio.timeout(timeout):
                status = await check()
        except TimeoutError:
            logger.warning("readiness: %s did not answer within %ss", name, timeout)
            status = UNAVAILABLE
        except Exception:
            logger.warning("readiness: %s unavailable", name, exc_info=True)
            status = UNAVAILABLE
        return name, status, round((perf_counter() - started) * 1000, 1)

    results = await asyncio.gather(*(one(name, check) for name, check in checks.items()))
    return (
        {name: status for name, status, _ in results},
        {name: latency for name, _, latency in results},
    )


def is_healthy(status: str) -> bool:
    return status == "off" or status.startswith("ok")


def database_check(engine: Any) -> Check:
    async def check() -> str:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return "ok"

    return check


def pubsub_check(redis: Any) -> Check:
    async def check() -> str:
        if redis is None:
            return "ok (in-memory)"
        await redis.ping()
        return "ok"

    return check


def _probe_directory(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=root, prefix=".ready-", suffix=".tmp")
    try:
        os.write(fd, b"ok")
    finally:
        os.close(fd)
        os.unlink(name)


class S3Probe:
    """HEAD the bucket with a client of its own: short timeouts, no retries."""

    def __init__(self, store: S3ObjectStore, settings: Any, timeout: float) -> None:
        self.bucket = store.bucket
        self.settings = settings
        self.timeout = timeout
        self._client: Any = None

    def _head(self) -> None:
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "s3",
                endpoint_url=self.settings.s3_endpoint_url,
                region_name=self.settings.s3_region,
                config=Config(
                    connect_timeout=self.timeout,
                    read_timeout=self.timeout,
                    retries={"max_attempts": 1, "mode": "standard"},
                    s3={"addressing_style": "path"} if self.settings.s3_endpoint_url else {},
                ),
            )
        self._client.head_bucket(Bucket=self.bucket)

    async def __call__(self) -> str:
        await asyncio.to_thread(self._head)
        return "ok"


def storage_check(store: Any, settings: Any, timeout: float) -> Check:
    if isinstance(store, S3ObjectStore):
        return S3Probe(store, settings, timeout)

    async def check() -> str:
        if isinstance(store, LocalObjectStore):
            await asyncio.to_thread(_probe_directory, store.root)
        return "ok"

    return check


def search_check(search: Any, timeout: float) -> Check:
    async def check() -> str:
        client = getattr(search, "client", None)
        if client is None:
            return "ok (postgres)"
        if not await client.options(request_timeout=timeout, max_retries=0).ping():
            raise ConnectionError("Elasticsearch did not answer the ping")
        return "ok"

    return check


def smtp_check(smtp_url: str | None) -> Check:
    async def check() -> str:
        if not smtp_url:
            return "off"
        config = parse_smtp_url(smtp_url)
        _, writer = await asyncio.open_connection(config.host, config.port)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return "ok"

    return check


def checks_for(app: Any, timeout: float = CHECK_TIMEOUT_SECONDS) -> dict[str, Check]:
    """The app's checks, built once and kept on app.state."""
    checks = getattr(app.state, "readiness_checks", None)
    if checks is None:
        state, settings = app.state, app.state.settings
        services = state.services
        checks = {
            "database": database_check(services.engine),
            "pubsub": pubsub_check(getattr(state, "redis", None)),
            "storage": storage_check(services.storage, settings, timeout),
            "search": search_check(getattr(state, "search", None), timeout),
            "smtp": smtp_check(settings.smtp_url),
        }
        state.readiness_checks = checks
    return checks


async def ready(request: Request, timeout: float = CHECK_TIMEOUT_SECONDS) -> Response:
    statuses, latency = await run_checks(checks_for(request.app, timeout), timeout)
    healthy = all(is_healthy(status) for status in statuses.values())
    body = {"status": "ready" if healthy else "unavailable", **statuses, "latency_ms": latency}
    return JSONResponse(body, 200 if healthy else 503)
