"""deploy/tools/docs_check.py (make docs-check): how it reads the rendered /docs DOM.

Chromium itself runs in ``make docs-check``; here the DOM reader is held to the shape the
page's script builds and to the operations a real gateway documents.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

from gateway.api.docs import DOCS_HTML
from tests.deploy.deploy_support import DEPLOY
from tests.gwharness import Running


def load_docs_check() -> ModuleType:
    """deploy/tools/docs_check.py as a module."""
    spec = importlib.util.spec_from_file_location("docs_check", DEPLOY / "tools" / "docs_check.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def summary(method: str, path: str, title: str) -> str:
    """One operation as the /docs script renders it."""
    return (
        f'<details><summary><span class="m {method}">{method}</span>{path}  {title}</summary>'
        '<div class="body"><p>text</p></div></details>'
    )


def test_the_page_script_builds_the_summaries_the_reader_parses() -> None:
    assert 'el("summary", {}, el("span", {class: "m " + up}, up), path + "  " +' in DOCS_HTML


def test_reader_lists_method_and_path_of_every_operation_and_skips_schemas() -> None:
    docs_check = load_docs_check()
    dom = (
        "<html><body><main id=main><h2>activations</h2>"
        + summary("POST", "/v1/activations", "Activate a machine")
        + summary("GET", "/v1/activations/{id}", "")
        + '<h2>Schemas</h2><details id="schema-Problem"><summary>Problem</summary></details>'
        + "</main></body></html>"
    )
    assert docs_check.rendered_routes(dom) == {
        ("POST", "/v1/activations"),
        ("GET", "/v1/activations/{id}"),
    }


async def test_every_route_of_a_served_openapi_document_is_expected_and_gaps_are_found(
    running: Running,
) -> None:
    docs_check = load_docs_check()
    reply = await running.call("GET", "/openapi.json", key=None)
    document = reply.json()
    expected = docs_check.document_routes(document)
    assert ("POST", "/v1/activations") in expected
    assert len(expected) == sum(
        1 for item in document["paths"].values() for method in item if method != "parameters"
    )

    full = "".join(summary(method, path, "x") for method, path in sorted(expected))
    assert docs_check.rendered_routes(full) == expected
    partial = "".join(summary(m, p, "x") for m, p in sorted(expected) if p != "/healthz")
    assert expected - docs_check.rendered_routes(partial) == {("GET", "/healthz")}
