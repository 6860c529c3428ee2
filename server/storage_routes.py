"""The local object store's presigned-URL endpoints: PUT and GET /storage/{key}."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from persistence.storage import LocalObjectStore, StorageError, content_disposition

logger = logging.getLogger("reos.storage")

STATUS = {
    "BAD_KEY": 400,
    "BAD_SIGNATURE": 403,
    "URL_EXPIRED": 403,
    "METHOD_NOT_ALLOWED": 405,
    "LENGTH_REQUIRED": 411,
    "SIZE_MISMATCH": 400,
    "TYPE_MISMATCH": 400,
    "TOO_LARGE": 413,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
}


def error_response(code: str, message: str) -> JSONResponse:
    """`{"error": {"code", "message"}}` with the status for the code."""
    return JSONResponse({"error": {"code": code, "message": message}}, STATUS.get(code, 400))


def storage_routes(store: LocalObjectStore) -> list[Route]:
    """The routes that serve `store`'s presigned URLs; mount them at the app's root."""

    async def put_object(request: Request) -> Response:
        key = request.path_params["key"]
        try:
            signed = store.verify("PUT", key, request.query_params)
            if request.headers.get("content-type", "").strip() != signed.content_type:
                raise StorageError(
                    "TYPE_MISMATCH", f"Content-Type must be {signed.content_type!r}, as signed."
                )
            _check_length(request.headers.get("content-length"), signed.size or 0)
            await store.write(key, _body(request), signed.size or 0)
        except StorageError as exc:
            logger.info("storage PUT refused: %s %s", exc.code, key)
            return error_response(exc.code, exc.message)
        return Response(status_code=200)

    async def get_object(request: Request) -> Response:
        key = request.path_params["key"]
        try:
            signed = store.verify(request.method, key, request.query_params)
            path = store.path(key)
        except StorageError as exc:
            logger.info("storage GET refused: %s %s", exc.code, key)
            return error_response(exc.code, exc.message)
        if not path.is_file():
            return error_response("NOT_FOUND", "No object is stored under this key.")
        headers = {
            "Content-Disposition": content_disposition(signed.filename or "download"),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        }
        return FileResponse(path, media_type=signed.content_type, headers=headers)

    return [
        Route("/storage/{key:path}", put_object, methods=["PUT"]),
        Route("/storage/{key:path}", get_object, methods=["GET"]),
    ]


def _check_length(header: str | None, size: int) -> None:
    """The request must announce exactly the signed number of bytes."""
    if header is None:
        raise StorageError("LENGTH_REQUIRED", f"Content-Length is required ({size} bytes).")
    if not header.isdigit() or int(header) != size:
        raise StorageError(
            "SIZE_MISMATCH", f"Content-Length is {header}, the URL is signed for {size} bytes."
        )


async def _body(request: Request) -> AsyncIterator[bytes]:
    """The request body; a client that goes away mid-upload leaves a short body."""
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        return
