"""Object storage: tenant-prefixed keys, presigned URLs, a local directory store and S3."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import tempfile
import time
import unicodedata
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode
from uuid import UUID

MAX_EXPIRES_IN = 7 * 24 * 3600  # the longest a presigned URL may live, as on S3
MAX_PART_LENGTH = 255
_PART_PUNCTUATION = frozenset(" ._-()")  # with letters and digits: what safe_name keeps
_KEY_PREFIX = "t"
_SIGNED_METHODS = ("GET", "PUT")


class StorageError(Exception):
    """An expected storage failure with a stable code (BAD_SIGNATURE, URL_EXPIRED, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidKey(StorageError, ValueError):
    """A key that is not tenant-prefixed, has unsafe parts, or leaves the store's root."""

    def __init__(self, message: str) -> None:
        super().__init__("BAD_KEY", message)


class ObjectNotFound(StorageError, LookupError):
    """No object is stored under the key."""

    def __init__(self, key: str) -> None:
        super().__init__("NOT_FOUND", f"No object is stored under {key!r}.")


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int


class ObjectStore(Protocol):
    """Where document bytes live; clients move the bytes themselves through presigned URLs."""

    def presign_put(self, key: str, content_type: str, size: int, expires_in: int) -> str:
        """A URL the client PUTs exactly `size` bytes of `content_type` to."""
        ...

    def presign_get(self, key: str, expires_in: int, filename: str, content_type: str) -> str:
        """A URL that downloads the object as `filename` with `content_type`."""
        ...

    async def stat(self, key: str) -> StoredObject | None:
        """The object's size, or None when nothing is stored under the key."""
        ...

    async def read(self, key: str, limit: int) -> bytes:
        """At most `limit` bytes from the start of the object (ObjectNotFound if missing)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing object is not an error."""
        ...


def object_key(tenant_id: UUID, *parts: str) -> str:
    """`t/<tenant uuid>/<parts...>`: every key belongs to exactly one tenant."""
    if not isinstance(tenant_id, UUID):
        raise InvalidKey("An object key needs the tenant's UUID.")
    if not parts:
        raise InvalidKey("An object key needs at least one part after the tenant.")
    for part in parts:
        _check_part(part)
    return "/".join((_KEY_PREFIX, str(tenant_id), *parts))


def key_tenant(key: str) -> UUID | None:
    """The tenant a well-formed key belongs to, or None for anything else."""
    try:
        return _check_key(key)
    except InvalidKey:
        return None


def _check_part(part: str) -> None:
    """Letters, digits, space and . _ - ( ) (a safe_name fits); no '/', '..' or leading dot."""
    if (
        not isinstance(part, str)
        or not 0 < len(part) <= MAX_PART_LENGTH
        or "/" in part
        or ".." in part
        or part[0] in ". "
        or part[-1] == " "
        or not all(char.isalnum() or char in _PART_PUNCTUATION for char in part)
        or unicodedata.normalize("NFC", part) != part
    ):
        raise InvalidKey(
            f"Key part {part!r} must be 1-{MAX_PART_LENGTH} letters, digits, spaces or . _ - ( ),"
            " without '/' or '..', not starting with a dot or space (NFC)."
        )


def _check_key(key: str) -> UUID:
    """The key's tenant, or InvalidKey unless it is exactly what `object_key` builds."""
    segments = key.split("/") if isinstance(key, str) else []
    if len(segments) < 3 or segments[0] != _KEY_PREFIX:
        raise InvalidKey("Object keys look like t/<tenant uuid>/<part>[/<part>...].")
    try:
        tenant = UUID(segments[1])
    except ValueError:
        raise InvalidKey("Object keys start with t/<tenant uuid>/.") from None
    if str(tenant) != segments[1]:
        raise InvalidKey("The tenant in an object key must be a lowercase hyphenated UUID.")
    for part in segments[2:]:
        _check_part(part)
    return tenant


def _check_expires_in(expires_in: int) -> None:
    if not 1 <= expires_in <= MAX_EXPIRES_IN:
        raise ValueError(f"expires_in must be between 1 and {MAX_EXPIRES_IN} seconds")


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266)."""
    fallback = "".join(
        char if 32 <= ord(char) < 127 and char not in '"\\' else "_" for char in filename
    )
    value = f'attachment; filename="{fallback or "download"}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


@dataclass(frozen=True)
class SignedRequest:
    """What a verified local URL allows: the method, key, type and size or file name."""

    method: str
    key: str
    expires: int
    content_type: str
    size: int | None = None
    filename: str | None = None


class LocalObjectStore:
    """Objects as files under `root`; URLs point at the app's /storage routes, HMAC-signed."""

    def __init__(self, root: Path, secret: str, base_url: str = "") -> None:
        self.root = Path(root).resolve()
        self.base_url = base_url.rstrip("/")
        self._signing_key = hmac.new(secret.encode(), b"reos-storage", hashlib.sha256).digest()

    def presign_put(self, key: str, content_type: str, size: int, expires_in: int) -> str:
        _check_key(key)
        _check_expires_in(expires_in)
        if size < 0:
            raise ValueError("size must not be negative")
        expires = int(time.time()) + expires_in
        params = {"exp": str(expires), "ct": content_type, "size": str(size)}
        return self._url(key, params, self._sign("PUT", key, expires, content_type, str(size)))

    def presign_get(self, key: str, expires_in: int, filename: str, content_type: str) -> str:
        _check_key(key)
        _check_expires_in(expires_in)
        expires = int(time.time()) + expires_in
        params = {"exp": str(expires), "ct": content_type, "fn": filename}
        return self._url(key, params, self._sign("GET", key, expires, content_type, filename))

    def verify(
        self, method: str, key: str, params: Mapping[str, str], now: float | None = None
    ) -> SignedRequest:
        """The signed request a URL's query allows, or StorageError (constant-time check)."""
        method = "GET" if method == "HEAD" else method
        if method not in _SIGNED_METHODS:
            raise StorageError("METHOD_NOT_ALLOWED", f"{method} is not a signed storage method.")
        _check_key(key)
        extra_name = "size" if method == "PUT" else "fn"
        values = [params.get(name) for name in ("exp", "ct", extra_name, "sig")]
        if any(value is None for value in values):
            raise StorageError("BAD_SIGNATURE", "The URL is not signed for this request.")
        raw_expires, content_type, extra, signature = (str(value) for value in values)
        expected = self._sign(method, key, raw_expires, content_type, extra)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise StorageError(
                "BAD_SIGNATURE",
                "The URL's signature does not match this method, key, type and size or name.",
            )
        expires = int(raw_expires)  # signed by us, so a valid integer
        if (time.time() if now is None else now) > expires:
            raise StorageError("URL_EXPIRED", "The URL has expired; ask for a new one.")
        if method == "PUT":
            return SignedRequest(method, key, expires, content_type, size=int(extra))
        return SignedRequest(method, key, expires, content_type, filename=extra)

    def path(self, key: str) -> Path:
        """The file for a key; InvalidKey if the key is malformed or resolves outside root."""
        _check_key(key)
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise InvalidKey("The key resolves outside the storage root.")
        return path

    async def write(self, key: str, chunks: AsyncIterable[bytes], size: int) -> StoredObject:
        """Store exactly `size` bytes atomically, once: objects are never overwritten.

        TOO_LARGE, SIZE_MISMATCH and ALREADY_EXISTS leave nothing behind.
        """
        path = self.path(key)
        if path.exists():
            raise StorageError("ALREADY_EXISTS", "This upload URL was already used.")
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".tmp")
        written = 0
        try:
            with os.fdopen(fd, "wb") as file:
                async for chunk in chunks:
                    written += len(chunk)
                    if written > size:
                        raise StorageError(
                            "TOO_LARGE", f"The body is longer than the signed {size} bytes."
                        )
                    if chunk:
                        await asyncio.to_thread(file.write, chunk)
                if written != size:
                    raise StorageError(
                        "SIZE_MISMATCH", f"Got {written} bytes, the URL is signed for {size}."
                    )
                await asyncio.to_thread(_flush_and_sync, file)
            try:
                os.link(temp_name, path)  # fails if another upload got there first
            except FileExistsError as exc:
                raise StorageError("ALREADY_EXISTS", "This upload URL was already used.") from exc
        finally:
            Path(temp_name).unlink(missing_ok=True)
        return StoredObject(key, size)

    async def stat(self, key: str) -> StoredObject | None:
        path = self.path(key)
        try:
            result = await asyncio.to_thread(path.stat)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not path.is_file():
            return None
        return StoredObject(key, result.st_size)

    async def read(self, key: str, limit: int) -> bytes:
        path = self.path(key)
        if limit <= 0:
            if not path.is_file():
                raise ObjectNotFound(key)
            return b""
        try:
            return await asyncio.to_thread(_read_head, path, limit)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    async def delete(self, key: str) -> None:
        path = self.path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    def _sign(
        self, method: str, key: str, expires: int | str, content_type: str, extra: str
    ) -> str:
        fields = (method, key, str(expires), content_type, extra)
        message = "|".join(quote(field, safe="") for field in fields)
        return hmac.new(self._signing_key, message.encode(), hashlib.sha256).hexdigest()

    def _url(self, key: str, params: dict[str, str], signature: str) -> str:
        query = urlencode({**params, "sig": signature}, quote_via=quote)
        return f"{self.base_url}/storage/{quote(key)}?{query}"


def _read_head(path: Path, limit: int) -> bytes:
    with path.open("rb") as file:
        return file.read(limit)


def _flush_and_sync(file: Any) -> None:
    file.flush()
    os.fsync(file.fileno())


class S3ObjectStore:
    """An S3 bucket (or MinIO and other S3-compatible servers) through boto3."""

    def __init__(
        self, bucket: str, endpoint_url: str | None = None, region: str | None = None
    ) -> None:
        import boto3
        from botocore.config import Config

        s3_options = {"addressing_style": "path"} if endpoint_url else {}
        self.bucket = bucket
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(s3=s3_options, signature_version="s3v4"),
        )

    def presign_put(self, key: str, content_type: str, size: int, expires_in: int) -> str:
        _check_key(key)
        _check_expires_in(expires_in)
        if size < 0:
            raise ValueError("size must not be negative")
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "ContentType": content_type,
            "ContentLength": size,
        }
        return self._client.generate_presigned_url(
            "put_object", Params=params, ExpiresIn=expires_in
        )

    def presign_get(self, key: str, expires_in: int, filename: str, content_type: str) -> str:
        _check_key(key)
        _check_expires_in(expires_in)
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "ResponseContentDisposition": content_disposition(filename),
            "ResponseContentType": content_type,
        }
        return self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_in
        )

    async def stat(self, key: str) -> StoredObject | None:
        _check_key(key)
        try:
            head = await asyncio.to_thread(self._client.head_object, Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _is_missing(exc):
                return None
            raise
        return StoredObject(key, int(head["ContentLength"]))

    async def read(self, key: str, limit: int) -> bytes:
        _check_key(key)
        if limit <= 0:
            if await self.stat(key) is None:
                raise ObjectNotFound(key)
            return b""
        try:
            return await asyncio.to_thread(self._read_range, key, limit)
        except Exception as exc:
            if _is_missing(exc):
                raise ObjectNotFound(key) from None
            if _error_code(exc) == "InvalidRange":  # a zero-byte object has no byte 0
                return b""
            raise

    async def delete(self, key: str) -> None:
        _check_key(key)
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=key)

    def _read_range(self, key: str, limit: int) -> bytes:
        response = self._client.get_object(
            Bucket=self.bucket, Key=key, Range=f"bytes=0-{limit - 1}"
        )
        with response["Body"] as body:
            return body.read(limit)


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    return str(response.get("Error", {}).get("Code", "")) or None


def _is_missing(exc: Exception) -> bool:
    return _error_code(exc) in ("404", "NoSuchKey", "NotFound")


class StorageSettings(Protocol):
    """The settings `store_from_settings` reads (server.settings.Settings has them)."""

    @property
    def data_dir(self) -> Path: ...
    @property
    def jwt_secret(self) -> str: ...
    @property
    def s3_bucket(self) -> str | None: ...
    @property
    def s3_endpoint_url(self) -> str | None: ...
    @property
    def s3_region(self) -> str | None: ...


def store_from_settings(settings: StorageSettings) -> ObjectStore:
    """S3 when S3_BUCKET is set, else a local directory under DATA_DIR/objects."""
    if settings.s3_bucket:
        return S3ObjectStore(settings.s3_bucket, settings.s3_endpoint_url, settings.s3_region)
    return LocalObjectStore(settings.data_dir / "objects", settings.jwt_secret)
