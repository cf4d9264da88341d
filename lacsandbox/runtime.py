"""The sandbox's shared objects, held by the application under ``keys.SANDBOX``."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from lacsandbox.counters import CallCounters
from lacsandbox.faults import Fault, Faults
from lacsandbox.state import LacState


@dataclass(slots=True)
class Sandbox:
    """One LAC stand-in: the state machine plus call counters and injected faults."""

    state: LacState
    counters: CallCounters = field(default_factory=CallCounters)
    faults: Faults = field(default_factory=Faults)
    vendor_requires_https: bool = False
    """Answer vendor SOAP over plain HTTP with code 40, as LAC does."""
    without_get_license: bool = False
    """Serve the end-user WSDL without GetLicense and answer it with a Client fault."""
    seed_faults: tuple[Fault, ...] = ()
    seed_vendor_requires_https: bool = False
    seed_without_get_license: bool = False

    def __post_init__(self) -> None:
        self.seed_vendor_requires_https = self.vendor_requires_https
        self.seed_without_get_license = self.without_get_license
        for fault in self.seed_faults:
            self.faults.add(copy.copy(fault))

    def reset(self, *, counters_only: bool = False) -> None:
        """Zero the counters; unless ``counters_only``, also return to the seed.

        Back to the seed means: seeded orders without licenses, no tokens, the seed's faults
        and settings, and the clock offset at zero.
        """
        self.counters.reset()
        if counters_only:
            return
        self.state.reset()
        self.state.clock.offset = 0.0
        self.vendor_requires_https = self.seed_vendor_requires_https
        self.without_get_license = self.seed_without_get_license
        self.faults.clear()
        for fault in self.seed_faults:
            self.faults.add(copy.copy(fault))
