"""Typed application keys of the sandbox's aiohttp application."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from lacsandbox.runtime import Sandbox

SANDBOX: web.AppKey[Sandbox] = web.AppKey("lacsandbox")
"""Everything a handler needs: state machine, counters, faults (``runtime.Sandbox``)."""
