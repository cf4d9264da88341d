"""The /docs page: Swagger UI from the swagger-ui-bundle package, served offline under a strict CSP.

The page and its start-up script are package data in ``gateway/api/static``; Swagger UI's own
files come from the installed ``swagger-ui-bundle`` distribution, so nothing is fetched from
outside the gateway and no inline script runs.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aiohttp import web
from swagger_ui_bundle import swagger_ui_path

from gateway import errors

_STATIC = resources.files("gateway.api") / "static"
DOCS_HTML = (_STATIC / "docs.html").read_text(encoding="utf-8")
INIT_SCRIPT = "docs-init.js"
STATIC_PREFIX = "/docs/static"
# The files the page loads, by the name it asks for: ours beside Swagger UI's (the rest of the
# bundle, source maps and the standalone preset, is never served).
_OWN_FILES = {INIT_SCRIPT: "text/javascript", "docs.css": "text/css"}
_VENDOR_FILES = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}
STATIC_MEDIA_TYPES = tuple(sorted({*_OWN_FILES.values(), *_VENDOR_FILES.values()}))
"""Every media type a file of the page is served as (the OpenAPI document lists each)."""
# Swagger UI's files change only with the package version: a day of caching is safe.
_CACHE_CONTROL = "public, max-age=86400"

# Scripts and styles only from the gateway itself, never inline; Swagger UI's stylesheet draws its
# icons from data: URIs; the page talks only to the gateway (try-it-out included).
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {"Content-Security-Policy": DOCS_CSP, "X-Content-Type-Options": "nosniff"}


def _read(name: str) -> tuple[bytes, str] | None:
    if name in _OWN_FILES:
        return (_STATIC / name).read_bytes(), _OWN_FILES[name]
    if name in _VENDOR_FILES:
        return (Path(str(swagger_ui_path)) / name).read_bytes(), _VENDOR_FILES[name]
    return None


# Read once at import: a handful of files, about 1.2 MB, served from memory.
STATIC_FILES = {
    name: found for name in (*_OWN_FILES, *_VENDOR_FILES) if (found := _read(name)) is not None
}


async def docs_handler(request: web.Request) -> web.StreamResponse:
    """GET /docs: Swagger UI rendering /openapi.json."""
    return web.Response(text=DOCS_HTML, content_type="text/html", headers=_HEADERS)


async def static_handler(request: web.Request) -> web.StreamResponse:
    """GET /docs/static/{name}: one of the files the /docs page loads."""
    found = STATIC_FILES.get(request.match_info["name"])
    if found is None:
        raise errors.NotFound("no such file of the /docs page")
    body, content_type = found
    headers = {**_HEADERS, "Cache-Control": _CACHE_CONTROL}
    return web.Response(body=body, content_type=content_type, headers=headers)
