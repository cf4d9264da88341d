"""The Prefer header: wait=N clamped, respond-async meaning no wait, junk ignored."""

from __future__ import annotations

import pytest

from gateway.api.prefer import parse_prefer, wait_preference


def test_wait_is_taken_from_prefer_and_announced() -> None:
    pref = wait_preference(["wait=5"], default=10, maximum=60)
    assert pref.wait == 5
    assert pref.applied == "wait=5"


def test_wait_above_the_maximum_is_clamped() -> None:
    pref = wait_preference(["wait=600"], default=10, maximum=60)
    assert pref.wait == 60
    assert pref.applied == "wait=60"


def test_respond_async_means_no_wait_even_with_a_wait() -> None:
    pref = wait_preference(["wait=30, respond-async"], default=10, maximum=60)
    assert pref.wait == 0
    assert pref.applied == "respond-async"


def test_no_prefer_uses_the_default() -> None:
    pref = wait_preference([], default=10, maximum=60)
    assert pref.wait == 10
    assert pref.applied is None


@pytest.mark.parametrize("junk", ["wait=abc", "wait=-3", "wait=nan", "wait=inf", "wait="])
def test_unusable_wait_is_ignored_not_an_error(junk: str) -> None:
    pref = wait_preference([junk], default=7, maximum=60)
    assert pref.wait == 7
    assert pref.applied is None


def test_preferences_across_several_headers_first_occurrence_wins() -> None:
    prefs = parse_prefer(['handling=lenient; foo="bar"', "WAIT=4", "wait=9"])
    assert prefs == {"handling": "lenient", "wait": "4"}


def test_fractional_wait_is_kept() -> None:
    pref = wait_preference(["wait=2.5"], default=10, maximum=60)
    assert pref.wait == 2.5
    assert pref.applied == "wait=2.5"
