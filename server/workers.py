"""Background consumers run on their own (`reos worker`), for deployments that split them out."""

from __future__ import annotations

import asyncio
import logging
import os

from sqlalchemy.engine import URL

from integrations.extraction import extractor_from_env
from persistence.database import create_engine
from persistence.storage import store_from_settings
from server.alert_consumer import AlertConsumer
from server.extraction_worker import ExtractionWorker
from server.settings import Settings
from subscriptions.bus import bus_from_url
from subscriptions.relay import OutboxRelay

logger = logging.getLogger("reos.worker")


async def run_workers(settings: Settings, database_url: str | URL) -> None:
    """Run every background consumer (outbox relay, document extraction, alerts) until
    cancelled."""
    engine = create_engine(database_url, pool_size=3)
    extraction = ExtractionWorker(
        engine,
        store_from_settings(settings),
        extractor_from_env(os.environ),
        settings.max_upload_bytes,
    )
    bus = bus_from_url(settings.redis_url)
    await bus.connect()
    consumers = [extraction.run(), AlertConsumer(engine).run()]
    if settings.redis_url and settings.run_relay:
        consumers.append(OutboxRelay(engine, bus).run())
    elif settings.run_relay:
        # In-memory pub/sub would publish to this process only and mark the rows sent,
        # so the servers' own relays would never deliver them.
        logger.warning("REDIS_URL is unset: the relay stays with the servers")
    logger.info("worker started", extra={"consumers": len(consumers)})
    try:
        await asyncio.gather(*consumers)
    finally:
        await extraction.close()
        await bus.disconnect()
        await engine.dispose()
