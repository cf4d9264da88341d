"""Reading LAC's Retry-After: seconds or an HTTP date, capped, nonsense ignored."""

from __future__ import annotations

from email.utils import formatdate

from gateway.lac.pause import MAX_PAUSE, retry_after_seconds

NOW = 1_800_000_000.0


def test_delta_seconds_are_read_as_they_are() -> None:
    assert retry_after_seconds("30", NOW) == 30.0


def test_an_http_date_is_read_relative_to_now() -> None:
    assert retry_after_seconds(formatdate(NOW + 90, usegmt=True), NOW) == 90.0


def test_a_very_long_pause_is_capped() -> None:
    assert retry_after_seconds("999999", NOW) == MAX_PAUSE


def test_missing_past_or_malformed_values_ask_for_no_pause() -> None:
    for value in (None, "", "0", "-5", "soon", formatdate(NOW - 10, usegmt=True)):
        assert retry_after_seconds(value, NOW) is None, value
