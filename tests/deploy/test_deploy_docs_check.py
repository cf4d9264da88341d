"""deploy/tools/docs_check.py (make docs-check): how it reads Swagger UI's rendered DOM.

Chromium itself runs in ``make docs-check``; here the DOM reader is held to the shape Swagger UI
renders (``div.opblock`` blocks) and to the operations a real gateway documents.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

from tests.deploy.deploy_support import DEPLOY
from tests.gwharness import Running


def load_docs_check() -> ModuleType:
    """deploy/tools/docs_check.py as a module."""
    spec = importlib.util.spec_from_file_location("docs_check", DEPLOY / "tools" / "docs_check.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up by name while being built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def block(method: str, path: str, description: str, example: str = "") -> str:
    """One operation as Swagger UI renders it with docExpansion=full (trimmed)."""
    lower = method.lower()
    pre = f'<pre class="example microlight"><code>{example}</code></pre>' if example else ""
    return (
        f'<div class="opblock opblock-{lower} is-open" id="operations-x-{lower}">'
        f'<div class="opblock-summary"><button><span class="opblock-summary-method">{method}'
        f'</span><span class="opblock-summary-path" data-path="{path}"><a><span>{path}</span>'
        f'</a></span><svg><use href="#a"></use></svg></button></div><div class="opblock-body">'
        f'<div class="opblock-description-wrapper"><div class="opblock-description">'
        f'<div class="renderedMarkdown"><p>{description}</p></div></div></div>'
        f'<input type="text"><br>{pre}</div></div>'
    )


def operation(description: str, example: Any = None) -> dict[str, Any]:
    """An OpenAPI operation with a description and, optionally, one response example."""
    content = {"application/json": {"examples": {"one": {"value": example}}}}
    return {"description": description, "responses": {"200": {"content": content}}}


def test_reader_finds_method_path_description_and_examples_of_each_block() -> None:
    docs_check = load_docs_check()
    dom = (
        '<html><body><div id="swagger-ui">'
        + block("POST", "/v1/activations", "Activates a <code>host</code>.", '{"id": "act_1"}')
        + block("GET", "/healthz", "Liveness.")
        + '<section class="models"><div class="model-box">Problem</div></section>'
        + "</div></body></html>"
    )
    shown = docs_check.rendered_operations(dom)
    assert set(shown) == {("POST", "/v1/activations"), ("GET", "/healthz")}
    post = shown[("POST", "/v1/activations")]
    assert post.description == "Activates a host."
    assert post.examples == ['{"id": "act_1"}']
    assert shown[("GET", "/healthz")].examples == []


def test_missing_operations_descriptions_and_examples_are_reported() -> None:
    docs_check = load_docs_check()
    expected = {
        ("POST", "/v1/activations"): operation("Activates the `host`. More.", {"id": "act_123456"}),
        ("GET", "/v1/orders/{activation_key}"): operation("The order."),
        ("GET", "/healthz"): operation("Liveness of the process."),
        ("GET", "/metrics"): operation("Prometheus text."),
    }
    dom = (
        block("POST", "/v1/activations", "Activates the host. More.", '"id": "act_other"')
        + block("GET", "/v1/orders/{activation_key}", "The order.")
        + block("GET", "/healthz", "Something else.")
    )
    problems = docs_check.operation_problems(expected, docs_check.rendered_operations(dom))
    assert problems == [
        "GET /healthz: its description is not shown",
        "GET /metrics is not listed on /docs",
        "POST /v1/activations: none of its examples is shown",
    ]


async def test_every_operation_of_the_served_document_is_described_and_exemplified(
    running: Running,
) -> None:
    docs_check = load_docs_check()
    document = (await running.call("GET", "/openapi.json", key=None)).json()
    expected = docs_check.document_operations(document)
    assert ("POST", "/v1/activations") in expected
    assert len(expected) == sum(
        1 for item in document["paths"].values() for method in item if method != "parameters"
    )
    for (method, path), op in expected.items():
        assert docs_check.first_sentence(op.get("description", "")), (method, path)
    assert docs_check.example_tokens(expected[("POST", "/v1/activations")])
