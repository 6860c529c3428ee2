"""The extraction worker: takes queued jobs, reads the stored bytes, records what was found.

Failures are written on the document and retried with backoff; a job is never dropped.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.document import ExtractionStatus
from domain.events import Event
from domain.extraction import ExtractionError, gives_up, next_attempt_delay
from integrations.extraction import Extractor
from integrations.extraction.text import extract_text
from persistence import document as store
from persistence.database import transaction
from persistence.document import Job
from persistence.outbox import add_events
from persistence.passes import run_passes
from persistence.storage import ObjectStore

logger = logging.getLogger("reos.extraction")

MAX_STORED_TEXT = 200_000


class ExtractionWorker:
    def __init__(
        self,
        engine: AsyncEngine,
        storage: ObjectStore,
        extractor: Extractor,
        max_bytes: int,
        poll_seconds: float = 2.0,
        batch: int = 4,
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self.engine = engine
        self.storage = storage
        self.extractor = extractor
        self.max_bytes = max_bytes
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.lease = lease
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for work now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Work until cancelled (woken by `wake` after an upload, else polling)."""
        await run_passes(
            self.run_once,
            name="extraction",
            wake=self._wake,
            poll_seconds=self.poll_seconds,
            full=1,
        )

    async def run_once(self) -> int:
        """Process the jobs due now; returns how many were taken."""
        jobs = await store.claim_jobs(self.engine, self.batch, self.lease)
        for job in jobs:
            await self._process(job)
        return len(jobs)

    async def _process(self, job: Job) -> None:
        async with transaction(self.engine, job.tenant_id) as conn:
            target = await store.job_target(conn, job.tenant_id, job.document_id, job.version)
        if target is None or target[0].version != job.version:
            await store.finish_job(self.engine, job, "DONE", "superseded", None)
            return
        document, version = target
        try:
            content = await self.storage.read(version.object_key, self.max_bytes)
            text = await self._searchable_text(content, version.content_type)
            found = await self.extractor.extract(content, version.content_type, document.name)
        except ExtractionError as error:
            await self._failed(job, error)
            return
        except Exception as error:
            logger.exception("extraction crashed", extra={"document_id": str(job.document_id)})
            await self._failed(
                job, ExtractionError("internal error", retryable=True, detail=type(error).__name__)
            )
            return
        async with transaction(self.engine, job.tenant_id) as conn:
            updated = await store.update_document(
                conn,
                job.tenant_id,
                job.document_id,
                {
                    "extraction": found.to_json(),
                    "extraction_status": ExtractionStatus.DONE.value,
                    "extraction_error": None,
                    "extracted_text": text[:MAX_STORED_TEXT],
                },
            )
            payload = {
                "document_id": str(updated.id),
                "version": job.version,
                "document_type": found.document_type.value,
                "extractor": found.extractor,
            }
            await add_events(conn, [self._event(job, "document.extracted", payload)])
        await store.finish_job(self.engine, job, "DONE", None, None)

    @staticmethod
    async def _searchable_text(content: bytes, content_type: str) -> str:
        """Text for full-text search; a file we can't read as text may still be extracted."""
        try:
            return await asyncio.to_thread(extract_text, content, content_type)
        except ExtractionError:
            return ""

    async def close(self) -> None:
        """Release the extractor's connections."""
        close = getattr(self.extractor, "aclose", None)
        if close is not None:
            await close()

    async def _failed(self, job: Job, error: ExtractionError) -> None:
        final = gives_up(job.attempts, error)
        message = str(error)[:500]
        async with transaction(self.engine, job.tenant_id) as conn:
            values = {"extraction_error": message}
            if final:
                values["extraction_status"] = ExtractionStatus.FAILED.value
                payload = {
                    "document_id": str(job.document_id),
                    "version": job.version,
                    "error": message,
                }
                await add_events(conn, [self._event(job, "document.extraction_failed", payload)])
            await store.update_document(conn, job.tenant_id, job.document_id, values)
        retry_at = None
        if not final:
            delay = error.retry_after or next_attempt_delay(job.attempts)
            retry_at = datetime.now(UTC) + timedelta(seconds=delay)
        logger.warning(
            "extraction failed",
            extra={
                "document_id": str(job.document_id),
                "attempt": job.attempts,
                "final": final,
                "error": message,
            },
        )
        await store.finish_job(self.engine, job, "FAILED", message, retry_at)

    @staticmethod
    def _event(job: Job, event_type: str, payload: dict[str, object]) -> Event:
        return Event(
            event_type=event_type,
            aggregate_type="document",
            aggregate_id=job.document_id,
            tenant_id=job.tenant_id,
            payload=payload,
        )
