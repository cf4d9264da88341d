"""The API reference in /openapi.json: every operation described, exemplified, its headers declared.

The examples are held to what the gateway answers in front of the sandbox ``make run`` uses:
every example exchange of ``gateway.api.reference`` is sent, in route-table order.
"""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from gateway.api.endpoints import endpoints
from gateway.api.reference import REFERENCE, Exchange
from gateway.api.spec import Endpoint
from tests.gwharness import ADMIN_KEY, FLEET_KEY, Running

JSON_TYPES = ("application/json", "application/problem+json")
RATE_HEADERS = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"}
# A retried webhook delivery has no resource of its own to poll (no Location, no Retry-After),
# and its id is minted at delivery time, so no replayable example can show its 202.
WEBHOOK_RETRY = "POST /v1/admin/webhooks/deliveries/{id}/retry"
NO_EXAMPLE = {("GET /openapi.json", "200"), (WEBHOOK_RETRY, "202")}


async def document_of(running: Running) -> dict[str, Any]:
    """The served OpenAPI document."""
    reply = await running.call("GET", "/openapi.json", key=None)
    assert reply.status == 200
    document: dict[str, Any] = reply.json()
    return document


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """("METHOD path", operation) of every operation."""
    for path, item in document["paths"].items():
        for method, op in item.items():
            yield f"{method.upper()} {path}", op


async def test_every_operation_is_described_with_what_to_do_with_each_answer(
    running: Running,
) -> None:
    document = await document_of(running)
    for name, op in operations(document):
        assert op.get("summary"), name
        assert len(op.get("description", "")) > 60, name
        for status, reply in op["responses"].items():
            generic = status != "default" and reply["description"] == HTTPStatus(int(status)).phrase
            assert not generic, (name, status, reply["description"])


async def test_every_request_body_and_json_answer_has_an_example(running: Running) -> None:
    document = await document_of(running)
    for name, op in operations(document):
        if "requestBody" in op:
            assert op["requestBody"]["content"]["application/json"].get("examples"), name
        for status, reply in op["responses"].items():
            for media, content in reply.get("content", {}).items():
                if media in JSON_TYPES and (name, status) not in NO_EXAMPLE:
                    assert content.get("examples"), (name, status, media)


async def test_the_headers_each_answer_may_carry_are_declared(running: Running) -> None:
    document = await document_of(running)
    for name, op in operations(document):
        for status, reply in op["responses"].items():
            headers = set(reply.get("headers", {}))
            if status == "429":
                assert {"Retry-After", *RATE_HEADERS} <= headers, name
            if status in ("503", "504"):
                assert "Retry-After" in headers, (name, status)
            if status == "401":
                assert "WWW-Authenticate" in headers, name
            if status == "202" and name != WEBHOOK_RETRY:
                assert {"Location", "Retry-After"} <= headers, name
            if name.split()[1].startswith("/v1/"):
                assert headers >= RATE_HEADERS, (name, status)
        params = {p["name"] for p in op.get("parameters", [])}
        if "Idempotency-Key" in params:
            success = next(r for s, r in op["responses"].items() if s.startswith("2"))
            assert "Idempotent-Replayed" in success["headers"], name
    post = document["paths"]["/v1/activations"]["post"]
    assert {"Prefer", "Idempotency-Key", "X-Request-ID"} <= {p["name"] for p in post["parameters"]}
    assert "LAC-Gateway-Signature" in post["responses"]["200"]["headers"]


async def test_the_document_names_its_servers(running: Running) -> None:
    document = await document_of(running)
    assert document["servers"][0]["url"] == "/"
    assert all(server.get("description") for server in document["servers"])


def reachable(document: dict[str, Any], node: Any, seen: set[str]) -> set[str]:
    """Names of the component schemas ``node`` refers to, transitively."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] not in seen:
            name = ref.rsplit("/", 1)[1]
            seen.add(name)
            reachable(document, document["components"]["schemas"][name], seen)
        for value in node.values():
            reachable(document, value, seen)
    elif isinstance(node, list):
        for value in node:
            reachable(document, value, seen)
    return seen


async def test_answers_allow_more_fields_and_requests_stay_strict(running: Running) -> None:
    document = await document_of(running)
    schemas = document["components"]["schemas"]
    answers: set[str] = set()
    for _, op in operations(document):
        reachable(document, op["responses"], answers)
    assert {"Problem", "ActivationResponse", "LicenseBody", "BatchResponse"} <= answers
    for name in answers:
        assert schemas[name].get("additionalProperties") is not False, name
    # RFC 9457: a problem may carry extension members.
    assert schemas["Problem"]["additionalProperties"] is True
    assert schemas["ActivationRequest"]["additionalProperties"] is False


async def test_enumerations_are_named_schemas(running: Running) -> None:
    document = await document_of(running)
    schemas = document["components"]["schemas"]
    assert "enum" in schemas["ActivationSource"]
    assert "enum" in schemas["ActivationState"]
    source = schemas["ActivationResponse"]["properties"]["source"]
    assert "#/components/schemas/ActivationSource" in str(source)


async def test_the_document_shows_the_reference_examples(running: Running) -> None:
    document = await document_of(running)
    post = document["paths"]["/v1/activations"]["post"]
    shown = post["requestBody"]["content"]["application/json"]["examples"]
    exchanges = REFERENCE["createActivation"].examples
    assert set(shown) == {e.name for e in exchanges if e.body is not None}
    ready = post["responses"]["200"]["content"]["application/json"]["examples"]["ready"]
    assert ready["value"] == exchanges[0].answer
    unknown = post["responses"]["404"]["content"]["application/problem+json"]["examples"]
    assert "unknown-key" in unknown
    params = document["paths"]["/v1/licenses/{activation_key}"]["get"]["parameters"]
    key = next(p for p in params if p["name"] == "activation_key")
    assert key["examples"]["cached"]["value"] == "SNGLE-HOST1-DEMO0-00001"


def url_of(endpoint: Endpoint, exchange: Exchange) -> str:
    """The path and query an example exchange is sent to."""
    path = endpoint.path
    for name, value in exchange.path.items():
        path = path.replace(f"{{{name}}}", quote(value, safe=""))
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in exchange.query.items())
    return f"{path}?{query}" if query else path


async def test_every_example_is_what_the_sandbox_answers(running: Running) -> None:
    sent = 0
    for endpoint in endpoints():
        for exchange in REFERENCE[endpoint.operation_id].examples:
            key = ADMIN_KEY if exchange.admin else FLEET_KEY
            reply = await running.call(
                endpoint.method,
                url_of(endpoint, exchange),
                key=key,
                headers=dict(exchange.headers),
                json=exchange.body,
            )
            where = (endpoint.operation_id, exchange.name, reply.body[:300])
            assert reply.status == exchange.status, where
            # The answers shown are SOAP's (the default transport); over REST, LAC reports
            # other order fields and its own message, so there only the status is held.
            if isinstance(exchange.answer, dict) and running.settings.lac.transport == "soap":
                assert set(exchange.answer) == set(reply.json()), where
            sent += 1
    assert sent >= len(REFERENCE)


def test_every_route_of_the_table_has_its_reference_and_examples() -> None:
    table = {endpoint.operation_id for endpoint in endpoints()}
    assert table == set(REFERENCE), table ^ set(REFERENCE)
    assert all(reference.examples for reference in REFERENCE.values())
