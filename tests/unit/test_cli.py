"""``python -m gateway sandbox | demo`` where only the gateway is installed (as in the image)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["demo", "sandbox"])
def test_a_development_command_without_lacsandbox_says_so_in_one_line(
    command: str, tmp_path: Path
) -> None:
    # A tree holding the gateway package alone; -S keeps site-packages (and any checkout on
    # sys.path through them) out, as in an install without the development package.
    shutil.copytree(ROOT / "gateway", tmp_path / "gateway", ignore=shutil.ignore_patterns("*.pyc"))
    result = subprocess.run(
        [sys.executable, "-S", "-m", "gateway", command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "lacsandbox" in lines[0]
    assert command in lines[0]
