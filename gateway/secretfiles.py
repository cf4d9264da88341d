"""Secret files, one per setting, as ``Settings`` reads them from ``LACGW_SECRETS_DIR``.

A file is named like the variable (``LACGW_LAC__PASSWORD``) or like its path without the
prefix (``lac__password``), in any case; its content, less a trailing newline, is the value
(JSON for a list or a section, as in the environment). Files starting with a dot are left out:
Kubernetes mounts a secret with ``..data`` links beside the files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource

PREFIX = "LACGW_"
SECRETS_VARIABLE = "LACGW_SECRETS_DIR"
SettingPath = tuple[str, ...]


def is_model(annotation: Any) -> bool:
    """Whether ``annotation`` is a settings section (a pydantic model)."""
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def is_complex(field: FieldInfo) -> bool:
    """Whether a value for this field is given as JSON (a list, a dict or a section).

    A field marked ``NoDecode`` parses its own text (``http.trusted_proxies`` takes a JSON list
    or the comma form), so it is not JSON here either.
    """
    if any(meta is NoDecode or isinstance(meta, NoDecode) for meta in field.metadata):
        return False
    annotation = field.annotation
    if get_origin(annotation) is Union:
        annotation = next((a for a in get_args(annotation) if a is not type(None)), annotation)
    return get_origin(annotation) in (list, dict) or is_model(annotation)


def settings_fields(
    model: type[BaseModel], path: SettingPath = ()
) -> Iterator[tuple[SettingPath, FieldInfo]]:
    """Every settings path and its field, sections and their leaves alike."""
    for name, field in model.model_fields.items():
        here = (*path, name)
        yield here, field
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            yield from settings_fields(section, here)


def secret_files() -> Iterator[tuple[SettingPath, Path]]:
    """Each file of ``LACGW_SECRETS_DIR`` and the settings path its name stands for."""
    directory = os.environ.get(SECRETS_VARIABLE)
    if not directory or not Path(directory).is_dir():
        return
    for file in sorted(Path(directory).iterdir()):
        if file.name.startswith(".") or not file.is_file():
            continue
        name = file.name.upper().removeprefix(PREFIX)
        yield tuple(part.lower() for part in name.split("__")), file


def read_secret(file: Path) -> str:
    """A secret file's value: its text less one trailing newline."""
    return file.read_text(encoding="utf-8").removesuffix("\n").removesuffix("\r")


class SecretFilesSource(PydanticBaseSettingsSource):
    """Settings from one file per variable in ``LACGW_SECRETS_DIR``.

    Unknown names are left to ``gateway.configuration``, which reports them.
    """

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._known = dict(settings_fields(settings_cls))

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: ``__call__`` reads every file at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for path, file in secret_files():
            field = self._known.get(path)
            if field is None:
                continue
            text = read_secret(file)
            value: Any = json.loads(text) if is_complex(field) else text
            section = values
            for part in path[:-1]:
                section = section.setdefault(part, {})
            section[path[-1]] = value
        return values
