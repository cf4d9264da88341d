"""A gateway process configured by OTEL_* sends its spans to an OTLP/HTTP receiver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.e2e.procs import GatewayFactory, Process
from tests.gwharness import FLEET_KEY, serve, until

pytestmark = pytest.mark.e2e  # separate processes: `make test-fast` skips them

KEY = "SNGLE-HOST1-DEMO0-00001"
HOST = "otlphost01"
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{CALLER_TRACE}-b7ad6b7169203331-01"
SERVICE = "lac-gateway-e2e"


@dataclass(frozen=True)
class Received:
    """One span as the receiver decoded it."""

    service: str
    name: str
    trace_id: str
    attributes: dict[str, object]


@dataclass
class Receiver:
    """What an OTLP/HTTP traces receiver got, and where it listens."""

    url: str = ""
    spans: list[Received] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    def named(self, name: str) -> list[Received]:
        """The spans called ``name``."""
        return [span for span in self.spans if span.name == name]


def _value(any_value: object) -> object:
    kind = any_value.WhichOneof("value")  # type: ignore[attr-defined]
    return getattr(any_value, kind) if kind else None


def _decode(body: bytes) -> list[Received]:
    request = ExportTraceServiceRequest.FromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                attributes = {a.key: _value(a.value) for a in span.attributes}
                service = str(resource.get("service.name"))
                spans.append(Received(service, span.name, span.trace_id.hex(), attributes))
    return spans


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """An OTLP/HTTP receiver accepting ``POST /v1/traces`` protobuf on a free port."""
    got = Receiver()

    async def traces(request: web.Request) -> web.Response:
        assert request.content_type == "application/x-protobuf"
        body = await request.read()
        got.bodies.append(body)
        got.spans.extend(_decode(body))
        reply = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=reply, content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    runner, got.url = await serve(app)
    try:
        yield got
    finally:
        await runner.cleanup()


# Two workers: each, forked before it builds its application, exports from its own thread.
@pytest.mark.parametrize("workers", ["1", "2"])
async def test_a_gateway_process_exports_its_request_traces_over_otlp_http(
    gateways: GatewayFactory, sandbox_process: Process, receiver: Receiver, workers: str
) -> None:
    gw = gateways(
        "soap",
        LACGW_HTTP__WORKERS=workers,
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_SERVICE_NAME=SERVICE,
        OTEL_BSP_SCHEDULE_DELAY="100",  # milliseconds: spans leave soon after the request
    )
    await gw.wait_healthy("/readyz")
    body = {"activation_key": KEY, "hostids": [f"HOSTNAME={HOST}"]}
    headers = {"Authorization": f"Bearer {FLEET_KEY}", "traceparent": TRACEPARENT}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{gw.url}/v1/activations", json=body, headers=headers) as resp,
    ):
        assert resp.status == 200, await resp.text()
        request_id = resp.headers["X-Request-ID"]

    async def exported() -> bool:
        return any(s.trace_id == CALLER_TRACE for s in receiver.named("POST /v1/activations"))

    await until(exported, "the request's server span at the receiver")
    (server,) = [s for s in receiver.named("POST /v1/activations") if s.trace_id == CALLER_TRACE]
    assert server.service == SERVICE
    assert server.attributes["http.route"] == "/v1/activations"
    assert server.attributes["gateway.request_id"] == request_id
    in_trace = {s.name for s in receiver.spans if s.trace_id == CALLER_TRACE}
    assert {"lac CreateLicenseRequest", "redis lookup_or_create_job-4"} <= in_trace, in_trace
    raw = b"".join(receiver.bodies)
    assert KEY.encode() not in raw
    assert HOST.encode() not in raw

    def logged() -> list[dict[str, object]]:
        lines = [json.loads(line) for line in gw.log.read_text().splitlines() if line[:1] == "{"]
        return [
            e
            for e in lines
            if e.get("event") == "http_request" and e.get("request_id") == request_id
        ]

    async def written() -> bool:  # INFO lines are written in batches, up to 50 ms late
        return bool(logged())

    await until(written, "the access line of the request in the gateway's log")
    (line,) = logged()
    assert line["trace_id"] == CALLER_TRACE
    assert isinstance(line["span_id"], str)
    assert len(line["span_id"]) == 16
