"""Model routes run on a fixed pool of threads, each warmed before serving."""

import asyncio
import contextvars
import threading
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from cx_context.service.compute import ComputePool, on_compute_threads
from cx_context.service.settings import Settings
from cx_context.service.wiring import Services, shared_compute

REQUEST = contextvars.ContextVar("request", default="none")


def test_warm_runs_the_task_once_on_every_thread() -> None:
    pool = ComputePool(3)
    ran: list[str] = []
    lock = threading.Lock()

    def task() -> None:
        with lock:
            ran.append(threading.current_thread().name)

    try:
        assert pool.warm(task) == 3
        assert len(ran) == 3
        assert len(set(ran)) == 3  # three threads, once each
        assert all(name.startswith("compute") for name in ran)
        assert pool.warmed_threads == 3
    finally:
        pool.close()


def test_a_pool_needs_a_thread() -> None:
    with pytest.raises(ValueError, match="at least 1 thread"):
        ComputePool(0)


class _Body(BaseModel):
    text: str


class _Holder:
    def __init__(self, pool: ComputePool) -> None:
        self.compute = pool


def _app(pool: ComputePool) -> FastAPI:
    app = FastAPI()
    holder = _Holder(pool)

    def services() -> _Holder:
        return holder

    @app.middleware("http")
    async def tag(request, call_next):  # type: ignore[no-untyped-def]
        REQUEST.set(request.headers.get("x-tag", "none"))
        return await call_next(request)

    @app.post("/work")
    @on_compute_threads
    def work(
        body: _Body, services: Annotated[_Holder, Depends(services)]
    ) -> dict[str, str]:
        if body.text == "fail":
            raise ValueError("refused")
        return {
            "thread": threading.current_thread().name,
            "text": body.text,
            "tag": REQUEST.get(),
        }

    @app.exception_handler(ValueError)
    async def refused(request, exc):  # type: ignore[no-untyped-def]
        from fastapi.responses import JSONResponse

        return JSONResponse({"error": str(exc)}, status_code=422)

    return app


def test_a_compute_route_runs_on_the_pool_with_its_parameters_and_context() -> None:
    pool = ComputePool(2)
    try:
        with TestClient(_app(pool)) as client:
            names = set()
            for i in range(6):
                response = client.post(
                    "/work", json={"text": f"t{i}"}, headers={"x-tag": f"r{i}"}
                )
                assert response.status_code == 200
                body = response.json()
                assert body["text"] == f"t{i}"
                assert body["tag"] == f"r{i}"  # the request's context came along
                names.add(body["thread"])
            assert names and all(name.startswith("compute") for name in names)
            assert len(names) <= 2
            # Validation still runs before the pool, and errors reach handlers.
            assert client.post("/work", json={}).status_code == 422
            failed = client.post("/work", json={"text": "fail"})
            assert failed.status_code == 422 and failed.json() == {"error": "refused"}
    finally:
        pool.close()


def test_a_compute_route_without_services_is_refused_clearly() -> None:
    @on_compute_threads
    def lonely() -> None:
        return None

    async def call() -> None:
        await lonely()

    with pytest.raises(TypeError, match="must take `services`"):
        asyncio.run(call())


def test_warm_up_compute_warms_every_thread_of_the_shared_pool(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", compute_threads=3)
    services = Services(settings)
    try:
        services.warm_up()
        assert services.warm_up_compute() == 3
        assert services.compute is shared_compute(3)
        assert services.compute.warmed_threads >= 3
        # Another tenant of the process shares the pool.
        tenant = Services(settings, tenant="acme", control=services)
        assert tenant.compute is services.compute
        tenant.close()
    finally:
        services.close()


def test_bulk_work_holds_at_most_its_share_and_questions_still_run() -> None:
    pool = ComputePool(4)
    release = threading.Event()
    running = 0
    most = 0
    lock = threading.Lock()

    def bulk() -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(timeout=30)
        with lock:
            running -= 1
        return "ingested"

    async def scenario() -> tuple[list[str], str, bool]:
        ingests = [asyncio.ensure_future(pool.run_bulk(bulk)) for _ in range(5)]
        await asyncio.sleep(0.2)
        # Every bulk request is in (two running, three waiting), and a
        # question still gets a thread at once.
        answer = await asyncio.wait_for(pool.run(lambda: "answered"), timeout=5)
        still_waiting = not any(task.done() for task in ingests)
        release.set()
        return list(await asyncio.gather(*ingests)), answer, still_waiting

    try:
        assert pool.bulk_threads == 2
        ingested, answer, still_waiting = asyncio.run(scenario())
        assert answer == "answered" and still_waiting
        assert ingested == ["ingested"] * 5
        assert most == 2
    finally:
        release.set()
        pool.close()


def test_a_bulk_request_gone_while_waiting_gives_up_its_place() -> None:
    pool = ComputePool(2, bulk_threads=1)
    release = threading.Event()

    async def scenario() -> str:
        first = asyncio.ensure_future(pool.run_bulk(release.wait, 30))
        await asyncio.sleep(0.1)
        gone = asyncio.ensure_future(pool.run_bulk(lambda: "never"))
        await asyncio.sleep(0.1)
        gone.cancel()
        release.set()
        await first
        # The place the cancelled request waited for went back to the pool.
        return await asyncio.wait_for(pool.run_bulk(lambda: "next"), timeout=5)

    try:
        assert asyncio.run(scenario()) == "next"
    finally:
        release.set()
        pool.close()


def test_the_bulk_share_must_fit_the_pool() -> None:
    with pytest.raises(ValueError, match="bulk_threads must be between 1 and"):
        ComputePool(2, bulk_threads=3)
    assert ComputePool(1).bulk_threads == 1
