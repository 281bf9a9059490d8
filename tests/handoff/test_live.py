"""Against real uvicorn with two workers: concurrent claims, and events across processes."""

import signal
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, GRACEFUL_SHUTDOWN_SECONDS, new_user
from tests.handoff.sse import SSEReader

pytestmark = pytest.mark.live
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CLAIMERS = 6


def _operator(http: httpx.Client, name: str) -> dict[str, str]:
    made = http.post("/v1/tokens", json={"name": name, "role": "operator"}, headers=ADMIN)
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


def _hand_off(http: httpx.Client, user: dict[str, str] | None = None) -> dict[str, Any]:
    reply = http.post(
        "/v1/chat",
        json={"channel": "web", "user": user or new_user(), "text": "позовите оператора"},
    ).json()
    assert reply["status"] == "handoff", reply
    waiting = http.get("/v1/handoffs", headers=ADMIN).json()["items"]
    found = [h["id"] for h in waiting if h["conversation_id"] == reply["conversation_id"]]
    assert found, (reply, waiting, http.get("/v1/handoffs?status=assigned", headers=ADMIN).json())
    reply["handoff_id"] = found[0]
    return reply


def test_of_concurrent_claims_exactly_one_wins(live_server_factory: Any) -> None:
    server = live_server_factory(workers=2)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        operators = [_operator(http, f"op-{n}") for n in range(CLAIMERS)]
        for _ in range(3):  # a few rounds, so the race really happens
            handoff_id = _hand_off(http)["handoff_id"]
            start = threading.Barrier(CLAIMERS)

            def claim(
                headers: dict[str, str], handoff_id: int = handoff_id, start=start
            ) -> tuple[int, str]:
                with httpx.Client(base_url=server.url, timeout=30) as own:
                    start.wait()
                    response = own.post(f"/v1/handoffs/{handoff_id}/claim", headers=headers)
                    return response.status_code, response.text

            with ThreadPoolExecutor(CLAIMERS) as pool:
                results = list(pool.map(claim, operators))
            codes = sorted(code for code, _ in results)
            assert codes == [200] + [409] * (CLAIMERS - 1), results
            winner = next(text for code, text in results if code == 200)
            holder = http.get(f"/v1/handoffs/{handoff_id}", headers=ADMIN).json()["operator_name"]
            assert f'"operator_name":"{holder}"' in winner


def test_operator_stream_sees_new_handoff_and_customer_messages(live_server_factory: Any) -> None:
    server = live_server_factory(workers=2)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        operator = _operator(http, "anna")
        with SSEReader(f"{server.url}/v1/operator/events", operator) as stream:
            assert stream.status_code == 200
            user = new_user()
            reply = _hand_off(http, user)
            created = stream.wait_for(
                lambda e: (
                    e["event"] == "handoff"
                    and e["data"]["conversation_id"] == reply["conversation_id"]
                )
            )
            assert created["data"]["reason"] == "human_request"
            assert created["id"].isdigit()
            http.post(
                "/v1/chat",
                json={
                    "channel": "web",
                    "user": user,
                    "text": "у меня не работает интернет",
                    "conversation_id": reply["conversation_id"],
                },
            )
            said = stream.wait_for(lambda e: e["event"] == "message")
            assert said["data"]["role"] == "customer"
            assert said["data"]["text"] == "у меня не работает интернет"
            assert said["data"]["handoff_id"] == reply["handoff_id"]
            http.post(f"/v1/handoffs/{reply['handoff_id']}/claim", headers=operator)
            claimed = stream.wait_for(lambda e: e["event"] == "status")
            assert claimed["data"]["change"] == "claimed"
            assert claimed["data"]["operator"] == "anna"


def test_operator_stream_resumes_from_last_event_id(live_server_factory: Any) -> None:
    server = live_server_factory(workers=2)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        operator = _operator(http, "anna")
        first = _hand_off(http)
        with SSEReader(f"{server.url}/v1/operator/events?after=0", operator) as stream:
            seen = stream.wait_for(lambda e: e["event"] == "handoff")
            assert seen["data"]["conversation_id"] == first["conversation_id"]
        second = _hand_off(http)  # happens while the console is disconnected
        headers = {**operator, "Last-Event-ID": seen["id"]}
        with SSEReader(f"{server.url}/v1/operator/events", headers) as stream:
            missed = stream.wait_for(lambda e: e["event"] == "handoff")
            assert missed["data"]["conversation_id"] == second["conversation_id"]


def test_operator_stream_needs_an_operator_token(live_server_factory: Any) -> None:
    server = live_server_factory()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/v1/operator/events").status_code == 401
        token = http.post(
            "/v1/tokens", json={"name": "anna", "role": "operator"}, headers=ADMIN
        ).json()["token"]
        with SSEReader(f"{server.url}/v1/operator/events?access_token={token}") as stream:
            assert stream.status_code == 200
        assert http.get("/v1/conversations/nope/events").status_code == 404


def test_customer_sees_operator_reply_by_stream_and_by_polling(live_server_factory: Any) -> None:
    server = live_server_factory(workers=2)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        operator = _operator(http, "anna")
        reply = _hand_off(http)
        cid, hid = reply["conversation_id"], reply["handoff_id"]
        last_seen = http.get(f"/v1/conversations/{cid}/messages").json()["items"][-1]["id"]
        with SSEReader(f"{server.url}/v1/conversations/{cid}/events?after={last_seen}") as stream:
            waiting = stream.wait_for(lambda e: e["event"] == "status")
            assert waiting["data"] == {
                "status": "handoff",
                "handoff_status": "waiting",
                "queue_position": 1,
                "operator": None,
            }
            http.post(f"/v1/handoffs/{hid}/claim", headers=operator)
            assigned = stream.wait_for(lambda e: e["event"] == "status")
            assert assigned["data"]["operator"] == "anna"
            sent = http.post(
                f"/v1/handoffs/{hid}/messages",
                json={"text": "Здравствуйте, я Анна"},
                headers=operator,
            ).json()
            got = stream.wait_for(lambda e: e["event"] == "message")
            assert got["data"] == sent
            assert got["id"] == str(sent["id"])
            http.post(f"/v1/handoffs/{hid}/resolve", headers=operator)
            back = stream.wait_for(lambda e: e["event"] == "status")
            assert back["data"]["status"] == "bot"
            assert back["data"]["handoff_status"] == "resolved"
        polled = http.get(f"/v1/conversations/{cid}/messages", params={"after": last_seen}).json()
        assert [m["text"] for m in polled["items"]] == ["Здравствуйте, я Анна"]


def test_customer_stream_resumes_after_last_event_id(live_server_factory: Any) -> None:
    server = live_server_factory(workers=2)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        operator = _operator(http, "anna")
        reply = _hand_off(http)
        cid, hid = reply["conversation_id"], reply["handoff_id"]
        http.post(f"/v1/handoffs/{hid}/claim", headers=operator)
        first = http.post(
            f"/v1/handoffs/{hid}/messages", json={"text": "one"}, headers=operator
        ).json()
        second = http.post(
            f"/v1/handoffs/{hid}/messages", json={"text": "two"}, headers=operator
        ).json()
        url = f"{server.url}/v1/conversations/{cid}/events"
        with SSEReader(url, {"Last-Event-ID": str(first["id"])}) as stream:
            got = stream.wait_for(lambda e: e["event"] == "message")
            assert got["data"]["id"] == second["id"]
        with SSEReader(url) as stream:  # no resume point: the whole transcript
            texts = [
                stream.wait_for(lambda e: e["event"] == "message")["data"]["role"] for _ in range(4)
            ]
            assert texts == ["customer", "bot", "operator", "operator"]


def test_a_stop_is_not_held_by_an_open_event_stream(live_server_factory: Any) -> None:
    """uvicorn waits for the open requests when it stops, and an event stream ends only when
    its client goes: without the grace limit (Dockerfile, `make run`) a restart waits for every
    operator console to close. The stream is cut instead; its client reconnects."""
    server = live_server_factory()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        token = http.post(
            "/v1/tokens", json={"name": "anna", "role": "operator"}, headers=ADMIN
        ).json()["token"]
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as stream:
        request = f"GET /v1/operator/events?access_token={token} HTTP/1.1\r\nHost: x\r\n\r\n"
        stream.sendall(request.encode())
        assert stream.recv(4096).startswith(b"HTTP/1.1 200")
        server.process.send_signal(signal.SIGINT)
        server.process.wait(timeout=GRACEFUL_SHUTDOWN_SECONDS + 10)  # TimeoutExpired if held
        while stream.recv(4096):  # the server closed the stream: it reads to its end
            pass
