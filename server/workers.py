"""Background consumers run on their own (`reos worker`), for deployments that split them out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from typing import Any

from sqlalchemy.engine import URL

from integrations.extraction import extractor_from_env
from persistence.database import create_engine
from persistence.search import backend_from_settings
from persistence.storage import store_from_settings
from server.alert_consumer import AlertConsumer
from server.delivery_worker import alert_workers
from server.extraction_worker import ExtractionWorker
from server.search_indexer import indexer_for
from server.settings import Settings
from server.valuation_consumer import ValuationConsumer
from subscriptions.bus import bus_from_url
from subscriptions.relay import OutboxRelay

logger = logging.getLogger("reos.worker")


async def run_workers(settings: Settings, database_url: str | URL) -> None:
    """Run every background consumer (outbox relay, document extraction, alerts, property
    matching and alert delivery, valuations) until cancelled."""
    # Each consumer and the relay hold one LISTEN connection for as long as they run (five or
    # six of them); the rest of the pool is what their passes share.
    engine = create_engine(database_url, pool_size=6)
    extraction = ExtractionWorker(
        engine,
        store_from_settings(settings),
        extractor_from_env(os.environ),
        settings.max_upload_bytes,
    )
    bus = bus_from_url(settings.redis_url)
    await bus.connect()
    consumers = [extraction.run(), AlertConsumer(engine).run(), ValuationConsumer(engine).run()]
    matcher, deliveries = alert_workers(engine, settings)
    consumers += [matcher.run(), deliveries.run()]
    search = backend_from_settings(settings.elasticsearch_url, settings.elasticsearch_index)
    indexer = indexer_for(engine, search)
    if indexer is not None:
        consumers.append(indexer.run())
    if settings.redis_url and settings.run_relay:
        consumers.append(OutboxRelay(engine, bus).run())
    elif settings.run_relay:
        # In-memory pub/sub would publish to this process only and mark the rows sent,
        # so the servers' own relays would never deliver them.
        logger.warning("REDIS_URL is unset: the relay stays with the servers")
    logger.info("worker started", extra={"consumers": len(consumers)})
    running = asyncio.gather(*consumers)
    try:
        await _until_stopped(running)
    finally:
        await extraction.close()
        await deliveries.close()
        await search.close()
        await bus.disconnect()
        await engine.dispose()


async def _until_stopped(running: asyncio.Future[Any]) -> None:
    """Wait for the consumers; SIGTERM cancels them from the event loop (not a SystemExit
    raised in whatever frame is running, which can land inside a database driver call)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    # Not on the main thread, or no signal support: cancelling the caller still stops it.
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            running.result()  # a consumer that ended raises here
        else:
            logger.info("worker stopping")
    finally:
        stopping.cancel()
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGTERM)
