"""The webhook admin routes: thin handlers over ``gateway.webhooks.admin``."""

from __future__ import annotations

from aiohttp import web

from gateway.api.keys import WEBHOOK_ADMIN
from gateway.api.routes import int_query, json_response
from gateway.api.schemas import WebhookDeliveries, WebhookDelivery

DEFAULT_DELIVERY_LIMIT = 50
MAX_DELIVERY_LIMIT = 500


async def list_deliveries(request: web.Request) -> web.StreamResponse:
    """GET /v1/admin/webhooks/deliveries."""
    limit = int_query(request, "limit", DEFAULT_DELIVERY_LIMIT, MAX_DELIVERY_LIMIT)
    query = request.query
    page, cursor = await request.app[WEBHOOK_ADMIN].deliveries(
        query.get("status", "pending"), query.get("endpoint"), limit, query.get("cursor")
    )
    items = [WebhookDelivery.model_validate(item) for item in page]
    return json_response(WebhookDeliveries(deliveries=items, next_cursor=cursor))


async def retry_delivery(request: web.Request) -> web.StreamResponse:
    """POST /v1/admin/webhooks/deliveries/{id}/retry."""
    delivery = await request.app[WEBHOOK_ADMIN].retry(request.match_info["id"])
    return json_response(WebhookDelivery.model_validate(delivery), status=202)
