"""The keys file watch: a change is reloaded once, a broken or missing file is reported once."""

from __future__ import annotations

import json
import os
from pathlib import Path

from structlog.testing import capture_logs

from gateway.api.auth import KeyRing
from gateway.api.keyreload import KeyReloader
from gateway.settings import ApiKey, AuthSettings
from tests.gwharness import sha256

ENV_KEY = "env-key-0123456789"
FILE_KEY = "file-key-0123456789"


def _write(path: Path, *keys: str, mtime: int) -> None:
    path.write_text(
        json.dumps([{"name": f"k{i}", "sha256": sha256(k)} for i, k in enumerate(keys)])
    )
    os.utime(path, ns=(mtime, mtime))  # a distinct mtime, whatever the filesystem's resolution


def _setup(tmp_path: Path) -> tuple[Path, KeyRing, KeyReloader]:
    path = tmp_path / "keys.json"
    _write(path, FILE_KEY, mtime=1_000_000_000)
    auth = AuthSettings(api_keys=[ApiKey(name="env", sha256=sha256(ENV_KEY))], api_keys_file=path)
    ring = KeyRing.from_settings(auth)
    return path, ring, KeyReloader(ring, auth)


def test_an_unchanged_file_is_not_reloaded(tmp_path: Path) -> None:
    _, _, reloader = _setup(tmp_path)
    assert not reloader.changed()


def test_a_missing_file_is_reported_once_and_a_restored_one_reloaded(tmp_path: Path) -> None:
    path, ring, reloader = _setup(tmp_path)
    path.unlink()
    assert reloader.changed()
    with capture_logs() as entries:
        assert not reloader.reload("file_changed")
    [failed] = entries
    assert failed["log_level"] == "error"
    assert str(path) in failed["problem"]
    assert not reloader.changed()  # the next checks stay quiet while the file stays missing
    assert ring.identify(FILE_KEY) is not None  # the previous keys still hold
    _write(path, "another-key-0123456789", mtime=2_000_000_000)
    assert reloader.changed()
    with capture_logs() as entries:
        assert reloader.reload("file_changed")
    [done] = entries
    assert (done["keys"], done["added"], done["removed"]) == (2, 1, 1)
    assert ring.identify(FILE_KEY) is None
    assert ring.identify(ENV_KEY) is not None  # the settings' own keys are kept
    assert FILE_KEY not in repr(done)
    assert "k0" not in repr(done)  # nor a key's name
