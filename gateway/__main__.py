"""Command line: ``python -m gateway serve | sandbox | demo``.

``sandbox`` and ``demo`` run the development package ``lacsandbox`` of a checkout; the
production wheel and image carry the gateway only, so there they say so in one line.
"""

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


NO_SANDBOX = (
    "lac-gateway: `{command}` needs the lacsandbox package, which only a source checkout has "
    "(`make run`, `make sandbox`); this install carries the gateway only"
)


def _development(command: str, args: argparse.Namespace) -> int:
    """Run ``sandbox`` or ``demo`` from ``lacsandbox``, or say in one line that it is absent."""
    # Imported here: `serve` must not need (or load) the development package, and `sandbox`
    # does not load the gateway.
    try:
        if command == "sandbox":
            from lacsandbox.cli import run_sandbox  # noqa: PLC0415

            return run_sandbox(host=args.host, port=args.port, seed=args.seed)
        from lacsandbox.demo import run_demo  # noqa: PLC0415

        return run_demo(port=args.port)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] != "lacsandbox":
            raise  # a dependency missing inside lacsandbox is a real error, not an absence
        print(NO_SANDBOX.format(command=command), file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lac-gateway`` console script."""
    args = _parser().parse_args(argv)
    if args.command in {"sandbox", "demo"}:
        return _development(args.command, args)
    from gateway.serve import load_settings, run_gateway  # noqa: PLC0415

    return run_gateway(load_settings())


if __name__ == "__main__":
    sys.exit(main())
