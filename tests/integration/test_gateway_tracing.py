"""OpenTelemetry tracing in process: the span tree of a request, its attributes, propagation."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import aiohttp
import pytest
import structlog
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
from opentelemetry.trace import SpanKind, StatusCode
from redis.commands.core import AsyncScript
from structlog.testing import capture_logs

from gateway import tracing
from gateway.api.keys import SETTINGS, STORES, TRACER
from gateway.api.protocol import GatewayRunner
from gateway.app import create_app
from gateway.codes import Code
from gateway.logs import add_trace_ids
from gateway.tracing import TracedScript
from tests.gwharness import (
    FLEET_KEY,
    Running,
    gateway_settings,
    serve,
    start_gateway,
    start_sandbox,
)

KEY = "SNGLE-HOST1-DEMO0-00001"
HOST = "tracehost01"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
CREATE_OPS = {"soap": "CreateLicenseRequest", "rest": "create"}
SANDBOX_CREATE = {"soap": "CreateLicenseRequest", "rest": "PUT /licenses"}


@dataclass
class Traced:
    """A gateway exporting its spans to memory, beside the sandbox it talks to."""

    gw: Running
    exporter: InMemorySpanExporter
    transport: str

    def spans(self) -> Sequence[ReadableSpan]:
        """Every span finished so far."""
        return self.exporter.get_finished_spans()

    def server_span(self, name: str) -> ReadableSpan:
        """The one finished server span called ``name``."""
        found = [s for s in self.spans() if s.kind is SpanKind.SERVER and s.name == name]
        assert len(found) == 1, [s.name for s in self.spans()]
        return found[0]

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        """The spans whose parent is ``parent``."""
        return [s for s in self.spans() if s.parent is not None and s.parent == parent.context]


@pytest.fixture(params=["soap", "rest"])
async def traced(
    request: pytest.FixtureRequest, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Traced]:
    """A sandbox and a gateway whose tracer provider records every span in memory."""
    monkeypatch.setenv("OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS", "healthz,metrics")
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(ALWAYS_ON))  # the SDK default
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(redis_url, sandbox_url, request.param)
    app = create_app(settings, tracer_provider=provider)
    gw_runner, gw_url = await serve(app, GatewayRunner)
    async with aiohttp.ClientSession() as http:
        try:
            yield Traced(Running(gw_url, sandbox_url, http, settings, app), exporter, request.param)
        finally:
            await gw_runner.cleanup()
            await sandbox_runner.cleanup()
            provider.shutdown()


async def test_a_request_is_one_server_span_with_redis_and_lac_children(traced: Traced) -> None:
    resp = await traced.gw.activate(KEY, [f"HOSTNAME={HOST}"], traceparent=TRACEPARENT)
    assert resp.status == 200, await resp.text()

    server = traced.server_span("POST /v1/activations")
    assert server.context is not None
    assert f"{server.context.trace_id:032x}" == CALLER_TRACE
    assert server.parent is not None
    assert f"{server.parent.span_id:016x}" == CALLER_SPAN
    attributes = dict(server.attributes or {})
    assert attributes["http.route"] == "/v1/activations"
    assert attributes["http.request.method"] == "POST"
    assert attributes["http.response.status_code"] == 200
    assert attributes["gateway.request_id"] == resp.headers["X-Request-ID"]

    children = traced.children(server)
    scripts = [s for s in children if s.name == "redis lookup_or_create_job-4"]
    assert len(scripts) == 1, [s.name for s in children]
    assert dict(scripts[0].attributes or {})["db.system.name"] == "redis"
    lac = [s for s in children if s.name == f"lac {CREATE_OPS[traced.transport]}"]
    assert len(lac) == 1, [s.name for s in children]
    lac_attributes = dict(lac[0].attributes or {})
    assert lac_attributes["lac.transport"] == traced.transport
    assert lac_attributes["lac.operation"] == CREATE_OPS[traced.transport]
    assert isinstance(lac_attributes["lac.code"], int)
    http_spans = traced.children(lac[0])
    assert [s.kind for s in http_spans] == [SpanKind.CLIENT]


async def test_lac_receives_the_trace_of_the_request(traced: Traced) -> None:
    resp = await traced.gw.activate(KEY, [f"HOSTNAME={HOST}"], traceparent=TRACEPARENT)
    assert resp.status == 200, await resp.text()
    async with traced.gw.http.get(f"{traced.gw.sandbox}/_sandbox/traceparents") as got:
        seen = await got.json()

    creates = [s for s in seen if s["operation"] == SANDBOX_CREATE[traced.transport]]
    assert len(creates) == 1, seen
    version, trace_id, parent_id, _flags = creates[0]["traceparent"].split("-")
    assert (version, trace_id) == ("00", CALLER_TRACE)
    lac = next(s for s in traced.spans() if s.name == f"lac {CREATE_OPS[traced.transport]}")
    (http_span,) = traced.children(lac)
    assert http_span.context is not None
    assert parent_id == f"{http_span.context.span_id:016x}"


def _everything_recorded(spans: Sequence[ReadableSpan]) -> str:
    recorded = []
    for span in spans:
        events = [(e.name, dict(e.attributes or {})) for e in span.events]
        recorded.append([span.name, dict(span.attributes or {}), events, span.status.description])
    return json.dumps(recorded, default=str)


async def test_spans_carry_no_keys_hostids_license_text_or_credentials(traced: Traced) -> None:
    activation = await traced.gw.activate(KEY, [f"HOSTNAME={HOST}"])
    fetched = await traced.gw.call("GET", f"/v1/licenses/{KEY}?hostid=HOSTNAME={HOST}")
    missing = await traced.gw.call("GET", f"/v1/licenses/{KEY}?hostid=HOSTNAME=nothere99")
    assert (activation.status, fetched.status, missing.status) == (200, 200, 404)
    content = (await activation.json())["license"]["content"]
    signature = next(line for line in content.splitlines() if line.startswith("KEY="))

    recorded = _everything_recorded(traced.spans())
    assert "GET /v1/licenses/{activation_key}" in recorded
    for secret in (KEY, HOST, "nothere99", FLEET_KEY, signature[4:40], "FEATURE", "demo"):
        assert secret not in recorded, secret


async def test_the_standard_exclusion_list_leaves_probes_untraced(traced: Traced) -> None:
    health = await traced.gw.call("GET", "/healthz", key=None)
    ready = await traced.gw.call("GET", "/readyz", key=None)
    assert (health.status, ready.status) == (200, 200)
    names = {s.name for s in traced.spans() if s.kind is SpanKind.SERVER}
    assert names == {"GET /readyz"}


async def test_log_lines_of_a_request_carry_its_trace_and_span_ids(traced: Traced) -> None:
    with capture_logs() as entries:
        structlog.get_config()["processors"].insert(0, add_trace_ids)
        resp = await traced.gw.call(
            "GET", "/v1/activations/nosuchid", headers={"traceparent": TRACEPARENT}
        )
    assert resp.status in (400, 404)
    server = traced.server_span("GET /v1/activations/{id}")
    assert server.context is not None
    (line,) = [e for e in entries if e["event"] == "http_request"]
    assert line["trace_id"] == CALLER_TRACE
    assert line["span_id"] == f"{server.context.span_id:016x}"


async def test_without_a_tracer_provider_nothing_is_added(redis_url: str) -> None:
    sandbox_runner, sandbox_url = await start_sandbox()
    runner, _url, app = await start_gateway(gateway_settings(redis_url, sandbox_url, "soap"))
    try:
        assert app[TRACER] is None
        assert not any(m.__module__ == tracing.__name__ for m in app.middlewares)
        stores = [getattr(app[STORES], f.name) for f in dataclasses.fields(app[STORES])]
        scripts = [v for s in stores if hasattr(s, "__dict__") for v in vars(s).values()]
        assert not any(isinstance(v, TracedScript) for v in scripts)
        assert any(isinstance(v, AsyncScript) for v in scripts)
    finally:
        await runner.cleanup()
        await sandbox_runner.cleanup()


async def test_a_failed_lac_call_is_an_error_span_without_its_message(traced: Traced) -> None:
    transport = traced.transport
    await traced.gw.fault(
        kind="http_error",
        status=502,
        transport=transport,
        operation=SANDBOX_CREATE[transport],
        calls=1,
    )
    # The create's answer is lost: the gateway reconciles with LAC before anything else.
    reply = await traced.gw.activate("BULK5-SEATS-DEMO0-00002", ["HOSTNAME=tracefail1"])
    assert reply.status in (200, 202), await reply.text()

    creates = [s for s in traced.spans() if s.name == f"lac {CREATE_OPS[transport]}"]
    lost = [s for s in creates if (s.attributes or {})["lac.code"] == Code.SOAP_COMM_ERROR]
    assert len(lost) == 1, [dict(s.attributes or {}) for s in creates]
    assert lost[0].status.status_code is StatusCode.ERROR
    assert lost[0].status.description == (lost[0].attributes or {})["error.type"]
    assert lost[0].events == ()  # no exception event: its text may quote what was sent


async def test_an_unsampled_caller_trace_is_passed_on_but_not_recorded(traced: Traced) -> None:
    unsampled = f"00-{CALLER_TRACE}-{CALLER_SPAN}-00"
    resp = await traced.gw.activate(KEY, [f"HOSTNAME={HOST}"], traceparent=unsampled)
    assert resp.status == 200, await resp.text()
    assert not [s for s in traced.spans() if f"{s.context.trace_id:032x}" == CALLER_TRACE]
    async with traced.gw.http.get(f"{traced.gw.sandbox}/_sandbox/traceparents") as got:
        seen = await got.json()
    creates = [s for s in seen if s["operation"] == SANDBOX_CREATE[traced.transport]]
    assert len(creates) == 1, seen
    _version, trace_id, _parent, flags = creates[0]["traceparent"].split("-")
    assert (trace_id, flags) == (CALLER_TRACE, "00")


async def test_a_dropped_lac_connection_leaves_no_key_or_hostid_in_spans(
    redis_url: str,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    sandbox_runner, sandbox_url = await start_sandbox()
    app = create_app(gateway_settings(redis_url, sandbox_url, "soap"), tracer_provider=provider)
    gw_runner, gw_url = await serve(app, GatewayRunner)
    try:
        async with aiohttp.ClientSession() as http:
            gw = Running(gw_url, sandbox_url, http, app[SETTINGS], app)
            await gw.fault(kind="drop", transport="soap", operation="CreateLicenseRequest", calls=1)
            reply = await gw.activate(KEY, ["HOSTNAME=tracedrop1"])
            assert reply.status in (200, 202), await reply.text()
    finally:
        await gw_runner.cleanup()
        await sandbox_runner.cleanup()
        provider.shutdown()

    recorded = _everything_recorded(exporter.get_finished_spans())
    assert "ServerDisconnectedError" in recorded  # the client span's exception event
    for secret in (KEY, "tracedrop1", FLEET_KEY):
        assert secret not in recorded, secret
