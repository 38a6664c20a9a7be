# cx-context API worker image. Models ship inside PyPI packages, so the image
# needs no network at run time. Build: docker build -t cx-context .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ANONYMIZED_TELEMETRY=False \
    CX_DATA_DIR=/var/lib/cx-context

WORKDIR /app

# torch first, from its CPU builds, so that nothing later pulls a CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
RUN pip install -c constraints.txt . \
    && useradd --system --uid 10001 --home-dir /var/lib/cx-context --create-home cx

USER cx
EXPOSE 8000

# Liveness only; readiness (/readyz) is for the load balancer or orchestrator.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"

# The service caps glibc's malloc arenas at two itself (it was MALLOC_ARENA_MAX
# here), so that requests reuse the heap the warm-up grew; see
# cx_context/service/memory.py.

# Each worker loads the models once (about 1 GB resident); set CX_WORKERS to
# what the container's memory allows.
ENV CX_WORKERS=2
CMD ["sh", "-c", "exec uvicorn --factory cx_context.service.asgi:create --host 0.0.0.0 --port 8000 --workers ${CX_WORKERS} --no-access-log"]
