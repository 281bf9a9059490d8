"""A small server-sent events reader for live-server tests, with bounded waits."""

import json
import queue
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx


class SSEReader:
    """Reads a stream in a thread; `wait_for` returns the first matching event or fails."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=30))
        self._url = url
        self._headers = headers or {}
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._opened = threading.Event()
        self.status_code: int | None = None
        self.seen: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> "SSEReader":
        self._thread.start()
        assert self._opened.wait(15), "the stream did not open"
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._client.close()

    def _read(self) -> None:
        try:
            with self._client.stream("GET", self._url, headers=self._headers) as response:
                self.status_code = response.status_code
                self._opened.set()
                frame: dict[str, Any] = {}
                for line in response.iter_lines():
                    if not line:
                        if "data" in frame:
                            frame["data"] = json.loads(frame["data"])
                            self._events.put(frame)
                        frame = {}
                    elif line.startswith(":"):
                        continue
                    else:
                        name, _, value = line.partition(":")
                        frame[name] = value.removeprefix(" ")
        except (httpx.HTTPError, RuntimeError):
            pass  # closed by the test
        finally:
            self._opened.set()

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching event in {timeout} s; saw {self.seen}")
            try:
                event = self._events.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(event)
            if predicate(event):
                return event
