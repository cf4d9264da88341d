"""The development side of lac-gateway: the LAC sandbox, local Redis and process runners, the demo.

A package of this repository, beside ``gateway`` and outside the production artefact: the wheel
and the container image carry ``gateway`` only. The sandbox modules import nothing of
``gateway`` (an import-linter contract enforces it), so they check the gateway instead of
mirroring it; they read the shared data files in ``gateway/data`` by path. Only ``demo`` runs
the gateway, beside the sandbox.
"""
