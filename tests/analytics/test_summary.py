"""The summary's formulas on a hand-computed scenario (docs/METRICS.md), on both databases."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from app.analytics import rollup
from tests.analytics.conftest import ADMIN
from tests.analytics.factory import Story

T0 = datetime(2025, 3, 10, 10, 0, tzinfo=UTC)
NOW = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def build_scenario(client: TestClient) -> None:
    """Eight conversations; the expected figures are worked out in test_scenario_summary."""
    # c1: answered, 👍, the customer never comes back -> automated and durable.
    c1 = Story(client, T0, "u1").ask("как оплатить картой")
    c1.vote(c1.bot("answered", MINUTE, article="pay-by-card"), +1, 2 * MINUTE)
    # c2 (telegram): answered, quiet for 24 h -> automated; u2 is back on day 3 -> not durable.
    Story(client, T0 + 2 * HOUR, "u2", channel="telegram").ask("тарифы").bot(
        "answered", MINUTE, article="tariffs"
    )
    # c3 (en): clarify, the customer picks choice 2, then 👎 on that answer -> not automated.
    c3 = Story(client, T0 + 3 * HOUR, "u3", language="en").ask("router")
    c3.bot("clarify", MINUTE, choices=("router-rent", "router-setup", "wifi"))
    c3.ask("2", 2 * MINUTE)
    c3.vote(c3.bot("answered", 3 * MINUTE, article="router-setup"), -1, 4 * MINUTE)
    # c4: clarify ignored -> handoff; answered by a person in 120 s, resolved in 600 s, rated 4.
    c4 = Story(client, T0 + 4 * HOUR, "u4").ask("интернет")
    c4.bot("clarify", MINUTE, choices=("a", "b", "c"))
    c4.ask("ну интернет же", 2 * MINUTE)
    c4.bot("handoff", 3 * MINUTE, reason="clarify_ignored")
    c4.hand_off(
        "clarify_ignored",
        3 * MINUTE,
        first_response=timedelta(seconds=120),
        resolved=timedelta(seconds=600),
        rating=4,
    )
    # c5: u2 again on day 3, small talk only.
    Story(client, T0 + 3 * DAY, "u2").ask("привет").bot("smalltalk")
    # c6: asks for a person straight away: 60 s to the first answer, 300 s to resolve, rated 5.
    c6 = Story(client, T0 + 5 * HOUR, "u6").ask("позовите оператора")
    c6.bot("handoff", reason="human_request")
    c6.hand_off(
        "human_request",
        first_response=timedelta(seconds=60),
        resolved=timedelta(seconds=300),
        rating=5,
    )
    # c7: answered two hours before "now": still inside its 24 h window -> not yet automated.
    Story(client, NOW - 2 * HOUR, "u7").ask("баланс").bot("answered", article="balance")
    # c8: low confidence -> handoff still waiting.
    c8 = Story(client, T0 + 6 * HOUR, "u8").ask("квантовый роутер")
    c8.bot("handoff", reason="low_confidence")
    c8.hand_off("low_confidence")


EXPECTED = {
    "all_conversations": 8,
    "conversations": 6,  # c1 c2 c3 c4 c7 c8
    "smalltalk_only_conversations": 1,  # c5
    "direct_handoff_conversations": 1,  # c6
    "kb_questions": 8,  # 1 + 1 + 2 + 2 + 1 + 1
    "deflected_conversations": 4,  # c1 c2 c3 c7
    "deflection_rate": 0.666667,
    "automated_resolutions": 2,  # c1 (👍) c2 (24 h quiet)
    "automated_resolution_rate": 0.333333,
    "durable_resolutions": 1,  # c1
    "durable_resolution_rate": 0.166667,
    "handed_off_conversations": 2,  # c4 c8
    "handoff_rate": 0.333333,
    "handoffs": 3,
    "handoffs_by_reason": {"clarify_ignored": 1, "human_request": 1, "low_confidence": 1},
    "clarify_replies": 2,
    "clarify_rate": 0.25,  # 2 of 8 KB replies
    "clarify_choice_taken_rate": 0.5,  # c3 took one, c4 did not
    "first_human_response_seconds": {"p50": 90.0, "p90": 114.0},  # [60, 120]
    "resolution_seconds": {"p50": 450.0, "p90": 570.0},  # [300, 600]
    "csat": {
        "thumbs_up": 1,
        "thumbs_down": 1,
        "helpful_share": 0.5,
        "ratings_average": 4.5,
        "ratings_count": 2,
    },
    "savings": {"hours": 0.27, "money": 1.98, "currency": "USD"},  # 2 x 8 min, 2 x 0.99
}


@pytest.fixture
def scenario(client: TestClient) -> TestClient:
    build_scenario(client)
    client.app.state.clock = lambda: NOW  # type: ignore[attr-defined]
    return client


def summary(client: TestClient, **params: str) -> dict:
    response = client.get("/v1/analytics/summary", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def test_scenario_summary_matches_hand_computed_figures(scenario: TestClient) -> None:
    body = summary(scenario, **{"from": "2025-03-01", "to": "2025-03-20"})
    assert {key: body[key] for key in EXPECTED} == EXPECTED
    assert body["from"] == "2025-03-01T00:00:00+00:00"
    assert body["to"] == "2025-03-21T00:00:00+00:00"  # a date "to" includes that day


def test_partial_days_at_the_edges_give_the_same_figures(scenario: TestClient) -> None:
    whole_days = summary(scenario, **{"from": "2025-03-01", "to": "2025-03-20"})
    edges = summary(scenario, **{"from": "2025-03-10T09:30:00Z", "to": "2025-03-20T11:00:00"})
    assert {k: edges[k] for k in EXPECTED} == {k: whole_days[k] for k in EXPECTED}


def test_a_range_that_cuts_a_day_counts_only_conversations_started_inside(
    scenario: TestClient,
) -> None:
    body = summary(scenario, **{"from": "2025-03-10T10:30:00Z", "to": "2025-03-10T14:30:00Z"})
    assert body["all_conversations"] == 3  # c2 at 12:00, c3 at 13:00, c4 at 14:00
    assert body["conversations"] == 3
    assert body["automated_resolutions"] == 1  # c2


def test_channel_and_language_filters(scenario: TestClient) -> None:
    period = {"from": "2025-03-01", "to": "2025-03-20"}
    telegram = summary(scenario, channel="telegram", **period)
    assert telegram["conversations"] == 1
    assert telegram["automated_resolution_rate"] == 1.0
    english = summary(scenario, language="en", **period)
    assert english["conversations"] == 1
    assert english["clarify_choice_taken_rate"] == 1.0
    assert english["csat"]["thumbs_down"] == 1


def test_answer_counts_as_automated_resolution_only_after_24_quiet_hours(
    client: TestClient,
) -> None:
    start = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
    Story(client, start, "u-quiet").ask("тарифы").bot("answered", article="tariffs")
    period = {"from": "2025-05-01", "to": "2025-05-31"}
    client.app.state.clock = lambda: start + 23 * HOUR  # type: ignore[attr-defined]
    assert summary(client, **period)["automated_resolutions"] == 0
    client.app.state.clock = lambda: start + 25 * HOUR  # type: ignore[attr-defined]
    assert summary(client, **period)["automated_resolutions"] == 1
    assert summary(client, **period)["durable_resolutions"] == 0  # 7 days not over yet
    client.app.state.clock = lambda: start + 8 * DAY  # type: ignore[attr-defined]
    assert summary(client, **period)["durable_resolutions"] == 1


def test_new_contact_on_another_channel_within_7_days_is_not_durable(client: TestClient) -> None:
    start = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
    Story(client, start, "u-back").ask("тарифы").bot("answered", article="tariffs")
    client.app.state.clock = lambda: start + 10 * DAY  # type: ignore[attr-defined]
    period = {"from": "2025-05-01", "to": "2025-05-31"}
    assert summary(client, **period)["durable_resolutions"] == 1
    Story(client, start + 6 * DAY, "u-back", channel="telegram").ask("привет").bot("smalltalk")
    body = summary(client, **period)
    assert body["automated_resolutions"] == 1
    assert body["durable_resolutions"] == 0


def test_answer_after_a_fallback_is_not_automated_until_answered(client: TestClient) -> None:
    start = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
    story = Story(client, start, "u-fallback").ask("роутер")
    story.bot("clarify", choices=("a", "b", "c"))
    client.app.state.clock = lambda: start + 2 * DAY  # type: ignore[attr-defined]
    body = summary(client, **{"from": "2025-05-01", "to": "2025-05-31"})
    assert body["deflected_conversations"] == 1
    assert body["automated_resolutions"] == 0  # the last KB reply was a clarify


def test_rebuild_gives_the_same_summary_as_the_incremental_roll_ups(scenario: TestClient) -> None:
    period = {"from": "2025-03-01", "to": "2025-03-20"}
    incremental = summary(scenario, **period)
    rollup.rebuild(session_factory=scenario.app.state.session_factory, now=NOW)  # type: ignore[attr-defined]
    assert summary(scenario, **period) == incremental


def test_summary_defaults_to_the_last_30_days(scenario: TestClient) -> None:
    body = summary(scenario)
    assert body["to"] == NOW.isoformat()
    assert body["from"] == (NOW - 30 * DAY).isoformat()
    assert body["all_conversations"] == 8
