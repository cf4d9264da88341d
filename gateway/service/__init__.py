"""The service layer: what callers ask, split by who asks it.

- ``activations``: activate, batch, status and waiting for a job's outcome;
- ``runner``: a job's life (submit, settle, reschedule, complete, fail), with ``backoff``
  beside it; the creating request and the poller drive it;
- ``licenses``: fetch, deactivate, removal, purge;
- ``admin``: orders, LAC counters, the audit trail, jobs in flight, readiness;
- ``revalidation``: cached licenses checked again at LAC in the background.

``create_services`` wires them to the store's concerns and to LAC.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gateway.jobs.outcomes import OutcomeHub
from gateway.lac.base import Lac
from gateway.lac.polling import LacRoute
from gateway.metrics import Metrics
from gateway.service.activations import ActivationService
from gateway.service.admin import AdminService, CounterSource, OrderSource
from gateway.service.licenses import LicenseService
from gateway.service.revalidation import Revalidator
from gateway.service.runner import JobRunner
from gateway.service.shared import Auditor
from gateway.settings import Settings
from gateway.store import Stores
from gateway.webhooks.events import WebhookEvents

__all__ = [
    "ActivationService",
    "AdminService",
    "CounterSource",
    "JobRunner",
    "LicenseService",
    "OrderSource",
    "Revalidator",
    "Services",
    "create_services",
]


@dataclass(frozen=True, slots=True)
class Services:
    """The services of one process; ``runner.owner`` is its lease holder id."""

    activations: ActivationService
    licenses: LicenseService
    admin: AdminService
    runner: JobRunner
    revalidator: Revalidator


def create_services(
    stores: Stores,
    lac: Lac,
    settings: Settings,
    metrics: Metrics,
    hub: OutcomeHub,
    *,
    orders: OrderSource | None = None,
    counters: CounterSource | None = None,
    route: LacRoute | None = None,
    clock: Callable[[], float] = time.time,
) -> Services:
    """Every service, each handed only the store concerns it uses."""
    owner = f"gw-{uuid.uuid4().hex[:12]}"
    auditor = Auditor(stores.audit, settings.audit, clock)
    events = WebhookEvents(settings.webhooks, clock)
    runner = JobRunner(
        lac,
        settings,
        metrics,
        steps=stores.activations,
        licenses=stores.licenses,
        jobs=stores.jobs,
        owner=owner,
        events=events,
        clock=clock,
    )
    revalidator = Revalidator(
        lac, settings.cache, metrics, revalidations=stores.revalidations, clock=clock
    )
    activations = ActivationService(
        lac,
        settings,
        metrics,
        hub,
        runner=runner,
        steps=stores.activations,
        licenses=stores.licenses,
        auditor=auditor,
        revalidator=revalidator,
        clock=clock,
    )
    licenses = LicenseService(
        lac,
        metrics,
        licenses=stores.licenses,
        steps=stores.activations,
        activators=stores.activators,
        auditor=auditor,
        revalidator=revalidator,
        events=events,
        clock=clock,
    )
    admin = AdminService(
        lac,
        metrics,
        order_cache=stores.orders,
        audit=stores.audit,
        jobs=stores.jobs,
        health=stores.health,
        owner=owner,
        orders=orders,
        counters=counters,
        route=route,
        webhooks=(stores.webhooks, events, settings.webhooks.quota_low_threshold),
    )
    return Services(activations, licenses, admin, runner, revalidator)
