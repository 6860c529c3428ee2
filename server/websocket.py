"""WebSocket hygiene: the Origin check against cross-site WebSocket hijacking."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

FORBIDDEN = 4403


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
