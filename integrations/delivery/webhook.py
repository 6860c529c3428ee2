"""Webhooks for partners: signed JSON POSTs with httpx, refusing unsafe destinations.

Signature: `X-Reos-Timestamp: <unix seconds>` and
`X-Reos-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`. Receivers
recompute it over the raw bytes, compare in constant time and refuse timestamps more than
5 minutes old, which stops replays. `X-Reos-Delivery` is the same on every retry of one
delivery (receivers dedupe by it); `X-Reos-Event` names the event (`alert.matched`).

Destinations: http(s) only, no credentials in the URL, redirects not followed. In production
the host must resolve only to public addresses (no loopback, private, link-local, multicast,
reserved), checked when the endpoint is saved and again before every send (SSRF).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

SIGNATURE_HEADER = "X-Reos-Signature"
TIMESTAMP_HEADER = "X-Reos-Timestamp"
DELIVERY_HEADER = "X-Reos-Delivery"
EVENT_HEADER = "X-Reos-Event"
TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"
USER_AGENT = "RealEstateOS-Webhooks/1"


class WebhookError(Exception):
    """A send that did not succeed; `permanent` when retrying cannot help."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class UnsafeUrl(ValueError):
    """A destination we refuse to call."""


def new_secret() -> str:
    """A signing secret (shown to the admin once)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature over the raw body."""
    lowered = {key.lower(): value for key, value in headers.items()}
    try:
        timestamp = int(lowered[TIMESTAMP_HEADER.lower()])
        given = lowered[SIGNATURE_HEADER.lower()]
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(given, sign(secret, timestamp, body))


def check_url_shape(url: str) -> str:
    """The URL, if it is one we may call at all (scheme, host, no credentials)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeUrl("Credentials in the URL are not allowed; the secret signs each request.")
    try:
        parts.port  # noqa: B018 - raises for a malformed port
    except ValueError as error:
        raise UnsafeUrl("The URL's port is not valid.") from error
    return url.strip()


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_destination(url: str, allow_private: bool) -> None:
    """Refuse a URL that is malformed or, unless allowed, reaches a non-public address."""
    check_url_shape(url)
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise UnsafeUrl(f"The host {host!r} does not resolve.") from error
    addresses = {info[4][0] for info in found}
    if not addresses or not all(_public(address) for address in addresses):
        raise UnsafeUrl("The URL reaches a private, loopback or reserved address.")


@dataclass(frozen=True, slots=True)
class WebhookResult:
    status: int
    elapsed_ms: int


class WebhookSender:
    """POSTs signed bodies; one shared httpx client (connection reuse), bounded timeouts."""

    def __init__(
        self,
        allow_private: bool,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            transport=transport,
        )

    async def send(
        self, url: str, secret: str, body: bytes, delivery_id: str, event: str
    ) -> WebhookResult:
        """Deliver once; WebhookError unless the endpoint answered 2xx."""
        try:
            await check_destination(url, self.allow_private)
        except UnsafeUrl as error:
            raise WebhookError(str(error)) from error
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            TIMESTAMP_HEADER: str(timestamp),
            DELIVERY_HEADER: delivery_id,
            EVENT_HEADER: event,
        }
        started = time.monotonic()
        try:
            response = await self.client.post(url, content=body, headers=headers)
        except httpx.TimeoutException as error:
            raise WebhookError("timed out") from error
        except httpx.HTTPError as error:
            raise WebhookError(f"{type(error).__name__}: {error}"[:300]) from error
        elapsed = int((time.monotonic() - started) * 1000)
        if not 200 <= response.status_code < 300:
            raise WebhookError(f"HTTP {response.status_code}")
        return WebhookResult(response.status_code, elapsed)

    async def aclose(self) -> None:
        await self.client.aclose()
