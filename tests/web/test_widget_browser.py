"""The website widget in real headless Chromium against a live server with the demo KB."""

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from app.main import create_app
from app.settings import PROJECT_ROOT
from tests.web.conftest import ADMIN, ask, new_context, operator_headers, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live]

expect = pytest.importorskip("playwright.sync_api").expect


def _routes_present(*patterns: str) -> bool:
    paths = list(create_app().openapi()["paths"])
    return all(any(re.fullmatch(p, path) for path in paths) for p in patterns)


HANDOFF_API = _routes_present(
    r"/v1/handoffs",
    r"/v1/handoffs/\{[a-z_]+\}/claim",
    r"/v1/handoffs/\{[a-z_]+\}/messages",
)


class Widget:
    """What a customer sees and does, located the way assistive technology finds it."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.dialog = page.get_by_role("dialog")
        self.input = page.get_by_role("textbox", name="Your message")
        self.bot = page.locator("#answerdesk-widget .msg.bot:not(.greeting)")
        self.customer = page.locator("#answerdesk-widget .msg.customer")

    def visit(self, path: str = "/demo") -> "Widget":
        self.page.goto(self.base_url + path)
        return self

    def open(self) -> "Widget":
        self.page.get_by_role("button", name="Open support chat").click()
        expect(self.dialog).to_be_visible()
        return self

    def say(self, words: str) -> None:
        self.input.fill(words)
        self.input.press("Enter")

    def conversation_id(self) -> str:
        stored = self.page.evaluate(
            "() => Object.keys(localStorage).filter(k => k.endsWith(':conversation'))"
            ".map(k => localStorage.getItem(k))[0] || null"
        )
        assert stored, "the widget did not remember its conversation"
        return stored


def wait_for_answer(api: httpx.Client, question: str, article_id: str) -> None:
    """A new article reaches the index within a poll interval; wait for it, then go on."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        reply = ask(api, question)
        if reply["status"] == "answered" and reply["article"]["id"] == article_id:
            return
        time.sleep(0.3)
    pytest.fail(f"{article_id} was never answered for {question!r}: {reply}")


def first_answered(api: httpx.Client, *questions: str) -> str:
    """The matching engine is tuned over time: use a question it answers today."""
    for question in questions:
        if ask(api, question)["status"] == "answered":
            return question
    pytest.fail(f"none of {questions} is answered with the demo knowledge base")


def test_question_gets_the_article_answer_rendered(page, widget_server) -> None:  # type: ignore[no-untyped-def]
    widget = Widget(page, widget_server.url).visit().open()
    widget.say("how do i pay with a credit card")
    answer = widget.bot.last
    expect(answer).to_contain_text("Mir, Visa and Mastercard")
    expect(answer.locator("strong").first).to_have_text("In the personal account or the app:")
    expect(answer.locator("ol > li")).to_have_count(4)
    expect(answer.locator(".source")).to_contain_text("How to pay for your internet by card")
    expect(widget.customer.last).to_have_text("how do i pay with a credit card")
    screenshot(page, "01-answer")


def test_clicking_a_clarify_choice_answers_with_that_article(page, widget_server, api) -> None:  # type: ignore[no-untyped-def]
    vague = next(
        (
            q
            for q in ("роутер", "router", "оплата", "internet", "payment", "пароль")
            if ask(api, q)["status"] == "clarify"
        ),
        None,
    )
    assert vague, "no vague question gives choices with the demo knowledge base"
    choices = ask(api, vague)["suggestions"]
    widget = Widget(page, widget_server.url).visit().open()
    widget.say(vague)
    buttons = widget.bot.first.locator("button.choice")
    expect(buttons).to_have_count(len(choices))
    expect(buttons.nth(1)).to_have_text(choices[1]["title"])
    screenshot(page, "02-clarify")
    buttons.nth(1).click()
    expect(widget.customer.last).to_have_text(choices[1]["title"])
    expect(widget.bot.last.locator(".source")).to_contain_text(choices[1]["title"])
    expect(buttons.nth(0)).to_be_disabled()
    history = api.get(f"/v1/conversations/{widget.conversation_id()}/messages").json()["items"]
    assert history[-1]["status"] == "answered"
    assert history[-1]["article_id"] == choices[1]["id"]
    screenshot(page, "03-clarify-chosen")


def test_thumbs_down_is_recorded_and_stored(page, widget_server, api) -> None:  # type: ignore[no-untyped-def]
    question = first_answered(api, "internet is down", "my internet is not working", "refund")
    widget = Widget(page, widget_server.url).visit().open()
    widget.say(question)
    answer = widget.bot.last
    expect(answer.get_by_role("button", name="Not helpful")).to_be_visible()
    answer.get_by_role("button", name="Not helpful").click()
    expect(answer).to_contain_text("Thanks, your feedback is recorded.")
    expect(answer.get_by_role("button", name="Not helpful")).to_have_attribute(
        "aria-pressed", "true"
    )
    message_id = int(answer.get_attribute("data-message-id"))
    engine = create_engine(f"sqlite:///{widget_server.database_path}")
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT value FROM feedback WHERE message_id = :id"), {"id": message_id}
        ).all()
    engine.dispose()
    assert [row.value for row in stored] == [-1]
    screenshot(page, "04-feedback")


def test_history_and_feedback_survive_a_reload(page, widget_server, api) -> None:  # type: ignore[no-untyped-def]
    first = first_answered(
        api, "how do I change my wifi password", "how do i pay with a credit card"
    )
    second = first_answered(api, "how do I get a refund", "refund", "internet is down")
    widget = Widget(page, widget_server.url).visit().open()
    widget.say(first)
    expect(widget.bot).to_have_count(1)
    widget.bot.last.get_by_role("button", name="Helpful", exact=True).click()
    expect(widget.bot.last).to_contain_text("Thanks, your feedback is recorded.")
    widget.say(second)
    expect(widget.bot).to_have_count(2)
    first_answer = widget.bot.first.inner_text()
    conversation = widget.conversation_id()

    page.reload()
    expect(widget.dialog).to_be_visible()  # it was open: it opens again
    expect(widget.customer).to_have_text([first, second])
    expect(widget.bot).to_have_count(2)
    assert widget.bot.first.locator(".body").inner_text() in first_answer
    expect(widget.bot.first.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    assert widget.conversation_id() == conversation
    widget.say("thanks")
    expect(widget.bot).to_have_count(3)
    assert widget.conversation_id() == conversation  # the same conversation goes on
    screenshot(page, "05-after-reload")


XSS_BODY = """Widget security check.

<img src=x onerror="window.__pwned=1">

<script>window.__pwned=2</script>

[a harmless looking link](javascript:window.__pwned=3) and [the real site](https://veterok.example/help)

**Bold** stays bold."""


def test_article_markup_is_shown_as_text_and_runs_nothing(page, widget_server, api) -> None:  # type: ignore[no-untyped-def]
    article = {
        "language": "en",
        "title": "Widget security check",
        "body": XSS_BODY,
        "questions": ["zanzibar quokka security check"],
    }
    response = api.put("/v1/articles/widget-xss-check", json=article, headers=ADMIN)
    assert response.status_code in (200, 201), response.text
    wait_for_answer(api, "zanzibar quokka security check", "widget-xss-check")

    widget = Widget(page, widget_server.url).visit().open()
    widget.say("zanzibar quokka security check")
    answer = widget.bot.last
    expect(answer).to_contain_text('<img src=x onerror="window.__pwned=1">')
    expect(answer).to_contain_text("<script>window.__pwned=2</script>")
    assert page.evaluate("() => window.__pwned") is None
    assert answer.locator("img, script").count() == 0
    links = answer.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://veterok.example/help")
    expect(answer).to_contain_text("a harmless looking link")
    expect(answer.locator("strong")).to_have_text("Bold")
    assert page.evaluate("() => window.__pwned") is None
    screenshot(page, "06-xss-shown-as-text")


@pytest.mark.skipif(not HANDOFF_API, reason="the handoff API (/v1/handoffs...) is not built yet")
@pytest.mark.parametrize("live", ["event-stream", "polling"])
def test_operator_reply_appears_live_with_the_operator_name(page, widget_server, api, live) -> None:  # type: ignore[no-untyped-def]
    if live == "polling":  # a proxy that refuses event streams: the widget polls instead
        page.route("**/events*", lambda route: route.fulfill(status=404, body=""))
    widget = Widget(page, widget_server.url).visit().open()
    widget.say("how do i pay with a credit card")
    expect(widget.bot).to_have_count(1)
    page.get_by_role("button", name="Talk to a person").click()
    expect(page.get_by_role("button", name="Talk to a person")).to_be_disabled()
    expect(page.locator("#answerdesk-widget .status")).to_contain_text("Waiting")
    conversation = widget.conversation_id()

    operator = operator_headers(api, "Anna")
    waiting = api.get("/v1/handoffs", params={"status": "waiting"}, headers=operator)
    assert waiting.status_code == 200, waiting.text
    body = waiting.json()
    items = body["items"] if isinstance(body, dict) else body
    handoff = next(h for h in items if h["conversation_id"] == conversation)
    handoff_id = handoff.get("handoff_id", handoff.get("id"))
    claimed = api.post(f"/v1/handoffs/{handoff_id}/claim", headers=operator)
    assert claimed.status_code == 200, claimed.text
    sent = api.post(
        f"/v1/handoffs/{handoff_id}/messages",
        json={"text": "Hello, I'm Anna. I can see your payment — give me a minute."},
        headers=operator,
    )
    assert sent.status_code in (200, 201), sent.text

    reply = page.locator("#answerdesk-widget .msg.operator").last
    expect(reply).to_contain_text("I can see your payment")
    expect(reply.locator(".author")).to_have_text("Anna")
    if live == "event-stream":  # only the stream's status events name who joined
        expect(page.locator("#answerdesk-widget .status")).to_have_text("Anna joined the chat")
    screenshot(page, f"07-operator-reply-{live}")

    with page.expect_response("**/v1/chat") as sent_by_widget:
        widget.say("Thank you, I'll wait")  # to the person; the bot stays quiet
    assert sent_by_widget.value.json()["reply"] == ""
    expect(widget.customer.last).to_have_text("Thank you, I'll wait")
    history = api.get(f"/v1/conversations/{conversation}/messages").json()["items"]
    assert history[-1]["role"] == "customer"


def test_phone_width_panel_fills_the_screen_and_works(browser, widget_server) -> None:  # type: ignore[no-untyped-def]
    context = new_context(
        browser, viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        widget = Widget(page, widget_server.url).visit()
        screenshot(page, "08-phone-closed")
        widget.open()
        box = widget.dialog.bounding_box()
        assert box is not None
        assert (box["x"], box["width"]) == (0, 375)
        widget.say("how do i pay with a credit card")
        expect(widget.bot.last).to_contain_text("Mir, Visa and Mastercard")
        expect(page.get_by_role("button", name="Send")).to_be_in_viewport()
        expect(page.get_by_role("button", name="Talk to a person")).to_be_in_viewport()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
        screenshot(page, "09-phone-open")
    finally:
        context.close()


def test_keyboard_enter_sends_escape_closes_and_focus_returns(page, widget_server) -> None:  # type: ignore[no-untyped-def]
    widget = Widget(page, widget_server.url).visit()
    launcher = page.get_by_role("button", name="Open support chat")
    launcher.focus()
    page.keyboard.press("Enter")
    expect(widget.dialog).to_be_visible()
    expect(widget.input).to_be_focused()
    expect(page.get_by_role("log")).to_have_attribute("aria-live", "polite")
    page.keyboard.type("how do i pay with a credit card")
    page.keyboard.press("Enter")
    expect(widget.bot.last).to_contain_text("Mir, Visa and Mastercard")
    expect(widget.input).to_have_value("")
    page.keyboard.press("Escape")
    expect(widget.dialog).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")


def test_interface_is_russian_by_data_lang(page, widget_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(widget_server.url + "/demo?lang=ru")
    page.get_by_role("button", name="Открыть чат поддержки").click()
    expect(page.get_by_role("button", name="Отправить")).to_be_visible()
    expect(page.get_by_role("button", name="Позвать оператора")).to_be_visible()
    page.get_by_role("textbox", name="Ваше сообщение").fill("как оплатить картой")
    page.keyboard.press("Enter")
    answer = page.locator("#answerdesk-widget .msg.bot:not(.greeting)").last
    expect(answer).to_contain_text("картами")
    expect(answer.get_by_role("button", name="Не помогло")).to_be_visible()
    screenshot(page, "10-russian")


def test_interface_follows_the_browser_language_without_data_lang(browser, widget_server) -> None:  # type: ignore[no-untyped-def]
    context = new_context(browser, locale="ru-RU")
    page = context.new_page()
    try:
        page.goto(widget_server.url + "/demo")
        expect(page.get_by_role("button", name="Открыть чат поддержки")).to_be_visible()
    finally:
        context.close()


def serve_page(html: str) -> ThreadingHTTPServer:
    """Another site (another origin) on this machine, serving one page."""
    body = html.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_widget_works_embedded_on_another_site(page, widget_server) -> None:  # type: ignore[no-untyped-def]
    shop = serve_page(
        "<!doctype html><html><head><style>"
        "button{display:none!important} *{color:red!important;font-size:30px!important}"
        "</style></head><body><h1>Shop</h1>"
        f'<script src="{widget_server.url}/widget.js" data-title="Shop help" async></script>'
        "</body></html>"
    )
    try:
        page.goto(f"http://localhost:{shop.server_address[1]}/")
        widget = Widget(page, widget_server.url).open()  # visible despite the page's rules
        expect(page.get_by_role("heading", name="Shop help")).to_be_visible()
        widget.say("how do i pay with a credit card")  # cross-origin calls, allowed by CORS
        expect(widget.bot.last).to_contain_text("Mir, Visa and Mastercard")
        color = widget.bot.last.evaluate("node => getComputedStyle(node).color")
        assert color != "rgb(255, 0, 0)"
        screenshot(page, "11-embedded-elsewhere")
    finally:
        shop.shutdown()


def test_network_failure_is_explained_and_retry_sends(page, widget_server) -> None:  # type: ignore[no-untyped-def]
    widget = Widget(page, widget_server.url).visit().open()
    page.route("**/v1/chat", lambda route: route.abort("internetdisconnected"))
    widget.say("how do i pay with a credit card")
    notice = page.get_by_role("alert")
    expect(notice).to_contain_text("can't reach support")
    screenshot(page, "12-network-error")
    page.unroute("**/v1/chat")
    notice.get_by_role("button", name="Try again").click()
    expect(widget.bot.last).to_contain_text("Mir, Visa and Mastercard")
    expect(widget.customer).to_have_count(1)  # retried, not duplicated


def test_a_lost_answer_is_not_stored_twice_by_the_retry(page, widget_server, api) -> None:  # type: ignore[no-untyped-def]
    widget = Widget(page, widget_server.url).visit().open()
    sent: list[dict[str, str]] = []

    def deliver_then_drop(route: Any) -> None:
        sent.append(route.request.headers)
        route.fetch()  # the server gets the message, stores the turn and answers...
        route.abort("connectionreset")  # ...and the answer never reaches the page

    page.route("**/v1/chat", deliver_then_drop)
    widget.say("how do i pay with a credit card")
    notice = page.get_by_role("alert")
    expect(notice).to_contain_text("can't reach support")
    page.unroute("**/v1/chat")
    with page.expect_response("**/v1/chat") as retried:
        notice.get_by_role("button", name="Try again").click()
    expect(widget.bot.last).to_contain_text("Mir, Visa and Mastercard")
    assert retried.value.headers.get("idempotent-replayed") == "true"
    assert retried.value.request.headers["idempotency-key"] == sent[0]["idempotency-key"]
    history = api.get(f"/v1/conversations/{widget.conversation_id()}/messages").json()
    assert [m["role"] for m in history["items"]] == ["customer", "bot"]


def test_rejected_message_shows_the_problem_detail(page, widget_server) -> None:  # type: ignore[no-untyped-def]
    widget = Widget(page, widget_server.url).visit().open()
    page.route(
        "**/v1/chat",
        lambda route: route.fulfill(
            status=422,
            content_type="application/problem+json",
            body='{"type":"/problems/invalid-input","title":"Invalid input","status":422,'
            '"detail":"text: must contain some text"}',
        ),
    )
    widget.say("hello")
    expect(page.get_by_role("alert")).to_have_text(
        "The message was not sent: text: must contain some text"
    )


def test_markdown_renderer_builds_only_safe_nodes(page, widget_server) -> None:  # type: ignore[no-untyped-def]
    Widget(page, widget_server.url).visit()
    page.wait_for_function("() => window.Answerdesk")
    cases = {
        "**bold** and *italic* and `a<b>`": "<p><strong>bold</strong> and <em>italic</em> and "
        "<code>a&lt;b&gt;</code></p>",
        "# Title\n\n- one\n- two": '<p class="heading" role="heading" aria-level="3">Title</p>'
        "<ul><li>one</li><li>two</li></ul>",
        "```\n<b>x</b>\n```": "<pre><code>&lt;b&gt;x&lt;/b&gt;</code></pre>",
        "[x](javascript:alert(1)) [y](data:text/html,1) [z](/relative)": "<p>x y z</p>",
        "snake_case_name and 2 * 3 * 4": "<p>snake_case_name and 2 * 3 * 4</p>",
        "mail [us](mailto:help@veterok.example)": '<p>mail <a href="mailto:help@veterok.example"'
        ' target="_blank" rel="noopener noreferrer nofollow">us</a></p>',
    }
    for source, expected in cases.items():
        rendered = page.evaluate(
            "source => { const d = document.createElement('div');"
            " d.appendChild(window.Answerdesk.renderMarkdown(source)); return d.innerHTML; }",
            source,
        )
        assert rendered == expected, source


def test_demo_page_embeds_the_widget_with_one_tag(page, widget_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(widget_server.url + "/demo")
    expect(page.get_by_role("heading", level=1)).to_contain_text("home internet")
    assert page.locator("script[src$='/widget.js']").count() == 1
    expect(page.get_by_role("button", name="Open support chat")).to_be_visible()
    screenshot(page, "00-demo-page")
    assert (PROJECT_ROOT / "test-artifacts" / "screenshots" / "00-demo-page.png").exists()
