"""/docs is Swagger UI served offline by the gateway itself, under a CSP running no inline code."""

from __future__ import annotations

import re
from pathlib import Path

from swagger_ui_bundle import swagger_ui_path

from tests.gwharness import Running, problem_of

ASSET = re.compile(r'<(?:script|link)[^>]*?(?:src|href)="([^"]+)"', re.IGNORECASE)


async def test_docs_page_is_swagger_ui_loaded_from_the_gateway_only(running: Running) -> None:
    reply = await running.call("GET", "/docs", key=None)
    assert reply.status == 200
    assert reply.content_type == "text/html"
    page = reply.body.decode()
    assert not re.search(r"https?://|//[a-z]", page, re.IGNORECASE)
    # Every script is a file: no inline code, so the CSP needs no 'unsafe-inline' or hash.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page, re.IGNORECASE)
    assets = ASSET.findall(page)
    assert "docs/static/swagger-ui-bundle.js" in assets
    assert "docs/static/docs-init.js" in assets
    for asset in assets:
        served = await running.call("GET", f"/{asset}", key=None)
        assert served.status == 200, asset
        assert served.headers["X-Content-Type-Options"] == "nosniff"


async def test_docs_csp_allows_the_gateway_own_scripts_and_nothing_inline(
    running: Running,
) -> None:
    csp = (await running.call("GET", "/docs", key=None)).headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe" not in csp


async def test_swagger_ui_files_are_the_installed_package_bytes(running: Running) -> None:
    bundle = Path(str(swagger_ui_path)) / "swagger-ui-bundle.js"
    reply = await running.call("GET", "/docs/static/swagger-ui-bundle.js", key=None)
    assert reply.status == 200
    assert reply.content_type == "text/javascript"
    assert reply.body == bundle.read_bytes()
    script = await running.call("GET", "/docs/static/docs-init.js", key=None)
    assert b"SwaggerUIBundle(" in script.body
    assert b"openapi.json" in script.body


async def test_a_file_the_page_does_not_load_is_a_404_problem(running: Running) -> None:
    for name in ("swagger-ui-bundle.js.map", "index.html", "..%2Fdocs.py", "oauth2-redirect.html"):
        reply = await running.call("GET", f"/docs/static/{name}", key=None)
        problem_of(reply, 404)
