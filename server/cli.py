"""The `reos` command: serve, migrate, seed, worker, export-schema, search-reindex."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from typing import Any

from persistence.database import app_role_url
from persistence.embedded import start_embedded_postgres
from server.logging import configure_logging
from server.settings import Settings, SettingsError

logger = logging.getLogger("reos.cli")


def owner_database_url(settings: Settings) -> str:
    """DATABASE_URL, or the embedded server under DATA_DIR (started and reused)."""
    if settings.database_url:
        return settings.database_url
    logger.info("starting embedded PostgreSQL", extra={"data_dir": str(settings.data_dir)})
    return start_embedded_postgres(settings.data_dir)


def app_database_url(settings: Settings, owner_url: str) -> object:
    return settings.app_database_url or app_role_url(owner_url, settings.app_db_password)


def _app_password(settings: Settings) -> str | None:
    return None if settings.app_database_url else settings.app_db_password


def cmd_migrate(settings: Settings) -> str:
    from persistence.migrate import run_migrations

    owner = owner_database_url(settings)
    run_migrations(owner, _app_password(settings))
    logger.info("migrations applied")
    return owner


def cmd_seed(settings: Settings, owner: str | None = None) -> None:
    from persistence.seed import seed
    from server.auth import Passwords

    report = asyncio.run(seed(owner or owner_database_url(settings), Passwords().hash))
    logger.info(
        "seeded",
        extra={
            "tenants": report.tenants,
            "users": report.users,
            "properties": report.properties,
            "deals": report.deals,
        },
    )


def cmd_serve(settings: Settings, migrate: bool, seed_if_empty: bool) -> None:
    import uvicorn

    from server.app import create_app

    settings.check()
    owner = cmd_migrate(settings) if migrate else owner_database_url(settings)
    if seed_if_empty:
        cmd_seed(settings, owner)
    app = create_app(settings, app_database_url(settings, owner))
    # Everything loaded so far lives as long as the process: keep it out of the collector's
    # full passes, and collect the young generation less often (requests allocate in bursts).
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)
    print(banner(settings), file=sys.stderr, flush=True)
    # uvicorn re-raises SIGTERM after its graceful shutdown; exiting normally instead lets the
    # embedded PostgreSQL stop through its exit hook.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    # On SIGTERM uvicorn stops accepting, closes WebSockets with 1012 (service restart) so
    # clients reconnect elsewhere, and lets in-flight requests finish (for up to 30 s).
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=30,
    )


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def banner(settings: Settings) -> str:
    url = f"http://{settings.host}:{settings.port}/graphql"
    lines = [
        "",
        f"  Real Estate OS is serving {url}",
        "  GraphiQL: open that URL in a browser" if settings.graphiql_enabled else "",
        "  Demo login: demo@reos.dev / reos-demo (ADMIN); also analyst@, underwriter@, ops@,",
        "  viewer@reos.dev, and other@reos.dev in tenant Other Fund; all with password reos-demo",
        "",
    ]
    return "\n".join(line for line in lines if line is not None)


def cmd_worker(settings: Settings, migrate: bool) -> None:
    """Run the background consumers (extraction, alerts, relay) without serving HTTP."""
    from server.workers import run_workers

    owner = cmd_migrate(settings) if migrate else owner_database_url(settings)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_workers(settings, app_database_url(settings, owner)))


def cmd_search_reindex(settings: Settings) -> None:
    """Build a fresh Elasticsearch index from the database and move the alias to it."""
    from persistence.database import create_engine
    from persistence.search.elastic import SearchIndex, client_for, reindex

    if not settings.elasticsearch_url:
        print(
            "reos: ELASTICSEARCH_URL is not set; PostgreSQL search reads the live tables and "
            "needs no index",
            file=sys.stderr,
        )
        raise SystemExit(2)
    owner = owner_database_url(settings)

    async def run() -> None:
        engine = create_engine(app_database_url(settings, owner), pool_size=2)  # type: ignore[arg-type]
        client = client_for(settings.elasticsearch_url)  # type: ignore[arg-type]
        try:
            report = await reindex(engine, SearchIndex(client, settings.elasticsearch_index))
        finally:
            await client.close()
            await engine.dispose()
        print(
            f"{settings.elasticsearch_index} -> {report.index}: {report.documents} properties, "
            f"{report.caught_up} caught up, dropped {', '.join(report.dropped) or 'nothing'}"
        )

    asyncio.run(run())


def _partner_command(settings: Settings, tenant: str, work: Any) -> Any:
    """Run work(conn, tenant_id) in one transaction of the tenant (by id or name), as the
    database owner (the embedded server unless DATABASE_URL is set)."""
    from persistence.database import async_url, create_engine, transaction
    from persistence.persisted import find_tenant

    owner = owner_database_url(settings)

    async def run() -> Any:
        engine = create_engine(async_url(owner), pool_size=1)
        try:
            found = await find_tenant(engine, tenant)
            if len(found) != 1:
                problem = "no tenant" if not found else "several tenants"
                print(f"reos: {problem} with id or name {tenant!r}", file=sys.stderr)
                raise SystemExit(2)
            async with transaction(engine, found[0]) as conn:
                return await work(conn, found[0])
        finally:
            await engine.dispose()

    return asyncio.run(run())


def cmd_persisted_manifest_register(settings: Settings, tenant: str, name: str, path: str) -> None:
    """Register (or add to) a tenant's manifest of trusted documents from a JSON file."""
    import json

    from domain.api_keys import ManifestError, clean_name
    from persistence.persisted import upsert_manifest
    from resolvers.ids import to_global_id
    from resolvers.partner import read_manifest

    clean = clean_name(name)
    try:
        with open(path, encoding="utf-8") as file:
            manifest = read_manifest(json.load(file))
    except (OSError, ValueError, ManifestError) as exc:
        problems = exc.problems if isinstance(exc, ManifestError) else [str(exc)]
        print("reos: cannot register the manifest:", *problems, sep="\n  ", file=sys.stderr)
        raise SystemExit(2) from exc
    if clean is None:
        print("reos: --name must have 1 to 200 characters", file=sys.stderr)
        raise SystemExit(2)

    async def register(conn: Any, tenant_id: Any) -> Any:
        return await upsert_manifest(conn, tenant_id, clean, None, manifest.documents)

    registered, added = _partner_command(settings, tenant, register)
    print(
        f"manifest {registered.name!r} ({to_global_id('PersistedManifest', registered.id)}): "
        f"{registered.document_count} documents, {added} added"
    )


def cmd_partner_key_create(
    settings: Settings,
    tenant: str,
    name: str,
    role: str,
    manifest: str | None,
    allow_free_form: bool,
    acting_user: str | None,
) -> None:
    """Create a partner API key and print it (shown this once)."""
    from domain.api_keys import clean_name, hash_key, key_prefix, new_api_key
    from domain.permissions import Role
    from persistence.persisted import acting_admin, insert_key, manifest_by_name

    clean = clean_name(name)
    if clean is None:
        print("reos: --name must have 1 to 200 characters", file=sys.stderr)
        raise SystemExit(2)
    if manifest is None and not allow_free_form:
        print("reos: a persisted-only key needs --manifest (or --allow-free-form)", file=sys.stderr)
        raise SystemExit(2)
    raw_key = new_api_key()

    async def create(conn: Any, tenant_id: Any) -> Any:
        manifest_id = None
        if manifest is not None:
            found = await manifest_by_name(conn, tenant_id, manifest)
            if found is None:
                print(f"reos: no manifest named {manifest!r} in this tenant", file=sys.stderr)
                raise SystemExit(2)
            manifest_id = found.id
        creator = await acting_admin(conn, tenant_id, acting_user)
        if creator is None:
            print("reos: no active ADMIN to act as (see --acting-user)", file=sys.stderr)
            raise SystemExit(2)
        return await insert_key(
            conn,
            tenant_id=tenant_id,
            name=clean,
            role=Role(role),
            manifest_id=manifest_id,
            persisted_only=not allow_free_form,
            key_hash=hash_key(raw_key),
            prefix=key_prefix(raw_key),
            created_by=creator,
        )

    key = _partner_command(settings, tenant, create)
    print(
        f"created key {key.name!r} ({key.prefix}..., role {key.role.value}, "
        f"{'persisted-only' if key.persisted_only else 'free-form allowed'}); "
        "it is shown this once:",
        file=sys.stderr,
    )
    print(raw_key)


def cmd_export_schema() -> None:
    from schema.root import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")


def _roles() -> list[Any]:
    from domain.permissions import Role

    return list(Role)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="reos", description="Real Estate OS API server.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve /graphql (HOST, PORT from the environment)")
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    serve.add_argument("--seed-if-empty", action="store_true", help="seed the demo tenants first")
    commands.add_parser("migrate", help="apply database migrations as the owner")
    commands.add_parser("seed", help="create the demo tenants, users and properties")
    commands.add_parser("export-schema", help="print the GraphQL SDL")
    commands.add_parser(
        "search-reindex", help="rebuild the Elasticsearch index and swap its alias (no downtime)"
    )
    manifest_cmd = commands.add_parser(
        "persisted-manifest-register", help="register a tenant's trusted documents (JSON file)"
    )
    manifest_cmd.add_argument("--tenant", required=True, help="tenant id or name")
    manifest_cmd.add_argument("--name", required=True, help="manifest name (adds when it exists)")
    manifest_cmd.add_argument("--file", required=True, help="{sha256: document} or Apollo format")
    key_cmd = commands.add_parser("partner-key-create", help="create a partner API key")
    key_cmd.add_argument("--tenant", required=True, help="tenant id or name")
    key_cmd.add_argument("--name", required=True, help="who or what the key is for")
    key_cmd.add_argument("--role", default="VIEWER", choices=[r.value for r in _roles()])
    key_cmd.add_argument("--manifest", help="name of the manifest the key may run")
    key_cmd.add_argument(
        "--allow-free-form", action="store_true", help="also accept documents not in the manifest"
    )
    key_cmd.add_argument("--acting-user", help="e-mail of the ADMIN requests act as")
    worker = commands.add_parser("worker", help="run background consumers without HTTP")
    worker.add_argument("--migrate", action="store_true", help="apply migrations first")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
        settings.check()
    except SettingsError as exc:
        print(f"reos: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    configure_logging(settings.log_level)
    if args.command == "serve":
        cmd_serve(settings, args.migrate, args.seed_if_empty)
    elif args.command == "migrate":
        cmd_migrate(settings)
    elif args.command == "seed":
        cmd_seed(settings)
    elif args.command == "export-schema":
        cmd_export_schema()
    elif args.command == "search-reindex":
        cmd_search_reindex(settings)
    elif args.command == "worker":
        cmd_worker(settings, args.migrate)
    elif args.command == "persisted-manifest-register":
        cmd_persisted_manifest_register(settings, args.tenant, args.name, args.file)
    elif args.command == "partner-key-create":
        cmd_partner_key_create(
            settings,
            args.tenant,
            args.name,
            args.role,
            args.manifest,
            args.allow_free_form,
            args.acting_user,
        )
