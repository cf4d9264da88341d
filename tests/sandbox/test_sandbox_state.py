"""The state machine on its own: HostID rules, activations, generation, deactivation, tokens."""

from __future__ import annotations

import re
from datetime import date

import pytest

from lacsandbox.clock import Clock
from lacsandbox.codetable import Code
from lacsandbox.hostids import HostIdError, canonical, parse_hostids, select_hostids
from lacsandbox.licensetext import Feature
from lacsandbox.models import LicenseState, OrderSpec, VendorAccount
from lacsandbox.state import LacState

KEY = "AAAAA-BBBBB-CCCCC-DDDDD"


def make_state(*specs: OrderSpec, ttl: float = 60.0) -> LacState:
    return LacState(
        specs, VendorAccount("u", "p"), clock=Clock(lambda: 1_800_000_000.0), token_ttl=ttl
    )


def test_hostids_are_normalised_to_one_canonical_string() -> None:
    one = parse_hostids("ethernet=48-2c-6a-1e-59-3d, HOSTNAME=Build01")
    other = parse_hostids("HOSTNAME=build01,ETHERNET=482C6A1E593D")

    assert canonical(tuple(sorted(one))) == canonical(tuple(sorted(other)))
    assert canonical(tuple(sorted(one))) == "ETHERNET=482C6A1E593D,HOSTNAME=build01"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", Code.LAC_HOSTID_MISSING),
        ("   ", Code.LAC_HOSTID_MISSING),
        ("HOSTNAME", Code.LAC_WRONG_HOSTID_FORMAT),
        ("=value", Code.LAC_WRONG_HOSTID_FORMAT),
        ("HOSTNAME=", Code.LAC_WRONG_HOSTID_FORMAT),
        ("HOSTNAME=a b", Code.LAC_HOSTID_VALUE_INVALID),
        ("ETHERNET=0011223344", Code.LAC_HOSTID_VALUE_INVALID),
        ("HOSTNAME=" + "a" * 256, Code.LAC_HOSTID_VALUE_INVALID),
        ("HOSTNAME=user@host", Code.LAC_HOSTID_VALUE_INVALID),
    ],
)
def test_bad_hostid_strings_get_lac_codes(raw: str, code: Code) -> None:
    with pytest.raises(HostIdError) as caught:
        parse_hostids(raw)

    assert caught.value.code == code


def test_username_may_contain_an_at_sign() -> None:
    assert str(parse_hostids("USERNAME=dev@corp")[0]) == "USERNAME=dev@corp"


def test_order_policy_picks_the_first_suitable_hostids() -> None:
    parsed = parse_hostids(
        "HOSTNAME=a,ETHERNET=001122334455,ETHERNET=AABBCCDDEEFF,ETHERNET=0A0B0C0D0E0F"
    )

    chosen = select_hostids(parsed, ("ETHERNET",), 1, 2)

    assert canonical(chosen) == "ETHERNET=001122334455,ETHERNET=AABBCCDDEEFF"


def test_order_policy_codes_for_unsupported_type_and_too_few_hostids() -> None:
    with pytest.raises(HostIdError) as unsupported:
        select_hostids(parse_hostids("HOSTNAME=a"), ("ETHERNET",), 1, 2)
    with pytest.raises(HostIdError) as too_few:
        select_hostids(parse_hostids("ETHERNET=001122334455"), ("ETHERNET",), 2, 2)

    assert unsupported.value.code == Code.LAC_HOSTIDTYPE_NOT_SUPPORTED
    assert too_few.value.code == Code.LAC_HOSTID_MISSING


def test_rerequesting_a_pair_returns_the_same_license_without_a_new_activation() -> None:
    state = make_state(OrderSpec(KEY, bulk_max=2))

    first = state.create_request(KEY, "HOSTNAME=a")
    again = state.create_request(KEY.lower(), "hostname=A")

    assert first.license is again.license
    assert state.orders[KEY].activations_total == 1


def test_bulk_order_refuses_a_new_host_when_full_but_serves_existing_ones() -> None:
    state = make_state(OrderSpec(KEY, bulk_max=2))
    state.create_request(KEY, "HOSTNAME=a")
    state.create_request(KEY, "HOSTNAME=b")

    assert state.create_request(KEY, "HOSTNAME=c").code == Code.LAC_BULK_LICENSE_COUNT_EXCEEDED
    assert state.create_request(KEY, "HOSTNAME=b").code == Code.LAC_SUCCESS


def test_deactivation_frees_a_seat_and_a_later_create_is_a_new_activation() -> None:
    state = make_state(OrderSpec(KEY, deactivations_allowed=1))
    state.create_request(KEY, "HOSTNAME=a")

    deactivated = state.deactivate(KEY, "HOSTNAME=a")
    again = state.create_request(KEY, "HOSTNAME=a")

    assert deactivated.code == Code.LAC_SUCCESS
    assert again.code == Code.LAC_SUCCESS
    assert state.orders[KEY].activations_total == 2
    assert state.orders[KEY].deactivations_left == 0


def test_license_in_progress_cannot_be_deactivated() -> None:
    state = make_state(OrderSpec(KEY, deactivations_allowed=1, generation_delay=5))
    state.create_request(KEY, "HOSTNAME=a")

    assert state.deactivate(KEY, "HOSTNAME=a").code == Code.LAC_LICENSE_WAS_NOT_ACTIVATED


def test_generation_settles_when_the_clock_passes_the_delay() -> None:
    state = make_state(OrderSpec(KEY, generation_delay=30))
    state.create_request(KEY, "HOSTNAME=a")

    state.clock.advance(29.5)
    waiting = state.get_license(KEY, "HOSTNAME=a")
    state.clock.advance(0.5)
    ready = state.get_license(KEY, "HOSTNAME=a")

    assert waiting.code == Code.LAC_PLEASE_WAIT
    assert ready.code == Code.LAC_SUCCESS
    assert ready.license is not None
    assert ready.license.activation_time == ready.license.ready_time


def test_failed_generation_is_retried_on_the_same_activation_after_a_new_request() -> None:
    state = make_state(OrderSpec(KEY, generator_failure="generator crashed"))
    state.create_request(KEY, "HOSTNAME=a")
    failed = state.get_license(KEY, "HOSTNAME=a")
    state.put_order(OrderSpec(KEY))

    state.create_request(KEY, "HOSTNAME=a")
    fixed = state.get_license(KEY, "HOSTNAME=a")

    assert (failed.code, failed.message) == (Code.LAC_LICENSE_GENERATOR_FAILED, "generator crashed")
    assert fixed.code == Code.LAC_SUCCESS
    assert state.orders[KEY].activations_total == 1
    assert fixed.license is not None
    assert [e.message for e in fixed.license.errors] == ["generator crashed"]


def test_licenses_by_state_filters_the_order_licenses() -> None:
    state = make_state(OrderSpec(KEY, bulk_max=3, generation_delay=10))
    state.create_request(KEY, "HOSTNAME=a")
    state.clock.advance(10)
    state.create_request(KEY, "HOSTNAME=b")

    done = state.licenses_by_state(KEY, [LicenseState.SUCCESS])
    pending = state.licenses_by_state(KEY, [LicenseState.IN_PROGRESS])

    assert [lic.hostid_string for lic in done.licenses] == ["HOSTNAME=a"]
    assert [lic.hostid_string for lic in pending.licenses] == ["HOSTNAME=b"]


def test_license_carries_dates_filename_and_hostid_lock() -> None:
    feature = Feature("solver", "3.0", end=date(2028, 1, 31), maintenance_end=date(2027, 7, 1))
    state = make_state(OrderSpec(KEY, features=(feature,)))
    state.create_request(KEY, "ETHERNET=00:11:22:33:44:55,HOSTNAME=a")

    lic = state.get_license(KEY, "HOSTNAME=a,ETHERNET=001122334455").license

    assert lic is not None
    assert lic.expiration_date == date(2028, 1, 31)
    assert lic.maintenance_end_date == date(2027, 7, 1)
    assert re.fullmatch(r"license_\d{4}_\d\d_\d\d-\d\d_\d\d\.lic", lic.filename)
    assert 'HOSTID="ETHERNET=001122334455 HOSTNAME=a"' in lic.content
    assert "MAINTENANCE_END=2027-07-01" in lic.content


def test_not_locked_order_is_activated_once() -> None:
    state = make_state(OrderSpec(KEY, not_locked=True))

    first = state.create_request(KEY, "not_specified")
    same = state.create_request(KEY, "")
    other = state.create_request(KEY, "HOSTNAME=a")

    assert (first.code, same.code) == (Code.LAC_SUCCESS, Code.LAC_SUCCESS)
    assert other.code == Code.LAC_LICENSE_ALREADY_ACTIVATED


def test_locked_order_refuses_not_specified_as_missing_hostid() -> None:
    state = make_state(OrderSpec(KEY))

    assert state.create_request(KEY, "not_specified").code == Code.LAC_HOSTID_MISSING


def test_vendor_token_lives_for_the_configured_ttl() -> None:
    state = make_state(OrderSpec(KEY), ttl=60)
    token = state.login("u", "p").token

    state.clock.advance(59)
    alive = state.check_token(token)
    state.clock.advance(1)

    assert alive == Code.LAC_SUCCESS
    assert state.check_token(token) == Code.LAC_WRONG_TOKEN


def test_bad_credentials_get_code_10_and_no_token() -> None:
    state = make_state(OrderSpec(KEY))

    result = state.login("u", "nope")

    assert (result.code, result.token) == (Code.LAC_INVALID_LOGIN_OR_PASSWORD, "")


def test_reset_returns_to_the_seeded_orders() -> None:
    state = make_state(OrderSpec(KEY))
    state.create_request(KEY, "HOSTNAME=a")
    state.put_order(OrderSpec("EEEEE-BBBBB-CCCCC-DDDDD"))

    state.reset()

    assert list(state.orders) == [KEY]
    assert state.orders[KEY].activated_count == 0
