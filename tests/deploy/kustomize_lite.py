"""A small kustomize: resources, components, namespace, images and strategic merges, offline.

Enough for deploy/k8s (the tests need no kustomize binary); list fields merge by the same keys
Kubernetes' strategic merge uses for them, every other list is replaced.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]

# patchMergeKey of the list fields deploy/k8s patches (from the Kubernetes API definitions).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "env": "name",
    "ports": "containerPort",
    "topologySpreadConstraints": "topologyKey",
}
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding"})


def _load_all(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def merge(base: Any, patch: Any, field: str = "") -> Any:
    """Strategic merge of ``patch`` onto ``base`` (``field`` names the list being merged)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = merge(base[key], value, key) if key in base else copy.deepcopy(value)
        return out
    key = MERGE_KEYS.get(field)
    if isinstance(base, list) and isinstance(patch, list) and key:
        out_list = [copy.deepcopy(item) for item in base]
        for item in patch:
            match = next(
                (i for i, old in enumerate(out_list) if old.get(key) == item.get(key)), None
            )
            if match is None:
                out_list.insert(0, copy.deepcopy(item))
            else:
                out_list[match] = merge(out_list[match], item)
        return out_list
    return copy.deepcopy(patch)


def _same_target(doc: Doc, patch: Doc) -> bool:
    return bool(
        doc["kind"] == patch["kind"] and doc["metadata"]["name"] == patch["metadata"]["name"]
    )


def _set_images(doc: Doc, images: list[Doc]) -> None:
    pod = doc.get("spec", {}).get("template", {}).get("spec", {})
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        name = container["image"].split(":")[0]
        for image in images:
            if image["name"] == name:
                container["image"] = f"{image.get('newName', name)}:{image['newTag']}"


def _kustomization(folder: Path) -> Doc:
    data: Doc = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    return data


def _add_resources(folder: Path, kustomization: Doc, docs: list[Doc]) -> None:
    for resource in kustomization.get("resources", []):
        path = (folder / resource).resolve()
        docs += render(path) if path.is_dir() else _load_all(path)


def _apply_patches(folder: Path, kustomization: Doc, docs: list[Doc]) -> None:
    for entry in kustomization.get("patches", []):
        for patch in _load_all(folder / entry["path"]):
            targets = [i for i, doc in enumerate(docs) if _same_target(doc, patch)]
            if len(targets) != 1:
                msg = f"patch {entry['path']} matches {len(targets)} resources"
                raise ValueError(msg)
            docs[targets[0]] = merge(docs[targets[0]], patch)


def _apply_component(folder: Path, docs: list[Doc]) -> None:
    # A Component adds its resources to, and patches, what the including kustomization holds.
    component = _kustomization(folder)
    if component.get("kind") != "Component":
        msg = f"{folder} is listed under components but is not a Component"
        raise ValueError(msg)
    _add_resources(folder, component, docs)
    _apply_patches(folder, component, docs)


def render(folder: Path) -> list[Doc]:
    """The documents ``kustomize build folder`` would print, in resource order."""
    kustomization = _kustomization(folder)
    docs: list[Doc] = []
    _add_resources(folder, kustomization, docs)
    # kustomize applies components after the resources and before the kustomization's patches.
    for component in kustomization.get("components", []):
        _apply_component((folder / component).resolve(), docs)
    _apply_patches(folder, kustomization, docs)
    namespace = kustomization.get("namespace")
    for doc in docs:
        if namespace and doc["kind"] not in CLUSTER_SCOPED:
            doc["metadata"]["namespace"] = namespace
        _set_images(doc, kustomization.get("images", []))
    return docs
