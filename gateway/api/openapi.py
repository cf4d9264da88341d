"""The OpenAPI 3.1 document, built from the route table and the models that validate requests."""

from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from gateway.api.keys import OPENAPI_DOCUMENT
from gateway.api.limits import UNLIMITED_PATHS
from gateway.api.reference import GENERIC_PROBLEMS, REFERENCE, Exchange, Reference
from gateway.api.spec import JSON, Endpoint, Param, Reply
from gateway.models import Problem

PROBLEM_JSON = "application/problem+json"
REF_TEMPLATE = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
_HEADERS: dict[str, dict[str, Any]] = {
    "Location": {
        "description": "where to ask about the activation",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Retry-After": {
        "description": "seconds to wait before asking again (sent where a retry makes sense)",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Limit": {
        "description": "requests allowed per window to this caller (rate limiting on)",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Remaining": {
        "description": "requests left in the current window",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Reset": {
        "description": "seconds until the window resets",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Policy": {
        "description": "the policy, `<limit>;w=<window seconds>` (IETF httpapi draft)",
        "schema": {"type": "string", "examples": ["3000;w=60"]},
    },
    "Idempotent-Replayed": {
        "description": "`true` on an answer replayed for a repeated Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Preference-Applied": {
        "description": "the Prefer header preference that was honoured",
        "schema": {"type": "string"},
    },
    "X-Request-ID": {
        "description": "the request id (the caller's X-Request-ID when sane, else generated)",
        "schema": {"type": "string"},
    },
    "WWW-Authenticate": {
        "description": 'the Bearer challenge, `Bearer realm="lac-gateway"`',
        "schema": {"type": "string"},
    },
    "Cache-Status": {
        "description": "RFC 9211: hit, fwd=miss (asked LAC), or hit with detail=stale",
        "schema": {"type": "string"},
    },
    "LAC-Gateway-Signature": {
        "description": "Ed25519 signature: t=<unix time>, kid=<key id>, sig=<base64url of the "
        "signature over '<t>.' + body>; key at /.well-known/lac-gateway-signing-key",
        "schema": {"type": "string"},
    },
    "Warning": {
        "description": "110 on a license served stale because LAC could not be asked",
        "schema": {"type": "string"},
    },
    "Content-Disposition": {
        "description": 'attachment; filename="<LAC\'s file name>" on the license file itself '
        "(with filename* when the name needs more than plain ASCII)",
        "schema": {"type": "string"},
    },
    "Vary": {
        "description": "Accept: the answer depends on it (JSON or the license file)",
        "schema": {"type": "string"},
    },
    "Next-Check-After": {
        "description": "when the product should ask about its license again (RFC 3339, UTC): "
        "the body's next_check_after",
        "schema": {"type": "string", "format": "date-time"},
    },
    "ETag": {
        "description": "strong entity tag of the answer's body; send it back as If-None-Match",
        "schema": {"type": "string"},
    },
}
_SCOPE_NOTES = {
    "deactivate": "Needs an API key with the `deactivate` scope.",
    "admin": "Needs an API key with the `admin` scope.",
}
_REQUEST_ID = {
    "name": "X-Request-ID",
    "in": "header",
    "required": False,
    "description": "correlation id echoed in the response and logs ([A-Za-z0-9._-]{1,128})",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"},
}
_RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy")
# Headers a problem status carries besides the rate-limit ones.
_PROBLEM_HEADERS = {
    401: ("WWW-Authenticate",),
    429: ("Retry-After",),
    502: ("Retry-After",),
    503: ("Retry-After",),
    504: ("Retry-After",),
}
_SERVERS = [
    {"url": "/", "description": "this gateway (the host serving this document)"},
    {"url": "http://127.0.0.1:8080", "description": "`make run`: the gateway before the sandbox"},
]
Refs = dict[tuple[type[BaseModel], JsonSchemaMode], str]


def build_document(table: tuple[Endpoint, ...], *, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``table``."""
    refs, schemas = _schemas(table)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in table:
        template = _PATH_PARAM.sub(r"{\1}", endpoint.path)
        paths.setdefault(template, {})[endpoint.method.lower()] = _operation(endpoint, refs)
    _open_answers(paths, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lac-gateway",
            "version": version,
            "summary": "Activation gateway in front of X-Formation's License Activation Center",
            "description": (
                "Products activate LM-X licenses through one small JSON API. "
                "Errors are RFC 9457 application/problem+json documents carrying the LAC return "
                "code (lac_code, lac_name) when LAC said something, and the request_id. "
                "Every example here is a real exchange with the sandbox `make run` starts."
            ),
        },
        "servers": _SERVERS,
        "tags": [{"name": tag} for tag in dict.fromkeys(e.tag for e in table)],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "headers": _HEADERS,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API key; each route needs one of its scopes (activate, "
                    "read, deactivate, deactivate_any, admin)",
                }
            },
        },
    }


def _schemas(table: tuple[Endpoint, ...]) -> tuple[Refs, dict[str, Any]]:
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(Problem, "serialization"): None}
    for endpoint in table:
        if endpoint.body is not None:
            wanted[(endpoint.body, "validation")] = None
        for reply in endpoint.replies:
            if reply.model is not None:
                wanted[(reply.model, "serialization")] = None
    keys = list(wanted)
    mapping, top = models_json_schema(keys, ref_template=REF_TEMPLATE)
    refs = {key: str(mapping[key]["$ref"]) for key in keys}
    return refs, dict(top.get("$defs", {}))


def _open_answers(paths: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Answers may grow: no schema an answer refers to forbids fields the gateway adds later."""
    answers: set[str] = set()
    for item in paths.values():
        for operation in item.values():
            _refs_in(operation["responses"], schemas, answers)
    for name in answers:
        if schemas[name].get("additionalProperties") is False:
            del schemas[name]["additionalProperties"]
    # RFC 9457 section 3.2: a problem may carry extension members.
    schemas["Problem"]["additionalProperties"] = True


def _refs_in(node: object, schemas: dict[str, Any], found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        name = ref.rsplit("/", 1)[1] if isinstance(ref, str) else None
        if name in schemas and name not in found:
            found.add(name)
            _refs_in(schemas[name], schemas, found)
        for value in node.values():
            _refs_in(value, schemas, found)
    elif isinstance(node, list):
        for value in node:
            _refs_in(value, schemas, found)


def _operation(endpoint: Endpoint, refs: Refs) -> dict[str, Any]:
    # A route without its words still gets a document (a test asks for every description).
    reference = REFERENCE.get(endpoint.operation_id) or Reference(f"{endpoint.summary}.")
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "description": _description(endpoint, reference),
        "tags": [endpoint.tag],
        "parameters": _parameters(endpoint, reference.examples),
        "responses": _responses(endpoint, reference, refs),
        "security": [] if endpoint.scope is None else [{"bearerAuth": []}],
    }
    if endpoint.body is not None:
        ref = refs[(endpoint.body, "validation")]
        body: dict[str, Any] = {"schema": {"$ref": ref}}
        examples = {e.name: _example(e.summary, e.body) for e in reference.examples if e.body}
        if examples:
            body["examples"] = examples
        operation["requestBody"] = {"required": True, "content": {JSON: body}}
    return operation


def _description(endpoint: Endpoint, reference: Reference) -> str:
    if endpoint.scope is None:
        return reference.description
    note = _SCOPE_NOTES.get(endpoint.scope, f"Needs an API key with the `{endpoint.scope}` scope.")
    return f"{reference.description}\n\n{note}"


def _example(summary: str, value: object) -> dict[str, Any]:
    return {"summary": summary, "value": value}


def _parameters(endpoint: Endpoint, exchanges: tuple[Exchange, ...]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            **_param_examples(exchanges, _path_value(name)),
        }
        for name in _PATH_PARAM.findall(endpoint.path)
    ]
    params.extend(_parameter(param, exchanges) for param in endpoint.params)
    params.append(_REQUEST_ID)
    return params


def _path_value(name: str) -> Callable[[Exchange], object]:
    return lambda exchange: exchange.path.get(name)


def _param_examples(
    exchanges: tuple[Exchange, ...], value_of: Callable[[Exchange], object]
) -> dict[str, dict[str, dict[str, Any]]]:
    examples = {
        e.name: _example(e.summary, value) for e in exchanges if (value := value_of(e)) is not None
    }
    return {"examples": examples} if examples else {}


def _parameter(param: Param, exchanges: tuple[Exchange, ...]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": param.name,
        "in": param.where,
        "required": param.required,
        "description": param.description,
        "schema": param.schema,
    }
    source = "query" if param.where == "query" else "headers"
    spec.update(_param_examples(exchanges, lambda e: getattr(e, source).get(param.name)))
    if param.where == "query" and param.schema.get("type") == "array":
        spec.update(style="form", explode=True)
        if "examples" in spec:
            for example in spec["examples"].values():
                example["value"] = [example["value"]]
    return spec


def _problem_statuses(endpoint: Endpoint) -> list[int]:
    problems = set(endpoint.problems)
    if endpoint.scope is not None:
        problems.update({401, 403, 429})  # 403: the key lacks the scope (or the activation)
    if endpoint.body is not None:
        problems.update({400, 413, 422})
    if any(p.where == "query" for p in endpoint.params):
        problems.add(422)
    if any(p.name == "Idempotency-Key" for p in endpoint.params):
        problems.update({409, 422})
    return sorted(problems)


def _responses(endpoint: Endpoint, reference: Reference, refs: Refs) -> dict[str, Any]:
    headers = _common_headers(endpoint)
    responses: dict[str, Any] = {
        str(r.status): _reply(r, reference, refs, headers) for r in endpoint.replies
    }
    problem = {"$ref": refs[(Problem, "serialization")]}
    for status in _problem_statuses(endpoint):
        responses[str(status)] = _problem_reply(status, reference, problem, headers)
    responses["default"] = {
        "description": "any other failure, as a problem document",
        "headers": _header_refs(headers),
        "content": {
            PROBLEM_JSON: {
                "schema": problem,
                "examples": {"problem": _example("LAC unavailable", GENERIC_PROBLEMS[503].example)},
            }
        },
    }
    return responses


def _common_headers(endpoint: Endpoint) -> tuple[str, ...]:
    headers: tuple[str, ...] = ("X-Request-ID",)
    if endpoint.path not in UNLIMITED_PATHS:
        headers += _RATE_HEADERS
    if any(p.name == "Idempotency-Key" for p in endpoint.params):
        headers += ("Idempotent-Replayed",)
    return headers


def _header_refs(names: tuple[str, ...]) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in dict.fromkeys(names)}


def _examples_for(reference: Reference, status: int) -> dict[str, Any]:
    return {
        e.name: _example(e.summary, e.answer)
        for e in reference.examples
        if e.status == status and e.answer is not None
    }


def _problem_reply(
    status: int, reference: Reference, problem: dict[str, Any], headers: tuple[str, ...]
) -> dict[str, Any]:
    generic = GENERIC_PROBLEMS.get(status)
    examples = _examples_for(reference, status)
    if not examples and generic is not None:
        examples = {"problem": _example(HTTPStatus(status).phrase, generic.example)}
    fallback = generic.description if generic else HTTPStatus(status).phrase
    content: dict[str, Any] = {"schema": problem}
    if examples:
        content["examples"] = examples
    return {
        "description": reference.replies.get(status, fallback),
        "headers": _header_refs(headers + _PROBLEM_HEADERS.get(status, ())),
        "content": {PROBLEM_JSON: content},
    }


def _reply(
    reply: Reply, reference: Reference, refs: Refs, headers: tuple[str, ...]
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "description": reference.replies.get(reply.status, reply.description),
        "headers": _header_refs(headers + reply.headers),
    }
    if not reply.media:
        return spec
    schema: dict[str, Any]
    if reply.model is not None:
        schema = {"$ref": refs[(reply.model, "serialization")]}
    elif reply.free_form:
        schema = {"type": "object", "additionalProperties": True}
    else:
        schema = {"type": "string"}
    content: dict[str, Any] = {"schema": schema}
    examples = _examples_for(reference, reply.status)
    if examples and reply.media == JSON:
        content["examples"] = examples
    spec["content"] = {reply.media: content}
    for media, description in reply.alternatives:
        spec["content"][media] = {"schema": {"type": "string", "description": description}}
    return spec


def install_document(app: web.Application, table: tuple[Endpoint, ...], version: str) -> None:
    """Build the document once and keep its bytes on ``app`` for the handler."""
    app[OPENAPI_DOCUMENT] = orjson.dumps(build_document(table, version=version))


async def document_handler(request: web.Request) -> web.StreamResponse:
    """GET /openapi.json."""
    return web.Response(body=request.app[OPENAPI_DOCUMENT], content_type=JSON)
