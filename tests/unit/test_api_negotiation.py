"""Accept negotiation and the download's file name, whatever the caller or LAC sends."""

from __future__ import annotations

import pytest

from gateway.api.negotiation import FALLBACK_FILENAME, attachment, choose

OFFERS = ("application/json", "text/plain", "application/octet-stream")


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "application/json"),
        ("", "application/json"),
        (",;,", "application/json"),
        ("TEXT/PLAIN", "text/plain"),
        ("text/plain; charset=utf-8", "text/plain"),
        ("*/*;q=0.9, application/octet-stream", "application/octet-stream"),
        ("text/*;q=0.3, text/plain;q=0", None),
        ("application/json;q=abc", None),
        ("application/json;q=2", None),
        ("image/*", None),
    ],
)
def test_choose(accept: str | None, chosen: str | None) -> None:
    assert choose(accept, OFFERS) == chosen


@pytest.mark.parametrize(
    ("filename", "header"),
    [
        ("license_2026_01_01-12_00.lic", 'attachment; filename="license_2026_01_01-12_00.lic"'),
        ("../../etc/passwd", 'attachment; filename="passwd"'),
        ("C:\\lic\\a.lic", 'attachment; filename="a.lic"'),
        ("", f'attachment; filename="{FALLBACK_FILENAME}"'),
        ("..", f'attachment; filename="{FALLBACK_FILENAME}"'),
        ("a\r\nSet-Cookie: x.lic", 'attachment; filename="aSet-Cookie: x.lic"'),
        ('a"b.lic', "attachment; filename=\"a_b.lic\"; filename*=UTF-8''a%22b.lic"),
        ("licé.lic", "attachment; filename=\"lic_.lic\"; filename*=UTF-8''lic%C3%A9.lic"),
    ],
)
def test_attachment_names_the_file_safely(filename: str, header: str) -> None:
    assert attachment(filename) == header
