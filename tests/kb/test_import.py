"""POST /v1/articles/import: every format, upsert reports, atomic mode, limits, bad files."""

import io
import json
import zipfile

from fastapi.testclient import TestClient

from tests.factories import ADMIN, chat, make_article, make_token
from tests.kb.conftest import get_article, upload

ARTICLES = [
    {
        "id": "parking",
        "language": "en",
        "title": "Parking at the office",
        "body": "Visitors park free in the basement garage; show your booking at the gate.",
        "questions": ["where can I park", "is there parking for visitors"],
        "tags": ["office"],
        "categories": ["Visiting us"],
    },
    {
        "id": "lunch",
        "language": "en",
        "title": "Where to have lunch",
        "body": "The canteen is on floor 2 and opens at noon.",
        "questions": ["where is the canteen"],
    },
]

CSV = (
    "id,title,body,questions,language,tags\n"
    'wifi,Guest wifi,"The network is Guest,\nthe password is on the badge.",'
    "wifi password|how to get online,en,office|network\n"
    "bad id!,Broken,No,,en,\n"
    "printer,Printing,Use the printer on floor 3.,how do I print,en,office\n"
)

MARKDOWN = """---
id: holidays
language: en
title: Public holidays
questions: [is the office open on holidays]
tags: [office]
---
The office is closed on public holidays.
"""

HTML = """<!DOCTYPE html><html lang="en-US"><head><title>Reset | Help Centre</title>
<meta name="keywords" content="account, password"></head>
<body><nav>Home &gt; Account</nav><article><h1>Resetting your password</h1>
<div class="article-body"><p>Open <strong>Settings</strong> and choose:</p>
<ul><li>Security</li><li>Reset password</li></ul></div></article>
<footer>Copyright</footer></body></html>"""


def _zip(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_json_import_creates_then_reports_unchanged_and_updated(empty_client: TestClient) -> None:
    first = upload(empty_client, {"kb.json": json.dumps(ARTICLES).encode()})
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 2
    assert sorted(first.json()["created_ids"]) == ["lunch", "parking"]
    assert get_article(empty_client, "parking")["categories"] == ["Visiting us"]
    changed = [ARTICLES[0], {**ARTICLES[1], "body": "The canteen is on floor 4."}]
    second = upload(empty_client, {"kb.json": json.dumps(changed).encode()}).json()
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 1, 1)
    assert second["updated_ids"] == ["lunch"]
    assert get_article(empty_client, "lunch")["body"] == "The canteen is on floor 4."


def test_imported_articles_answer_chat(empty_client: TestClient) -> None:
    upload(empty_client, {"kb.json": json.dumps(ARTICLES).encode()})
    reply = chat(empty_client, "is there parking for visitors?")
    assert reply["article"]["id"] == "parking"


def test_csv_rows_are_imported_and_bad_rows_reported_with_their_line(
    empty_client: TestClient,
) -> None:
    report = upload(empty_client, {"kb.csv": CSV.encode()}).json()
    assert report["created"] == 2
    assert report["rejected"] == [
        {"file": "kb.csv", "line": 4, "id": "bad id!", "reason": report["rejected"][0]["reason"]}
    ]
    assert "slug" in report["rejected"][0]["reason"]
    wifi = get_article(empty_client, "wifi")
    assert wifi["questions"] == ["wifi password", "how to get online"]
    assert wifi["tags"] == ["office", "network"]
    assert wifi["body"] == "The network is Guest,\nthe password is on the badge."
    assert get_article(empty_client, "printer")["title"] == "Printing"


def test_invalid_json_row_is_rejected_with_line_and_reason_others_kept(
    empty_client: TestClient,
) -> None:
    rows = [ARTICLES[0], {"id": "empty", "language": "en", "title": "  "}, ARTICLES[1]]
    text = json.dumps(rows, indent=2)
    report = upload(empty_client, {"kb.json": text.encode()}).json()
    assert report["created"] == 2
    [rejected] = report["rejected"]
    assert rejected["id"] == "empty"
    starts = [number for number, line in enumerate(text.splitlines(), 1) if line == "  {"]
    assert rejected["line"] == starts[1]
    assert "title" in rejected["reason"]


def test_markdown_file_and_zip_of_markdown_are_imported(empty_client: TestClient) -> None:
    single = upload(empty_client, {"holidays.md": MARKDOWN.encode()}).json()
    assert single["created_ids"] == ["holidays"]
    bundle = _zip(
        {
            "kb/holidays.md": MARKDOWN.replace("closed", "shut"),
            "kb/dress-code.md": "---\nlanguage: en\ntitle: Dress code\n---\nSmart casual.",
            "kb/broken.md": "---\ntitle: [unclosed\n---\nbody",
            "__MACOSX/._dress-code.md": b"\x00junk",
        }
    )
    report = upload(empty_client, {"kb.zip": bundle}).json()
    assert report["created_ids"] == ["dress-code"]
    assert report["updated_ids"] == ["holidays"]
    [broken] = report["rejected"]
    assert broken["file"] == "kb.zip/kb/broken.md"
    assert "YAML" in broken["reason"]
    assert get_article(empty_client, "holidays")["body"] == "The office is shut on public holidays."


def test_html_page_becomes_markdown_article(empty_client: TestClient) -> None:
    report = upload(empty_client, {"360001-Resetting-your-password.html": HTML.encode()}).json()
    assert report["created_ids"] == ["360001-resetting-your-password"]
    article = get_article(empty_client, "360001-resetting-your-password")
    assert article["title"] == "Resetting your password"
    assert article["language"] == "en"
    assert article["tags"] == ["account", "password"]
    assert "Open **Settings** and choose:" in article["body"]
    assert "- Security" in article["body"]
    assert "Copyright" not in article["body"] and "Home" not in article["body"]


def test_atomic_import_with_a_bad_row_stores_nothing(empty_client: TestClient) -> None:
    rows = [ARTICLES[0], {"id": "no-title", "language": "en"}]
    response = upload(empty_client, {"kb.json": json.dumps(rows).encode()}, atomic=True)
    assert response.status_code == 422
    body = response.json()
    assert body["created"] == 1 and body["rejected"][0]["id"] == "no-title"
    assert empty_client.get("/v1/articles/parking", headers=ADMIN).status_code == 404


def test_malformed_files_get_4xx_and_keep_stored_articles(empty_client: TestClient) -> None:
    make_article(empty_client, "keep-me", title="Keep me", body="Still here.")
    bad_files = {
        "kb.json": b'[{"id": "x", "title": "broken"',
        "kb.csv": b"title,body\nno id column,here\n",
        "kb.zip": b"this is not a zip archive",
        "kb.exe": b"MZ",
        "kb.md": b"\xff\xfe\x00 not utf-8",
    }
    for name, content in bad_files.items():
        response = upload(empty_client, {name: content})
        assert response.status_code == 422, (name, response.text)
        assert response.json()["rejected"][0]["file"] == name
        assert response.headers["content-type"].startswith("application/problem+json")
    assert get_article(empty_client, "keep-me")["body"] == "Still here."


def test_zip_bomb_is_refused_with_413(client_with) -> None:  # type: ignore[no-untyped-def]
    client = client_with(kb_max_upload_bytes=10_000)
    bomb = _zip({"bomb.md": "---\ntitle: x\n---\n" + "0" * 2_000_000})
    assert len(bomb) < 10_000
    response = upload(client, {"bomb.zip": bomb})
    assert response.status_code == 413
    assert "unpacks" in response.json()["detail"]


def test_upload_over_the_size_limit_is_413(client_with) -> None:  # type: ignore[no-untyped-def]
    client = client_with(kb_max_upload_bytes=1000)
    response = upload(client, {"kb.json": json.dumps([ARTICLES[0]] * 20).encode()})
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["detail"]


def test_too_many_rows_is_413_and_nothing_stored(client_with) -> None:  # type: ignore[no-untyped-def]
    client = client_with(kb_max_import_rows=1)
    response = upload(client, {"kb.json": json.dumps(ARTICLES).encode()})
    assert response.status_code == 413
    assert "rows" in response.json()["detail"]
    assert client.get("/v1/articles", headers=ADMIN).json()["total"] == 0


def test_oversized_article_row_is_rejected(empty_client: TestClient) -> None:
    huge = {**ARTICLES[0], "body": "я" * 150_000}  # 300 KB as UTF-8
    report = upload(empty_client, {"kb.json": json.dumps([huge, ARTICLES[1]]).encode()}).json()
    assert report["created_ids"] == ["lunch"]
    assert "200 KB" in report["rejected"][0]["reason"]


def test_import_needs_editor_role(empty_client: TestClient) -> None:
    files = {"kb.json": json.dumps(ARTICLES).encode()}
    assert upload(empty_client, files, headers={}).status_code == 401
    operator = make_token(empty_client, "operator")
    assert upload(empty_client, files, headers=operator).status_code == 403
    editor = make_token(empty_client, "editor")
    assert upload(empty_client, files, headers=editor).status_code == 200


def test_import_without_a_file_is_422(empty_client: TestClient) -> None:
    response = empty_client.post("/v1/articles/import", json=ARTICLES, headers=ADMIN)
    assert response.status_code == 422
    assert "multipart" in response.json()["detail"]


def test_second_article_of_a_language_in_a_group_is_rejected_on_import(
    empty_client: TestClient,
) -> None:
    rows = [
        {**ARTICLES[0], "translation_group": "parking"},
        {**ARTICLES[1], "translation_group": "parking"},
    ]
    report = upload(empty_client, {"kb.json": json.dumps(rows).encode()}).json()
    assert report["created_ids"] == ["parking"]
    assert "already has a 'en' article: 'parking'" in report["rejected"][0]["reason"]
