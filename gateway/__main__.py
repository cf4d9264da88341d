"""Command line: ``lac-gateway serve | check-config | check-lac | keygen | signing-key | …``.

``sandbox`` and ``demo`` run the development package ``lacsandbox`` of a checkout; the
production wheel and image carry the gateway only, so there they say so in one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from gateway.cli_tools import new_api_key, new_signing_key, package_version

DESCRIPTION = (
    "lac-gateway: an activation gateway between LM-X protected products and X-Formation's\n"
    "License Activation Center (LAC). Settings come from LACGW_* environment variables, secret\n"
    "files and an optional TOML file (LACGW_CONFIG or --config); see the README."
)
CHECK = (
    "Fetch both WSDLs and compare them with the gateway's operations, log in to the vendor API "
    "if credentials are set, send one harmless end-user call per transport, and print a table. "
    "Exit 0 only if everything the configured transport needs works."
)
SCOPES = ("activate", "read", "deactivate", "deactivate_any", "admin")


def _port(text: str) -> int:
    port = int(text) if text.isascii() and text.isdigit() else -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535)")
    return port


KEY_NAME_MAX = 64  # what ApiKey.name allows: a longer name would be refused at start


def _key_name(text: str) -> str:
    if not 1 <= len(text) <= KEY_NAME_MAX:
        raise argparse.ArgumentTypeError(
            f"a key name has 1 to {KEY_NAME_MAX} characters (this one {len(text)})"
        )
    return text


def _workers(text: str) -> int:
    count = int(text) if text.isascii() and text.isdigit() else 0
    if not 1 <= count <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers (1 to 64)")
    return count


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser(
        "serve",
        help="run the gateway",
        description="Run the gateway. Options given here win over the environment and the file.",
    )
    serve.add_argument("--config", metavar="FILE", help="TOML settings file (as LACGW_CONFIG)")
    serve.add_argument("--host", help="address to listen on (LACGW_HTTP__HOST, default 0.0.0.0)")
    serve.add_argument(
        "--port", type=_port, help="port to listen on (LACGW_HTTP__PORT, default 8080)"
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        help="processes sharing the port (LACGW_HTTP__WORKERS, default 1)",
    )


def _check_config_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser(
        "check-config",
        help="validate the settings and print them",
        description="Validate the settings as serve would (files, URLs, keys) and print every "
        "setting, secrets masked, with where its value came from. Exit 0 if valid, else 2.",
    )
    check.add_argument("--config", metavar="FILE", help="TOML settings file (as LACGW_CONFIG)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lac-gateway",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"lac-gateway {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _serve_parser(sub)
    keygen = sub.add_parser(
        "keygen",
        help="make a new API key",
        description="Print a new API key, its SHA-256 and its entry for LACGW_AUTH__API_KEYS.",
    )
    keygen.add_argument(
        "--name", default="fleet", type=_key_name, help="the key's name in logs and the audit"
    )
    keygen.add_argument("--admin", action="store_true", help="every scope, admin routes included")
    keygen.add_argument(
        "--scope",
        action="append",
        choices=SCOPES,
        dest="scopes",
        help="a scope to grant (repeat for several; none: the default, activate and read)",
    )
    sub.add_parser(
        "signing-key",
        help="make a new Ed25519 signing key",
        description="Print a new signing key as LACGW_SIGNING__PRIVATE_KEY=<base64 seed>; give "
        "every replica the same one.",
    )
    _check_config_parser(sub)
    check = sub.add_parser("check-lac", help="check LAC before going live", description=CHECK)
    check.add_argument("--config", metavar="FILE", help="TOML settings file (as LACGW_CONFIG)")
    sandbox = sub.add_parser(
        "sandbox",
        help="run the LAC sandbox (a LAC stand-in for tests)",
        description="Run the LAC sandbox, a stand-in for LAC speaking its SOAP and REST wire "
        "formats, for tests and development (needs a source checkout).",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8090, help="port to listen on (8090)")
    sandbox.add_argument("--seed", default=None, help="orders seed file (TOML)")
    sandbox.add_argument(
        "--without-get-license",
        action="store_true",
        help="a LAC without GetLicense: left out of the WSDL, answered with a Client fault",
    )
    demo = sub.add_parser(
        "demo",
        help="local Redis + sandbox + gateway, one command",
        description="Redis, the LAC sandbox and the gateway in one command, all local (what "
        "make run runs; needs a source checkout). Ctrl-C stops all three.",
    )
    demo.add_argument("--port", type=int, default=8080, help="port to listen on (8080)")
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

            return run_sandbox(
                host=args.host,
                port=args.port,
                seed=args.seed,
                without_get_license=args.without_get_license,
            )
        from lacsandbox.demo import run_demo  # noqa: PLC0415

        return run_demo(port=args.port)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] != "lacsandbox":
            raise  # a dependency missing inside lacsandbox is a real error, not an absence
        print(NO_SANDBOX.format(command=command), file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace) -> int:
    # Imported here: the key tools and --help need no aiohttp, zeep or Redis client.
    from gateway.serve import load_settings, run_gateway  # noqa: PLC0415

    if args.config is not None:
        os.environ["LACGW_CONFIG"] = args.config
    settings = load_settings()
    chosen = {name: getattr(args, name) for name in ("host", "port", "workers")}
    http = settings.http.model_copy(update={k: v for k, v in chosen.items() if v is not None})
    return run_gateway(settings.model_copy(update={"http": http}))


def _check_lac(args: argparse.Namespace) -> int:
    # Imported here, as for serve: the other commands need no aiohttp or zeep.
    from gateway.checklac import check_lac  # noqa: PLC0415
    from gateway.serve import load_settings  # noqa: PLC0415

    if args.config is not None:
        os.environ["LACGW_CONFIG"] = args.config
    return check_lac(load_settings())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lac-gateway`` console script."""
    args = _parser().parse_args(argv)
    if args.command in {"sandbox", "demo"}:
        return _development(args.command, args)
    if args.command == "keygen":
        print(new_api_key(args.name, args.scopes, admin=args.admin))
        return 0
    if args.command == "check-config":
        from gateway.checkconfig import run_check_config  # noqa: PLC0415 - loads the gateway

        return run_check_config(args.config)
    if args.command == "check-lac":
        return _check_lac(args)
    if args.command == "signing-key":
        print(new_signing_key())
        return 0
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
