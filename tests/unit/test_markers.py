"""The pytest markers behind `make test-fast`: every end-to-end test carries ``e2e``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _collect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )


def test_every_test_in_tests_e2e_is_marked_e2e() -> None:
    marked = _collect("-m", "e2e", "tests/e2e")
    assert marked.returncode == 0, marked.stdout + marked.stderr
    assert "tests/e2e/" in marked.stdout
    unmarked = _collect("-m", "not e2e", "tests/e2e")
    # Exit code 5: nothing selected, so `make test-fast` runs none of them.
    assert unmarked.returncode == 5, unmarked.stdout


# Measured with `pytest --durations=40` (each over about 5 s of call time); `make test-fast`
# skips them. A test that grows that slow joins this list and gets the marker.
SLOW = [
    "tests/integration/test_security_fuzz.py::"
    "test_generated_requests_on_every_route_get_no_5xx_and_match_the_schema",
    "tests/integration/test_security_fuzz.py::"
    "test_generated_requests_with_bodies_that_do_not_decode_get_no_5xx",
    "tests/integration/test_security_secrets.py::"
    "test_debug_logs_of_malformed_requests_are_json_without_keys_or_hostids",
    "tests/integration/test_gateway_codes.py::"
    "test_every_code_on_create_reaches_the_caller_as_the_table_says",
    "tests/integration/test_gateway_codes.py::test_transient_code_on_create_is_retried_not_cached",
]


def test_the_tests_measured_over_five_seconds_are_marked_slow() -> None:
    files = sorted({node.split("::")[0] for node in SLOW})
    selected = _collect("-m", "slow", *files)
    assert selected.returncode == 0, selected.stdout + selected.stderr
    nodes = {line.split("[")[0] for line in selected.stdout.splitlines() if "::" in line}
    assert nodes == set(SLOW)
