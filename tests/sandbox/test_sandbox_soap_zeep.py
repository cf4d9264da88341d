"""zeep, reading the WSDLs the sandbox serves, calls every SOAP operation over a real socket."""

from __future__ import annotations

import re

import requests

from tests.sandbox.sandbox_support import (
    BULK5,
    DEACTIVATE_ONCE,
    DELAYED,
    REMOVAL,
    SINGLE,
    RunningSandbox,
    ZeepService,
)

HOST = "HOSTNAME=build01"


async def test_served_wsdl_addresses_the_url_it_was_fetched_from(
    running_sandbox: RunningSandbox, enduser: ZeepService, vendor: ZeepService
) -> None:
    assert enduser.address == running_sandbox.soap_url("enduser", 2)
    assert vendor.address == running_sandbox.soap_url("vendor", 4)


async def test_create_then_get_license_returns_lmx_text(enduser: ZeepService) -> None:
    created = await enduser.call("CreateLicenseRequest", SINGLE, HOST)
    fetched = await enduser.call("GetLicense", SINGLE, HOST)

    assert created == {"result_code": 0, "result_string": None}
    assert fetched["result_code"] == 0
    text = fetched["result_string"]
    assert f"# Activation Key: {SINGLE}" in text
    assert re.search(r"^# Generation Time: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT$", text, re.M)
    assert "FEATURE demo-feature\n{\nVENDOR=DEMOVENDOR VERSION=2.1 END=2027-12-31" in text
    assert "HOSTID=HOSTNAME=build01" in text
    assert re.search(r"KEY=[0-9A-F]+\\\n\t[0-9A-F]+", text)


async def test_get_license_says_please_wait_until_the_generation_delay_passes(
    running_sandbox: RunningSandbox, enduser: ZeepService
) -> None:
    await enduser.call("CreateLicenseRequest", DELAYED, HOST)
    waiting = await enduser.call("GetLicense", DELAYED, HOST)
    running_sandbox.clock.advance(2.0)
    ready = await enduser.call("GetLicense", DELAYED, HOST)

    assert waiting["result_code"] == 1
    assert ready["result_code"] == 0
    assert ready["result_string"].startswith("# This license file was generated")


async def test_deactivate_frees_the_activation_for_another_host(enduser: ZeepService) -> None:
    await enduser.call("CreateLicenseRequest", DEACTIVATE_ONCE, HOST)
    full = await enduser.call("CreateLicenseRequest", DEACTIVATE_ONCE, "HOSTNAME=build02")
    deactivated = await enduser.call("DeactivateLicense", DEACTIVATE_ONCE, HOST)
    moved = await enduser.call("CreateLicenseRequest", DEACTIVATE_ONCE, "HOSTNAME=build02")

    assert full["result_code"] == 201
    assert deactivated["result_code"] == 0
    assert moved["result_code"] == 0


async def test_removal_requested_then_confirmed_clears_the_flag(enduser: ZeepService) -> None:
    await enduser.call("CreateLicenseRequest", REMOVAL, HOST)
    asked = await enduser.call("LicenseRemovalRequested", REMOVAL, HOST)
    confirmed = await enduser.call("LicenseRemovalConfirm", REMOVAL, HOST)
    asked_again = await enduser.call("LicenseRemovalRequested", REMOVAL, HOST)

    assert asked == {"result_code": 0, "result_string": "SUCCESS"}
    assert confirmed["result_code"] == 0
    assert asked_again == {"result_code": 204, "result_string": "LICENSE_REMOVAL_NOT_REQUESTED"}


async def test_removal_requested_for_a_host_never_activated_names_that(
    enduser: ZeepService,
) -> None:
    answer = await enduser.call("LicenseRemovalRequested", REMOVAL, HOST)

    assert answer == {"result_code": 300, "result_string": "LICENSE_GENERATION_WAS_NOT_REQUESTED"}


async def test_v1_wsdl_offers_create_and_get_license(
    running_sandbox: RunningSandbox, requests_session: requests.Session
) -> None:
    v1 = await ZeepService.load(running_sandbox.soap_url("enduser", 1) + "?wsdl", requests_session)

    created = await v1.call("CreateLicenseRequest", BULK5, HOST)
    fetched = await v1.call("GetLicense", BULK5, HOST)

    assert created["result_code"] == 0
    assert fetched["result_code"] == 0
    assert f"# Activation Key: {BULK5}" in fetched["result_string"]


async def test_vendor_login_token_is_40_hex_and_logout_ends_it(vendor: ZeepService) -> None:
    login = await vendor.call("Login", "demo", "demo")
    token = login["token"]
    counters = await vendor.call("GetActivationCounters", token)
    logout = await vendor.call("Logout", token)
    after = await vendor.call("GetActivationCounters", token)

    assert login["result_code"] == 0
    assert re.fullmatch(r"[0-9a-f]{40}", token)
    assert counters["result_code"] == 0
    assert logout["result_code"] == 0
    assert after["result_code"] == 50


async def test_activation_counters_drop_by_one_per_new_activation(
    enduser: ZeepService, vendor: ZeepService
) -> None:
    token = (await vendor.call("Login", "demo", "demo"))["token"]
    before = (await vendor.call("GetActivationCounters", token))["result_object"]
    await enduser.call("CreateLicenseRequest", BULK5, HOST)
    await enduser.call("CreateLicenseRequest", BULK5, HOST)  # same pair: no new activation
    after = (await vendor.call("GetActivationCounters", token))["result_object"]

    sub_before = before["ActivationSubscriptions"]["item"][0]
    sub_after = after["ActivationSubscriptions"]["item"][0]
    assert sub_before["default_count"] == 1000
    assert sub_after["activations_left_count"] == sub_before["activations_left_count"] - 1
    assert after["one_time_activations_left_count"] == before["one_time_activations_left_count"]
    assert after["one_time_activations_expiration_date"] == "2027-12-31"


async def test_find_order_by_partial_lowercase_key_returns_the_order(
    enduser: ZeepService, vendor: ZeepService
) -> None:
    await enduser.call("CreateLicenseRequest", BULK5, HOST)
    token = (await vendor.call("Login", "demo", "demo"))["token"]

    found = await vendor.call("FindLicenseOrderByActivationKey", token, "bulk5-seats", 0)

    assert found["result_code"] == 0
    [order] = found["result_array"]["item"]
    assert order["activation_key"] == BULK5
    assert order["activated_licenses_count"] == 1
    assert order["enabled"] is True
    assert order["Features"]["item"][0]["name"] == "demo-feature"


async def test_find_order_pages_start_at_the_offset(vendor: ZeepService) -> None:
    token = (await vendor.call("Login", "demo", "demo"))["token"]

    first = await vendor.call("FindLicenseOrderByActivationKey", token, "DEMO0", 0)
    skipped = await vendor.call("FindLicenseOrderByActivationKey", token, "DEMO0", 10)

    assert len(first["result_array"]["item"]) == 12
    assert [o["activation_key"] for o in skipped["result_array"]["item"]] == [
        o["activation_key"] for o in first["result_array"]["item"][10:]
    ]


async def test_reset_deactivation_counter_allows_deactivating_again(
    enduser: ZeepService, vendor: ZeepService
) -> None:
    token = (await vendor.call("Login", "demo", "demo"))["token"]
    await enduser.call("CreateLicenseRequest", DEACTIVATE_ONCE, HOST)
    await enduser.call("DeactivateLicense", DEACTIVATE_ONCE, HOST)
    await enduser.call("CreateLicenseRequest", DEACTIVATE_ONCE, HOST)
    refused = await enduser.call("DeactivateLicense", DEACTIVATE_ONCE, HOST)
    reset = await vendor.call("ResetDeactivationCounter", token, DEACTIVATE_ONCE)
    allowed = await enduser.call("DeactivateLicense", DEACTIVATE_ONCE, HOST)

    assert refused["result_code"] == 111
    assert reset["result_code"] == 0
    assert allowed["result_code"] == 0


async def test_vendor_deactivate_order_frees_every_activation(
    enduser: ZeepService, vendor: ZeepService
) -> None:
    token = (await vendor.call("Login", "demo", "demo"))["token"]
    await enduser.call("CreateLicenseRequest", SINGLE, HOST)
    deactivated = await vendor.call("DeactivateLicenseOrder", token, SINGLE)
    fetched = await enduser.call("GetLicense", SINGLE, HOST)
    other_host = await enduser.call("CreateLicenseRequest", SINGLE, "HOSTNAME=build02")

    assert deactivated["result_code"] == 0
    assert fetched["result_code"] == 300
    assert other_host["result_code"] == 0


async def test_order_list_and_disabled_list_over_zeep(vendor: ZeepService) -> None:
    token = (await vendor.call("Login", "demo", "demo"))["token"]

    listed = await vendor.call("GetLicenseOrderList", token, 0)
    disabled = await vendor.call("GetLicenseOrderDisabled", token, 0)

    assert len(listed["result_array"]["item"]) == 12
    assert [o["activation_key"] for o in disabled["result_array"]["item"]] == [
        "DSBLD-ORDER-DEMO0-00004"
    ]
