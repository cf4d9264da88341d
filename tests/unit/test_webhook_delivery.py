"""How a webhook attempt's answer is classified, and how Retry-After is read."""

from __future__ import annotations

import email.utils

import pytest

from gateway.webhooks.delivery import MAX_RETRY_AFTER, Outcome, classify, parse_retry_after

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.DELIVERED),
        (204, Outcome.DELIVERED),
        (299, Outcome.DELIVERED),
        (301, Outcome.RETRY),  # redirects are not followed: the attempt failed
        (308, Outcome.RETRY),
        (400, Outcome.REJECTED),
        (401, Outcome.REJECTED),
        (404, Outcome.REJECTED),
        (410, Outcome.REJECTED),
        (408, Outcome.RETRY),
        (409, Outcome.RETRY),
        (429, Outcome.RETRY),
        (499, Outcome.REJECTED),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
        (599, Outcome.RETRY),
    ],
)
def test_status_classes_retry_or_end(status: int, outcome: Outcome) -> None:
    assert classify(status, None).outcome is outcome


def test_retry_after_in_seconds_or_as_a_date_capped_at_a_day() -> None:
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after(" 7 ", NOW) == 7.0
    assert parse_retry_after(str(10**9), NOW) == MAX_RETRY_AFTER
    date = email.utils.formatdate(NOW + 90, usegmt=True)
    assert parse_retry_after(date, NOW) == pytest.approx(90.0)
    past = email.utils.formatdate(NOW - 90, usegmt=True)
    assert parse_retry_after(past, NOW) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5e3", "²", "Mon, 99 Foo 2026"])
def test_unusable_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_a_429_carries_its_retry_after() -> None:
    assert classify(429, "30").retry_after == 30.0
    assert classify(503, None).retry_after is None
