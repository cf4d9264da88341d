"""``python -m lacsandbox``: the LAC sandbox alone (what the sandbox container image runs)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lacsandbox.cli import run_sandbox


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``--host``, ``--port`` and ``--seed``, then serve until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="lacsandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--seed", default=None, help="orders seed file (TOML)")
    args = parser.parse_args(argv)
    return run_sandbox(host=args.host, port=args.port, seed=args.seed)


if __name__ == "__main__":
    sys.exit(main())
