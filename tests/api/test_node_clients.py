"""Standard GraphQL clients work unchanged: the real npm packages, run from Node, against a
live `reos serve`.

tests/support/node_clients holds the scripts and their locked node_modules (`npm ci` the
first time; the tests skip only when node or npm is not on PATH):

- apollo.mjs: Apollo Client 3 with createPersistedQueryLink (APQ) + HttpLink: login, a query
  run twice and a mutation over POST, then a query run twice with `useGETForHashedQueries`.
  It records every request the links send, so the tests check the APQ exchange itself: hash
  only -> PERSISTED_QUERY_NOT_FOUND -> hash with the text, then hash only -> served.
- graphql_ws.mjs (graphql-ws) and legacy.mjs (subscriptions-transport-ws): `timelineUpdated`
  with the token in `connectionParams`; each prints `READY` once its subscription is live (it
  replays one entry posted just before, through `since`), then the events it receives.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import APP_PASSWORD, DEMO_PASSWORD
from tests.support.processes import ServerProcess, node_with_packages, server_env
from tests.support.server_api import graphql, login, new_deal

CLIENTS_DIR = Path(__file__).resolve().parents[1] / "support" / "node_clients"
INSTALLED = CLIENTS_DIR / "node_modules" / ".package-lock.json"
DEMO = "demo@reos.dev"
SCRIPT_TIMEOUT = 20.0

COMMENT = """mutation($d: ID!, $b: String!) { timelineCommentAdd(dealId: $d, body: $b) {
  entry { id kind message cursor } errors { code } } }"""


@pytest.fixture(scope="module")
def node() -> str:
    """node, with the clients' locked node_modules."""
    return node_with_packages(CLIENTS_DIR, INSTALLED, "the client tests")


@pytest.fixture(scope="module")
def server(owner_url: str, redis_url: str) -> Iterator[ServerProcess]:
    """One real `reos serve` running the relay, so subscription events flow."""
    env = server_env(owner_url, APP_PASSWORD, redis_url, RUN_RELAY="true")
    with ServerProcess(env, name="node-clients", ready_timeout=60) as process:
        yield process


# ---------------------------------------------------------------- HTTP helpers


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    """The demo admin's access token, through the `login` mutation."""
    return login(server, DEMO, DEMO_PASSWORD)


def comment(server: ServerProcess, token: str, deal_id: str, body: str) -> dict[str, Any]:
    """Post a comment (it must succeed); its entry {id kind message cursor}."""
    payload = graphql(server, COMMENT, {"d": deal_id, "b": body}, token)["timelineCommentAdd"]
    assert payload["errors"] == [] and payload["entry"]["message"] == body, payload
    return payload["entry"]


# ---------------------------------------------------------------- node helpers


class NodeScript:
    """A node script whose stdout lines are read on a thread (to wait for one with a timeout)."""

    def __init__(self, node: str, script: str, *args: str) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [node, str(CLIENTS_DIR / script), *args],
            cwd=CLIENTS_DIR,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        stdout, stderr = self.process.stdout, self.process.stderr

        def read_stdout() -> None:
            for line in stdout:
                self.lines.put(line.rstrip("\n"))
            self.lines.put(None)

        threading.Thread(target=read_stdout, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(stderr), daemon=True).start()

    def line(self, timeout: float) -> str:
        """The next stdout line; fails (with stderr) on timeout or when the script exits."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            line = None
        if line is None:
            self.stop()
            pytest.fail(f"no output from the script (exit {self.process.poll()}):\n{self.err()}")
        return line

    def result(self, timeout: float) -> dict[str, Any]:
        """The JSON document the script prints last; it must exit 0."""
        line = self.line(timeout)
        code = self.process.wait(timeout)
        assert code == 0, f"exit {code}:\n{line}\n{self.err()}"
        return json.loads(line)

    def err(self) -> str:
        time.sleep(0.1)  # let the reader thread catch up
        return "".join(self.stderr)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(5)


@pytest.fixture
def scripts() -> Iterator[list[NodeScript]]:
    """The scripts a test starts, killed at its end if still running."""
    started: list[NodeScript] = []
    yield started
    for script in started:
        script.stop()


# ---------------------------------------------------------------- Apollo Client + APQ


def exchange(step: dict[str, Any]) -> list[tuple[str, str, int, list[str | None]]]:
    """Each request of a step as (method, 'hash' | 'hash+text' | 'text', status, error codes)."""
    shapes = []
    for request in step["requests"]:
        if request["hashOnly"]:
            shape = "hash"
        elif request["sha256Hash"]:
            shape = "hash+text"
        else:
            shape = "text"
        shapes.append((request["method"], shape, request["status"], request["errorCodes"]))
    return shapes


MISS = ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.fixture(scope="module")
def apollo(node: str, server: ServerProcess) -> dict[str, Any]:
    """apollo.mjs's output (one run for the module)."""
    started = time.monotonic()
    run = subprocess.run(
        [node, str(CLIENTS_DIR / "apollo.mjs"), server.graphql_url, DEMO, DEMO_PASSWORD],
        cwd=CLIENTS_DIR,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
    )
    assert run.returncode == 0, f"apollo.mjs exit {run.returncode}:\n{run.stdout}\n{run.stderr}"
    output = json.loads(run.stdout)
    output["seconds"] = time.monotonic() - started
    print(_requests_table(output))  # shown with -s
    return output


def _requests_table(output: dict[str, Any]) -> str:
    """What apollo.mjs's links sent, one request a line."""
    lines = [f"apollo.mjs ({output['seconds']:.1f}s), requests the links sent:"]
    for client in ("post", "get"):
        for name, step in output[client].items():
            for request in step["requests"]:
                lines.append(
                    f"  {client:<4} {name:<10} {request['method']:<4} "
                    f"{request['operationName']:<22} hash={str(request['sha256Hash'])[:12]} "
                    f"text={request['hasQuery']!s:<5} auth={request['authorization']!s:<5} "
                    f"content-type={request['contentType']} -> {request['status']} "
                    f"{request['errorCodes']}"
                )
    return "\n".join(lines)


def test_apollo_apq_misses_then_registers_then_hits_over_post(apollo: dict[str, Any]) -> None:
    post = apollo["post"]
    # Every new document: the hash alone, PERSISTED_QUERY_NOT_FOUND, then the hash with the
    # text (which registers it). The second run of the query is served by its hash alone.
    for name in ("login", "query", "mutation"):
        assert exchange(post[name]) == [
            ("POST", "hash", 200, MISS),
            ("POST", "hash+text", 200, []),
        ], (name, post[name]["requests"])
    assert exchange(post["queryAgain"]) == [("POST", "hash", 200, [])], post["queryAgain"]
    hashes = {name: {r["sha256Hash"] for r in post[name]["requests"]} for name in post}
    assert hashes["query"] == hashes["queryAgain"] and len(hashes["query"]) == 1
    assert len(set.union(*hashes.values())) == 3  # login, query, mutation
    # The login is anonymous; everything after carries the token.
    assert [r["authorization"] for r in post["login"]["requests"]] == [False, False]
    for name in ("query", "queryAgain", "mutation"):
        assert all(r["authorization"] for r in post[name]["requests"]), post[name]


def test_apollo_login_query_and_mutation_results(apollo: dict[str, Any]) -> None:
    post = apollo["post"]
    login = post["login"]["result"]["login"]
    assert login["errors"] == [] and login["user"]["email"] == DEMO and apollo["token"]
    query = post["query"]["result"]
    assert query["me"]["email"] == DEMO
    deals = query["deals"]
    assert deals["totalCount"] >= 1 and 1 <= len(deals["edges"]) <= 5, deals
    assert deals["pageInfo"]["hasNextPage"] == (deals["totalCount"] > len(deals["edges"]))
    assert all(edge["node"]["id"] and edge["cursor"] for edge in deals["edges"])
    assert post["queryAgain"]["result"] == query  # served by hash: the same answer
    added = post["mutation"]["result"]["timelineCommentAdd"]
    assert added["errors"] == [], added
    assert added["entry"]["kind"] == "COMMENT"
    assert added["entry"]["message"] == f"apollo comment {apollo['nonce']}"


def test_apollo_get_for_hashed_queries(apollo: dict[str, Any], server: ServerProcess) -> None:
    get = apollo["get"]
    # The hash alone goes by GET; on a miss the link sends the text by POST; the next run of
    # the query is a GET served by its hash.
    assert exchange(get["query"]) == [("GET", "hash", 200, MISS), ("POST", "hash+text", 200, [])]
    assert exchange(get["queryAgain"]) == [("GET", "hash", 200, [])]
    assert all(r["authorization"] for r in get["query"]["requests"] + get["queryAgain"]["requests"])
    assert get["queryAgain"]["result"] == get["query"]["result"]
    assert get["query"]["result"]["me"]["email"] == DEMO
    assert get["query"]["result"]["deals"]["totalCount"] >= 1
    assert apollo["seconds"] < SCRIPT_TIMEOUT


# ---------------------------------------------------------------- subscriptions


def subscription_round_trip(
    node: str, server: ServerProcess, token: str, scripts: list[NodeScript], script: str
) -> None:
    """Start the script on a new deal, wait for READY, post 2 comments over HTTP, and check the
    script received exactly those 2, in order."""
    started = time.monotonic()
    deal_id = new_deal(server, token)
    anchor = comment(server, token, deal_id, f"anchor {uuid.uuid4().hex[:6]}")
    marker = comment(server, token, deal_id, f"ready {uuid.uuid4().hex[:6]}")
    client = NodeScript(
        node, script, server.ws_url, token, deal_id, anchor["cursor"], "2", str(SCRIPT_TIMEOUT)
    )
    scripts.append(client)
    ready = client.line(SCRIPT_TIMEOUT)
    assert ready.startswith("READY "), f"{ready}\n{client.err()}"
    assert json.loads(ready.removeprefix("READY "))["message"] == marker["message"]

    posted = [
        comment(server, token, deal_id, f"{script} {n} {uuid.uuid4().hex[:6]}") for n in (1, 2)
    ]

    result = client.result(SCRIPT_TIMEOUT)
    assert result["ready"]["id"] == marker["id"]
    assert [(e["id"], e["kind"], e["message"]) for e in result["events"]] == [
        (p["id"], p["kind"], p["message"]) for p in posted
    ]
    assert [e["cursor"] for e in result["events"]] == [p["cursor"] for p in posted]
    assert all(e["actor"]["email"] == DEMO and e["createdAt"] for e in result["events"])
    assert time.monotonic() - started < SCRIPT_TIMEOUT


def test_graphql_ws_client_receives_the_comments(
    node: str, server: ServerProcess, token: str, scripts: list[NodeScript]
) -> None:
    subscription_round_trip(node, server, token, scripts, "graphql_ws.mjs")


def test_subscriptions_transport_ws_client_receives_the_comments(
    node: str, server: ServerProcess, token: str, scripts: list[NodeScript]
) -> None:
    subscription_round_trip(node, server, token, scripts, "legacy.mjs")
