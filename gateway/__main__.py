"""Command line: ``python -m gateway serve | sandbox | demo``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lac-gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the gateway (configured from LACGW_* / LACGW_CONFIG)")
    sandbox = sub.add_parser("sandbox", help="run the LAC sandbox (a LAC stand-in for tests)")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8090)
    sandbox.add_argument("--seed", default=None, help="orders seed file (TOML)")
    demo = sub.add_parser("demo", help="local Redis + sandbox + gateway, one command")
    demo.add_argument("--port", type=int, default=8080)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lac-gateway`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "sandbox":
        from gateway.sandbox.cli import run_sandbox  # noqa: PLC0415 - keep commands independent

        return run_sandbox(host=args.host, port=args.port, seed=args.seed)
    if args.command == "demo":
        from gateway.demo import run_demo  # noqa: PLC0415

        return run_demo(port=args.port)
    from gateway.serve import load_settings, run_gateway  # noqa: PLC0415

    return run_gateway(load_settings())


if __name__ == "__main__":
    sys.exit(main())
