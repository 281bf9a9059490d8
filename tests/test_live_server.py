"""The service as deployed: uvicorn with two workers sharing one database."""

import httpx

from tests.conftest import new_user


def test_two_workers_answer_and_share_conversations(live_server_factory) -> None:  # type: ignore[no-untyped-def]
    server = live_server_factory(workers=2)
    user = new_user()
    with httpx.Client(base_url=server.url, timeout=10) as http:
        first = http.post(
            "/v1/chat", json={"channel": "web", "user": user, "text": "how do I pay by card"}
        )
        assert first.status_code == 200
        conversation_id = first.json()["conversation_id"]
        for _ in range(6):  # requests land on both workers
            again = http.post(
                "/v1/chat",
                json={
                    "channel": "web",
                    "user": user,
                    "text": "thanks",
                    "conversation_id": conversation_id,
                },
            )
            assert again.status_code == 200
        history = http.get(f"/v1/conversations/{conversation_id}/messages").json()
        assert len(history["items"]) == 14
