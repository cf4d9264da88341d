"""The production artefact carries the gateway only: no sandbox, local runners or demo."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path

from tests.deploy.deploy_support import ROOT

DEVELOPMENT_PACKAGE = "lacsandbox"


def _packages(folder: Path, prefix: str = "") -> Iterator[str]:
    """Dotted names of the packages below ``folder``, walked as setuptools' finder walks them."""
    for child in sorted(folder.iterdir()):
        if child.is_dir() and not child.is_symlink() and (child / "__init__.py").is_file():
            name = prefix + child.name
            yield name
            yield from _packages(child, name + ".")


def _wheel_packages() -> list[str]:
    """The packages the wheel gets: those the pyproject's ``packages.find`` patterns select."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    find = config["tool"]["setuptools"]["packages"]["find"]
    include, exclude = find.get("include", ["*"]), find.get("exclude", [])
    return [
        name
        for name in _packages(ROOT)
        if any(fnmatchcase(name, pat) for pat in include)
        and not any(fnmatchcase(name, pat) for pat in exclude)
    ]


def test_the_wheel_holds_the_gateway_package_and_nothing_of_the_sandbox() -> None:
    packages = _wheel_packages()
    assert "gateway" in packages
    assert "gateway.api" in packages
    assert all(name == "gateway" or name.startswith("gateway.") for name in packages), packages
    assert not [name for name in packages if "sandbox" in name], packages


def test_the_development_package_exists_beside_the_gateway() -> None:
    # The exclusion above must not be vacuous: the sandbox is in the checkout, just not shipped.
    assert (ROOT / DEVELOPMENT_PACKAGE / "__init__.py").is_file()
    assert (ROOT / DEVELOPMENT_PACKAGE / "app.py").is_file()
    assert not (ROOT / "gateway" / "sandbox").exists()
    for module in ("demo.py", "localredis.py", "localproc.py"):
        assert not (ROOT / "gateway" / module).exists(), module


def test_every_data_file_of_the_gateway_package_is_declared_package_data() -> None:
    # A file under gateway/ that no package-data pattern matches would be missing from the
    # wheel, and so from the image (the docs page's static files, the WSDLs, the code table).
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["gateway"]
    package = ROOT / "gateway"
    data = [
        path.relative_to(package).as_posix()
        for path in package.rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    ]
    assert "api/static/docs-init.js" in data
    missing = [name for name in data if not any(fnmatchcase(name, pat) for pat in patterns)]
    assert missing == []
