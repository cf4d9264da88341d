"""Typed application keys of the sandbox's aiohttp application."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from gateway.sandbox.runtime import Sandbox

SANDBOX: web.AppKey[Sandbox] = web.AppKey("gateway.sandbox")
"""Everything a handler needs: state machine, counters, faults (``runtime.Sandbox``)."""
