"""Search benchmark: propertySearch requests/s and latency on 10,000 and 100,000 properties
(PostgreSQL backend).

What it measures
    Whole HTTP round trips of ``propertySearch`` to a real ``reos serve``: text + filters + radius
    + facets (the headline), and, to show where the time goes, text alone with facets and a
    radius alone with facets. Every request asks for the total, all six facets and 20 edges
    (address, price, beds, distance). Queries rotate through realistic ones (street names, a
    city, a ZIP code, a typo), each near its own metro, so no single plan is cached hot.

    Each dataset is a tenant of its own ("Bench search 10000", ...) filled with properties from
    persistence/demo_data.py (the generator behind the demo seed: three metros, realistic
    prices, types, statuses and coordinates) by COPY, with its own bench user. Searches see only
    that tenant, as in production (RLS and a tenant filter), while the other tenants' rows stay
    in the same table and indexes.

    Each scenario runs at 1 and 4 concurrent clients (asyncio tasks sharing one keep-alive
    httpx.AsyncClient): 2 s of warm-up, then `--seconds` of measurement. p50/p99 are
    nearest-rank. Failures are non-200 responses or responses with GraphQL errors. The client
    runs on the same 2-core machine as the server and PostgreSQL, so numbers include its CPU.

How to run
    .venv/bin/python bench/bench_search.py                       # 10,000 and 100,000
    .venv/bin/python bench/bench_search.py --sizes 10000 --seconds 5

    It starts its own embedded PostgreSQL under .data/bench-search (kept between runs: datasets
    already loaded are reused), migrates it, then starts ``reos serve`` against it on a free port
    and stops both at the end. ``--explain`` prints EXPLAIN ANALYZE of the two statements of the
    headline search for each size.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from domain.property import EDITABLE_FIELDS, derived_fields  # noqa: E402
from persistence.demo_data import demo_properties  # noqa: E402

DATA_DIR = REPO / ".data" / "bench-search"
APP_PASSWORD = "reos-app-bench"
PASSWORD = "reos-bench"
WARMUP_S = 2.0
NAMESPACE = uuid.UUID("5b0f3d2a-9c1e-4e8b-8f3a-2d6c7b1a9e40")
CENTERS = {
    "Austin": (30.2672, -97.7431),
    "Phoenix": (33.4484, -112.0740),
    "Columbus": (39.9612, -82.9988),
}
# (query, metro): street words, a city, a ZIP code prefix, a typo.
QUERIES = [
    ("Lamar", "Austin"),
    ("Austin", "Austin"),
    ("Congress Ave", "Austin"),
    ("Austn", "Austin"),
    ("787", "Austin"),
    ("Camelback", "Phoenix"),
    ("Phoenix", "Phoenix"),
    ("High St", "Columbus"),
    ("Columbus", "Columbus"),
    ("Colmbus", "Columbus"),
]
SEARCH = """query($q: String, $filter: PropertyFilter, $near: GeoRadiusInput) {
  propertySearch(query: $q, filter: $filter, near: $near, first: 20) {
    totalCount
    facets { field otherCount buckets { value count } }
    pageInfo { hasNextPage endCursor }
    edges { cursor score distanceMiles node {
      id listPrice bedroomsTotal bathroomsTotalInteger standardStatus
      address { unparsedAddress city postalCode } } }
  } }"""
LOGIN = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
  accessToken errors { message } } }"""
FILTER = {
    "standardStatus": ["ACTIVE", "COMING_SOON", "PENDING"],
    "minBedrooms": 2,
    "maxPrice": "900000",
}


def scenario_variables(name: str) -> list[dict[str, Any]]:
    """The rotating variables of a scenario."""
    rotation = []
    for query, metro in QUERIES:
        lat, lon = CENTERS[metro]
        near = {"latitude": lat, "longitude": lon, "radiusMiles": 5}
        if name == "text+filters+radius+facets":
            rotation.append({"q": query, "filter": FILTER, "near": near})
        elif name == "text+facets":
            rotation.append({"q": query})
        elif name == "radius+facets":
            rotation.append({"near": near})
    return rotation


SCENARIOS = ["text+filters+radius+facets", "text+facets", "radius+facets"]


# --------------------------------------------------------------------------- data


def start_database() -> str:
    from persistence.embedded import start_embedded_postgres
    from persistence.migrate import run_migrations

    url = start_embedded_postgres(DATA_DIR, database="reos_bench_search")
    run_migrations(url, APP_PASSWORD)
    return url


async def ensure_dataset(owner_url: str, size: int) -> tuple[str, int]:
    """The bench user's e-mail for a tenant of `size` properties (made on first use)."""
    from server.auth import Passwords

    tenant_id = uuid.uuid5(NAMESPACE, f"tenant:{size}")
    email = f"bench-{size}@reos.dev"
    conn = await asyncpg.connect(owner_url)
    try:
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", str(tenant_id))
        have = await conn.fetchval(
            "SELECT count(*) FROM properties WHERE tenant_id = $1", tenant_id
        )
        if have == size:
            return email, size
        started = time.perf_counter()
        print(f"loading {size:,} properties...", file=sys.stderr, flush=True)
        await conn.execute("DELETE FROM users WHERE tenant_id = $1", tenant_id)
        await conn.execute("DELETE FROM properties WHERE tenant_id = $1", tenant_id)
        await conn.execute(
            "INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            tenant_id,
            f"Bench search {size}",
        )
        await conn.execute(
            "INSERT INTO users (id, tenant_id, email, name, role, password_hash)"
            " VALUES ($1, $2, $3, 'Bench Searcher', 'ANALYST', $4)",
            uuid.uuid5(tenant_id, email),
            tenant_id,
            email,
            Passwords().hash(PASSWORD),
        )
        columns = ["id", "tenant_id", *EDITABLE_FIELDS, "address_key", "parcel_key"]
        records = []
        for item in demo_properties(f"bench-{size}", date.today(), count=size):
            values = {name: item[name] for name in EDITABLE_FIELDS}
            values.update(derived_fields(values))
            records.append(
                (
                    uuid.uuid5(tenant_id, item["listing_id"]),
                    tenant_id,
                    *[values[c] for c in columns[2:]],
                )
            )
        generated = time.perf_counter()
        for start in range(0, len(records), 20_000):
            await conn.copy_records_to_table(
                "properties", records=records[start : start + 20_000], columns=columns
            )
        await conn.execute("ANALYZE properties")
        print(
            f"  generated in {generated - started:.1f} s, copied in "
            f"{time.perf_counter() - generated:.1f} s",
            file=sys.stderr,
        )
        return email, size
    finally:
        await conn.close()


async def explain(owner_url: str, app_url: str, size: int) -> None:
    """EXPLAIN ANALYZE of the headline search's page and facet statements."""
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql

    from persistence.database import create_engine
    from persistence.property import PropertyListQuery
    from persistence.search import METERS_PER_MILE, GeoRadius, SearchRequest
    from persistence.search.postgres import page_statement, summary_statement
    from persistence.search.text import query_words

    tenant_id = uuid.uuid5(NAMESPACE, f"tenant:{size}")
    lat, lon = CENTERS["Austin"]
    request = SearchRequest(
        tenant_id=tenant_id,
        words=query_words("Lamar"),
        filter=PropertyListQuery(
            tenant_id=tenant_id,
            standard_statuses=["Active", "Coming Soon", "Pending"],
            min_bedrooms=2,
            max_price=900000,  # type: ignore[arg-type]
        ),
        near=GeoRadius(lat, lon, 5 * METERS_PER_MILE),
        limit=20,
    )
    engine = create_engine(app_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
            )
            for label, statement in (
                ("page", page_statement(request)),
                ("total and facets", summary_statement(request)),
            ):
                compiled = statement.compile(
                    dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                )
                sql = str(compiled).replace("%%", "%")
                plan = await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                print(f"\n-- {size:,} properties: {label}", file=sys.stderr)
                for row in plan:
                    print(row[0], file=sys.stderr)
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(owner_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": owner_url,
        "APP_DB_PASSWORD": APP_PASSWORD,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "RUN_WORKERS": "false",
        "RUN_RELAY": "false",
        "DB_POOL_SIZE": "10",
        "LOGIN_MAX_FAILURES_PER_ADDRESS": "100000",
        "LOGIN_MAX_FAILURES_PER_EMAIL": "100000",
    }
    env.pop("ELASTICSEARCH_URL", None)
    log = open(DATA_DIR / "server.log", "wb")  # noqa: SIM115
    return subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "reos"), "serve"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_health(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited; see {DATA_DIR / 'server.log'}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not become healthy")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


# --------------------------------------------------------------------------- load


@dataclass
class Result:
    size: int
    scenario: str
    clients: int
    requests: int
    elapsed_s: float
    p50_ms: float
    p99_ms: float
    failures: int
    matched: float  # mean totalCount
    latencies: list[float] = field(default_factory=list, repr=False)

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s else 0.0


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


async def drive(
    client: httpx.AsyncClient,
    url: str,
    token: str,
    rotation: list[dict[str, Any]],
    clients: int,
    seconds: float,
) -> tuple[list[float], int, list[int], float]:
    latencies: list[float] = []
    totals: list[int] = []
    failures = 0
    counter = itertools.count()
    headers = {"authorization": f"Bearer {token}"}
    started = time.perf_counter()
    deadline = started + seconds

    async def one_client() -> None:
        nonlocal failures
        while time.perf_counter() < deadline:
            variables = rotation[next(counter) % len(rotation)]
            begin = time.perf_counter()
            try:
                response = await client.post(
                    url, json={"query": SEARCH, "variables": variables}, headers=headers
                )
                body = response.json()
                ok = response.status_code == 200 and not body.get("errors")
            except (httpx.HTTPError, ValueError):
                ok, body = False, {}
            latencies.append((time.perf_counter() - begin) * 1000)
            if ok:
                totals.append(body["data"]["propertySearch"]["totalCount"])
            else:
                failures += 1

    await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies, failures, totals, time.perf_counter() - started


async def run_size(base: str, email: str, size: int, args: argparse.Namespace) -> list[Result]:
    url = f"{base}/graphql"
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    results = []
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        login = await client.post(
            url, json={"query": LOGIN, "variables": {"e": email, "p": PASSWORD}}
        )
        token = login.json()["data"]["login"]["accessToken"]
        for scenario in args.scenarios:
            rotation = scenario_variables(scenario)
            for clients in args.clients:
                print(f"{size:,}: {scenario} x{clients}...", file=sys.stderr, flush=True)
                await drive(client, url, token, rotation, clients, WARMUP_S)
                latencies, failures, totals, elapsed = await drive(
                    client, url, token, rotation, clients, args.seconds
                )
                results.append(
                    Result(
                        size=size,
                        scenario=scenario,
                        clients=clients,
                        requests=len(latencies),
                        elapsed_s=elapsed,
                        p50_ms=percentile(latencies, 50),
                        p99_ms=percentile(latencies, 99),
                        failures=failures,
                        matched=sum(totals) / len(totals) if totals else 0.0,
                    )
                )
    return results


def render(results: list[Result], seconds: float) -> str:
    lines = [
        f"propertySearch on PostgreSQL — {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {seconds:g} s per row, first: 20, all six facets",
        "",
        "| properties | scenario | clients | requests | req/s | p50 ms | p99 ms | failures "
        "| mean matches |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.size:,} | {r.scenario} | {r.clients} | {r.requests} | {r.rps:.1f} | "
            f"{r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.failures} | {r.matched:,.0f} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="dataset sizes (comma-separated)")
    parser.add_argument("--clients", default="1,4", help="concurrency levels (comma-separated)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per row")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE plans")
    args = parser.parse_args(argv)
    args.sizes = [int(item) for item in args.sizes.split(",") if item]
    args.clients = [int(item) for item in args.clients.split(",") if item]
    args.scenarios = [item for item in args.scenarios.split(",") if item]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    owner_url = start_database()
    from persistence.database import app_role_url

    app_url = str(app_role_url(owner_url, APP_PASSWORD)).replace("postgresql+asyncpg", "postgresql")
    datasets = [asyncio.run(ensure_dataset(owner_url, size)) for size in args.sizes]
    if args.explain:
        for _, size in datasets:
            asyncio.run(explain(owner_url, app_role_url(owner_url, APP_PASSWORD), size))  # type: ignore[arg-type]
    port = free_port()
    proc = start_server(owner_url, port)
    base = f"http://127.0.0.1:{port}"
    results: list[Result] = []
    try:
        wait_for_health(base, proc)
        for email, size in datasets:
            results += asyncio.run(run_size(base, email, size, args))
    finally:
        stop_server(proc)
    del app_url
    print(render(results, args.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
