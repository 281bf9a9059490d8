"""Serving the widget and the demo page, and which endpoints other sites may call."""

from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings

PREFLIGHT = {
    "Origin": "https://shop.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}


def test_widget_script_is_served_as_javascript(client: TestClient) -> None:
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "attachShadow" in response.text
    assert "innerHTML" not in response.text.split("*/", 1)[1]  # past the header comment


def test_demo_page_embeds_the_widget_with_one_tag(client: TestClient) -> None:
    page = client.get("/demo?lang=ru")
    assert page.status_code == 200
    assert page.text.count("<script") == 1
    assert (
        '<script src="/widget.js" data-title="Veterok support" data-lang="ru" async>' in page.text
    )


def test_demo_page_rejects_an_unknown_language(client: TestClient) -> None:
    response = client.get("/demo", params={"lang": '"><script>'})
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/invalid-input"


def test_static_assets_do_not_leave_their_folder(client: TestClient) -> None:
    assert client.get("/web/static/demo.css").status_code == 200
    for name in ("..%2Fsettings.py", "router.py", "widget.js.map"):
        assert client.get(f"/web/static/{name}").status_code == 404


def test_other_sites_may_call_the_customer_api(client: TestClient) -> None:
    for path in ("/v1/chat", "/v1/messages/1/feedback", "/v1/conversations/abc/handoff"):
        response = client.options(path, headers=PREFLIGHT)
        assert response.status_code == 200, path
        assert response.headers["access-control-allow-origin"] == "*"
    chat = client.post(
        "/v1/chat",
        json={"user": {"id": "u1"}, "text": "how do I pay by card"},
        headers={"Origin": "https://shop.example"},
    )
    assert chat.headers["access-control-allow-origin"] == "*"


def test_other_sites_may_not_call_the_staff_api(client: TestClient) -> None:
    response = client.options("/v1/articles", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in response.headers
    listing = client.get("/v1/tokens", headers={"Origin": "https://shop.example"})
    assert "access-control-allow-origin" not in listing.headers


def test_allowed_origins_setting_limits_the_sites(database_url: str) -> None:
    settings = make_settings(database_url, widget_allowed_origins="https://veterok.example")
    with TestClient(create_app(settings)) as client:
        other = client.options("/v1/chat", headers=PREFLIGHT)
        assert other.status_code == 400
        own = client.options("/v1/chat", headers={**PREFLIGHT, "Origin": "https://veterok.example"})
        assert own.headers["access-control-allow-origin"] == "https://veterok.example"
