"""Every end-user operation of the ``Lac`` port, over SOAP and over REST, against the sandbox."""

from __future__ import annotations

from datetime import date

import aiohttp
import pytest

from gateway.lac.base import IssuedLicense, Lac, LacRejected, PollState
from gateway.lac.license_text import parse_timestamp
from gateway.lac.soap_codec import SoapCodec
from gateway.metrics import Metrics
from tests.integration.lac_support import SandboxControl

KEY = "TESTK-ORDER-00000-00001"
HOST = "HOSTNAME=build01"
OTHER_HOST = "HOSTNAME=build02"


async def ready_license(lac: Lac, key: str = KEY, hostid: str = HOST) -> IssuedLicense:
    await lac.create(key, hostid)
    result = await lac.poll(key, hostid)
    assert result.state is PollState.READY
    assert result.license is not None
    return result.license


async def test_create_then_poll_returns_the_generated_license(
    lac: Lac, control: SandboxControl
) -> None:
    features = [
        {"name": "alpha", "end": "2030-12-31", "maintenance_end": "2030-06-30"},
        {"name": "beta", "end": "2029-01-31"},
    ]
    await control.put_order(KEY, features=features, customer_name="Acme")
    issued = await ready_license(lac)
    generated = (await control.order(KEY))["licenses"][0]
    assert issued.content == generated["content"]
    assert issued.filename == generated["filename"]
    activated = parse_timestamp(generated["activation_time"])
    assert activated is not None
    # The file's header carries the generation time to the second.
    assert issued.activated_at == activated.replace(microsecond=0)
    assert issued.expires_at == date(2029, 1, 31)
    assert issued.maintenance_end == date(2030, 6, 30)


async def test_poll_is_pending_until_generation_finishes(lac: Lac, control: SandboxControl) -> None:
    await control.put_order(KEY, generation_delay=600)
    await lac.create(KEY, HOST)
    assert (await lac.poll(KEY, HOST)).state is PollState.PENDING
    await control.advance(601)
    result = await lac.poll(KEY, HOST)
    assert result.state is PollState.READY
    assert result.license is not None
    assert "FEATURE" in result.license.content


async def test_poll_of_a_pair_never_requested_is_code_300(
    lac: Lac, control: SandboxControl
) -> None:
    await control.put_order(KEY)
    with pytest.raises(LacRejected) as caught:
        await lac.poll(KEY, HOST)
    assert caught.value.code == 300


async def test_failed_generation_is_code_400_with_the_generator_output(
    lac: Lac, control: SandboxControl
) -> None:
    await control.put_order(KEY, generator_failure="generator exited with status 3")
    await lac.create(KEY, HOST)
    with pytest.raises(LacRejected) as caught:
        await lac.poll(KEY, HOST)
    assert caught.value.code == 400
    assert "generator exited with status 3" in caught.value.message


async def test_fetch_returns_the_license_once_issued_and_none_before(
    lac: Lac, control: SandboxControl
) -> None:
    await control.put_order(KEY, bulk_max=2)
    assert await lac.fetch(KEY, HOST) is None
    issued = await ready_license(lac)
    assert await lac.fetch(KEY, HOST) == issued
    assert await lac.fetch(KEY, OTHER_HOST) is None


async def test_create_for_an_unknown_key_is_code_101(lac: Lac, control: SandboxControl) -> None:
    with pytest.raises(LacRejected) as caught:
        await lac.create("NOSUC-HORDR-00000-00000", HOST)
    assert caught.value.code == 101
    assert (
        await control.count("soap", "CreateLicenseRequest")
        + await control.count("rest", "PUT /licenses")
        == 1
    )


async def test_create_on_a_disabled_order_is_code_202(lac: Lac, control: SandboxControl) -> None:
    await control.put_order(KEY, enabled=False)
    with pytest.raises(LacRejected) as caught:
        await lac.create(KEY, HOST)
    assert caught.value.code == 202


async def test_deactivate_frees_the_activation(lac: Lac, control: SandboxControl) -> None:
    await control.put_order(KEY, deactivations_allowed=1)
    await ready_license(lac)
    await lac.deactivate(KEY, HOST)
    order = await control.order(KEY)
    assert order["activated"] == 0
    assert order["deactivations_left"] == 0
    assert await lac.fetch(KEY, HOST) is None


async def test_deactivate_without_allowance_is_code_111(lac: Lac, control: SandboxControl) -> None:
    await control.put_order(KEY, deactivations_allowed=0)
    await ready_license(lac)
    with pytest.raises(LacRejected) as caught:
        await lac.deactivate(KEY, HOST)
    assert caught.value.code == 111
    assert (await control.order(KEY))["activated"] == 1


async def test_deactivate_of_a_license_never_activated_is_code_205(
    lac: Lac, control: SandboxControl
) -> None:
    await control.put_order(KEY, deactivations_allowed=5)
    with pytest.raises(LacRejected) as caught:
        await lac.deactivate(KEY, HOST)
    assert caught.value.code == 205


async def test_removal_flag_is_reported_and_cleared_by_confirm(
    lac: Lac, control: SandboxControl
) -> None:
    await control.put_order(KEY)
    await ready_license(lac)
    assert await lac.removal_requested(KEY, HOST) is False
    await control.put_order(KEY, removal=True)
    assert await lac.removal_requested(KEY, HOST) is True
    await lac.removal_confirm(KEY, HOST)
    order = await control.order(KEY)
    assert order["removal"] is False
    assert order["removal_confirmation_time"] is not None
    assert await lac.removal_requested(KEY, HOST) is False


async def test_removal_status_before_any_generation_is_code_300(
    lac: Lac, control: SandboxControl
) -> None:
    await control.put_order(KEY, removal=True)
    with pytest.raises(LacRejected) as caught:
        await lac.removal_requested(KEY, HOST)
    assert caught.value.code == 300


async def test_removal_calls_use_end_user_soap_in_both_modes(
    lac: Lac, control: SandboxControl
) -> None:
    await control.put_order(KEY, removal=True)
    await ready_license(lac)
    await control.reset_counters()
    assert await lac.removal_requested(KEY, HOST) is True
    await lac.removal_confirm(KEY, HOST)
    counters = await control.counters()
    assert counters.get("soap") == {"LicenseRemovalRequested": 1, "LicenseRemovalConfirm": 1}
    assert "rest" not in counters


async def test_several_hostids_reach_lac_as_one_set(lac: Lac, control: SandboxControl) -> None:
    # Valid HostID characters never produce "+" or "/" in Base64 (unit-tested apart); this
    # string does need "=" padding on REST.
    hostid = "ETHERNET=AABBCCDDEEFF,IPADDRESS=10.0.0.5"
    await control.put_order(KEY, max_hostids=4)
    await ready_license(lac, hostid=hostid)
    held = (await control.order(KEY))["licenses"][0]["hostids"]
    assert {(h["type"], h["value"]) for h in held} == {
        ("ETHERNET", "AABBCCDDEEFF"),
        ("IPADDRESS", "10.0.0.5"),
    }


async def test_every_call_is_counted_in_metrics_by_operation_and_code(
    lac: Lac, control: SandboxControl, metrics: Metrics, transport: str
) -> None:
    await control.put_order(KEY)
    await ready_license(lac)
    with pytest.raises(LacRejected):
        await lac.create("NOSUC-HORDR-00000-00000", HOST)
    samples = {
        (s.labels["operation"], s.labels["code"]): s.value
        for metric in metrics.lac_calls.collect()
        for s in metric.samples
        if s.name.endswith("_total") and s.labels["transport"] == transport
    }
    create_op = "CreateLicenseRequest" if transport == "soap" else "create"
    assert samples[(create_op, "0")] == 1
    assert samples[(create_op, "101")] == 1


async def test_a_soap_client_alone_serves_every_operation(
    session: aiohttp.ClientSession,
    settings: object,
    enduser_codec: SoapCodec,
    control: SandboxControl,
) -> None:
    from gateway.lac.soap import LacSoapClient  # noqa: PLC0415 - the direct constructor
    from gateway.settings import LacSettings  # noqa: PLC0415

    assert isinstance(settings, LacSettings)
    client = LacSoapClient(session, settings, enduser_codec)
    await control.put_order(KEY, deactivations_allowed=1)
    issued = await ready_license(client)
    assert await client.fetch(KEY, HOST) == issued
    await client.deactivate(KEY, HOST)
    assert await control.count("soap", "DeactivateLicense") == 1
