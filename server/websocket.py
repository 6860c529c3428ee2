"""WebSocket hygiene: Origin check, close codes, per-user connection caps and server pings."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

FORBIDDEN = 4403
TOO_MANY_CONNECTIONS = 4429


class OriginCheckMiddleware:
    """Refuse WebSocket handshakes from browser origins that are not ours or configured."""

    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self.app = app
        self.allowed = {origin.rstrip("/") for origin in allowed_origins}

    def allows(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1").rstrip("/")
        if not origin:
            return True  # not a browser: nothing to hijack; the token still decides
        if origin in self.allowed or "*" in self.allowed:
            return True
        host = headers.get(b"host", b"").decode("latin-1")
        return bool(host) and urlsplit(origin).netloc == host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not self.allows(scope):
            message = await receive()
            if message["type"] == "websocket.connect":
                await send(
                    {"type": "websocket.close", "code": FORBIDDEN, "reason": "Origin not allowed"}
                )
            return
        await self.app(scope, receive, send)


class WebSocketAdapter(ASGIWebSocketAdapter):
    """Closes once, and with the code the connection was refused for (e.g. 4429), if any."""

    async def close(self, code: int, reason: str) -> None:
        refused = getattr(self.ws.state, "refusal", None)
        if refused is not None and code in (FORBIDDEN, 1011):
            code, reason = refused
        with contextlib.suppress(RuntimeError):
            await self.ws.close(code=code, reason=reason)


def refuse(websocket: object, code: int, reason: str) -> None:
    """Remember why connection_init is refused, for the adapter's close."""
    websocket.state.refusal = (code, reason)  # type: ignore[attr-defined]


class _ConnectionLifecycle:
    """Shared by both protocols: give back the user's connection slot when the socket ends."""

    context: object

    def release_connection(self) -> None:
        release = getattr(self.context, "release_connection", None)
        if release is not None:
            release()


class TransportWSHandler(BaseGraphQLTransportWSHandler, _ConnectionLifecycle):
    """graphql-transport-ws, plus a server `ping` every `ping_seconds` after the ack."""

    ping_seconds: float = 15.0

    async def handle(self) -> None:
        pinger = asyncio.create_task(self._ping()) if self.ping_seconds > 0 else None
        try:
            await super().handle()
        finally:
            if pinger is not None:
                pinger.cancel()
                with contextlib.suppress(BaseException):
                    await pinger
            self.release_connection()

    async def handle_message(self, message: Any) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.handle_invalid_message("A message is a JSON object with a string `type`")
            return
        await super().handle_message(message)

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(self.ping_seconds)
            if self.connection_acknowledged:
                try:
                    await self.send_message({"type": "ping"})
                except Exception:
                    return


class LegacyWSHandler(BaseGraphQLWSHandler, _ConnectionLifecycle):
    """Legacy graphql-ws (keep-alive `ka` messages come from Strawberry)."""

    async def handle(self) -> None:
        try:
            await super().handle()
        finally:
            self.release_connection()

    async def handle_message(self, message: Any) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.websocket.close(code=4400, reason="A message is a JSON object with a type")
            return
        await super().handle_message(message)


def transport_handler(ping_seconds: float) -> type[TransportWSHandler]:
    return type("TransportWSHandler", (TransportWSHandler,), {"ping_seconds": ping_seconds})
