"""Strict request parsing: bounded body, JSON object only, pydantic validation as 422."""

from __future__ import annotations

from typing import TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway import errors
from gateway.models import invalid_input

Model = TypeVar("Model", bound=BaseModel)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, refusing more than ``limit`` bytes with a 413."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise _too_large(limit) from exc
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


def _too_large(limit: int) -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(f"the request body exceeds {limit} bytes")
