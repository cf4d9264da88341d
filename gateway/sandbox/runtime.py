"""The sandbox's shared objects, held by the application under ``keys.SANDBOX``."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.sandbox.counters import CallCounters
from gateway.sandbox.faults import Faults
from gateway.sandbox.state import LacState


@dataclass(slots=True)
class Sandbox:
    """One LAC stand-in: the state machine plus call counters and injected faults."""

    state: LacState
    counters: CallCounters = field(default_factory=CallCounters)
    faults: Faults = field(default_factory=Faults)
    vendor_requires_https: bool = False
    """Answer vendor SOAP over plain HTTP with code 40, as LAC does."""
