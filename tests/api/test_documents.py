"""Documents through the real API and the local object store: presigned uploads verified by
their bytes, versions, logged downloads, shares and visibility, extraction with retries,
full-text search, project photos, upload abuse and tenant isolation."""

from __future__ import annotations

import random
import string
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit
from uuid import UUID, uuid4

import pytest
from starlette.testclient import TestClient

import persistence.storage as storage_module
from domain.extraction import DocumentExtraction, ExtractionError
from resolvers.document import UPLOAD_URL_SECONDS
from tests.api.test_construction import (
    DOCUMENT_COMPLETE,
    PHOTO_UPLOAD,
    new_deal,
    new_project,
    png_bytes,
    put_object,
)
from tests.api.test_deals import (
    MEMBER_SET,
    entries,
    error_fields,
    global_id,
    local_id,
    new_property,
    run,
    user_id,
)
from tests.conftest import Api

ADMIN = "demo@reos.dev"
OPS = "ops@reos.dev"
ANALYST = "analyst@reos.dev"
VIEWER = "viewer@reos.dev"
OTHER_ADMIN = "other@reos.dev"
MAX_UPLOAD = 25 * 1024 * 1024

TXT = "text/plain"
PDF = "application/pdf"
PNG = "image/png"

ERRORS = "errors { field message code }"
EXTRACTION_FIELDS = """status documentType parties { name role confidence }
  dates { label value confidence } amounts { label value confidence }
  confidence extractor error"""
DOCUMENT_FIELDS = f"""id name kind contentType size version createdAt updatedAt
  deal {{ id }} property {{ id }} project {{ id }} uploadedBy {{ email }}
  versions {{ version contentType size storedAt }}
  shares {{ permission user {{ email }} }}
  extraction {{ {EXTRACTION_FIELDS} }}"""

UPLOAD_CREATE = f"""mutation($input: DocumentUploadInput!) {{
  documentUploadCreate(input: $input) {{
    uploadUrl uploadExpiresAt document {{ id name kind contentType size version }} {ERRORS}
  }} }}"""
UPLOAD_COMPLETE = f"""mutation($id: ID!) {{ documentUploadComplete(id: $id) {{
  document {{ {DOCUMENT_FIELDS} }} {ERRORS} }} }}"""
SHARE = f"""mutation($id: ID!, $input: DocumentShareInput!) {{
  documentShare(id: $id, input: $input) {{
  document {{ id shares {{ permission user {{ email }} }} }} {ERRORS} }} }}"""
GET_DOCUMENT = f"query($id: ID!) {{ document(id: $id) {{ {DOCUMENT_FIELDS} }} }}"
DOWNLOAD_URL = "query($id: ID!) { document(id: $id) { id version downloadUrl } }"
LIST_DOCUMENTS = """query($filter: DocumentFilter, $first: Int, $after: String) {
  documents(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id name kind } }
  } }"""
SEARCH = """query($q: String!, $first: Int) { documentSearch(query: $q, first: $first) {
  totalCount edges { node { id name } } } }"""
PROJECT_PHOTOS = """query($id: ID!) { constructionProject(id: $id) {
  photos { id name contentType size url } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"

PURCHASE_AGREEMENT = """RESIDENTIAL PURCHASE AGREEMENT

This Purchase Agreement is made between the parties below.

Buyer: Jane Doe
Seller: Sam Seller
Property: 1200 Congress Avenue, Austin, TX 78701
Purchase Price: $412,500.00
Closing Date: 2026-03-15
Notes: {word}
"""


# ---------------------------------------------------------------- helpers


def word() -> str:
    """A made-up word nothing else contains (letters only, so search treats it as a word)."""
    return "zq" + "".join(random.choices(string.ascii_lowercase, k=10))


def start_upload(
    api: Api, name: str, content_type: str, size: int, user: str = ADMIN, **ids: Any
) -> dict:
    variables = {"input": {"name": name, "contentType": content_type, "size": size, **ids}}
    return run(api, UPLOAD_CREATE, variables, user)["documentUploadCreate"]


def started(
    api: Api, name: str, content_type: str, size: int, user: str = ADMIN, **ids: Any
) -> dict:
    payload = start_upload(api, name, content_type, size, user, **ids)
    assert payload["errors"] == [], payload
    return payload


def complete(api: Api, document_id: str, user: str = ADMIN) -> dict:
    return run(api, UPLOAD_COMPLETE, {"id": document_id}, user)["documentUploadComplete"]


def upload(
    api: Api,
    client: TestClient,
    name: str,
    content_type: str,
    data: bytes,
    user: str = ADMIN,
    **ids: Any,
) -> dict:
    """Create, PUT and complete an upload; the completed document."""
    payload = started(api, name, content_type, len(data), user, **ids)
    response = put_object(client, payload["uploadUrl"], data, content_type)
    assert response.status_code == 200, response.text
    done = complete(api, payload["document"]["id"], user)
    assert done["errors"] == [], done
    return done["document"]


def get_document(api: Api, document_id: str, user: str = ADMIN) -> dict | None:
    return run(api, GET_DOCUMENT, {"id": document_id}, user)["document"]


def download_url(api: Api, document_id: str, user: str = ADMIN) -> str:
    document = run(api, DOWNLOAD_URL, {"id": document_id}, user)["document"]
    assert document is not None and document["downloadUrl"], document
    return document["downloadUrl"]


def visible_ids(api: Api, user: str, filter: dict[str, Any] | None = None) -> list[str]:
    """Every document ID the user's `documents` lists (all pages)."""
    found: list[str] = []
    after = None
    while True:
        variables = {"filter": filter, "first": 100, "after": after}
        connection = run(api, LIST_DOCUMENTS, variables, user)["documents"]
        found += [edge["node"]["id"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return found
        after = connection["pageInfo"]["endCursor"]


def search(api: Api, query: str, user: str = ADMIN) -> list[str]:
    result = run(api, SEARCH, {"q": query, "first": 100}, user)["documentSearch"]
    return [edge["node"]["id"] for edge in result["edges"]]


def tenant_of(db: Any, name: str) -> UUID:
    return db("SELECT id FROM tenants WHERE name = $1", name)[0][0]


def store(client: TestClient) -> Any:
    return client.app.state.services.storage  # type: ignore[attr-defined]


def object_files(client: TestClient, db: Any, document_gid: str) -> list[Path]:
    """Every file (temporary ones too) the local store holds for a document."""
    document = local_id(document_gid)
    tenant = db("SELECT tenant_id FROM documents WHERE id = $1", document)[0][0]
    folder = store(client).root / "t" / str(tenant) / "documents" / str(document)
    return sorted(path for path in folder.rglob("*") if path.is_file())


def versions(db: Any, document_gid: str) -> list[tuple[int, str, str]]:
    """(version, status, object key) of a document's version rows."""
    rows = db(
        "SELECT version, status, object_key FROM document_versions WHERE document_id = $1 "
        "ORDER BY version",
        local_id(document_gid),
    )
    return [(row[0], row[1], row[2]) for row in rows]


def outbox_types(db: Any, document_gid: str) -> list[str]:
    rows = db(
        "SELECT event_type FROM outbox WHERE aggregate_id = $1 ORDER BY id", local_id(document_gid)
    )
    return [row[0] for row in rows]


def assert_nothing_stored(client: TestClient, db: Any, document_gid: str) -> None:
    """A refused upload leaves no version, no object, no event and no extraction job."""
    document = local_id(document_gid)
    assert db("SELECT version FROM documents WHERE id = $1", document)[0][0] == 0
    assert [v for v in versions(db, document_gid) if v[1] != "PENDING"] == []
    assert object_files(client, db, document_gid) == []
    assert outbox_types(db, document_gid) == []
    assert db("SELECT count(*) FROM extraction_jobs WHERE document_id = $1", document)[0][0] == 0


def access_log(db: Any, document_gid: str) -> list[tuple[int, str, str]]:
    rows = db(
        """SELECT l.version, u.email, l.action FROM document_access_log l
           JOIN users u ON u.id = l.user_id WHERE l.document_id = $1 ORDER BY l.id""",
        local_id(document_gid),
    )
    return [(row[0], row[1], row[2]) for row in rows]


def with_query(url: str, **changes: str) -> str:
    """The URL with some query parameters replaced."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    params.update(changes)
    return f"{parts.path}?{urlencode(params, quote_via=quote)}"


def with_key(url: str, key: str) -> str:
    """The URL pointed at another object key, signature and all kept."""
    parts = urlsplit(url)
    return f"/storage/{quote(key)}?{parts.query}"


def key_of(url: str) -> str:
    return unquote(urlsplit(url).path.removeprefix("/storage/"))


def refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text


# ---------------------------------------------------------------- extraction worker


def worker(client: TestClient) -> Any:
    return client.app.state.extraction_worker  # type: ignore[attr-defined]


def run_jobs(client: TestClient) -> int:
    return client.portal.call(worker(client).run_once)  # type: ignore[union-attr]


def extract(
    client: TestClient, db: Any, document_gid: str, version: int = 1, attempts: int = 1
) -> Any:
    """Run the worker until the document's job has been tried `attempts` times; its row."""
    deadline = time.monotonic() + 20
    while True:
        run_jobs(client)
        rows = db(
            """SELECT status, attempts, locked_until, next_attempt_at, last_error
               FROM extraction_jobs WHERE document_id = $1 AND version = $2""",
            local_id(document_gid),
            version,
        )
        assert rows, "no extraction job was queued"
        job = rows[0]
        if job["attempts"] >= attempts and job["locked_until"] is None:
            return job
        assert time.monotonic() < deadline, dict(job)
        time.sleep(0.05)


def drain(client: TestClient) -> None:
    """Process everything due now, so no earlier test's job meets a swapped extractor."""
    for _ in range(50):
        if run_jobs(client) == 0:
            return


class FailingExtractor:
    name = "failing"

    def __init__(self, error: ExtractionError) -> None:
        self.error = error
        self.calls = 0

    async def extract(self, content: bytes, content_type: str, filename: str) -> DocumentExtraction:
        self.calls += 1
        raise self.error


class Extractors:
    """Swaps the app worker's extractor for a failing one, and puts the real one back."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.original = worker(client).extractor

    def fail_with(self, error: ExtractionError) -> FailingExtractor:
        extractor = FailingExtractor(error)
        worker(self.client).extractor = extractor
        return extractor

    def restore(self) -> None:
        worker(self.client).extractor = self.original


@pytest.fixture
def extractors(client: TestClient) -> Iterator[Extractors]:
    drain(client)
    swapper = Extractors(client)
    try:
        yield swapper
    finally:
        swapper.restore()


# ---------------------------------------------------------------- the upload flow


def test_upload_complete_download_and_a_second_version(
    api: Api, client: TestClient, db: Any
) -> None:
    deal_id = new_deal(api)
    demo = tenant_of(db, "Demo Capital")
    data = b"Walkthrough notes\nRoof: 5 years left\nHVAC: replace\n"
    payload = started(api, "Walkthrough notes.txt", TXT, len(data), dealId=deal_id)
    pending = payload["document"]
    assert pending["version"] == 0 and pending["kind"] == "DOCUMENT"
    assert pending["name"] == "Walkthrough notes.txt" and pending["size"] == len(data)
    assert payload["uploadUrl"].startswith(f"/storage/t/{demo}/documents/")
    expires = datetime.fromisoformat(payload["uploadExpiresAt"].replace("Z", "+00:00"))
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)
    # Not a document anyone can see until it is complete.
    assert get_document(api, pending["id"]) is None

    assert put_object(client, payload["uploadUrl"], data, TXT).status_code == 200
    done = complete(api, pending["id"])
    assert done["errors"] == []
    document = done["document"]
    assert document["id"] == pending["id"]
    assert (document["version"], document["size"], document["contentType"]) == (1, len(data), TXT)
    assert document["kind"] == "DOCUMENT" and document["name"] == "Walkthrough notes.txt"
    assert document["deal"] == {"id": deal_id} and document["uploadedBy"] == {"email": ADMIN}
    assert [(v["version"], v["size"], v["contentType"]) for v in document["versions"]] == [
        (1, len(data), TXT)
    ]
    assert document["versions"][0]["storedAt"] is not None
    assert document["extraction"]["status"] == "PENDING"
    assert outbox_types(db, document["id"])[0] == "document.uploaded"
    latest = entries(api, deal_id)[0]
    assert latest["kind"] == "DOCUMENT_ADDED" and "Walkthrough notes.txt" in latest["message"]

    # Download: the same bytes, as an attachment with its name; each link handed out is logged.
    assert access_log(db, document["id"]) == []
    url = download_url(api, document["id"])
    response = client.get(url)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-disposition"] == 'attachment; filename="Walkthrough notes.txt"'
    assert response.headers["content-type"].startswith(TXT)
    assert access_log(db, document["id"]) == [(1, ADMIN, "DOWNLOAD_URL")]
    twice = run(
        api,
        """query($id: ID!) { a: document(id: $id) { downloadUrl }
                             b: document(id: $id) { downloadUrl } }""",
        {"id": document["id"]},
        ANALYST,
    )
    assert twice == {"a": None, "b": None}  # not on the deal's team: no link, nothing logged
    assert len(access_log(db, document["id"])) == 1
    twice = run(
        api,
        """query($id: ID!) { a: document(id: $id) { downloadUrl }
                             b: document(id: $id) { downloadUrl } }""",
        {"id": document["id"]},
    )
    assert twice["a"]["downloadUrl"] and twice["b"]["downloadUrl"]
    assert access_log(db, document["id"])[1:] == [(1, ADMIN, "DOWNLOAD_URL")] * 2
    assert get_document(api, document["id"]) is not None  # no link asked for: nothing logged
    assert len(access_log(db, document["id"])) == 3
    listed = run(
        api,
        """query($f: DocumentFilter) {
             documents(filter: $f) { edges { node { id downloadUrl } } } }""",
        {"f": {"dealId": deal_id}},
    )["documents"]["edges"]
    assert [edge["node"]["id"] for edge in listed] == [document["id"]]
    assert len(access_log(db, document["id"])) == 4

    # Version 2 through documentId.
    data2 = b"Walkthrough notes, revised\nRoof: replace now\n"
    again = started(api, "Walkthrough notes v2.txt", TXT, len(data2), documentId=document["id"])
    assert again["document"]["id"] == document["id"]
    assert key_of(again["uploadUrl"]).endswith("/v2/Walkthrough notes v2.txt")
    # Until it is complete the document stays at version 1.
    assert get_document(api, document["id"])["version"] == 1
    assert put_object(client, again["uploadUrl"], data2, TXT).status_code == 200
    second = complete(api, document["id"])
    assert second["errors"] == []
    assert second["document"]["version"] == 2
    assert second["document"]["name"] == "Walkthrough notes v2.txt"
    assert [(v["version"], v["size"]) for v in second["document"]["versions"]] == [
        (2, len(data2)),
        (1, len(data)),
    ]
    assert client.get(download_url(api, document["id"])).content == data2
    assert access_log(db, document["id"])[-1] == (2, ADMIN, "DOWNLOAD_URL")
    assert [v[:2] for v in versions(db, document["id"])] == [(1, "STORED"), (2, "STORED")]
    assert len(object_files(client, db, document["id"])) == 2
    on_deal = run(
        api, "query($id: ID!) { deal(id: $id) { documents { id version } } }", {"id": deal_id}
    )["deal"]["documents"]
    assert on_deal == [{"id": document["id"], "version": 2}]
    uploads = [kind for kind in outbox_types(db, document["id"]) if kind != "document.extracted"]
    assert uploads == ["document.uploaded", "document.uploaded"]


def test_complete_twice_or_for_unknown_ids(api: Api, client: TestClient) -> None:
    document = upload(api, client, "once.txt", TXT, b"just once")
    again = complete(api, document["id"])
    assert again["document"] is None
    assert error_fields(again["errors"]) == [("CONFLICT", ("id",))]
    unknown = complete(api, global_id("Document", uuid4()))
    assert error_fields(unknown["errors"]) == [("NOT_FOUND", ("id",))]
    assert error_fields(complete(api, "nope")["errors"]) == [("INVALID", ("id",))]


# ---------------------------------------------------------------- upload abuse


def test_completing_before_uploading_is_invalid_and_the_upload_can_still_finish(
    api: Api, client: TestClient, db: Any
) -> None:
    data = b"late bytes"
    payload = started(api, "late.txt", TXT, len(data))
    document_id = payload["document"]["id"]
    early = complete(api, document_id)
    assert early["document"] is None
    assert error_fields(early["errors"]) == [("INVALID", ("id",))]
    assert_nothing_stored(client, db, document_id)
    assert put_object(client, payload["uploadUrl"], data, TXT).status_code == 200
    assert complete(api, document_id)["errors"] == []


def test_a_body_of_another_size_or_type_is_refused_by_the_storage_route(
    api: Api, client: TestClient, db: Any
) -> None:
    payload = started(api, "hundred.txt", TXT, 100)
    document_id, url = payload["document"]["id"], payload["uploadUrl"]
    refused(put_object(client, url, b"a" * 120, TXT), 400, "SIZE_MISMATCH")
    refused(put_object(client, url, b"a" * 80, TXT), 400, "SIZE_MISMATCH")
    refused(put_object(client, url, b"a" * 100, "text/html"), 400, "TYPE_MISMATCH")
    refused(client.put(url, content=b"a" * 100), 400, "TYPE_MISMATCH")
    assert_nothing_stored(client, db, document_id)
    # Nothing reached the store, so there is nothing to complete.
    early = complete(api, document_id)
    assert error_fields(early["errors"]) == [("INVALID", ("id",))]
    assert_nothing_stored(client, db, document_id)
    # The declared bytes are still welcome.
    assert put_object(client, url, b"a" * 100, TXT).status_code == 200
    assert complete(api, document_id)["document"]["version"] == 1


def test_complete_refuses_a_stored_object_of_another_size_and_deletes_it(
    api: Api, client: TestClient, db: Any
) -> None:
    payload = started(api, "sized.txt", TXT, 100)
    document_id = payload["document"]["id"]
    # Bytes that reached the store some other way (an S3 client that ignores the length).
    path = store(client).path(key_of(payload["uploadUrl"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"b" * 90)
    result = complete(api, document_id)
    assert result["document"] is None
    assert error_fields(result["errors"]) == [("INVALID", ("id",))]
    assert "90" in result["errors"][0]["message"] and "100" in result["errors"][0]["message"]
    assert not path.exists()
    assert_nothing_stored(client, db, document_id)


@pytest.mark.parametrize(
    ("name", "declared", "data"),
    [
        ("x.pdf", PDF, png_bytes(7)),
        ("photo.png", PNG, b"%PDF-1.7\n" + b"0" * 200),
        ("notes.txt", TXT, png_bytes(8)),
        ("scan.jpg", "image/jpeg", png_bytes(9)),
    ],
    ids=["png-as-pdf", "pdf-as-png", "png-as-txt", "png-as-jpeg"],
)
def test_complete_refuses_content_of_another_type_and_deletes_it(
    api: Api, client: TestClient, db: Any, name: str, declared: str, data: bytes
) -> None:
    payload = started(api, name, declared, len(data))
    document_id = payload["document"]["id"]
    assert put_object(client, payload["uploadUrl"], data, declared).status_code == 200
    assert len(object_files(client, db, document_id)) == 1
    result = complete(api, document_id)
    assert result["document"] is None
    assert error_fields(result["errors"]) == [("INVALID", ("id",))]
    assert declared in result["errors"][0]["message"]
    assert_nothing_stored(client, db, document_id)
    assert get_document(api, document_id) is None


def test_a_completed_version_cannot_be_overwritten_through_its_upload_url(
    api: Api, client: TestClient, db: Any
) -> None:
    original = b"%PDF-1.4\n" + b"1" * 91
    payload = started(api, "contract.pdf", PDF, len(original))
    document_id, url = payload["document"]["id"], payload["uploadUrl"]
    assert put_object(client, url, original, PDF).status_code == 200
    assert complete(api, document_id)["errors"] == []
    swapped = b"MZ" + b"\x90" * 98  # same size, same signed type, not a PDF
    response = put_object(client, url, swapped, PDF)
    assert response.status_code in (403, 409), response.text
    assert client.get(download_url(api, document_id)).content == original


def test_uploads_over_the_size_limit_are_refused_up_front(api: Api, db: Any) -> None:
    before = db("SELECT count(*) FROM documents")[0][0]
    for size, code in ((MAX_UPLOAD + 1, "LIMIT_EXCEEDED"), (0, "INVALID"), (-5, "INVALID")):
        payload = start_upload(api, "big.pdf", PDF, size)
        assert payload["uploadUrl"] is None and payload["document"] is None
        assert error_fields(payload["errors"]) == [(code, ("input", "size"))], size
    assert "26,214,400" in start_upload(api, "big.pdf", PDF, MAX_UPLOAD + 1)["errors"][0]["message"]
    assert db("SELECT count(*) FROM documents")[0][0] == before
    assert start_upload(api, "exactly.pdf", PDF, MAX_UPLOAD)["errors"] == []


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "a/b.pdf", "..\\..\\boot.pdf", "/etc/passwd.pdf", ".hidden.pdf", "  "],
)
def test_path_like_or_empty_names_are_invalid(api: Api, db: Any, name: str) -> None:
    before = db("SELECT count(*) FROM documents")[0][0]
    payload = start_upload(api, name, PDF, 10)
    assert payload["document"] is None and payload["uploadUrl"] is None
    assert error_fields(payload["errors"]) == [("INVALID", ("input", "name"))], payload
    assert db("SELECT count(*) FROM documents")[0][0] == before


@pytest.mark.parametrize(
    ("name", "content_type", "field"),
    [
        ("setup.exe", "application/x-msdownload", "contentType"),
        ("page.html", "text/html", "contentType"),
        ("logo.svg", "image/svg+xml", "contentType"),
        ("setup.pdf", "application/x-msdownload", "contentType"),
        ("report.png", PDF, "name"),
        ("report", PDF, "name"),
    ],
)
def test_unsupported_or_mismatched_types_are_invalid(
    api: Api, db: Any, name: str, content_type: str, field: str
) -> None:
    before = db("SELECT count(*) FROM documents")[0][0]
    payload = start_upload(api, name, content_type, 10)
    assert payload["document"] is None and payload["uploadUrl"] is None
    assert error_fields(payload["errors"]) == [("INVALID", ("input", field))], payload
    assert db("SELECT count(*) FROM documents")[0][0] == before


def test_every_problem_with_an_upload_is_reported_at_once(api: Api) -> None:
    payload = start_upload(api, "a/b", "application/x-msdownload", MAX_UPLOAD + 1)
    assert error_fields(payload["errors"]) == [
        ("INVALID", ("input", "contentType")),
        ("INVALID", ("input", "name")),
        ("LIMIT_EXCEEDED", ("input", "size")),
    ]


def test_an_expired_upload_url_is_refused(
    api: Api, client: TestClient, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"expiring"
    payload = started(api, "expiring.txt", TXT, len(data))
    document_id, url = payload["document"]["id"], payload["uploadUrl"]

    class Later:
        """The clock, just after the URL's lifetime."""

        @staticmethod
        def time() -> float:
            return time.time() + UPLOAD_URL_SECONDS + 5

    with monkeypatch.context() as patch:
        patch.setattr(storage_module, "time", Later)
        refused(put_object(client, url, data, TXT), 403, "URL_EXPIRED")
    assert_nothing_stored(client, db, document_id)
    # Pulling the expiry into the past (or pushing it out) breaks the signature.
    past = str(int(time.time()) - 60)
    refused(put_object(client, with_query(url, exp=past), data, TXT), 403, "BAD_SIGNATURE")
    future = str(int(time.time()) + 86400)
    refused(put_object(client, with_query(url, exp=future), data, TXT), 403, "BAD_SIGNATURE")
    assert_nothing_stored(client, db, document_id)
    # Within its lifetime the URL works.
    assert put_object(client, url, data, TXT).status_code == 200
    assert complete(api, document_id)["errors"] == []


def test_a_signed_url_only_works_for_its_own_key_size_and_type(
    api: Api, client: TestClient, db: Any
) -> None:
    data = b"A" * 64
    first = started(api, "first.txt", TXT, len(data))
    second = started(api, "second.txt", TXT, len(data))
    url, other_url = first["uploadUrl"], second["uploadUrl"]
    attempts = [
        with_key(url, key_of(other_url)),  # replayed for another key
        with_key(url, key_of(url).replace("/v1/", "/v2/")),
        with_key(url, key_of(url).rsplit("/", 1)[0] + "/evil.txt"),
        with_query(url, size="65"),
        with_query(url, ct="text/csv"),
        with_query(url, sig="0" * 64),
    ]
    for attempt in attempts:
        body = b"A" * 65 if "size=65" in attempt else data
        content_type = "text/csv" if "ct=text" in attempt else TXT
        refused(put_object(client, attempt, body, content_type), 403, "BAD_SIGNATURE")
    unsigned = url.split("?", 1)[0]
    refused(put_object(client, unsigned, data, TXT), 403, "BAD_SIGNATURE")
    # A path that leaves the tenant's prefix is not even a key.
    escaped = with_key(url, "t/../../../etc/passwd")
    assert client.put(escaped, content=data, headers={"Content-Type": TXT}).status_code in (
        400,
        403,
        404,
    )
    for payload in (first, second):
        assert_nothing_stored(client, db, payload["document"]["id"])

    # A download URL cannot be used to upload, nor an upload URL to download.
    done = upload(api, client, "third.txt", TXT, data)
    download = download_url(api, done["id"])
    refused(put_object(client, download, data, TXT), 403, "BAD_SIGNATURE")
    refused(client.get(url), 403, "BAD_SIGNATURE")


# ---------------------------------------------------------------- roles


def test_document_writes_need_documents_write(api: Api, client: TestClient, db: Any) -> None:
    document = upload(api, client, "admin file.txt", TXT, b"admin")
    pending = started(api, "admin pending.txt", TXT, 5)
    assert put_object(client, pending["uploadUrl"], b"12345", TXT).status_code == 200
    before = db("SELECT count(*) FROM documents")[0][0]
    attempts: list[tuple[str, dict[str, Any]]] = [
        (UPLOAD_CREATE, {"input": {"name": "v.txt", "contentType": TXT, "size": 3}}),
        (
            UPLOAD_CREATE,
            {
                "input": {
                    "name": "v.txt",
                    "contentType": TXT,
                    "size": 3,
                    "documentId": document["id"],
                }
            },
        ),
        (UPLOAD_COMPLETE, {"id": pending["document"]["id"]}),
        (
            SHARE,
            {"id": document["id"], "input": {"userId": user_id(api, VIEWER), "permission": "EDIT"}},
        ),
    ]
    for query, variables in attempts:
        result = api.as_user(VIEWER, query, variables)
        assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN", result
        assert result["data"] is None
    assert db("SELECT count(*) FROM documents")[0][0] == before
    assert [v[1] for v in versions(db, pending["document"]["id"])] == ["PENDING"]
    assert get_document(api, document["id"])["shares"] == []
    assert get_document(api, document["id"], VIEWER) is None


# ---------------------------------------------------------------- shares and visibility


def test_a_private_document_is_seen_only_by_its_uploader_sharees_and_admins(
    api: Api, client: TestClient, db: Any
) -> None:
    document = upload(api, client, "Ops private.txt", TXT, b"ops only", OPS)
    doc_id = document["id"]
    assert document["deal"] is None and document["shares"] == []

    for user in (ANALYST, VIEWER):
        assert get_document(api, doc_id, user) is None
        assert doc_id not in visible_ids(api, user)
        assert run(api, NODE, {"id": doc_id}, user)["node"] is None
    assert get_document(api, doc_id, ADMIN) is not None
    assert doc_id in visible_ids(api, ADMIN)
    assert get_document(api, doc_id, OPS) is not None

    # Not visible means not changeable either.
    hidden = complete(api, doc_id, ANALYST)
    assert error_fields(hidden["errors"]) == [("NOT_FOUND", ("id",))]
    hidden_share = run(
        api,
        SHARE,
        {"id": doc_id, "input": {"userId": user_id(api, ANALYST), "permission": "EDIT"}},
        ANALYST,
    )["documentShare"]
    assert error_fields(hidden_share["errors"]) == [("NOT_FOUND", ("id",))]
    hidden_version = start_upload(api, "mine.txt", TXT, 3, ANALYST, documentId=doc_id)
    assert error_fields(hidden_version["errors"]) == [("NOT_FOUND", ("input", "documentId"))]

    shared = run(
        api,
        SHARE,
        {"id": doc_id, "input": {"userId": user_id(api, ANALYST), "permission": "VIEW"}},
        OPS,
    )["documentShare"]
    assert shared["errors"] == []
    assert shared["document"]["shares"] == [{"permission": "VIEW", "user": {"email": ANALYST}}]
    assert outbox_types(db, doc_id)[-1] == "document.shared"

    seen = get_document(api, doc_id, ANALYST)
    assert seen is not None and seen["shares"] == shared["document"]["shares"]
    assert doc_id in visible_ids(api, ANALYST)
    assert client.get(download_url(api, doc_id, ANALYST)).content == b"ops only"
    assert get_document(api, doc_id, VIEWER) is None

    # VIEW does not let the sharee add versions or share further.
    version = start_upload(api, "ops private v2.txt", TXT, 3, ANALYST, documentId=doc_id)
    assert error_fields(version["errors"]) == [("FORBIDDEN", ("input", "documentId"))]
    reshare = run(
        api,
        SHARE,
        {"id": doc_id, "input": {"userId": user_id(api, VIEWER), "permission": "VIEW"}},
        ANALYST,
    )["documentShare"]
    assert error_fields(reshare["errors"]) == [("FORBIDDEN", ("id",))]
    assert get_document(api, doc_id, VIEWER) is None

    # EDIT does (the share is changed, not duplicated).
    edit = run(
        api,
        SHARE,
        {"id": doc_id, "input": {"userId": user_id(api, ANALYST), "permission": "EDIT"}},
        OPS,
    )["documentShare"]
    assert edit["document"]["shares"] == [{"permission": "EDIT", "user": {"email": ANALYST}}]
    second = upload(api, client, "ops private v2.txt", TXT, b"v2!", ANALYST, documentId=doc_id)
    assert second["version"] == 2 and second["uploadedBy"] == {"email": OPS}

    # Only users of the tenant can be shared with.
    before = db("SELECT count(*) FROM document_shares WHERE document_id = $1", local_id(doc_id))
    foreign = run(
        api,
        SHARE,
        {"id": doc_id, "input": {"userId": user_id(api, OTHER_ADMIN), "permission": "VIEW"}},
        OPS,
    )["documentShare"]
    assert foreign["document"] is None
    assert error_fields(foreign["errors"]) == [("NOT_FOUND", ("input", "userId"))]
    assert (
        db("SELECT count(*) FROM document_shares WHERE document_id = $1", local_id(doc_id))
        == before
    )
    # Admins may share anything of the tenant.
    by_admin = run(
        api,
        SHARE,
        {"id": doc_id, "input": {"userId": user_id(api, VIEWER), "permission": "VIEW"}},
    )["documentShare"]
    assert by_admin["errors"] == []
    assert get_document(api, doc_id, VIEWER) is not None


def test_a_deals_documents_are_visible_to_its_team(api: Api, client: TestClient, db: Any) -> None:
    deal_id = new_deal(api)
    document = upload(api, client, "Deal memo.txt", TXT, b"deal memo", OPS, dealId=deal_id)
    deal_docs = "query($id: ID!) { deal(id: $id) { documents { id } } }"
    assert get_document(api, document["id"], ANALYST) is None
    assert visible_ids(api, ANALYST, {"dealId": deal_id}) == []
    assert run(api, deal_docs, {"id": deal_id}, ANALYST)["deal"]["documents"] == []
    # The deal's creator leads its team.
    assert visible_ids(api, ADMIN, {"dealId": deal_id}) == [document["id"]]

    added = run(
        api, MEMBER_SET, {"dealId": deal_id, "userId": user_id(api, ANALYST), "role": "ANALYST"}
    )["dealMemberSet"]
    assert added["errors"] == []
    assert get_document(api, document["id"], ANALYST)["deal"] == {"id": deal_id}
    assert visible_ids(api, ANALYST, {"dealId": deal_id}) == [document["id"]]
    assert run(api, deal_docs, {"id": deal_id}, ANALYST)["deal"]["documents"] == [
        {"id": document["id"]}
    ]
    assert get_document(api, document["id"], VIEWER) is None


# ---------------------------------------------------------------- extraction and search


def test_a_text_purchase_agreement_is_extracted_and_found_by_content_and_name(
    api: Api, client: TestClient, db: Any
) -> None:
    content_word, name_word = word(), word()
    text = PURCHASE_AGREEMENT.format(word=content_word).encode()
    document = upload(api, client, f"Agreement {name_word} signed.txt", TXT, text)
    assert document["extraction"]["status"] == "PENDING"
    job = extract(client, db, document["id"])
    assert job["status"] == "DONE"

    extraction = get_document(api, document["id"])["extraction"]
    assert extraction["status"] == "DONE"
    assert extraction["documentType"] == "PURCHASE_AGREEMENT"
    assert extraction["extractor"] == "rules" and extraction["error"] is None
    assert 0 < extraction["confidence"] <= 1
    parties = {(p["name"], p["role"]) for p in extraction["parties"]}
    assert ("Jane Doe", "BUYER") in parties
    dates = {(d["label"], d["value"]) for d in extraction["dates"]}
    assert ("Closing Date", "2026-03-15") in dates
    amounts = {(a["label"], Decimal(a["value"])) for a in extraction["amounts"]}
    assert ("Purchase Price", Decimal("412500.00")) in amounts
    assert "document.extracted" in outbox_types(db, document["id"])

    assert search(api, content_word) == [document["id"]]
    assert search(api, name_word) == [document["id"]]
    assert search(api, f"{content_word} {name_word}") == [document["id"]]
    assert search(api, word()) == []
    # Search only finds what the caller may see.
    assert search(api, content_word, ANALYST) == []
    assert search(api, content_word, OTHER_ADMIN) == []
    blank = api.as_user(ADMIN, SEARCH, {"q": "   "})
    assert blank["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_search_finds_a_document_by_the_word_before_its_extension(
    api: Api, client: TestClient, db: Any
) -> None:
    name_word = word()
    document = upload(api, client, f"{name_word}.txt", TXT, b"nothing else in here")
    extract(client, db, document["id"])
    assert search(api, name_word) == [document["id"]]


def test_a_retryable_extraction_failure_is_recorded_and_retried_later(
    api: Api, client: TestClient, db: Any, extractors: Extractors
) -> None:
    extractor = extractors.fail_with(ExtractionError("rate limited", retryable=True))
    document = upload(api, client, "retry me.txt", TXT, PURCHASE_AGREEMENT.encode())
    started_at = datetime.now(UTC)
    job = extract(client, db, document["id"])
    assert extractor.calls >= 1
    assert job["status"] == "QUEUED" and job["attempts"] == 1
    assert job["last_error"] == "rate limited"
    assert job["next_attempt_at"] > started_at + timedelta(seconds=20)
    extraction = get_document(api, document["id"])["extraction"]
    assert extraction["status"] == "PENDING"
    assert extraction["error"] == "rate limited"
    assert extraction["documentType"] is None
    # Nothing is due: running the worker again does not touch it.
    run_jobs(client)
    assert (
        db("SELECT attempts FROM extraction_jobs WHERE document_id = $1", local_id(document["id"]))[
            0
        ][0]
        == 1
    )

    # Never lost: when it is due again (and the extractor works), it gets done.
    extractors.restore()
    db(
        "UPDATE extraction_jobs SET next_attempt_at = now() WHERE document_id = $1",
        local_id(document["id"]),
    )
    job = extract(client, db, document["id"], attempts=2)
    assert job["status"] == "DONE"
    extraction = get_document(api, document["id"])["extraction"]
    assert extraction["status"] == "DONE" and extraction["error"] is None
    assert extraction["documentType"] == "PURCHASE_AGREEMENT"


def test_a_final_extraction_failure_is_recorded(
    api: Api, client: TestClient, db: Any, extractors: Extractors
) -> None:
    extractors.fail_with(ExtractionError("unreadable scan", retryable=False))
    document = upload(api, client, "scan.txt", TXT, b"not much to read")
    job = extract(client, db, document["id"])
    assert job["status"] == "FAILED" and job["attempts"] == 1
    assert job["last_error"] == "unreadable scan"
    extraction = get_document(api, document["id"])["extraction"]
    assert extraction["status"] == "FAILED"
    assert extraction["error"] == "unreadable scan"
    assert "document.extraction_failed" in outbox_types(db, document["id"])
    # The document itself is still there and downloadable.
    assert client.get(download_url(api, document["id"])).content == b"not much to read"


# ---------------------------------------------------------------- photos


def photo_start(api: Api, project_id: str, name: str, content_type: str, size: int) -> dict:
    variables = {
        "projectId": project_id,
        "input": {"name": name, "contentType": content_type, "size": size},
    }
    return run(api, PHOTO_UPLOAD, variables, OPS)["photoUploadCreate"]


def test_project_photos_are_png_jpeg_or_heic_and_listed_with_a_url(
    api: Api, client: TestClient, db: Any
) -> None:
    project = new_project(api)
    for name, content_type in (
        ("plan.pdf", PDF),
        ("site.gif", "image/gif"),
        ("notes.txt", TXT),
    ):
        payload = photo_start(api, project["id"], name, content_type, 10)
        assert payload["photo"] is None and payload["uploadUrl"] is None
        assert error_fields(payload["errors"]) == [("INVALID", ("input", "contentType"))], name
    assert (
        db("SELECT count(*) FROM documents WHERE project_id = $1", local_id(project["id"]))[0][0]
        == 0
    )
    assert photo_start(api, project["id"], "later.heic", "image/heic", 10)["errors"] == []
    assert photo_start(api, project["id"], "later.jpg", "image/jpeg", 10)["errors"] == []

    data = png_bytes(42, width=3)
    payload = photo_start(api, project["id"], "Front porch.png", PNG, len(data))
    assert payload["errors"] == []
    photo = payload["photo"]
    assert (photo["name"], photo["contentType"], photo["size"]) == (
        "Front porch.png",
        PNG,
        len(data),
    )
    assert photo["url"] is None  # nothing stored yet
    assert put_object(client, payload["uploadUrl"], data, PNG).status_code == 200
    done = run(api, DOCUMENT_COMPLETE, {"id": photo["id"]}, OPS)["documentUploadComplete"]
    assert done["errors"] == []
    assert done["document"]["kind"] == "PHOTO"
    assert done["document"]["extraction"]["status"] == "SKIPPED"

    photos = run(api, PROJECT_PHOTOS, {"id": project["id"]}, ANALYST)["constructionProject"]
    assert [(p["id"], p["name"]) for p in photos["photos"]] == [(photo["id"], "Front porch.png")]
    url = photos["photos"][0]["url"]
    response = client.get(url)
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-type"] == PNG
    assert access_log(db, photo["id"]) == [(1, ANALYST, "DOWNLOAD_URL")]
    listed = visible_ids(api, VIEWER, {"projectId": project["id"], "kind": "PHOTO"})
    assert listed == [photo["id"]]
    latest = entries(api, project["deal"]["id"])[0]
    assert latest["kind"] == "DOCUMENT_ADDED" and "Front porch.png" in latest["message"]

    # A photo is checked by its bytes like any upload.
    fake = b"\xff\xd8\xff" + b"0" * 20
    liar = photo_start(api, project["id"], "fake.png", PNG, len(fake))
    assert put_object(client, liar["uploadUrl"], fake, PNG).status_code == 200
    refused_photo = run(api, DOCUMENT_COMPLETE, {"id": liar["photo"]["id"]}, OPS)
    assert error_fields(refused_photo["documentUploadComplete"]["errors"]) == [("INVALID", ("id",))]
    assert_nothing_stored(client, db, liar["photo"]["id"])
    after = run(api, PROJECT_PHOTOS, {"id": project["id"]})["constructionProject"]["photos"]
    assert [p["id"] for p in after] == [photo["id"]]
    # A photo is not a document to add versions to.
    version = start_upload(api, "v2.png", PNG, len(data), OPS, documentId=photo["id"])
    assert error_fields(version["errors"]) == [("NOT_FOUND", ("input", "documentId"))]


# ---------------------------------------------------------------- tenant isolation


def test_the_other_tenant_cannot_reach_demo_documents_photos_versions_or_shares(
    api: Api, client: TestClient, db: Any
) -> None:
    deal_id = new_deal(api)
    property_id = run(
        api, "query($id: ID!) { deal(id: $id) { property { id } } }", {"id": deal_id}
    )["deal"]["property"]["id"]
    secret = word()
    document = upload(
        api, client, f"Secret {secret}.txt", TXT, f"secret {secret}".encode(), dealId=deal_id
    )
    document = upload(api, client, f"Secret {secret} v2.txt", TXT, b"v2", documentId=document["id"])
    share = run(
        api,
        SHARE,
        {"id": document["id"], "input": {"userId": user_id(api, OPS), "permission": "EDIT"}},
    )["documentShare"]
    assert share["errors"] == []
    extract(client, db, document["id"], version=2)
    project = new_project(api, deal_id)
    photo = upload_photo_as(api, client, project["id"])
    demo_ids = [document["id"], photo["id"]]
    before = {
        "documents": db(
            "SELECT id, version, name FROM documents WHERE deal_id = $1", local_id(deal_id)
        ),
        "versions": versions(db, document["id"]),
        "shares": db(
            "SELECT user_id, permission FROM document_shares WHERE document_id = $1",
            local_id(document["id"]),
        ),
    }
    assert search(api, secret) == [document["id"]]

    for gid in demo_ids:
        assert get_document(api, gid, OTHER_ADMIN) is None
        assert run(api, NODE, {"id": gid}, OTHER_ADMIN)["node"] is None
        assert run(api, NODE, {"id": gid})["node"] == {"id": gid}
    assert run(api, NODES, {"ids": demo_ids}, OTHER_ADMIN)["nodes"] == [None, None]
    for filter in (
        {"dealId": deal_id},
        {"propertyId": property_id},
        {"projectId": project["id"]},
        {"projectId": project["id"], "kind": "PHOTO"},
    ):
        assert visible_ids(api, OTHER_ADMIN, filter) == [], filter
    theirs = visible_ids(api, OTHER_ADMIN)
    assert not set(demo_ids) & set(theirs)
    assert search(api, secret, OTHER_ADMIN) == []
    assert document["id"] not in search(api, "Secret", OTHER_ADMIN)

    their_doc = upload(api, client, "Their file.txt", TXT, b"theirs", OTHER_ADMIN)
    their_user = user_id(api, OTHER_ADMIN)
    attempts: list[tuple[str, dict[str, Any], str, tuple[str, ...]]] = [
        (UPLOAD_COMPLETE, {"id": document["id"]}, "documentUploadComplete", ("id",)),
        (UPLOAD_COMPLETE, {"id": photo["id"]}, "documentUploadComplete", ("id",)),
        (
            SHARE,
            {"id": document["id"], "input": {"userId": their_user, "permission": "EDIT"}},
            "documentShare",
            ("id",),
        ),
        (
            SHARE,
            {"id": their_doc["id"], "input": {"userId": user_id(api, ADMIN), "permission": "VIEW"}},
            "documentShare",
            ("input", "userId"),
        ),
        (
            UPLOAD_CREATE,
            {
                "input": {
                    "name": "x.txt",
                    "contentType": TXT,
                    "size": 3,
                    "documentId": document["id"],
                }
            },
            "documentUploadCreate",
            ("input", "documentId"),
        ),
        (
            UPLOAD_CREATE,
            {"input": {"name": "x.txt", "contentType": TXT, "size": 3, "dealId": deal_id}},
            "documentUploadCreate",
            ("input", "dealId"),
        ),
        (
            UPLOAD_CREATE,
            {"input": {"name": "x.txt", "contentType": TXT, "size": 3, "propertyId": property_id}},
            "documentUploadCreate",
            ("input", "propertyId"),
        ),
    ]
    for query, variables, name, path in attempts:
        payload = run(api, query, variables, OTHER_ADMIN)[name]
        assert error_fields(payload["errors"]) == [("NOT_FOUND", path)], (name, payload)
        assert all(v is None for k, v in payload.items() if k != "errors"), payload
    assert before == {
        "documents": db(
            "SELECT id, version, name FROM documents WHERE deal_id = $1", local_id(deal_id)
        ),
        "versions": versions(db, document["id"]),
        "shares": db(
            "SELECT user_id, permission FROM document_shares WHERE document_id = $1",
            local_id(document["id"]),
        ),
    }

    # Presigned URLs are bound to their tenant's keys.
    demo, other = tenant_of(db, "Demo Capital"), tenant_of(db, "Other Fund")
    demo_download = download_url(api, document["id"])
    moved = with_key(demo_download, key_of(demo_download).replace(str(demo), str(other), 1))
    refused(client.get(moved), 403, "BAD_SIGNATURE")
    pending = started(api, "demo upload.txt", TXT, 5)
    demo_put = pending["uploadUrl"]
    moved_put = with_key(demo_put, key_of(demo_put).replace(str(demo), str(other), 1))
    refused(put_object(client, moved_put, b"12345", TXT), 403, "BAD_SIGNATURE")
    assert not store(client).path(key_of(moved_put)).exists()
    # And the other tenant's own URLs cannot be pointed at Demo's objects.
    their_pending = started(api, "their upload.txt", TXT, 2, OTHER_ADMIN)
    at_demo = with_key(their_pending["uploadUrl"], versions(db, document["id"])[0][2])
    refused(put_object(client, at_demo, b"xx", TXT), 403, "BAD_SIGNATURE")
    their_download = download_url(api, their_doc["id"], OTHER_ADMIN)
    refused(
        client.get(with_key(their_download, versions(db, document["id"])[1][2])),
        403,
        "BAD_SIGNATURE",
    )
    assert client.get(download_url(api, document["id"])).content == b"v2"


def upload_photo_as(api: Api, client: TestClient, project_id: str) -> dict:
    data = png_bytes(3)
    payload = photo_start(api, project_id, "secret site.png", PNG, len(data))
    assert put_object(client, payload["uploadUrl"], data, PNG).status_code == 200
    done = run(api, DOCUMENT_COMPLETE, {"id": payload["photo"]["id"]}, OPS)
    assert done["documentUploadComplete"]["errors"] == []
    return done["documentUploadComplete"]["document"]


def test_the_other_tenant_sees_its_own_property_documents_only(
    api: Api, client: TestClient
) -> None:
    their_property = new_property(api, OTHER_ADMIN)
    theirs = upload(
        api, client, "Their deed.txt", TXT, b"deed", OTHER_ADMIN, propertyId=their_property["id"]
    )
    assert theirs["property"] == {"id": their_property["id"]}
    assert visible_ids(api, OTHER_ADMIN, {"propertyId": their_property["id"]}) == [theirs["id"]]
    assert get_document(api, theirs["id"], ADMIN) is None
    assert visible_ids(api, ADMIN, {"propertyId": their_property["id"]}) == []
