"""The access line written without structlog's processor chain: the chain's own bytes."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
import structlog

from gateway import logs
from gateway.logs import configure_logging, info_line

STAMP = re.compile(rb'"timestamp":"[0-9T:.Z-]+"')
FIELDS: dict[str, object] = {
    "method": "GET",
    "route": "/v1/licenses/{activation_key}",
    "status": 200,
    "request_id": "abc",
    "duration_ms": 0.42,
    "caller": "fleet",
    "activation_key": "BULK5-*****-*****-00002",
}


@pytest.fixture
def out() -> Iterator[io.BytesIO]:
    """configure_logging's JSON sink, writing to a buffer; the session's setup restored after."""
    configure_logging("INFO", "json")
    buffer = io.BytesIO()
    logs._SINKS[0]._file = buffer
    try:
        yield buffer
    finally:
        configure_logging("INFO", "json")  # as the test session's conftest leaves it


def lines(buffer: io.BytesIO) -> list[bytes]:
    logs.flush_logs()
    return [STAMP.sub(b'"timestamp":"T"', line) for line in buffer.getvalue().splitlines()]


def test_the_direct_line_is_the_chains_line(out: io.BytesIO) -> None:
    with structlog.contextvars.bound_contextvars(request_id="abc", trace_id="t1"):
        structlog.get_logger("gateway.api").info("http_request", **FIELDS)
        assert info_line("http_request", dict, FIELDS)
    chained, direct = lines(out)
    assert direct == chained
    assert b'"trace_id":"t1"' in direct  # context bound by others is kept, as the chain keeps it


def test_a_level_above_info_writes_nothing(out: io.BytesIO) -> None:
    configure_logging("WARNING", "json")
    logs._SINKS[0]._file = out
    assert info_line("http_request", dict, FIELDS)
    assert lines(out) == []


def test_another_configuration_gets_the_event_through_structlog(out: io.BytesIO) -> None:
    with structlog.testing.capture_logs() as captured:
        assert not info_line("http_request", dict, FIELDS)
    assert captured == []  # the caller logs it the usual way, and the capture sees that
    assert lines(out) == []


def test_a_logger_used_before_a_new_configuration_follows_it() -> None:
    # Loggers are cached on first use: a module's logger used under one configuration must
    # still reach what a later one installs (here structlog's capture, as the tests use it).
    early = structlog.get_logger("gateway.test_early")
    configure_logging("DEBUG", "json")
    try:
        early.info("first_use")  # cached now, under this configuration's processor list
        configure_logging("INFO", "json")
        with structlog.testing.capture_logs() as captured:
            early.warning("after_reconfiguration")
        assert [entry["event"] for entry in captured] == ["after_reconfiguration"]
    finally:
        configure_logging("INFO", "json")  # as the test session's conftest leaves it
