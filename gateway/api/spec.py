"""The route table's vocabulary: one ``Endpoint`` both registers a route and documents it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from aiohttp import web
from pydantic import BaseModel

from gateway.settings import Scope

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Param:
    """A query or header parameter of a route (path parameters come from the path)."""

    name: str
    where: Literal["query", "header"]
    schema: dict[str, object]
    description: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """One documented success response."""

    status: int
    description: str
    model: type[BaseModel] | None = None
    media: str = JSON
    headers: tuple[str, ...] = ()
    free_form: bool = False
    also: tuple[str, ...] = ()
    """Other media types the same answer comes in (chosen by Accept), same schema."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A route: method, path template, handler and everything OpenAPI says about it."""

    method: str
    path: str
    handler: Handler
    operation_id: str
    summary: str
    tag: str
    scope: Scope | None
    """The scope an API key needs here; None: an open route, no key needed."""
    replies: tuple[Reply, ...]
    body: type[BaseModel] | None = None
    params: tuple[Param, ...] = ()
    problems: tuple[int, ...] = ()
    audit_action: str | None = None
    """The audit trail's action for a refusal here (deactivation, removal); None: not audited."""
