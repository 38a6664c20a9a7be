"""Prometheus metrics of the service, served at /metrics.

Request latency is measured by the request middleware. The other counters
follow the log records that the ingestor, the redactor, the answerer and the
risk log already write (counts, entity types, decisions; never text), so no
package below `service` knows about Prometheus. Metrics are per process: with
several workers, scrape each one (or run one worker per container).
"""

import logging
import threading
from collections.abc import Mapping

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

__all__ = ["CONTENT_TYPE_LATEST", "install_metrics", "observe_request", "render"]

REQUESTS = Counter(
    "cx_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "cx_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
INGESTED = Counter(
    "cx_ingest_records",
    "Records ingested, by collection and outcome (added, unchanged, replaced, "
    "rejected).",
    ["collection", "outcome"],
)
REDACTIONS = Counter(
    "cx_redactions",
    "Personal data values found and redacted, by entity type.",
    ["entity_type"],
)
ANSWERS = Counter(
    "cx_answers",
    "Questions answered, abstained on or refused.",
    ["outcome"],
)
DECISIONS = Counter(
    "cx_guardrail_decisions",
    "Risk events written by the guardrails, by NIST AI 600-1 category and decision.",
    ["category", "decision"],
)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)


def render() -> bytes:
    """The metrics in Prometheus' text format."""
    return generate_latest()


def _counts(value: object) -> Mapping[str, int]:
    if isinstance(value, Mapping):
        return {str(k): int(v) for k, v in value.items() if isinstance(v, int)}
    return {}


def _redactions(template: str, args: tuple[object, ...]) -> None:
    if template.startswith("found ") and args:
        for entity, n in _counts(args[0]).items():
            REDACTIONS.labels(entity).inc(n)


def _decisions(template: str, args: tuple[object, ...]) -> None:
    if template.startswith("risk event ") and len(args) >= 3:
        DECISIONS.labels(str(args[1]), str(args[2])).inc()


def _ingested(template: str, args: tuple[object, ...]) -> None:
    if template.startswith("ingest of ") and len(args) >= 3:
        for outcome, n in _counts(args[2]).items():
            if n:
                INGESTED.labels(str(args[1]), outcome).inc(n)


def _answers(template: str, args: tuple[object, ...]) -> None:
    for word, outcome in (
        ("abstained", "abstained"),
        ("answered from", "answered"),
        ("refused", "refused"),
    ):
        if word in template:
            ANSWERS.labels(outcome).inc()
            return


# Logger -> what its records count.
_COUNTERS = {
    "cx_context.guardrails.pii": _redactions,
    "cx_context.guardrails.risklog": _decisions,
    "cx_context.knowledge.ingest": _ingested,
    "cx_context.context.answers": _answers,
}


class _MetricsHandler(logging.Handler):
    """Turns known log records into counter increments; formats nothing."""

    def emit(self, record: logging.LogRecord) -> None:
        count = _COUNTERS.get(record.name)
        if count is None:
            return
        args = record.args if isinstance(record.args, tuple) else ()
        try:
            count(str(record.msg), args)
        except Exception:  # a metric must never break the request it counts
            self.handleError(record)


# Logger -> the least level whose records carry what is counted.
_SOURCES = {
    "cx_context.guardrails.pii": logging.DEBUG,
    "cx_context.guardrails.risklog": logging.INFO,
    "cx_context.knowledge.ingest": logging.INFO,
    "cx_context.context.answers": logging.INFO,
}
_installed = False
_install_lock = threading.Lock()


def install_metrics() -> None:
    """Attach the counters to the loggers they follow; once per process.

    The loggers are opened to the levels they need; what reaches the log
    output is still decided by the log handler's own level (CX_LOG_LEVEL).
    """
    global _installed  # noqa: PLW0603 (once per process)
    with _install_lock:
        if _installed:
            return
        handler = _MetricsHandler(level=logging.DEBUG)
        for name, level in _SOURCES.items():
            source = logging.getLogger(name)
            source.addHandler(handler)
            # Set on the logger itself, so that a parent set quieter later
            # (configure_logging on the root) cannot stop the records.
            if source.level == logging.NOTSET or source.level > level:
                source.setLevel(level)
        _installed = True
