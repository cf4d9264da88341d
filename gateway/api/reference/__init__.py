"""The words of the API reference, as data beside the route table: descriptions and examples.

Each operation of ``gateway/api/endpoints.py`` has a ``Reference`` here, by its operation id:
what it does, when to call it, what the product should do with each answer (by status), and
example exchanges. The examples are real exchanges with ``make run``'s sandbox (the orders of
``config/sandbox.toml``); a test sends them all, in route-table order, to a gateway in front of
that sandbox, so what the reference shows is what a caller gets.
"""

from __future__ import annotations

from gateway.api.reference.activations import ACTIVATIONS_REFERENCE
from gateway.api.reference.base import Exchange, Reference
from gateway.api.reference.licenses import LICENSES_REFERENCE
from gateway.api.reference.operations import ADMIN_REFERENCE, OPERATIONS_REFERENCE
from gateway.api.reference.problems import GENERIC_PROBLEMS, GenericProblem

__all__ = ["GENERIC_PROBLEMS", "REFERENCE", "Exchange", "GenericProblem", "Reference"]

REFERENCE: dict[str, Reference] = {
    **ACTIVATIONS_REFERENCE,
    **LICENSES_REFERENCE,
    **ADMIN_REFERENCE,
    **OPERATIONS_REFERENCE,
}
"""Every operation's reference, by operation id."""
