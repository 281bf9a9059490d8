"""run_every: the periodic loop behind the analytics refresh and the handoff SLA."""

import asyncio

from app.background import run_every


def test_a_failed_round_does_not_stop_the_loop_and_exit_stops_it() -> None:
    calls: list[int] = []

    def work() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("the database blinked")

    async def scenario() -> int:
        async with run_every(0.01, work, what="test work"):
            for _ in range(500):
                if len(calls) >= 3:
                    break
                await asyncio.sleep(0.01)
        stopped_at = len(calls)
        await asyncio.sleep(0.1)
        assert len(calls) == stopped_at  # nothing runs after the block exits
        return stopped_at

    assert asyncio.run(scenario()) >= 3
