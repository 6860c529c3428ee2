"""Benchmark of the saved-search matcher (PropertyMatchConsumer) on a real PostgreSQL.

What it measures
    Property events per second through the matcher exactly as it runs in production: one
    outbox-consumer pass per batch (read the events, check the tenant's saved-search version,
    read the properties and their valuations, match in Python through the index, INSERT the
    alerts and their `alert.matched` events and deliveries), committed. Scenarios:

    * ``10k-searches/1-event``  - one new property at a time (batch of 1) against 10,000 saved
      searches of one tenant: the latency of a single intake's matching.
    * ``10k-searches/batch``    - 1,000 new properties against the same 10,000 searches, in
      the consumer's normal batches of 100.
    * ``100-searches/10k``      - 10,000 intakes against a tenant with 100 saved searches.

    Buy boxes are drawn like real ones: a city (50 %), 1-4 postal codes (25 %), a 1-10 mile
    radius (23 %) or anywhere (2 %); a price window of $25k-$200k (half with no minimum);
    bedrooms and types sometimes. Matches/event is how many alerts one property raised.

    SQL/batch is the number of statements per consumer pass (it does not grow with the number
    of searches or matches, apart from one INSERT per 1,000 alerts). "cold" is the first pass,
    which loads and compiles the tenant's searches; later passes reuse the in-process cache.

    The data is written straight into the database (owner connection): tenants, users, saved
    searches with random criteria over three metros (cities, postal codes, radii, price windows,
    bedrooms, types), properties, and their `property.created` outbox rows marked published.

How to run
    .venv/bin/python bench/bench_matcher.py [--events 1000] [--intakes 10000] [--seed 1]

    It starts its own embedded PostgreSQL in a temporary directory (deleted at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from domain.saved_search import Criteria, GeoCircle, criteria_to_json  # noqa: E402
from persistence.database import app_role_url, create_engine  # noqa: E402
from persistence.embedded import start_embedded_postgres  # noqa: E402
from persistence.migrate import run_migrations  # noqa: E402
from server.alert_consumer import PropertyMatchConsumer  # noqa: E402

APP_PASSWORD = "bench-app"
METROS = {
    "Austin": ("TX", 30.2672, -97.7431, [f"787{n:02d}" for n in range(1, 40)]),
    "Phoenix": ("AZ", 33.4484, -112.0740, [f"850{n:02d}" for n in range(1, 40)]),
    "Columbus": ("OH", 39.9612, -82.9988, [f"432{n:02d}" for n in range(1, 40)]),
}


def random_criteria(rng: random.Random) -> Criteria:
    city = rng.choice(list(METROS))
    _, lat, lon, zips = METROS[city]
    kind = rng.random()
    area: dict[str, Any] = {}
    if kind < 0.5:
        area["cities"] = (city,) if rng.random() < 0.8 else tuple(rng.sample(list(METROS), 2))
    elif kind < 0.75:
        area["postal_codes"] = tuple(rng.sample(zips, rng.randint(1, 4)))
    elif kind < 0.98:
        area["near"] = GeoCircle(
            lat + rng.uniform(-0.1, 0.1), lon + rng.uniform(-0.1, 0.1), rng.uniform(1, 10)
        )
    # else: no area at all (2 %): anywhere in the tenant's market
    low = rng.choice([None, rng.randrange(100, 700) * 1000])
    high = (low or 50_000) + rng.randrange(25, 200) * 1000
    return Criteria(
        **area,
        property_types=("Residential",) if rng.random() < 0.3 else (),
        min_price=None if low is None else Decimal(low),
        max_price=Decimal(high),
        min_bedrooms=rng.choice([None, 2, 3, 4]),
    )


def random_property(rng: random.Random, tenant: uuid.UUID, n: int) -> tuple[Any, ...]:
    city = rng.choice(list(METROS))
    state, lat, lon, zips = METROS[city][0], *METROS[city][1:]
    street = f"{rng.randint(1, 9999)} BENCH {n} ST"
    return (
        uuid.uuid4(),
        tenant,
        f"{street}|{city}|{state}".upper(),
        f"{street}, {city}, {state}",
        city,
        state,
        rng.choice(zips),
        lat + rng.uniform(-0.2, 0.2),
        lon + rng.uniform(-0.2, 0.2),
        "Residential" if rng.random() < 0.85 else "Residential Income",
        "Active",
        Decimal(rng.randrange(100, 900) * 1000),
        rng.randint(1, 5),
        rng.randint(1, 3),
    )


async def make_tenant(
    conn: asyncpg.Connection, rng: random.Random, name: str, searches: int, owners: int
) -> uuid.UUID:
    tenant = uuid.uuid4()
    await conn.execute("INSERT INTO tenants (id, name) VALUES ($1, $2)", tenant, name)
    users = [uuid.uuid4() for _ in range(owners)]
    await conn.executemany(
        "INSERT INTO users (id, tenant_id, email, name, role, password_hash)"
        " VALUES ($1, $2, $3, $4, 'ANALYST', 'x')",
        [(u, tenant, f"u{i}@{name.lower()}.bench", f"User {i}") for i, u in enumerate(users)],
    )
    rows = []
    for _ in range(searches):
        channels = ["IN_APP", "EMAIL"] if rng.random() < 0.1 else ["IN_APP"]
        criteria = json.dumps(criteria_to_json(random_criteria(rng)))
        rows.append((uuid.uuid4(), tenant, rng.choice(users), "Bench box", criteria, channels))
    await conn.executemany(
        "INSERT INTO saved_searches (id, tenant_id, user_id, name, criteria, channels)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
        rows,
    )
    await conn.execute(
        "INSERT INTO saved_search_versions (tenant_id, version) VALUES ($1, 1)", tenant
    )
    return tenant


async def add_properties(
    conn: asyncpg.Connection, rng: random.Random, tenant: uuid.UUID, count: int, start: int
) -> None:
    """Properties and their published property.created events."""
    rows = [random_property(rng, tenant, start + n) for n in range(count)]
    await conn.executemany(
        "INSERT INTO properties (id, tenant_id, address_key, unparsed_address, city,"
        " state_or_province, postal_code, latitude, longitude, property_type, standard_status,"
        " list_price, bedrooms_total, bathrooms_total_integer)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        rows,
    )
    events = [
        (
            uuid.uuid4(),
            tenant,
            row[0],
            json.dumps({"property_id": str(row[0]), "city": row[4], "list_price": str(row[11])}),
        )
        for row in rows
    ]
    await conn.executemany(
        "INSERT INTO outbox (event_id, tenant_id, event_type, aggregate_type, aggregate_id,"
        " payload, published_at, published_seq) VALUES ($1, $2, 'property.created', 'property',"
        " $3, $4::jsonb, now(), nextval('outbox_published_seq'))",
        events,
    )


@dataclass
class Result:
    scenario: str
    searches: int
    events: int
    alerts: int
    seconds: float
    passes: int
    statements: int
    cold_ms: float
    pass_ms: list[float]


async def consume(
    consumer: PropertyMatchConsumer, engine: Any, scenario: str, searches: int
) -> Result:
    counter = {"n": 0}

    def count(*_: Any) -> None:
        counter["n"] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    timings: list[float] = []
    events = 0
    alerts_before = consumer.alerted
    started = time.perf_counter()
    try:
        while True:
            t0 = time.perf_counter()
            read = await consumer.run_once()
            if not read:
                break
            timings.append((time.perf_counter() - t0) * 1000)
            events += read
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    elapsed = time.perf_counter() - started
    return Result(
        scenario,
        searches,
        events,
        consumer.alerted - alerts_before,
        elapsed,
        len(timings),
        counter["n"],
        timings[0] if timings else 0.0,
        timings[1:] or timings,
    )


async def position_at_end(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute(
        "INSERT INTO outbox_consumers (name, position) SELECT $1,"
        " coalesce(max(published_seq), 0) FROM outbox"
        " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        name,
    )


async def main(args: argparse.Namespace, owner_url: str) -> None:
    rng = random.Random(args.seed)
    engine = create_engine(app_role_url(owner_url, APP_PASSWORD), pool_size=4)
    owner = await asyncpg.connect(owner_url)
    results: list[Result] = []
    try:
        big = await make_tenant(owner, rng, "Big", 10_000, 200)
        small = await make_tenant(owner, rng, "Small", 100, 20)

        single = PropertyMatchConsumer(engine, batch=1)
        single.name = "bench-single"
        await position_at_end(owner, single.name)
        await add_properties(owner, rng, big, args.single, 0)
        results.append(await consume(single, engine, "10k-searches/1-event", 10_000))

        batched = PropertyMatchConsumer(engine)
        batched.name = "bench-batched"
        await position_at_end(owner, batched.name)
        await add_properties(owner, rng, big, args.events, 100_000)
        results.append(await consume(batched, engine, "10k-searches/batch", 10_000))

        intakes = PropertyMatchConsumer(engine)
        intakes.name = "bench-intakes"
        await position_at_end(owner, intakes.name)
        await add_properties(owner, rng, small, args.intakes, 200_000)
        results.append(await consume(intakes, engine, "100-searches/10k", 100))
    finally:
        await owner.close()
        await engine.dispose()
    print_table(results)


def print_table(results: list[Result]) -> None:
    header = (
        f"{'scenario':<22} {'searches':>8} {'events':>7} {'alerts':>8} {'seconds':>8} "
        f"{'events/s':>9} {'matches/event':>13} {'pass p50 ms':>11} {'cold ms':>8} "
        f"{'SQL/pass':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        p50 = statistics.median(r.pass_ms) if r.pass_ms else 0.0
        print(
            f"{r.scenario:<22} {r.searches:>8} {r.events:>7} {r.alerts:>8} {r.seconds:>8.2f} "
            f"{r.events / r.seconds:>9.0f} {r.alerts / max(r.events, 1):>13.1f} {p50:>11.1f} "
            f"{r.cold_ms:>8.1f} {r.statements / max(r.passes, 1):>8.1f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--single", type=int, default=50, help="events for the 1-event scenario")
    parser.add_argument("--events", type=int, default=1000, help="events against 10k searches")
    parser.add_argument("--intakes", type=int, default=10_000, help="events against 100 searches")
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="reos-bench-matcher-"))
    url = start_embedded_postgres(data_dir, database="bench", cleanup_mode="delete")
    run_migrations(url, APP_PASSWORD)
    asyncio.run(main(arguments, url))
