"""The app-wide guards in front of every route: the body size limit and the NUL refusal."""

import json
import socket
from collections.abc import Iterator

from fastapi.testclient import TestClient

from app.main import MAX_BODY_BYTES
from tests.conftest import ADMIN_TOKEN, new_user

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_body_over_the_limit_is_413_problem_before_the_route_reads_it(client: TestClient) -> None:
    body = b'{"channel":"web","user":{"id":"u"},"text":"' + b"a" * MAX_BODY_BYTES + b'"}'
    response = client.post("/v1/chat", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json() == {
        "type": "/problems/too-large",
        "title": "Payload too large",
        "status": 413,
        "detail": f"The body exceeds {MAX_BODY_BYTES} bytes.",
    }


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """A body as a generator: httpx sends it chunked, with no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_chunked_body_over_the_limit_is_413_problem_and_nothing_stored(
    client: TestClient,
) -> None:
    json_type = {"content-type": "application/json"}
    user = new_user()
    small = json.dumps({"channel": "web", "user": user, "text": "hi"}).encode()
    first = client.post("/v1/chat", content=_chunks(small, 5), headers=json_type)
    assert first.status_code == 200, first.text  # a chunked body under the limit is read
    conversation_id = first.json()["conversation_id"]
    big = {"channel": "web", "user": user, "conversation_id": conversation_id}
    body = json.dumps({**big, "text": "a" * MAX_BODY_BYTES}).encode()
    response = client.post("/v1/chat", content=_chunks(body), headers=json_type)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/too-large"
    assert response.json()["detail"] == f"The body exceeds {MAX_BODY_BYTES} bytes."
    history = client.get(f"/v1/conversations/{conversation_id}/messages").json()
    assert [m["role"] for m in history["items"]] == ["customer", "bot"]  # the first turn only


def test_uvicorn_stops_reading_a_chunked_body_at_the_limit(live_server) -> None:  # type: ignore[no-untyped-def]
    """Over a real socket: the 413 comes while the client is still sending, long before the
    50 MB it offers (before this limit the whole body was read into memory, then refused)."""
    host, port = live_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"a" * 65536
        sent = 0
        try:
            while sent < 50 * 1024 * 1024:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                sock.setblocking(False)
                try:
                    if sock.recv(1, socket.MSG_PEEK):
                        break  # the server answered before the body ended
                except BlockingIOError:
                    pass
                finally:
                    sock.setblocking(True)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection after answering
        sock.settimeout(10)
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert b"application/problem+json" in head
    assert sent < 10 * 1024 * 1024


def test_body_at_the_limit_reaches_the_route(client: TestClient) -> None:
    body = json.dumps({"channel": "web", "user": new_user(), "text": "hi"}).encode()
    padded = body + b" " * (MAX_BODY_BYTES - len(body))  # JSON allows trailing whitespace
    response = client.post("/v1/chat", content=padded, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text


def test_imports_are_not_held_to_the_json_body_limit(empty_client: TestClient) -> None:
    articles = [
        {"id": f"big-{n}", "language": "en", "title": f"Big {n}", "body": "x" * 300_000}
        for n in range(8)
    ]
    content = json.dumps(articles).encode()
    assert len(content) > MAX_BODY_BYTES
    response = empty_client.post(
        "/v1/articles/import",
        files=[("file", ("kb.json", content))],
        headers=ADMIN,
    )
    assert response.status_code != 413, response.text
    assert response.status_code < 400, response.text


def test_nul_anywhere_in_a_json_body_is_422(client: TestClient) -> None:
    deep = {"page": [{"a": ["ok", {"b": "\x00"}]}]}
    response = client.post(
        "/v1/chat", json={"channel": "web", "user": new_user(), "text": "hi", "metadata": deep}
    )
    assert response.status_code == 422
    assert "NUL" in response.json()["detail"]
    in_a_key = {"channel": "web", "user": new_user(), "text": "hi", "metadata": {"\x00": 1}}
    assert client.post("/v1/chat", json=in_a_key).status_code == 422


def test_an_escaped_backslash_before_u0000_is_not_a_nul(client: TestClient) -> None:
    # The JSON text "\\u0000" is a backslash and "u0000": the raw bytes look like the escape.
    body = b'{"channel":"web","user":{"id":"guard-user"},"text":"path C:\\\\u0000 here"}'
    response = client.post("/v1/chat", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
