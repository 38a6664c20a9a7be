"""The ASGI application of a worker process, built from CX_* settings.

For several workers in one container or host:
`uvicorn --factory cx_context.service.asgi:create --workers 4 --host 0.0.0.0`.
Each worker loads the models once and shares nothing with the others but
the database and the vector store, so workers can be added behind a load
balancer freely (rate limits count per worker unless CX_RATE_LIMIT_STORAGE
names a shared store).
"""

from fastapi import FastAPI

from cx_context.service.app import create_app
from cx_context.service.logs import configure_logging
from cx_context.service.memory import tune_allocator
from cx_context.service.settings import Settings
from cx_context.service.wiring import Services


def create() -> FastAPI:
    tune_allocator()
    settings = Settings()
    configure_logging(settings.log_level)
    services = Services(settings)
    services.warm_up()
    services.warm_up_compute()
    return create_app(services)
