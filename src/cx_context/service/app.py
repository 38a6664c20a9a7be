"""The HTTP API. Errors are RFC 9457 problem documents carrying the request id."""

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from cx_context import __version__
from cx_context.context.drafts import DraftRefusedError, NothingToDraftError
from cx_context.context.errors import (
    ConflictError,
    ContextError,
    InvalidQuestionError,
    NotFoundError,
    QuestionRefusedError,
)
from cx_context.context.reidentification import ReidentificationRefusedError
from cx_context.guardrails import RedactionError
from cx_context.guardrails.errors import VaultKeyError
from cx_context.guardrails.pii_config import InvalidTextError
from cx_context.guardrails.vault import RestoreError
from cx_context.knowledge.adapters.base import validate
from cx_context.knowledge.errors import UnknownFilterError
from cx_context.knowledge.ingest import IngestReport
from cx_context.knowledge.records import Interaction, KnowledgeDocument
from cx_context.service.auth import (
    AccessDeniedError,
    Role,
    access_denied,
    require_roles,
)
from cx_context.service.compute import on_bulk_compute_threads
from cx_context.service.limits import install_limits
from cx_context.service.metrics import install_metrics, observe_request
from cx_context.service.problems import batch_response, problem
from cx_context.service.routes_answers import router as answers_router
from cx_context.service.routes_customers import router as customers_router
from cx_context.service.routes_knowledge import router as knowledge_router
from cx_context.service.routes_ops import router as ops_router
from cx_context.service.routes_risks import router as risks_router
from cx_context.service.routes_scorecard import router as scorecard_router
from cx_context.service.routes_summaries import router as summaries_router
from cx_context.service.schemas import (
    DocumentBatch,
    IngestResponse,
    InteractionBatch,
    SummaryResponse,
)
from cx_context.service.tenants import ServicesDep, TenantServices
from cx_context.service.ui.knowledge import router as knowledge_page_router
from cx_context.service.ui.login import router as login_router
from cx_context.service.ui_scorecard import router as scorecard_page_router
from cx_context.service.wiring import Services

logger = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


# Errors of our packages and the problem each becomes: status, title, and the
# request field at fault ("" when the message names it, None for no `errors`).
# The most specific class listed for an error decides.
_DOMAIN_ERRORS: dict[type[Exception], tuple[int, str, str | None]] = {
    NotFoundError: (404, "Not found", None),
    UnknownFilterError: (422, "Invalid filter", "filters"),
    InvalidQuestionError: (422, "Invalid question", "question"),
    QuestionRefusedError: (422, "Question refused", "question"),
    ReidentificationRefusedError: (403, "Not allowed", None),
    RestoreError: (409, "Cannot restore", None),
    DraftRefusedError: (409, "Draft refused", None),
    NothingToDraftError: (422, "Nothing to draft from", None),
    ConflictError: (409, "Conflict", None),
    # Record, identifier and claim errors: the message names field and rule.
    ContextError: (422, "Invalid record", ""),
    # Text the redactor refuses (control characters, lone surrogates): the
    # client's to fix; the message names the rule and offset, never the text.
    InvalidTextError: (422, "Invalid text", ""),
}


def _observe(request: Request, status: int, elapsed: float) -> None:
    """Count a request in the metrics and write its one log line."""
    # The route template, never the path: ids in paths stay out of logs
    # and metrics (and a path nobody serves adds no new series).
    route = getattr(request.scope.get("route"), "path", None)
    principal = getattr(request.state, "principal", None)
    observe_request(route or "unmatched", request.method, status, elapsed)
    logger.info(
        "request",
        extra={
            "request_id": request.state.request_id,
            "method": request.method,
            "route": route,
            "role": principal.role.value if principal else None,
            "key_id": principal.key_id if principal else None,
            "tenant": principal.tenant if principal else None,
            "status": status,
            "duration_ms": round(elapsed * 1000, 1),
        },
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.tenants.close()  # the tenants' connections; the default's stay


def _not_json(request: Request, exc: RequestValidationError) -> JSONResponse | None:
    """A 415 for a body sent as something other than JSON (a form, text, XML),
    which would otherwise read as 'body: Input should be a valid dictionary'."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    whole_body = any(tuple(e.get("loc", ())) == ("body",) for e in exc.errors())
    if not whole_body or media == "application/json" or media.endswith("+json"):
        return None
    return problem(
        request,
        415,
        "Unsupported media type",
        "this route takes a JSON body (content-type: application/json); got "
        + (repr(media) if media else "no content-type"),
    )


async def _invalid_request(
    request: Request, exc: RequestValidationError
) -> JSONResponse:
    if (unsupported := _not_json(request, exc)) is not None:
        return unsupported
    errors = [
        {
            # A body that is not JSON has the character offset as its place.
            "field": "body"
            if e.get("type") == "json_invalid"
            else ".".join(str(part) for part in e["loc"] if part != "body") or "body",
            "message": e["msg"],
        }
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(request, 422, "Invalid request", detail, errors=errors)


def create_app(services: Services) -> FastAPI:
    app = FastAPIOffline(
        title="cx-context",
        version=__version__,
        summary="Redacted, grounded, cited AI context for customer service.",
        lifespan=_lifespan,
    )
    # The default tenant's services hold the keys; each request's own come
    # from its key's tenant (ServicesDep).
    app.state.services = services
    app.state.tenants = TenantServices(services)

    install_metrics()
    # Before the request-id middleware below, so that it runs inside it.
    install_limits(
        app,
        services.settings.max_body_bytes,
        services.settings.rate_limit,
        services.settings.rate_limit_storage,
    )

    @app.middleware("http")
    async def request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        incoming = request.headers.get("x-request-id", "")
        request.state.request_id = (
            incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        )
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:
            # An unhandled error passes this middleware on its way to the
            # outermost handler, which answers 500: count and log it here,
            # where the route is known.
            _observe(request, 500, time.perf_counter() - started)
            raise
        response.headers["X-Request-ID"] = request.state.request_id
        _observe(request, response.status_code, time.perf_counter() - started)
        return response

    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = problem(request, exc.status_code, str(exc.detail), str(exc.detail))
        # A 405 says which methods the path serves (`Allow`, RFC 9110).
        response.headers.update(exc.headers or {})
        return response

    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        status, title, field = next(
            _DOMAIN_ERRORS[kind] for kind in type(exc).__mro__ if kind in _DOMAIN_ERRORS
        )
        extra: dict[str, Any] = {}
        if field is not None:
            error = (
                {"field": field, "message": str(exc)}
                if field
                else {"message": str(exc)}
            )
            extra["errors"] = [error]
        return problem(request, status, title, str(exc), **extra)

    for kind in _DOMAIN_ERRORS:
        app.add_exception_handler(kind, domain_error)
    app.add_exception_handler(AccessDeniedError, access_denied)

    @app.exception_handler(VaultKeyError)
    async def no_vault(request: Request, exc: VaultKeyError) -> JSONResponse:
        logger.error("vault key problem: %s", exc)
        return problem(
            request,
            503,
            "Customer record unavailable",
            "the service has no usable vault key (CX_VAULT_KEY or CX_VAULT_KEY_FILE); "
            "see the service log",
        )

    @app.exception_handler(RedactionError)
    async def redaction_failed(request: Request, exc: RedactionError) -> JSONResponse:
        return problem(
            request,
            500,
            "Redaction failed",
            "the text was not processed; nothing was stored",
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error(
            "unhandled error",
            extra={
                "request_id": getattr(request.state, "request_id", None),
                "error": type(exc).__name__,
            },
        )
        return problem(
            request,
            500,
            "Internal error",
            "the request failed; see the service log with its request id",
        )

    def ingest_response(
        request: Request,
        report: IngestReport,
        field: str,
        links: dict[str, int] | None = None,
    ) -> JSONResponse:
        errors = [
            {"field": f"{field}.{r.position - 1}", "message": r.problem or "rejected"}
            for r in report.problems
        ]
        body = IngestResponse.from_report(report, links).model_dump()
        return batch_response(
            request, body, errors, len(report.records), "No record was accepted"
        )

    def check_batch(
        request: Request, size: int, services: Services
    ) -> JSONResponse | None:
        limit = services.settings.max_batch_records
        if size > limit:
            return problem(
                request,
                413,
                "Batch too large",
                f"the batch has {size} records, the limit is {limit}",
            )
        return None

    @app.post(
        "/v1/knowledge",
        response_model=IngestResponse,
        responses={
            207: {"model": IngestResponse, "description": "Some records were rejected."}
        },
        summary="Ingest a batch of knowledge documents",
        dependencies=[Depends(require_roles(Role.KNOWLEDGE_OWNER, Role.ADMIN))],
    )
    @on_bulk_compute_threads
    def post_knowledge(
        request: Request, batch: DocumentBatch, services: ServicesDep
    ) -> Response:
        if (
            too_large := check_batch(request, len(batch.documents), services)
        ) is not None:
            return too_large
        items = [
            validate(KnowledgeDocument, d, "request", i)
            for i, d in enumerate(batch.documents, 1)
        ]
        return ingest_response(
            request, services.ingestor.ingest_documents(items), "documents"
        )

    @app.post(
        "/v1/interactions",
        response_model=IngestResponse,
        responses={
            207: {"model": IngestResponse, "description": "Some records were rejected."}
        },
        summary="Ingest a batch of interactions",
        dependencies=[Depends(require_roles(Role.AGENT, Role.BOT, Role.ADMIN))],
    )
    @on_bulk_compute_threads
    def post_interactions(
        request: Request, batch: InteractionBatch, services: ServicesDep
    ) -> Response:
        if (
            too_large := check_batch(request, len(batch.interactions), services)
        ) is not None:
            return too_large
        items = [
            validate(Interaction, d, "request", i)
            for i, d in enumerate(batch.interactions, 1)
        ]
        report, links = services.ingest_interactions(items)
        return ingest_response(request, report, "interactions", links)

    @app.get(
        "/v1/interactions/{interaction_id}/summary",
        response_model=SummaryResponse,
        summary="Summarize an interaction, each line citing its turns",
        dependencies=[Depends(require_roles(Role.AGENT, Role.ADMIN))],
    )
    def get_summary(interaction_id: str, services: ServicesDep) -> dict[str, Any]:
        return services.summarizer.summarize(interaction_id).to_dict()

    for router in (
        customers_router,
        risks_router,
        scorecard_router,
        summaries_router,
        answers_router,
        scorecard_page_router,
        knowledge_router,
        knowledge_page_router,
        login_router,
        ops_router,
    ):
        app.include_router(router)

    return app
