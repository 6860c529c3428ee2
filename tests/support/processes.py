"""Real processes for end-to-end tests: `reos serve`, redis-server, and a GraphQL WS client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

REPO_ROOT = Path(__file__).resolve().parents[2]
TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def _reos_command(command: str = "serve") -> list[str]:
    script = Path(sys.executable).parent / "reos"
    if script.exists():
        return [str(script), command]
    return [sys.executable, "-c", "from server.cli import main; main()", command]


class ServerProcess:
    """`reos serve` (or another `reos` command) as a subprocess; logs go to a temp file."""

    def __init__(
        self,
        env: Mapping[str, str],
        name: str = "reos",
        ready_timeout: float = 30.0,
        command: str = "serve",
    ) -> None:
        self.name = name
        self.command = command
        self.port = free_port()
        self.ready_timeout = ready_timeout
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"reos-e2e-{name}-"))
        self.log_path = self.data_dir / "server.log"
        self.env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "REOS_ENV": "test",
            "DATA_DIR": str(self.data_dir),
            "LOG_LEVEL": "WARNING",
            "RUN_WORKERS": "false",
            "RATE_LIMIT_ENABLED": "false",  # tests that need rate limits turn them on
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def start(self) -> Self:
        """Start the process and wait until GET /ready answers 200."""
        self.launch()
        self.wait_ready()
        return self

    def launch(self) -> None:
        """Start the process without waiting (several can then start up side by side)."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                _reos_command(self.command),
                env=self.env,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        """Poll /ready; on timeout or early exit, kill and fail with the log's tail."""
        deadline = time.monotonic() + self.ready_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise RuntimeError(f"{self.name} exited with {code} before ready:\n{self.log()}")
            try:
                response = httpx.get(f"{self.url}/ready", timeout=1.0)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(
            f"{self.name} not ready in {self.ready_timeout}s ({last}):\n{self.log()}"
        )

    def log(self, lines: int = 60) -> str:
        """The last lines of the process's output."""
        return _tail(self.log_path, lines)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait; the exit code, or None if it did not exit in time (then killed)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> int | None:
        """SIGKILL and reap."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait(10)

    def stop(self, keep_log: bool = False) -> None:
        """Terminate (kill if it hangs) and remove the data directory unless `keep_log`."""
        if self.running and self.terminate(5.0) is None:
            self.kill()
        if not keep_log:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None:  # pytest shows captured stderr with the failure
            print(f"--- {self.name} ({self.log_path}) ---\n{self.log()}", file=sys.stderr)
        self.stop(keep_log=exc is not None)


class RedisProcess:
    """A throwaway redis-server on a fixed port (no persistence), to kill and start again."""

    def __init__(
        self, binary: str, port: int | None = None, extra_args: Sequence[str] = ()
    ) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.log_path = Path(tempfile.mkdtemp(prefix="reos-e2e-redis-")) / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def url_for(self, user: str, password: str) -> str:
        """The URL as an ACL user (pass `--user ...` in `extra_args` to create one)."""
        return f"redis://{user}:{password}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> Self:
        """Start on `port` and wait until it answers PING."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("redis-server is already running")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    *self.extra_args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited:\n{_tail(self.log_path)}")
            if self.ping():
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server not answering on {self.port}:\n{_tail(self.log_path)}")

    def ping(self) -> bool:
        """Whether redis answers PING right now."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL and reap (clients see their connections drop at once)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        """Kill and remove the log directory."""
        self.kill()
        shutil.rmtree(self.log_path.parent, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class Closed(Exception):
    """The server closed the socket while a message was expected."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"socket closed: {code} {reason!r}")
        self.code = code
        self.reason = reason


class GraphQLWebSocket:
    """A minimal GraphQL-over-WebSocket client (graphql-transport-ws, or legacy graphql-ws).

    `receive` answers server pings with pongs and skips keep-alives; `pings` counts both.
    """

    def __init__(self, connection: ClientConnection, protocol: str) -> None:
        self.connection = connection
        self.protocol = protocol
        self.pings = 0

    @classmethod
    async def open(
        cls, ws_url: str, protocol: str = TRANSPORT_WS, origin: str | None = None
    ) -> GraphQLWebSocket:
        """Open the socket (no connection_init yet)."""
        headers = {"Origin": origin} if origin else None
        connection = await connect(
            ws_url,
            subprotocols=[Subprotocol(protocol)],
            additional_headers=headers,
            open_timeout=5,
            ping_interval=None,
        )
        return cls(connection, protocol)

    @classmethod
    async def connected(
        cls, ws_url: str, token: str, protocol: str = TRANSPORT_WS
    ) -> GraphQLWebSocket:
        """Open, send connection_init with the token, and insist on connection_ack."""
        client = await cls.open(ws_url, protocol)
        ack = await client.init(token)
        if ack.get("type") != "connection_ack":
            await client.close()
            raise AssertionError(f"expected connection_ack, got {ack}")
        return client

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def send_raw(self, text: str) -> None:
        await self.connection.send(text)

    async def init(self, token: str | None) -> dict[str, Any]:
        """Send connection_init (with `Bearer token` if given); the server's answer."""
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive(5.0)

    async def subscribe(
        self, op_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        payload = {"query": query, "variables": variables or {}}
        await self.send({"id": op_id, "type": kind, "payload": payload})

    async def receive_raw(self, timeout: float) -> dict[str, Any]:
        """The next message as sent (pings included); TimeoutError, or Closed."""
        try:
            text = await asyncio.wait_for(self.connection.recv(), timeout)
        except ConnectionClosed as exc:
            raise Closed(self.close_code, self.close_reason) from exc
        return json.loads(text)

    async def receive(self, timeout: float) -> dict[str, Any]:
        """The next message other than ping/pong/ka (pings are answered); TimeoutError, Closed."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no message within {timeout}s")
            message = await self.receive_raw(remaining)
            kind = message.get("type")
            if kind == "ping":
                self.pings += 1
                await self.send({"type": "pong"})
            elif kind == "ka":
                self.pings += 1
            elif kind != "pong":
                return message

    async def messages_for(self, seconds: float) -> list[dict[str, Any]]:
        """Everything (but pings) received within `seconds`; stops early if the socket closes."""
        deadline = asyncio.get_running_loop().time() + seconds
        received: list[dict[str, Any]] = []
        while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                received.append(await self.receive(remaining))
            except (TimeoutError, Closed):
                break
        return received

    async def wait_closed(self, timeout: float) -> int | None:
        """Read (and drop) messages until the server closes; the close code, or TimeoutError."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"socket still open after {timeout}s")
            try:
                await self.receive_raw(remaining)
            except Closed as closed:
                return closed.code

    @property
    def close_code(self) -> int | None:
        return self.connection.close_code

    @property
    def close_reason(self) -> str:
        return self.connection.close_reason or ""

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.connection.close()


def node_with_packages(package_dir: Path, installed: Path, purpose: str) -> str:
    """`node`, with package_dir's locked node_modules (`npm ci` the first time).

    Skips the calling test when node or npm is not on PATH; `installed` is a file that exists
    once the packages are in place.
    """
    import pytest

    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(f"node and npm are needed for {purpose} ({package_dir.name})")
    if not installed.is_file():
        install = subprocess.run(
            [npm, "ci", "--prefix", str(package_dir), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert install.returncode == 0, f"npm ci failed:\n{install.stdout}\n{install.stderr}"
    return node


def server_env(owner_url: str, app_password: str, redis_url: str, **settings: str) -> dict:
    """The settings a test server relies on, explicit (nothing inherited decides)."""
    from server.settings import DEVELOPMENT_JWT_SECRET

    return {
        "DATABASE_URL": owner_url,
        "APP_DB_PASSWORD": app_password,
        "APP_DATABASE_URL": "",
        "REDIS_URL": redis_url,
        "JWT_SECRET": DEVELOPMENT_JWT_SECRET,
        "CORS_ORIGINS": "",
        "ACCESS_TOKEN_TTL_SECONDS": "900",
        "LOGIN_MAX_FAILURES_PER_EMAIL": "1000",
        "LOGIN_MAX_FAILURES_PER_ADDRESS": "1000",
        **settings,
    }
