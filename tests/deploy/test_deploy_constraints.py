"""Reproducible installs: one pinned constraints file, used by the Makefile and the Dockerfile."""

from __future__ import annotations

import re
import tomllib

from tests.deploy.deploy_support import DEPLOY, ROOT

CONSTRAINTS = ROOT / "constraints.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")


def _canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"not an exact pin: {line!r}"
        pins[_canonical(match.group(1))] = match.group(2)
    return pins


def _declared() -> set[str]:
    """Every distribution pyproject.toml depends on, runtime and extras alike."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    return {_canonical(re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0]) for req in requirements}


def test_constraints_pin_every_declared_dependency_exactly() -> None:
    pins = _pins()
    assert "lac-gateway" not in pins  # generated with --exclude-editable
    missing = _declared() - set(pins)
    assert missing == set()


def test_pyproject_keeps_lower_bounds_not_pins() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not [req for req in project["dependencies"] if "==" in req]


def test_the_makefile_installs_with_the_constraints_and_reinstalls_when_they_change() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    stamp_rule = next(line for line in makefile.splitlines() if line.startswith("$(STAMP):"))
    assert "$(CONSTRAINTS)" in stamp_rule
    assert "CONSTRAINTS := constraints.txt" in makefile
    installs = [line for line in makefile.splitlines() if "pip install" in line and "-e " in line]
    assert installs
    assert all("-c $(CONSTRAINTS)" in line for line in installs if "$(LOCK_VENV)" not in line)
    assert re.search(r"^upgrade-deps:", makefile, re.MULTILINE)


def test_the_image_installs_the_gateway_with_the_constraints() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY pyproject.toml README.md constraints.txt ./" in dockerfile
    assert re.search(r"pip install [^\n]*-c constraints\.txt [^\n]*\.\s", dockerfile)
