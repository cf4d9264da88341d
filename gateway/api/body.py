"""Strict request parsing: bounded, decodable body, JSON object only, pydantic validation as 422.

A body is read only after the middlewares' checks (size, key, rate): ``Expect: 100-continue``
is answered here, when the body is wanted, not by aiohttp when the request arrives.
"""

from __future__ import annotations

from typing import TypeVar

import orjson
from aiohttp import HttpVersion11, hdrs, web
from aiohttp.web_protocol import RequestPayloadError
from pydantic import BaseModel, ValidationError

from gateway import errors
from gateway.api.protocol import unsupported_encoding
from gateway.validation import invalid_input

Model = TypeVar("Model", bound=BaseModel)

# What aiohttp decodes itself; anything else would reach the JSON parser still encoded.
DECODED_ENCODINGS = frozenset({"gzip", "deflate", "identity"})
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
CONTINUED = web.RequestKey("continued", bool)


async def defer_continue(_request: web.Request) -> None:
    """Routes' expect handler: nothing yet; ``read_body`` says continue once checks have passed."""


async def read_body(request: web.BaseRequest, limit: int) -> bytes:
    """The whole body, refusing more than ``limit`` bytes with a 413."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit)
    coding = request.headers.get(hdrs.CONTENT_ENCODING)
    if coding is not None and coding.strip().lower() not in DECODED_ENCODINGS:
        raise unsupported_encoding()
    await _continue(request)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise _too_large(limit) from exc
    except (RequestPayloadError, ConnectionError) as exc:
        raise _unreadable(request) from exc
    # A chunked body has no Content-Length to check up front.
    if len(raw) > limit:
        raise _too_large(limit)
    return raw


def parse_model(raw: bytes, model: type[Model]) -> Model:
    """``raw`` as a JSON object validated into ``model``; 400 if not JSON, 422 if invalid."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        detail = "the request body is empty" if not raw.strip() else "the body is not valid JSON"
        raise errors.BadRequest(detail, type_="malformed-json") from exc
    if not isinstance(data, dict):
        raise errors.BadRequest("the body must be a JSON object", type_="malformed-json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc) from exc


async def read_model(request: web.Request, model: type[Model], *, limit: int) -> Model:
    """Read and validate the JSON body of ``request`` into ``model``."""
    return parse_model(await read_body(request, limit), model)


async def _continue(request: web.BaseRequest) -> None:
    expect = request.headers.get(hdrs.EXPECT, "")
    if request.version != HttpVersion11 or expect.lower() != "100-continue":
        return
    if not request.get(CONTINUED, False):  # the idempotency middleware reads the body first
        request[CONTINUED] = True
        await request.writer.write(CONTINUE)


def _unreadable(request: web.BaseRequest) -> errors.GatewayError:
    transport = request.transport
    if transport is None or transport.is_closing():
        # The caller hung up mid-body: nobody to answer, and not the gateway's failure.
        return errors.ClientGone("the connection closed before the body was read")
    return errors.BadRequest(
        "the body could not be read: it does not decode as its Content-Encoding says, "
        "or its framing is broken",
        type_="unreadable-body",
    )


def _too_large(limit: int) -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(f"the request body exceeds {limit} bytes")
