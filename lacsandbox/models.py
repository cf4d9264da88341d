"""The sandbox's records: license orders, licenses and the vendor account."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from lacsandbox.hostids import HostId
from lacsandbox.licensetext import Feature


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """How a license order is configured (seed file, control API, vendor portal)."""

    activation_key: str
    product_name: str = "Demo Product"
    product_version: str = "1.0"
    product_template_id: int = 1
    customer_id: int = 1
    customer_name: str = "Demo Customer"
    license_type: str = "local"
    description: str = ""
    enabled: bool = True
    bulk_max: int = 1
    """Activations allowed: how many HostID sets may hold a license at the same time."""
    hostid_types: tuple[str, ...] = ()
    """Allowed HostID type tokens; empty means every LM-X type."""
    min_hostids: int = 1
    max_hostids: int = 4
    not_locked: bool = False
    """Not HostID-locked: LAC lets such an order be activated once only."""
    deactivations_allowed: int = 0
    removal: bool = False
    generation_delay: float = 0.0
    """Seconds between the request and the license being ready (code 1 meanwhile)."""
    generator_failure: str | None = None
    """When set, generation fails with this generator output (code 400)."""
    generator_uploaded: bool = True
    features: tuple[Feature, ...] = (Feature("demo-feature"),)

    @property
    def consistent(self) -> bool:
        """False for settings LAC cannot issue a license for (code 60)."""
        if self.not_locked:
            return self.bulk_max == 1
        return 1 <= self.min_hostids <= self.max_hostids and self.bulk_max >= 1


class LicenseState(StrEnum):
    """Where one activation stands (the REST ``state`` filter values)."""

    IN_PROGRESS = "in_progress"
    SUCCESS = "success"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class GenerationError:
    """One failed generation: the generator's output and when it happened."""

    message: str
    creation_time: datetime


@dataclass(slots=True, eq=False)
class License:
    """One activation: an (activation key, HostID set) pair and its license file."""

    activation_key: str
    hostids: tuple[HostId, ...]
    hostid_string: str
    creation_time: datetime
    ready_time: datetime
    state: LicenseState = LicenseState.IN_PROGRESS
    activation_time: datetime | None = None
    content: str = ""
    filename: str = ""
    expiration_date: date | None = None
    maintenance_end_date: date | None = None
    errors: list[GenerationError] = field(default_factory=list)
    # Every HostID string a create sent for this pair, as sent: LAC keeps the pair by the set,
    # but picks "the first appropriate value" of the list, so tests check the order too.
    received: list[str] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Order:
    """A license order at run time: its spec plus what has happened to it."""

    spec: OrderSpec
    creation_time: datetime
    deactivations_left: int
    removal: bool
    removal_request_time: datetime | None = None
    removal_confirmation_time: datetime | None = None
    activations_total: int = 0
    licenses: dict[str, License] = field(default_factory=dict)

    @property
    def activation_key(self) -> str:
        """The order's activation key."""
        return self.spec.activation_key

    @property
    def activated_count(self) -> int:
        """Activations currently held (one per HostID set)."""
        return len(self.licenses)


@dataclass(slots=True)
class ActivationSubscription:
    """A monthly activation allowance of the vendor account."""

    start_date: date
    expiration_date: date
    next_reset_date: date
    activations_left_count: int
    default_count: int


@dataclass(slots=True)
class VendorAccount:
    """The vendor login and its activation balance."""

    username: str
    password: str
    subscriptions: list[ActivationSubscription] = field(default_factory=list)
    one_time_activations_left_count: int = 0
    one_time_activations_expiration_date: date | None = None

    def consume_activation(self) -> None:
        """Spend one activation: subscriptions first, then one-time activations."""
        for sub in self.subscriptions:
            if sub.activations_left_count > 0:
                sub.activations_left_count -= 1
                return
        # LAC's answer to an exhausted balance is undocumented; the sandbox keeps issuing.
        self.one_time_activations_left_count = max(0, self.one_time_activations_left_count - 1)
