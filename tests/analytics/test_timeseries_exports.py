"""Time series by day and hour, and the CSV export of every analytics response."""

import csv
import io
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.analytics.conftest import ADMIN
from tests.analytics.factory import Story

DAY1 = datetime(2025, 4, 7, 9, 0, tzinfo=UTC)


def three_days(client: TestClient) -> None:
    """Day 1: two answered. Day 2: nothing. Day 3: one answered, one handed off (hour 15)."""
    for hour, user in ((0, "a"), (1, "b")):
        Story(client, DAY1 + timedelta(hours=hour), user).ask("q").bot("answered", article="x")
    day3 = DAY1 + timedelta(days=2)
    Story(client, day3, "c").ask("q").bot("answered", article="x")
    missed = Story(client, day3 + timedelta(hours=6), "d").ask("q")
    missed.bot("handoff", reason="low_confidence")
    missed.hand_off("low_confidence")
    client.app.state.clock = lambda: DAY1 + timedelta(days=5)  # type: ignore[attr-defined]


def series(client: TestClient, **params: str) -> dict:
    response = client.get("/v1/analytics/timeseries", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def test_daily_series_has_a_point_for_every_day_including_empty_ones(client: TestClient) -> None:
    three_days(client)
    period = {"from": "2025-04-07", "to": "2025-04-09", "interval": "day"}
    body = series(client, metric="conversations", **period)
    assert body["metric"] == "conversations" and body["interval"] == "day"
    assert [(p["t"], p["value"]) for p in body["points"]] == [
        ("2025-04-07T00:00:00+00:00", 2.0),
        ("2025-04-08T00:00:00+00:00", 0.0),
        ("2025-04-09T00:00:00+00:00", 2.0),
    ]
    deflection = series(client, metric="deflection_rate", **period)
    assert [p["value"] for p in deflection["points"]] == [1.0, 0.0, 0.5]
    handoff = series(client, metric="handoff_rate", **period)
    assert [p["value"] for p in handoff["points"]] == [0.0, 0.0, 0.5]
    automated = series(client, metric="automated_resolution_rate", **period)
    assert [p["value"] for p in automated["points"]] == [1.0, 0.0, 0.5]


def test_hourly_series_counts_each_hour(client: TestClient) -> None:
    three_days(client)
    body = series(
        client,
        metric="conversations",
        interval="hour",
        **{"from": "2025-04-09T08:00:00Z", "to": "2025-04-09T16:00:00Z"},
    )
    values = {p["t"]: p["value"] for p in body["points"]}
    assert len(values) == 8
    assert values["2025-04-09T09:00:00+00:00"] == 1.0
    assert values["2025-04-09T15:00:00+00:00"] == 1.0
    assert sum(values.values()) == 2.0


def read_csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


def test_every_response_exports_as_csv_with_a_header_row(client: TestClient) -> None:
    three_days(client)
    period = {"from": "2025-04-07", "to": "2025-04-09", "format": "csv"}
    summary = read_csv(client.get("/v1/analytics/summary", params=period, headers=ADMIN))
    assert summary[0] == ["metric", "value"]
    assert ["conversations", "4"] in summary
    assert ["handoffs_by_reason.low_confidence", "1"] in summary
    assert ["csat.thumbs_up", "0"] in summary
    points = read_csv(
        client.get(
            "/v1/analytics/timeseries",
            params={**period, "metric": "conversations"},
            headers=ADMIN,
        )
    )
    assert points[0] == ["t", "value", "conversations"]
    assert points[1] == ["2025-04-07T00:00:00+00:00", "2.0", "2"]
    articles = read_csv(client.get("/v1/analytics/articles", params=period, headers=ADMIN))
    assert articles[0] == [
        "article_id",
        "title",
        "served",
        "helpful_share",
        "thumbs_up",
        "thumbs_down",
        "handoffs_after",
    ]
    assert articles[1][0] == "x" and articles[1][2] == "3"
    gaps = read_csv(client.get("/v1/analytics/gaps", params=period, headers=ADMIN))
    assert gaps[0] == ["id", "label", "count", "previous", "change", "language", "examples"]


def test_csv_neutralises_customer_text_that_looks_like_a_formula(bare_client: TestClient) -> None:
    from tests.factories import chat

    assert chat(bare_client, '=HYPERLINK("http://evil")')["status"] == "handoff"
    text = bare_client.get("/v1/analytics/gaps?format=csv", headers=ADMIN).text
    assert "'=HYPERLINK" in text
