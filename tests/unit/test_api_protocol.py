"""Parser refusals: aiohttp's limits from ours, and which problem each refusal gets."""

from __future__ import annotations

from aiohttp.http_exceptions import BadHttpMessage, ContentEncodingError, LineTooLong

from gateway.api.protocol import parser_limits, refusal_of
from gateway.settings import LimitSettings


def test_parser_limits_follow_the_settings_and_keep_line_and_field_apart() -> None:
    limits = LimitSettings(max_path_chars=4096, max_header_bytes=4096)
    assert parser_limits(limits) == {
        "max_line_size": 4096,
        "max_field_size": 4097,
        "max_headers": 4096,
    }


def test_a_long_target_is_414_and_a_long_header_or_too_many_are_431() -> None:
    limits = LimitSettings(max_path_chars=2048, max_header_bytes=8192)
    assert refusal_of(LineTooLong(b"/aaa...", 2048), 400, limits).status == 414
    assert refusal_of(LineTooLong(b"X-Long...", 8192), 400, limits).status == 431
    assert refusal_of(BadHttpMessage("Too many headers received"), 400, limits).status == 431


def test_a_missing_decoder_is_415_and_a_body_that_does_not_decode_400() -> None:
    limits = LimitSettings()
    missing = ContentEncodingError("Can not decode content-encoding: br. Please install `Brotli`")
    assert refusal_of(missing, 400, limits).status == 415
    broken = ContentEncodingError("Can not decode content-encoding: deflate")
    assert refusal_of(broken, 400, limits).status == 400


def test_no_refusal_repeats_the_request_bytes() -> None:
    quoting = BadHttpMessage("Invalid header value char: b'Bearer secret'")
    err = refusal_of(quoting, 400, LimitSettings())
    assert err.status == 400
    assert "secret" not in str(err.detail) + err.title
