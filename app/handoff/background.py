"""Work the handoff domain runs while the app is up: the SLA that returns silent claims."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.background import run_every
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

    async with run_every(
        app.state.settings.handoff_sla_check_seconds,
        lambda: requeue_once(app),
        what="handoff SLA check",
    ):
        yield
