"""Prometheus metrics, one registry per application, every name prefixed ``lacgw_``.

Labels carry route templates, operations and codes: never an activation key or a HostID.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
JOB_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900)


class Metrics:
    """Every metric the gateway exports, registered on its own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = registry if registry is not None else CollectorRegistry()
        self.registry = reg
        self.http_requests = Counter(
            "lacgw_http_requests_total",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=reg,
        )
        self.http_latency = Histogram(
            "lacgw_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.lac_calls = Counter(
            "lacgw_lac_calls_total",
            "Calls made to LAC, by outcome code",
            ["operation", "transport", "code"],
            registry=reg,
        )
        self.lac_latency = Histogram(
            "lacgw_lac_call_duration_seconds",
            "LAC call latency",
            ["operation", "transport"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.cache_lookups = Counter(
            "lacgw_cache_lookups_total", "Cache lookups", ["cache", "result"], registry=reg
        )
        self.jobs = Counter(
            "lacgw_jobs_total",
            "Job lifecycle events: created, claimed, completed, failed, rescheduled",
            ["event"],
            registry=reg,
        )
        self.jobs_pending = Gauge(
            "lacgw_jobs_pending", "Jobs waiting for LAC to finish a license", registry=reg
        )
        self.job_time_to_license = Histogram(
            "lacgw_job_time_to_license_seconds",
            "From job creation to license ready",
            buckets=JOB_BUCKETS,
            registry=reg,
        )
        self.coalesced = Counter(
            "lacgw_coalesced_requests_total",
            "Requests answered by joining work already in flight",
            ["scope"],
            registry=reg,
        )
        self.lac_breaker_state = Gauge(
            "lacgw_lac_breaker_state",
            "LAC circuit breaker: 1 for the state it is in (closed, open, half_open), else 0",
            ["state"],
            registry=reg,
        )
        self.lac_retries = Counter(
            "lacgw_lac_retries_total",
            "LAC call retries: retried, or denied by the retry budget",
            ["operation", "outcome"],
            registry=reg,
        )
        self.token_refreshes = Counter(
            "lacgw_lac_token_refreshes_total", "LAC vendor logins", ["reason"], registry=reg
        )
