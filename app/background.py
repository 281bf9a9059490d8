"""Periodic work a worker runs while the app is up (roll-ups, the handoff SLA)."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

log = logging.getLogger("answerdesk")


@asynccontextmanager
async def run_every(seconds: float, work: Callable[[], Any], *, what: str) -> AsyncIterator[None]:
    """Runs `work` in a thread every `seconds` until the block exits. A failed round (the
    database away for a moment, another worker holding a lock) is logged and the next round
    tries again; the loop itself never dies of it."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await asyncio.to_thread(work)
            except Exception:
                log.warning("%s failed; retrying next round", what, exc_info=True)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
