"""The ASGI application: GraphQL over HTTP and WebSocket, health, readiness, GraphiQL assets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from domain.permissions import Principal, Role
from integrations.extraction import extractor_from_env
from persistence.database import ShortTenantSession, TenantSession, create_engine
from persistence.instrumentation import instrument_engine
from persistence.ratelimit import LoginLimiter, MemoryFailureCounter, RedisFailureCounter
from persistence.search import backend_from_settings
from persistence.storage import LocalObjectStore, store_from_settings
from resolvers.context import Context, Services
from resolvers.loaders import Loaders
from schema.root import build_schema
from server import readiness
from server.alert_consumer import AlertConsumer
from server.auth import Authenticator, InvalidToken, Passwords, principal_from_header
from server.body_limit import BodySizeLimitMiddleware
from server.delivery_worker import alert_workers
from server.extraction_worker import ExtractionWorker
from server.graphql_http import GraphQLHTTP
from server.idempotency import idempotency_store_from
from server.middleware import RequestIdMiddleware
from server.persisted_queries import persisted_queries_from
from server.rate_limit import rate_limiter_from
from server.search_indexer import indexer_for
from server.security_headers import SecurityHeadersMiddleware
from server.settings import Settings
from server.storage_routes import storage_routes
from server.tracing import setup_tracing
from server.valuation_consumer import ValuationConsumer
from server.websocket import (
    FORBIDDEN,
    TOO_MANY_CONNECTIONS,
    LegacyWSHandler,
    OriginCheckMiddleware,
    WebSocketAdapter,
    refuse,
    transport_handler,
)
from subscriptions.bus import bus_from_url
from subscriptions.connections import ActiveUsers, ConnectionLimiter
from subscriptions.relay import OutboxRelay

logger = logging.getLogger("reos.server")

STATIC_DIR = Path(__file__).resolve().parent / "static"
GRAPHIQL_PAGE = STATIC_DIR / "graphiql" / "index.html"


class GraphQLApp(GraphQL):
    """Strawberry's view for WebSockets (HTTP is server.graphql_http), and the GraphiQL page."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            build_schema(
                settings.introspection_enabled,
                settings.query_limits,
                settings.field_timeout_seconds,
                mask_suggestions=settings.is_production,
                tracing=settings.otel_endpoint is not None,
                compiled=settings.compiled_execution,
            ),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            keep_alive=settings.ws_ping_seconds > 0,
            keep_alive_interval=settings.ws_ping_seconds or 1,
        )
        self.graphql_transport_ws_handler_class = transport_handler(settings.ws_ping_seconds)
        self.graphql_ws_handler_class = LegacyWSHandler
        self.websocket_adapter_class = WebSocketAdapter

    async def on_ws_connect(self, context: Context) -> None:
        """The token comes in connection_init and is verified before anything else runs.

        A missing, bad or expired token closes the socket with 4403, a user past the
        per-user connection cap with 4429; an open socket closes (4403) when its token
        expires or its user is disabled.
        """
        params = context.connection_params or {}
        header = params.get("authorization") or params.get("Authorization")
        services: Services = context.services
        websocket = context.request
        try:
            principal = principal_from_header(services.authenticator, header)
            claims = services.authenticator.claims(header.partition(" ")[2]) if header else None
        except InvalidToken as exc:
            raise ConnectionRejectionError({"reason": "invalid token"}) from exc
        if principal is None or claims is None:
            raise ConnectionRejectionError({"reason": "authorization required"})
        if not await user_is_active(services.engine, principal):
            raise ConnectionRejectionError({"reason": "user disabled"})
        limiter: ConnectionLimiter = services.connections
        if not limiter.acquire(principal.user_id):
            refuse(websocket, TOO_MANY_CONNECTIONS, "Too many connections for this user")
            raise ConnectionRejectionError({"reason": "too many connections"})
        context.principal = principal
        context.session = TenantSession(services.engine, principal.tenant_id)
        context.loaders = Loaders(context.session, principal)
        context.token_expires_at = float(claims["exp"])
        watcher = asyncio.create_task(
            watch_connection(websocket, services, principal, context.token_expires_at)
        )

        def release() -> None:
            watcher.cancel()
            limiter.release(principal.user_id)

        context.release_connection = release

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(GRAPHIQL_PAGE.read_text())

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.app.state
        services: Services = state.services
        principal, auth_error = None, None
        try:
            principal = principal_from_header(
                services.authenticator, request.headers.get("authorization")
            )
        except InvalidToken as exc:
            auth_error = str(exc)
        tenant_id = principal.tenant_id if principal else None
        session = TenantSession(services.engine, tenant_id)
        return Context(
            request=request,
            response=response,
            services=services,
            principal=principal,
            session=session,
            loaders=Loaders(session, principal),
            client_address=request.client.host if request.client else "unknown",
            request_id=request.scope.get("state", {}).get("request_id"),
            auth_error=auth_error,
        )


async def user_is_active(engine: AsyncEngine, principal: Principal) -> bool:
    loaders = Loaders(ShortTenantSession(engine, principal.tenant_id), principal)
    user = await loaders.user_by_id.load(principal.user_id)
    return user is not None and user.active


def active_users(engine: AsyncEngine, ttl: float) -> ActiveUsers:
    async def check(tenant_id: UUID, user_id: UUID) -> bool:
        principal = Principal(user_id=user_id, tenant_id=tenant_id, role=Role.VIEWER)
        return await user_is_active(engine, principal)

    return ActiveUsers(check, ttl)


async def watch_connection(
    websocket: WebSocket, services: Services, principal: Principal, expires_at: float
) -> None:
    """Close the socket (4403) at token expiry, or when the user is disabled."""
    every = services.ws_recheck_seconds
    with contextlib.suppress(asyncio.CancelledError):
        while (remaining := expires_at - time.time()) > 0:
            await asyncio.sleep(min(remaining, every * random.uniform(0.8, 1.2)))
            if time.time() < expires_at:
                try:
                    active = await services.active_users.is_active(
                        principal.tenant_id, principal.user_id
                    )
                except Exception:
                    logger.warning("could not recheck a WebSocket user", exc_info=True)
                    continue
                if not active:
                    await _close(websocket, "User disabled")
                    return
        await _close(websocket, "Token expired")


async def _close(websocket: WebSocket, reason: str) -> None:
    with contextlib.suppress(Exception):
        await websocket.close(code=FORBIDDEN, reason=reason)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    """Each dependency on its own, checked concurrently with a timeout (server/readiness.py)."""
    return await readiness.ready(request)


async def metrics(request: Request) -> Response:
    """Prometheus text: real-time gauges and counters (more come with the edge work)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def favicon(request: Request) -> Response:
    return Response(status_code=204)


def create_app(settings: Settings, database_url: str | URL) -> Starlette:
    """The app, connecting to PostgreSQL as the application role at database_url."""
    settings.check()
    graphql = GraphQLApp(settings)
    http = GraphQLHTTP(
        graphql.schema,
        batching=settings.batching_enabled,
        max_batch=settings.batch_max_operations,
        request_timeout=settings.request_timeout_seconds,
        mask_suggestions=settings.is_production,
        graphiql=graphql.render_graphql_ide if settings.graphiql_enabled else None,
    )
    storage = store_from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(database_url, pool_size=settings.db_pool_size)
        instrument_engine(engine)
        stop_tracing = setup_tracing(settings)
        redis = None
        if settings.redis_url:
            import redis.asyncio as redis_asyncio

            redis = redis_asyncio.from_url(settings.redis_url)
        counter = (
            RedisFailureCounter(redis, settings.login_failure_window_seconds)
            if redis is not None
            else MemoryFailureCounter(settings.login_failure_window_seconds)
        )
        app.state.redis = redis
        worker = ExtractionWorker(
            engine, storage, extractor_from_env(os.environ), settings.max_upload_bytes
        )
        bus = bus_from_url(settings.redis_url)
        await bus.connect()
        relay = OutboxRelay(engine, bus)
        alerts = AlertConsumer(engine)
        app.state.bus, app.state.relay, app.state.alert_consumer = bus, relay, alerts
        matcher, deliveries = alert_workers(engine, settings)
        app.state.match_consumer, app.state.delivery_worker = matcher, deliveries
        search = backend_from_settings(settings.elasticsearch_url, settings.elasticsearch_index)
        app.state.search, app.state.search_indexer = search, indexer_for(engine, search)
        valuations = ValuationConsumer(engine)
        app.state.valuation_consumer = valuations
        tasks = []
        if settings.run_workers:
            tasks.append(asyncio.create_task(worker.run()))
            tasks.append(asyncio.create_task(alerts.run()))
            tasks.append(asyncio.create_task(matcher.run()))
            tasks.append(asyncio.create_task(deliveries.run()))
            if app.state.search_indexer is not None:
                tasks.append(asyncio.create_task(app.state.search_indexer.run()))
            tasks.append(asyncio.create_task(valuations.run()))
        if settings.run_relay:
            tasks.append(asyncio.create_task(relay.run()))
        app.state.extraction_worker = worker
        app.state.services = Services(
            engine=engine,
            authenticator=Authenticator(settings.jwt_secret, settings.access_token_ttl_seconds),
            passwords=Passwords(),
            login_limiter=LoginLimiter(
                counter,
                settings.login_max_failures_per_email,
                settings.login_max_failures_per_address,
            ),
            refresh_ttl=timedelta(days=settings.refresh_token_ttl_days),
            storage=storage,
            max_upload_bytes=settings.max_upload_bytes,
            wake_extraction=worker.wake,
            bus=bus,
            max_subscriptions_per_connection=settings.ws_max_subscriptions_per_connection,
            connections=ConnectionLimiter(settings.ws_max_connections_per_user),
            ws_recheck_seconds=settings.ws_recheck_seconds,
            active_users=active_users(engine, settings.ws_recheck_seconds * 0.9),
            allow_private_webhooks=not settings.is_production,
            search=search,
            rate_limiter=rate_limiter_from(redis, settings),
            idempotency=idempotency_store_from(redis, settings),
            persisted_queries=persisted_queries_from(engine, redis, settings),
        )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await worker.close()
            await deliveries.close()
            await search.close()
            await bus.disconnect()
            await engine.dispose()
            if redis is not None:
                await redis.aclose()
            await asyncio.to_thread(stop_tracing)

    routes = [
        Route("/graphql", http.handle, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/health", health),
        Route("/ready", ready),
        Route("/metrics", metrics),
        Route("/favicon.ico", favicon),
        # The live deal dashboard: a static page (no build step) that talks to /graphql.
        Route("/dashboard", lambda request: FileResponse(STATIC_DIR / "dashboard" / "index.html")),
        Mount("/dashboard", StaticFiles(directory=STATIC_DIR / "dashboard", html=True)),
    ]
    if isinstance(storage, LocalObjectStore):
        routes += storage_routes(storage)
    if settings.graphiql_enabled:
        routes.append(Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"))
        routes.append(Route("/", lambda request: FileResponse(GRAPHIQL_PAGE)))
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(SecurityHeadersMiddleware, hsts=settings.is_production),
        Middleware(OriginCheckMiddleware, allowed_origins=settings.cors_origins),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "OPTIONS"],
            allow_headers=[
                "authorization",
                "content-type",
                "x-request-id",
                "x-api-key",
                "idempotency-key",
                "apollo-require-preflight",
                "x-apollo-operation-name",
                "graphql-preflight",
            ],
            expose_headers=[
                "x-request-id",
                "retry-after",
                "ratelimit-limit",
                "ratelimit-remaining",
                "ratelimit-reset",
                "idempotent-replayed",
            ],
            max_age=600,
        ),
        Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.settings = settings
    return app
