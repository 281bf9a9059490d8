"""Work the handoff domain runs while the app is up: the SLA that returns silent claims."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from app.handoff.service import requeue_stale_claims

log = logging.getLogger("answerdesk.handoff")


def requeue_once(app: FastAPI) -> list[int]:
    with app.state.session_factory() as session:
        moved = requeue_stale_claims(
            session=session, minutes=app.state.settings.handoff_reassign_minutes
        )
        session.commit()
    if moved:
        log.info("handoffs back in the queue after a silent claim: %s", moved)
    return moved


@asynccontextmanager
async def sla_requeue(app: FastAPI) -> AsyncIterator[None]:
    """Every worker runs it; the conditional UPDATE makes running it twice harmless."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(app.state.settings.handoff_sla_check_seconds)
            try:
                await run_in_threadpool(requeue_once, app)
            except Exception:  # the database may be away for a moment; try again next round
                log.exception("handoff SLA check failed")

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
