"""HTTP routes of the risk log: filtered listing and a JSON Lines export."""

import io
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from cx_context.guardrails.risklog import RiskFilter
from cx_context.service.auth import Principal, Role, require_roles
from cx_context.service.problems import problem
from cx_context.service.tenants import ServicesDep

router = APIRouter()


# Only risk and admin read the risk log.
RiskReaderDep = Annotated[Principal, Depends(require_roles(Role.RISK, Role.ADMIN))]


def _filter(
    request: Request,
    category: str | None,
    decision: str | None,
    since: datetime | None,
    until: datetime | None,
    request_id: str | None,
) -> RiskFilter | JSONResponse:
    try:
        return RiskFilter(category, decision, since, until, request_id)
    except ValueError as exc:
        return problem(
            request,
            422,
            "Invalid filter",
            str(exc),
            errors=[{"field": "query", "message": str(exc)}],
        )


@router.get("/v1/risks", summary="List risk events, newest first")
def list_risks(
    request: Request,
    services: ServicesDep,
    _: RiskReaderDep,
    category: str | None = None,
    decision: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    request_id: str | None = None,
    limit: Annotated[int, Query(gt=0, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    filters = _filter(request, category, decision, since, until, request_id)
    if isinstance(filters, JSONResponse):
        return filters
    return {"events": services.risk_log.list(filters, limit=limit, offset=offset)}


@router.get(
    "/v1/risks/export",
    summary="Export risk events as JSON Lines, in chain order, hashes included",
    response_class=Response,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def export_risks(
    request: Request,
    services: ServicesDep,
    _: RiskReaderDep,
    category: str | None = None,
    decision: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    request_id: str | None = None,
) -> Response:
    filters = _filter(request, category, decision, since, until, request_id)
    if isinstance(filters, JSONResponse):
        return filters
    buffer = io.StringIO()
    services.risk_log.export(buffer, filters)
    return Response(buffer.getvalue(), media_type="application/x-ndjson")
