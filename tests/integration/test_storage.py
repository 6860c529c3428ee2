"""Object storage: the same tests for the local store (through its routes) and S3.

S3 runs twice: against moto_server, and against s3rver (tests/support/s3rver), a fake S3 that
verifies SigV4 signatures, so the refusals real S3 enforces run against a server too.
"""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4

import boto3
import httpx
import pytest
from botocore.config import Config
from starlette.applications import Starlette
from starlette.testclient import TestClient

from domain.filetypes import sniff
from persistence.storage import (
    InvalidKey,
    LocalObjectStore,
    ObjectNotFound,
    ObjectStore,
    S3ObjectStore,
    StorageError,
    StoredObject,
    key_tenant,
    object_key,
    store_from_settings,
)
from server.settings import Settings
from server.storage_routes import storage_routes
from tests.conftest import free_port

T = TypeVar("T")

PDF = b"%PDF-1.7\n" + b"0123456789" * 300 + b"\n%%EOF\n"
SECRET = "storage-test-secret-0123456789abcdef"
REGION = "us-east-1"
PDF_TYPE = "application/pdf"
MOTO_DOES_NOT_VERIFY = (
    "moto_server does not verify presigned (query-string SigV4) URLs: it accepts any "
    "signature, expiry, key, size and type. Real S3 and MinIO refuse these with 403 "
    "(SignatureDoesNotMatch / AccessDenied 'Request has expired'); "
    "test_s3_presigned_urls_sign_what_s3_enforces checks the URLs bind them; the s3rver "
    "store runs these cases against a server that does verify them."
)
S3RVER_DIR = Path(__file__).resolve().parents[1] / "support" / "s3rver"
S3RVER_PACKAGE = S3RVER_DIR / "node_modules" / "@20minutes" / "s3rver" / "package.json"
S3RVER_BUCKET = "reos-test"
S3RVER_QUERY_ENCODING = (
    "s3rver canonicalises presigned query values with encodeURIComponent, which leaves "
    "' ( ) ! * unescaped where SigV4 (botocore, real S3) escapes them, so it refuses correctly "
    "signed GET URLs whose response-content-disposition holds them (a filename* or a name "
    "with parentheses). moto and local run this part."
)
S3RVER_EMPTY_RANGE = (
    "s3rver answers a ranged GET of a zero-byte object with 206 and Content-Length: 1 but no "
    "body (real S3: 416 InvalidRange, which S3ObjectStore.read handles); moto and local run "
    "this part."
)


@dataclass
class Backend:
    """A store, the HTTP client that talks to its URLs, and whether its server checks them."""

    name: str
    store: ObjectStore
    http: httpx.Client
    verifies_urls: bool

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run(coroutine)

    def put(self, url: str, data: bytes, content_type: str) -> httpx.Response:
        return self.http.put(url, content=data, headers={"Content-Type": content_type})

    def upload(self, key: str, data: bytes, content_type: str = "application/pdf") -> None:
        url = self.store.presign_put(key, content_type, len(data), 60)
        response = self.put(url, data, content_type)
        assert response.status_code in (200, 204), response.text

    def stored(self, key: str) -> StoredObject | None:
        return self.run(self.store.stat(key))

    def require_url_checks(self) -> None:
        if not self.verifies_urls:
            pytest.skip(MOTO_DOES_NOT_VERIFY)


def aws_env(access_key: str, secret_key: str) -> Mapping[str, str]:
    """The environment boto3 reads credentials from, with no config file or metadata lookups."""
    return {
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real moto_server process on a free loopback port, with a bucket; stopped at the end."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    patch = pytest.MonkeyPatch()
    for name, value in aws_env("test", "test").items():
        patch.setenv(name, value)
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        stop(process)
        patch.undo()


@pytest.fixture(scope="session")
def s3_bucket(moto_endpoint: str) -> str:
    bucket = f"reos-test-{uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    client.create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture(scope="session")
def s3rver_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tests/support/s3rver/server.js (node) on a free loopback port, with S3RVER_BUCKET.

    Installs its locked node_modules with `npm ci` the first time; skips only when node or
    npm is not on PATH. The server exits when its stdin closes, so it cannot outlive the run.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run s3rver (tests/support/s3rver)")
    if not S3RVER_PACKAGE.is_file():
        install = subprocess.run(
            [npm, "ci", "--prefix", str(S3RVER_DIR), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert install.returncode == 0, f"npm ci failed:\n{install.stdout}\n{install.stderr}"
    port = free_port()
    log = tmp_path_factory.mktemp("s3rver") / "stderr.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [node, str(S3RVER_DIR / "server.js"), str(port), S3RVER_BUCKET],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        lines: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout
        threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
        try:
            first = lines.get(timeout=30).strip()
        except queue.Empty:
            first = ""
        if first != "ready":
            raise RuntimeError(f"s3rver did not start ({first!r}): {log.read_text()}")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture
def local_store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects", SECRET, base_url="http://testserver")


@pytest.fixture
def local_client(local_store: LocalObjectStore) -> Iterator[TestClient]:
    with TestClient(Starlette(routes=storage_routes(local_store))) as client:
        yield client


@pytest.fixture(params=["local", "s3", "s3rver"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    if request.param == "local":
        store = request.getfixturevalue("local_store")
        yield Backend("local", store, request.getfixturevalue("local_client"), True)
        return
    if request.param == "s3rver":
        endpoint = request.getfixturevalue("s3rver_endpoint")
        for name, value in aws_env("S3RVER", "S3RVER").items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        # S3ObjectStore uses boto3's default session, which keeps the first keys it resolved
        # (moto's): a fresh one for this test reads S3RVER's from the environment.
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        store = S3ObjectStore(S3RVER_BUCKET, endpoint, REGION)
        with httpx.Client(timeout=10) as http:
            yield Backend("s3rver", store, http, True)
        return
    endpoint = request.getfixturevalue("moto_endpoint")
    store = S3ObjectStore(request.getfixturevalue("s3_bucket"), endpoint, REGION)
    with httpx.Client(timeout=10) as http:
        yield Backend("s3", store, http, False)


def new_key(tenant: UUID | None = None, *parts: str) -> str:
    return object_key(tenant or uuid4(), "documents", str(uuid4()), *(parts or ("v1",)))


def with_key(url: str, old: str, new: str) -> str:
    """The same URL (query and signature untouched) with another key in its path."""
    parts = urlsplit(url)
    assert old in parts.path
    return parts._replace(path=parts.path.replace(old, new)).geturl()


# --- both stores -------------------------------------------------------------------------


def test_round_trip(backend: Backend) -> None:
    key = new_key()
    url = backend.store.presign_put(key, "application/pdf", len(PDF), 60)
    response = backend.put(url, PDF, "application/pdf")
    assert response.status_code in (200, 204), response.text

    assert backend.stored(key) == StoredObject(key, len(PDF))
    head = backend.run(backend.store.read(key, 16))
    assert head == PDF[:16]
    assert sniff(head) == "application/pdf"
    assert backend.run(backend.store.read(key, 10 * len(PDF))) == PDF

    download = backend.store.presign_get(key, 60, "Purchase Agreement.pdf", "application/pdf")
    response = backend.http.get(download)
    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"].split(";")[0] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="Purchase Agreement.pdf"' in disposition

    backend.run(backend.store.delete(key))
    assert backend.stored(key) is None
    backend.run(backend.store.delete(key))  # deleting again is fine


def test_round_trip_with_a_file_name_in_the_key(backend: Backend) -> None:
    key = new_key(None, "v1", "Purchase Agreement (signed) Café.pdf")
    backend.upload(key, PDF)
    assert backend.stored(key) == StoredObject(key, len(PDF))
    if backend.name == "s3rver":
        pytest.skip(S3RVER_QUERY_ENCODING)
    url = backend.store.presign_get(key, 60, "Purchase Agreement (signed) Café.pdf", PDF_TYPE)
    response = backend.http.get(url)
    assert response.status_code == 200
    assert response.content == PDF
    assert (
        "filename*=UTF-8''Purchase%20Agreement%20%28signed%29%20Caf%C3%A9.pdf"
        in (response.headers["content-disposition"])
    )


def test_empty_object_round_trip(backend: Backend) -> None:
    key = new_key()
    backend.upload(key, b"", "text/plain")
    assert backend.stored(key) == StoredObject(key, 0)
    assert backend.run(backend.store.read(key, 0)) == b""
    if backend.name == "s3rver":
        pytest.skip(S3RVER_EMPTY_RANGE)
    assert backend.run(backend.store.read(key, 100)) == b""


def test_missing_object(backend: Backend) -> None:
    key = new_key()
    assert backend.stored(key) is None
    with pytest.raises(ObjectNotFound):
        backend.run(backend.store.read(key, 10))
    response = backend.http.get(backend.store.presign_get(key, 60, "x.pdf", "application/pdf"))
    # S3 answers 403, not 404, when the URL's signer may not list the bucket (moto: 403 too)
    expected = (404,) if backend.name == "local" else (403, 404)
    assert response.status_code in expected, response.text
    backend.run(backend.store.delete(key))


def test_each_tenant_reads_only_its_own_object(backend: Backend) -> None:
    tenant_a, tenant_b = uuid4(), uuid4()
    document = str(uuid4())
    key_a = object_key(tenant_a, "documents", document, "v1")
    key_b = object_key(tenant_b, "documents", document, "v1")
    assert key_a != key_b
    assert (key_tenant(key_a), key_tenant(key_b)) == (tenant_a, tenant_b)
    backend.upload(key_a, b"tenant A " + PDF)
    backend.upload(key_b, b"tenant B " + PDF)

    response = backend.http.get(backend.store.presign_get(key_a, 60, "a.pdf", "application/pdf"))
    assert response.status_code == 200
    assert response.content.startswith(b"tenant A ")
    assert backend.run(backend.store.read(key_b, 9)) == b"tenant B "


@pytest.mark.parametrize(
    "key",
    [
        "t/not-a-uuid/documents/x",
        "documents/x",
        "t/{tenant}",
        "t/{tenant}/../{other}/x",
        "t/{tenant}/documents/../../../etc/passwd",
        "t/{tenant_upper}/x",
        "t/{tenant}//x",
        "/t/{tenant}/x",
    ],
)
def test_stores_refuse_malformed_keys(backend: Backend, key: str) -> None:
    tenant = uuid4()
    key = key.format(tenant=tenant, other=uuid4(), tenant_upper=str(tenant).upper())
    assert key_tenant(key) is None
    with pytest.raises(InvalidKey):
        backend.store.presign_put(key, "application/pdf", 10, 60)
    with pytest.raises(InvalidKey):
        backend.store.presign_get(key, 60, "x.pdf", "application/pdf")
    for call in (backend.store.stat(key), backend.store.read(key, 10), backend.store.delete(key)):
        with pytest.raises(InvalidKey):
            backend.run(call)


# --- refusals the storage server must enforce (local routes, s3rver; real S3 and MinIO) -----


@pytest.mark.parametrize("sent", [120, 80])
def test_wrong_size_is_refused_and_nothing_stored(backend: Backend, sent: int) -> None:
    backend.require_url_checks()
    key = new_key()
    url = backend.store.presign_put(key, "application/pdf", 100, 60)
    response = backend.put(url, PDF[:sent], "application/pdf")
    assert response.status_code in (400, 403), response.text
    if backend.name == "local":
        assert response.json()["error"]["code"] == "SIZE_MISMATCH"
    assert backend.stored(key) is None


def test_wrong_content_type_is_refused(backend: Backend) -> None:
    backend.require_url_checks()
    key = new_key()
    url = backend.store.presign_put(key, "application/pdf", len(PDF), 60)
    response = backend.put(url, PDF, "text/html")
    assert response.status_code in (400, 403), response.text
    if backend.name == "local":
        assert response.json()["error"]["code"] == "TYPE_MISMATCH"
    assert backend.stored(key) is None


def test_expired_urls_are_refused(backend: Backend) -> None:
    backend.require_url_checks()
    key, other = new_key(), new_key()
    backend.upload(key, PDF)
    put_url = backend.store.presign_put(other, "application/pdf", len(PDF), 1)
    get_url = backend.store.presign_get(key, 1, "a.pdf", "application/pdf")
    time.sleep(2.1)
    put = backend.put(put_url, PDF, "application/pdf")
    get = backend.http.get(get_url)
    assert (put.status_code, get.status_code) == (403, 403)
    if backend.name == "local":
        assert put.json()["error"]["code"] == get.json()["error"]["code"] == "URL_EXPIRED"
    assert backend.stored(other) is None


def test_put_url_replayed_for_another_key_is_refused(backend: Backend) -> None:
    backend.require_url_checks()
    tenant = uuid4()
    key, other = new_key(tenant), new_key(tenant)
    url = backend.store.presign_put(key, "application/pdf", len(PDF), 60)
    response = backend.put(with_key(url, key, other), PDF, "application/pdf")
    assert response.status_code == 403, response.text
    if backend.name == "local":
        assert response.json()["error"]["code"] == "BAD_SIGNATURE"
    assert backend.stored(other) is None
    assert backend.stored(key) is None


def test_get_url_rewritten_to_another_tenant_is_refused(backend: Backend) -> None:
    backend.require_url_checks()
    document = str(uuid4())
    key_a = object_key(uuid4(), "documents", document, "v1")
    key_b = object_key(uuid4(), "documents", document, "v1")
    backend.upload(key_a, b"tenant A " + PDF)
    backend.upload(key_b, b"tenant B " + PDF)
    url_a = backend.store.presign_get(key_a, 60, "a.pdf", "application/pdf")
    response = backend.http.get(with_key(url_a, key_a, key_b))
    assert response.status_code == 403
    assert b"tenant B" not in response.content


def test_put_url_does_not_download(backend: Backend) -> None:
    backend.require_url_checks()
    key = new_key()
    backend.upload(key, PDF)
    response = backend.http.get(backend.store.presign_put(key, "application/pdf", len(PDF), 60))
    assert response.status_code in (403, 405)
    assert PDF[:20] not in response.content


# --- keys ----------------------------------------------------------------------------------


def test_object_key_is_tenant_prefixed() -> None:
    tenant, document = uuid4(), uuid4()
    key = object_key(tenant, "documents", str(document), "v2.pdf")
    assert key == f"t/{tenant}/documents/{document}/v2.pdf"
    assert key_tenant(key) == tenant
    assert key_tenant("t/x/y") is None


@pytest.mark.parametrize(
    "part",
    [
        *("..", "../x", "a/b", "/", "a..b", "", ".hidden", " lead", "trail ", "a\\b"),
        *("a\x00b", "a\tb", "a\nb", "e\u0301.pdf", "a\u202eb", "a%2fb", "a?b", "x" * 256),
    ],
)
def test_object_key_refuses_unsafe_parts(part: str) -> None:
    with pytest.raises(InvalidKey):
        object_key(uuid4(), "documents", part)
    with pytest.raises(ValueError):
        object_key(uuid4(), part)


def test_object_key_takes_safe_file_names() -> None:
    tenant = uuid4()
    for part in ("Purchase Agreement (signed).pdf", "Café plan_v2-final.pdf", "x" * 255):
        assert object_key(tenant, "documents", part).endswith("/" + part)


def test_object_key_needs_a_tenant_and_a_part() -> None:
    with pytest.raises(InvalidKey):
        object_key(uuid4())
    with pytest.raises(InvalidKey):
        object_key("not-a-uuid", "x")  # type: ignore[arg-type]


# --- the local store and its routes ----------------------------------------------------------


def test_local_store_refuses_keys_resolving_outside_its_root(
    local_store: LocalObjectStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"not yours")
    tenant = uuid4()
    tenant_dir = local_store.root / "t" / str(tenant)
    tenant_dir.mkdir(parents=True)
    (tenant_dir / "link").symlink_to(outside, target_is_directory=True)
    (tenant_dir / "file-link").symlink_to(outside / "secret.txt")
    for key in (f"t/{tenant}/link/secret.txt", f"t/{tenant}/file-link"):
        with pytest.raises(InvalidKey, match="outside"):
            local_store.path(key)
        with pytest.raises(InvalidKey):
            asyncio.run(local_store.read(key, 100))
        with pytest.raises(InvalidKey):
            asyncio.run(local_store.delete(key))
    assert (outside / "secret.txt").read_bytes() == b"not yours"
    with pytest.raises(InvalidKey):
        local_store.path(f"t/{tenant}/../../../{outside.name}/secret.txt")


def test_local_verify_names_each_failure(local_store: LocalObjectStore) -> None:
    key = new_key()
    url = local_store.presign_put(key, "application/pdf", 100, 60)
    params = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    assert local_store.verify("PUT", key, params).size == 100

    def code(method: str, key: str, params: dict[str, str], now: float | None = None) -> str:
        with pytest.raises(StorageError) as raised:
            local_store.verify(method, key, params, now)
        return raised.value.code

    assert code("PUT", key, {k: v for k, v in params.items() if k != "sig"}) == "BAD_SIGNATURE"
    assert code("PUT", key, {**params, "sig": "0" * 64}) == "BAD_SIGNATURE"
    assert code("PUT", key, {**params, "size": "101"}) == "BAD_SIGNATURE"
    assert code("PUT", key, {**params, "ct": "text/plain"}) == "BAD_SIGNATURE"
    assert code("PUT", key, {**params, "exp": str(int(params["exp"]) + 3600)}) == "BAD_SIGNATURE"
    assert code("PUT", new_key(), params) == "BAD_SIGNATURE"
    assert code("GET", key, {**params, "fn": "x.pdf"}) == "BAD_SIGNATURE"
    assert code("DELETE", key, params) == "METHOD_NOT_ALLOWED"
    assert code("PUT", key, params, now=int(params["exp"]) + 1) == "URL_EXPIRED"
    other_secret = LocalObjectStore(local_store.root, "another-secret")
    with pytest.raises(StorageError, match="signature"):
        other_secret.verify("PUT", key, params)


def test_local_put_requires_content_length(
    local_store: LocalObjectStore, local_client: TestClient
) -> None:
    key = new_key()
    url = local_store.presign_put(key, "text/plain", 10, 60)
    chunks = iter([b"01234", b"56789"])  # an iterator is sent chunked, without Content-Length
    response = local_client.put(url, content=chunks, headers={"Content-Type": "text/plain"})
    assert response.status_code == 411
    assert response.json()["error"]["code"] == "LENGTH_REQUIRED"
    assert asyncio.run(local_store.stat(key)) is None


def asgi_put(app: Any, url: str, headers: dict[str, str], chunks: list[bytes], hang_up: bool):
    """Drive the ASGI app directly, so the body can disagree with Content-Length."""
    parts = urlsplit(url)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")]
        + [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks
    ]
    messages.append({"type": "http.disconnect"} if hang_up else {"type": "http.request"})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def leftovers(store: LocalObjectStore) -> list[Path]:
    return [path for path in store.root.rglob("*") if path.is_file()]


def test_local_put_body_longer_than_signed_is_cut_off(local_store: LocalObjectStore) -> None:
    app = Starlette(routes=storage_routes(local_store))
    key = new_key()
    url = local_store.presign_put(key, "application/pdf", 100, 60)
    headers = {"Content-Type": "application/pdf", "Content-Length": "100"}
    status, body = asgi_put(app, url, headers, [PDF[:60], PDF[60:120], PDF[120:200]], False)
    assert status == 413
    assert b'"TOO_LARGE"' in body
    assert asyncio.run(local_store.stat(key)) is None
    assert leftovers(local_store) == []


def test_local_put_client_hanging_up_leaves_nothing(local_store: LocalObjectStore) -> None:
    app = Starlette(routes=storage_routes(local_store))
    key = new_key()
    url = local_store.presign_put(key, "application/pdf", 100, 60)
    headers = {"Content-Type": "application/pdf", "Content-Length": "100"}
    status, body = asgi_put(app, url, headers, [PDF[:40]], True)
    assert status == 400
    assert b'"SIZE_MISMATCH"' in body
    assert leftovers(local_store) == []


def test_local_objects_are_written_once(
    local_store: LocalObjectStore, local_client: TestClient
) -> None:
    key = new_key()
    statuses = []
    for content in (b"first version", b"second"):
        url = local_store.presign_put(key, "text/plain", len(content), 60)
        response = local_client.put(url, content=content, headers={"Content-Type": "text/plain"})
        statuses.append(response.status_code)
    assert statuses == [200, 409]
    assert local_store.path(key).read_bytes() == b"first version"
    assert leftovers(local_store) == [local_store.path(key)]


def test_local_get_names_the_download(
    local_store: LocalObjectStore, local_client: TestClient
) -> None:
    key = new_key()
    content = b"address,price\n1 Main St,250000\n"
    url = local_store.presign_put(key, "text/csv", len(content), 60)
    local_client.put(url, content=content, headers={"Content-Type": "text/csv"})
    response = local_client.get(local_store.presign_get(key, 60, 'Café "comps".csv', "text/csv"))
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"Caf_ _comps_.csv\"; filename*=UTF-8''Caf%C3%A9%20%22comps%22.csv"
    )


def test_local_urls_carry_the_signed_fields(local_store: LocalObjectStore) -> None:
    key = new_key()
    url = urlsplit(local_store.presign_put(key, "application/pdf", 42, 300))
    query = parse_qs(url.query)
    assert url.path == f"/storage/{key}"
    assert query["ct"] == ["application/pdf"] and query["size"] == ["42"]
    assert 295 <= int(query["exp"][0]) - time.time() <= 300
    assert len(query["sig"][0]) == 64
    with pytest.raises(ValueError):
        local_store.presign_put(key, "application/pdf", 42, 0)
    with pytest.raises(ValueError):
        local_store.presign_get(key, 8 * 24 * 3600, "a.pdf", "application/pdf")


# --- S3 specifics and settings -----------------------------------------------------------------


def test_s3_presigned_urls_sign_what_s3_enforces(moto_endpoint: str, s3_bucket: str) -> None:
    store = S3ObjectStore(s3_bucket, moto_endpoint, REGION)
    key = new_key()
    put = urlsplit(store.presign_put(key, "image/png", 1234, 900))
    query = parse_qs(put.query)
    assert put.path == f"/{s3_bucket}/{key}"  # path-style with a custom endpoint
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-SignedHeaders"][0].split(";") == ["content-length", "content-type", "host"]
    get = parse_qs(urlsplit(store.presign_get(key, 60, "Site plan.png", "image/png")).query)
    assert get["response-content-disposition"] == ['attachment; filename="Site plan.png"']
    assert get["response-content-type"] == ["image/png"]


def test_store_from_settings(tmp_path: Path, moto_endpoint: str) -> None:
    local = store_from_settings(Settings(data_dir=tmp_path, jwt_secret=SECRET))
    assert isinstance(local, LocalObjectStore)
    assert local.root == (tmp_path / "objects").resolve()

    settings = Settings.from_env(
        {"S3_BUCKET": "reos-docs", "S3_ENDPOINT_URL": moto_endpoint, "S3_REGION": REGION}
    )
    s3 = store_from_settings(settings)
    assert isinstance(s3, S3ObjectStore) and s3.bucket == "reos-docs"
    assert Settings.from_env({}).max_upload_bytes == 25 * 1024 * 1024
    assert Settings.from_env({"MAX_UPLOAD_BYTES": "1048576"}).max_upload_bytes == 1048576
