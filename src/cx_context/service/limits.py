"""Limits of the HTTP API: request body size and per-key request rates.

A body over the limit is refused with a 413 before it is read whole; a key
over its rate gets a 429 with `Retry-After`. Both are problem documents that
name the limit. Batch sizes, text lengths and question lengths are checked
where the records are (413 and 422 problems naming the field).
"""

import json
import math
import time
from dataclasses import dataclass

from fastapi import FastAPI
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cx_context.service.problems import PROBLEM_JSON


def parse_rate_limit(text: str) -> list[RateLimitItem]:
    """Rate limits from e.g. '600/minute;20/second'; '' means none."""
    if not text.strip():
        return []
    try:
        return list(parse_many(text))
    except ValueError:
        raise ValueError(
            f"rate limit must look like '600/minute' or '600/minute;20/second', "
            f"got {text!r}"
        ) from None


class BodySizeLimit:
    """ASGI middleware: refuse bodies over `max_bytes` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.max_bytes:
                await self._refuse(scope, send, f"{int(declared)} bytes")
                return
            await self.app(scope, receive, send)
            return
        # A streamed body of unknown length: read it here, up to the limit,
        # and hand it on whole (every route reads the whole body anyway).
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                await self._refuse(scope, send, f"over {self.max_bytes} bytes")
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send, size: str) -> None:
        request_id = scope.get("state", {}).get("request_id")
        detail = (
            f"the request body is {size}, the limit is {self.max_bytes} bytes "
            "(CX_MAX_BODY_BYTES)"
        )
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Request body too large",
                "status": 413,
                "detail": detail,
                "instance": scope.get("path", ""),
                "request_id": request_id,
            }
        ).encode()
        headers = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: str = ""
    retry_after_s: int = 0


class RateLimiter:
    """Per-key request rates, in this process's memory or a shared `limits` store.

    With several workers and the default `memory://` store each worker counts
    on its own, so a key may make up to workers x the limit; a shared store
    (for example `redis://host:6379`, with the `redis` package installed)
    counts across them.
    """

    def __init__(self, limits: str, storage_uri: str = "memory://") -> None:
        self.items = parse_rate_limit(limits)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, key_id: str) -> RateDecision:
        for item in self.items:
            if not self._limiter.hit(item, "key", key_id):
                reset_at, _ = self._limiter.get_window_stats(item, "key", key_id)
                retry = max(1, math.ceil(reset_at - time.time()))
                return RateDecision(False, str(item), retry)
        return RateDecision(True)


def install_limits(app: FastAPI, max_body_bytes: int, rate: str, storage: str) -> None:
    """Put the body-size middleware on the app and its rate limiter in its state.

    Call it before the app's request-id middleware is added, so that a refused
    body still gets a request id and a log line.
    """
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.state.rate_limiter = RateLimiter(rate, storage)
