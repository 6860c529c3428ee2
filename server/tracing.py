"""OpenTelemetry tracing over OTLP/HTTP, on when OTEL_EXPORTER_OTLP_ENDPOINT is set.

The app's tracer provider is its own (not the process-global one), so apps with and without
tracing can live in one process (tests do). Spans: one per GraphQL operation, with one child
per SQL statement (schema/observation.py, persistence/instrumentation.py). An incoming W3C
`traceparent` header continues the caller's trace. Nothing of the SDK is imported when off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schema.observation import use_tracer

TRACES_PATH = "/v1/traces"
EXPORT_TIMEOUT_SECONDS = 5.0


def traces_url(endpoint: str) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; traces go to /v1/traces."""
    base = endpoint.rstrip("/")
    return base if base.endswith(TRACES_PATH) else base + TRACES_PATH


def setup_tracing(settings: Any) -> Callable[[], None]:
    """Start exporting spans; returns the shutdown (flushes what is pending). No-op when off."""
    if not settings.otel_endpoint:
        return lambda: None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.otel_service_name}))
    exporter = OTLPSpanExporter(
        endpoint=traces_url(settings.otel_endpoint), timeout=EXPORT_TIMEOUT_SECONDS
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    use_tracer(provider.get_tracer("reos"))

    def shutdown() -> None:
        use_tracer(None)
        provider.shutdown()

    return shutdown
