"""The webhook event catalogue: the outbox entry of each event, as the store's scripts append it.

An entry is flat field/value pairs: ``type``, ``at`` (Unix ms), ``data`` (the event's JSON
``data`` object) and, for ``activation.issued`` when an endpoint asks for it, ``license`` (the
license text, added to the body only for endpoints with ``include_license``). No entry is
written for an event no endpoint subscribes to.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.codes import lookup
from gateway.models import LicenseBody
from gateway.settings import WebhookEvent, WebhookSettings

EventArgs = list[str]  # field, value, field, value... ([]: no event)

ISSUED: WebhookEvent = "activation.issued"
FAILED: WebhookEvent = "activation.failed"
EXPIRED: WebhookEvent = "activation.expired"
DEACTIVATED: WebhookEvent = "license.deactivated"
REMOVAL_CONFIRMED: WebhookEvent = "license.removal_confirmed"
QUOTA_LOW: WebhookEvent = "lac.quota_low"


def pair_data(aid: str, activation_key: str, hostid: str) -> dict[str, Any]:
    """What every activation and license event says: which pair."""
    return {
        "activation_id": aid,
        "activation_key": activation_key,
        "hostids": hostid.split(",") if hostid else [],
    }


class WebhookEvents:
    """Builds outbox entries for the events the configured endpoints subscribe to."""

    def __init__(self, settings: WebhookSettings, clock: Callable[[], float] = time.time) -> None:
        self.endpoints = settings.all_endpoints()
        self.clock = clock

    def wanted(self, event: WebhookEvent) -> bool:
        """Whether any endpoint subscribes to ``event``."""
        return any(endpoint.wants(event) for endpoint in self.endpoints)

    def entry(self, event: WebhookEvent, data: dict[str, Any]) -> EventArgs:
        """The outbox entry of ``event`` with ``data``; [] when no endpoint wants it."""
        if not self.wanted(event):
            return []
        at = str(int(self.clock() * 1000))
        return ["type", event, "at", at, "data", orjson.dumps(data).decode()]

    def issued(self, aid: str, activation_key: str, hostid: str, lic: LicenseBody) -> EventArgs:
        """``activation.issued``: the license's file name and dates, its text kept aside."""
        data = pair_data(aid, activation_key, hostid)
        data["license"] = {
            "filename": lic.filename,
            "activated_at": lic.activated_at,
            "expires_at": lic.expires_at,
            "maintenance_end": lic.maintenance_end,
        }
        args = self.entry(ISSUED, data)
        if args and any(e.include_license and e.wants(ISSUED) for e in self.endpoints):
            args += ["license", lic.content]
        return args

    def failed(
        self, aid: str, activation_key: str, hostid: str, code: int, message: str
    ) -> EventArgs:
        """``activation.failed``: LAC's definitive rejection, with its code."""
        data = pair_data(aid, activation_key, hostid)
        data |= {"lac_code": code, "lac_name": lookup(code).name, "message": message}
        return self.entry(FAILED, data)

    def expired(self, aid: str, activation_key: str, hostid: str, deadline_at: float) -> EventArgs:
        """``activation.expired``: a pending generation outlived the gateway's deadline."""
        data = pair_data(aid, activation_key, hostid)
        data["deadline_at"] = _iso(deadline_at)
        return self.entry(EXPIRED, data)

    def withdrawn(
        self, event: WebhookEvent, aid: str, activation_key: str, hostid: str
    ) -> EventArgs:
        """``license.deactivated`` or ``license.removal_confirmed``."""
        return self.entry(event, pair_data(aid, activation_key, hostid))

    def quota_low(self, left: int, threshold: int) -> EventArgs:
        """``lac.quota_low``: the vendor account's activations left fell below the threshold."""
        return self.entry(QUOTA_LOW, {"activations_left": left, "threshold": threshold})


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
