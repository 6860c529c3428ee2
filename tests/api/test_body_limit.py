"""A 5 MB GraphQL body is refused unread; normal requests and storage uploads are not affected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
from starlette.testclient import TestClient

from server.body_limit import BodySizeLimitMiddleware


def test_a_five_megabyte_body_is_refused_with_413(client: TestClient) -> None:
    padding = "x" * (5 * 1024 * 1024)
    response = client.post(
        "/graphql", json={"query": "{ __typename }", "variables": {"padding": padding}}
    )
    assert response.status_code == 413
    error = response.json()["errors"][0]
    expected = {"code": "QUERY_TOO_COMPLEX", "limit": "bodyBytes", "max": 1048576}
    assert error["extensions"] == expected
    assert response.headers["x-request-id"]
    assert client.post("/graphql", json={"query": "{ __typename }"}).json() == {
        "data": {"__typename": "Query"}
    }


def test_a_streamed_body_without_length_is_cut_off_at_the_limit() -> None:
    reached: list[int] = []

    async def app(scope, receive, send) -> None:  # a GraphQL stand-in that reads everything
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        reached.append(len(body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read"})

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"y" * 65536  # 4 MiB in all, no Content-Length

    async def main() -> httpx.Response:
        limited = BodySizeLimitMiddleware(app, max_bytes=1_000_000)
        transport = httpx.ASGITransport(app=limited)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.post("/graphql", content=chunks())

    response = asyncio.run(main())
    assert response.status_code == 413
    assert reached == []  # the application never got the whole body


def test_other_paths_are_not_limited() -> None:
    async def app(scope, receive, send) -> None:
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(size).encode()})

    async def main() -> httpx.Response:
        limited = BodySizeLimitMiddleware(app, max_bytes=10)
        transport = httpx.ASGITransport(app=limited)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.put("/storage/upload/t/x", content=b"z" * 1000)

    response = asyncio.run(main())
    assert (response.status_code, response.text) == (200, "1000")
