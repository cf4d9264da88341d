"""The store's names and scripts: channels built and parsed in one place, Lua only in files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.store import scripts
from gateway.store.jobs import CLAIMED_FIELDS, JobState
from gateway.store.keys import Keys

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"
LUA = GATEWAY / "store" / "lua"
AID = "act_aarjjopecsae4rvcmoqjvluih7"
SCRIPTS = sorted(path.stem for path in LUA.glob("*.lua"))
TRIVIAL = re.compile(r"end|else|return \w+")  # lines any two scripts may share


def test_an_outcome_channel_parses_back_to_its_activation() -> None:
    keys = Keys("lacgw")
    assert keys.outcome_aid(keys.outcome(AID)) == AID
    assert keys.outcome_aid(keys.outcome(AID).encode()) == AID


@pytest.mark.parametrize(
    "channel",
    [
        "lacgw:{licenses}:changed",
        "other:{act_x}:outcome",
        "lacgw:{}:outcome",
        "lacgw:{act_x}:license",
    ],
)
def test_other_channel_names_are_no_outcome(channel: str) -> None:
    assert Keys("lacgw").outcome_aid(channel) is None


def test_the_outcome_pattern_matches_the_outcome_channels() -> None:
    keys = Keys("lacgw")
    glob = re.escape(keys.outcome_pattern).replace(r"\*", ".*")
    assert re.fullmatch(glob, keys.outcome(AID))
    assert not re.fullmatch(glob, keys.license(AID))


def test_no_python_module_of_the_gateway_carries_lua() -> None:
    offenders = [
        str(path.relative_to(GATEWAY))
        for path in GATEWAY.rglob("*.py")
        if "redis.call(" in path.read_text(encoding="utf-8")
        and not path.is_relative_to(GATEWAY / "sandbox")
    ]
    assert offenders == []


def test_every_script_loads_with_its_includes_expanded() -> None:
    for name in SCRIPTS:
        text = scripts.source(name)
        assert "@include" not in text, name
        declared = int(name.rsplit("-", 1)[1])
        used = {int(n) for n in re.findall(r"KEYS\[(\d+)\]", text)}
        assert used <= set(range(1, declared + 1)), name  # the file name counts its keys


def _statements(path: Path) -> list[str]:
    """The Lua statements of a file, key and argument numbers blanked (a copy renumbers them)."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [
        re.sub(r"(KEYS|ARGV)\[\d+\]", r"\1[]", line)
        for line in lines
        if line and not line.startswith("--") and not TRIVIAL.fullmatch(line)
    ]


def test_no_lua_is_copied_between_two_scripts() -> None:
    seen: dict[tuple[str, ...], str] = {}
    for path in sorted(LUA.rglob("*.lua")):
        code = _statements(path)
        for start in range(len(code) - 2):  # three statements in a row make a copied piece
            piece = tuple(code[start : start + 3])
            assert seen.setdefault(piece, path.name) == path.name, (piece, seen[piece], path.name)


def test_job_states_and_claimed_fields_are_not_spelled_in_the_scripts() -> None:
    for name in SCRIPTS:
        text = scripts.source(name)
        for state in JobState:
            assert f"'{state.value}'" not in text, (name, state)
    claim = scripts.source("claim_jobs-1")
    read_back = set(CLAIMED_FIELDS) - {"id", "attempts"}  # attempts is counted up by name
    assert not any(f"'{field}'" in claim for field in read_back)
