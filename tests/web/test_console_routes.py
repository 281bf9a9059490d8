"""The console's pages and files, and GET /v1/console/me, over HTTP."""

import re

from app.web.console_router import CONSOLE_DIR
from tests.factories import make_token

IMPORT = re.compile(r"""(?:import|from)\s*(?:[^"';]*?\sfrom\s*)?["'](\./[a-z0-9_-]+\.js)["']""")


def test_console_page_is_served_with_a_strict_content_security_policy(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/console")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert '<script type="module" src="/console/app.js">' in response.text


def test_console_with_a_trailing_slash_redirects_to_the_page(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/console/", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/console"


def test_every_module_the_console_imports_is_served_as_javascript(client) -> None:  # type: ignore[no-untyped-def]
    seen: set[str] = set()
    pending = ["app.js"]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        response = client.get(f"/console/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith("text/javascript"), name
        pending += [path[2:] for path in IMPORT.findall(response.text)]
    on_disk = {p.name for p in CONSOLE_DIR.glob("*.js")}
    assert seen == on_disk, f"unused or missing modules: {seen ^ on_disk}"
    assert client.get("/console/console.css").headers["content-type"].startswith("text/css")


def test_console_refuses_names_outside_its_folder(client) -> None:  # type: ignore[no-untyped-def]
    for name in ("..%2Fconsole_router.py", "missing.js", "index.html", ".hidden.js", "app.JS"):
        response = client.get(f"/console/{name}")
        assert response.status_code == 404, name
        assert response.headers["content-type"].startswith("application/problem+json")


def test_console_code_never_parses_strings_as_html() -> None:
    # Server text must only ever reach the page as text nodes (see dom.js and markdown.js).
    sinks = re.compile(
        r"\.(inner|outer)HTML\b|insertAdjacentHTML|document\.write|\beval\(|new Function"
    )
    for path in CONSOLE_DIR.glob("*.js"):
        assert not sinks.search(path.read_text(encoding="utf-8")), path.name


def test_me_names_the_token_and_its_role(client) -> None:  # type: ignore[no-untyped-def]
    headers = make_token(client, "operator")
    response = client.get("/v1/console/me", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"name": "operator-token", "role": "operator"}


def test_me_without_a_valid_token_is_401(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/v1/console/me").status_code == 401
    bad = client.get("/v1/console/me", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json()["type"] == "/problems/unauthorized"
