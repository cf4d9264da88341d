"""Prometheus metrics, one registry per application, every name prefixed ``lacgw_``.

Labels carry route templates, operations and codes: never an activation key or a HostID.
Beside them the registry holds the process and Python collectors (``process_*``,
``python_*``): each worker of ``http.workers`` builds its own application after the fork, so
they describe the process that answered the scrape.
"""

from __future__ import annotations

import itertools
import platform
import re
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from datetime import date

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
JOB_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900)
REDIS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
# From an event to its delivery: seconds on a good day, hours through the retry schedule.
WEBHOOK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000)
_COUNT = re.compile(r"[0-9]{1,18}")  # an activation count LAC sent as text


class _Latency:
    """One histogram series in plain numbers: counts per bucket (the last: above every bound)."""

    __slots__ = ("buckets", "total")

    def __init__(self, bounds: int) -> None:
        self.buckets = [0] * (bounds + 1)
        self.total = 0.0


class Tally:
    """Increments of one counter series kept in a plain number (``count += 1``) until the
    registry is read: prometheus_client's ``inc`` takes a lock, a hit adds to an integer."""

    __slots__ = ("count", "series")

    def __init__(self, series: Counter) -> None:
        self.series = series  # a Counter's child: .labels(...)
        self.count = 0


class Tallies(Collector):
    """Adds every ``Tally`` to its series when the registry is read. Registered before the
    counters, so a scrape (or any read of the registry) sees every increment."""

    def __init__(self) -> None:
        self._tallies: list[Tally] = []

    def tally(self, series: Counter) -> Tally:
        """A tally of ``series`` (a labelled Counter child)."""
        made = Tally(series)
        self._tallies.append(made)
        return made

    def collect(self) -> Iterator[Metric]:
        """Nothing of its own: settles the tallies first."""
        for kept in self._tallies:
            count, kept.count = kept.count, 0
            if count:
                kept.series.inc(count)
        return iter(())


class RequestCounts(Collector):
    """``lacgw_http_requests_total`` and ``lacgw_http_request_duration_seconds``, counted in
    plain numbers and exported as a Counter and a Histogram of those names would be.

    Every answer updates both. prometheus_client's Counter and Histogram take a lock for each
    of their three updates; here an answer adds to integers, and a scrape reads them. Only the
    process's event loop counts (aiohttp serves from one thread); a scrape runs on it too.
    """

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self._bounds = tuple(float(bound) for bound in buckets)
        bounds = [floatToGoString(b) for b in self._bounds]  # type: ignore[no-untyped-call]
        self._labels = [*bounds, "+Inf"]  # each bucket's le, as prometheus_client writes it
        self._answers: dict[tuple[str, str, int], int] = {}
        self._latency: dict[tuple[str, str], _Latency] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answer and its latency."""
        key = (method, route, status)
        self._answers[key] = self._answers.get(key, 0) + 1
        series = self._latency.get((method, route))
        if series is None:
            series = self._latency[method, route] = _Latency(len(self._bounds))
        series.buckets[bisect_left(self._bounds, seconds)] += 1  # le: bound >= seconds
        series.total += seconds

    def collect(self) -> Iterator[Metric]:
        """The two families, as a scrape reads them."""
        answers = CounterMetricFamily(
            "lacgw_http_requests", "HTTP requests answered", labels=["method", "route", "status"]
        )
        for (method, route, status), count in self._answers.items():
            answers.add_metric([method, route, str(status)], count)
        yield answers
        latency = HistogramMetricFamily(
            "lacgw_http_request_duration_seconds",
            "HTTP request latency",
            labels=["method", "route"],
        )
        for labels, series in self._latency.items():
            cumulative = list(itertools.accumulate(series.buckets))
            latency.add_metric(
                list(labels), list(zip(self._labels, cumulative, strict=True)), series.total
            )
        yield latency


class Metrics:
    """Every metric the gateway exports, registered on its own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # Every counter and histogram would export a *_created series (a Unix time that reads
        # like a count on a dashboard); the switch is process-wide in prometheus_client.
        disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in the library
        reg = registry if registry is not None else CollectorRegistry()
        self.registry = reg
        self.tallies = Tallies()  # first: it settles the counters read after it
        reg.register(self.tallies)
        _add_runtime_collectors(reg)
        self.build = Info(
            "lacgw_build", "The running gateway: version, Python, LAC transport", registry=reg
        )
        self.redis_up = Gauge(
            "lacgw_redis_up",
            "1 when the last Redis write probe (readiness, scrape) succeeded, else 0",
            registry=reg,
        )
        self.redis_roundtrip = Histogram(
            "lacgw_redis_roundtrip_seconds",
            "Round trip of the Redis write probe (readiness, scrape)",
            buckets=REDIS_BUCKETS,
            registry=reg,
        )
        self.http = RequestCounts(LATENCY_BUCKETS)
        reg.register(self.http)
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
        self.license_revalidations = Counter(
            "lacgw_license_revalidations_total",
            "Cached licenses checked again at LAC in the background, by outcome: confirmed "
            "(cached afresh), dropped (LAC no longer has it), failed (LAC unreachable or "
            "refusing: kept, tried again later), superseded (changed meanwhile: left as it is)",
            ["outcome"],
            registry=reg,
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
        self.lac_activations_left = Gauge(
            "lacgw_lac_activations_left",
            "Activations the LAC vendor account has left (GetActivationCounters), by kind: "
            "one_time, subscription (current subscriptions summed)",
            ["kind"],
            registry=reg,
        )
        self.webhook_deliveries = Counter(
            "lacgw_webhook_deliveries_total",
            "Webhook delivery attempts by outcome: delivered, retry, rejected (a final 4xx), "
            "dead_letter (the retry schedule ran out)",
            ["endpoint", "event", "outcome"],
            registry=reg,
        )
        self.webhook_latency = Histogram(
            "lacgw_webhook_delivery_latency_seconds",
            "From the event being recorded to its successful delivery",
            ["endpoint"],
            buckets=WEBHOOK_BUCKETS,
            registry=reg,
        )
        self.webhook_backlog = Gauge(
            "lacgw_webhook_backlog",
            "Webhook deliveries not yet delivered or dead-lettered, per endpoint",
            ["endpoint"],
            registry=reg,
        )
        self.webhook_paused = Gauge(
            "lacgw_webhook_endpoint_paused",
            "1 while a webhook endpoint is paused after failing every attempt for a day",
            ["endpoint"],
            registry=reg,
        )
        self._lac_series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    def set_build_info(self, version: str, transport: str) -> None:
        """Set ``lacgw_build_info{version,python,transport}``."""
        self.build.info(
            {"version": version, "python": platform.python_version(), "transport": transport}
        )

    def observe_redis_probe(self, seconds: float | None) -> None:
        """Record one Redis write probe: its round trip, or None when it failed."""
        if seconds is None:
            self.redis_up.set(0)
            return
        self.redis_up.set(1)
        self.redis_roundtrip.observe(seconds)

    def observe_http(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency (route: a template, never a raw path)."""
        self.http.observe(method, route, status, seconds)

    def observe_lac_call(self, operation: str, transport: str, code: str, seconds: float) -> None:
        """Count one LAC call by its outcome code, and its latency.

        The labelled series are looked up once per label set: labels() costs more than the
        update itself.
        """
        key = (operation, transport, code)
        series = self._lac_series.get(key)
        if series is None:
            series = (self.lac_calls.labels(*key), self.lac_latency.labels(operation, transport))
            self._lac_series[key] = series
        series[0].inc()
        series[1].observe(seconds)

    def observe_activation_counters(
        self, counters: Mapping[str, object], today: date | None = None
    ) -> int:
        """Set lacgw_lac_activations_left from the activation counters (``ActivationCounters``).

        Returns the activations left of both kinds together.
        """
        day = (today or date.today()).isoformat()
        one_time = _count(counters.get("one_time_activations_left_count"))
        # Expired one-time activations cannot be used: they no longer count as quota.
        if not _current(counters.get("one_time_activations_expiration_date"), day):
            one_time = 0
        subscription = 0
        rows = counters.get("activation_subscriptions")
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, Mapping) or not _current(row.get("expiration_date"), day):
                continue
            start = row.get("start_date")
            if isinstance(start, str) and start[:10] > day:
                continue
            subscription += _count(row.get("activations_left_count"))
        self.lac_activations_left.labels("one_time").set(one_time)
        self.lac_activations_left.labels("subscription").set(subscription)
        return one_time + subscription


def _add_runtime_collectors(registry: CollectorRegistry) -> None:
    # The library's own instances belong to its global registry: these are the registry's own.
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)


def _count(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int | float):
        return max(int(value), 0)
    # [0-9], not isdigit(): LAC's text must not be read as "²" (int() refuses it) or U+0661.
    if isinstance(value, str) and _COUNT.fullmatch(value.strip()):
        return int(value.strip())
    return 0


def _current(expires: object, day: str) -> bool:
    # ISO dates (or date-times) compare as text; a missing date means no expiry.
    return not isinstance(expires, str) or not expires or expires[:10] >= day
