"""lacgw_lac_activations_left from GetActivationCounters: what counts as quota left."""

from __future__ import annotations

from datetime import date

from gateway.metrics import Metrics

TODAY = date(2026, 6, 15)


def left(metrics: Metrics, kind: str) -> float | None:
    """The gauge's value for one kind."""
    return metrics.registry.get_sample_value("lacgw_lac_activations_left", {"kind": kind})


def test_current_subscriptions_are_summed_and_one_time_counted() -> None:
    metrics = Metrics()
    metrics.observe_activation_counters(
        {
            "activation_subscriptions": [
                {"start_date": "2026-01-01", "expiration_date": "2027-01-01",
                 "activations_left_count": 40},
                {"start_date": "2026-06-01", "expiration_date": "2026-12-31",
                 "activations_left_count": "2"},
            ],
            "one_time_activations_left_count": 7,
            "one_time_activations_expiration_date": "2027-12-31",
        },
        today=TODAY,
    )  # fmt: skip
    assert left(metrics, "subscription") == 42
    assert left(metrics, "one_time") == 7


def test_expired_and_future_subscriptions_and_expired_one_time_count_nothing() -> None:
    metrics = Metrics()
    metrics.observe_activation_counters(
        {
            "activation_subscriptions": [
                {"start_date": "2025-01-01", "expiration_date": "2026-01-01",
                 "activations_left_count": 900},
                {"start_date": "2026-07-01", "expiration_date": "2027-07-01",
                 "activations_left_count": 800},
                {"start_date": "2026-01-01", "expiration_date": "2026-07-01",
                 "activations_left_count": 3},
            ],
            "one_time_activations_left_count": 50,
            "one_time_activations_expiration_date": "2026-06-14",
        },
        today=TODAY,
    )  # fmt: skip
    assert left(metrics, "subscription") == 3
    assert left(metrics, "one_time") == 0


def test_missing_or_malformed_counters_read_as_zero_not_an_error() -> None:
    metrics = Metrics()
    metrics.observe_activation_counters(
        {"activation_subscriptions": "nonsense", "one_time_activations_left_count": None},
        today=TODAY,
    )
    assert left(metrics, "subscription") == 0
    assert left(metrics, "one_time") == 0
    metrics.observe_activation_counters(
        {"activation_subscriptions": [7, {"activations_left_count": -5}]}, today=TODAY
    )
    assert left(metrics, "subscription") == 0


def test_counts_that_are_not_ascii_digits_count_nothing() -> None:
    # "²".isdigit() is True but int() refuses it; U+0661 would be read as 1.
    metrics = Metrics()
    metrics.observe_activation_counters(
        {
            "activation_subscriptions": [
                {"activations_left_count": "\u00b2"},
                {"activations_left_count": "\u0661"},
                {"activations_left_count": " 3 "},
            ],
            "one_time_activations_left_count": "1_000",
        },
        today=TODAY,
    )
    assert left(metrics, "subscription") == 3
    assert left(metrics, "one_time") == 0
