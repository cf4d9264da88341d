"""OpenTelemetry tracing, off unless the standard ``OTEL_*`` variables configure an exporter.

When on, ``setup_tracing`` adds, to an application ``create_app`` is building: a server span
per request (outermost middleware; the caller's W3C ``traceparent`` is its parent), a span per
Redis script the request runs, a span per LAC call (made by ``gateway/lac/http.py`` with the
tracer under ``TRACER``) with the aiohttp client span below it, which sends ``traceparent`` on
to LAC. When off, none of it exists: no middleware, plain scripts, ``TRACER`` is None.

What a span may carry is chosen here, never copied from the request: route templates, never
paths (they hold activation keys), no query strings (HostIDs), no headers, no text of LAC's or
Redis's errors (they can quote what was sent), and LAC URLs cut to their origin. (The aiohttp
client span keeps its own exception events: aiohttp's connection errors, host and port at most.)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Middleware
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from redis.commands.core import AsyncScript
from yarl import URL

from gateway.api.keys import TRACE_CONFIGS, TRACER
from gateway.api.middleware import KNOWN_METHODS, REQUEST_ID, Handler, route_template
from gateway.store import Stores
from gateway.store.scripts import name_of

if TYPE_CHECKING:
    # The SDK and the instrumentations are imported when tracing is on, not before: some 350
    # modules and 30 000 objects that a gateway without traces would carry (and the garbage
    # collector walk) for nothing.
    from opentelemetry.sdk.trace import TracerProvider

SERVICE_NAME = "lac-gateway"
TRUE = frozenset({"true", "1", "yes", "on"})
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
REQUEST_ID_ATTRIBUTE = "gateway.request_id"
SERVER_ERROR = 500
# Only W3C trace context is taken from a caller: baggage would carry the caller's own data on
# to LAC with every call.
_PROPAGATOR = TraceContextTextMapPropagator()


def configured(env: Mapping[str, str] = os.environ) -> bool:
    """Whether ``env`` asks for traces: an OTLP endpoint, and neither disabled nor ``none``."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() in TRUE:
        return False
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(env.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def provider_from_env() -> TracerProvider | None:
    """A provider exporting OTLP/HTTP in batches as ``OTEL_*`` say; None when tracing is off.

    The SDK reads ``OTEL_*`` from the environment itself: the sampler (``OTEL_TRACES_SAMPLER``
    and ``_ARG``), the exporter's endpoint, headers and timeout, the batch sizes and delays.
    """
    env = os.environ
    if not configured(env):
        return None
    # Imported only when tracing is on (see TYPE_CHECKING above).
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    name = env.get("OTEL_SERVICE_NAME", "").strip() or SERVICE_NAME
    resource = Resource.create({"service.name": name})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def safe_url(url: URL) -> str:
    """A LAC URL as a span may hold it: the origin only (REST paths hold keys and HostIDs)."""
    return str(url.origin())


def client_trace_configs(provider: TracerProvider | None) -> list[aiohttp.TraceConfig]:
    """The client session's trace configs: a span per LAC request, sending ``traceparent``."""
    if provider is None:
        return []
    from opentelemetry.instrumentation.aiohttp_client import (  # noqa: PLC0415 - tracing on
        create_trace_config,
    )

    # No headers captured, whatever OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_* say: the
    # vendor API's requests carry credentials.
    config = create_trace_config(
        url_filter=safe_url,
        tracer_provider=provider,
        captured_request_headers=[],
        captured_response_headers=[],
    )
    return [config]


def tracing_middleware(tracer: Tracer) -> Middleware:
    """The server span of every request; the stock middleware records the raw path and query.

    Paths matching ``OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS`` (or ``OTEL_PYTHON_EXCLUDED_URLS``),
    probes for instance, get no span.
    """
    from opentelemetry.instrumentation.aiohttp_server import (  # noqa: PLC0415 - tracing on
        get_default_span_name,
        getter,
    )
    from opentelemetry.util.http import get_excluded_urls  # noqa: PLC0415 - tracing on

    excluded = get_excluded_urls("AIOHTTP_SERVER")

    @web.middleware
    async def trace_request(request: web.Request, handler: Handler) -> web.StreamResponse:
        if excluded.url_disabled(request.path):
            return await handler(request)
        with tracer.start_as_current_span(
            get_default_span_name(request),
            context=_PROPAGATOR.extract(request, getter=getter),
            kind=SpanKind.SERVER,
            attributes=_request_attributes(request),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                response = await handler(request)
            except web.HTTPException as exc:  # a redirect or 304 raised past the error middleware
                _finish(span, request, exc.status)
                raise
            except BaseException as exc:
                _finish(span, request, None, type(exc).__name__)
                raise
            _finish(span, request, response.status)
            return response

    return trace_request


def _request_attributes(request: web.Request) -> dict[str, str]:
    return {
        "http.request.method": request.method if request.method in KNOWN_METHODS else "_OTHER",
        "http.route": route_template(request),
        "url.scheme": request.scheme,
    }


def _finish(
    span: trace.Span, request: web.Request, status: int | None, error: str | None = None
) -> None:
    request_id = request.get(REQUEST_ID)
    if request_id is not None:
        span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)
    if status is not None:
        span.set_attribute("http.response.status_code", status)
    if error is not None or (status is not None and status >= SERVER_ERROR):
        kind = error or str(status)
        span.set_attribute("error.type", kind)
        span.set_status(StatusCode.ERROR, kind)


class TracedScript(AsyncScript):
    """A store script that records a span when it runs inside a traced request."""

    def __init__(self, inner: AsyncScript, tracer: Tracer) -> None:
        super().__init__(inner.registered_client, inner.script)
        self.name = name_of(inner) or "script"
        self._tracer = tracer

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the script; a span only below a request's (the poller's ticks would flood)."""
        if not trace.get_current_span().is_recording():
            return await super().__call__(*args, **kwargs)
        attributes = {
            "db.system.name": "redis",
            "db.operation.name": "EVALSHA",
            "db.stored_procedure.name": self.name,
        }
        with self._tracer.start_as_current_span(
            f"redis {self.name}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,  # a Redis error's text can quote the command and its keys
            set_status_on_exception=False,
        ) as span:
            try:
                return await super().__call__(*args, **kwargs)
            except Exception as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(StatusCode.ERROR, type(exc).__name__)
                raise


def trace_scripts(stores: Stores, tracer: Tracer) -> None:
    """Replace every script the stores hold with one that records spans."""
    for field in dataclasses.fields(stores):
        store = getattr(stores, field.name)
        for attribute, value in list(getattr(store, "__dict__", {}).items()):
            if isinstance(value, AsyncScript) and not isinstance(value, TracedScript):
                setattr(store, attribute, TracedScript(value, tracer))


def setup_tracing(app: web.Application, provider: TracerProvider | None) -> None:
    """Trace ``app``'s requests through ``provider``; with None, add nothing at all."""
    app[TRACE_CONFIGS] = client_trace_configs(provider)
    if provider is None:
        app[TRACER] = None
        return
    tracer = app[TRACER] = provider.get_tracer("gateway")
    app.middlewares.insert(0, tracing_middleware(tracer))
