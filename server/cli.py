"""The `reos` command: serve, migrate, seed, worker, export-schema, search-reindex."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

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


def cmd_export_schema() -> None:
    from schema.root import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")


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
