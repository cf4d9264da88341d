"""Closed-loop HTTP load: wrk when installed, else this module run as its own process.

Both read a file of request paths (one per line, one chosen at random per request), keep a
fixed number of connections busy for a fixed time, and print one JSON line: requests, duration,
errors, non-2xx answers and latency percentiles in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk.lua"


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one load run measured."""

    tool: str
    requests: int
    duration_s: float
    errors: int
    non2xx: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, with requests per second."""
        return {**asdict(self), "rps": round(self.rps, 1)}


def wrk_path() -> str | None:
    """The wrk binary, unless BENCH_LOADGEN=python asks for the built-in generator."""
    if os.environ.get("BENCH_LOADGEN") == "python":
        return None
    return shutil.which("wrk")


def run_load(
    base_url: str, paths: Path, auth: str, *, connections: int, duration: float
) -> LoadResult:
    """One load run against ``base_url`` in a separate process; blocks until it ends."""
    wrk = wrk_path()
    if wrk is not None:
        argv = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s"]
        argv += ["--timeout", "10s", "-s", str(WRK_SCRIPT), base_url]
        tool = "wrk"
    else:
        argv = [sys.executable, "-m", "bench.loadgen", "--url", base_url, "--paths", str(paths)]
        argv += ["--connections", str(connections), "--duration", str(duration)]
        tool = "python"
    env = {**os.environ, "BENCH_PATHS": str(paths), "BENCH_AUTH": auth}
    done = subprocess.run(  # noqa: S603 - fixed argv: wrk or this module
        argv, env=env, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("{")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr[-2000:]}")
    return LoadResult(tool=tool, **json.loads(line))


def _percentile(sorted_ms: list[float], pct: float) -> float:
    if not sorted_ms:
        return 0.0
    index = min(len(sorted_ms) - 1, round(pct / 100 * (len(sorted_ms) - 1)))
    return sorted_ms[index]


async def _worker(
    http: aiohttp.ClientSession, urls: list[str], until: float, latencies: list[float]
) -> tuple[int, int]:
    errors = non2xx = 0
    pick = random.Random()  # noqa: S311 - load spreading, not security
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            async with http.get(pick.choice(urls)) as resp:
                await resp.read()
                non2xx += not 200 <= resp.status < 300
        except (aiohttp.ClientError, TimeoutError):
            errors += 1
            continue
        latencies.append((time.perf_counter() - started) * 1000)
    return errors, non2xx


async def generate(url: str, paths: list[str], auth: str, connections: int, duration: float) -> str:
    """Keep ``connections`` requests in flight for ``duration`` seconds; the JSON summary."""
    urls = [url.rstrip("/") + path for path in paths]
    headers = {"Authorization": auth} if auth else {}
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as http:
        started = time.perf_counter()
        until = started + duration
        counts = await asyncio.gather(
            *(_worker(http, urls, until, latencies) for _ in range(connections))
        )
        elapsed = time.perf_counter() - started
    latencies.sort()
    summary = {
        "requests": len(latencies),
        "duration_s": elapsed,
        "errors": sum(c[0] for c in counts),
        "non2xx": sum(c[1] for c in counts),
        "p50_ms": _percentile(latencies, 50),
        "p90_ms": _percentile(latencies, 90),
        "p99_ms": _percentile(latencies, 99),
        "max_ms": latencies[-1] if latencies else 0.0,
    }
    return json.dumps(summary)


def main() -> None:
    """``python -m bench.loadgen --url URL --paths FILE --connections N --duration S``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--paths", type=Path, required=True)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    paths = [ln for ln in args.paths.read_text().splitlines() if ln]
    auth = os.environ.get("BENCH_AUTH", "")
    print(asyncio.run(generate(args.url, paths, auth, args.connections, args.duration)))


if __name__ == "__main__":
    main()
