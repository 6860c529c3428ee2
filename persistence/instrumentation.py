"""SQL statements and time per request: engine events add up into the current request's stats.

`instrument_engine(engine)` listens once on the engine. Whoever serves a request puts a
`SqlStats` in `sql_stats_var`; every statement run in that context (SQLAlchemy carries the
asyncio task's context into its greenlet) counts there. With a tracer on the stats, each
statement also becomes an OpenTelemetry span under `trace_parent`. Without stats, the events
cost one context-variable read.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

MAX_STATEMENT_CHARS = 2_000  # of SQL text on a span; parameters are bound, never in the text


@dataclass
class SqlStats:
    statements: int = 0
    seconds: float = 0.0
    tracer: Any = None  # an OpenTelemetry tracer: one child span per statement
    trace_parent: Any = None  # the OpenTelemetry context those spans belong to

    @property
    def milliseconds(self) -> float:
        return round(self.seconds * 1000, 3)


sql_stats_var: ContextVar[SqlStats | None] = ContextVar("sql_stats", default=None)


def instrument_engine(engine: AsyncEngine | Engine) -> None:
    """Count and time every statement of the engine into the current `SqlStats` (idempotent)."""
    target = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    if event.contains(target, "before_cursor_execute", _before):
        return
    event.listen(target, "before_cursor_execute", _before)
    event.listen(target, "after_cursor_execute", _after)
    event.listen(target, "handle_error", _error)


def _before(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    stats = sql_stats_var.get()
    if stats is None:
        return
    stats.statements += 1
    if context is None:
        return
    context._reos_sql = stats
    context._reos_sql_started = perf_counter()
    context._reos_sql_span = _start_span(stats, statement) if stats.tracer is not None else None


def _after(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    stats: SqlStats | None = getattr(context, "_reos_sql", None)
    if stats is None:
        return
    stats.seconds += perf_counter() - context._reos_sql_started
    context._reos_sql = None
    span = context._reos_sql_span
    if span is not None:
        span.end()


def _error(exception_context: Any) -> None:
    context = exception_context.execution_context
    stats: SqlStats | None = getattr(context, "_reos_sql", None)
    if stats is None:
        return
    stats.seconds += perf_counter() - context._reos_sql_started
    context._reos_sql = None
    span = context._reos_sql_span
    if span is not None:
        from opentelemetry.trace import Status, StatusCode

        error = exception_context.original_exception
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.record_exception(error)
        span.end()


def _start_span(stats: SqlStats, statement: str) -> Any:
    from opentelemetry.trace import SpanKind

    operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
    return stats.tracer.start_span(
        operation,
        context=stats.trace_parent,
        kind=SpanKind.CLIENT,
        attributes={
            "db.system.name": "postgresql",
            "db.system": "postgresql",
            "db.operation.name": operation,
            "db.query.text": statement[:MAX_STATEMENT_CHARS],
        },
    )
