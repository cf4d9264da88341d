"""REST details that need no server: HostID path segments and REST error codes."""

from __future__ import annotations

import base64
from urllib.parse import unquote

from gateway.codes import code_table
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


def test_every_rest_code_in_the_table_maps_back_to_a_row_with_that_code() -> None:
    mapping = rest_code_map()
    table = code_table()
    with_codes = {(r.rest_status, r.rest_code) for r in table.values() if r.rest_code is not None}
    assert set(mapping) == with_codes
    for (status, rest_code), lac_code in mapping.items():
        row = table[lac_code]
        assert (row.rest_status, row.rest_code) == (status, rest_code)


def test_documented_rest_codes_map_to_their_lac_codes() -> None:
    mapping = rest_code_map()
    assert mapping[(400, 1712)] == 101
    assert mapping[(403, 1703)] == 202
    assert mapping[(403, 1709)] == 401
    assert mapping[(400, 1600)] in (20, 100, 106, 107)
