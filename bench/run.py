"""``python -m bench.run [--quick]``: every scenario, then results JSON, Markdown table, PNG chart.

Writes ``bench/results/latest.json``, ``latest.md`` and ``latest.png`` (plus process logs under
``bench/results/logs``); a full run also refreshes the committed copies ``bench/latest.md`` and
``bench/latest.png`` that the README shows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench import report
from bench.loadgen import wrk_path
from bench.procs import ROOT, start_sandbox
from bench.scenarios import FULL, QUICK, Env, Result, amplification, cache_hits, cold, pending_scale
from lacsandbox.localredis import LocalRedis

BENCH = Path(__file__).resolve().parent


def _machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    python = platform.python_version()
    return f"{os.cpu_count()} cores ({model}), Linux {platform.release()}, Python {python}"


def _command(quick: bool, only: str) -> str:
    command = "make bench-quick" if quick else "make bench"
    return f"python -m bench.run {'--quick ' if quick else ''}--only {only}" if only else command


def _loadgen() -> str:
    if wrk_path():
        return "wrk -t1"
    why = "BENCH_LOADGEN=python" if os.environ.get("BENCH_LOADGEN") == "python" else "no wrk"
    return f"bench.loadgen (asyncio, {why})"


def _commit() -> str:
    """The commit the gateway ran from (``BENCH_GATEWAY_SRC`` or this tree)."""
    src = os.environ.get("BENCH_GATEWAY_SRC") or ROOT
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH, read-only
        cwd=src,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


async def _guarded(name: str, results: Result, step: Callable[[], Awaitable[Any]]) -> None:
    """One scenario; a failure is recorded and the run goes on with the next."""
    started = time.monotonic()
    print(f"bench: {name} ...", flush=True)
    try:
        value = await step()
    except Exception as exc:  # noqa: BLE001 - the report says which scenario failed and why
        traceback.print_exc()
        results[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        return
    if isinstance(value, tuple):
        for key, part in zip(name.split("+"), value, strict=True):
            results[key] = part
    else:
        results[name] = value
    print(f"bench: {name} done in {time.monotonic() - started:.1f} s", flush=True)


SCENARIOS = ("cache", "cold", "amplification", "pending")


async def run_all(quick: bool, out: Path, only: frozenset[str] = frozenset(SCENARIOS)) -> Result:
    """Start Redis and the sandbox, run every scenario, return the results."""
    sizes = QUICK if quick else FULL
    logs, work = out / "logs", out / "work"
    for folder in (logs, work):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    results: Result = {}
    redis = LocalRedis(work / "redis")
    redis.start()
    sandbox = start_sandbox(logs)
    try:
        await sandbox.wait_healthy("/_sandbox/counters")
        connector = aiohttp.TCPConnector(limit=64)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            env = Env(sizes, redis.url, sandbox, logs, work, http)
            if "cache" in only:
                await _guarded("cache_hit+multi_process", results, lambda: cache_hits(env))
            for transport in ("soap", "rest") if "cold" in only else ():
                await _guarded(f"cold_{transport}", results, partial(cold, env, transport))
            for transport in ("soap", "rest") if "amplification" in only else ():
                await _guarded(
                    f"amplification_{transport}", results, partial(amplification, env, transport)
                )
            if "pending" in only:
                await _guarded("pending_scale", results, lambda: pending_scale(env))
    finally:
        sandbox.stop()
        redis.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write its results; exit 1 if a scenario could not run at all."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes, under a minute")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument(
        "--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}"
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started, clock = datetime.now(UTC), time.monotonic()
    only = frozenset(args.only.split(","))
    if not only <= set(SCENARIOS):
        parser.error(f"--only takes names from {', '.join(SCENARIOS)}")
    partial_run = only != set(SCENARIOS)
    results = asyncio.run(run_all(args.quick, out, only))
    results["meta"] = {
        "command": _command(args.quick, args.only if only != set(SCENARIOS) else ""),
        "gateway_src": os.environ.get("BENCH_GATEWAY_SRC") or "this tree",
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "loadavg_at_start": list(os.getloadavg()),
        "commit": _commit(),
        "loadgen": _loadgen(),
        "wall_s": round(time.monotonic() - clock, 1),
    }
    (out / "latest.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    table = report.markdown(results)
    (out / "latest.md").write_text(table)
    report.chart(results, out / "latest.png")
    if not args.quick and not partial_run:  # only a whole run of this tree is "the latest"
        shutil.copyfile(out / "latest.md", BENCH / "latest.md")
        shutil.copyfile(out / "latest.png", BENCH / "latest.png")
    print(table)
    print(f"bench: results in {out}/latest.json, latest.md, latest.png")
    failed = [
        name for name, value in results.items() if isinstance(value, dict) and "error" in value
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
