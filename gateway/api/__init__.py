"""The HTTP layer: routes, middlewares, idempotency and the OpenAPI document.

``setup_api(app)`` needs ``app[SETTINGS]``, ``app[METRICS]``, the services
``app[ACTIVATION_SERVICE]``, ``app[LICENSE_SERVICE]`` and ``app[ADMIN_SERVICE]``,
``app[IDEMPOTENCY_STORE]`` and ``app[RATE_LIMITER]`` (keys from ``gateway.api.keys``). The
application should be created with ``client_max_size=settings.http.max_body_bytes``; bodies are
also checked against that limit here, so a larger ``client_max_size`` only costs memory, never
correctness.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

from gateway.api import hotpath
from gateway.api.auth import KeyRing
from gateway.api.endpoints import setup_routes
from gateway.api.idempotency import idempotency_middleware
from gateway.api.keyreload import key_reload_ctx
from gateway.api.keys import FRONT_DOOR, KEY_RING, SETTINGS, SIGNER
from gateway.api.limits import rate_limit_middleware, size_middleware
from gateway.api.middleware import (
    auth_middleware,
    context_middleware,
    error_middleware,
)
from gateway.api.openapi import install_document
from gateway.api.proxies import create_forwarded_middleware
from gateway.api.rendered import rendered_middleware
from gateway.api.signing import Signer, signing_middleware

__all__ = ["setup_api"]


def _version() -> str:
    try:
        return version("lac-gateway")
    except PackageNotFoundError:
        return "0.0.0"


def setup_api(app: web.Application) -> None:
    """Install the middlewares (outermost first), the routes and the OpenAPI document."""
    app[KEY_RING] = KeyRing.from_settings(app[SETTINGS].auth)
    app[SIGNER] = Signer.from_settings(app[SETTINGS].signing)
    app.cleanup_ctx.append(key_reload_ctx)
    hotpath.install(app)
    app[FRONT_DOOR] = hotpath.front_door  # GatewayRunner's server answers hits before routing
    app.middlewares.extend(
        [
            hotpath.hot_path_middleware,  # answers hits and probes itself, as the chain below would
            context_middleware,
            error_middleware,
            size_middleware,
            rate_limit_middleware,
            auth_middleware,
            rendered_middleware,
            signing_middleware,
            idempotency_middleware,
        ]
    )
    trusted = app[SETTINGS].http.trusted_proxies
    if trusted:
        # Outermost, so every middleware and handler sees the client's address. Only installed
        # when configured: without trusted proxies, requests pay nothing for it.
        app.middlewares.insert(0, create_forwarded_middleware(trusted))
    install_document(app, setup_routes(app), _version())
