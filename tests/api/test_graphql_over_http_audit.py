"""The GraphQL-over-HTTP spec audits of graphql-http (its `serverAudits`) against a live server.

tests/support/graphql_http_audit/audit.mjs (node) runs every audit against a real `reos serve`
and prints the results. Every MUST audit has to pass; the SHOULD audits that fail have to be
exactly EXPECTED_SHOULD_FAILURES, so a regression and an improvement both show up (for an
improvement, delete its entry). MAY audits are only printed. Run with -s to see the table.

The audits are anonymous requests such as `{ __typename }`; some use `__type(...)`, so the
server runs with REOS_ENV=test (introspection on). Every request carries the CSRF preflight
header `apollo-require-preflight: true`, as a browser client must (see audit.mjs).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import APP_PASSWORD
from tests.support.processes import ServerProcess, node_with_packages, server_env

AUDIT_DIR = Path(__file__).resolve().parents[1] / "support" / "graphql_http_audit"
AUDIT_PACKAGE = AUDIT_DIR / "node_modules" / "graphql-http" / "package.json"

# SHOULD audits the server fails, {id: the reason graphql-http gives}, for example
# "86EE": "Response status code is not 400". None today.
EXPECTED_SHOULD_FAILURES: dict[str, str] = {}


@pytest.fixture(scope="module")
def node() -> str:
    """node, with the audit's locked node_modules."""
    return node_with_packages(AUDIT_DIR, AUDIT_PACKAGE, "the graphql-http audit")


@pytest.fixture(scope="module")
def server(owner_url: str, redis_url: str) -> Iterator[ServerProcess]:
    """A real `reos serve` (every setting the audits rely on explicit)."""
    env = server_env(owner_url, APP_PASSWORD, redis_url, RUN_RELAY="false")
    with ServerProcess(env, name="graphql-http-audit", ready_timeout=60) as process:
        yield process


def _summary(result: dict[str, Any]) -> str:
    """One audit's id, name, reason, and the request and response it judged."""
    lines = [f"{result['id']} {result['name']}: {result['status']}: {result['reason']}"]
    request, response = result.get("request"), result.get("response")
    if request:
        lines.append(
            f"    sent {request['method']} {request['target']} "
            f"content-type={request['contentType']} accept={request['accept']} "
            f"body={request['body']!r}"
        )
    if response:
        lines.append(
            f"    got {response['status']} content-type={response['contentType']} "
            f"body={response['body']!r}"
        )
    return "\n".join(lines)


def _table(results: list[dict[str, Any]]) -> str:
    rows = [("id", "status", "http", "audit", "reason")]
    for result in results:
        response = result.get("response") or {}
        rows.append(
            (
                result["id"],
                result["status"],
                str(response.get("status", "-")),
                result["name"],
                result["reason"] or "",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        + f"  {row[4]}".rstrip()
        for row in rows
    )


@pytest.fixture(scope="module")
def audit_results(node: str, server: ServerProcess) -> list[dict[str, Any]]:
    """Every audit's {id, name, status, reason, request, response}, once per module."""
    run = subprocess.run(
        [node, str(AUDIT_DIR / "audit.mjs"), server.graphql_url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"audit.mjs failed ({run.returncode}):\n{run.stderr}"
    results: list[dict[str, Any]] = json.loads(run.stdout)
    counts = {
        status: sum(result["status"] == status for result in results)
        for status in ("ok", "error", "warn", "notice", "fatal")
    }
    print(f"\ngraphql-http server audits against {server.graphql_url}: {counts}")
    print(_table(results))
    crashed = [_summary(result) for result in results if result["status"] == "fatal"]
    assert not crashed, "audits that could not run:\n" + "\n".join(crashed) + server.log()
    return results


def test_every_must_audit_passes(audit_results: list[dict[str, Any]]) -> None:
    musts = [result for result in audit_results if result["name"].startswith("MUST")]
    assert musts, "graphql-http reported no MUST audit"
    failing = [_summary(result) for result in musts if result["status"] != "ok"]
    assert not failing, f"{len(failing)} MUST audit(s) failed:\n" + "\n".join(failing)


def test_failing_should_audits_are_the_expected_ones(
    audit_results: list[dict[str, Any]],
) -> None:
    shoulds = [result for result in audit_results if result["name"].startswith("SHOULD")]
    failing = {result["id"]: result for result in shoulds if result["status"] != "ok"}
    unexpected = [
        _summary(result)
        for audit_id, result in failing.items()
        if EXPECTED_SHOULD_FAILURES.get(audit_id) != result["reason"]
    ]
    fixed = sorted(set(EXPECTED_SHOULD_FAILURES) - set(failing))
    problems: list[str] = []
    if unexpected:
        problems.append("failing SHOULD audits not expected (or failing for another reason):")
        problems += unexpected
    if fixed:
        problems.append(f"expected to fail but passing now (delete from the expected): {fixed}")
    assert not problems, "\n".join(problems)
