"""RFC 9457 problem documents, the one error format of the HTTP API."""

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"


def problem(
    request: Request, status: int, title: str, detail: str, **extra: Any
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def batch_response(
    request: Request,
    body: dict[str, Any],
    errors: list[dict[str, Any]],
    total: int,
    title: str,
) -> JSONResponse:
    """A batch's answer: 200 when all landed, 207 when some did, 422 when none.

    `errors` has one `{field, message}` per rejected record; the 422 is a
    problem document that still carries the per-record `body`.
    """
    if errors and len(errors) == total:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(request, 422, title, detail, errors=errors, **body)
    return JSONResponse(body, status_code=207 if errors else 200)
