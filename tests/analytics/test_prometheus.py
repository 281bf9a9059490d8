"""/metrics: latency histograms by route template, messages, handoffs, the queue."""

import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.factories import chat


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in Prometheus text format, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_show_messages_handoffs_queue_and_latency_by_route(client: TestClient) -> None:
    chat(client, "Как оплатить картой?")
    chat(client, "позовите оператора")
    conversation = chat(client, "квантовая телепортация холодильника")["conversation_id"]
    client.get(f"/v1/conversations/{conversation}/messages")
    response = client.get("/metrics")  # no token needed
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert sample(text, "answerdesk_chat_messages_total", status="answered") == 1
    assert sample(text, "answerdesk_chat_messages_total", status="handoff") == 2
    assert sample(text, "answerdesk_handoffs_total", reason="human_request") == 1
    assert sample(text, "answerdesk_handoffs_total", reason="low_confidence") == 1
    assert sample(text, "answerdesk_handoff_queue_length") == 2
    assert sample(text, "answerdesk_handoff_oldest_waiting_seconds") >= 0  # type: ignore[operator]
    # the route template, not the URL with its id
    count = sample(
        text,
        "answerdesk_http_request_duration_seconds_count",
        route="/v1/conversations/{conversation_id}/messages",
        method="GET",
        status="200",
    )
    assert count is not None and count >= 1
    assert conversation not in text
    assert sample(
        text, "answerdesk_http_request_duration_seconds_bucket", route="/v1/chat", le="+Inf"
    )


def test_queue_gauges_drop_when_an_operator_claims(client: TestClient) -> None:
    from tests.factories import make_token

    chat(client, "позовите оператора")
    operator = make_token(client, "operator")
    [item] = client.get("/v1/handoffs", headers=operator).json()["items"]
    assert sample(client.get("/metrics").text, "answerdesk_handoff_queue_length") == 1
    client.post(f"/v1/handoffs/{item['id']}/claim", headers=operator)
    text = client.get("/metrics").text
    assert sample(text, "answerdesk_handoff_queue_length") == 0
    assert sample(text, "answerdesk_handoff_oldest_waiting_seconds") == 0


@pytest.mark.live
def test_two_workers_report_the_same_totals_in_multiprocess_mode(
    live_server_factory, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    directory = tmp_path / "prometheus"
    directory.mkdir()
    server = live_server_factory(workers=2, PROMETHEUS_MULTIPROC_DIR=str(directory))
    for _ in range(20):
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    chat_response = httpx.post(
        f"{server.url}/v1/chat",
        json={"user": {"id": "u-live"}, "text": "позовите оператора"},
        timeout=30,
    )
    assert chat_response.json()["status"] == "handoff"
    for _ in range(6):  # a fresh connection each time: either worker may answer
        text = httpx.get(f"{server.url}/metrics", timeout=30).text
        healthz = sample(
            text, "answerdesk_http_request_duration_seconds_count", route="/healthz", method="GET"
        )
        # readyz polling at start-up is counted too; /healthz only by this test
        assert healthz == 20
        assert sample(text, "answerdesk_handoff_queue_length") == 1
        assert sample(text, "answerdesk_handoffs_total", reason="human_request") == 1
