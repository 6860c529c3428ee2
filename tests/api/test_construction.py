"""Construction through the real API: projects, contractors, bids and awards (also concurrent),
the task machine with milestones, change orders, inspections, progress, roles, tenant
isolation and the statements a project-detail query costs."""

from __future__ import annotations

import asyncio
import json
import struct
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from server.app import create_app
from tests.api.test_deals import (
    entries as deal_entries,
)
from tests.api.test_deals import (
    error_fields,
    global_id,
    ids_of,
    local_id,
    new_property,
    new_tag,
    nodes_of,
    run,
    top_code,
    user_id,
)
from tests.conftest import Api, make_settings

ADMIN = "demo@reos.dev"
OPS = "ops@reos.dev"
ANALYST = "analyst@reos.dev"
VIEWER = "viewer@reos.dev"
OTHER_ADMIN = "other@reos.dev"

ERRORS = "errors { field message code }"
PROJECT_FIELDS = """id name scope budget status startDate targetEndDate createdAt deal { id }
  progress { percentComplete tasksDone tasksTotal budget committed changeOrders spent variance }"""
CONTRACTOR_FIELDS = "id name trade licenseNumber insuranceExpiresOn rating email phone"
BID_FIELDS = "id amount scope status decidedAt createdAt contractor { id name } project { id }"
TASK_FIELDS = "id title status milestone dueDate budget completedAt assignee { email }"
INSPECTION_FIELDS = "id title scheduledFor status inspector notes completedAt"

DEAL_CREATE = f"""mutation($input: DealCreateInput!) {{
  dealCreate(input: $input) {{ deal {{ id }} {ERRORS} }} }}"""
PROJECT_CREATE = f"""mutation($input: ConstructionProjectInput!) {{
  constructionProjectCreate(input: $input) {{ project {{ {PROJECT_FIELDS} }} {ERRORS} }} }}"""
CONTRACTOR_CREATE = f"""mutation($input: ContractorInput!) {{
  contractorCreate(input: $input) {{ contractor {{ {CONTRACTOR_FIELDS} }} {ERRORS} }} }}"""
BID_SUBMIT = f"""mutation($projectId: ID!, $input: BidInput!) {{
  bidSubmit(projectId: $projectId, input: $input) {{ bid {{ {BID_FIELDS} }} {ERRORS} }} }}"""
BID_AWARD = f"""mutation($id: ID!) {{ bidAward(id: $id) {{ bid {{ {BID_FIELDS} }} {ERRORS} }} }}"""
TASK_CREATE = f"""mutation($projectId: ID!, $input: TaskInput!) {{
  taskCreate(projectId: $projectId, input: $input) {{ task {{ {TASK_FIELDS} }} {ERRORS} }} }}"""
TASK_UPDATE = f"""mutation($id: ID!, $input: TaskUpdateInput!) {{
  taskUpdate(id: $id, input: $input) {{ task {{ {TASK_FIELDS} }} {ERRORS} }} }}"""
CHANGE_ORDER_CREATE = f"""mutation($projectId: ID!, $input: ChangeOrderInput!) {{
  changeOrderCreate(projectId: $projectId, input: $input) {{
    changeOrder {{ id description amount createdAt }} {ERRORS} }} }}"""
INSPECTION_SCHEDULE = f"""mutation($projectId: ID!, $input: InspectionInput!) {{
  inspectionSchedule(projectId: $projectId, input: $input) {{
    inspection {{ {INSPECTION_FIELDS} }} {ERRORS} }} }}"""
INSPECTION_RECORD = f"""mutation($id: ID!, $input: InspectionResultInput!) {{
  inspectionRecord(id: $id, input: $input) {{ inspection {{ {INSPECTION_FIELDS} }} {ERRORS} }} }}"""
PHOTO_UPLOAD = f"""mutation($projectId: ID!, $input: UploadInput!) {{
  photoUploadCreate(projectId: $projectId, input: $input) {{
    uploadUrl uploadExpiresAt photo {{ id name contentType size url }} {ERRORS} }} }}"""
DOCUMENT_COMPLETE = f"""mutation($id: ID!) {{ documentUploadComplete(id: $id) {{
  document {{ id name kind contentType size version extraction {{ status }} }} {ERRORS} }} }}"""
TRANSACTION_CREATE = f"""mutation($input: TransactionInput!) {{
  transactionCreate(input: $input) {{ transaction {{ id amount category }} {ERRORS} }} }}"""
GET_PROJECT = f"""query($id: ID!) {{ constructionProject(id: $id) {{
  {PROJECT_FIELDS}
  bids {{ {BID_FIELDS} }}
  tasks {{ {TASK_FIELDS} }}
  changeOrders {{ id description amount }}
  inspections {{ {INSPECTION_FIELDS} }}
  photos {{ id name contentType size url }}
}} }}"""
LIST_PROJECTS = """query($filter: ConstructionProjectFilter, $first: Int, $after: String) {
  constructionProjects(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name deal { id } } }
  } }"""
LIST_CONTRACTORS = """query($filter: ContractorFilter, $first: Int, $after: String) {
  contractors(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id name trade } }
  } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
DETAIL = """query($id: ID!) { constructionProject(id: $id) {
  bids { amount contractor { name } }
  tasks { title assignee { email } }
  photos { url }
  changeOrders { amount }
  inspections { status }
  progress { percentComplete }
} }"""

TASK_STATUSES = ["TODO", "IN_PROGRESS", "BLOCKED", "DONE"]
TASK_ALLOWED: dict[str, list[str]] = {
    "TODO": ["IN_PROGRESS", "BLOCKED"],
    "IN_PROGRESS": ["BLOCKED", "DONE"],
    "BLOCKED": ["IN_PROGRESS"],
    "DONE": [],
}
TASK_PATH_TO: dict[str, list[str]] = {
    "TODO": [],
    "IN_PROGRESS": ["IN_PROGRESS"],
    "BLOCKED": ["BLOCKED"],
    "DONE": ["IN_PROGRESS", "DONE"],
}


# ---------------------------------------------------------------- helpers


def today() -> datetime:
    return datetime.now(UTC)


def day(offset: int = 0) -> str:
    """A date relative to today (UTC, the day the server checks insurance against)."""
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


def money(value: str) -> Decimal:
    return Decimal(value)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def new_deal(api: Api, user: str = ADMIN) -> str:
    """A fresh FLIP deal on a fresh property; its global ID."""
    prop = new_property(api, user)
    variables = {"input": {"propertyId": prop["id"], "strategy": "FLIP"}}
    payload = run(api, DEAL_CREATE, variables, user)["dealCreate"]
    assert payload["errors"] == [], payload
    return payload["deal"]["id"]


def project_create(api: Api, fields: dict[str, Any], user: str = ADMIN) -> dict:
    return run(api, PROJECT_CREATE, {"input": fields}, user)["constructionProjectCreate"]


def new_project(
    api: Api, deal_id: str | None = None, user: str = ADMIN, budget: str = "50000.00", **extra: Any
) -> dict:
    """A fresh project (on a fresh deal unless one is given)."""
    deal_id = deal_id or new_deal(api, user)
    fields = {"dealId": deal_id, "name": f"Rehab {new_tag()}", "budget": budget, **extra}
    payload = project_create(api, fields, user)
    assert payload["errors"] == [], payload
    return payload["project"]


def contractor_create(api: Api, fields: dict[str, Any], user: str = ADMIN) -> dict:
    return run(api, CONTRACTOR_CREATE, {"input": fields}, user)["contractorCreate"]


MISSING = object()


def new_contractor(
    api: Api, user: str = ADMIN, insurance: Any = MISSING, trade: str = "GENERAL", **extra: Any
) -> dict:
    """A fresh contractor, insured for a year unless told otherwise (None: none on file)."""
    fields: dict[str, Any] = {"name": f"Builder {new_tag()}", "trade": trade, **extra}
    if insurance is MISSING:
        fields["insuranceExpiresOn"] = day(365)
    elif insurance is not None:
        fields["insuranceExpiresOn"] = insurance
    payload = contractor_create(api, fields, user)
    assert payload["errors"] == [], payload
    return payload["contractor"]


def bid_submit(
    api: Api, project_id: str, contractor_id: str, amount: str, user: str = ADMIN, **extra: Any
) -> dict:
    variables = {
        "projectId": project_id,
        "input": {"contractorId": contractor_id, "amount": amount, **extra},
    }
    return run(api, BID_SUBMIT, variables, user)["bidSubmit"]


def new_bid(api: Api, project_id: str, amount: str, user: str = ADMIN, **contractor: Any) -> dict:
    """A submitted bid from a fresh (insured unless told otherwise) contractor."""
    who = new_contractor(api, user, **contractor)
    payload = bid_submit(api, project_id, who["id"], amount, user)
    assert payload["errors"] == [], payload
    return payload["bid"]


def bid_award(api: Api, bid_id: str, user: str = ADMIN) -> dict:
    return run(api, BID_AWARD, {"id": bid_id}, user)["bidAward"]


def task_create(api: Api, project_id: str, fields: dict[str, Any], user: str = ADMIN) -> dict:
    variables = {"projectId": project_id, "input": fields}
    return run(api, TASK_CREATE, variables, user)["taskCreate"]


def new_task(api: Api, project_id: str, title: str | None = None, **fields: Any) -> dict:
    payload = task_create(api, project_id, {"title": title or f"Task {new_tag()}", **fields})
    assert payload["errors"] == [], payload
    return payload["task"]


def task_update(api: Api, task_id: str, fields: dict[str, Any], user: str = ADMIN) -> dict:
    return run(api, TASK_UPDATE, {"id": task_id, "input": fields}, user)["taskUpdate"]


def move_task(api: Api, task_id: str, *statuses: str) -> dict:
    task: dict = {}
    for status in statuses:
        payload = task_update(api, task_id, {"status": status})
        assert payload["errors"] == [], (status, payload)
        task = payload["task"]
        assert task["status"] == status
    return task


def change_order(api: Api, project_id: str, amount: str, description: str = "Extra") -> dict:
    variables = {"projectId": project_id, "input": {"description": description, "amount": amount}}
    return run(api, CHANGE_ORDER_CREATE, variables)["changeOrderCreate"]


def schedule_inspection(api: Api, project_id: str, title: str = "Framing") -> dict:
    variables = {
        "projectId": project_id,
        "input": {
            "title": title,
            "scheduledFor": (today() + timedelta(days=3)).isoformat(),
            "inspector": "City of Austin",
        },
    }
    payload = run(api, INSPECTION_SCHEDULE, variables)["inspectionSchedule"]
    assert payload["errors"] == [], payload
    return payload["inspection"]


def record_inspection(api: Api, inspection_id: str, status: str, notes: str | None = None) -> dict:
    variables = {"id": inspection_id, "input": {"status": status, "notes": notes}}
    return run(api, INSPECTION_RECORD, variables)["inspectionRecord"]


def get_project(api: Api, project_id: str, user: str = ADMIN) -> dict | None:
    return run(api, GET_PROJECT, {"id": project_id}, user)["constructionProject"]


def progress_of(api: Api, project_id: str) -> dict:
    project = get_project(api, project_id)
    assert project is not None
    return project["progress"]


def add_transaction(api: Api, deal_id: str | None, amount: str, category: str) -> None:
    fields = {"date": day(), "amount": amount, "category": category, "dealId": deal_id}
    payload = run(api, TRANSACTION_CREATE, {"input": fields})["transactionCreate"]
    assert payload["errors"] == [], payload


def outbox_rows(db: Any, aggregate_gid: str) -> list[tuple[str, str, dict]]:
    """(event_type, aggregate_type, payload) of an aggregate's outbox rows, oldest first."""
    rows = db(
        "SELECT event_type, aggregate_type, payload FROM outbox WHERE aggregate_id = $1 "
        "ORDER BY id",
        local_id(aggregate_gid),
    )
    return [(row[0], row[1], _json(row[2])) for row in rows]


def event_types(db: Any, aggregate_gid: str) -> list[str]:
    return [row[0] for row in outbox_rows(db, aggregate_gid)]


def project_state(db: Any, project_gid: str) -> dict[str, Any]:
    """Everything stored about a project (as the owner, no RLS), to show nothing changed."""
    pid = local_id(project_gid)
    project = db(
        "SELECT name, budget, status, deal_id FROM construction_projects WHERE id = $1", pid
    )[0]
    return {
        "project": dict(project),
        "bids": sorted(
            (str(r[0]), r[1], r[2])
            for r in db("SELECT id, status, amount FROM bids WHERE project_id = $1", pid)
        ),
        "tasks": sorted(
            (str(r[0]), r[1], r[2], r[3])
            for r in db(
                "SELECT id, status, title, assignee_id FROM tasks WHERE project_id = $1", pid
            )
        ),
        "change_orders": db("SELECT count(*) FROM change_orders WHERE project_id = $1", pid)[0][0],
        "inspections": sorted(
            (str(r[0]), r[1], r[2])
            for r in db("SELECT id, status, notes FROM inspections WHERE project_id = $1", pid)
        ),
        "documents": db("SELECT count(*) FROM documents WHERE project_id = $1", pid)[0][0],
        "events": db("SELECT count(*) FROM outbox WHERE aggregate_id = $1", pid)[0][0],
        "entries": db(
            "SELECT count(*) FROM timeline_entries WHERE deal_id = $1", project["deal_id"]
        )[0][0],
    }


def png_bytes(seed: int = 0, width: int = 1) -> bytes:
    """A real (tiny) PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, 1, 8, 2, 0, 0, 0)
    row = b"\x00" + bytes((seed + i) % 256 for i in range(3 * width))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row))
        + chunk(b"IEND", b"")
    )


def put_object(client: TestClient, url: str, data: bytes, content_type: str) -> httpx.Response:
    """PUT bytes to a presigned upload URL, as a browser would."""
    return client.put(url, content=data, headers={"Content-Type": content_type})


def upload_photo(
    api: Api, client: TestClient, project_id: str, user: str = ADMIN, seed: int = 0
) -> dict:
    """A completed PNG photo of a project: the completed document."""
    data = png_bytes(seed)
    variables = {
        "projectId": project_id,
        "input": {"name": f"site {seed}.png", "contentType": "image/png", "size": len(data)},
    }
    payload = run(api, PHOTO_UPLOAD, variables, user)["photoUploadCreate"]
    assert payload["errors"] == [], payload
    assert put_object(client, payload["uploadUrl"], data, "image/png").status_code == 200
    done = run(api, DOCUMENT_COMPLETE, {"id": payload["photo"]["id"]}, user)
    assert done["documentUploadComplete"]["errors"] == [], done
    return done["documentUploadComplete"]["document"]


# ---------------------------------------------------------------- projects


def test_project_create_starts_active_with_an_event_and_a_timeline_entry(api: Api, db: Any) -> None:
    deal_id = new_deal(api)
    fields = {
        "dealId": deal_id,
        "name": "  Kitchen   and bath ",
        "budget": "85000.50",
        "scope": "Gut the kitchen, two baths.",
        "startDate": "2026-02-01",
        "targetEndDate": "2026-05-01",
    }
    payload = project_create(api, fields, OPS)
    assert payload["errors"] == []
    project = payload["project"]
    assert project["name"] == "Kitchen and bath"
    assert project["status"] == "ACTIVE"
    assert money(project["budget"]) == Decimal("85000.50")
    assert project["scope"] == "Gut the kitchen, two baths."
    assert (project["startDate"], project["targetEndDate"]) == ("2026-02-01", "2026-05-01")
    assert project["deal"] == {"id": deal_id}
    progress = project["progress"]
    assert money(progress["percentComplete"]) == 0
    assert (progress["tasksDone"], progress["tasksTotal"]) == (0, 0)
    assert money(progress["committed"]) == 0 and money(progress["spent"]) == 0
    assert money(progress["variance"]) == Decimal("85000.50")

    assert get_project(api, project["id"])["id"] == project["id"]
    listed = run(api, LIST_PROJECTS, {"filter": {"dealId": deal_id}})["constructionProjects"]
    assert ids_of(listed) == [project["id"]] and listed["totalCount"] == 1
    on_deal = run(
        api, "query($id: ID!) { deal(id: $id) { constructionProjects { id } } }", {"id": deal_id}
    )["deal"]["constructionProjects"]
    assert on_deal == [{"id": project["id"]}]

    [(kind, aggregate, event)] = outbox_rows(db, project["id"])
    assert (kind, aggregate) == ("project.created", "project")
    assert event["deal_id"] == str(local_id(deal_id))
    latest = deal_entries(api, deal_id)[0]
    assert latest["kind"] == "PROJECT_CREATED" and "Kitchen and bath" in latest["message"]
    assert latest["actor"]["email"] == OPS


def test_project_create_rejects_bad_input_and_other_tenants_deals_writing_nothing(
    api: Api, db: Any
) -> None:
    deal_id = new_deal(api)
    their_deal = new_deal(api, OTHER_ADMIN)
    deal_uuid = local_id(deal_id)

    def stored() -> tuple[int, int, int]:
        return (
            db("SELECT count(*) FROM construction_projects")[0][0],
            db("SELECT count(*) FROM timeline_entries WHERE deal_id = $1", deal_uuid)[0][0],
            db("SELECT count(*) FROM outbox")[0][0],
        )

    before = stored()
    good = {"dealId": deal_id, "name": "Roof", "budget": "1000"}
    cases: list[tuple[dict[str, Any], str, list[tuple[str, tuple[str, ...]]]]] = [
        ({**good, "budget": "-1"}, ADMIN, [("INVALID", ("input", "budget"))]),
        ({**good, "budget": "10.001"}, ADMIN, [("INVALID", ("input", "budget"))]),
        ({**good, "budget": "1e12"}, ADMIN, [("INVALID", ("input", "budget"))]),
        ({**good, "name": "   "}, ADMIN, [("INVALID", ("input", "name"))]),
        ({**good, "name": "x" * 201}, ADMIN, [("INVALID", ("input", "name"))]),
        (
            {**good, "startDate": "2026-05-01", "targetEndDate": "2026-04-01"},
            ADMIN,
            [("INVALID", ("input", "targetEndDate"))],
        ),
        ({**good, "dealId": "bm9wZQ=="}, ADMIN, [("INVALID", ("input", "dealId"))]),
        (
            {**good, "name": "", "budget": "-5"},
            ADMIN,
            [("INVALID", ("input", "budget")), ("INVALID", ("input", "name"))],
        ),
        # A deal of another tenant does not exist for the caller.
        ({**good, "dealId": their_deal}, ADMIN, [("NOT_FOUND", ("input", "dealId"))]),
        ({**good}, OTHER_ADMIN, [("NOT_FOUND", ("input", "dealId"))]),
    ]
    for fields, user, expected in cases:
        payload = project_create(api, fields, user)
        assert payload["project"] is None, (fields, payload)
        assert error_fields(payload["errors"]) == expected, (fields, payload)
    assert stored() == before


# ---------------------------------------------------------------- contractors


def test_contractor_create_and_list(api: Api, db: Any) -> None:
    tag = new_tag()
    payload = contractor_create(
        api,
        {
            "name": f"Sparky {tag}",
            "trade": "ELECTRICAL",
            "licenseNumber": "TECL-1234",
            "insuranceExpiresOn": "2030-01-31",
            "rating": "4.5",
            "email": "sparky@example.com",
            "phone": "+1 512 555 0100",
        },
        OPS,
    )
    assert payload["errors"] == []
    contractor = payload["contractor"]
    assert {k: v for k, v in contractor.items() if k != "id"} == {
        "name": f"Sparky {tag}",
        "trade": "ELECTRICAL",
        "licenseNumber": "TECL-1234",
        "insuranceExpiresOn": "2030-01-31",
        "rating": "4.5",
        "email": "sparky@example.com",
        "phone": "+1 512 555 0100",
    }
    found = run(
        api, NODE.replace("{ id }", "{ id ... on Contractor { name } }"), {"id": contractor["id"]}
    )["node"]
    assert found == {"id": contractor["id"], "name": f"Sparky {tag}"}
    electricians = run(api, LIST_CONTRACTORS, {"filter": {"trade": ["ELECTRICAL"]}, "first": 100})
    listed = nodes_of(electricians["contractors"])
    assert contractor["id"] in [c["id"] for c in listed]
    assert {c["trade"] for c in listed} == {"ELECTRICAL"}
    names = [c["name"] for c in listed]
    assert names == sorted(names)


def test_contractor_create_rejects_duplicates_and_bad_ratings(api: Api, db: Any) -> None:
    first = new_contractor(api, trade="PLUMBING")
    name = first["name"]

    def count(like: str) -> int:
        return db("SELECT count(*) FROM contractors WHERE name LIKE $1", like)[0][0]

    duplicate = contractor_create(api, {"name": name, "trade": "ROOFING"})
    assert duplicate["contractor"] is None
    assert error_fields(duplicate["errors"]) == [("CONFLICT", ("input", "name"))]
    assert count(name) == 1
    # The other tenant has its own namespace of names.
    theirs = contractor_create(api, {"name": name, "trade": "PLUMBING"}, OTHER_ADMIN)
    assert theirs["errors"] == [] and theirs["contractor"]["id"] != first["id"]

    tag = new_tag()
    for rating in ("6", "5.1", "-0.1", "4.55"):
        payload = contractor_create(
            api, {"name": f"Rated {tag} {rating}", "trade": "HVAC", "rating": rating}
        )
        assert payload["contractor"] is None
        assert error_fields(payload["errors"]) == [("INVALID", ("input", "rating"))], rating
    blank = contractor_create(api, {"name": "  ", "trade": "HVAC", "rating": "7"})
    assert error_fields(blank["errors"]) == [
        ("INVALID", ("input", "name")),
        ("INVALID", ("input", "rating")),
    ]
    assert count(f"Rated {tag}%") == 0
    for rating in ("0", "5", "3.7"):
        payload = contractor_create(
            api, {"name": f"Rated {tag} ok {rating}", "trade": "HVAC", "rating": rating}
        )
        assert payload["errors"] == [] and money(payload["contractor"]["rating"]) == money(rating)


# ---------------------------------------------------------------- bids


def test_bid_submit_records_an_event_on_the_project_and_an_entry_on_the_deal(
    api: Api, db: Any
) -> None:
    project = new_project(api)
    contractor = new_contractor(api, trade="ROOFING")
    payload = bid_submit(api, project["id"], contractor["id"], "18250.75", scope="New roof")
    assert payload["errors"] == []
    bid = payload["bid"]
    assert bid["status"] == "SUBMITTED" and bid["decidedAt"] is None
    assert money(bid["amount"]) == Decimal("18250.75") and bid["scope"] == "New roof"
    assert bid["contractor"] == {"id": contractor["id"], "name": contractor["name"]}
    assert bid["project"] == {"id": project["id"]}

    received = [row for row in outbox_rows(db, project["id"]) if row[0] == "bid.received"]
    assert len(received) == 1
    _, aggregate, event = received[0]
    assert aggregate == "project"
    assert event["bid_id"] == str(local_id(bid["id"]))
    assert event["project_id"] == str(local_id(project["id"]))
    assert event["deal_id"] == str(local_id(project["deal"]["id"]))
    assert Decimal(event["amount"]) == Decimal("18250.75")
    stored = db(
        "SELECT aggregate_id FROM outbox WHERE event_type = 'bid.received' "
        "AND payload->>'bid_id' = $1",
        str(local_id(bid["id"])),
    )
    assert [row[0] for row in stored] == [local_id(project["id"])]

    latest = deal_entries(api, project["deal"]["id"])[0]
    assert latest["kind"] == "BID_RECEIVED"
    assert contractor["name"] in latest["message"]
    assert latest["data"]["bid_id"] == str(local_id(bid["id"]))
    assert get_project(api, project["id"])["bids"] == [bid]


def test_bid_submit_errors_write_nothing(api: Api, db: Any) -> None:
    project = new_project(api)
    contractor = new_contractor(api)
    their_contractor = new_contractor(api, OTHER_ADMIN)
    before = project_state(db, project["id"])
    cases = [
        (contractor["id"], "0", [("INVALID", ("input", "amount"))]),
        (contractor["id"], "-10", [("INVALID", ("input", "amount"))]),
        (contractor["id"], "1.005", [("INVALID", ("input", "amount"))]),
        (their_contractor["id"], "100", [("NOT_FOUND", ("input", "contractorId"))]),
        (project["id"], "100", [("INVALID", ("input", "contractorId"))]),
    ]
    for contractor_id, amount, expected in cases:
        payload = bid_submit(api, project["id"], contractor_id, amount)
        assert payload["bid"] is None
        assert error_fields(payload["errors"]) == expected, (amount, payload)
    unknown = bid_submit(api, "Q29uc3RydWN0aW9uUHJvamVjdDo=", contractor["id"], "100")
    assert error_fields(unknown["errors"]) == [("INVALID", ("projectId",))]
    assert project_state(db, project["id"]) == before


def test_bid_award_rejects_the_others_and_commits_the_amount(api: Api, db: Any) -> None:
    project = new_project(api, budget="60000.00")
    low = new_bid(api, project["id"], "41000.00")
    winner = new_bid(api, project["id"], "45500.50")
    high = new_bid(api, project["id"], "52000.00")

    payload = bid_award(api, winner["id"], OPS)
    assert payload["errors"] == []
    awarded = payload["bid"]
    assert awarded["status"] == "AWARDED" and awarded["decidedAt"] is not None
    assert money(awarded["amount"]) == Decimal("45500.50")

    after = get_project(api, project["id"])
    assert [(b["id"], b["status"]) for b in after["bids"]] == [
        (low["id"], "REJECTED"),
        (winner["id"], "AWARDED"),
        (high["id"], "REJECTED"),
    ]
    assert all(b["decidedAt"] is not None for b in after["bids"])
    progress = after["progress"]
    assert money(progress["committed"]) == Decimal("45500.50")
    assert money(progress["changeOrders"]) == 0
    assert money(progress["variance"]) == Decimal("60000.00") - Decimal("45500.50")

    assert change_order(api, project["id"], "1250.25")["errors"] == []
    assert change_order(api, project["id"], "-250.00")["errors"] == []
    progress = progress_of(api, project["id"])
    assert money(progress["committed"]) == Decimal("45500.50")
    assert money(progress["changeOrders"]) == Decimal("1000.25")
    assert money(progress["variance"]) == Decimal("60000.00") - (
        Decimal("45500.50") + Decimal("1000.25")
    )

    [(_, aggregate, event)] = [r for r in outbox_rows(db, project["id"]) if r[0] == "bid.awarded"]
    assert aggregate == "project"
    assert event["bid_id"] == str(local_id(winner["id"]))
    assert sorted(event["rejected_bid_ids"]) == sorted(str(local_id(b["id"])) for b in (low, high))
    kinds = [e["kind"] for e in deal_entries(api, project["deal"]["id"])]
    assert kinds.count("BID_AWARDED") == 1

    # Awarding again, the winner or a loser: the project already has its contractor.
    before = project_state(db, project["id"])
    for bid in (winner, low, high):
        again = bid_award(api, bid["id"])
        assert again["bid"] is None
        assert error_fields(again["errors"]) == [("CONFLICT", ("id",))], again
    # A bid that comes in after the award cannot be awarded either.
    late = new_bid(api, project["id"], "30000.00")
    assert error_fields(bid_award(api, late["id"])["errors"]) == [("CONFLICT", ("id",))]
    state = project_state(db, project["id"])
    assert [b for b in state["bids"] if b[0] != str(local_id(late["id"]))] == before["bids"]
    assert money(progress_of(api, project["id"])["committed"]) == Decimal("45500.50")


@pytest.mark.parametrize(
    ("insurance", "why"),
    [(day(-1), "expired"), (None, "not on file")],
    ids=["expired-yesterday", "none-on-file"],
)
def test_bid_award_needs_a_contractor_insured_today(
    api: Api, db: Any, insurance: str | None, why: str
) -> None:
    project = new_project(api)
    uninsured = new_bid(api, project["id"], "20000.00", insurance=insurance)
    other = new_bid(api, project["id"], "21000.00")
    before = project_state(db, project["id"])

    payload = bid_award(api, uninsured["id"])
    assert payload["bid"] is None
    assert error_fields(payload["errors"]) == [("INVALID", ("id",))]
    assert why in payload["errors"][0]["message"]
    assert project_state(db, project["id"]) == before
    bids = get_project(api, project["id"])["bids"]
    assert {b["status"] for b in bids} == {"SUBMITTED"}
    assert money(progress_of(api, project["id"])["committed"]) == 0
    assert "bid.awarded" not in event_types(db, project["id"])

    # An insurance that runs through today is fine, and the other bid can still win.
    covered = new_bid(api, project["id"], "22000.00", insurance=day(0))
    assert bid_award(api, covered["id"])["errors"] == []
    statuses = {b["id"]: b["status"] for b in get_project(api, project["id"])["bids"]}
    assert statuses == {
        uninsured["id"]: "REJECTED",
        other["id"]: "REJECTED",
        covered["id"]: "AWARDED",
    }


def test_bid_award_of_an_unknown_or_malformed_id(api: Api) -> None:
    unknown = global_id("Bid", uuid.uuid4())
    assert error_fields(bid_award(api, unknown)["errors"]) == [("NOT_FOUND", ("id",))]
    assert error_fields(bid_award(api, "nope")["errors"]) == [("INVALID", ("id",))]
    project = new_project(api)
    assert error_fields(bid_award(api, project["id"])["errors"]) == [("INVALID", ("id",))]


CONCURRENT_PROJECTS = 5


async def _award_concurrently(
    app_url: Any, redis_url: str, token: str, pairs: list[tuple[str, str]]
) -> list[list[dict]]:
    """Both bids of each pair awarded at the same time through a fresh app."""
    app = create_app(make_settings(redis_url, run_workers=False), app_url)
    headers = {"Authorization": f"Bearer {token}"}
    results: list[list[dict]] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:

            async def award(bid_id: str) -> dict:
                response = await http.post(
                    "/graphql",
                    json={"query": BID_AWARD, "variables": {"id": bid_id}},
                    headers=headers,
                )
                assert response.status_code == 200, response.text
                return response.json()

            for first, second in pairs:
                results.append(list(await asyncio.gather(award(first), award(second))))
    return results


def test_concurrent_awards_on_one_project_award_exactly_one(
    api: Api, db: Any, app_url: Any, redis_url: str
) -> None:
    projects = [new_project(api) for _ in range(CONCURRENT_PROJECTS)]
    pairs = [
        (new_bid(api, p["id"], "10000.00")["id"], new_bid(api, p["id"], "11000.00")["id"])
        for p in projects
    ]
    results = asyncio.run(_award_concurrently(app_url, redis_url, api.token(ADMIN), pairs))
    for project, (first, second), outcome in zip(projects, pairs, results, strict=True):
        for result in outcome:
            assert "errors" not in result, result  # no deadlock or crash surfaces as INTERNAL
        payloads = [result["data"]["bidAward"] for result in outcome]
        won = [p for p in payloads if p["errors"] == []]
        lost = [p for p in payloads if p["errors"] != []]
        assert len(won) == 1 and len(lost) == 1, payloads
        assert won[0]["bid"]["status"] == "AWARDED"
        assert lost[0]["bid"] is None
        assert error_fields(lost[0]["errors"]) == [("CONFLICT", ("id",))]
        rows = db(
            "SELECT id, status FROM bids WHERE project_id = $1 ORDER BY seq",
            local_id(project["id"]),
        )
        statuses = {row[0]: row[1] for row in rows}
        assert sorted(statuses.values()) == ["AWARDED", "REJECTED"]
        assert statuses[local_id(won[0]["bid"]["id"])] == "AWARDED"
        assert {local_id(first), local_id(second)} == set(statuses)
        assert event_types(db, project["id"]).count("bid.awarded") == 1


# ---------------------------------------------------------------- tasks


@pytest.fixture(scope="module")
def task_project(api: Api) -> dict:
    return new_project(api)


@pytest.mark.parametrize(
    ("source", "target"),
    [pytest.param(s, t, id=f"{s}->{t}") for s in TASK_STATUSES for t in TASK_STATUSES if s != t],
)
def test_task_status_follows_the_machine(
    api: Api, db: Any, task_project: dict, source: str, target: str
) -> None:
    task = new_task(api, task_project["id"])
    assert task["status"] == "TODO" and task["completedAt"] is None
    if TASK_PATH_TO[source]:
        task = move_task(api, task["id"], *TASK_PATH_TO[source])
    task_uuid = str(local_id(task["id"]))

    def completions() -> list[str]:
        return [
            kind
            for kind, _, payload in outbox_rows(db, task_project["id"])
            if payload.get("task_id") == task_uuid
        ]

    done_before = completions()
    stored_before = db("SELECT status, completed_at FROM tasks WHERE id = $1", local_id(task["id"]))

    payload = task_update(api, task["id"], {"status": target})
    if target in TASK_ALLOWED[source]:
        assert payload["errors"] == [], payload
        assert payload["task"]["status"] == target
        if target == "DONE":
            assert payload["task"]["completedAt"] is not None
            assert completions() == [*done_before, "task.completed"]
        else:
            assert payload["task"]["completedAt"] is None
            assert completions() == done_before
    else:
        assert payload["task"] is None
        assert error_fields(payload["errors"]) == [("INVALID_TRANSITION", ("input", "status"))]
        message = payload["errors"][0]["message"]
        assert source in message and target in message, message
        for allowed in TASK_ALLOWED[source]:
            assert allowed in message, message
        if not TASK_ALLOWED[source]:
            assert "none" in message, message
        assert (
            db("SELECT status, completed_at FROM tasks WHERE id = $1", local_id(task["id"]))
            == stored_before
        )
        assert completions() == done_before


def test_a_task_runs_through_blocked_to_done_and_resending_its_status_is_a_no_op(
    api: Api, db: Any, task_project: dict
) -> None:
    task = new_task(api, task_project["id"])
    task = move_task(api, task["id"], "IN_PROGRESS", "BLOCKED", "IN_PROGRESS", "DONE")
    events = outbox_rows(db, task_project["id"])
    mine = [e for e in events if e[2].get("task_id") == str(local_id(task["id"]))]
    assert [e[0] for e in mine] == ["task.completed"]
    # A client that sends the whole form back (status unchanged) changes only the rest.
    again = task_update(api, task["id"], {"status": "DONE", "title": "Renamed when done"})
    assert again["errors"] == []
    assert again["task"]["status"] == "DONE" and again["task"]["title"] == "Renamed when done"
    assert again["task"]["completedAt"] == task["completedAt"]
    assert outbox_rows(db, task_project["id"])[: len(events)] == events
    assert len(outbox_rows(db, task_project["id"])) == len(events)


def test_done_milestones_announce_themselves(api: Api, db: Any) -> None:
    project = new_project(api)
    deal_id = project["deal"]["id"]
    plain = new_task(api, project["id"], "Demo the kitchen")
    milestone = new_task(api, project["id"], "Rough-in inspection passed", milestone=True)
    assert milestone["milestone"] is True and plain["milestone"] is False

    move_task(api, plain["id"], "IN_PROGRESS", "DONE")
    entry = deal_entries(api, deal_id)[0]
    assert entry["kind"] == "TASK_COMPLETED" and "Demo the kitchen" in entry["message"]

    move_task(api, milestone["id"], "IN_PROGRESS", "DONE")
    entry = deal_entries(api, deal_id)[0]
    assert entry["kind"] == "MILESTONE_REACHED"
    assert "Rough-in inspection passed" in entry["message"]
    assert entry["data"]["task_id"] == str(local_id(milestone["id"]))

    by_task: dict[str, list[str]] = {}
    for kind, aggregate, payload in outbox_rows(db, project["id"]):
        if "task_id" in payload:
            assert aggregate == "project"
            by_task.setdefault(payload["task_id"], []).append(kind)
    assert by_task == {
        str(local_id(plain["id"])): ["task.completed"],
        str(local_id(milestone["id"])): ["task.completed", "milestone.reached"],
    }
    kinds = [e["kind"] for e in deal_entries(api, deal_id)]
    assert kinds.count("MILESTONE_REACHED") == 1 and kinds.count("TASK_COMPLETED") == 1


def test_task_create_and_update_fields(api: Api, db: Any) -> None:
    project = new_project(api)
    created = task_create(
        api,
        project["id"],
        {
            "title": "Paint  exterior",
            "dueDate": "2026-04-30",
            "budget": "3200.00",
            "assigneeId": user_id(api, OPS),
        },
    )
    assert created["errors"] == []
    task = created["task"]
    assert task["title"] == "Paint exterior" and task["status"] == "TODO"
    assert task["dueDate"] == "2026-04-30" and money(task["budget"]) == Decimal("3200.00")
    assert task["assignee"] == {"email": OPS} and task["milestone"] is False

    updated = task_update(api, task["id"], {"title": "Paint trim", "assigneeId": None})
    assert updated["errors"] == []
    assert updated["task"]["title"] == "Paint trim" and updated["task"]["assignee"] is None
    assert updated["task"]["dueDate"] == "2026-04-30"
    assert money(updated["task"]["budget"]) == Decimal("3200.00")

    before = project_state(db, project["id"])
    bad = [
        ({"title": " "}, [("INVALID", ("input", "title"))]),
        ({"title": "ok", "budget": "-1"}, [("INVALID", ("input", "budget"))]),
        (
            {"title": "ok", "assigneeId": user_id(api, OTHER_ADMIN)},
            [("NOT_FOUND", ("input", "assigneeId"))],
        ),
    ]
    for fields, expected in bad:
        payload = task_create(api, project["id"], fields)
        assert payload["task"] is None and error_fields(payload["errors"]) == expected, fields
    foreign = task_update(api, task["id"], {"assigneeId": user_id(api, OTHER_ADMIN)})
    assert error_fields(foreign["errors"]) == [("NOT_FOUND", ("input", "assigneeId"))]
    assert project_state(db, project["id"]) == before


# ---------------------------------------------------------------- change orders, inspections


def test_change_orders_adjust_the_variance(api: Api, db: Any) -> None:
    project = new_project(api, budget="40000.00")
    assert bid_award(api, new_bid(api, project["id"], "30000.00")["id"])["errors"] == []
    payload = change_order(api, project["id"], "4500.00", "Rotten subfloor")
    assert payload["errors"] == []
    order = payload["changeOrder"]
    assert order["description"] == "Rotten subfloor" and money(order["amount"]) == Decimal("4500")
    [(_, aggregate, event)] = [
        r for r in outbox_rows(db, project["id"]) if r[0] == "change_order.created"
    ]
    assert aggregate == "project" and Decimal(event["amount"]) == Decimal("4500.00")
    entry = deal_entries(api, project["deal"]["id"])[0]
    assert entry["kind"] == "CHANGE_ORDER_CREATED" and "Rotten subfloor" in entry["message"]
    progress = progress_of(api, project["id"])
    assert money(progress["changeOrders"]) == Decimal("4500.00")
    assert money(progress["variance"]) == Decimal("5500.00")

    assert change_order(api, project["id"], "-1500.00", "Credit: tile")["errors"] == []
    progress = progress_of(api, project["id"])
    assert money(progress["changeOrders"]) == Decimal("3000.00")
    assert money(progress["variance"]) == Decimal("7000.00")
    assert [o["description"] for o in get_project(api, project["id"])["changeOrders"]] == [
        "Rotten subfloor",
        "Credit: tile",
    ]

    before = project_state(db, project["id"])
    for amount in ("0", "1.001"):
        bad = change_order(api, project["id"], amount)
        assert bad["changeOrder"] is None
        assert error_fields(bad["errors"]) == [("INVALID", ("input", "amount"))]
    blank = change_order(api, project["id"], "10", "  ")
    assert error_fields(blank["errors"]) == [("INVALID", ("input", "description"))]
    assert project_state(db, project["id"]) == before


def test_inspections_are_scheduled_then_recorded_once(api: Api, db: Any) -> None:
    project = new_project(api)
    inspection = schedule_inspection(api, project["id"], "Electrical rough-in")
    assert inspection["status"] == "SCHEDULED" and inspection["completedAt"] is None
    assert inspection["inspector"] == "City of Austin"

    before = project_state(db, project["id"])
    failed = record_inspection(api, inspection["id"], "FAILED")
    assert failed["inspection"] is None
    assert error_fields(failed["errors"]) == [("INVALID", ("input", "notes"))]
    blank = record_inspection(api, inspection["id"], "FAILED", "   ")
    assert error_fields(blank["errors"]) == [("INVALID", ("input", "notes"))]
    scheduled = record_inspection(api, inspection["id"], "SCHEDULED")
    assert error_fields(scheduled["errors"]) == [("INVALID", ("input", "status"))]
    assert project_state(db, project["id"]) == before

    recorded = record_inspection(api, inspection["id"], "FAILED", "Missing GFCI in kitchen")
    assert recorded["errors"] == []
    assert recorded["inspection"]["status"] == "FAILED"
    assert recorded["inspection"]["notes"] == "Missing GFCI in kitchen"
    assert recorded["inspection"]["completedAt"] is not None
    entry = deal_entries(api, project["deal"]["id"])[0]
    assert entry["kind"] == "INSPECTION_RECORDED" and "FAILED" in entry["message"]
    assert "inspection.recorded" in event_types(db, project["id"])

    after = project_state(db, project["id"])
    for status, notes in (("PASSED", None), ("FAILED", "again")):
        again = record_inspection(api, inspection["id"], status, notes)
        assert again["inspection"] is None
        assert error_fields(again["errors"]) == [("INVALID_TRANSITION", ("id",))]
    assert project_state(db, project["id"]) == after

    second = schedule_inspection(api, project["id"], "Final")
    passed = record_inspection(api, second["id"], "PASSED")
    assert passed["errors"] == [] and passed["inspection"]["status"] == "PASSED"
    statuses = [i["status"] for i in get_project(api, project["id"])["inspections"]]
    assert sorted(statuses) == ["FAILED", "PASSED"]


# ---------------------------------------------------------------- progress


def test_progress_weights_done_tasks_by_budget_share(api: Api) -> None:
    project = new_project(api, budget="20000.00")
    small = new_task(api, project["id"], budget="1000.00")
    middle = new_task(api, project["id"], budget="3000.00")
    new_task(api, project["id"], budget="6000.00")
    new_task(api, project["id"])  # no budget: weighs nothing when others have one
    move_task(api, middle["id"], "IN_PROGRESS", "DONE")
    progress = progress_of(api, project["id"])
    assert money(progress["percentComplete"]) == Decimal("30.00")
    assert (progress["tasksDone"], progress["tasksTotal"]) == (1, 4)
    move_task(api, small["id"], "IN_PROGRESS", "DONE")
    progress = progress_of(api, project["id"])
    assert money(progress["percentComplete"]) == Decimal("40.00")
    assert (progress["tasksDone"], progress["tasksTotal"]) == (2, 4)


def test_progress_counts_tasks_when_none_has_a_budget(api: Api) -> None:
    project = new_project(api)
    tasks = [new_task(api, project["id"]) for _ in range(3)]
    move_task(api, tasks[0]["id"], "IN_PROGRESS", "DONE")
    progress = progress_of(api, project["id"])
    assert money(progress["percentComplete"]) == Decimal("33.33")
    assert (progress["tasksDone"], progress["tasksTotal"]) == (1, 3)
    move_task(api, tasks[1]["id"], "BLOCKED")
    move_task(api, tasks[2]["id"], "IN_PROGRESS", "DONE")
    progress = progress_of(api, project["id"])
    assert money(progress["percentComplete"]) == Decimal("66.67")
    assert (progress["tasksDone"], progress["tasksTotal"]) == (2, 3)


def test_progress_spent_is_the_deals_repairs_and_capex_net_of_refunds(api: Api) -> None:
    project = new_project(api, budget="30000.00")
    deal_id = project["deal"]["id"]
    other_deal = new_deal(api)
    add_transaction(api, deal_id, "-1200.00", "REPAIRS")
    add_transaction(api, deal_id, "-800.50", "CAPEX")
    add_transaction(api, deal_id, "200.00", "REPAIRS")  # a refund
    add_transaction(api, deal_id, "-300.00", "UTILITIES")  # not rehab
    add_transaction(api, deal_id, "-150000.00", "PURCHASE")  # not rehab
    add_transaction(api, other_deal, "-999.00", "REPAIRS")  # another deal
    add_transaction(api, None, "-77.00", "REPAIRS")  # no deal
    progress = progress_of(api, project["id"])
    assert money(progress["spent"]) == Decimal("1800.50")
    assert money(progress["budget"]) == Decimal("30000.00")
    # Spending does not change the variance: that is budget against commitments.
    assert money(progress["variance"]) == Decimal("30000.00")


# ---------------------------------------------------------------- roles


@pytest.mark.parametrize("user", [ANALYST, VIEWER])
def test_construction_writes_need_construction_write(api: Api, db: Any, user: str) -> None:
    project = new_project(api)
    bid = new_bid(api, project["id"], "5000.00")
    task = new_task(api, project["id"])
    inspection = schedule_inspection(api, project["id"])
    contractor = new_contractor(api)
    before = project_state(db, project["id"])
    contractors_before = db("SELECT count(*) FROM contractors")[0][0]
    projects_before = db("SELECT count(*) FROM construction_projects")[0][0]
    attempts: list[tuple[str, dict[str, Any]]] = [
        (
            PROJECT_CREATE,
            {"input": {"dealId": project["deal"]["id"], "name": "Mine", "budget": "1"}},
        ),
        (CONTRACTOR_CREATE, {"input": {"name": f"Nope {new_tag()}", "trade": "OTHER"}}),
        (
            BID_SUBMIT,
            {"projectId": project["id"], "input": {"contractorId": contractor["id"], "amount": 1}},
        ),
        (BID_AWARD, {"id": bid["id"]}),
        (TASK_CREATE, {"projectId": project["id"], "input": {"title": "Mine"}}),
        (TASK_UPDATE, {"id": task["id"], "input": {"status": "IN_PROGRESS"}}),
        (
            CHANGE_ORDER_CREATE,
            {"projectId": project["id"], "input": {"description": "x", "amount": "5"}},
        ),
        (
            INSPECTION_SCHEDULE,
            {
                "projectId": project["id"],
                "input": {"title": "x", "scheduledFor": today().isoformat()},
            },
        ),
        (INSPECTION_RECORD, {"id": inspection["id"], "input": {"status": "PASSED"}}),
        (
            PHOTO_UPLOAD,
            {
                "projectId": project["id"],
                "input": {"name": "a.png", "contentType": "image/png", "size": 10},
            },
        ),
    ]
    for query, variables in attempts:
        result = api.as_user(user, query, variables)
        assert top_code(result) == "FORBIDDEN", (query, result)
        assert result["data"] is None
    assert project_state(db, project["id"]) == before
    assert db("SELECT count(*) FROM contractors")[0][0] == contractors_before
    assert db("SELECT count(*) FROM construction_projects")[0][0] == projects_before
    # Reading is fine for every role.
    seen = get_project(api, project["id"], user)
    assert seen is not None and [b["id"] for b in seen["bids"]] == [bid["id"]]


# ---------------------------------------------------------------- tenant isolation


def test_the_other_tenant_cannot_see_or_touch_demo_construction(api: Api, db: Any) -> None:
    project = new_project(api)
    contractor = new_contractor(api, trade="MASONRY")
    bid = bid_submit(api, project["id"], contractor["id"], "7000.00")["bid"]
    task = new_task(api, project["id"], assigneeId=user_id(api, OPS))
    inspection = schedule_inspection(api, project["id"])
    demo_ids = [project["id"], bid["id"], task["id"], contractor["id"], inspection["id"]]
    before = project_state(db, project["id"])

    assert get_project(api, project["id"], OTHER_ADMIN) is None
    for gid in demo_ids:
        assert run(api, NODE, {"id": gid}, OTHER_ADMIN)["node"] is None, gid
        assert run(api, NODE, {"id": gid})["node"] == {"id": gid}
    assert run(api, NODES, {"ids": demo_ids}, OTHER_ADMIN)["nodes"] == [None] * len(demo_ids)
    by_deal = run(api, LIST_PROJECTS, {"filter": {"dealId": project["deal"]["id"]}}, OTHER_ADMIN)[
        "constructionProjects"
    ]
    assert by_deal["totalCount"] == 0 and by_deal["edges"] == []

    their_deal = new_deal(api, OTHER_ADMIN)
    theirs = new_project(api, their_deal, OTHER_ADMIN)
    their_contractor = new_contractor(api, OTHER_ADMIN, trade="MASONRY")
    all_theirs = run(api, LIST_PROJECTS, {"first": 100}, OTHER_ADMIN)["constructionProjects"]
    assert project["id"] not in ids_of(all_theirs) and theirs["id"] in ids_of(all_theirs)

    # Contractors: page through everything the other tenant sees; none is Demo's.
    other_tenant = db("SELECT id FROM tenants WHERE name = 'Other Fund'")[0][0]
    seen: list[str] = []
    after = None
    while True:
        page = run(api, LIST_CONTRACTORS, {"first": 100, "after": after}, OTHER_ADMIN)
        connection = page["contractors"]
        seen += ids_of(connection)
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert contractor["id"] not in seen and their_contractor["id"] in seen
    tenants = db(
        "SELECT DISTINCT tenant_id FROM contractors WHERE id = ANY($1::uuid[])",
        [local_id(gid) for gid in seen],
    )
    assert [row[0] for row in tenants] == [other_tenant]
    masons = run(api, LIST_CONTRACTORS, {"filter": {"trade": ["MASONRY"]}}, OTHER_ADMIN)
    assert contractor["id"] not in ids_of(masons["contractors"])

    soon = today().isoformat()
    attempts: list[tuple[str, dict[str, Any], str, tuple[str, ...]]] = [
        (
            PROJECT_CREATE,
            {"input": {"dealId": project["deal"]["id"], "name": "x", "budget": "1"}},
            "constructionProjectCreate",
            ("input", "dealId"),
        ),
        (
            BID_SUBMIT,
            {
                "projectId": project["id"],
                "input": {"contractorId": their_contractor["id"], "amount": "1"},
            },
            "bidSubmit",
            ("projectId",),
        ),
        (
            BID_SUBMIT,
            {"projectId": theirs["id"], "input": {"contractorId": contractor["id"], "amount": "1"}},
            "bidSubmit",
            ("input", "contractorId"),
        ),
        (BID_AWARD, {"id": bid["id"]}, "bidAward", ("id",)),
        (
            TASK_CREATE,
            {"projectId": project["id"], "input": {"title": "x"}},
            "taskCreate",
            ("projectId",),
        ),
        (
            TASK_CREATE,
            {"projectId": theirs["id"], "input": {"title": "x", "assigneeId": user_id(api, OPS)}},
            "taskCreate",
            ("input", "assigneeId"),
        ),
        (
            TASK_UPDATE,
            {"id": task["id"], "input": {"status": "IN_PROGRESS"}},
            "taskUpdate",
            ("id",),
        ),
        (TASK_UPDATE, {"id": task["id"], "input": {"title": "pwned"}}, "taskUpdate", ("id",)),
        (
            CHANGE_ORDER_CREATE,
            {"projectId": project["id"], "input": {"description": "x", "amount": "5"}},
            "changeOrderCreate",
            ("projectId",),
        ),
        (
            INSPECTION_SCHEDULE,
            {"projectId": project["id"], "input": {"title": "x", "scheduledFor": soon}},
            "inspectionSchedule",
            ("projectId",),
        ),
        (
            INSPECTION_RECORD,
            {"id": inspection["id"], "input": {"status": "FAILED", "notes": "x"}},
            "inspectionRecord",
            ("id",),
        ),
        (
            PHOTO_UPLOAD,
            {
                "projectId": project["id"],
                "input": {"name": "a.png", "contentType": "image/png", "size": 10},
            },
            "photoUploadCreate",
            ("projectId",),
        ),
    ]
    for query, variables, name, path in attempts:
        payload = run(api, query, variables, OTHER_ADMIN)[name]
        assert error_fields(payload["errors"]) == [("NOT_FOUND", path)], (name, payload)
        assert all(v is None for k, v in payload.items() if k != "errors"), payload
    assert project_state(db, project["id"]) == before
    assert get_project(api, theirs["id"], OTHER_ADMIN)["bids"] == []
    assert get_project(api, theirs["id"], OTHER_ADMIN)["tasks"] == []


# ---------------------------------------------------------------- statements


def _detail_statements(api: Api, count_statements: Any, project_id: str) -> tuple[int, dict]:
    """Statements of the project-detail request (the fewest of two runs: the extraction worker
    shares the engine, and its work is not this request's)."""
    counts: list[int] = []
    for _ in range(2):
        start = count_statements.count
        result = api.as_user(ADMIN, DETAIL, {"id": project_id})
        assert "errors" not in result, result
        mine = [
            s
            for s in count_statements.statements[start:]
            if "extraction_jobs" not in s and "app.worker" not in s
        ]
        counts.append(len(mine))
    return min(counts), result["data"]["constructionProject"]


def _project_with(
    api: Api, client: TestClient, bids: int, tasks: int, photos: int, orders: int
) -> dict:
    project = new_project(api)
    assignees = [user_id(api, email) for email in (ADMIN, OPS, ANALYST, VIEWER)]
    for index in range(bids):
        new_bid(api, project["id"], f"{10000 + index}.00")
    for index in range(tasks):
        new_task(api, project["id"], budget="100.00", assigneeId=assignees[index % 4])
    for index in range(photos):
        upload_photo(api, client, project["id"], seed=index)
    for _ in range(orders):
        assert change_order(api, project["id"], "10.00")["errors"] == []
    for _ in range(orders):
        schedule_inspection(api, project["id"])
    return project


def test_project_detail_costs_the_same_statements_however_big_the_project(
    api: Api, db: Any, client: TestClient, count_statements: Any
) -> None:
    small = _project_with(api, client, bids=2, tasks=3, photos=1, orders=1)
    big = _project_with(api, client, bids=8, tasks=15, photos=6, orders=4)
    api.token(ADMIN)
    log_before = db("SELECT count(*) FROM document_access_log")[0][0]

    small_count, small_detail = _detail_statements(api, count_statements, small["id"])
    big_count, big_detail = _detail_statements(api, count_statements, big["id"])
    assert (len(small_detail["bids"]), len(small_detail["tasks"]), len(small_detail["photos"])) == (
        2,
        3,
        1,
    )
    assert (len(big_detail["bids"]), len(big_detail["tasks"]), len(big_detail["photos"])) == (
        8,
        15,
        6,
    )
    assert all(photo["url"] for photo in big_detail["photos"])
    assert {t["assignee"]["email"] for t in big_detail["tasks"]} == {ADMIN, OPS, ANALYST, VIEWER}
    assert small_count == big_count, (small_count, big_count)
    # One logged link per photo URL handed out (each query ran twice).
    assert db("SELECT count(*) FROM document_access_log")[0][0] == log_before + 2 * 7
