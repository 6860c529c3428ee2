"""Run the Alembic migrations as the database owner, then set the app role's password."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from persistence.database import APP_ROLE, async_url, create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(owner_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = async_url(owner_url)
    return config


def run_migrations(owner_url: str, app_password: str | None) -> None:
    """Upgrade to head; with a password, (re)set the application role's password."""
    command.upgrade(alembic_config(owner_url), "head")
    if app_password is not None:
        asyncio.run(_set_app_password(owner_url, app_password))


async def _set_app_password(owner_url: str, password: str) -> None:
    engine = create_engine(async_url(owner_url), pool_size=1)
    try:
        async with engine.begin() as conn:
            quoted = password.replace("'", "''")
            await conn.execute(text(f"ALTER ROLE {APP_ROLE} PASSWORD '{quoted}'"))
    finally:
        await engine.dispose()
