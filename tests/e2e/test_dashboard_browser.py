"""The live deal dashboard (/dashboard) in a real Chromium against a real `reos serve`.

tests/support/browser/dashboard.mjs (node, playwright-core driving Debian's /usr/bin/chromium)
does the clicking; this module starts the server (the session's PostgreSQL and Redis, the
outbox relay and the alert consumer running), prepares a deal with a rehab project and open
bids through the GraphQL API, runs the script and reports its timings and screenshots
(test-output/dashboard/). Set UPDATE_SCREENSHOT=1 to also refresh docs/dashboard.png.

Skips only when node, npm or /usr/bin/chromium is missing; the locked node_modules are
installed with `npm ci` the first time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import APP_PASSWORD, DEMO_PASSWORD
from tests.support.processes import REPO_ROOT, ServerProcess, node_with_packages, server_env

BROWSER_DIR = REPO_ROOT / "tests" / "support" / "browser"
SCRIPT = BROWSER_DIR / "dashboard.mjs"
PLAYWRIGHT_PACKAGE = BROWSER_DIR / "node_modules" / "playwright-core" / "package.json"
CHROMIUM = Path("/usr/bin/chromium")
OUTPUT_DIR = REPO_ROOT / "test-output" / "dashboard"
DOCS_SCREENSHOT = REPO_ROOT / "docs" / "dashboard.png"

ADMIN = "demo@reos.dev"
ANALYST = "analyst@reos.dev"
OPS = "ops@reos.dev"

LOGIN = """mutation($e: String!, $p: String!) {
  login(email: $e, password: $p) { accessToken user { id } errors { message } } }"""
UNDER_CONTRACT = """query { deals(filter: {status: [UNDER_CONTRACT]}, first: 100) {
  edges { node { id name constructionProjects { id } team { user { id } } } } } }"""
PROPERTY_CREATE = """mutation($input: PropertyInput!) {
  propertyCreate(input: $input) { property { id } errors { message } } }"""
DEAL_CREATE = """mutation($input: DealCreateInput!) {
  dealCreate(input: $input) { deal { id name } errors { message } } }"""
MEMBER_SET = """mutation($d: ID!, $u: ID!) {
  dealMemberSet(dealId: $d, userId: $u, role: PROJECT_MANAGER) { errors { message } } }"""
PROJECT_CREATE = """mutation($input: ConstructionProjectInput!) {
  constructionProjectCreate(input: $input) { project { id } errors { message } } }"""
CONTRACTOR_CREATE = """mutation($input: ContractorInput!) {
  contractorCreate(input: $input) { contractor { id } errors { code message } } }"""
CONTRACTORS = """query { contractors(first: 100) { edges { node { id name } } } }"""
BID_SUBMIT = """mutation($p: ID!, $input: BidInput!) {
  bidSubmit(projectId: $p, input: $input) { bid { id } errors { message } } }"""

CONTRACTOR_LIST = [
    ("Sunbelt Builders", "GENERAL"),
    ("Desert Sky Roofing", "ROOFING"),
    ("Copper State Plumbing", "PLUMBING"),
]


class Api:
    """GraphQL over HTTP against the server, as whoever's token is given."""

    def __init__(self, server: ServerProcess) -> None:
        self.url = server.graphql_url
        self.tokens: dict[str, tuple[str, str]] = {}

    def __call__(self, query: str, variables: dict[str, Any], email: str | None) -> Any:
        headers = {"Authorization": f"Bearer {self.token(email)}"} if email else {}
        response = httpx.post(
            self.url, json={"query": query, "variables": variables}, headers=headers, timeout=15
        )
        body = response.json()
        assert response.status_code == 200 and not body.get("errors"), body
        return body["data"]

    def token(self, email: str) -> str:
        return self.login(email)[0]

    def user_id(self, email: str) -> str:
        return self.login(email)[1]

    def login(self, email: str) -> tuple[str, str]:
        if email not in self.tokens:
            login = self(LOGIN, {"e": email, "p": DEMO_PASSWORD}, None)["login"]
            assert login["accessToken"], login
            self.tokens[email] = (login["accessToken"], login["user"]["id"])
        return self.tokens[email]


def ok(payload: dict[str, Any], field: str) -> Any:
    assert payload["errors"] == [], payload
    return payload[field]


@pytest.fixture(scope="module")
def node() -> str:
    """node, with the locked playwright-core installed; skips without node, npm or Chromium."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is needed for the browser test")
    return node_with_packages(BROWSER_DIR, PLAYWRIGHT_PACKAGE, "the browser test")


@pytest.fixture(scope="module")
def server(owner_url: str, redis_url: str) -> Iterator[ServerProcess]:
    """`reos serve` with the relay (subscriptions) and workers (BID_RECEIVED alerts) on."""
    env = server_env(owner_url, APP_PASSWORD, redis_url, RUN_RELAY="true", RUN_WORKERS="true")
    with ServerProcess(env, name="dashboard", ready_timeout=60) as process:
        yield process


def deal_to_show(api: Api) -> dict[str, str]:
    """A seeded deal under contract with no rehab project yet (a new one if none is left),
    with the admin on its team (so bids on it alert them)."""
    admin_id = api.user_id(ADMIN)
    deals = [edge["node"] for edge in api(UNDER_CONTRACT, {}, ADMIN)["deals"]["edges"]]
    deal = next((d for d in deals if not d["constructionProjects"]), None)
    if deal is None:
        address = {
            "streetNumber": "7",
            "streetName": f"E2e {uuid.uuid4().hex[:8]} Street",
            "city": "Austin",
            "stateOrProvince": "TX",
            "postalCode": "78701",
        }
        fields = {"address": address, "propertyType": "RESIDENTIAL", "listPrice": "300000"}
        prop = ok(api(PROPERTY_CREATE, {"input": fields}, ADMIN)["propertyCreate"], "property")
        created = api(DEAL_CREATE, {"input": {"propertyId": prop["id"], "strategy": "FLIP"}}, ADMIN)
        deal = {**ok(created["dealCreate"], "deal"), "team": []}
    if admin_id not in {m["user"]["id"] for m in deal["team"] if m.get("user")}:
        member = api(MEMBER_SET, {"d": deal["id"], "u": admin_id}, ADMIN)["dealMemberSet"]
        assert member["errors"] == [], member
    return {"id": deal["id"], "name": deal["name"]}


def contractor_ids(api: Api) -> dict[str, str]:
    """The demo contractors (created once per database), by name."""
    insured = (date.today() + timedelta(days=365)).isoformat()
    for name, trade in CONTRACTOR_LIST:
        fields = {"name": name, "trade": trade, "insuranceExpiresOn": insured, "rating": "4.6"}
        payload = api(CONTRACTOR_CREATE, {"input": fields}, ADMIN)["contractorCreate"]
        assert payload["errors"] == [] or payload["errors"][0]["code"] == "CONFLICT", payload
    found = api(CONTRACTORS, {}, ADMIN)["contractors"]["edges"]
    return {edge["node"]["name"]: edge["node"]["id"] for edge in found}


def prepare(api: Api) -> dict[str, Any]:
    """The deal, its new rehab project, and two open bids (entered by ops)."""
    deal = deal_to_show(api)
    project_input = {
        "dealId": deal["id"],
        "name": "Kitchen, baths & roof",
        "budget": "84000",
        "scope": "Full interior refresh and a new roof",
    }
    created = api(PROJECT_CREATE, {"input": project_input}, ADMIN)["constructionProjectCreate"]
    project = ok(created, "project")
    contractors = contractor_ids(api)
    bids = {}
    for name, amount, scope in [
        ("Sunbelt Builders", "58500", "Kitchen and two baths, flooring, paint"),
        ("Desert Sky Roofing", "21900", "Tear-off and re-roof, 28 squares"),
    ]:
        bid_input = {"contractorId": contractors[name], "amount": amount, "scope": scope}
        payload = api(BID_SUBMIT, {"p": project["id"], "input": bid_input}, OPS)["bidSubmit"]
        bids[name] = ok(payload, "bid")["id"]
    live_bid = {
        "contractorName": "Copper State Plumbing",
        "input": {
            "contractorId": contractors["Copper State Plumbing"],
            "amount": "12400",
            "scope": "Repipe in PEX, new water heater",
        },
    }
    return {
        "deal": deal,
        "project": project,
        "awardBidId": bids["Sunbelt Builders"],
        "liveBid": live_bid,
    }


def test_dashboard_is_served_with_its_assets_and_no_cdn(client: TestClient) -> None:
    """/dashboard is one static page under the pages' CSP; every asset it names is ours."""
    page = client.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self' ws: wss:" in policy
    assert client.get("/dashboard/").text == page.text
    assets = re.findall(r'(?:src|href)="(/dashboard/[^"]+)"', page.text)
    assert "/dashboard/app.js" in assets and "/dashboard/dashboard.css" in assets
    sources = [page.text]
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        sources.append(response.text)
    modules = re.findall(r"from '\./([\w.]+)'", client.get("/dashboard/app.js").text)
    assert modules, "app.js imports its modules"
    for module in modules:
        response = client.get(f"/dashboard/{module}")
        assert response.status_code == 200, module
        assert response.headers["content-type"].startswith("text/javascript"), module
        sources.append(response.text)
    for source in sources:
        assert not re.search(r"https?://(?!127\.0\.0\.1)", source)  # nothing from elsewhere
        assert "innerHTML" not in source  # data goes in as text


def test_dashboard_in_a_real_browser(node: str, server: ServerProcess) -> None:
    """Sign in, open a deal, a comment from another user within 1 s, a bid and an alert
    arriving live, an award, a network drop with "Reconnecting…" and the comment made during
    it arriving once after reconnection, a token refresh, and logout (see dashboard.mjs)."""
    api = Api(server)
    setup_started = time.monotonic()
    scenario = prepare(api)
    setup_seconds = time.monotonic() - setup_started
    update_docs = os.environ.get("UPDATE_SCREENSHOT") == "1"
    config = {
        **scenario,
        "baseUrl": server.url,
        "chromium": str(CHROMIUM),
        "password": DEMO_PASSWORD,
        "users": {"admin": ADMIN, "analyst": ANALYST, "ops": OPS},
        "outputDir": str(OUTPUT_DIR),
        "docsScreenshot": str(DOCS_SCREENSHOT) if update_docs else None,
    }
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    for old in OUTPUT_DIR.glob("*.png"):
        old.unlink()
    run = subprocess.run(
        [node, str(SCRIPT), json.dumps(config)],
        cwd=BROWSER_DIR,
        capture_output=True,
        text=True,
        timeout=180,
    )
    print(f"\n--- dashboard.mjs (setup through the API took {setup_seconds:.1f} s) ---")
    print(run.stdout)
    if run.returncode != 0:
        print(f"--- server log ({server.log_path}) ---\n{server.log(80)}")
    assert run.returncode == 0, f"dashboard.mjs failed:\n{run.stderr}"
    result_line = next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))
    result = json.loads(result_line.removeprefix("RESULT "))
    timings = result["timings"]
    assert timings["commentToOtherBrowserMs"] <= 1000, timings
    for shot in result["screenshots"]:
        assert Path(shot).is_file(), shot
    if update_docs:
        assert DOCS_SCREENSHOT.is_file()
        print(f"updated {DOCS_SCREENSHOT}")
