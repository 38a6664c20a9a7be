"""Probes and metrics, for load balancers and Prometheus; no key needed.

`/healthz` says the process answers (restart it when not); `/readyz` says
its stores and vault key answer too (send it traffic only then).
"""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cx_context.service.metrics import CONTENT_TYPE_LATEST, render
from cx_context.service.schemas import HealthResponse
from cx_context.service.wiring import Services

router = APIRouter()


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=HealthResponse,
    summary="Readiness: the database, the vector store and the vault key answer",
    responses={503: {"description": "A store or the vault key is unusable."}},
)
def readyz(request: Request) -> JSONResponse:
    services = request.app.state.services
    assert isinstance(services, Services)
    health = services.health()
    return JSONResponse(health, status_code=200 if health["status"] == "ok" else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
def metrics() -> Response:
    return Response(render(), media_type=CONTENT_TYPE_LATEST)
