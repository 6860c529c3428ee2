"""Real-time gauges and counters, in the process-wide Prometheus registry (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

websocket_connections = Gauge(
    "reos_websocket_connections", "Open GraphQL WebSocket connections (after connection_init)."
)
subscriptions_active = Gauge(
    "reos_subscriptions_active", "Running subscriptions, by field.", ["field"]
)
events_published = Counter(
    "reos_events_published_total", "Outbox events this instance's relay published."
)
events_delivered = Counter(
    "reos_events_delivered_total",
    "Events sent to subscribers (live and replayed), by field.",
    ["field"],
)
slow_consumers_closed = Counter(
    "reos_slow_consumers_closed_total", "Sockets closed because their queue overflowed."
)
bus_resyncs = Counter(
    "reos_bus_resyncs_total", "Subscriptions that replayed from the database after a bus reconnect."
)
outbox_lag_seconds = Gauge(
    "reos_outbox_lag_seconds", "Age of the oldest event in the last batch the relay published."
)
