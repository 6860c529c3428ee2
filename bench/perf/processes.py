"""The processes of a run: both servers, the load generator, CPU pinning, RSS and CPU sampling."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from bench.perf.dataset import REPO, TENANT_ID, Database

PEER_DIR = REPO / "bench" / "postgraphile"
READY_TIMEOUT_S = 120.0
STOP_GRACE_S = 15.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class RunError(RuntimeError):
    """The benchmark cannot go on."""


# --------------------------------------------------------------------------- pinning


@dataclass(frozen=True)
class Pinning:
    """Which cores: the servers on one, the load generator, this process and PostgreSQL on the
    other. Off when there is no taskset or fewer than 2 cores (then nothing is pinned)."""

    server_core: int | None
    load_core: int | None

    @classmethod
    def choose(cls, enabled: bool) -> Pinning:
        cores = sorted(os.sched_getaffinity(0))
        if not enabled or len(cores) < 2 or shutil.which("taskset") is None:
            return cls(None, None)
        return cls(cores[1], cores[0])

    def server_prefix(self) -> list[str]:
        return [] if self.server_core is None else ["taskset", "-c", str(self.server_core)]

    def load_prefix(self) -> list[str]:
        return [] if self.load_core is None else ["taskset", "-c", str(self.load_core)]

    def pin_postgres(self, postmaster_pid: int) -> None:
        """PostgreSQL with the load generator: new backends inherit the postmaster's mask."""
        if self.load_core is None:
            return
        import psutil

        postmaster = psutil.Process(postmaster_pid)
        for process in (postmaster, *postmaster.children(recursive=True)):
            with suppress(psutil.Error):
                process.cpu_affinity([self.load_core])

    def pin_self(self) -> None:
        if self.load_core is not None:
            os.sched_setaffinity(0, {self.load_core})

    def describe(self) -> str:
        if self.server_core is None:
            return "no CPU pinning"
        return (
            f"server on core {self.server_core} (`taskset -c {self.server_core}`); load generator "
            f"(autocannon), PostgreSQL and the harness on core {self.load_core}"
        )


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str  # "ours" or "PostGraphile"
    command: list[str]
    proc: subprocess.Popen[bytes]
    url: str  # the GraphQL endpoint
    log: IO[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 40) -> str:
        self.log.flush()
        self.log.seek(0)
        text = self.log.read().decode("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"


def ours_env(db: Database, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db.owner_url,  # the app itself connects as reos_app (APP_DB_PASSWORD)
        DATA_DIR=str(REPO / ".data" / "bench-peer"),
        HOST="127.0.0.1",
        PORT=str(port),
        REOS_ENV="development",
        LOG_LEVEL="WARNING",
        RUN_WORKERS="false",
        RUN_RELAY="false",
        RATE_LIMIT_ENABLED="false",
        ACCESS_TOKEN_TTL_SECONDS=str(7 * 24 * 3600),
        LOGIN_MAX_FAILURES_PER_ADDRESS="1000000",
        LOGIN_MAX_FAILURES_PER_EMAIL="1000000",
    )
    env.pop("REDIS_URL", None)
    env.pop("ELASTICSEARCH_URL", None)
    return env


def ours_command() -> list[str]:
    return [str(REPO / ".venv" / "bin" / "reos"), "serve"]


def theirs_env(db: Database, port: int) -> dict[str, str]:
    env = dict(os.environ)
    for key in ("PGSERVICE", "PGSSLMODE", "DATABASE_URL"):
        env.pop(key, None)
    env.update(db.libpq_env())
    env.update(PORT=str(port), BENCH_TENANT_ID=str(TENANT_ID), NODE_ENV="production")
    return env


def theirs_command() -> list[str]:
    node = shutil.which("node")
    if node is None:
        raise RunError("node is not on PATH; PostGraphile needs Node 20+")
    if not (PEER_DIR / "node_modules" / "postgraphile").is_dir():
        raise RunError(
            f"{PEER_DIR.relative_to(REPO)}/node_modules is missing: run "
            f"`npm ci --prefix {PEER_DIR.relative_to(REPO)}` (make bench does)"
        )
    return [node, str(PEER_DIR / "server.js")]


def wait_ready(server: Server, timeout: float = READY_TIMEOUT_S) -> None:
    """Until `{ __typename }` answers 200 (PostGraphile has no /health)."""
    deadline = time.monotonic() + timeout
    last = "no attempt"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RunError(
                f"{server.name} exited with code {server.proc.returncode} before it was ready\n"
                f"--- its output (tail) ---\n{server.log_tail()}"
            )
        try:
            response = httpx.post(server.url, json={"query": "{ __typename }"}, timeout=5.0)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.25)
    raise RunError(f"{server.name} was not ready within {timeout:.0f} s (last: {last})")


def stop(server: Server) -> None:
    if server.proc.poll() is not None:
        return
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        print(f"{server.name} did not stop; killing pid {server.pid}", file=sys.stderr)
        server.proc.kill()
        server.proc.wait()


@contextmanager
def running(name: str, command: list[str], env: dict[str, str], port: int) -> Iterator[Server]:
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us; we stop it ourselves
        )
        server = Server(name, command, proc, f"http://127.0.0.1:{port}/graphql", log)
        try:
            wait_ready(server)
            yield server
        finally:
            stop(server)


# --------------------------------------------------------------------------- sampling


def rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in kB."""
    values = {"VmRSS": 0, "VmHWM": 0}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


class RssSampler:
    """The highest VmRSS of a process seen while running (every 20 ms)."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_kb = max(self.peak_kb, rss_kb(self.pid)[0])
            except OSError:
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        with suppress(OSError):
            self.peak_kb = max(self.peak_kb, rss_kb(self.pid)[0])


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgres_cpu_seconds(postmaster_pid: int) -> float:
    """CPU of the whole cluster: live backends plus what exited ones left to the postmaster."""
    import psutil

    postmaster = psutil.Process(postmaster_pid)
    times = postmaster.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in postmaster.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.Error:
            continue
        total += child_times.user + child_times.system
    return total


# --------------------------------------------------------------------------- load


def autocannon(
    pinning: Pinning,
    url: str,
    body: str,
    headers: dict[str, str],
    connections: int,
    seconds: float,
    expect_body: str | None,
) -> dict[str, Any]:
    """One autocannon run from its own (pinned) Node process; its JSON summary."""
    config: dict[str, Any] = {
        "url": url,
        "body": body,
        "headers": headers,
        "connections": connections,
        "duration": seconds,
        "timeout": 120,
    }
    if expect_body is not None:
        config["expectBody"] = expect_body
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(config, file)
        path = Path(file.name)
    try:
        command = [*pinning.load_prefix(), "node", str(PEER_DIR / "load.js"), str(path)]
        done = subprocess.run(
            command, cwd=PEER_DIR, capture_output=True, text=True, timeout=seconds + 180
        )
    finally:
        path.unlink(missing_ok=True)
    if done.returncode != 0:
        raise RunError(f"autocannon failed ({done.returncode}): {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))
