"""The one LAC state machine behind every sandbox transport (SOAP, REST, control API).

Every operation is synchronous and answers a ``Result`` carrying a LAC return code
(``codetable.Code``); transports only translate it to their wire format. Generation is
resolved lazily against the injectable ``Clock``: a license is ``in_progress`` until
``ready_time`` and settles (success or failure) the first time it is looked at afterwards,
so no background task runs and tests advance the clock instead of sleeping.

Typical use::

    state = LacState([OrderSpec("AAAAA-BBBBB-CCCCC-DDDDD")], VendorAccount("u", "p"))
    state.create_request("AAAAA-BBBBB-CCCCC-DDDDD", "HOSTNAME=build01").code   # 0
    state.get_license("AAAAA-BBBBB-CCCCC-DDDDD", "HOSTNAME=build01").message   # license text
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from lacsandbox.clock import Clock
from lacsandbox.codetable import Code, message
from lacsandbox.hostids import (
    NOT_SPECIFIED,
    HostId,
    HostIdError,
    canonical,
    parse_hostids,
    select_hostids,
)
from lacsandbox.licensetext import filename_for, render_license
from lacsandbox.models import (
    GenerationError,
    License,
    LicenseState,
    Order,
    OrderSpec,
    VendorAccount,
)

PAGE_SIZE = 100
"""Vendor list and find calls answer in pages of this many records."""
DEFAULT_TOKEN_TTL = 3 * 3600.0
_KEY_FORMAT = re.compile(r"[A-Z0-9]{5}(?:-[A-Z0-9]{5}){3}")


@dataclass(frozen=True, slots=True)
class Result:
    """The answer to one operation: a LAC code, ``result_string`` text and any payload."""

    code: int
    message: str = ""
    license: License | None = None
    order: Order | None = None
    licenses: tuple[License, ...] = ()
    orders: tuple[Order, ...] = ()
    token: str = ""
    account: VendorAccount | None = None

    @property
    def ok(self) -> bool:
        """True for ``LAC_SUCCESS``."""
        return self.code == Code.LAC_SUCCESS


def fail(code: int, detail: str = "") -> Result:
    """A failed result whose text comes from the code table unless ``detail`` is given."""
    return Result(code, detail or message(code))


def normalise_key(activation_key: str | None) -> str | None:
    """The activation key in LAC's format (upper case), or None when it cannot be one."""
    key = (activation_key or "").strip().upper()
    return key if _KEY_FORMAT.fullmatch(key) else None


class LacState:
    """Orders, licenses and vendor tokens, with LAC's rules and return codes."""

    def __init__(
        self,
        orders: Iterable[OrderSpec],
        vendor: VendorAccount,
        *,
        clock: Clock | None = None,
        token_ttl: float = DEFAULT_TOKEN_TTL,
    ) -> None:
        self.clock = clock or Clock()
        self.token_ttl = token_ttl
        self._seed_orders = tuple(orders)
        self._seed_vendor = copy.deepcopy(vendor)
        self.orders: dict[str, Order] = {}
        self.vendor = copy.deepcopy(vendor)
        self._tokens: dict[str, float] = {}
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seeded orders: no licenses, no tokens, fresh vendor balance."""
        self.orders = {}
        self.vendor = copy.deepcopy(self._seed_vendor)
        self._tokens = {}
        for spec in self._seed_orders:
            self.put_order(spec)

    def put_order(self, spec: OrderSpec) -> Order:
        """Create an order, or replace the spec of an existing one keeping its licenses."""
        key = normalise_key(spec.activation_key)
        if key is None:
            raise ValueError(
                f"activation key {spec.activation_key!r} is not AAAAA-BBBBB-CCCCC-DDDDD"
            )
        spec = replace(spec, activation_key=key)
        order = self.orders.get(key)
        now = self.clock.now()
        if order is None:
            order = Order(
                spec=spec,
                creation_time=now,
                deactivations_left=spec.deactivations_allowed,
                removal=spec.removal,
                removal_request_time=now if spec.removal else None,
            )
            self.orders[key] = order
            return order
        if spec.deactivations_allowed != order.spec.deactivations_allowed:
            order.deactivations_left = spec.deactivations_allowed
        if spec.removal != order.spec.removal:
            self.set_removal(order, spec.removal)
        order.spec = spec
        return order

    def set_removal(self, order: Order, requested: bool) -> None:
        """Raise or clear the order's "remove from host" flag, stamping the request time."""
        order.removal = requested
        if requested:
            order.removal_request_time = self.clock.now()

    # -- lookups shared by the operations ---------------------------------------------------

    def _order(self, activation_key: str | None) -> Order | Result:
        key = normalise_key(activation_key)
        order = self.orders.get(key) if key else None
        if order is None:
            return fail(Code.LAC_ACTIVATION_KEY_INVALID)
        if not order.spec.enabled:
            return fail(Code.LAC_LICENSE_ORDER_DISABLED)
        return order

    @staticmethod
    def _hostids(order: Order, hostid: str | None) -> tuple[HostId, ...] | Result:
        spec = order.spec
        text = (hostid or "").strip()
        try:
            if spec.not_locked:
                if not text or text.lower() == NOT_SPECIFIED:
                    return ()
                return tuple(sorted(parse_hostids(text)))
            if text.lower() == NOT_SPECIFIED:
                return fail(Code.LAC_HOSTID_MISSING)
            parsed = parse_hostids(text)
            return select_hostids(parsed, spec.hostid_types, spec.min_hostids, spec.max_hostids)
        except HostIdError as exc:
            return fail(exc.code)

    def _existing(self, activation_key: str | None, hostid: str | None) -> License | Result:
        """The settled license of a pair, or the failure (101, 202, HostID codes, 300)."""
        order = self._order(activation_key)
        if isinstance(order, Result):
            return order
        hostids = self._hostids(order, hostid)
        if isinstance(hostids, Result):
            return hostids
        lic = order.licenses.get(canonical(hostids) or NOT_SPECIFIED)
        if lic is None:
            return fail(Code.LAC_LICENSE_GENERATION_WAS_NOT_REQUESTED)
        self._settle(order, lic)
        return lic

    def _settle(self, order: Order, lic: License) -> None:
        if lic.state is not LicenseState.IN_PROGRESS:
            return
        if self.clock.timestamp() < lic.ready_time.timestamp():
            return
        spec = order.spec
        if spec.generator_failure is not None:
            lic.state = LicenseState.FAILED
            lic.errors.append(GenerationError(spec.generator_failure, lic.ready_time))
            return
        lic.state = LicenseState.SUCCESS
        lic.activation_time = lic.ready_time
        lic.content = render_license(
            order.activation_key, lic.ready_time, spec.features, lic.hostids, spec.customer_name
        )
        lic.filename = filename_for(lic.ready_time)
        lic.expiration_date = _earliest(f.end for f in spec.features)
        lic.maintenance_end_date = _earliest(f.maintenance_end for f in spec.features)

    def settle_order(self, order: Order) -> None:
        """Bring every license of ``order`` up to date with the clock."""
        for lic in order.licenses.values():
            self._settle(order, lic)

    # -- end-user operations ---------------------------------------------------------------

    def create_request(self, activation_key: str | None, hostid: str | None) -> Result:
        """``CreateLicenseRequest`` / REST ``PUT``: queue generation for the pair (code 0).

        Re-requesting a pair that holds a license returns it again without a new activation;
        a pair whose generation failed is queued again on the same activation.
        """
        order = self._order(activation_key)
        if isinstance(order, Result):
            return order
        if not order.spec.generator_uploaded:
            return fail(Code.LAC_LICENSE_GENERATOR_NOT_UPLOADED)
        hostids = self._hostids(order, hostid)
        if isinstance(hostids, Result):
            return hostids
        key = canonical(hostids) or NOT_SPECIFIED
        lic = order.licenses.get(key)
        if lic is not None:
            self._settle(order, lic)
            if lic.state is LicenseState.FAILED:
                self._requeue(order, lic)
            lic.received.append(hostid or "")
            return Result(Code.LAC_SUCCESS, license=lic)
        refusal = self._capacity_refusal(order)
        if refusal is not None:
            return refusal
        lic = self._new_license(order, hostids, key)
        lic.received.append(hostid or "")
        return Result(Code.LAC_SUCCESS, license=lic)

    @staticmethod
    def _capacity_refusal(order: Order) -> Result | None:
        spec = order.spec
        if not spec.consistent:
            return fail(Code.LAC_INVALID_ORDER_CONFIGURATION)
        if spec.not_locked and order.licenses:
            return fail(Code.LAC_LICENSE_ALREADY_ACTIVATED)
        if order.activated_count < spec.bulk_max:
            return None
        if spec.bulk_max > 1:
            return fail(Code.LAC_BULK_LICENSE_COUNT_EXCEEDED)
        return fail(Code.LAC_LICENSE_ACTIVATION_COUNT_EXCEEDED)

    def _new_license(self, order: Order, hostids: tuple[HostId, ...], key: str) -> License:
        now = self.clock.now()
        lic = License(
            activation_key=order.activation_key,
            hostids=hostids,
            hostid_string=key,
            creation_time=now,
            ready_time=now + timedelta(seconds=order.spec.generation_delay),
        )
        order.licenses[key] = lic
        order.activations_total += 1
        self.vendor.consume_activation()
        return lic

    def _requeue(self, order: Order, lic: License) -> None:
        now = self.clock.now()
        lic.state = LicenseState.IN_PROGRESS
        lic.creation_time = now
        lic.ready_time = now + timedelta(seconds=order.spec.generation_delay)

    def get_license(self, activation_key: str | None, hostid: str | None) -> Result:
        """``GetLicense``: 0 + license text, 1 while generating, 300 never requested, 400 failed."""
        lic = self._existing(activation_key, hostid)
        if isinstance(lic, Result):
            return lic
        if lic.state is LicenseState.IN_PROGRESS:
            return Result(Code.LAC_PLEASE_WAIT, message(Code.LAC_PLEASE_WAIT), license=lic)
        if lic.state is LicenseState.FAILED:
            return Result(Code.LAC_LICENSE_GENERATOR_FAILED, lic.errors[-1].message, license=lic)
        return Result(Code.LAC_SUCCESS, lic.content, license=lic)

    def deactivate(self, activation_key: str | None, hostid: str | None) -> Result:
        """``DeactivateLicense`` / REST ``DELETE``: free the activation (205, 111 when refused)."""
        lic = self._existing(activation_key, hostid)
        if isinstance(lic, Result):
            if lic.code == Code.LAC_LICENSE_GENERATION_WAS_NOT_REQUESTED:
                return fail(Code.LAC_LICENSE_WAS_NOT_ACTIVATED)
            return lic
        if lic.state is not LicenseState.SUCCESS:
            return fail(Code.LAC_LICENSE_WAS_NOT_ACTIVATED)
        order = self.orders[lic.activation_key]
        if order.deactivations_left <= 0:
            return fail(Code.LAC_CANNOT_DEACTIVATE_LICENSE)
        order.deactivations_left -= 1
        del order.licenses[lic.hostid_string]
        return Result(Code.LAC_SUCCESS, license=lic)

    def removal_requested(self, activation_key: str | None, hostid: str | None) -> Result:
        """``LicenseRemovalRequested``: 0 ``SUCCESS`` when removal was asked, else 204 or 300."""
        lic = self._existing(activation_key, hostid)
        if isinstance(lic, Result):
            if lic.code == Code.LAC_LICENSE_GENERATION_WAS_NOT_REQUESTED:
                # LAC words this answer as a status, not as the table's sentence.
                return Result(lic.code, "LICENSE_GENERATION_WAS_NOT_REQUESTED")
            return lic
        if not self.orders[lic.activation_key].removal:
            return Result(Code.LAC_LICENSE_REMOVAL_NOT_REQUESTED, "LICENSE_REMOVAL_NOT_REQUESTED")
        return Result(Code.LAC_SUCCESS, "SUCCESS", license=lic)

    def removal_confirm(self, activation_key: str | None, hostid: str | None) -> Result:
        """``LicenseRemovalConfirm``: clear the removal flag and stamp the confirmation time."""
        lic = self._existing(activation_key, hostid)
        if isinstance(lic, Result):
            return lic
        order = self.orders[lic.activation_key]
        if not order.removal:
            return fail(Code.LAC_LICENSE_REMOVAL_NOT_REQUESTED)
        order.removal = False
        order.removal_confirmation_time = self.clock.now()
        return Result(Code.LAC_SUCCESS, license=lic)

    def order_info(self, activation_key: str | None) -> Result:
        """The order behind a key, licenses settled (101 unknown, 202 disabled)."""
        order = self._order(activation_key)
        if isinstance(order, Result):
            return order
        self.settle_order(order)
        return Result(Code.LAC_SUCCESS, order=order)

    def licenses_by_state(
        self, activation_key: str | None, states: Iterable[LicenseState] = tuple(LicenseState)
    ) -> Result:
        """The order's licenses whose state is one of ``states`` (REST ``?state=``)."""
        found = self.order_info(activation_key)
        if found.order is None:
            return found
        wanted = frozenset(states)
        licenses = tuple(lic for lic in found.order.licenses.values() if lic.state in wanted)
        return Result(Code.LAC_SUCCESS, order=found.order, licenses=licenses)

    def inspect_license(self, activation_key: str, hostid: str) -> License | None:
        """The license of a pair as it stands now, ignoring the enabled flag (control API)."""
        order = self.orders.get(normalise_key(activation_key) or "")
        if order is None:
            return None
        hostids = self._hostids(order, hostid)
        if isinstance(hostids, Result):
            return None
        lic = order.licenses.get(canonical(hostids) or NOT_SPECIFIED)
        if lic is not None:
            self._settle(order, lic)
        return lic

    def revoke_license(self, activation_key: str, hostid: str) -> License | None:
        """The vendor revoked a pair's license at LAC: it is gone (control API); None if none."""
        lic = self.inspect_license(activation_key, hostid)
        if lic is not None:
            del self.orders[lic.activation_key].licenses[lic.hostid_string]
        return lic

    # -- vendor operations -----------------------------------------------------------------

    def login(self, username: str | None, password: str | None) -> Result:
        """``Login`` / REST ``POST /auth/tokens``: a 40-hex token valid ``token_ttl`` seconds."""
        account = self.vendor
        good_user = secrets.compare_digest((username or "").encode(), account.username.encode())
        good_pass = secrets.compare_digest((password or "").encode(), account.password.encode())
        if not (good_user and good_pass):
            return fail(Code.LAC_INVALID_LOGIN_OR_PASSWORD)
        token = secrets.token_hex(20)
        self._tokens[token] = self.clock.timestamp() + self.token_ttl
        return Result(Code.LAC_SUCCESS, token=token)

    def check_token(self, token: str | None) -> Code:
        """``LAC_SUCCESS`` for a live token, ``LAC_WRONG_TOKEN`` for a wrong or expired one."""
        expires = self._tokens.get(token or "")
        if expires is None:
            return Code.LAC_WRONG_TOKEN
        if self.clock.timestamp() >= expires:
            del self._tokens[token or ""]
            return Code.LAC_WRONG_TOKEN
        return Code.LAC_SUCCESS

    def expire_tokens(self) -> int:
        """Invalidate every vendor token now; returns how many there were."""
        count = len(self._tokens)
        self._tokens.clear()
        return count

    def logout(self, token: str | None) -> Result:
        """``Logout``: the token stops working."""
        if self.check_token(token) != Code.LAC_SUCCESS:
            return fail(Code.LAC_WRONG_TOKEN)
        del self._tokens[token or ""]
        return Result(Code.LAC_SUCCESS)

    def activation_counters(self, token: str | None) -> Result:
        """``GetActivationCounters``: the vendor's activation balance."""
        if self.check_token(token) != Code.LAC_SUCCESS:
            return fail(Code.LAC_WRONG_TOKEN)
        return Result(Code.LAC_SUCCESS, account=self.vendor)

    def find_orders(
        self,
        token: str | None,
        fragment: str | None,
        offset: str | int | None,
        *,
        disabled_only: bool = False,
    ) -> Result:
        """``FindLicenseOrderByActivationKey``: partial, case-insensitive, pages of 100."""
        if self.check_token(token) != Code.LAC_SUCCESS:
            return fail(Code.LAC_WRONG_TOKEN)
        start = _offset(offset)
        if start is None:
            return fail(Code.LAC_INVALID_DATA)
        needle = (fragment or "").strip().upper()
        keys = sorted(
            key
            for key, order in self.orders.items()
            if needle in key and not (disabled_only and order.spec.enabled)
        )
        matches = keys[start : start + PAGE_SIZE]
        orders = tuple(self.orders[k] for k in matches)
        for order in orders:
            self.settle_order(order)
        return Result(Code.LAC_SUCCESS, orders=orders)

    def _vendor_order(self, token: str | None, activation_key: str | None) -> Order | Result:
        if self.check_token(token) != Code.LAC_SUCCESS:
            return fail(Code.LAC_WRONG_TOKEN)
        order = self.orders.get(normalise_key(activation_key) or "")
        if order is None:
            return fail(Code.LAC_RECORD_DOESNT_EXIST)
        return order

    def reset_deactivation_counter(self, token: str | None, activation_key: str | None) -> Result:
        """``ResetDeactivationCounter``: deactivations left back to the allowance."""
        order = self._vendor_order(token, activation_key)
        if isinstance(order, Result):
            return order
        order.deactivations_left = order.spec.deactivations_allowed
        return Result(Code.LAC_SUCCESS, order=order)

    def deactivate_order(self, token: str | None, activation_key: str | None) -> Result:
        """``DeactivateLicenseOrder``: the vendor frees every activation of the order."""
        order = self._vendor_order(token, activation_key)
        if isinstance(order, Result):
            return order
        order.licenses.clear()
        return Result(Code.LAC_SUCCESS, order=order)

    def order_licenses(
        self, token: str | None, activation_key: str | None, offset: str | int | None = 0
    ) -> Result:
        """Vendor view of an order's licenses (REST ``/license-orders/{ak}/licenses``)."""
        order = self._vendor_order(token, activation_key)
        if isinstance(order, Result):
            return order
        start = _offset(offset)
        if start is None:
            return fail(Code.LAC_INVALID_DATA)
        self.settle_order(order)
        page = tuple(order.licenses.values())[start : start + PAGE_SIZE]
        return Result(Code.LAC_SUCCESS, order=order, licenses=page)


def _offset(raw: str | int | None) -> int | None:
    if raw is None or raw == "":
        return 0
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def _earliest(dates: Iterable[date | None]) -> date | None:
    known = [d for d in dates if d is not None]
    return min(known) if known else None
