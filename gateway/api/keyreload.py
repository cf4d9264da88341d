"""The API keys file re-read without a restart: on SIGHUP and when its modification time changes.

Each process (each worker of ``--workers N``) reloads its own key ring. A reload is logged with
counts only; a file that cannot be used leaves the keys as they were and is logged as an error
naming the file and the problem.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from aiohttp import web

from gateway.api.auth import KeyRing, load_keys_file
from gateway.api.keys import KEY_RELOADER, KEY_RING, SETTINGS
from gateway.settings import AuthSettings

log = structlog.get_logger("gateway.api")

FileStamp = tuple[int, int, int] | None
"""What tells a changed file: modification time, size and inode (None: cannot be read)."""


def file_stamp(path: Path) -> FileStamp:
    """The stamp of ``path``, following links (a Kubernetes ConfigMap swaps a link)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


class KeyReloader:
    """Reloads a key ring from the settings' keys and the keys file."""

    def __init__(self, ring: KeyRing, auth: AuthSettings) -> None:
        self._ring = ring
        self._auth = auth
        path = auth.api_keys_file
        self._stamp = file_stamp(path) if path is not None else None

    def changed(self) -> bool:
        """Whether the keys file looks different from when it was last read."""
        path = self._auth.api_keys_file
        return path is not None and file_stamp(path) != self._stamp

    def reload(self, trigger: str) -> bool:
        """Read the keys file again; a broken file keeps the current keys. True if reloaded."""
        path = self._auth.api_keys_file
        if path is None:
            log.info("api_keys_reload_skipped", trigger=trigger, reason="no keys file configured")
            return False
        self._stamp = file_stamp(path)  # a broken file is reported once, not at every check
        try:
            keys = [*self._auth.api_keys, *load_keys_file(path)]
        except ValueError as exc:
            log.error("api_keys_reload_failed", file=str(path), problem=str(exc), trigger=trigger)
            return False
        added, removed = self._ring.replace(keys)
        log.info(
            "api_keys_reloaded",
            file=str(path),
            keys=len(self._ring),
            added=added,
            removed=removed,
            trigger=trigger,
            pid=os.getpid(),
        )
        return True

    async def watch(self, interval: float) -> None:
        """Check the file every ``interval`` seconds and reload it when it changed."""
        while True:
            await asyncio.sleep(interval)
            if self.changed():
                self.reload("file_changed")


async def key_reload_ctx(app: web.Application) -> AsyncIterator[None]:
    """The watch of the keys file's modification time, when a file and an interval are set."""
    auth = app[SETTINGS].auth
    reloader = app[KEY_RELOADER] = KeyReloader(app[KEY_RING], auth)
    task = None
    if auth.api_keys_file is not None and auth.reload_interval > 0:
        task = asyncio.create_task(reloader.watch(auth.reload_interval), name="key_reload")
    yield
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
