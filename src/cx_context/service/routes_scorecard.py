"""`GET /v1/scorecard`: the continuity scorecard, by period, channel and intent."""

from dataclasses import replace
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from cx_context.context.scorecard import ScorecardQuery, ScorecardQueryError
from cx_context.service.auth import Principal, Role, require_roles
from cx_context.service.problems import problem
from cx_context.service.tenants import ServicesDep
from cx_context.service.wiring import Services

router = APIRouter()

# Aggregates of redacted records: any human role may read them, bots may not.
SCORECARD_ROLES = (Role.AGENT, Role.KNOWLEDGE_OWNER, Role.RISK, Role.ADMIN)


# The longest window a request may set (ten years): beyond it the dates it
# reaches overflow, and no continuity measure needs it.
MAX_WINDOW_DAYS = 3_650

ReaderDep = Annotated[Principal, Depends(require_roles(*SCORECARD_ROLES))]


def compute_card(
    services: Services,
    period: str | None,
    channel: str | None,
    intent: str | None,
    bucket: str,
    recontact_days: float | None,
    latency_bound_s: float | None,
) -> dict[str, Any]:
    """The scorecard for these filters; settings given here override the service's."""
    query = ScorecardQuery.parse(period, channel, intent, bucket)
    config = services.scorecard_config()
    if recontact_days is not None:
        config = replace(config, recontact_window=timedelta(days=recontact_days))
    if latency_bound_s is not None:
        config = replace(config, latency_bound=timedelta(seconds=latency_bound_s))
    return services.scorecard(config).compute(query)


def query_problem(request: Request, exc: ScorecardQueryError) -> JSONResponse:
    return problem(
        request,
        422,
        "Invalid filter",
        str(exc),
        errors=[{"field": f"query.{exc.parameter}", "message": str(exc)}],
    )


@router.get(
    "/v1/scorecard",
    summary="The continuity scorecard: each measure with how and from what it came",
)
def get_scorecard(
    request: Request,
    services: ServicesDep,
    _caller: ReaderDep,
    period: Annotated[
        str | None,
        Query(description="YYYY-MM, YYYY-Www, YYYY-MM-DD or YYYY-MM-DD/YYYY-MM-DD."),
    ] = None,
    channel: Annotated[str | None, Query(description="e.g. chat, voice.")] = None,
    intent: Annotated[str | None, Query(description="e.g. billing/refund.")] = None,
    bucket: Annotated[str, Query(description="Trend points: week or month.")] = (
        "month"
    ),
    recontact_days: Annotated[
        float | None,
        Query(gt=0, le=MAX_WINDOW_DAYS, description="Recontact window, in days."),
    ] = None,
    latency_bound_s: Annotated[
        float | None,
        Query(
            gt=0,
            le=MAX_WINDOW_DAYS * 86_400,
            description="Events later than this are late.",
        ),
    ] = None,
) -> Any:
    try:
        return compute_card(
            services,
            period,
            channel,
            intent,
            bucket,
            recontact_days,
            latency_bound_s,
        )
    except ScorecardQueryError as exc:
        return query_problem(request, exc)
