"""Validation failures in the gateway's own words: each field by its path, no pydantic text."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from gateway.errors import InvalidInput

MAX_FIELDS_IN_DETAIL = 3
UNION_TAGS = frozenset({"string", "object"})
"""Discriminator tags pydantic puts in a location; not part of the field's path."""

Wording = Callable[[Mapping[str, Any]], str]


def _count(ctx: Mapping[str, Any], key: str, noun: str) -> str:
    number = ctx.get(key, "?")
    return f"{number} {noun}" + ("" if number == 1 else "s")


# pydantic's error type -> our sentence, from the error's context (limits); input never quoted.
_WORDING: dict[str, Wording] = {
    "missing": lambda _: "is required",
    "extra_forbidden": lambda _: "is not a field of this request",
    "string_type": lambda _: "must be a string",
    "int_type": lambda _: "must be an integer",
    "int_parsing": lambda _: "must be an integer",
    "bool_type": lambda _: "must be true or false",
    "list_type": lambda _: "must be a list",
    "dict_type": lambda _: "must be an object",
    "model_type": lambda _: "must be an object",
    "model_attributes_type": lambda _: "must be an object",
    "too_short": lambda ctx: f"must have at least {_count(ctx, 'min_length', 'item')}",
    "too_long": lambda ctx: f"must have at most {_count(ctx, 'max_length', 'item')}",
    "string_too_short": lambda ctx: f"must be at least {_count(ctx, 'min_length', 'character')}",
    "string_too_long": lambda ctx: f"must be at most {_count(ctx, 'max_length', 'character')}",
    "string_pattern_mismatch": lambda _: "does not have the expected form",
    "union_tag_invalid": lambda _: "must be a HostID string or a {type, value} object",
    "union_tag_not_found": lambda _: "must be a HostID string or a {type, value} object",
}


def field_path(loc: Sequence[int | str]) -> str:
    """A pydantic location as the caller would write it: ``items[2].hostids[0].type``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in UNION_TAGS:
            path += f".{part}" if path else part
    return path or "body"


def message_of(error: ErrorDetails) -> str:
    """What is wrong with one field, in the gateway's words."""
    wording = _WORDING.get(error["type"])
    if wording is not None:
        return wording(error.get("ctx") or {})
    if error["type"] == "value_error":
        # Our own validators' messages: pydantic wraps them as "Value error, <ours>".
        return str((error.get("ctx") or {}).get("error", "is not valid"))
    return "is not valid"


def invalid_input(exc: ValidationError) -> InvalidInput:
    """A validation failure as a 422 naming each field and what is wrong with it."""
    errors = [
        {"field": field_path(err["loc"]), "message": message_of(err)}
        for err in exc.errors(include_url=False, include_input=False)
    ]
    shown = "; ".join(f"{e['field']} {e['message']}" for e in errors[:MAX_FIELDS_IN_DETAIL])
    more = len(errors) - MAX_FIELDS_IN_DETAIL
    detail = f"the request body is invalid: {shown}" + (f" (and {more} more)" if more > 0 else "")
    return InvalidInput(detail, errors=errors)
