"""The one place LAC requests are sent: timeouts, TLS, the concurrency cap, metrics, error mapping.

Transport failures become ``LacUnavailable`` here and nowhere else (lac-api.md section 7 notes):

- nothing sent (connection refused, DNS, connect timeout)             -> 900
- sent, no usable answer (timeout, reset, HTTP 5xx, malformed reply)  -> 901, raised as
  ``LacAmbiguous`` for mutating calls, which may have reached LAC.
- 429 or 503 with ``Retry-After``: the pause is shared through ``pause`` (gateway/lac/pause.py)
  and, until it ends, no call is sent (``LacPaused``); a 429 itself is ``LacPaused`` too.
- a SOAP ``Client`` fault (HTTP 500 whose body blames the request)   -> ``LacRequestRejected``:
  LAC answered, and refused the request's shape; logged once at warning with its fault string.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
import structlog
from multidict import CIMultiDictProxy
from opentelemetry import trace
from opentelemetry.trace import StatusCode, Tracer
from yarl import URL

from gateway.codes import Code
from gateway.lac.base import LacAmbiguous, LacError, LacRequestRejected, LacUnavailable
from gateway.lac.pause import PAUSE_STATUSES, LacPaused, PauseBoard, retry_after_seconds
from gateway.metrics import Metrics
from gateway.settings import LacSettings

T = TypeVar("T")

log = structlog.get_logger(__name__)

# A license file is a few KiB; anything near this is not a LAC answer.
MAX_REPLY_BYTES = 4 * 1024 * 1024
SERVER_ERROR = 500


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer from LAC, fully read."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    url: URL


def client_timeout(settings: LacSettings) -> aiohttp.ClientTimeout:
    """Timeouts from settings, never the library defaults."""
    return aiohttp.ClientTimeout(
        total=settings.total_timeout,
        connect=settings.connect_timeout,
        sock_connect=settings.connect_timeout,
        sock_read=settings.read_timeout,
    )


def ssl_context(settings: LacSettings) -> ssl.SSLContext | bool:
    """Verification on by default, against the system store or ``ca_bundle``."""
    if not settings.verify_tls:
        return False
    cafile = str(settings.ca_bundle) if settings.ca_bundle is not None else None
    return ssl.create_default_context(cafile=cafile)


def _decoded(
    reply: Reply, decode: Callable[[Reply], tuple[int, T]], *, faults_in_body: bool
) -> tuple[int, T]:
    """``decode(reply)``, but an HTTP 5xx is LAC in trouble unless its body blames the request."""
    if reply.status < SERVER_ERROR:
        return decode(reply)
    if faults_in_body:
        try:
            decode(reply)
        except LacRequestRejected:
            raise
        except LacError:
            pass  # a Server fault or no SOAP at all: what counts is the status
    raise LacUnavailable(Code.SOAP_COMM_ERROR, f"HTTP {reply.status}")


class LacHttp:
    """Sends requests to LAC through a session owned by the application."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: LacSettings,
        *,
        transport: str,
        metrics: Metrics | None = None,
        slots: asyncio.Semaphore | None = None,
        pause: PauseBoard | None = None,
        clock: Callable[[], float] = time.time,
        tracer: Tracer | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.transport = transport
        self.metrics = metrics
        self.pause = pause
        self._clock = clock
        self._tracer = tracer
        self._timeout = client_timeout(settings)
        self._ssl = ssl_context(settings)
        self._slots = slots if slots is not None else asyncio.Semaphore(settings.max_concurrency)

    def for_transport(self, transport: str) -> LacHttp:
        """The same session and concurrency cap, labelled for another transport in metrics."""
        return LacHttp(
            self.session,
            self.settings,
            transport=transport,
            metrics=self.metrics,
            slots=self._slots,
            pause=self.pause,
            clock=self._clock,
            tracer=self._tracer,
        )

    async def call(
        self,
        operation: str,
        method: str,
        url: URL,
        decode: Callable[[Reply], tuple[int, T]],
        *,
        mutating: bool,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        faults_in_body: bool = False,
    ) -> T:
        """Send one request and decode the answer; ``decode`` returns (LAC code, result).

        ``faults_in_body``: an HTTP 5xx answer is decoded too (SOAP sends its Faults with 500),
        so that a fault blaming the request is told apart from LAC in trouble.
        """
        send = self._call(
            operation,
            method,
            url,
            decode,
            mutating=mutating,
            data=data,
            headers=headers,
            faults_in_body=faults_in_body,
        )
        if self._tracer is None:
            return await send
        attributes = {"lac.operation": operation, "lac.transport": self.transport}
        with self._tracer.start_as_current_span(
            f"lac {operation}",
            attributes=attributes,
            record_exception=False,  # LAC's text can echo what the request carried
            set_status_on_exception=False,
        ) as span:
            try:
                return await send
            except LacError as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(StatusCode.ERROR, type(exc).__name__)
                raise

    async def _call(
        self,
        operation: str,
        method: str,
        url: URL,
        decode: Callable[[Reply], tuple[int, T]],
        *,
        mutating: bool,
        data: bytes | None,
        headers: Mapping[str, str] | None,
        faults_in_body: bool,
    ) -> T:
        await self._wait_for_pause(operation)
        started = time.perf_counter()
        label = "cancelled"
        try:
            reply = await self._send(method, url, data, headers)
            code, result = _decoded(reply, decode, faults_in_body=faults_in_body)
            label = str(code)
        except LacRequestRejected as exc:
            label = str(exc.code)
            log.warning(
                "lac_request_rejected",
                op=operation,
                faultcode=exc.faultcode,
                fault=exc.fault,
                transport=self.transport,
            )
            raise
        except LacUnavailable as exc:
            label = str(exc.code)
            log.warning(
                "lac_call_failed",
                op=operation,
                code=exc.code,
                reason=exc.message,
                transport=self.transport,
            )
            # Only a failure after sending leaves a mutating call's effect unknown.
            if mutating and exc.code == Code.SOAP_COMM_ERROR and not isinstance(exc, LacAmbiguous):
                raise LacAmbiguous(exc.code, exc.message, operation=operation) from exc
            raise
        except LacError as exc:
            label = str(exc.code)
            # Never the text LAC sent back: it may echo caller data.
            log.info("lac_call_failed", op=operation, code=exc.code, transport=self.transport)
            raise
        finally:
            self._record(operation, label, time.perf_counter() - started)
        return result

    async def _send(
        self,
        method: str,
        url: URL,
        data: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> Reply:
        if self._slots.locked():
            try:
                # Waiting for a slot is bounded too: a saturated cap is LAC not reached.
                async with asyncio.timeout(self.settings.total_timeout):
                    await self._slots.acquire()
            except TimeoutError as exc:
                raise LacUnavailable(Code.SOAP_NO_NETWORK_HOST, "no free slot toward LAC") from exc
        else:
            await self._slots.acquire()  # a free slot is taken without waiting: no timer needed
        try:
            async with self.session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=self._timeout,
                ssl=self._ssl,
                allow_redirects=False,
            ) as response:
                length = response.content_length
                if length is not None and length > MAX_REPLY_BYTES:
                    raise LacUnavailable(Code.SOAP_COMM_ERROR, "reply too large")
                body = await response.read()
                reply = Reply(response.status, response.headers, body, response.url)
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
            # Nothing was sent: LAC was not reached, even by a mutating call.
            raise LacUnavailable(Code.SOAP_NO_NETWORK_HOST, type(exc).__name__) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise LacUnavailable(Code.SOAP_COMM_ERROR, type(exc).__name__) from exc
        finally:
            self._slots.release()
        if reply.status in PAUSE_STATUSES:
            await self._hold(reply)
        return reply

    async def _wait_for_pause(self, operation: str) -> None:
        """Fail fast while LAC's ``Retry-After`` lasts, on whichever replica it was received."""
        if self.pause is None:
            return
        left = await self.pause.paused_until() - self._clock()
        if left > 0:
            raise LacPaused(operation=operation, retry_after=left)

    async def _hold(self, reply: Reply) -> None:
        """Share the pause a 429 / 503 asks for; a 429 was not acted on, so it is ``LacPaused``."""
        now = self._clock()
        seconds = retry_after_seconds(reply.headers.get("Retry-After"), now)
        if seconds is not None and self.pause is not None:
            log.warning("lac_paused", status=reply.status, seconds=round(seconds, 1))
            await self.pause.pause_until(now + seconds)
        if reply.status == 429:
            raise LacPaused(retry_after=seconds or 1.0)

    def _record(self, operation: str, code: str, seconds: float) -> None:
        if self._tracer is not None and code.isdigit():
            trace.get_current_span().set_attribute("lac.code", int(code))  # the call's span
        if self.metrics is None:
            return
        self.metrics.observe_lac_call(operation, self.transport, code, seconds)
