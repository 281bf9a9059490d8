"""`answerdesk import PATH`: the same importers from the command line, with a report."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from tests.factories import ADMIN, chat

ROWS = [
    {
        "id": "parking",
        "language": "en",
        "title": "Parking at the office",
        "body": "Visitors park free in the basement garage.",
        "questions": ["where can I park", "is there parking for visitors"],
    },
    {"id": "Bad Id", "language": "en", "title": "Broken"},
]


def _run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSWERDESK_DATABASE_URL": database_url, "ANSWERDESK_KB_DIR": ""}
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", "import", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_import_stores_articles_and_reports_rejected_rows(
    empty_client: TestClient, database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "articles.json").write_text(json.dumps(ROWS), encoding="utf-8")
    (tmp_path / "kb" / "lunch.md").write_text(
        "---\nlanguage: en\ntitle: Where to have lunch\n---\nThe canteen is on floor 2.",
        encoding="utf-8",
    )
    result = _run(database_url, str(tmp_path / "kb"), "--author", "maria")
    assert result.returncode == 0, result.stderr
    assert "created=2 updated=0 unchanged=0 rejected=1" in result.stdout
    assert "articles.json" in result.stderr and "Bad Id" in result.stderr
    revisions = empty_client.get("/v1/articles/parking/revisions", headers=ADMIN).json()
    assert revisions["items"][0]["author"] == "maria"
    deadline = time.monotonic() + 30  # the running app notices the new version by polling
    while time.monotonic() < deadline:
        reply = chat(empty_client, "is there parking for visitors?")
        if (reply["article"] or {}).get("id") == "parking":
            break
        time.sleep(0.3)
    assert reply["article"]["id"] == "parking"


def test_cli_import_of_a_broken_file_fails_and_stores_nothing(
    empty_client: TestClient, database_url: str, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": "x", ', encoding="utf-8")
    result = _run(database_url, str(broken))
    assert result.returncode == 1
    assert "not valid JSON" in result.stderr
    assert empty_client.get("/v1/articles", headers=ADMIN).json()["total"] == 0
