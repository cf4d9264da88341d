"""REST details that need no server: HostID path segments and REST error codes."""

from __future__ import annotations

import base64
from urllib.parse import unquote

from gateway.codes import Code, code_table, rest_answer
from gateway.lac.rest import hostid_segment, rest_code_map


def test_hostid_segment_matches_the_documented_examples() -> None:
    assert hostid_segment("CUSTOM=a") == "Q1VTVE9NPWE="
    assert hostid_segment("USERNAME=test") == "VVNFUk5BTUU9dGVzdA=="
    assert hostid_segment("type1=value1,type2=value=2") == "dHlwZTE9dmFsdWUxLHR5cGUyPXZhbHVlPTI="


def test_hostid_segment_percent_encodes_plus_and_slash() -> None:
    hostid = "CUSTOM=>>>?"
    raw = base64.b64encode(hostid.encode()).decode()
    assert raw == "Q1VTVE9NPT4+Pj8="
    segment = hostid_segment(hostid)
    assert "+" not in segment
    assert "/" not in segment
    assert unquote(segment) == raw


# Every end-user REST v2 error code LAC documents (lac-api.md sections 5 and 12a): the
# HTTP status it comes with, and the row of the code table it stands for.
DOCUMENTED_REST_CODES = {
    1600: (400, Code.WRONG_HOSTID_FORMAT),
    1703: (403, Code.LICENSE_ORDER_DISABLED),
    1709: (403, Code.LICENSE_GENERATOR_NOT_UPLOADED),
    1506: (403, Code.CANNOT_DEACTIVATE_LICENSE),
    1711: (404, Code.LICENSE_WAS_NOT_ACTIVATED),
    1712: (404, Code.ACTIVATION_KEY_INVALID),
}


def test_every_documented_rest_code_has_its_row_and_status() -> None:
    table = code_table()
    for rest_code, (status, lac_code) in DOCUMENTED_REST_CODES.items():
        row = table[lac_code]
        assert rest_code in row.rest_codes, (rest_code, row)
        assert row.rest_status == status, (rest_code, row)


def test_each_rest_code_stands_for_one_row_only() -> None:
    listed = [c for row in code_table().values() for c in row.rest_codes]
    assert len(listed) == len(set(listed))
    assert set(listed) == set(DOCUMENTED_REST_CODES)


def test_rest_code_map_reads_each_documented_code_as_its_row() -> None:
    assert rest_code_map() == {rest: lac for rest, (_, lac) in DOCUMENTED_REST_CODES.items()}


def test_rows_rest_does_not_tell_apart_answer_as_a_row_with_a_code() -> None:
    table = code_table()
    lumped = [row for row in table.values() if row.rest_as is not None]
    assert lumped
    for row in lumped:
        target = table[row.rest_as] if row.rest_as is not None else row
        assert not row.rest_codes, row
        assert target.rest_codes, (row, target)
        assert target.rest_status == row.rest_status, (row, target)
        assert rest_answer(row.code) == rest_answer(target.code)


def test_rest_answer_is_the_status_and_first_rest_code() -> None:
    assert rest_answer(Code.HOSTID_MISSING) == (400, 1600)
    assert rest_answer(Code.CANNOT_DEACTIVATE_LICENSE) == (403, 1506)
    assert rest_answer(Code.INVALID_ORDER_CONFIGURATION) == (403, None)
    assert rest_answer(Code.SOAP_COMM_ERROR) == (None, None)
