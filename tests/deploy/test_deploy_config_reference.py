"""config/REFERENCE.md is generated from the settings model and kept up to date."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel

from gateway.settings import Settings
from tests.deploy.deploy_support import DEPLOY, ROOT

GENERATOR = DEPLOY / "tools" / "config_reference.py"
REFERENCE = ROOT / "config" / "REFERENCE.md"


def _generator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=60,
    )


def _variables(model: type[BaseModel] = Settings, prefix: str = "LACGW_") -> list[str]:
    names = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += _variables(annotation, f"{prefix}{name.upper()}__")
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


def _cells(row: str) -> list[str]:
    """The cells of one Markdown table row; ``\\|`` inside a cell is not a separator."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_committed_reference_matches_the_settings_model() -> None:
    result = _generator("--check")
    assert result.returncode == 0, result.stderr + " (run `make config-reference`)"


def test_reference_lists_every_setting_once_with_type_default_and_description() -> None:
    lines = REFERENCE.read_text(encoding="utf-8").splitlines()
    rows = {_cells(line)[0].strip("`"): line for line in lines if line.startswith("| `")}
    variables = _variables()
    assert len(variables) > 30
    for variable in variables:
        cells = _cells(rows[variable])
        assert len(cells) == 4
        assert all(cells), f"{variable} has an empty cell"


def test_reference_shows_real_defaults_and_bounds() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    assert "| `LACGW_HTTP__PORT` | int (≥ 0, ≤ 65535) | `8080` |" in text
    assert "| `LACGW_LAC__TRANSPORT` | `soap` \\| `rest` | `soap` |" in text
    assert "| `LACGW_LAC__PASSWORD` | secret string | empty |" in text


def test_check_fails_on_a_stale_reference(tmp_path: Path) -> None:
    stale = tmp_path / "REFERENCE.md"
    stale.write_text(REFERENCE.read_text(encoding="utf-8").replace("LACGW_HTTP__PORT", "X"))
    result = _generator("--check", "--output", str(stale))
    assert result.returncode == 1
    assert "out of date" in result.stderr
    assert _generator("--output", str(stale)).returncode == 0
    assert _generator("--check", "--output", str(stale)).returncode == 0
    assert stale.read_text(encoding="utf-8") == REFERENCE.read_text(encoding="utf-8")
