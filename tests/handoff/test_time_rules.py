"""Rules that depend on the clock: business hours, the SLA requeue, returning after a resolve."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.handoff.background import requeue_once
from app.handoff.hours import BusinessHours
from app.handoff.service import requeue_stale_claims
from tests.conftest import new_user
from tests.factories import chat
from tests.handoff.conftest import hand_off, handoff_of, say, token

MOSCOW_HOURS = {"business_hours": "mon-fri 09:00-18:00", "business_timezone": "Europe/Moscow"}
SATURDAY_NOON_MSK = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
TUESDAY_NOON_MSK = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
TUESDAY_NIGHT_MSK = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 23:00 in Moscow


def test_outside_business_hours_customer_is_told_when_people_answer(
    client_with: Callable[..., Any],
) -> None:
    with client_with(**MOSCOW_HOURS) as client:
        client.app.state.clock = lambda: SATURDAY_NOON_MSK
        reply = hand_off(client)
        assert "в понедельник после 09:00" in reply["reply"]
        assert "Europe/Moscow" in reply["reply"]
        assert handoff_of(client, reply["conversation_id"])["status"] == "waiting"
        english = hand_off(client, "I want to talk to a human")
        assert "on Monday after 09:00" in english["reply"]


def test_late_evening_handoff_is_promised_for_tomorrow(client_with: Callable[..., Any]) -> None:
    with client_with(**MOSCOW_HOURS) as client:
        client.app.state.clock = lambda: TUESDAY_NIGHT_MSK
        assert "завтра после 09:00" in hand_off(client)["reply"]


def test_during_business_hours_customer_gets_queue_position(
    client_with: Callable[..., Any],
) -> None:
    with client_with(**MOSCOW_HOURS, handoff_minutes_per_customer=4) as client:
        client.app.state.clock = lambda: TUESDAY_NOON_MSK
        hand_off(client)
        second = hand_off(client)
        assert "2-й в очереди" in second["reply"]
        assert "8 мин" in second["reply"]


def test_business_hours_schedule_reads_days_and_zones() -> None:
    hours = BusinessHours.from_settings("mon-fri 09:00-18:00; sat 10:00-14:00", "Europe/Moscow")
    assert hours.is_open(TUESDAY_NOON_MSK)
    assert hours.is_open(SATURDAY_NOON_MSK)
    assert not hours.is_open(TUESDAY_NIGHT_MSK)
    opening = hours.next_opening(TUESDAY_NIGHT_MSK)
    assert (opening.weekday(), opening.hour) == (2, 9)
    assert BusinessHours.from_settings("", "UTC").is_open(TUESDAY_NIGHT_MSK)


def test_bad_business_hours_setting_is_refused() -> None:
    import pytest
    from pydantic import ValidationError

    from app.settings import Settings

    with pytest.raises(ValidationError, match="business hours"):
        Settings(business_hours="weekdays 9-6")
    with pytest.raises(ValidationError, match="time zone"):
        Settings(business_timezone="Mars/Olympus")


def _claim_at(client: TestClient, handoff_id: int, at: datetime, who: dict[str, str]) -> None:
    client.app.state.clock = lambda: at
    assert client.post(f"/v1/handoffs/{handoff_id}/claim", headers=who).status_code == 200


def test_silent_claim_goes_back_to_queue_after_sla(
    client: TestClient, operator: dict[str, str]
) -> None:
    start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    silent = hand_off(client)["handoff_id"]
    answered = hand_off(client)["handoff_id"]
    _claim_at(client, silent, start, operator)
    _claim_at(client, answered, start, operator)
    client.post(f"/v1/handoffs/{answered}/messages", json={"text": "Я тут"}, headers=operator)
    factory = client.app.state.session_factory
    with factory() as session:
        assert (
            requeue_stale_claims(session=session, minutes=10, now=start + timedelta(minutes=9))
            == []
        )
        moved = requeue_stale_claims(session=session, minutes=10, now=start + timedelta(minutes=11))
        session.commit()
    assert moved == [silent]
    back = client.get(f"/v1/handoffs/{silent}", headers=operator).json()
    assert back["status"] == "waiting" and back["operator_name"] is None
    assert client.get(f"/v1/handoffs/{answered}", headers=operator).json()["status"] == "assigned"
    boris = token(client, "boris")
    assert client.post(f"/v1/handoffs/{silent}/claim", headers=boris).status_code == 200


def test_sla_background_check_uses_the_setting(client_with: Callable[..., Any]) -> None:
    with client_with(handoff_reassign_minutes=0.0001) as client:
        operator = token(client, "anna")
        handoff_id = hand_off(client)["handoff_id"]
        _claim_at(client, handoff_id, datetime.now(UTC) - timedelta(minutes=1), operator)
        assert requeue_once(client.app) == [handoff_id]
        assert client.get(f"/v1/handoffs/{handoff_id}", headers=operator).json()["status"] == (
            "waiting"
        )


def test_after_resolve_customer_goes_back_to_bot_by_default(
    client: TestClient, operator: dict[str, str]
) -> None:
    reply = hand_off(client)
    client.post(f"/v1/handoffs/{reply['handoff_id']}/claim", headers=operator)
    client.post(f"/v1/handoffs/{reply['handoff_id']}/resolve", headers=operator)
    assert say(client, reply, "Как оплатить картой?")["status"] == "answered"


def test_after_resolve_same_operator_gets_the_next_message_within_window(
    client_with: Callable[..., Any],
) -> None:
    with client_with(after_resolve_mode="same_operator", after_resolve_minutes=30) as client:
        operator = token(client, "anna")
        start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
        client.app.state.clock = lambda: start
        reply = hand_off(client)
        client.post(f"/v1/handoffs/{reply['handoff_id']}/claim", headers=operator)
        client.post(f"/v1/handoffs/{reply['handoff_id']}/resolve", headers=operator)
        client.app.state.clock = lambda: start + timedelta(minutes=10)
        soon = say(client, reply, "и ещё вопрос: как оплатить картой?")
        assert soon["status"] == "handoff" and soon["reply"] == ""
        again = handoff_of(client, reply["conversation_id"])
        assert again["status"] == "assigned" and again["operator_name"] == "anna"
        assert again["previous_handoff_id"] == reply["handoff_id"]
        client.post(f"/v1/handoffs/{again['id']}/resolve", headers=operator)
        client.app.state.clock = lambda: start + timedelta(minutes=50)
        late = say(client, reply, "Как оплатить картой?")
        assert late["status"] == "answered"


def test_returning_conversation_without_people_is_untouched(
    client_with: Callable[..., Any],
) -> None:
    with client_with(after_resolve_mode="same_operator") as client:
        user = new_user()
        first = chat(client, "как оплатить картой", user=user)
        again = chat(
            client, "как оплатить картой", user=user, conversation_id=first["conversation_id"]
        )
        assert again["status"] == "answered"
