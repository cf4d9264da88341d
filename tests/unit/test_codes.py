"""The LAC code table: complete, consistent, and the one place codes are classified."""

from __future__ import annotations

import json

from gateway.codes import CODES_FILE, CodeClass, code_table, lookup

DOCUMENTED = {0, 1, 10, 20, 30, 40, 41, 50, 60, *range(100, 112), *range(200, 206), 300, 400,
              401, 900, 901, 1000}  # fmt: skip


def test_table_has_every_documented_code_once() -> None:
    raw = json.loads(CODES_FILE.read_text())["codes"]
    numbers = [row["code"] for row in raw]
    assert len(numbers) == len(set(numbers))
    assert set(numbers) == DOCUMENTED


def test_statuses_follow_the_class() -> None:
    for row in code_table().values():
        if row.klass is CodeClass.CLIENT:
            assert 400 <= row.http < 500, row
        elif row.klass in (CodeClass.CONFIG, CodeClass.RETRY, CodeClass.RELOGIN):
            assert row.http in (502, 503, 504), row


def test_unknown_code_is_permanent_and_named() -> None:
    row = lookup(4242)
    assert row.name == "LAC_CODE_4242"
    assert not row.retryable
    assert lookup(901).retryable
