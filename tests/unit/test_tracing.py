"""Tracing configuration: off unless the standard OTEL_* variables ask for it."""

from __future__ import annotations

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from yarl import URL

from gateway import logs, tracing

ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}


def _environ(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name in [*tracing.ENDPOINT_VARIABLES, "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_tracing_is_off_without_an_otlp_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    _environ(monkeypatch, OTEL_SERVICE_NAME="gw")
    assert not tracing.configured()
    assert tracing.provider_from_env() is None


def test_tracing_is_off_when_the_sdk_is_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    _environ(monkeypatch, **ENDPOINT, OTEL_SDK_DISABLED="true")
    assert not tracing.configured()
    assert tracing.provider_from_env() is None
    assert not tracing.configured({**ENDPOINT, "OTEL_TRACES_EXPORTER": "none"})


def test_an_endpoint_turns_tracing_on_with_the_service_name_and_sampler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _environ(monkeypatch, **ENDPOINT, OTEL_SERVICE_NAME="gw-eu", OTEL_TRACES_SAMPLER="always_off")
    provider = tracing.provider_from_env()
    assert isinstance(provider, TracerProvider)
    try:
        assert provider.resource.attributes["service.name"] == "gw-eu"
        assert provider.sampler is ALWAYS_OFF
    finally:
        provider.shutdown()
    only_traces = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}
    assert tracing.configured(only_traces)


def test_the_service_name_defaults_to_lac_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    _environ(monkeypatch, **ENDPOINT)
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    provider = tracing.provider_from_env()
    assert provider is not None
    try:
        assert provider.resource.attributes["service.name"] == "lac-gateway"
    finally:
        provider.shutdown()


def test_lac_urls_in_spans_keep_only_the_origin() -> None:
    url = URL("https://user:pw@lac.example:8443/rest/v2/licenses/AAAA-BBBB/HOSTNAME%3Dh1?token=s")
    assert tracing.safe_url(url) == "https://lac.example:8443"


def test_log_lines_carry_no_trace_ids_unless_tracing_is_on() -> None:
    # Not by configuring logging again: loggers already used keep the session's processors.
    assert logs.add_trace_ids not in logs.shared_processors()
    assert logs.add_trace_ids in logs.shared_processors(trace_ids=True)
    assert logs.add_trace_ids not in structlog.get_config()["processors"]


def test_a_log_line_outside_any_span_gets_no_trace_id() -> None:
    event = logs.add_trace_ids(None, "info", {"event": "x"})
    assert "trace_id" not in event
