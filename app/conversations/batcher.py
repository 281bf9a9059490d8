"""A worker's chat threads: each takes every turn waiting and runs them together.

Nothing waits for a batch to fill: a thread takes what is queued when it becomes free, so a
lone message runs at once, alone, and under load the turns that arrived during the previous
batch share the next one (one transaction, one commit; see app/conversations/turns.py).
"""

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")


@dataclass(frozen=True, slots=True)
class _Waiting(Generic[Job, Result]):
    job: Job
    future: "asyncio.Future[Result]"
    loop: asyncio.AbstractEventLoop


class Batcher(Generic[Job, Result]):
    """`run` gets a batch of jobs and returns one result per job, in order; a result that is
    an exception is raised to that job's caller. Jobs with the same `group` (say, a
    conversation) never share a batch: the later one waits for the next."""

    def __init__(
        self,
        run: Callable[[Sequence[Job]], Sequence[Result | Exception]],
        *,
        threads: int,
        batch_size: int,
        group: Callable[[Job], Hashable | None] = lambda job: None,
        name: str = "batcher",
    ) -> None:
        self._run = run
        self._group = group
        self._batch_size = batch_size
        self._waiting: deque[_Waiting[Job, Result]] = deque()
        self._ready = threading.Condition()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}-{n}", daemon=True)
            for n in range(threads)
        ]

    def __enter__(self) -> "Batcher[Job, Result]":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Runs what is still queued, then stops the threads."""
        with self._ready:
            self._stopping = True
            self._ready.notify_all()
        for thread in self._threads:
            thread.join()

    async def submit(self, job: Job) -> Result:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        with self._ready:
            if self._stopping:
                raise RuntimeError("the batcher has stopped")
            self._waiting.append(_Waiting(job, future, loop))
            self._ready.notify()
        return await future

    def _serve(self) -> None:
        while True:
            with self._ready:
                while not self._waiting and not self._stopping:
                    self._ready.wait()
                if not self._waiting:
                    return
                batch = self._take_batch()
            try:
                results = self._run([waiting.job for waiting in batch])
            except Exception as error:  # run() failed as a whole: every caller hears why
                results = [error] * len(batch)
            _settle(batch, results)

    def _take_batch(self) -> list[_Waiting[Job, Result]]:
        """The first waiting jobs, at most one per group; the others keep their places."""
        batch: list[_Waiting[Job, Result]] = []
        skipped: list[_Waiting[Job, Result]] = []
        groups: set[Hashable] = set()
        while self._waiting and len(batch) < self._batch_size:
            waiting = self._waiting.popleft()
            group = self._group(waiting.job)
            if group is not None and group in groups:
                skipped.append(waiting)
                continue
            if group is not None:
                groups.add(group)
            batch.append(waiting)
        self._waiting.extendleft(reversed(skipped))
        return batch


def _settle(batch: list[_Waiting[Job, Result]], results: Sequence[Result | Exception]) -> None:
    """Hands the results to the callers' event loops, one wake-up per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Result], object]]] = {}
    for waiting, result in zip(batch, results, strict=True):
        by_loop.setdefault(waiting.loop, []).append((waiting.future, result))
    for loop, settled in by_loop.items():
        if not loop.is_closed():
            loop.call_soon_threadsafe(_set_results, settled)


def _set_results(settled: list[tuple["asyncio.Future[Result]", object]]) -> None:
    for future, result in settled:
        if future.done():  # its request was cancelled (the client went away)
            continue
        if isinstance(result, Exception):
            future.set_exception(result)
        else:
            future.set_result(result)  # type: ignore[arg-type]
