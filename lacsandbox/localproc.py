"""A child process serving HTTP on loopback, for the multi-process tests and the benchmarks."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import aiohttp


class ChildProcess:
    """One child process serving HTTP on a port of 127.0.0.1, its output in a log file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        port: int,
        logs: Path,
        *,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = logs / f"{name}-{port}.log"
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def wait_healthy(self, path: str, within: float = 60.0) -> None:
        """Wait until ``path`` answers 200; raise with the log's tail if it never does."""
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.popen.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self.tail()}")
                try:
                    async with http.get(self.url + path) as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.name} not healthy at {path}: {self.tail()}")

    def tail(self) -> str:
        """The end of the process's log."""
        return self.log.read_text(errors="replace")[-3000:]

    def pids(self) -> list[int]:
        """This process and its direct children (the workers of a multi-process gateway)."""
        found = [self.popen.pid]
        children = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children")
        if children.exists():
            found += [int(pid) for pid in children.read_text().split()]
        return found

    def cpu_seconds(self) -> float:
        """CPU time (user and system) the process and its workers have used, from /proc."""
        ticks = 0
        for pid in self.pids():
            stat = Path(f"/proc/{pid}/stat")
            if not stat.exists():
                continue
            fields = stat.read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        """Resident memory of the process and its workers, from /proc."""
        total = 0
        for pid in self.pids():
            status = Path(f"/proc/{pid}/status")
            if not status.exists():
                continue
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        return total

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, grace: float = 30.0) -> int:
        """SIGTERM, then SIGKILL if it has not exited within ``grace``; returns the exit code."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        return self.popen.returncode
