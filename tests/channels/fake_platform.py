"""A local stand-in for the messengers' APIs: records every request and can be told to fail.

One server plays Telegram, the Graph API and VK at once; the tests point the *_API_BASE
settings at it. Failures are scripted: `fail(3, status=500)` answers the next three requests
with 500, `fail(1, status=429, headers={"Retry-After": "30"})` asks for patience, and
`hang(2)` leaves two requests without an answer until the client gives up.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any  # parsed JSON, a dict of form fields, or the raw text

    @property
    def text(self) -> str:
        """The message text, whichever platform the request was for."""
        body = self.body if isinstance(self.body, dict) else {}
        if "text" in body and isinstance(body["text"], str):
            return body["text"]  # Telegram
        if "message" in body and isinstance(body["message"], dict):
            return body["message"].get("text", "")  # Messenger
        if "message" in body:
            return str(body["message"])  # VK
        if body.get("type") == "text":
            return body["text"]["body"]  # WhatsApp text
        if body.get("type") == "interactive":
            return body["interactive"]["body"]["text"]
        return ""


@dataclass
class _Failure:
    status: int
    headers: dict[str, str]
    body: Any
    hang_seconds: float = 0.0


@dataclass
class FakePlatform:
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _down: _Failure | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(
        self,
        times: int,
        *,
        status: int = 500,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        with self._lock:
            self._failures += [_Failure(status, headers or {}, body) for _ in range(times)]

    def hang(self, times: int, seconds: float = 2.0) -> None:
        with self._lock:
            self._failures += [_Failure(0, {}, None, seconds) for _ in range(times)]

    def go_down(self, *, status: int = 503) -> None:
        """Every request fails until `come_back`."""
        with self._lock:
            self._down = _Failure(status, {}, {"ok": False, "description": "down"})

    def come_back(self) -> None:
        with self._lock:
            self._down = None

    def sent(self, suffix: str = "") -> list[Recorded]:
        """Requests that the platform accepted, whose path ends with `suffix`."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path.endswith(suffix) and r.headers.get("x-fake-accepted") == "1"
            ]

    def all(self) -> list[Recorded]:
        with self._lock:
            return list(self.requests)

    def wait_for(self, count: int, suffix: str = "", timeout: float = 20.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.sent(suffix)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        return self.sent(suffix)

    def _next_failure(self) -> _Failure | None:
        with self._lock:
            if self._down is not None:
                return self._down
            return self._failures.pop(0) if self._failures else None


def _answer(path: str) -> Any:
    if "/bot" in path:
        return {"ok": True, "result": {"message_id": 1}}
    if path.endswith("/messages.send"):
        return {"response": 1}
    if path.endswith("/me/messages"):
        return {"recipient_id": "1", "message_id": "m_1"}
    return {"messaging_product": "whatsapp", "messages": [{"id": "wamid.1"}]}


def start_fake_platform() -> tuple[FakePlatform, ThreadingHTTPServer]:
    platform = FakePlatform()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length).decode()
            parts = urlsplit(self.path)
            content_type = self.headers.get("content-type", "")
            body: Any
            if "json" in content_type:
                body = json.loads(raw)
            elif "form" in content_type:
                body = {k: v[0] for k, v in parse_qs(raw).items()}
            else:
                body = raw
            failure = platform._next_failure()
            headers = {k.lower(): v for k, v in self.headers.items()}
            headers["x-fake-accepted"] = "0" if failure else "1"
            with platform._lock:
                platform.requests.append(
                    Recorded("POST", parts.path, parse_qs(parts.query), headers, body)
                )
            if failure is not None and failure.hang_seconds:
                time.sleep(failure.hang_seconds)
                return  # the client has given up by now
            status = failure.status if failure else 200
            answer = (
                failure.body
                if failure and failure.body is not None
                else ({"ok": False, "error_code": status} if failure else _answer(parts.path))
            )
            payload = json.dumps(answer).encode()
            self.send_response(status)
            for name, value in (failure.headers if failure else {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    platform.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return platform, server
