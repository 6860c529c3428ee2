"""Background consumers run on their own (`reos worker`), for deployments that split them out."""

from __future__ import annotations

import logging
import os

from sqlalchemy.engine import URL

from integrations.extraction import extractor_from_env
from persistence.database import create_engine
from persistence.storage import store_from_settings
from server.extraction_worker import ExtractionWorker
from server.settings import Settings

logger = logging.getLogger("reos.worker")


async def run_workers(settings: Settings, database_url: str | URL) -> None:
    """Run every background consumer until cancelled."""
    engine = create_engine(database_url, pool_size=2)
    worker = ExtractionWorker(
        engine,
        store_from_settings(settings),
        extractor_from_env(os.environ),
        settings.max_upload_bytes,
    )
    logger.info("worker started", extra={"consumers": ["extraction"]})
    try:
        await worker.run()
    finally:
        await worker.close()
        await engine.dispose()
