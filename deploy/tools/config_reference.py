"""Generate config/REFERENCE.md from the settings model: every LACGW_ variable, type, default.

``make config-reference`` rewrites the file; ``--check`` exits 1 when it is out of date, and
tests/deploy/test_deploy_config_reference.py fails the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "config" / "REFERENCE.md"
PREFIX = "LACGW_"

# Descriptions for fields whose declaration carries none. Keyed by dotted path; a new field with
# neither a ``description=`` nor an entry here makes generation fail, so nothing goes undocumented.
DESCRIPTIONS: dict[str, str] = {
    "http.host": "address the gateway listens on",
    "http.port": "TCP port the gateway listens on",
    "http.shutdown_timeout": "seconds in-flight requests get to finish after SIGTERM",
    "redis.url": "Redis URL shared by every replica (`redis://`, `rediss://`, `unix://`)",
    "redis.socket_timeout": "seconds one Redis command may take",
    "redis.connect_timeout": "seconds to open a Redis connection",
    "redis.key_prefix": "prefix of every key, so several gateways can share one Redis",
    "lac.transport": "`soap` (end-user SOAP v2) or `rest` (end-user REST v2)",
    "lac.soap_url": "LAC end-user SOAP endpoint",
    "lac.vendor_soap_url": "LAC vendor SOAP endpoint (token, counters, order lookups)",
    "lac.rest_url": "LAC end-user REST base URL",
    "lac.username": "LAC vendor account user",
    "lac.password": "LAC vendor account password (secret: environment or secret file only)",
    "lac.connect_timeout": "seconds to connect to LAC",
    "lac.read_timeout": "seconds to wait for LAC's answer once connected",
    "lac.total_timeout": "seconds one LAC call may take in all",
    "lac.max_concurrency": "LAC calls in flight at once, per process",
    "lac.verify_tls": "verify LAC's TLS certificate",
    "lac.ca_bundle": "PEM file of CAs to trust for LAC instead of the system ones",
    "lac.token_refresh_margin": "seconds before expiry a vendor token is renewed",
    "jobs.first_poll": "seconds before the first poll of a pending generation",
    "jobs.backoff_factor": "growth of the poll interval after each pending answer",
    "jobs.max_interval": "longest seconds between two polls",
    "jobs.deadline": "seconds before a pending generation is given up",
    "jobs.lease": "seconds a poller holds a claimed job before another may take it",
    "cache.license_ttl": "seconds a license stays cached",
    "cache.negative_ttl": "seconds a definitive LAC refusal stays cached",
    "cache.order_ttl": "seconds an order lookup stays cached",
    "cache.idempotency_ttl": "seconds an Idempotency-Key is remembered",
    "auth.api_keys": "JSON list of callers: "
    '`[{"name": "fleet-eu", "sha256": "<hex>", "scopes": ["activate", "read"]}]`; scopes '
    "`activate`, `read`, `deactivate`, `deactivate_any`, `admin` (default without `scopes`: "
    '`activate`, `read`; `"admin": true` means every scope)',
    "log.level": "log level",
    "log.format": "`json` lines, `console`, or `auto` (JSON unless on a terminal)",
    "log.access_log": "one log line per request",
}


@dataclass(frozen=True)
class Row:
    """One variable of the reference."""

    variable: str
    type: str
    default: str
    description: str


def type_name(annotation: object) -> str:  # noqa: PLR0911 - one answer per kind of type
    """A short, readable name of a field's type."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{arg}`" for arg in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(arg) for arg in args)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is list:
        return f"list of {type_name(args[0])}"
    if annotation is type(None):
        return "none"
    if annotation is SecretStr:
        return "secret string"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "object"
        if issubclass(annotation, Path):
            return "path"
        return annotation.__name__
    return str(annotation)


def constraints(info: FieldInfo) -> str:
    """The bounds and pattern a value must satisfy."""
    parts = []
    for item in info.metadata:
        for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            value = getattr(item, attr, None)
            if isinstance(item, getattr(annotated_types, attr.capitalize())) and value is not None:
                parts.append(f"{sign} {value:g}" if isinstance(value, float) else f"{sign} {value}")
        pattern = getattr(item, "pattern", None)
        if isinstance(pattern, str):
            parts.append(f"matches `{pattern}`")
    return ", ".join(parts)


def default_text(info: FieldInfo) -> str:
    """The default as a user would write it in the environment."""
    if info.default_factory is not None:
        factory = typing.cast("typing.Callable[[], object]", info.default_factory)
        value: object = factory()
    elif info.default is PydanticUndefined:
        return "required"
    else:
        value = info.default
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, list):
        return f"`{json.dumps(value)}`"
    if value == "":
        return "empty"
    return f"`{value}`"


def rows(model: type[BaseModel] = Settings, path: str = "") -> Iterator[Row]:
    """Every leaf setting of ``model``, depth first, in declaration order."""
    for name, info in model.model_fields.items():
        dotted = f"{path}.{name}" if path else name
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from rows(annotation, dotted)
            continue
        description = info.description or DESCRIPTIONS.get(dotted)
        if not description:
            msg = f"setting {dotted} has no description: add one in gateway/settings.py"
            raise ValueError(msg)
        bounds = constraints(info)
        yield Row(
            variable=PREFIX + dotted.replace(".", "__").upper(),
            type=type_name(annotation) + (f" ({bounds})" if bounds else ""),
            default=default_text(info),
            description=description,
        )


def render() -> str:
    """The whole reference document."""
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated from gateway/settings.py by `make config-reference`; do not edit. -->",
        "",
        "Every setting is an environment variable (prefix `LACGW_`, sections joined with `__`).",
        "The same keys can live in a TOML file named by `LACGW_CONFIG` (section `[lac]`, key",
        "`password`, and so on; see `config/gateway.example.toml`) or, one file per variable, in",
        "the folder named by `LACGW_SECRETS_DIR`. The environment wins over secret files, which",
        "win over the TOML file. Durations are in seconds.",
        "",
        "| Variable | Type | Default | Description |",
        "|---|---|---|---|",
    ]
    for row in rows():
        cells = (f"`{row.variable}`", row.type, row.default, row.description)
        lines.append("| " + " | ".join(cell.replace("\n", " ") for cell in cells) + " |")
    lines += [
        "",
        "Two more variables are read before the settings themselves:",
        "",
        "| Variable | Meaning |",
        "|---|---|",
        "| `LACGW_CONFIG` | path of a TOML configuration file (optional) |",
        "| `LACGW_SECRETS_DIR` | folder of secret files, one per variable (optional) |",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    """Write the reference, or with ``--check`` only compare it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--output", type=Path, default=REFERENCE, help="file to write or check")
    args = parser.parse_args()
    output: Path = args.output
    text = render()
    if args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current != text:
            print(f"{output} is out of date: run `make config-reference`", file=sys.stderr)
            return 1
        print(f"{output} is up to date")
        return 0
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
