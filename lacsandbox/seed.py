"""Sandbox seed data: orders, the vendor account and start-up faults, from TOML or JSON."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from pathlib import Path

from lacsandbox.faults import Fault, FaultError, fault_from_mapping
from lacsandbox.hostids import HOSTID_TYPES
from lacsandbox.licensetext import Feature
from lacsandbox.models import ActivationSubscription, OrderSpec, VendorAccount
from lacsandbox.state import DEFAULT_TOKEN_TTL

DEMO_SEED_NAME = "sandbox.toml"


class SeedError(ValueError):
    """Seed or control-API data that does not describe a valid order, account or fault."""


@dataclass(frozen=True, slots=True)
class Seed:
    """Everything the sandbox starts from."""

    orders: tuple[OrderSpec, ...]
    vendor: VendorAccount
    token_ttl: float = DEFAULT_TOKEN_TTL
    vendor_requires_https: bool = False
    faults: tuple[Fault, ...] = ()


def _str(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise SeedError(f"{name} must be a string")
    return value


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SeedError(f"{name} must be a non-negative integer")
    return value


MAX_SECONDS = 10 * 365 * 86400.0
"""Upper bound for durations, so that no setting can overflow a datetime."""


def _float(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SeedError(f"{name} must be a number")
    if not 0 <= value <= MAX_SECONDS:
        raise SeedError(f"{name} must be between 0 and {MAX_SECONDS:.0f} seconds")
    return float(value)


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise SeedError(f"{name} must be true or false")
    return value


def _date(value: object, name: str) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(_str(value, name))
    except ValueError as exc:
        raise SeedError(f"{name} must be a YYYY-MM-DD date") from exc


def _optional_str(value: object, name: str) -> str | None:
    return None if value is None else _str(value, name)


def _types(value: object, name: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise SeedError(f"{name} must be a list of HostID types")
    tokens = tuple(_str(v, name).upper() for v in value)
    unknown = [t for t in tokens if t not in HOSTID_TYPES]
    if unknown:
        raise SeedError(f"{name}: unknown HostID types {unknown}")
    return tokens


def _feature(raw: object) -> Feature:
    if not isinstance(raw, Mapping):
        raise SeedError("each feature must be a table")
    count = raw.get("count")
    return Feature(
        name=_str(raw.get("name"), "feature name"),
        version=_str(raw.get("version", "1.0"), "feature version"),
        vendor=_str(raw.get("vendor", "DEMOVENDOR"), "feature vendor"),
        end=_date(raw.get("end"), "feature end"),
        maintenance_end=_date(raw.get("maintenance_end"), "feature maintenance_end"),
        count=None if count is None else _int(count, "feature count"),
    )


def _features(value: object, name: str) -> tuple[Feature, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise SeedError(f"{name} must be a non-empty list of features")
    return tuple(map(_feature, value))


_ORDER_FIELDS: dict[str, Callable[[object, str], object]] = {
    "activation_key": _str,
    "product_name": _str,
    "product_version": _str,
    "product_template_id": _int,
    "customer_id": _int,
    "customer_name": _str,
    "license_type": _str,
    "description": _str,
    "enabled": _bool,
    "bulk_max": _int,
    "hostid_types": _types,
    "min_hostids": _int,
    "max_hostids": _int,
    "not_locked": _bool,
    "deactivations_allowed": _int,
    "removal": _bool,
    "generation_delay": _float,
    "generator_failure": _optional_str,
    "generator_uploaded": _bool,
    "features": _features,
}
assert set(_ORDER_FIELDS) == {f.name for f in fields(OrderSpec)}


def order_spec(raw: Mapping[str, object], base: OrderSpec | None = None) -> OrderSpec:
    """An order from its table; with ``base``, only the given fields change (control API)."""
    unknown = sorted(set(raw) - set(_ORDER_FIELDS))
    if unknown:
        raise SeedError(f"unknown order fields {unknown}")
    values = {name: _ORDER_FIELDS[name](value, name) for name, value in raw.items()}
    if base is not None:
        return replace(base, **values)  # type: ignore[arg-type]
    if "activation_key" not in values:
        raise SeedError("an order needs an activation_key")
    return OrderSpec(**values)  # type: ignore[arg-type]


def _subscription(raw: object) -> ActivationSubscription:
    if not isinstance(raw, Mapping):
        raise SeedError("each subscription must be a table")
    dates = {k: _date(raw.get(k), k) for k in ("start_date", "expiration_date", "next_reset_date")}
    if any(d is None for d in dates.values()):
        raise SeedError("a subscription needs start_date, expiration_date and next_reset_date")
    default = _int(raw.get("default_count", 0), "default_count")
    return ActivationSubscription(
        start_date=dates["start_date"] or date.min,
        expiration_date=dates["expiration_date"] or date.min,
        next_reset_date=dates["next_reset_date"] or date.min,
        activations_left_count=_int(raw.get("activations_left_count", default), "activations"),
        default_count=default,
    )


def vendor_account(raw: Mapping[str, object]) -> VendorAccount:
    """The vendor account from its table."""
    subs = raw.get("subscriptions", [])
    if not isinstance(subs, list):
        raise SeedError("vendor.subscriptions must be a list")
    return VendorAccount(
        username=_str(raw.get("username"), "vendor.username"),
        password=_str(raw.get("password"), "vendor.password"),
        subscriptions=[_subscription(s) for s in subs],
        one_time_activations_left_count=_int(
            raw.get("one_time_activations_left_count", 0), "one_time_activations_left_count"
        ),
        one_time_activations_expiration_date=_date(
            raw.get("one_time_activations_expiration_date"), "one_time_activations_expiration_date"
        ),
    )


def _table(raw: Mapping[str, object], name: str) -> Mapping[str, object]:
    value = raw.get(name, {})
    if not isinstance(value, Mapping):
        raise SeedError(f"[{name}] must be a table")
    return value


def seed_from_mapping(raw: Mapping[str, object]) -> Seed:
    """A seed from parsed TOML (or JSON of the same shape)."""
    settings = _table(raw, "sandbox")
    orders = raw.get("orders", [])
    faults = raw.get("faults", [])
    if not isinstance(orders, list) or not isinstance(faults, list):
        raise SeedError("orders and faults must be arrays of tables")
    try:
        parsed_faults = tuple(fault_from_mapping(f) for f in faults)
    except (FaultError, AttributeError) as exc:
        raise SeedError(f"bad fault: {exc}") from exc
    return Seed(
        orders=tuple(order_spec(o) if isinstance(o, Mapping) else order_spec({}) for o in orders),
        vendor=vendor_account(_table(raw, "vendor")),
        token_ttl=_float(settings.get("token_ttl", DEFAULT_TOKEN_TTL), "token_ttl"),
        vendor_requires_https=_bool(
            settings.get("vendor_requires_https", False), "vendor_requires_https"
        ),
        faults=parsed_faults,
    )


def load_seed(path: Path) -> Seed:
    """Read a TOML seed file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SeedError(f"{path}: {exc}") from exc
    return seed_from_mapping(raw)


def default_seed_path() -> Path | None:
    """``config/sandbox.toml`` of the source tree this package runs from, if there is one."""
    candidate = Path(__file__).resolve().parents[1] / "config" / DEMO_SEED_NAME
    return candidate if candidate.is_file() else None
