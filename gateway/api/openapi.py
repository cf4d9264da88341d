"""The OpenAPI 3.1 document, built from the route table and the models that validate requests."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from gateway.api.docs import DOCS_CSP, DOCS_HTML
from gateway.api.keys import OPENAPI_DOCUMENT
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
        "description": "seconds to wait before asking again",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Preference-Applied": {
        "description": "the Prefer header preference that was honoured",
        "schema": {"type": "string"},
    },
    "X-Request-ID": {
        "description": "the request id (the caller's X-Request-ID when sane, else generated)",
        "schema": {"type": "string"},
    },
    "WWW-Authenticate": {"description": "Bearer challenge", "schema": {"type": "string"}},
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
    "ETag": {
        "description": "strong entity tag of the answer's body; send it back as If-None-Match",
        "schema": {"type": "string"},
    },
}
_SCOPE_NOTES = {
    "deactivate": "Needs an API key with the `deactivate` scope, and one that activated this "
    "license unless it holds `deactivate_any` or `admin`; otherwise 403 (the refusal is "
    "audited).",
    "admin": "Needs an API key with the `admin` scope.",
}
_REQUEST_ID = {
    "name": "X-Request-ID",
    "in": "header",
    "required": False,
    "description": "correlation id echoed in the response and logs ([A-Za-z0-9._-]{1,128})",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"},
}


def build_document(table: tuple[Endpoint, ...], *, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``table``."""
    refs, schemas = _schemas(table)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in table:
        template = _PATH_PARAM.sub(r"{\1}", endpoint.path)
        paths.setdefault(template, {})[endpoint.method.lower()] = _operation(endpoint, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lac-gateway",
            "version": version,
            "summary": "Activation gateway in front of X-Formation's License Activation Center",
            "description": (
                "Products activate LM-X licenses through one small JSON API. "
                "Errors are RFC 9457 application/problem+json documents carrying the LAC return "
                "code (lac_code, lac_name) when LAC said something, and the request_id."
            ),
        },
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


def _schemas(
    table: tuple[Endpoint, ...],
) -> tuple[dict[tuple[type[BaseModel], JsonSchemaMode], str], dict[str, Any]]:
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


def _operation(
    endpoint: Endpoint, refs: dict[tuple[type[BaseModel], JsonSchemaMode], str]
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": _parameters(endpoint),
        "responses": _responses(endpoint, refs),
        "security": [] if endpoint.scope is None else [{"bearerAuth": []}],
    }
    if endpoint.scope is not None:
        operation["description"] = _SCOPE_NOTES.get(
            endpoint.scope, f"Needs an API key with the `{endpoint.scope}` scope."
        )
    if endpoint.body is not None:
        ref = refs[(endpoint.body, "validation")]
        operation["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": {"$ref": ref}}},
        }
    return operation


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(endpoint.path)
    ]
    params.extend(_parameter(param) for param in endpoint.params)
    params.append(_REQUEST_ID)
    return params


def _parameter(param: Param) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": param.name,
        "in": param.where,
        "required": param.required,
        "description": param.description,
        "schema": param.schema,
    }
    if param.where == "query" and param.schema.get("type") == "array":
        spec.update(style="form", explode=True)
    return spec


def _responses(
    endpoint: Endpoint, refs: dict[tuple[type[BaseModel], JsonSchemaMode], str]
) -> dict[str, Any]:
    responses: dict[str, Any] = {str(r.status): _reply(r, refs) for r in endpoint.replies}
    problems = set(endpoint.problems)
    if endpoint.scope is not None:
        problems.update({401, 403, 429})  # 403: the key lacks the scope (or the activation)
    if endpoint.body is not None:
        problems.update({400, 413, 422})
    if any(p.where == "query" for p in endpoint.params):
        problems.add(422)
    if endpoint.params and any(p.name == "Idempotency-Key" for p in endpoint.params):
        problems.update({409, 422})
    problem = {"$ref": refs[(Problem, "serialization")]}
    for status in sorted(problems):
        responses[str(status)] = {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": problem}},
        }
    responses["default"] = {
        "description": "any other failure, as a problem document",
        "content": {PROBLEM_JSON: {"schema": problem}},
    }
    return responses


def _reply(reply: Reply, refs: dict[tuple[type[BaseModel], JsonSchemaMode], str]) -> dict[str, Any]:
    spec: dict[str, Any] = {"description": reply.description}
    headers = {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}}
    headers.update({name: {"$ref": f"#/components/headers/{name}"} for name in reply.headers})
    spec["headers"] = headers
    if not reply.media:
        return spec
    schema: dict[str, Any]
    if reply.model is not None:
        schema = {"$ref": refs[(reply.model, "serialization")]}
    elif reply.free_form:
        schema = {"type": "object", "additionalProperties": True}
    else:
        schema = {"type": "string"}
    spec["content"] = {reply.media: {"schema": schema}}
    return spec


def install_document(app: web.Application, table: tuple[Endpoint, ...], version: str) -> None:
    """Build the document once and keep its bytes on ``app`` for the handler."""
    app[OPENAPI_DOCUMENT] = orjson.dumps(build_document(table, version=version))


async def document_handler(request: web.Request) -> web.StreamResponse:
    """GET /openapi.json."""
    return web.Response(body=request.app[OPENAPI_DOCUMENT], content_type=JSON)


async def docs_handler(request: web.Request) -> web.StreamResponse:
    """GET /docs: a self-contained page that renders /openapi.json (no external resources)."""
    return web.Response(
        text=DOCS_HTML,
        content_type="text/html",
        headers={"Content-Security-Policy": DOCS_CSP, "X-Content-Type-Options": "nosniff"},
    )
