"""``python -m gateway sandbox``: run the sandbox until interrupted."""

from __future__ import annotations


def run_sandbox(host: str, port: int, seed: str | None) -> int:
    """Start the sandbox server (being built; see gateway/sandbox/app.py)."""
    raise NotImplementedError(f"sandbox on {host}:{port} with seed {seed}")
