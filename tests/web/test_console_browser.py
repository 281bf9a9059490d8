"""The operator console and KB editor in real headless Chromium against a live server.

Each test signs in with a token made through the API, drives the pages the way a person
would (roles, labels, visible text) and checks the result through the public API: the
customer's conversation, the bot's answers, the stored articles.
"""

import re
import uuid
from typing import Any

import httpx
import pytest

from app.main import create_app
from tests.web.conftest import ADMIN, ask, new_context, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live]

expect = pytest.importorskip("playwright.sync_api").expect

ANALYTICS_API = any(p.startswith("/v1/analytics/") for p in create_app().openapi()["paths"])


def make_token(api: httpx.Client, role: str) -> str:
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    response = api.post("/v1/tokens", json={"name": name, "role": role}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()["token"]


def sign_in(page: Any, base_url: str, token: str, hash_: str = "") -> None:
    page.goto(f"{base_url}/console{hash_}")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


_CUSTOMERS: dict[str, str] = {}  # conversation id -> the customer's user id


def customer_says(api: httpx.Client, text: str, conversation_id: str | None = None) -> dict:
    """The chat API as a customer "Анна" on a web page; continues a conversation when given."""
    user_id = _CUSTOMERS.get(conversation_id or "", f"c-{uuid.uuid4().hex[:8]}")
    body: dict[str, Any] = {
        "channel": "web",
        "user": {"id": user_id, "name": "Анна"},
        "text": text,
        "metadata": {"page_url": "https://veterok.example/tariffs"},
    }
    if conversation_id:
        body["conversation_id"] = conversation_id
    response = api.post("/v1/chat", json=body)
    assert response.status_code == 200, response.text
    reply = response.json()
    _CUSTOMERS[reply["conversation_id"]] = user_id
    return reply


def handoff_for(api: httpx.Client, conversation_id: str) -> dict:
    token = {"Authorization": f"Bearer {make_token(api, 'operator')}"}
    for status in ("waiting", "assigned", "resolved"):
        items = api.get("/v1/handoffs", params={"status": status}, headers=token).json()["items"]
        for item in items:
            if item["conversation_id"] == conversation_id:
                return item
    raise AssertionError(f"no handoff for {conversation_id}")


def vague_question(api: httpx.Client) -> str:
    for text in ("роутер", "оплата", "пароль", "интернет"):
        if ask(api, text)["status"] == "clarify":
            return text
    pytest.fail("no vague Russian question gives choices with the demo knowledge base")


# Signing in


def test_a_wrong_token_is_refused_and_a_right_one_opens_the_queue(page, widget_server, api) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{widget_server.url}/console")
    screenshot(page, "console-01-login")
    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("This token is not valid.")
    sign_in(page, widget_server.url, make_token(api, "operator"))
    expect(page.get_by_role("heading", name="Queue", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Knowledge base")).to_have_count(0)
    assert page.evaluate("() => Object.keys(localStorage).some(k => k.includes('token'))") is False
    page.reload()  # the token lives in sessionStorage: a reload keeps the session
    expect(page.get_by_role("heading", name="Queue", level=1)).to_be_visible()


def test_a_revoked_token_sends_the_operator_back_to_sign_in(page, widget_server, api) -> None:  # type: ignore[no-untyped-def]
    token = make_token(api, "editor")
    sign_in(page, widget_server.url, token)
    expect(page.get_by_role("heading", name="Knowledge base")).to_be_visible()
    tokens = api.get("/v1/tokens", headers=ADMIN).json()
    token_id = next(t["id"] for t in tokens if t["name"].startswith("editor-") and not t["revoked"])
    for row in tokens:
        if row["role"] == "editor" and not row["revoked"]:
            token_id = row["id"]
    assert api.delete(f"/v1/tokens/{token_id}", headers=ADMIN).status_code == 200
    page.get_by_role("link", name="Import").click()
    page.get_by_role("link", name="Articles").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text("Your session has ended: sign in again.")


def test_the_interface_follows_the_browser_language_and_the_switch(browser, widget_server) -> None:  # type: ignore[no-untyped-def]
    context = new_context(browser, locale="ru-RU")
    page = context.new_page()
    try:
        page.goto(f"{widget_server.url}/console")
        expect(page.get_by_role("button", name="Войти")).to_be_visible()
        expect(page.get_by_label("API-токен")).to_be_visible()
        page.get_by_role("button", name="English").click()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        page.reload()  # the choice is remembered
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        page.get_by_role("button", name="Русский").click()
        page.get_by_label("API-токен").fill("test-admin-token")
        page.get_by_role("button", name="Войти").click()
        expect(page.get_by_role("link", name="База знаний")).to_be_visible()
        expect(page.get_by_role("heading", name="Очередь", level=1)).to_be_visible()
        screenshot(page, "console-02-queue-ru")
    finally:
        context.close()


# The queue and a conversation


def test_a_new_handoff_appears_in_the_queue_live_with_its_reason_and_wait(
    page, widget_server, api
) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, widget_server.url, make_token(api, "operator"))
    expect(page.get_by_text("● Live")).to_be_visible()
    title_before = page.title()
    reply = customer_says(api, "позовите оператора")
    assert reply["status"] == "handoff"
    handoff = handoff_for(api, reply["conversation_id"])
    item = page.locator(f'.queue-item[data-handoff-id="{handoff["id"]}"]')
    expect(item).to_be_visible()  # no reload: it came over the event stream
    expect(item.locator(".badge.reason")).to_have_text("Asked for a person")
    expect(item.locator(".customer-name")).to_have_text("Анна")
    expect(item.locator(".since")).to_have_text(re.compile(r"^\d+ s$|^\d+ min \d\d s$"))
    expect(item.get_by_role("button", name="Claim")).to_be_enabled()
    expect(page).to_have_title(re.compile(r"^\(\d+!?\) Answerdesk console$"))
    assert page.title() != title_before or title_before.startswith("(")
    screenshot(page, "console-03-queue-live")


def replay_status_event(page: Any, handoff_id: int) -> None:
    """Delivers a status event for the handoff through the console's own event stream object,
    as the server's stream does when the claim's own event arrives after the page redrew."""
    page.evaluate(
        """async (id) => {
            const { live } = await import("/console/live.js");
            live.dispatchEvent(new CustomEvent("status", { detail: { handoff_id: id } }));
        }""",
        handoff_id,
    )


def test_a_live_status_event_keeps_what_the_operator_is_typing(page, widget_server, api) -> None:  # type: ignore[no-untyped-def]
    conversation_id = customer_says(api, "позовите оператора")["conversation_id"]
    handoff = handoff_for(api, conversation_id)
    sign_in(page, widget_server.url, make_token(api, "operator"), f"#/handoff/{handoff['id']}")
    page.get_by_role("button", name="Claim").click()
    box = page.get_by_label("Reply")
    note = page.get_by_label("Note")

    for field, first, rest in ((box, "Здравствуйте,", " Анна!"), (note, "перезвонить", " завтра")):
        field.click()
        field.type(first)
        # The event makes the page load the handoff again and redraw with it.
        with page.expect_response(lambda r: r.url.endswith(f"/v1/handoffs/{handoff['id']}")):
            replay_status_event(page, handoff["id"])
        page.keyboard.type(rest)  # into whatever has the focus now, as a person goes on typing
        expect(field).to_have_value(first + rest)
        expect(field).to_be_focused()


def test_operator_claims_sends_an_article_replies_and_resolves(page, widget_server, api) -> None:  # type: ignore[no-untyped-def]
    vague = vague_question(api)
    first = customer_says(api, vague)
    conversation_id = first["conversation_id"]
    assert customer_says(api, "позовите оператора", conversation_id)["status"] == "handoff"
    handoff = handoff_for(api, conversation_id)
    assert handoff["candidates"], "the handoff should carry the bot's candidate articles"
    candidate = handoff["candidates"][0]

    sign_in(page, widget_server.url, make_token(api, "operator"))
    item = page.locator(f'.queue-item[data-handoff-id="{handoff["id"]}"]')
    item.get_by_role("button", name="Claim").click()
    expect(page).to_have_url(re.compile(rf"#/handoff/{handoff['id']}$"))
    expect(page.get_by_role("heading", name=f"Conversation #{handoff['id']}")).to_be_visible()

    transcript = page.get_by_role("list", name="Transcript")
    expect(transcript.locator(".msg.customer").first).to_contain_text(vague)
    expect(transcript.locator(".msg.bot .badge.confidence").first).to_have_text(
        re.compile(r"confidence \d+%")
    )
    expect(page.locator(".details")).to_contain_text("Анна")
    expect(page.locator(".details")).to_contain_text("https://veterok.example/tariffs")

    # One click sends a suggested article.
    page.get_by_role("button", name=f"Send the article “{candidate['title']}”").click()
    expect(transcript.locator(".msg.operator")).to_have_count(1)

    # A canned reply goes into the box; the operator finishes it and sends.
    page.get_by_role("button", name="Thank you for waiting.").click()
    box = page.get_by_label("Reply")
    box.press("End")
    box.type(" Вот инструкция выше.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(transcript.locator(".msg.operator")).to_have_count(2)
    expect(box).to_have_value("")
    screenshot(page, "console-04-conversation")

    messages = api.get(f"/v1/conversations/{conversation_id}/messages").json()["items"]
    from_operator = [m for m in messages if m["role"] == "operator"]
    assert from_operator[0]["article_id"] == candidate["id"]
    assert from_operator[1]["text"] == "Thank you for waiting. Вот инструкция выше."

    # The customer writes back: it arrives live.
    customer_says(api, "спасибо, получилось", conversation_id)
    expect(transcript.locator(".msg.customer").last).to_have_text(re.compile("спасибо, получилось"))

    expect(page.get_by_label("Resolved by article")).to_have_value(candidate["id"])
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text(f"Resolved by article {candidate['id']}")).to_be_visible()
    resolved = handoff_for(api, conversation_id)
    assert resolved["status"] == "resolved"
    assert resolved["resolution_article_id"] == candidate["id"]


def test_release_puts_the_conversation_back_in_the_queue(page, widget_server, api) -> None:  # type: ignore[no-untyped-def]
    conversation_id = customer_says(api, "позовите оператора")["conversation_id"]
    handoff = handoff_for(api, conversation_id)
    sign_in(page, widget_server.url, make_token(api, "operator"), f"#/handoff/{handoff['id']}")
    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_label("Reply")).to_be_visible()
    page.get_by_role("button", name="Back to the queue").click()
    expect(page.get_by_role("button", name="Claim")).to_be_visible()
    assert handoff_for(api, conversation_id)["status"] == "waiting"


# The knowledge base


def test_editing_an_article_changes_the_bots_answer_and_restore_undoes_it(
    page, widget_server, api
) -> None:  # type: ignore[no-untyped-def]
    question = "how do I pay by card"
    before = ask(api, question)
    assert before["article"]["id"] == "pay-by-card-en"
    sign_in(page, widget_server.url, make_token(api, "editor"))
    page.get_by_placeholder("Search titles, text, phrasings…").fill("card")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.articles tbody tr").first).to_be_visible()
    screenshot(page, "console-05-kb-list")
    page.get_by_role("link", name="How to pay for your internet by card").click()
    expect(page.get_by_role("heading", name="Edit article")).to_be_visible()
    preview = page.get_by_role("region", name="Preview")
    expect(preview.locator("ol > li")).to_have_count(4)
    screenshot(page, "console-05b-editor")

    body = page.get_by_label("Text (Markdown)")
    body.fill(body.input_value() + "\n\n**New:** cards of *any* bank abroad work too.")
    expect(preview.locator("strong").last).to_have_text("New:")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(re.compile("^Saved at"))).to_be_visible()

    after = ask(api, question)
    assert "cards of *any* bank abroad work too" in after["reply"]

    revisions = page.locator(".revisions tbody tr")
    expect(revisions).to_have_count(2)
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Restore revision 1").click()
    expect(page.get_by_text("Revision 1 restored.")).to_be_visible()
    expect(revisions).to_have_count(3)
    assert "abroad" not in ask(api, question)["reply"]
    screenshot(page, "console-06-revisions")


def test_the_preview_shows_html_in_an_article_as_text(page, widget_server, api) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, widget_server.url, make_token(api, "editor"), "#/kb/new")
    page.get_by_label("Text (Markdown)").fill(
        '<img src=x onerror="window.hacked=1"> and [click](javascript:window.hacked=2) '
        "and [site](https://veterok.example)"
    )
    preview = page.get_by_role("region", name="Preview")
    expect(preview).to_contain_text('<img src=x onerror="window.hacked=1">')
    expect(preview.locator("img")).to_have_count(0)
    expect(preview.locator("a")).to_have_count(1)
    expect(preview.locator("a")).to_have_attribute("href", "https://veterok.example")
    assert page.evaluate("() => window.hacked") is None


def test_a_new_article_is_created_from_the_editor(page, widget_server, api) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, widget_server.url, make_token(api, "editor"), "#/kb/new")
    page.get_by_label("Id").fill("pets-in-office-en")
    page.get_by_label("Title").fill("Can I bring my dog to the Veterok office")
    page.get_by_label("Language").fill("en")
    page.get_by_label("Phrasings").fill("can I bring a dog to your office\npets in the office")
    page.get_by_label("Text (Markdown)").fill(
        "Yes, **dogs on a lead** are welcome in every office."
    )
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"#/kb/article/pets-in-office-en$"))
    stored = api.get("/v1/articles/pets-in-office-en", headers=ADMIN).json()
    assert stored["questions"] == ["can I bring a dog to your office", "pets in the office"]
    assert stored["body"] == "Yes, **dogs on a lead** are welcome in every office."


def test_uploading_a_csv_shows_the_import_report(page, widget_server, api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    upload = tmp_path / "articles.csv"
    upload.write_text(
        "id,title,body,questions,language,tags\n"
        "gift-card-en,Gift cards,You can buy a gift card in the app.,buy a gift card|gift"
        " certificate,en,billing\n"
        "Bad Id!,Broken,No,,en,\n"
        "night-support-en,Night support,Support works 24/7.,do you work at night,en,support\n",
        encoding="utf-8",
    )
    sign_in(page, widget_server.url, make_token(api, "editor"), "#/kb/import")
    page.get_by_label("Files").set_input_files(str(upload))
    page.get_by_role("button", name="Upload").click()
    report = page.get_by_role("region", name="Import report")
    expect(report.locator(".stat.ok .stat-value")).to_have_text("2")
    expect(report.locator(".stat.bad .stat-value")).to_have_text("1")
    rejected = report.locator("table.rejected tbody tr")
    expect(rejected).to_have_count(1)
    expect(rejected.locator("td").nth(0)).to_have_text("articles.csv")
    expect(rejected.locator("td").nth(1)).to_have_text("3")
    expect(report.get_by_role("link", name="gift-card-en")).to_be_visible()
    screenshot(page, "console-07-import-report")
    assert api.get("/v1/articles/night-support-en", headers=ADMIN).status_code == 200


def test_an_operators_phrasing_proposal_is_approved_by_the_editor(page, widget_server, api) -> None:  # type: ignore[no-untyped-def]
    wording = f"карточкой мир {uuid.uuid4().hex[:4]} заплатить можно"
    conversation_id = customer_says(api, wording)["conversation_id"]
    customer_says(api, "позовите оператора", conversation_id)
    handoff = handoff_for(api, conversation_id)
    operator = {"Authorization": f"Bearer {make_token(api, 'operator')}"}
    assert api.post(f"/v1/handoffs/{handoff['id']}/claim", headers=operator).status_code == 200
    resolved = api.post(
        f"/v1/handoffs/{handoff['id']}/resolve",
        json={"article_id": "pay-by-card-ru"},
        headers=operator,
    )
    assert resolved.status_code == 200, resolved.text

    editor = make_token(api, "editor")
    pending = api.get("/v1/kb/suggestions", headers={"Authorization": f"Bearer {editor}"}).json()[
        "items"
    ]
    proposal = next(p for p in pending if p["handoff_id"] == handoff["id"])
    assert proposal["article_id"] == "pay-by-card-ru"

    sign_in(page, widget_server.url, editor, "#/kb/suggestions")
    card = page.locator(f'.suggestion[data-suggestion-id="{proposal["id"]}"]')
    expect(card.get_by_role("link", name="pay-by-card-ru")).to_be_visible()
    phrasing = card.get_by_role("textbox", name="Phrasing")
    expect(phrasing).to_have_value(proposal["phrasing"])
    screenshot(page, "console-08-proposals")
    phrasing.fill(wording + " картой")  # the editor tidies the wording before approving
    card.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Approved: the phrasing was added to the article.")).to_be_visible()
    expect(card).to_have_count(0)
    article = api.get("/v1/articles/pay-by-card-ru", headers=ADMIN).json()
    assert wording + " картой" in article["questions"]


# Analytics


def test_pages_built_on_analytics_say_so_when_it_is_not_deployed(page, widget_server) -> None:  # type: ignore[no-untyped-def]
    # The analytics API is another service's: the browser is made to see it missing.
    page.route(
        re.compile(r".*/v1/analytics/.*"),
        lambda route: route.fulfill(
            status=404,
            content_type="application/problem+json",
            body='{"type": "/problems/not-found", "title": "Not found", "status": 404,'
            ' "detail": "Not Found"}',
        ),
    )
    sign_in(page, widget_server.url, "test-admin-token", "#/dashboard")
    expect(page.get_by_role("heading", name="Not available yet")).to_be_visible()
    page.goto(f"{widget_server.url}/console#/kb/gaps")
    expect(page.get_by_role("heading", name="Not available yet")).to_be_visible()


@pytest.mark.skipif(not ANALYTICS_API, reason="the analytics API (issue 6) is not in this build")
def test_the_dashboard_draws_its_charts_from_analytics(page, widget_server, api) -> None:  # type: ignore[no-untyped-def]
    for text in ("how do I pay by card", "позовите оператора", "как сменить тариф"):
        customer_says(api, text)
    sign_in(page, widget_server.url, "test-admin-token", "#/dashboard")
    for name in ("Deflection rate by day", "Handoff rate by day"):
        chart = page.get_by_role("img", name=name)
        expect(chart).to_be_visible()
        points = int(chart.get_attribute("data-points") or "0")
        assert points >= 1, name
        expect(chart.locator("circle.point")).to_have_count(points)
        assert chart.locator("path.line").get_attribute("d").startswith("M")
    reasons = page.get_by_role("img", name="Handoff reasons")
    expect(reasons.locator("rect").first).to_be_visible()
    expect(page.locator("table.article-stats tbody tr").first).to_be_visible()
    screenshot(page, "console-09-dashboard")


@pytest.mark.skipif(not ANALYTICS_API, reason="the analytics API (issue 6) is not in this build")
def test_a_content_gap_becomes_a_draft_article_in_one_click(page, widget_server, api) -> None:  # type: ignore[no-untyped-def]
    asked = [
        "можно ли оплатить биткоином",
        "оплата биткоинами возможна?",
        "принимаете ли вы биткоин",
    ]
    for text in asked:
        customer_says(api, text)
    gaps = api.get("/v1/analytics/gaps", headers=ADMIN).json()["gaps"]
    gap = next((g for g in gaps if set(g["examples"]) & set(asked)), None)
    assert gap, f"the unanswered bitcoin questions make no gap: {gaps}"

    sign_in(page, widget_server.url, make_token(api, "editor"), "#/kb/gaps")
    item = page.locator(f'.gap[data-gap-id="{gap["id"]}"]')
    expect(item.locator(".gap-label")).to_have_text(gap["label"])
    expect(item.locator(".examples li").first).to_be_visible()
    screenshot(page, "console-10-gaps")
    item.get_by_role("button", name=f"Create an article for “{gap['label']}”").click()
    expect(page.get_by_role("heading", name="Edit article")).to_be_visible()
    article_id = page.url.rsplit("/", 1)[-1]
    expect(page.get_by_label("Status")).to_have_value("draft")
    stored = api.get(f"/v1/articles/{article_id}", headers=ADMIN).json()
    assert set(stored["questions"]) & set(asked)
    assert page.get_by_label("Phrasings").input_value().splitlines() == stored["questions"]
