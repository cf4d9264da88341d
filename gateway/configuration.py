"""Loading the settings as an operator meets them: every name checked, every problem one line.

``load_settings`` reads what ``Settings`` reads (environment, secret files, the TOML file) and
turns every way it can go wrong into ``ConfigurationError``: one line per problem, naming the
variable, secret file or TOML key (and file) the operator wrote, never a value (a password or
Redis URL may be the value). An unknown ``LACGW_*`` variable, secret file or TOML key is a
problem too, with the nearest known name as a suggestion, instead of a silent default.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import SettingsError

from gateway.secretfiles import (
    SECRETS_VARIABLE,
    is_complex,
    is_model,
    read_secret,
    secret_files,
    settings_fields,
)
from gateway.settings import CONFIG_VARIABLE, SETTING_REFUSED, Settings

PREFIX = "LACGW_"
# Variables of this project that share the prefix but are read by other programs: the tests'
# Redis and redis-server binary, the example client's API key, the docs check's browser, and
# what deploy/compose.yaml and the container builds interpolate (a sourced deploy/.env has them).
OTHER_PROGRAMS = frozenset(
    {
        "LACGW_TEST_REDIS_URL",
        "LACGW_REDIS_SERVER",
        "LACGW_API_KEY",
        "LACGW_CHROMIUM",
        "LACGW_IMAGE",
        "LACGW_SANDBOX_IMAGE",
        "LACGW_PUBLISH_ADDRESS",
        "LACGW_HTTPS_PORT",
        "LACGW_TLS_NAMES",
        "LACGW_CONTAINER_CACHE",
        "LACGW_PODMAN_STORAGE_DRIVER",
        "LACGW_DEBIAN_MIRROR",
        "LACGW_DEBIAN_SUITE",
    }
)
NOT_SETTINGS = frozenset({CONFIG_VARIABLE, SECRETS_VARIABLE}) | OTHER_PROGRAMS
Path_ = tuple[str, ...]


class ConfigurationError(Exception):
    """The settings cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def env_name(path: Path_) -> str:
    """The environment variable of a settings path: ``("redis", "url")`` -> LACGW_REDIS__URL."""
    return PREFIX + "__".join(part.upper() for part in path)


KNOWN: dict[Path_, FieldInfo] = dict(settings_fields(Settings))


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _suggest_file(name: str, known: list[str]) -> str:
    """A "did you mean" for a secret file, spelled as the file is (prefix and case alike)."""
    upper = name.upper()
    prefixed = upper.startswith(PREFIX)
    close = difflib.get_close_matches(upper if prefixed else PREFIX + upper, known, n=1)
    if not close:
        return ""
    suggestion = close[0] if prefixed else close[0].removeprefix(PREFIX)
    return f"; did you mean {suggestion.lower() if name.islower() else suggestion}?"


def _env_path(name: str) -> Path_:
    return tuple(part.lower() for part in name[len(PREFIX) :].split("__"))


def _check_environment(environ: Mapping[str, str], problems: list[str]) -> dict[Path_, str]:
    """Where each setting given in the environment came from; unknown names are problems."""
    origin: dict[Path_, str] = {}
    known = [env_name(path) for path in KNOWN]
    for name in sorted(environ):
        if not name.startswith(PREFIX) or name in NOT_SETTINGS:
            continue
        path = _env_path(name)
        if path not in KNOWN:
            problems.append(f"{name} is not a setting{_suggest(name, known)}")
            continue
        origin[path] = name
        if is_complex(KNOWN[path]):
            _check_json(environ[name], name, problems)
    return origin


def _check_json(text: str, where: str, problems: list[str]) -> None:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        # The decoder's message names a position, never the text.
        at = f"line {exc.lineno} column {exc.colno}"
        problems.append(f"{where} is not valid JSON ({exc.msg} at {at})")


def _check_secret_files(problems: list[str]) -> dict[Path_, str]:
    origin: dict[Path_, str] = {}
    known = [env_name(path) for path in KNOWN]
    for path_, file in secret_files():
        if path_ not in KNOWN:
            problems.append(f"secret file {file} is not a setting{_suggest_file(file.name, known)}")
            continue
        origin[path_] = f"secret file {file}"
        if is_complex(KNOWN[path_]):
            _check_json(read_secret(file), f"secret file {file}", problems)
    return origin


def _toml_keys(table: Mapping[str, Any], path: Path_ = ()) -> Iterator[Path_]:
    for key, value in table.items():
        here = (*path, key)
        yield here
        field = KNOWN.get(here)
        if isinstance(value, dict) and field is not None and is_model(field.annotation):
            yield from _toml_keys(value, here)


def _check_toml(environ: Mapping[str, str], problems: list[str]) -> dict[Path_, str]:
    config = environ.get(CONFIG_VARIABLE)
    if not config:
        return {}
    try:
        table = tomllib.loads(Path(config).read_text(encoding="utf-8"))
    except OSError as exc:
        where = f"settings file {config} (--config or {CONFIG_VARIABLE})"
        problems.append(f"{where} cannot be read ({exc.strerror})")
        return {}
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{config} is not valid TOML: {exc}")
        return {}
    origin: dict[Path_, str] = {}
    known = [".".join(path) for path in KNOWN]
    for path in _toml_keys(table):
        dotted = ".".join(path)
        if path not in KNOWN:
            problems.append(f"{config}: key {dotted} is not a setting{_suggest(dotted, known)}")
        elif not is_model(KNOWN[path].annotation):
            # A table names its section, not each setting of it: its keys are listed apart.
            origin[path] = f"{config}: key {dotted}"
    return origin


def _where(loc: tuple[int | str, ...], origin: Mapping[Path_, str]) -> str:
    """The name the operator used for the setting at ``loc`` (list indexes kept after it)."""
    names = tuple(str(part) for part in loc)
    for cut in range(len(names), 0, -1):
        found = origin.get(names[:cut])
        if found is not None:
            rest = "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in names[cut:])
            return found + rest
    return env_name(tuple(part for part in names if not part.isdigit()))


def _validation_problems(exc: ValidationError, origin: Mapping[Path_, str]) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == SETTING_REFUSED:  # about one field of the section: name that one
            setting = str(error.get("ctx", {}).get("setting", ""))
            where = _where((*error["loc"], setting), origin)
            lines.append(f"{where} {message.removeprefix(setting).lstrip()}")
            continue
        lines.append(f"{_where(error['loc'], origin)}: {message}")
    return lines


Origins = tuple[dict[Path_, str], dict[Path_, str], dict[Path_, str]]
"""Where settings were given: environment, secret files, TOML file (the winner first)."""
SOURCE_KINDS = ("environment ", "", "TOML ")  # a secret file's origin says so itself


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """``Settings()`` from the process's sources; ConfigurationError with every problem found."""
    return load_with_origins(environ)[0]


def load_with_origins(environ: Mapping[str, str] | None = None) -> tuple[Settings, Origins]:
    """As ``load_settings``, with where each given setting came from (see ``origin_of``)."""
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    toml = _check_toml(environ, problems)
    secrets = _check_secret_files(problems)
    env = _check_environment(environ, problems)
    if problems:
        raise ConfigurationError(problems)
    try:
        return Settings(), (env, secrets, toml)
    except ValidationError as exc:
        raise ConfigurationError(_validation_problems(exc, toml | secrets | env)) from None
    except (SettingsError, ValueError) as exc:
        # Raised by a source itself (the TOML file vanished meanwhile, a value it cannot parse):
        # its message names the field and the source, never the value.
        raise ConfigurationError([str(exc)]) from None


def origin_of(path: Path_, origins: Origins) -> str:
    """Where the setting at ``path`` came from: the winning source naming it or its section."""
    for kind, source in zip(SOURCE_KINDS, origins, strict=True):
        for cut in range(len(path), 0, -1):
            found = source.get(path[:cut])
            if found is not None:
                return f"{kind}{found}"
    return "default"
