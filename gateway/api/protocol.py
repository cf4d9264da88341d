"""aiohttp's HTTP/1.1 protocol with the gateway's answer to what its parser refuses.

aiohttp answers a request its parser rejects (bad chunk sizes, Content-Length with
Transfer-Encoding, invalid header bytes, lines over the parser's limits, a Content-Encoding it
cannot decode) by itself, in ``RequestHandler.handle_error``, before the application and its
middlewares ever see the request: a text/plain body quoting the offending bytes and an ERROR
log line with the same bytes. aiohttp has no setting or signal for that answer, so the gateway's
runner makes its connections with a ``RequestHandler`` whose ``handle_error`` and
``log_exception`` are ours; parsing, keep-alive and everything else stay aiohttp's. That is the
smallest override that sees every parser error, and it needs no change to the application.

Serve the gateway with ``GatewayRunner`` (``python -m gateway serve`` and the tests do);
``create_app`` sets the parser's limits from ``limits`` settings (see ``parser_limits``).
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from aiohttp import web
from aiohttp.http_exceptions import (
    BadHttpMessage,
    ContentEncodingError,
    HttpProcessingError,
    LineTooLong,
)
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestPayloadError, _ErrInfo

from gateway import errors
from gateway.api.keys import FRONT_DOOR, METRICS, SETTINGS
from gateway.api.middleware import (
    PROBLEM_JSON,
    REQUEST_ID_HEADER,
    SERVER_NAME,
    UNMATCHED_ROUTE,
    request_id_for,
)
from gateway.settings import LimitSettings

OTHER_METHOD = "OTHER"  # the parser stopped before a method could be trusted
# Failures of the client's bytes or connection, not of the gateway: never an ERROR line.
CLIENT_FAILURES = (HttpProcessingError, RequestPayloadError, ConnectionError)

log = structlog.get_logger("gateway.api")


def parser_limits(limits: LimitSettings) -> dict[str, int]:
    """aiohttp's parser limits (``handler_args``) from ours, so the parser never refuses first.

    The parser's line limit bounds the request target alone, so it is ``max_path_chars``; one
    header (name and value) can never be larger than all of them, and each is at least one byte,
    so ``max_header_bytes`` bounds both a field and the count. The field limit is kept unlike
    the line limit: a ``LineTooLong`` then tells by its limit which of the two it was.
    """
    field = limits.max_header_bytes
    if field == limits.max_path_chars:
        field += 1
    return {
        "max_line_size": limits.max_path_chars,
        "max_field_size": field,
        "max_headers": limits.max_header_bytes,
    }


def refusal_of(
    exc: BaseException | None, status: int, limits: LimitSettings
) -> errors.GatewayError:
    """The problem for a request aiohttp refused; its text is never used (it quotes the input)."""
    if isinstance(exc, HttpProcessingError):
        return _parser_refusal(exc, limits)
    if 400 <= status < 500:
        return _malformed()
    if status == 504:
        return errors.GatewayError(504, "Gateway timeout", type_="timeout")
    return errors.GatewayError(500, "Internal server error", type_="internal-error")


def _parser_refusal(exc: HttpProcessingError, limits: LimitSettings) -> errors.GatewayError:
    if isinstance(exc, LineTooLong):
        if exc.args[1:2] == (limits.max_path_chars,):
            return _uri_too_long(limits)
        return _headers_too_large(limits)
    if isinstance(exc, BadHttpMessage) and exc.message.startswith("Too many headers"):
        return _headers_too_large(limits)
    if isinstance(exc, ContentEncodingError) and "install" in exc.message:
        # aiohttp knows the coding but lacks its library here (br, zstd): aiohttp's only words
        # for it are its message. A gzip or deflate body that fails to decode is a 400.
        return unsupported_encoding()
    return _malformed()


def _malformed() -> errors.GatewayError:
    return errors.BadRequest("the request is not valid HTTP/1.1", type_="malformed-http")


def unsupported_encoding() -> errors.UnsupportedEncoding:
    """415 for a Content-Encoding other than gzip, deflate or identity."""
    accepted = errors.UnsupportedEncoding.accepted
    return errors.UnsupportedEncoding(f"Content-Encoding must be one of: {accepted}, identity")


def _uri_too_long(limits: LimitSettings) -> errors.GatewayError:
    return errors.GatewayError(
        414,
        "URI too long",
        f"the request target is limited to {limits.max_path_chars} characters",
        type_="uri-too-long",
    )


def _headers_too_large(limits: LimitSettings) -> errors.GatewayError:
    return errors.GatewayError(
        431,
        "Request header fields too large",
        f"headers are limited to {limits.max_header_bytes} bytes in all",
        type_="headers-too-large",
    )


class Refusals:
    """Answers, counts and logs the requests aiohttp's parser refused, for one application."""

    def __init__(self, app: web.Application) -> None:
        self._limits = app[SETTINGS].limits
        self._metrics = app[METRICS]

    def answer(
        self, request: web.BaseRequest, status: int, exc: BaseException | None
    ) -> web.Response:
        """Our problem+json for the refusal; the connection is closed after it."""
        err = refusal_of(exc, status, self._limits)
        request_id = request_id_for(request)
        if err.status >= 500:
            log.error("protocol_error", error=type(exc).__name__, request_id=request_id)
        else:
            log.info("http_request_refused", status=err.status, request_id=request_id)
        self._metrics.observe_http(OTHER_METHOD, UNMATCHED_ROUTE, err.status, 0.0)
        body = errors.problem_body(err, request_id=request_id, instance=None)
        headers = {**err.headers(), REQUEST_ID_HEADER: request_id, "Server": SERVER_NAME}
        response = web.Response(
            status=err.status, body=orjson.dumps(body), content_type=PROBLEM_JSON, headers=headers
        )
        response.force_close()
        return response


class GatewayRequestHandler(web.RequestHandler):
    """aiohttp's connection protocol, with ``Refusals`` answering what its parser refuses."""

    def __init__(self, manager: web.Server, *, refusals: Refusals, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._refusals = refusals
        self._broken = False  # a body's framing broke: nothing after it is parsed
        self._latest_body: StreamReader | None = None  # the body the parser reads, or read last

    def data_received(self, data: bytes) -> None:
        """aiohttp's parsing, then ``_fail_body_in_flight`` when a body's framing broke."""
        if self._broken:
            return
        messages = self._messages
        queued = len(messages)
        super().data_received(data)
        last = len(messages) - 1
        for i in range(queued, last + 1):  # the requests this data completed, oldest first
            message, payload = messages[i]
            if not isinstance(message, _ErrInfo):
                self._latest_body = payload
            elif i == last:
                self._fail_body_in_flight()

    def _fail_body_in_flight(self) -> None:
        # A parser error inside a body that arrives after its headers (a bad chunk size, a
        # deflate stream that does not end) is queued by aiohttp as a request of its own, while
        # the request it belongs to waits for the rest of its body for ever: being handled,
        # still queued (pipelined, or its handler not started yet on a loaded machine), or
        # already answered with aiohttp lingering on its unread body. That body is the latest
        # request's (the parser reads one body at a time); it gets the error instead: a reader
        # answers 400, the lingering read ends, and the connection closes after the request.
        # Nothing after the broken body is parsed.
        body = self._latest_body
        if body is None or body.is_eof():
            return  # a refused head, not a body: handle_error answers it
        self._messages.pop()
        body.set_exception(RequestPayloadError("the body's framing is broken"))
        self._broken = True

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Our problem+json instead of aiohttp's text/plain echo of the request."""
        del message  # aiohttp's text quotes the request's bytes: never sent, never logged
        if request.writer.output_size > 0:
            # As aiohttp does: part of an answer is out, the connection is beyond saving.
            raise ConnectionError("a response was already under way")
        return self._refusals.answer(request, status, exc)

    def log_exception(self, *args: Any, **kw: Any) -> None:
        """aiohttp's own error lines carry request bytes in the exception: log its type only."""
        del args
        exc = kw.get("exc_info")
        error = type(exc).__name__ if isinstance(exc, BaseException) else None
        if isinstance(exc, CLIENT_FAILURES):
            # A body cut short or undecodable, seen again as aiohttp drains it after our answer.
            log.info("http_connection_dropped", error=error)
        else:
            log.error("http_protocol_failed", error=error)


class GatewayServer(web.Server):
    """aiohttp's low-level server, making ``GatewayRequestHandler`` connections."""

    def __init__(self, handler: Any, *, refusals: Refusals, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._refusals = refusals

    def __call__(self) -> GatewayRequestHandler:
        """A protocol for one new connection, made as ``web.Server`` makes its own."""
        return GatewayRequestHandler(self, loop=self._loop, refusals=self._refusals, **self._kwargs)


class GatewayRunner(web.AppRunner):
    """``web.AppRunner`` whose server answers parser refusals with the gateway's problems, and
    probes before routing (``hotpath.FrontDoor``)."""

    async def _make_server(self) -> web.Server:
        # AppRunner starts the application and builds aiohttp's Server with the application's
        # handler, request factory and protocol arguments (parser limits, loggers, timeouts);
        # ours is that one with its own protocol class. aiohttp keeps those arguments in
        # Server._kwargs and exposes them nowhere else.
        made = await super()._make_server()
        handler, door = made.request_handler, self.app.get(FRONT_DOOR)
        return GatewayServer(
            handler if door is None else door(self.app, handler),
            refusals=Refusals(self.app),
            request_factory=made.request_factory,
            handler_cancellation=made.handler_cancellation,
            loop=made._loop,
            **made._kwargs,
        )
