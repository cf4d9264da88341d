"""Order summaries say what LAC reported over each transport, and name what it cannot report."""

from __future__ import annotations

import json

from gateway.api.keys import REDIS
from tests.gwharness import Running

KEY = "ORDER-SUMRY-DEMO0-00042"
SINGLE = "SNGLE-HOST1-DEMO0-00001"
NOT_OVER_SOAP = ["product", "activations_allowed"]
NOT_OVER_REST = ["product_template_id"]


async def test_an_order_summary_is_filled_from_what_the_transport_reports(
    running: Running,
) -> None:
    await running.put_order(KEY, product_template_id=42, bulk_max=3, product_name="Summary Product")
    activated = await running.activate(KEY, ["HOSTNAME=order01"], Prefer="wait=5")
    assert activated.status == 200
    reply = await running.call("GET", f"/v1/orders/{KEY}")
    assert reply.status == 200, reply.body[:300]
    order = reply.json()
    assert None not in order.values(), order
    assert order["activation_key"] == KEY
    assert order["enabled"] is True
    assert order["activations_used"] == 1
    if running.settings.lac.transport == "soap":
        assert order["product_template_id"] == 42
        assert order["not_reported"] == NOT_OVER_SOAP
    else:
        assert order["product"] == "Summary Product"
        assert order["activations_allowed"] == 3
        assert order["not_reported"] == NOT_OVER_REST
    for name in order["not_reported"]:
        assert name not in order


async def test_the_order_schema_says_what_soap_does_not_report(running: Running) -> None:
    document = (await running.call("GET", "/openapi.json", key=None)).json()
    schema = document["components"]["schemas"]["OrderResponse"]
    for name in NOT_OVER_SOAP:
        assert "not over SOAP" in schema["properties"][name]["description"]
    assert "not_reported" in schema["properties"]
    assert set(schema["required"]) >= {"activation_key", "enabled", "not_reported"}


async def test_a_summary_cached_in_an_older_shape_is_fetched_again(running: Running) -> None:
    first = await running.call("GET", f"/v1/orders/{SINGLE}")
    assert first.status == 200, first.body[:300]
    cached = [key for key in await running.redis_keys() if b"order" in key]
    assert len(cached) == 1
    old_shape = {"activation_key": SINGLE, "product": None, "enabled": True}
    await running.app[REDIS].set(cached[0], json.dumps(old_shape))
    again = await running.call("GET", f"/v1/orders/{SINGLE}")
    assert again.status == 200, again.body[:300]
    assert again.json() == first.json()
