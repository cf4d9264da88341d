"""``lac-gateway check-config``: validate the settings, print them masked with their sources."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr

from gateway import configuration
from gateway.secretfiles import is_model
from gateway.serve import refuse, verify
from gateway.settings import CONFIG_VARIABLE, ApiKey, Settings

MASK = "********"  # one width for every secret: the output tells neither value nor length
VALUE_COLUMN = 40


def run_check_config(config: str | None) -> int:
    """Print the effective configuration and exit 0, or the problems as ``serve`` and exit 2."""
    if config is not None:
        os.environ[CONFIG_VARIABLE] = config
    try:
        settings, origins = configuration.load_with_origins()
    except configuration.ConfigurationError as exc:
        refuse(exc.problems)
    verify(settings)
    print(render(settings, origins))
    return 0


def render(settings: Settings, origins: configuration.Origins) -> str:
    """One line per setting: dotted name, value (secrets masked), where the value came from."""
    rows = [
        (".".join(path), show(value), configuration.origin_of(path, origins))
        for path, value in leaves(settings)
    ]
    name_width = max(len(name) for name, _, _ in rows)
    value_width = min(VALUE_COLUMN, max(len(value) for _, value, _ in rows))
    lines = [
        "lac-gateway: effective configuration (source: default, environment, secret file or TOML)",
        *(f"{n:<{name_width}} {v:<{value_width}}  {o}" for n, v, o in rows),
        "lac-gateway: configuration is valid",
    ]
    return "\n".join(lines)


SettingValue = tuple[tuple[str, ...], object]


def leaves(model: BaseModel, path: tuple[str, ...] = ()) -> Iterator[SettingValue]:
    """Every setting holding a value, by path, in the order ``Settings`` declares them."""
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if is_model(field.annotation) and isinstance(value, BaseModel):
            yield from leaves(value, (*path, name))
        else:
            yield (*path, name), value


def show(value: object) -> str:
    """A value as the operator would write it; secrets masked, API keys counted."""
    if isinstance(value, SecretStr):
        return _masked(value.get_secret_value())
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        if value and all(isinstance(item, ApiKey) for item in value):
            return f"{len(value)} key(s)"  # names and digests stay out of the output
        # Networks (the trusted proxies) are written as their CIDR text.
        return json.dumps(value, default=str)
    text = str(value)
    return text if text else '""'


def _masked(secret: str) -> str:
    if not secret:
        return '""'
    parts = urlsplit(secret) if "://" in secret else None
    if parts is None or not parts.hostname:
        return MASK
    # A URL shows where it points; its password and query (which may hold one) are masked.
    user = f"{parts.username}:" if parts.username else ":"
    userinfo = f"{user}{MASK}@" if parts.password is not None else ""
    port = f":{parts.port}" if parts.port is not None else ""
    query = f"?{MASK}" if parts.query else ""
    return f"{parts.scheme}://{userinfo}{parts.hostname}{port}{parts.path}{query}"
