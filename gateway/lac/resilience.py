"""Retries with jitter, a retry budget and a circuit breaker around any ``Lac`` adapter.

What is retried, from the one code table (``gateway.codes``): ``LacUnavailable`` that is not
``LacAmbiguous`` (nothing reached LAC, or a read failed) and ``LacRejected`` whose code has the
``retry`` class. A request LAC refused as malformed (``LacRequestRejected``, a SOAP ``Client``
fault) is a configuration error: never retried, and, being an answer, it closes the breaker
like any other refusal instead of counting as LAC down. An ambiguous mutating call is never
retried here: the caller reconciles it by polling first (design.md section 2.1). Retries are
bounded per call (``attempts``) and across calls (a token bucket that grows with successful
traffic), so an outage does not multiply load.

The breaker opens after ``failures`` consecutive calls without a usable answer and then fails
calls fast with code 900 (nothing sent) until ``cooldown`` has passed; one probe call is then let
through, and its outcome closes or re-opens the breaker. The breaker is per process: each
replica learns LAC's health from its own calls, so one replica's bad network path never stops
the others, and no Redis round trip is added to every LAC call.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

import structlog

from gateway.codes import Code, lookup
from gateway.lac.base import (
    IssuedLicense,
    Lac,
    LacAmbiguous,
    LacError,
    LacRejected,
    LacRequestRejected,
    LacUnavailable,
    PollResult,
)
from gateway.metrics import Metrics
from gateway.settings import ResilienceSettings

T = TypeVar("T")
Clock = Callable[[], float]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently one call is retried."""

    attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 2.0
    budget_ratio: float = 0.2
    """Retries earned per call made: 0.2 lets retries add at most ~20 % to LAC's load."""
    budget_burst: float = 10.0
    """Retries available at start and the most the budget can hold."""

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff before retry number ``attempt`` (0-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return rng.uniform(0, ceiling)


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """When the breaker opens and how long it stays open."""

    failures: int = 5
    cooldown: float = 10.0


def policies(settings: ResilienceSettings) -> tuple[RetryPolicy, BreakerPolicy]:
    """The retry and breaker policies the settings describe."""
    retry = RetryPolicy(
        attempts=settings.attempts,
        base_delay=settings.base_delay,
        max_delay=settings.max_delay,
        budget_ratio=settings.budget_ratio,
        budget_burst=settings.budget_burst,
    )
    return retry, BreakerPolicy(settings.breaker_failures, settings.breaker_cooldown)


class BreakerState(StrEnum):
    """Where the breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Consecutive-failure breaker with one probe after the cool-down."""

    def __init__(self, policy: BreakerPolicy, clock: Clock = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self.state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    def retry_in(self) -> float:
        """Seconds until the open breaker lets a probe through (0 when not open)."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.policy.cooldown - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """Whether a call may go to LAC now."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN:
            if self._clock() - self._opened_at < self.policy.cooldown:
                return False
            self.state = BreakerState.HALF_OPEN
        if self._probing:
            return False
        self._probing = True
        return True

    def success(self) -> None:
        """LAC answered (any code): close."""
        if self.state is not BreakerState.CLOSED:
            log.info("lac_circuit_closed")
        self.state = BreakerState.CLOSED
        self._failures = 0
        self._probing = False

    def release(self) -> None:
        """A call ended without telling anything about LAC (cancelled)."""
        self._probing = False

    def failure(self) -> None:
        """No usable answer from LAC."""
        self._failures += 1
        reopen = self.state is BreakerState.HALF_OPEN
        if reopen or self._failures >= self.policy.failures:
            if self.state is BreakerState.CLOSED:
                log.warning("lac_circuit_open", failures=self._failures)
            self.state = BreakerState.OPEN
            self._opened_at = self._clock()
        self._probing = False


class RetryBudget:
    """A token bucket: each call deposits ``ratio`` tokens, each retry spends one."""

    def __init__(self, ratio: float, burst: float) -> None:
        self._ratio = ratio
        self._burst = burst
        self._tokens = burst

    def deposit(self) -> None:
        """A first attempt was made."""
        self._tokens = min(self._burst, self._tokens + self._ratio)

    def withdraw(self) -> bool:
        """Spend one retry if the budget allows it."""
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class CircuitOpen(LacUnavailable):
    """The breaker is open: the call was not sent (code 900)."""

    def __init__(
        self,
        code: int = Code.SOAP_NO_NETWORK_HOST,
        message: str = "circuit open",
        *,
        operation: str = "",
        retry_after: float = 0.0,
    ) -> None:
        super().__init__(code, message, operation=operation)
        self.retry_after = retry_after


def retryable(exc: LacError) -> bool:
    """Whether a failure may be retried at once by the adapter (see the module docstring)."""
    if isinstance(exc, LacAmbiguous | CircuitOpen | LacRequestRejected):
        return False
    if isinstance(exc, LacUnavailable):
        return True
    return lookup(exc.code).retryable


class ResilientLac:
    """Any ``Lac`` with bounded retries, a retry budget and a circuit breaker."""

    def __init__(
        self,
        inner: Lac,
        retry: RetryPolicy | None = None,
        breaker: BreakerPolicy | None = None,
        *,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.inner = inner
        self.transport = inner.transport
        self.retry = retry or RetryPolicy()
        self.breaker = CircuitBreaker(breaker or BreakerPolicy(), clock)
        self.budget = RetryBudget(self.retry.budget_ratio, self.retry.budget_burst)
        # Not for security: spreads retries of many callers apart.
        self._rng = rng or random.Random()  # noqa: S311
        self.metrics = metrics
        self._exported: BreakerState | None = None
        self._export_state()

    def _export_state(self) -> None:
        # Called after every call: the gauges are only touched when the state changed.
        if self.metrics is None or self._exported is self.breaker.state:
            return
        self._exported = self.breaker.state
        for state in BreakerState:
            self.metrics.lac_breaker_state.labels(state.value).set(
                1 if state is self.breaker.state else 0
            )

    async def _attempt(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            if not self.breaker.allow():
                raise CircuitOpen(operation=operation, retry_after=self.breaker.retry_in())
            try:
                result = await call()
            except LacRejected:
                self.breaker.success()
                raise
            except CircuitOpen:
                # Not sent (LAC asked to wait): no verdict on LAC's health.
                self.breaker.release()
                raise
            except LacUnavailable:
                self.breaker.failure()
                raise
            except BaseException:
                # Cancelled (or a bug): no verdict on LAC, but a probe slot must not stay taken.
                self.breaker.release()
                raise
            self.breaker.success()
            return result
        finally:
            self._export_state()

    def _count_retry(self, operation: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.lac_retries.labels(operation, outcome).inc()

    async def _run(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        self.budget.deposit()
        attempt = 0
        while True:
            try:
                return await self._attempt(operation, call)
            except LacError as exc:
                if attempt + 1 >= self.retry.attempts or not retryable(exc):
                    raise
                if not self.budget.withdraw():
                    self._count_retry(operation, "budget_exhausted")
                    raise
                self._count_retry(operation, "retried")
                log.info("lac_retry", op=operation, code=exc.code, attempt=attempt + 1)
            await asyncio.sleep(self.retry.delay(attempt, self._rng))
            attempt += 1

    async def create(self, activation_key: str, hostid: str) -> None:
        """``create`` of the wrapped adapter; an ambiguous outcome is raised, never retried."""
        await self._run("create", lambda: self.inner.create(activation_key, hostid))

    async def poll(self, activation_key: str, hostid: str) -> PollResult:
        """``poll`` of the wrapped adapter."""
        return await self._run("poll", lambda: self.inner.poll(activation_key, hostid))

    async def fetch(self, activation_key: str, hostid: str) -> IssuedLicense | None:
        """``fetch`` of the wrapped adapter."""
        return await self._run("fetch", lambda: self.inner.fetch(activation_key, hostid))

    async def deactivate(self, activation_key: str, hostid: str) -> None:
        """``deactivate`` of the wrapped adapter."""
        await self._run("deactivate", lambda: self.inner.deactivate(activation_key, hostid))

    async def removal_requested(self, activation_key: str, hostid: str) -> bool:
        """``removal_requested`` of the wrapped adapter."""
        return await self._run(
            "removal_requested", lambda: self.inner.removal_requested(activation_key, hostid)
        )

    async def removal_confirm(self, activation_key: str, hostid: str) -> None:
        """``removal_confirm`` of the wrapped adapter."""
        await self._run(
            "removal_confirm", lambda: self.inner.removal_confirm(activation_key, hostid)
        )
