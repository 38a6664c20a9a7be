"""Signing in to the pages with an API key, kept in a cookie for the pages only.

A browser cannot send an `Authorization` header when someone opens a link,
so a page reads the key from a cookie that this form sets: HttpOnly (no
script reads it), SameSite=Strict (no other site's page sends it), limited to
`/ui`, and Secure when the page is served over HTTPS. The API itself takes
keys only from the header.
"""

from html import escape
from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cx_context.service.ui import page

__all__ = ["COOKIE", "login_redirect", "router"]

COOKIE = "cx_ui_key"
_PATH = "/ui"
_HOME = "/ui/knowledge"
# Form bodies are one short key and a path; anything longer is not ours.
_MAX_FORM_BYTES = 4_096

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a page of ours, so the form cannot send anyone elsewhere."""
    if target and target.startswith(f"{_PATH}/") and "//" not in target:
        return target
    return _HOME


def login_redirect(request: Request) -> RedirectResponse:
    """Where a page sends a browser that has no usable key."""
    target = request.url.path
    if request.url.query:
        target += f"?{request.url.query}"
    return RedirectResponse(f"{_PATH}/login?next={quote(target, safe='')}", 303)


def _form(next_page: str, error: str | None = None) -> str:
    message = f'<p class="warn" role="alert">{escape(error)}</p>' if error else ""
    body = (
        "<section><h2>Sign in with an API key</h2>"
        f"{message}"
        '<form method="post" action="/ui/login">'
        f'<input type="hidden" name="next" value="{escape(next_page)}">'
        '<label for="key">API key</label> '
        '<input id="key" name="key" type="password" autocomplete="current-password"'
        ' required size="48"> '
        '<button type="submit">Sign in</button></form>'
        '<p class="muted">Make a key with <code>cx-context keys create --role '
        "knowledge_owner</code> (or agent, risk, admin). It is kept in a cookie "
        "for these pages only, until you sign out or close the browser.</p>"
        "</section>"
    )
    return page("Sign in", body, nav=())


@router.get("/ui/login", response_class=HTMLResponse, summary="The pages' sign-in form")
def login_form(
    next_page: Annotated[str | None, Query(alias="next")] = None,
) -> HTMLResponse:
    return HTMLResponse(_form(_safe_next(next_page)))


@router.post("/ui/login", summary="Sign in to the pages with an API key")
async def login(request: Request) -> Response:
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        return HTMLResponse(_form(_HOME, "The form was too large."), 413)
    fields = parse_qs(body.decode("utf-8", errors="replace"))
    next_page = _safe_next((fields.get("next") or [""])[0])
    secret = (fields.get("key") or [""])[0].strip()
    if not secret:
        return HTMLResponse(_form(next_page, "Enter an API key."), 422)
    if request.app.state.services.api_keys.verify(secret) is None:
        return HTMLResponse(
            _form(next_page, "That key is unknown or has been revoked."), 401
        )
    response = RedirectResponse(next_page, 303)
    response.set_cookie(
        COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=_PATH,
    )
    return response


@router.post("/ui/logout", summary="Sign out of the pages")
def logout() -> Response:
    response = RedirectResponse(f"{_PATH}/login", 303)
    response.delete_cookie(COOKIE, path=_PATH)
    return response
