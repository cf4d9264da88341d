"""The sandbox application factory: seed, state, counters, faults and every route."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from lacsandbox.clock import Clock
from lacsandbox.control import setup_control_routes
from lacsandbox.demoseed import DEMO_SEED_TOML
from lacsandbox.keys import SANDBOX
from lacsandbox.rest import setup_rest_routes
from lacsandbox.runtime import Sandbox
from lacsandbox.seed import Seed, default_seed_path, load_seed, seed_from_mapping
from lacsandbox.soap import setup_soap_routes
from lacsandbox.state import LacState


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """How to start a sandbox; ``None`` fields fall back to the seed file's values."""

    seed: Path | None = None
    """Seed file; None: ``config/sandbox.toml`` of the source tree, else the built-in demo."""
    token_ttl: float | None = None
    vendor_requires_https: bool | None = None
    clock: Clock | None = None
    without_get_license: bool = False
    """Leave GetLicense out of the end-user WSDL and answer it with a Client fault."""


def load_config_seed(config: SandboxConfig) -> Seed:
    """The seed ``config`` names (reads a file: call at start-up, not per request)."""
    path = config.seed or default_seed_path()
    if path is None:
        return seed_from_mapping(tomllib.loads(DEMO_SEED_TOML))
    return load_seed(path)


def create_sandbox(config: SandboxConfig) -> Sandbox:
    """The sandbox's shared objects, without an application (for direct use in tests)."""
    seed = load_config_seed(config)
    state = LacState(
        seed.orders,
        seed.vendor,
        clock=config.clock or Clock(),
        token_ttl=seed.token_ttl if config.token_ttl is None else config.token_ttl,
    )
    https = seed.vendor_requires_https
    return Sandbox(
        state=state,
        vendor_requires_https=https
        if config.vendor_requires_https is None
        else config.vendor_requires_https,
        seed_faults=seed.faults,
        without_get_license=config.without_get_license,
    )


async def _index(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    return web.json_response(
        {
            "service": "LAC sandbox",
            "soap": [
                "/soap/type/enduser/version/1",
                "/soap/type/enduser/version/2",
                "/soap/type/vendor/version/4",
            ],
            "rest": "/rest/v2",
            "control": "/_sandbox/",
            "orders": sorted(sandbox.state.orders),
        }
    )


def create_sandbox_app(config: SandboxConfig | None = None) -> web.Application:
    """The sandbox as an aiohttp application (SOAP, REST and the ``/_sandbox/`` control API)."""
    app = web.Application()
    app[SANDBOX] = create_sandbox(config or SandboxConfig())
    app.router.add_get("/", _index)
    setup_soap_routes(app)
    setup_rest_routes(app)
    setup_control_routes(app)
    return app
