"""Signing in to the pages: a form takes a key and keeps it in a cookie for /ui only."""

from fastapi.testclient import TestClient

from cx_context.service.app import create_app
from cx_context.service.ui.login import COOKIE
from cx_context.service.wiring import Services


def _key(services: Services, role: str) -> str:
    key = services.api_keys.create(role, label="browser")
    assert key.token is not None
    return key.token


def test_a_page_opened_without_a_key_goes_to_the_sign_in_form(
    services: Services,
) -> None:
    with TestClient(create_app(services), follow_redirects=False) as browser:
        opened = browser.get("/ui/knowledge?days=7")
        assert opened.status_code == 303
        assert opened.headers["location"] == (
            "/ui/login?next=%2Fui%2Fknowledge%3Fdays%3D7"
        )
        form = browser.get(opened.headers["location"])
        assert form.status_code == 200
        assert 'name="key"' in form.text and 'value="/ui/knowledge?days=7"' in form.text
        # The API itself still answers a missing key with a problem, not a page.
        assert browser.get("/v1/scorecard").status_code == 401


def test_signing_in_keeps_the_key_for_the_pages_only(services: Services) -> None:
    secret = _key(services, "knowledge_owner")
    with TestClient(create_app(services), follow_redirects=False) as browser:
        signed = browser.post(
            "/ui/login", data={"key": secret, "next": "/ui/knowledge"}
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == "/ui/knowledge"
        cookie = signed.headers["set-cookie"]
        assert f"{COOKIE}=" in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Path=/ui" in cookie
        page = browser.get("/ui/knowledge")
        assert page.status_code == 200 and "<h1>" in page.text
        # The cookie opens pages, never the API.
        browser.cookies.set(COOKIE, secret, path="/")
        assert browser.get("/v1/knowledge/gaps").status_code == 401
        out = browser.post("/ui/logout")
        assert out.status_code == 303
        assert f'{COOKIE}=""' in out.headers["set-cookie"]


def test_a_wrong_key_or_a_foreign_next_page_is_refused(services: Services) -> None:
    with TestClient(create_app(services), follow_redirects=False) as browser:
        wrong = browser.post("/ui/login", data={"key": "nope", "next": "/ui/scorecard"})
        assert wrong.status_code == 401
        assert "unknown or has been revoked" in wrong.text
        assert COOKIE not in wrong.headers.get("set-cookie", "")
        empty = browser.post("/ui/login", data={"key": " "})
        assert empty.status_code == 422
        secret = _key(services, "agent")
        away = browser.post(
            "/ui/login", data={"key": secret, "next": "https://elsewhere.example/"}
        )
        assert away.headers["location"] == "/ui/knowledge"
        # An agent's key signs in, and the knowledge page still refuses it.
        assert browser.get("/ui/knowledge").status_code == 403
