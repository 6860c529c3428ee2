"""Settings read from environment variables (documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from schema.limits import QueryLimits

DEVELOPMENT_JWT_SECRET = "reos-development-secret-do-not-use-in-production"


class SettingsError(RuntimeError):
    """The configuration cannot be used as given."""


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() not in ("0", "false", "no", "off")


def _list(env: dict[str, str], name: str, default: list[str]) -> list[str]:
    raw = env.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".data")
    database_url: str | None = None
    app_database_url: str | None = None
    app_db_password: str = "reos-app-dev"
    redis_url: str | None = None
    jwt_secret: str = DEVELOPMENT_JWT_SECRET
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_days: int = 30
    cors_origins: list[str] = field(default_factory=list)
    log_level: str = "INFO"
    login_max_failures_per_email: int = 5
    login_max_failures_per_address: int = 20
    login_failure_window_seconds: int = 900
    db_pool_size: int = 10
    run_workers: bool = True
    run_relay: bool = True
    ws_max_subscriptions_per_connection: int = 20
    ws_max_connections_per_user: int = 10
    ws_ping_seconds: float = 15.0
    ws_recheck_seconds: float = 60.0
    query_max_depth: int = 10
    query_max_aliases: int = 15
    query_max_tokens: int = 2_000
    query_max_root_fields: int = 20
    query_max_first: int = 100
    query_max_cost: int = 50_000
    max_request_bytes: int = 1_048_576
    batching_enabled: bool = False
    batch_max_operations: int = 10
    request_timeout_seconds: float = 30.0
    field_timeout_seconds: float = 10.0
    apq_ttl_seconds: int = 7 * 24 * 3600
    apq_max_entries: int = 10_000
    rate_limit_enabled: bool = True
    rate_limit_window_seconds: int = 60
    rate_limit_user_cost: int = 300_000
    rate_limit_api_key_cost: int = 600_000
    rate_limit_address_cost: int = 600_000
    idempotency_ttl_seconds: int = 24 * 3600
    otel_endpoint: str | None = None
    otel_service_name: str = "reos"
    compiled_execution: bool = True
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    max_upload_bytes: int = 25 * 1024 * 1024
    smtp_url: str | None = None
    smtp_from: str = "Real Estate OS <alerts@reos.dev>"
    digest_hour_utc: int = 12
    webhook_timeout_seconds: float = 10.0
    elasticsearch_url: str | None = None
    elasticsearch_index: str = "reos-properties"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def query_limits(self) -> QueryLimits:
        return QueryLimits(
            max_depth=self.query_max_depth,
            max_aliases=self.query_max_aliases,
            max_tokens=self.query_max_tokens,
            max_root_fields=self.query_max_root_fields,
            max_first=self.query_max_first,
            max_cost=self.query_max_cost,
        )

    @property
    def graphiql_enabled(self) -> bool:
        return not self.is_production

    @property
    def introspection_enabled(self) -> bool:
        return not self.is_production

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            env=env.get("REOS_ENV", "development"),
            host=env.get("HOST", "127.0.0.1"),
            port=_int(env, "PORT", 8000),
            data_dir=Path(env.get("DATA_DIR") or ".data"),
            database_url=env.get("DATABASE_URL") or None,
            app_database_url=env.get("APP_DATABASE_URL") or None,
            app_db_password=env.get("APP_DB_PASSWORD", "reos-app-dev"),
            redis_url=env.get("REDIS_URL") or None,
            jwt_secret=env.get("JWT_SECRET") or DEVELOPMENT_JWT_SECRET,
            access_token_ttl_seconds=_int(env, "ACCESS_TOKEN_TTL_SECONDS", 900),
            refresh_token_ttl_days=_int(env, "REFRESH_TOKEN_TTL_DAYS", 30),
            cors_origins=_list(env, "CORS_ORIGINS", []),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            login_max_failures_per_email=_int(env, "LOGIN_MAX_FAILURES_PER_EMAIL", 5),
            login_max_failures_per_address=_int(env, "LOGIN_MAX_FAILURES_PER_ADDRESS", 20),
            login_failure_window_seconds=_int(env, "LOGIN_FAILURE_WINDOW_SECONDS", 900),
            db_pool_size=_int(env, "DB_POOL_SIZE", 10),
            run_workers=_bool(env, "RUN_WORKERS", True),
            run_relay=_bool(env, "RUN_RELAY", True),
            ws_max_subscriptions_per_connection=_int(
                env, "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION", 20
            ),
            ws_max_connections_per_user=_int(env, "WS_MAX_CONNECTIONS_PER_USER", 10),
            ws_ping_seconds=_float(env, "WS_PING_SECONDS", 15.0),
            ws_recheck_seconds=_float(env, "WS_RECHECK_SECONDS", 60.0),
            query_max_depth=_int(env, "QUERY_MAX_DEPTH", 10),
            query_max_aliases=_int(env, "QUERY_MAX_ALIASES", 15),
            query_max_tokens=_int(env, "QUERY_MAX_TOKENS", 2_000),
            query_max_root_fields=_int(env, "QUERY_MAX_ROOT_FIELDS", 20),
            query_max_first=_int(env, "QUERY_MAX_FIRST", 100),
            query_max_cost=_int(env, "QUERY_MAX_COST", 50_000),
            max_request_bytes=_int(env, "MAX_REQUEST_BYTES", 1_048_576),
            batching_enabled=_bool(env, "BATCHING_ENABLED", False),
            batch_max_operations=_int(env, "BATCH_MAX_OPERATIONS", 10),
            request_timeout_seconds=_float(env, "REQUEST_TIMEOUT_SECONDS", 30.0),
            field_timeout_seconds=_float(env, "FIELD_TIMEOUT_SECONDS", 10.0),
            apq_ttl_seconds=_int(env, "APQ_TTL_SECONDS", 7 * 24 * 3600),
            apq_max_entries=_int(env, "APQ_MAX_ENTRIES", 10_000),
            rate_limit_enabled=_bool(env, "RATE_LIMIT_ENABLED", True),
            rate_limit_window_seconds=_int(env, "RATE_LIMIT_WINDOW_SECONDS", 60),
            rate_limit_user_cost=_int(env, "RATE_LIMIT_USER_COST", 300_000),
            rate_limit_api_key_cost=_int(env, "RATE_LIMIT_API_KEY_COST", 600_000),
            rate_limit_address_cost=_int(env, "RATE_LIMIT_ADDRESS_COST", 600_000),
            idempotency_ttl_seconds=_int(env, "IDEMPOTENCY_TTL_SECONDS", 24 * 3600),
            otel_endpoint=env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
            otel_service_name=env.get("OTEL_SERVICE_NAME") or "reos",
            compiled_execution=_bool(env, "COMPILED_EXECUTION", True),
            s3_bucket=env.get("S3_BUCKET") or None,
            s3_endpoint_url=env.get("S3_ENDPOINT_URL") or None,
            s3_region=env.get("S3_REGION") or None,
            max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", 25 * 1024 * 1024),
            smtp_url=env.get("SMTP_URL") or None,
            smtp_from=env.get("SMTP_FROM") or "Real Estate OS <alerts@reos.dev>",
            digest_hour_utc=_int(env, "DIGEST_HOUR_UTC", 12),
            webhook_timeout_seconds=_float(env, "WEBHOOK_TIMEOUT_SECONDS", 10.0),
            elasticsearch_url=env.get("ELASTICSEARCH_URL") or None,
            elasticsearch_index=env.get("ELASTICSEARCH_INDEX") or "reos-properties",
        )

    def check(self) -> None:
        """Refuse configurations that are unsafe for the chosen environment."""
        if self.env not in ("development", "test", "production"):
            raise SettingsError("REOS_ENV must be development, test or production")
        if not 0 <= self.digest_hour_utc <= 23:
            raise SettingsError("DIGEST_HOUR_UTC must be an hour from 0 to 23")
        if self.smtp_url and not self.smtp_url.startswith(("smtp://", "smtps://")):
            raise SettingsError("SMTP_URL must start with smtp:// or smtps://")
        if self.is_production:
            if self.jwt_secret == DEVELOPMENT_JWT_SECRET:
                raise SettingsError("JWT_SECRET must be set in production")
            if len(self.jwt_secret) < 32:
                raise SettingsError("JWT_SECRET must be at least 32 characters in production")
            if self.app_database_url is None and self.app_db_password == "reos-app-dev":
                raise SettingsError("APP_DATABASE_URL or APP_DB_PASSWORD must be set in production")
