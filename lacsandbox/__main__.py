"""``python -m lacsandbox``: the LAC sandbox alone (what the sandbox container image runs)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lacsandbox.cli import run_sandbox

WITHOUT_GET_LICENSE_HELP = (
    "leave GetLicense out of the end-user WSDL and answer it with a Client fault "
    "(a LAC without the inferred polling call)"
)


DESCRIPTION = (
    "Run the LAC sandbox alone: a stand-in for X-Formation's License Activation Center that "
    "speaks its SOAP and REST wire formats, for tests and development (what the sandbox "
    "container image runs)."
)


def build_parser() -> argparse.ArgumentParser:
    """The sandbox's options: ``--host``, ``--port``, ``--seed``, ``--without-get-license``."""
    parser = argparse.ArgumentParser(prog="lacsandbox", description=DESCRIPTION)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port to listen on (8090)")
    parser.add_argument("--seed", default=None, help="orders seed file (TOML)")
    parser.add_argument("--without-get-license", action="store_true", help=WITHOUT_GET_LICENSE_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, then serve until SIGINT or SIGTERM."""
    args = build_parser().parse_args(argv)
    return run_sandbox(
        host=args.host,
        port=args.port,
        seed=args.seed,
        without_get_license=args.without_get_license,
    )


if __name__ == "__main__":
    sys.exit(main())
