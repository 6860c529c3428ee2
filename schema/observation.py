"""Request observation: Prometheus metrics, one JSON log line and (when on) a trace span per
GraphQL operation, with the SQL statements and time the operation cost.

`RequestObservation` is the first schema extension, so it wraps every other one: it sees the
whole duration and the errors after ErrorPolicy gave them their codes. Outcomes:

- `ok`: no errors;
- `error`: errors during execution (a resolver failed; data may be partial);
- `rejected`: refused before execution (parse, validation, variables, limits, rate limits,
  persisted queries): errors, no data, none of them at a field path.

Subscriptions are observed once, when they end (duration = how long they ran); their events
are not logged one by one, and they stay out of the duration and SQL histograms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterator
from contextvars import ContextVar, Token
from time import perf_counter
from typing import Any

from graphql import GraphQLError
from prometheus_client import Counter, Histogram
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from persistence.instrumentation import SqlStats, sql_stats_var
from resolvers.log_context import request_id_var, tenant_id_var, user_id_var
from schema.extensions import _code_for_request_error

logger = logging.getLogger("reos.request")

OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
ERROR_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
MAX_OPERATION_NAMES = 200  # distinct operation labels per process; later names count as "other"
MAX_LOGGED_NAME = 128

graphql_requests = Counter(
    "reos_graphql_requests",
    "GraphQL operations by name, type and outcome (ok, error, rejected).",
    ["operation", "type", "outcome"],
)
graphql_errors = Counter(
    "reos_graphql_errors", "Top-level GraphQL errors by extensions.code.", ["code"]
)
request_duration = Histogram(
    "reos_graphql_request_duration_seconds",
    "Time to answer a GraphQL query or mutation, by operation name.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
sql_statements = Histogram(
    "reos_sql_statements_per_request",
    "SQL statements one GraphQL query or mutation ran, by operation name.",
    ["operation"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233),
)
sql_seconds = Histogram(
    "reos_sql_seconds_per_request",
    "Time one GraphQL query or mutation spent in SQL statements, by operation name.",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class OperationLabels:
    """Bounded label values: a valid name as it is, up to `limit` names, then "other"."""

    def __init__(self, limit: int = MAX_OPERATION_NAMES) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def __call__(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if not isinstance(name, str):
            return "other"
        if name in self.seen:
            return name
        if not OPERATION_NAME.match(name) or len(self.seen) >= self.limit:
            return "other"
        self.seen.add(name)
        return name


operation_label = OperationLabels()

_tracer: Any = None  # an OpenTelemetry tracer while tracing runs (server.tracing sets it)


def use_tracer(tracer: Any) -> None:
    """The tracer traced schemas start their spans with; None stops tracing."""
    global _tracer
    _tracer = tracer


def error_code(error: BaseException) -> str:
    """extensions.code of an error (as ErrorPolicy would give it), bounded to a safe label."""
    code = (getattr(error, "extensions", None) or {}).get("code")
    if code is None and isinstance(error, GraphQLError):
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            code = _code_for_request_error(error)
    code = code or "INTERNAL"
    return code if isinstance(code, str) and ERROR_CODE.match(code) else "OTHER"


def record_rejection(
    operation: str | None,
    codes: list[str],
    request_id: str | None = None,
    operation_type: str = "unknown",
) -> None:
    """For transports that refuse a request before it reaches the schema (e.g. an unknown
    persisted query): counted and logged like the extension's own rejections."""
    codes = [code if ERROR_CODE.match(code) else "OTHER" for code in codes]
    graphql_requests.labels(operation_label(operation), operation_type, "rejected").inc()
    for code in codes:
        graphql_errors.labels(code).inc()
    name = operation if isinstance(operation, str) else None
    logger.info(
        "graphql request",
        extra={
            "request_id": request_id or request_id_var.get(),
            "operation": name[:MAX_LOGGED_NAME] if name else None,
            "operation_type": operation_type,
            "outcome": "rejected",
            "error_codes": sorted(set(codes)),
        },
    )


def _set(var: ContextVar[Any], value: Any) -> tuple[ContextVar[Any], Token[Any]]:
    return var, var.set(value)


class RequestObservation(SchemaExtension):
    """Times the operation, counts its SQL, records the metrics and writes the log line."""

    tracing = False

    def on_operation(self) -> Iterator[None]:
        started = perf_counter()
        context = self.execution_context.context
        principal = getattr(context, "principal", None)
        stats = SqlStats()
        span = None
        if self.tracing and _tracer is not None:
            try:
                span = self._start_span(context, stats)
            except Exception:  # tracing must never fail the request it traces
                logger.exception("could not start a request's span")
        tokens = [_set(sql_stats_var, stats)]
        if principal is not None:
            tokens.append(_set(tenant_id_var, str(principal.tenant_id)))
            tokens.append(_set(user_id_var, str(principal.user_id)))
        failure: BaseException | None = None
        try:
            yield
        except BaseException as exc:
            failure = exc
            raise
        finally:
            for var, token in reversed(tokens):
                # closed from another context: nothing of ours to restore there
                with contextlib.suppress(ValueError):
                    var.reset(token)
            try:
                self._finish(context, principal, stats, span, perf_counter() - started, failure)
            except Exception:  # observing must never fail the request it observes
                logger.exception("could not record a request's metrics and log line")

    def _finish(
        self,
        context: Any,
        principal: Any,
        stats: SqlStats,
        span: Any,
        seconds: float,
        failure: BaseException | None,
    ) -> None:
        execution = self.execution_context
        name = execution.operation_name
        try:
            operation_type = execution.operation_type.value
        except Exception:
            operation_type = "unknown"
        outcome, codes = self._outcome(operation_type, failure)
        label = operation_label(name)
        graphql_requests.labels(label, operation_type, outcome).inc()
        for code in codes:
            graphql_errors.labels(code).inc()
        if operation_type != "subscription":
            request_duration.labels(label).observe(seconds)
            if outcome != "rejected":
                sql_statements.labels(label).observe(stats.statements)
                sql_seconds.labels(label).observe(stats.seconds)
        fields: dict[str, Any] = {
            "request_id": getattr(context, "request_id", None) or request_id_var.get(),
            "tenant_id": str(principal.tenant_id) if principal is not None else None,
            "user_id": str(principal.user_id) if principal is not None else None,
            "operation": name[:MAX_LOGGED_NAME] if name else None,
            "operation_type": operation_type,
            "outcome": outcome,
            "error_codes": sorted(set(codes)),
            "duration_ms": round(seconds * 1000, 3),
            "sql_statements": stats.statements,
            "sql_ms": stats.milliseconds,
            "cost": getattr(context, "query_cost", 0),
        }
        api_key_id = getattr(context, "api_key_id", None)
        if api_key_id is not None:
            fields["api_key_id"] = str(api_key_id)
        if span is not None:
            fields["trace_id"] = self._end_span(span, name, operation_type, outcome, fields)
        logger.info("graphql request", extra=fields)

    def _outcome(self, operation_type: str, failure: BaseException | None) -> tuple[str, list[str]]:
        if failure is not None:
            if isinstance(failure, asyncio.CancelledError):
                # how a subscription ends when the client completes it or goes away; for a
                # query or mutation: the request timed out or its client left
                return ("ok", []) if operation_type == "subscription" else ("error", ["CANCELLED"])
            if isinstance(failure, CannotGetOperationTypeError):  # no such operation name
                return "rejected", ["GRAPHQL_VALIDATION_FAILED"]
            if isinstance(failure, MissingQueryError | InvalidOperationTypeError):
                return "rejected", ["BAD_REQUEST"]  # no query; a mutation over GET
            if isinstance(failure, GraphQLError):
                return ("rejected" if failure.path is None else "error"), [error_code(failure)]
            return "error", ["INTERNAL"]
        execution = self.execution_context
        result = execution.result
        errors = list(
            (result.errors if result is not None else execution.pre_execution_errors) or []
        )
        if not errors:
            return "ok", []
        codes = [error_code(error) for error in errors]
        data = result.data if result is not None else None
        refused = data is None and all(error.path is None for error in errors)
        return ("rejected" if refused else "error"), codes

    def _start_span(self, context: Any, stats: SqlStats) -> Any:
        from opentelemetry import propagate, trace

        request = getattr(context, "request", None)
        headers = getattr(request, "headers", None)
        parent = propagate.extract(headers) if headers is not None else None
        span = _tracer.start_span(
            "graphql", context=parent, kind=trace.SpanKind.SERVER, attributes={}
        )
        stats.tracer = _tracer
        stats.trace_parent = trace.set_span_in_context(span)
        return span

    @staticmethod
    def _end_span(
        span: Any, name: str | None, operation_type: str, outcome: str, fields: dict[str, Any]
    ) -> str:
        from opentelemetry.trace import Status, StatusCode

        span.update_name(f"{operation_type} {name or 'anonymous'}"[:MAX_LOGGED_NAME])
        attributes = {
            "graphql.operation.type": operation_type,
            "reos.outcome": outcome,
            "reos.sql.statements": fields["sql_statements"],
            "reos.cost": fields["cost"],
        }
        if name:
            attributes["graphql.operation.name"] = fields["operation"]
        for key in ("request_id", "tenant_id", "user_id", "api_key_id"):
            if fields.get(key):
                attributes[f"reos.{key}"] = fields[key]
        if fields["error_codes"]:
            attributes["reos.error_codes"] = fields["error_codes"]
        span.set_attributes(attributes)
        if outcome != "ok":
            span.set_status(Status(StatusCode.ERROR, ",".join(fields["error_codes"])))
        span.end()
        return format(span.get_span_context().trace_id, "032x")


class TracedRequestObservation(RequestObservation):
    """RequestObservation plus an OpenTelemetry span per operation and per SQL statement."""

    tracing = True


def observation_extension(tracing: bool = False) -> type[RequestObservation]:
    return TracedRequestObservation if tracing else RequestObservation
