"""Prometheus metrics the resolvers record (process-wide registry, served at /metrics)."""

from __future__ import annotations

from prometheus_client import Histogram

BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

dataloader_batch_size = Histogram(
    "reos_dataloader_batch_size",
    "Keys per DataLoader batch (one SQL statement per batch), by loader.",
    ["loader"],
    buckets=BATCH_BUCKETS,
)
