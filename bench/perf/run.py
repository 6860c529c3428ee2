"""`python -m bench`: our server against PostGraphile v4 on the same database, one table."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shlex
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.perf.dataset import (
    LOGIN_EMAIL,
    LOGIN_PASSWORD,
    TENANT_ID,
    Database,
    ensure_dataset,
)
from bench.perf.inprocess import LOGIN, count_statements
from bench.perf.processes import (
    PEER_DIR,
    Pinning,
    RssSampler,
    RunError,
    Server,
    autocannon,
    cpu_seconds,
    free_port,
    ours_command,
    ours_env,
    postgres_cpu_seconds,
    running,
    theirs_command,
    theirs_env,
)
from bench.perf.queries import QUERIES, Query

OURS = "ours"
THEIRS = "PostGraphile"
STATEMENT_SAMPLES = 5
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "START TRANSACTION", "SAVEPOINT", "RELEASE")


@dataclass
class Prepared:
    """One query on one server, checked: what autocannon sends and must get back."""

    query: Query
    server: Server
    body: str  # the POST body
    headers: dict[str, str]
    response: str  # the exact response body (autocannon's expectBody)
    objects: int

    @property
    def response_bytes(self) -> int:
        return len(self.response.encode())


@dataclass
class Row:
    query: Query
    server: str
    clients: int
    rps: float
    p50_ms: float
    p99_ms: float
    failures: int
    sql: str
    response_bytes: int
    peak_rss_mb: float
    server_cpu_ms: float
    pg_cpu_ms: float
    ratio: float | None = None
    raw: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- checking answers


def first_difference(ours: Any, theirs: Any, path: str = "$") -> str | None:
    """Where two normalised answers first differ, or None when they are equal."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        if ours.keys() != theirs.keys():
            return f"{path}: keys {sorted(ours)} != {sorted(theirs)}"
        for key in ours:
            found = first_difference(ours[key], theirs[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return f"{path}: {len(ours)} items (ours) != {len(theirs)} (theirs)"
        for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if ours == theirs else f"{path}: {ours!r} (ours) != {theirs!r} (theirs)"


def _post(url: str, body: str, headers: dict[str, str]) -> str:
    response = httpx.post(
        url,
        content=body.encode(),
        headers={"content-type": "application/json", "accept-encoding": "identity", **headers},
        timeout=120.0,
    )
    parsed = response.json() if response.content else None
    if response.status_code != 200 or not isinstance(parsed, dict) or parsed.get("errors"):
        raise RunError(f"{url} answered HTTP {response.status_code}: {response.text[:2000]}")
    if not parsed.get("data"):
        raise RunError(f"{url} answered no data: {response.text[:2000]}")
    return response.text


def login(ours: Server) -> str:
    body = json.dumps({"query": LOGIN, "variables": {"e": LOGIN_EMAIL, "p": LOGIN_PASSWORD}})
    data = json.loads(_post(ours.url, body, {}))["data"]["login"]
    if data.get("errors") or not data.get("accessToken"):
        raise RunError(f"login as {LOGIN_EMAIL} failed: {data}")
    return str(data["accessToken"])


def payload(query: Query, ours: bool, deal_uuid: str) -> dict[str, Any]:
    document = query.ours if ours else query.theirs
    out: dict[str, Any] = {"query": document}
    variables = query.variables(ours, deal_uuid, str(TENANT_ID))
    if variables is not None:
        out["variables"] = variables
    return out


def prepare(
    query: Query, ours: Server, theirs: Server, token: str, deal_uuid: str
) -> tuple[Prepared, Prepared]:
    """Both answers, normalised and compared: a difference stops the run."""
    mine = json.dumps(payload(query, True, deal_uuid))
    peer = json.dumps(payload(query, False, deal_uuid))
    auth = {"authorization": f"Bearer {token}"}
    ours_text = _post(ours.url, mine, auth)
    theirs_text = _post(theirs.url, peer, {})
    ours_data = query.normalise(json.loads(ours_text)["data"], True)
    theirs_data = query.normalise(json.loads(theirs_text)["data"], False)
    difference = first_difference(ours_data, theirs_data)
    if difference:
        raise RunError(f"{query.name}: the two servers answer different data: {difference}")
    # autocannon checks every response against the first one (expectBody): it must be stable.
    for server, again, first in (
        (ours, _post(ours.url, mine, auth), ours_text),
        (theirs, _post(theirs.url, peer, {}), theirs_text),
    ):
        if again != first:
            raise RunError(f"{query.name}: {server.name} answered differently the second time")
    objects = query.count_objects(ours_data)
    return (
        Prepared(query, ours, mine, auth, ours_text, objects),
        Prepared(query, theirs, peer, {}, theirs_text, objects),
    )


# --------------------------------------------------------------------------- SQL per request


async def _owner(db: Database) -> Any:
    import asyncpg

    return await asyncpg.connect(
        host=db.socket_dir, port=db.port, user="postgres", database="postgres"
    )


async def detail_deal(db: Database) -> str:
    """The deal with the longest timeline (the dataset's detail deal)."""
    import asyncpg

    conn = await asyncpg.connect(
        host=db.socket_dir, port=db.port, user="postgres", database=db.name
    )
    try:
        found = await conn.fetchval(
            "SELECT deal_id FROM timeline_entries WHERE tenant_id = $1 "
            "GROUP BY deal_id ORDER BY count(*) DESC, deal_id LIMIT 1",
            TENANT_ID,
        )
    finally:
        await conn.close()
    if found is None:
        raise RunError("the bench dataset has no timeline entries")
    return str(found)


async def statements_seen(prepared: Prepared, db: Database) -> tuple[float, float]:
    """(statements, transaction-control statements) per request of the application role, from
    pg_stat_statements, over STATEMENT_SAMPLES sequential requests."""
    conn = await _owner(db)
    try:
        async with httpx.AsyncClient(timeout=120.0) as client:
            await client.post(prepared.server.url, content=prepared.body, headers=_json(prepared))
            await asyncio.sleep(0.3)
            await conn.execute("SELECT pg_stat_statements_reset()")
            for _ in range(STATEMENT_SAMPLES):
                await client.post(
                    prepared.server.url, content=prepared.body, headers=_json(prepared)
                )
            await asyncio.sleep(0.5)  # our read transaction ends after the response is sent
        rows = await conn.fetch(
            "SELECT s.query, s.calls FROM pg_stat_statements s "
            "JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid "
            "WHERE r.rolname = 'reos_app' AND d.datname = $1",
            db.name,
        )
    finally:
        await conn.close()
    control = sum(r["calls"] for r in rows if r["query"].upper().startswith(TRANSACTION_CONTROL))
    total = sum(r["calls"] for r in rows)
    return (total - control) / STATEMENT_SAMPLES, control / STATEMENT_SAMPLES


def _json(prepared: Prepared) -> dict[str, str]:
    return {"content-type": "application/json", **prepared.headers}


def _sql_cell(counted: int | None, seen: float) -> str:
    shown = f"{seen:g}"
    if counted is None:
        return shown
    return str(counted) if abs(counted - seen) < 0.01 else f"{counted} (pg_stat: {shown})"


# --------------------------------------------------------------------------- load


def measure(
    prepared: Prepared,
    clients: int,
    seconds: float,
    warmup: float,
    pinning: Pinning,
    db: Database,
) -> dict[str, Any]:
    server = prepared.server
    with RssSampler(server.pid) as rss:
        if warmup > 0:
            autocannon(pinning, server.url, prepared.body, prepared.headers, clients, warmup, None)
        cpu_before = cpu_seconds(server.pid)
        pg_before = postgres_cpu_seconds(db.postmaster_pid)
        result = autocannon(
            pinning,
            server.url,
            prepared.body,
            prepared.headers,
            clients,
            seconds,
            prepared.response,
        )
        result["serverCpuS"] = cpu_seconds(server.pid) - cpu_before
        result["pgCpuS"] = postgres_cpu_seconds(db.postmaster_pid) - pg_before
    result["peakRssKb"] = rss.peak_kb
    return result


def to_row(prepared: Prepared, clients: int, result: dict[str, Any], sql: str) -> Row:
    requests = max(int(result["requests"]), 1)
    failures = sum(int(result[k]) for k in ("errors", "timeouts", "non2xx", "mismatches"))
    return Row(
        query=prepared.query,
        server=prepared.server.name,
        clients=clients,
        rps=float(result["rps"]),
        p50_ms=float(result["latencyMs"]["p50"]),
        p99_ms=float(result["latencyMs"]["p99"]),
        failures=failures,
        sql=sql,
        response_bytes=prepared.response_bytes,
        peak_rss_mb=result["peakRssKb"] / 1024,
        server_cpu_ms=result["serverCpuS"] * 1000 / requests,
        pg_cpu_ms=result["pgCpuS"] * 1000 / requests,
        raw=result,
    )


# --------------------------------------------------------------------------- report


def _versions() -> str:
    def package(name: str) -> str:
        try:
            with open(PEER_DIR / "node_modules" / name / "package.json", encoding="utf-8") as f:
                return str(json.load(f)["version"])
        except OSError:
            return "?"

    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return (
        f"Python {platform.python_version()}, Node {node}, postgraphile {package('postgraphile')} "
        f"(+ pg-simplify-inflector {package('@graphile-contrib/pg-simplify-inflector')}, "
        f"connection-filter {package('postgraphile-plugin-connection-filter')}), "
        f"autocannon {package('autocannon')}"
    )


def render(rows: list[Row]) -> str:
    lines = [
        "| query | server | clients | req/s | p50 ms | p99 ms | failures | SQL/req | "
        "response bytes | peak RSS MB | server CPU ms/req | PG CPU ms/req | ours/theirs req/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        lines.append(
            f"| {r.query.label} | {r.server} | {r.clients} | {r.rps:.1f} | {r.p50_ms:.0f} | "
            f"{r.p99_ms:.0f} | {r.failures} | {r.sql} | {r.response_bytes:,} | "
            f"{r.peak_rss_mb:.0f} | {r.server_cpu_ms:.1f} | {r.pg_cpu_ms:.1f} | {ratio} |"
        )
    return "\n".join(lines)


def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def header(args: Any, db: Database, pinning: Pinning, pg_version: str, load: str) -> str:
    command = "python -m bench " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "python -m bench"
    built = "reused" if db.built_in_s is None else f"built in {db.built_in_s:.0f} s"
    return (
        f"CPUs: {os.cpu_count()}, {platform.system()} {platform.machine()}; {_versions()}; "
        f"PostgreSQL {pg_version}\n"
        f"command: `{command.strip()}`; dataset `{db.name}`: {db.counts.describe()} "
        f"(one tenant; {built}); "
        f"{args.seconds:g} s per row after {args.warmup:g} s of warm-up; {pinning.describe()}; "
        f"1-minute load average {load} at the start, {load_average()} at the end"
    )


# --------------------------------------------------------------------------- the run


def run(args: Any) -> int:
    pinning = Pinning.choose(not args.no_pin)
    load_at_start = load_average()
    db = ensure_dataset(args.scale, rebuild=args.rebuild)
    pinning.pin_postgres(db.postmaster_pid)
    pinning.pin_self()
    queries = [QUERIES[name] for name in args.queries]
    deal_uuid = asyncio.run(detail_deal(db))
    pg_version = asyncio.run(_pg_version(db))

    # SQL per request of ours, counted in-process (before_cursor_execute), before the servers.
    counted = asyncio.run(
        count_statements(db, {q.name: payload(q, True, deal_uuid) for q in queries})
    )

    rows: list[Row] = []
    notes: list[str] = []
    with ExitStack() as stack:
        ours_port, theirs_port = free_port(), free_port()
        ours = stack.enter_context(
            running(
                OURS,
                [*pinning.server_prefix(), *ours_command()],
                ours_env(db, ours_port),
                ours_port,
            )
        )
        theirs = stack.enter_context(
            running(
                THEIRS,
                [*pinning.server_prefix(), *theirs_command()],
                theirs_env(db, theirs_port),
                theirs_port,
            )
        )
        token = login(ours)
        prepared: dict[str, tuple[Prepared, Prepared]] = {}
        for query in queries:
            prepared[query.name] = prepare(query, ours, theirs, token, deal_uuid)
            both = prepared[query.name]
            print(
                f"{query.name}: same data from both ({both[0].objects} objects; "
                f"{both[0].response_bytes:,} / {both[1].response_bytes:,} bytes)",
                file=sys.stderr,
            )
        sql: dict[tuple[str, str], str] = {}
        for query in queries:
            for side in prepared[query.name]:
                seen, control = asyncio.run(statements_seen(side, db))
                mine = counted[query.name] if side.server is ours else None
                sql[(query.name, side.server.name)] = _sql_cell(mine, seen)
                notes.append(
                    f"{query.name} / {side.server.name}: pg_stat_statements saw {seen:g} "
                    f"statements + {control:g} BEGIN/COMMIT/ROLLBACK per request"
                )
        for index, query in enumerate(queries):
            for clients in args.clients:
                pair = prepared[query.name]
                order = pair if index % 2 == 0 else pair[::-1]  # alternate who goes first
                measured: dict[str, Row] = {}
                for side in order:
                    print(
                        f"running {query.name} on {side.server.name}, {clients} clients...",
                        file=sys.stderr,
                    )
                    result = measure(side, clients, args.seconds, args.warmup, pinning, db)
                    measured[side.server.name] = to_row(
                        side, clients, result, sql[(query.name, side.server.name)]
                    )
                mine, peer = measured[OURS], measured[THEIRS]
                mine.ratio = mine.rps / peer.rps if peer.rps else None
                rows += [mine, peer]
        for server in (ours, theirs):
            with open(f"/proc/{server.pid}/status", encoding="ascii") as status:
                hwm = next(line for line in status if line.startswith("VmHWM:"))
            notes.append(f"{server.name}: {hwm.split(':')[1].strip()} VmHWM over its whole life")

    print(header(args, db, pinning, pg_version, load_at_start))
    print()
    print(render(rows))
    print()
    for query in queries:
        if query.note:
            print(f"- {query.name}: {query.note}")
    for note in notes:
        print(f"- {note}")
    failed = [r for r in rows if r.failures]
    for r in failed:
        kinds = {k: r.raw[k] for k in ("errors", "timeouts", "non2xx", "mismatches")}
        print(
            f"WARNING: {r.query.name} on {r.server} at {r.clients} clients had {r.failures} "
            f"failures: {json.dumps(kinds)}",
            file=sys.stderr,
        )
    return 1 if failed else 0


async def _pg_version(db: Database) -> str:
    conn = await _owner(db)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()
