"""Numbers from query strings and headers: ASCII digits only, bounded, never a surprise."""

from __future__ import annotations

import pytest

from gateway.api.numbers import MAX_DIGITS, parse_count, parse_seconds
from gateway.api.prefer import wait_preference

# Each of these is a number to Python's int() or float(), or passes str.isdigit(), but is not
# what a caller writing ASCII digits means.
NOT_ASCII_DIGITS = [
    "\u00b2",  # superscript two: "²".isdigit() is True, int("²") fails
    "\u0661",  # Arabic-Indic one: int() reads it as 1
    "\uff11",  # fullwidth one
    "+1",
    "-1",
    " 1",
    "1 ",
    "1_000",
    "1e3",
    "0x10",
    "",
    "inf",
    "nan",
    "1\n",
]


@pytest.mark.parametrize("raw", NOT_ASCII_DIGITS)
def test_count_refuses_anything_but_ascii_digits(raw: str) -> None:
    assert parse_count(raw) is None


@pytest.mark.parametrize("raw", [*NOT_ASCII_DIGITS, "1.", ".5", "1.5.0", "\u0661.5", "1.\u0665"])
def test_seconds_refuse_anything_but_ascii_digits_and_one_point(raw: str) -> None:
    assert parse_seconds(raw) is None


@pytest.mark.parametrize(("raw", "value"), [("0", 0), ("1", 1), ("007", 7), ("1000", 1000)])
def test_count_reads_ascii_digits(raw: str, value: int) -> None:
    assert parse_count(raw) == value


@pytest.mark.parametrize(("raw", "value"), [("0", 0.0), ("5", 5.0), ("2.5", 2.5), ("0.05", 0.05)])
def test_seconds_read_ascii_digits_with_an_optional_fraction(raw: str, value: float) -> None:
    assert parse_seconds(raw) == value


@pytest.mark.parametrize("raw", ["9" * (MAX_DIGITS + 1), "1" * 5000, "9" * 400 + ".5"])
def test_huge_numbers_are_refused_without_converting_them(raw: str) -> None:
    # int() of 5000 digits raises (Python's digit limit) and float() of 400 digits is inf.
    assert parse_count(raw) is None
    assert parse_seconds(raw) is None


def test_the_longest_accepted_number_is_read() -> None:
    assert parse_count("9" * MAX_DIGITS) == int("9" * MAX_DIGITS)


@pytest.mark.parametrize("raw", ["\u00b2", "\u0661", "+1", "1_000", "9" * 400])
def test_prefer_wait_that_is_not_ascii_digits_is_ignored(raw: str) -> None:
    # Whitespace around "=" is RFC 7240's BWS, so " 1" is a valid wait there and not listed.
    pref = wait_preference([f"wait={raw}"], default=7, maximum=60)
    assert pref.wait == 7
    assert pref.applied is None
