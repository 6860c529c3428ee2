"""Shared steps of our migrations: running SQL scripts and protecting tenant tables."""

from __future__ import annotations

import re
from collections.abc import Iterable

from alembic import op

APP_ROLE = "reos_app"


def run_script(script: str) -> None:
    """Run a multi-statement SQL script (asyncpg takes one statement per call)."""
    for statement in re.split(r";\s*\n", script):
        if statement.strip():
            op.execute(statement.strip())


def protect_tenant_tables(tables: Iterable[str]) -> None:
    """FORCE row-level security on tenant_id and grant the app role row access."""
    for table in tables:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            "USING (tenant_id = app_current_tenant()) "
            "WITH CHECK (tenant_id = app_current_tenant())"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
