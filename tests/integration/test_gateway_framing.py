"""Malformed HTTP on raw sockets: framing, encodings, vanished clients, repeated headers, Expect."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import zlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from structlog.testing import capture_logs

from tests.gwharness import (
    FLEET_KEY,
    Reply,
    Running,
    exchange,
    gateway_settings,
    parse_head,
    port_of,
    problem_of,
    read_reply,
    requests_counted,
    start_gateway,
    start_sandbox,
    until,
)

MAX_HEADER_BYTES = 4096
MAX_PATH_CHARS = 2048
AUTH = f"Authorization: Bearer {FLEET_KEY}\r\n".encode()
ACTIVATION = b'{"activation_key": "AAAAA-BBBBB-CCCCC-DDDDD", "hostids": ["HOSTNAME=frame01"]}'
BODY_ROUTES = ("/v1/activations", "/v1/activations/batch", "/v1/licenses/K/removal/confirm")
SECRET_VALUE = FLEET_KEY + "-SECRET-HEADER-VALUE"


@pytest.fixture
async def gw(redis_url: str) -> AsyncIterator[Running]:
    """A gateway toward the sandbox with small request shape limits."""
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(
        redis_url,
        sandbox_url,
        "soap",
        limits={"max_header_bytes": MAX_HEADER_BYTES, "max_path_chars": MAX_PATH_CHARS},
    )
    runner, url, app = await start_gateway(settings)
    async with aiohttp.ClientSession() as http:
        try:
            yield Running(url, sandbox_url, http, settings, app)
        finally:
            await runner.cleanup()
            await sandbox_runner.cleanup()


def request(
    target: str = "/v1/activations",
    *,
    method: str = "POST",
    headers: bytes = b"",
    body: bytes = b"",
    length: bool = True,
) -> bytes:
    """A raw HTTP/1.1 request with our key and a fixed request id."""
    framed = b"Content-Length: %d\r\n" % len(body) if length else b""
    return (
        f"{method} {target} HTTP/1.1\r\nHost: gw\r\nX-Request-ID: raw-1\r\n".encode()
        + AUTH
        + headers
        + framed
        + b"Connection: close\r\n\r\n"
        + body
    )


def statuses(gw: Running) -> dict[str, float]:
    """Answers counted in lacgw_http_requests_total, by status label."""
    return requests_counted(gw, "status")


def assert_ours(reply: Reply, status: int, *hidden: bytes) -> None:
    """A problem+json of ours with ``status``, echoing none of ``hidden``, naming no versions."""
    problem_of(reply, status)
    for secret in (FLEET_KEY.encode(), *hidden):
        assert secret not in reply.body
    assert reply.headers.get("Server") == "lac-gateway"


MANY_TINY = b"".join(b"X-%d: 1\r\n" % n for n in range(200))
OVER_BYTES = b"".join(b"X-%d: 1\r\n" % n for n in range(900))
OVER_COUNT = b"".join(b"X%d:\r\n" % n for n in range(MAX_HEADER_BYTES + 10))
FRAMINGS = {
    "bad chunk size": (
        request(
            headers=b"Transfer-Encoding: chunked\r\n",
            body=b"zz\r\nabc\r\n0\r\n\r\n",
            length=False,
        ),
        400,
        b"zz",
    ),
    "content-length and transfer-encoding": (
        request(headers=b"Transfer-Encoding: chunked\r\n", body=b"0\r\n\r\n"),
        400,
        b"chunked",
    ),
    "duplicate content-length": (
        request(headers=b"Content-Length: 5\r\n", body=b"hello"),
        400,
        b"Content-Length: 5",
    ),
    "invalid header byte": (
        request(headers=f"X-Note: {SECRET_VALUE}\x01\r\n".encode()),
        400,
        SECRET_VALUE.encode(),
    ),
    "target over the parser's line": (request("/" + "a" * 9000, method="GET"), 414, b"aaaa"),
    "target over max_path_chars": (request("/" + "a" * 3000, method="GET"), 414, b"aaaa"),
    "header value over max_header_bytes": (
        request(headers=f"X-Long: {SECRET_VALUE}{'A' * 9000}\r\n".encode()),
        431,
        SECRET_VALUE.encode(),
    ),
    "headers over max_header_bytes": (request(headers=OVER_BYTES), 431, b"X-1:"),
    "more headers than max_header_bytes": (request(headers=OVER_COUNT), 431, b"X1:"),
}


@pytest.mark.parametrize("case", list(FRAMINGS))
async def test_malformed_framing_gets_our_problem_without_echo(
    gw: Running, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    data, status, echoed = FRAMINGS[case]
    with capture_logs() as entries:
        reply = await exchange(gw, data)
    assert_ours(reply, status, echoed)
    assert not [e for e in entries if e["log_level"] in ("error", "critical")], entries
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    await until(lambda: _counted(gw, str(status)), f"a {status} counted")
    assert not any(label.startswith("5") for label in statuses(gw)), statuses(gw)


async def _counted(gw: Running, status: str) -> bool:
    return statuses(gw).get(status, 0.0) >= 1


async def test_many_tiny_headers_under_max_header_bytes_are_served(gw: Running) -> None:
    reply = await exchange(gw, request("/healthz", method="GET", headers=MANY_TINY))
    assert reply.status == 200, reply.body
    assert reply.headers["Server"] == "lac-gateway"


def _gzip_junk() -> bytes:
    return b"this is not gzip at all"


ENCODED = {
    "gzip junk": (b"gzip", _gzip_junk(), 400),
    "deflate junk": (b"deflate", b"not deflate either", 400),
    "truncated gzip": (b"gzip", gzip.compress(ACTIVATION)[:20], 400),
    "brotli": (b"br", ACTIVATION, 415),
    "zstd": (b"zstd", ACTIVATION, 415),
    "unknown coding": (b"x-custom", ACTIVATION, 415),
}


@pytest.mark.parametrize("route", BODY_ROUTES)
@pytest.mark.parametrize("case", list(ENCODED))
async def test_a_body_that_does_not_decode_is_a_4xx(
    gw: Running, route: str, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    coding, body, status = ENCODED[case]
    headers = b"Content-Type: application/json\r\nContent-Encoding: " + coding + b"\r\n"
    with capture_logs() as entries:
        reply = await exchange(gw, request(route, headers=headers, body=body))
    assert_ours(reply, status)
    if status == 415:
        assert reply.headers["Accept-Encoding"] == "gzip, deflate"
    assert not [e for e in entries if e["log_level"] in ("error", "critical")], entries
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert await gw.state_keys() == set()
    assert await gw.creates() == 0


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_a_well_encoded_body_is_read(gw: Running, coding: str) -> None:
    wrong = json.dumps({"activation_key": "nope", "hostids": ["HOSTNAME=frame01"]}).encode()
    body = gzip.compress(wrong) if coding == "gzip" else zlib.compress(wrong)
    headers = f"Content-Type: application/json\r\nContent-Encoding: {coding}\r\n".encode()
    reply = await exchange(gw, request(headers=headers, body=body))
    assert problem_of(reply, 422)["errors"][0]["field"] == "activation_key"


async def test_a_client_gone_mid_body_is_a_499_not_a_500(
    gw: Running, caplog: pytest.LogCaptureFixture
) -> None:
    head = request(headers=b"Content-Type: application/json\r\n", length=False)
    head = head.replace(b"Connection: close\r\n", b"Content-Length: 100\r\n")
    with capture_logs() as entries:
        for _ in range(3):
            _, writer = await asyncio.open_connection("127.0.0.1", port_of(gw))
            writer.write(head + b"0123456789")
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        await until(lambda: _counted_times(gw, "499", 3), "three 499s counted")
    assert not any(label.startswith("5") for label in statuses(gw)), statuses(gw)
    assert not [e for e in entries if e["log_level"] in ("error", "critical")], entries
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    access = [e for e in entries if e["event"] == "http_request"]
    assert [e["status"] for e in access] == [499, 499, 499]


async def _counted_times(gw: Running, status: str, times: int) -> bool:
    return statuses(gw).get(status, 0.0) >= times


@pytest.mark.parametrize(
    ("header", "values"),
    [
        ("Idempotency-Key", ("first", "second")),
        ("Authorization", (f"Bearer {FLEET_KEY}", "Bearer someone-else")),
    ],
)
async def test_a_repeated_single_header_is_refused(
    gw: Running, header: str, values: tuple[str, str]
) -> None:
    repeated = "".join(f"{header}: {value}\r\n" for value in values).encode()
    data = request(headers=b"Content-Type: application/json\r\n" + repeated, body=ACTIVATION)
    if header == "Authorization":
        data = data.replace(AUTH, b"", 1)
    reply = await exchange(gw, data)
    body = problem_of(reply, 400)
    assert header in body["detail"]
    assert await gw.state_keys() == set()
    assert await gw.creates() == 0


async def _expect(gw: Running, data: bytes) -> tuple[list[int], Reply]:
    """Send ``data``'s head with Expect: 100-continue, its body only once told to continue."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw))
    try:
        head, _, body = data.partition(b"\r\n\r\n")
        writer.write(head.replace(b"Connection: close", b"Expect: 100-continue") + b"\r\n\r\n")
        await writer.drain()
        first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        if parse_head(first)[0] != 100:
            return [], await asyncio.wait_for(read_reply(reader, first), 10)
        writer.write(body)
        await writer.drain()
        return [100], await asyncio.wait_for(read_reply(reader), 10)
    finally:
        writer.close()


async def test_expect_100_continue_comes_after_the_key_and_size_checks(gw: Running) -> None:
    unauthenticated = request(body=ACTIVATION).replace(AUTH, b"")
    interim, reply = await _expect(gw, unauthenticated)
    assert interim == []
    problem_of(reply, 401)

    big = b"x" * (gw.settings.http.max_body_bytes + 1)
    interim, reply = await _expect(gw, request(body=big))
    assert interim == []
    problem_of(reply, 413)

    headers = b"Content-Type: application/json\r\n"
    wrong = ACTIVATION.replace(b"AAAAA-BBBBB-CCCCC-DDDDD", b"nope")
    interim, reply = await _expect(gw, request(headers=headers, body=wrong))
    assert interim == [100]
    problem_of(reply, 422)


LATE_BODIES = {
    "bad chunk size": (b"Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n"),
    "deflate that does not end": (b"Content-Encoding: deflate\r\nContent-Length: 1\r\n", b"\x00"),
    "gzip that does not end": (
        b"Content-Encoding: gzip\r\nContent-Length: 20\r\n",
        gzip.compress(ACTIVATION)[:20],
    ),
}


@pytest.mark.parametrize("case", list(LATE_BODIES))
async def test_a_broken_body_after_its_headers_is_a_400_not_a_hang(gw: Running, case: str) -> None:
    framing, body = LATE_BODIES[case]
    head = request(headers=b"Content-Type: application/json\r\n" + framing, length=False)
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw))
    try:
        writer.write(head)
        await writer.drain()
        # The handler is reading the body by the time the broken part arrives.
        await until(lambda: _in_flight(gw), "the request is being handled")
        writer.write(body)
        await writer.drain()
        reply = await asyncio.wait_for(read_reply(reader), 10)
    finally:
        writer.close()
    assert_ours(reply, 400)
    assert await gw.state_keys() == set()


async def _in_flight(gw: Running) -> bool:
    # The rate limiter counts a request before its handler reads the body.
    return bool(await gw.redis_keys())


async def test_a_broken_body_queued_behind_a_busy_request_is_a_400_not_a_hang(
    gw: Running,
) -> None:
    # Pipelined behind a request still being handled, a second request's headers and then its
    # broken body arrive before any handler reads that body (as on a loaded machine, where the
    # handler of a request starts late): it must still be answered.
    slow = b'{"activation_key": "DELAY-2SECS-DEMO0-00007", "hostids": ["HOSTNAME=frame02"]}'
    first = (
        b"POST /v1/activations HTTP/1.1\r\nHost: gw\r\n"
        + AUTH
        + b"Prefer: wait=1\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(slow)
        + slow
    )
    framing, body = LATE_BODIES["deflate that does not end"]
    second = request(headers=b"Content-Type: application/json\r\n" + framing, length=False)
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw))
    try:
        writer.write(first)
        await writer.drain()
        await until(lambda: _in_flight(gw), "the first request is being handled")
        writer.write(second)
        await writer.drain()
        await asyncio.sleep(0.05)  # the second's headers are parsed and queued on their own
        writer.write(body)
        await writer.drain()
        answered = await asyncio.wait_for(read_reply(reader), 10)
        broken = await asyncio.wait_for(read_reply(reader), 10)
    finally:
        writer.close()
    assert answered.status == 202
    assert_ours(broken, 400)


async def test_an_answer_to_an_encoded_body_closes_the_connection(gw: Running) -> None:
    # Refused before its body is read, a deflate-labelled request must not leave a connection
    # that a client reuses while the gateway still lingers on the broken body.
    head = (
        b"POST /v1/activations HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer wrong-key\r\n"
        b"Content-Encoding: deflate\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(ACTIVATION)
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw))
    try:
        writer.write(head)
        await writer.drain()
        reply = await asyncio.wait_for(read_reply(reader), 10)
        writer.write(ACTIVATION)  # the body, not deflate, after the answer
        await writer.drain()
    finally:
        writer.close()
    assert_ours(reply, 401)
    assert reply.headers.get("Connection", "").lower() == "close"
