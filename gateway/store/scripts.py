"""The store's Lua scripts: one file per script in ``lua/``, shared pieces in ``lua/include/``.

A script is named ``<name>-<number of keys>.lua``; a line ``-- @include <piece>`` is replaced by
``lua/include/<piece>.lua``, so that no Lua is copied between two scripts. Names that Python
also uses (job states, the fields a claim reads back) are passed in as arguments.
"""

from __future__ import annotations

import functools
import re
from importlib.resources import files

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript

_INCLUDE = re.compile(r"^-- @include (\w+)$", re.MULTILINE)
_LUA = files(__package__) / "lua"


@functools.cache
def source(name: str) -> str:
    """The text of script ``name`` (its file name without ``.lua``), its includes expanded."""
    text = (_LUA / f"{name}.lua").read_text(encoding="utf-8")
    return _INCLUDE.sub(lambda found: _piece(found[1]), text)


def _piece(name: str) -> str:
    return (_LUA / "include" / f"{name}.lua").read_text(encoding="utf-8").rstrip("\n")


@functools.cache
def _names() -> dict[str, str]:
    scripts = [item.name for item in _LUA.iterdir() if item.is_file()]
    stems = [name.removesuffix(".lua") for name in scripts if name.endswith(".lua")]
    return {source(stem): stem for stem in stems}


def name_of(script: AsyncScript) -> str | None:
    """The file name (without ``.lua``) of a script ``register`` made, for traces."""
    text = script.script
    return _names().get(text) if isinstance(text, str) else None


def register(redis: Redis | RedisCluster, name: str) -> AsyncScript:
    """Script ``name`` on ``redis`` (sent by its SHA, loaded again when Redis has forgotten it)."""
    return redis.register_script(source(name))
