"""Row-level security checked from PostgreSQL's catalogs, so a new table without it fails."""

from __future__ import annotations

APP_ROLE = "reos_app"


def tenant_tables(db) -> list[str]:
    rows = db(
        """SELECT c.relname FROM pg_attribute a
           JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE a.attname = 'tenant_id' AND c.relkind IN ('r', 'p') AND n.nspname = 'public'
             AND NOT a.attisdropped ORDER BY 1"""
    )
    return [row[0] for row in rows]


def test_every_tenant_table_has_rls_enabled_and_forced(db) -> None:
    tables = tenant_tables(db)
    assert {"users", "properties", "property_media", "outbox"} <= set(tables)
    rows = db(
        """SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
           WHERE relname = ANY($1::text[])""",
        tables,
    )
    unprotected = [r[0] for r in rows if not (r[1] and r[2])]
    assert unprotected == []
    with_policies = {r[0] for r in db("SELECT DISTINCT tablename FROM pg_policies")}
    assert set(tables) <= with_policies


def test_app_role_owns_nothing_and_cannot_bypass_rls(db) -> None:
    role = db(
        "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = $1", APP_ROLE
    )
    assert [tuple(r) for r in role] == [(False, False, False)]
    owned = db(
        """SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
           WHERE r.rolname = $1""",
        APP_ROLE,
    )
    assert owned == []


def test_without_a_tenant_the_app_role_sees_no_rows(db) -> None:
    for table in ["tenants", *tenant_tables(db)]:
        assert db(f"SELECT count(*) FROM {table}")[0][0] >= 0
        assert db.app(f"SELECT count(*) FROM {table}")[0][0] == 0, table
    assert db("SELECT count(*) FROM properties")[0][0] >= 600


def test_a_tenant_setting_scopes_every_read(db) -> None:
    tenants = db("SELECT id FROM tenants ORDER BY name")
    counts = []
    for (tenant_id,) in tenants:
        rows = db.app(
            """WITH s AS (SELECT set_config('app.tenant_id', $1, false))
               SELECT count(*) FILTER (WHERE p.tenant_id <> $1::uuid), count(*)
               FROM s, properties p""",
            str(tenant_id),
        )
        foreign, total = rows[0]
        assert foreign == 0
        counts.append(total)
    assert all(count >= 300 for count in counts)


def test_the_app_role_cannot_write_into_another_tenant(db) -> None:
    tenants = [row[0] for row in db("SELECT id FROM tenants ORDER BY name")]
    mine, other = str(tenants[0]), str(tenants[1])
    try:
        db.app(
            """WITH s AS (SELECT set_config('app.tenant_id', $1, false))
               INSERT INTO properties (tenant_id, address_key, unparsed_address, city,
                                       state_or_province)
               SELECT $2::uuid, 'X|Y|Z', '1 X St', 'Y', 'Z' FROM s""",
            mine,
            other,
        )
    except Exception as exc:  # asyncpg raises InsufficientPrivilege for a policy violation
        assert "row-level security" in str(exc)
    else:
        raise AssertionError("insert into another tenant was allowed")


def test_uniqueness_is_always_per_tenant(db) -> None:
    """Every unique index on a tenant table starts with tenant_id: nothing is globally unique."""
    rows = db(
        """SELECT t.relname, i.relname, array_agg(a.attname ORDER BY k.ord)
           FROM pg_index x
           JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_class t ON t.oid = x.indrelid
           JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
           WHERE x.indisunique AND t.relname = ANY($1::text[])
           GROUP BY t.relname, i.relname""",
        tenant_tables(db),
    )
    assert rows
    global_unique = [(r[0], r[1]) for r in rows if r[2][0] != "tenant_id"]
    assert global_unique == []
