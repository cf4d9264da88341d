"""The OpenAPI document served by the gateway validates and describes every registered route."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from openapi_spec_validator import validate

from tests.gwharness import Running


def registered_routes(app: web.Application) -> set[tuple[str, str]]:
    """(method, path template) of every route the application registered, HEAD aside."""
    routes = set()
    for route in app.router.routes():
        if route.method in ("HEAD", "*") or route.resource is None:
            continue
        routes.add((route.method.lower(), route.resource.canonical))
    return routes


def documented_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    """(method, path) of every operation in the document."""
    return {(method, path) for path, item in document["paths"].items() for method in item}


async def test_openapi_document_validates_and_lists_every_route(running: Running) -> None:
    reply = await running.call("GET", "/openapi.json", key=None)
    assert reply.status == 200
    document = reply.json()

    validate(document)

    assert document["openapi"].startswith("3.1")
    registered = registered_routes(running.app)
    assert registered, "the application registered no routes"
    assert registered <= documented_routes(document), registered - documented_routes(document)


async def test_openapi_operations_have_unique_ids_and_protected_routes_need_a_key(
    running: Running,
) -> None:
    document = (await running.call("GET", "/openapi.json", key=None)).json()
    operations = [op for item in document["paths"].values() for op in item.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    for path, item in document["paths"].items():
        for op in item.values():
            secured = bool(op.get("security", document.get("security")))
            assert secured == path.startswith("/v1/"), (path, op.get("security"))


async def test_docs_page_renders_the_document(running: Running) -> None:
    reply = await running.call("GET", "/docs", key=None)
    assert reply.status == 200
    assert reply.content_type == "text/html"
    assert b"openapi.json" in reply.body
