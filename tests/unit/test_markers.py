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
