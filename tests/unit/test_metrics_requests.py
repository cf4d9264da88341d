"""lacgw_http_requests_total and lacgw_http_request_duration_seconds: counted in plain numbers,
exported exactly as prometheus_client's Counter and Histogram of the same names would be."""

from __future__ import annotations

import random

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from gateway.metrics import LATENCY_BUCKETS, Metrics, RequestCounts

ANSWERS = [
    ("GET", "/v1/licenses/{activation_key}", 200),
    ("GET", "/v1/licenses/{activation_key}", 304),
    ("POST", "/v1/activations", 202),
    ("GET", "unmatched", 404),
]


def exposition(counts: RequestCounts) -> bytes:
    registry = CollectorRegistry()
    registry.register(counts)
    return generate_latest(registry)


def test_the_exposition_is_what_a_counter_and_a_histogram_write() -> None:
    disable_created_metrics()  # type: ignore[no-untyped-call]  # as the application does
    registry = CollectorRegistry()
    counter = Counter(
        "lacgw_http_requests_total",
        "HTTP requests answered",
        ["method", "route", "status"],
        registry=registry,
    )
    histogram = Histogram(
        "lacgw_http_request_duration_seconds",
        "HTTP request latency",
        ["method", "route"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    counts = RequestCounts(LATENCY_BUCKETS)
    draw = random.Random(3)  # noqa: S311 - test data
    # Every bound itself (le is inclusive), values between them, and beyond the last.
    latencies = [*LATENCY_BUCKETS, 0.0, 45.0] + [draw.uniform(0, 12) for _ in range(200)]
    for n, seconds in enumerate(latencies):
        method, route, status = ANSWERS[n % len(ANSWERS)]
        counter.labels(method, route, str(status)).inc()
        histogram.labels(method, route).observe(seconds)
        counts.observe(method, route, status, seconds)
    assert exposition(counts) == generate_latest(registry)


def test_nothing_counted_exports_the_families_without_series() -> None:
    text = exposition(RequestCounts(LATENCY_BUCKETS)).decode()
    assert "# TYPE lacgw_http_requests_total counter" in text
    assert "# TYPE lacgw_http_request_duration_seconds histogram" in text
    assert "lacgw_http_requests_total{" not in text


def test_the_application_registry_exports_the_answers_it_was_told() -> None:
    metrics = Metrics()
    metrics.observe_http("GET", "/healthz", 200, 0.003)
    metrics.observe_http("GET", "/healthz", 200, 0.2)
    text = generate_latest(metrics.registry).decode()
    assert 'lacgw_http_requests_total{method="GET",route="/healthz",status="200"} 2.0' in text
    assert (
        'lacgw_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/healthz"} 1.0'
        in text
    )
    assert 'lacgw_http_request_duration_seconds_count{method="GET",route="/healthz"} 2.0' in text


def test_a_tally_reaches_its_counter_when_the_registry_is_read_beside_direct_increments() -> None:
    metrics = Metrics()
    series = metrics.cache_lookups.labels("license", "hit")
    tally = metrics.tallies.tally(series)
    tally.count += 3  # the hot path's hits
    series.inc()  # the slow path's, straight to the counter

    def read() -> float | None:
        labels = {"cache": "license", "result": "hit"}
        return metrics.registry.get_sample_value("lacgw_cache_lookups_total", labels)

    assert read() == 4
    assert read() == 4  # settled once, not added again
    tally.count += 1
    assert b'lacgw_cache_lookups_total{cache="license",result="hit"} 5.0' in generate_latest(
        metrics.registry
    )
