"""Prometheus metrics of a rescap service, on a registry of its own (``GET /metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE  # noqa: F401  (re-exported for the app)

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 120, 300)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class ServiceMetrics:
    """Requests, errors, latency, batch sizes and queue depth.

    Example:
        >>> m = ServiceMetrics()
        >>> m.requests.labels(endpoint="/v1/estimate", status="200").inc()
        >>> b"rescap_requests_total" in m.render()
        True
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("rescap_requests", "HTTP requests answered", ["endpoint", "status"], registry=self.registry)
        self.errors = Counter("rescap_request_errors", "Requests answered with an error", ["endpoint", "kind"], registry=self.registry)
        self.latency = Histogram(
            "rescap_request_seconds", "Time from request to reply", ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.batch_size = Histogram("rescap_batch_size", "Images per batched captioning call", buckets=BATCH_BUCKETS, registry=self.registry)
        self.batch_seconds = Histogram(
            "rescap_batch_seconds", "Time one batch spends captioning (VLM steps and control)", buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.queue_depth = Gauge("rescap_queue_depth", "Images waiting for a captioning batch", registry=self.registry)
        self.in_flight = Gauge("rescap_requests_in_flight", "Requests being handled", registry=self.registry)

    # the application's own paths; any other path is counted as "other" (bounded label values)
    endpoints: frozenset[str] = frozenset()

    def answered(self, path: str, status: int, seconds: float | None = None) -> None:
        """Count one reply (and its latency, when timed)."""
        endpoint = path if path in self.endpoints else "other"
        self.requests.labels(endpoint=endpoint, status=str(status)).inc()
        if seconds is not None:
            self.latency.labels(endpoint=endpoint).observe(seconds)
        if not 200 <= status < 300:
            self.errors.labels(endpoint=endpoint, kind=str(status)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
