"""Service models: botocore's JSON, read straight from its data directory.

botocore itself is never imported at run time (importing its loader costs ~100 ms of start-up);
we only read the gzipped JSON it ships. A model is loaded on a service's first request (or by the
warm-up after start-up) and every operation is compiled once into the plans the wire layer uses.
"""

from __future__ import annotations

import gzip
import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

from gondwana.protocols import json_codec


@cache
def botocore_data_dir() -> Path:
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("botocore is not installed: it holds the AWS service models")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_botocore_model(name: str, api_version: str | None = None) -> dict[str, Any]:
    """The raw service-2 model of a botocore service (newest version unless one is named)."""
    service_dir = botocore_data_dir() / name
    version = api_version or max(p.name for p in service_dir.iterdir() if p.is_dir())
    base = service_dir / version / "service-2.json"
    if base.exists():
        return json_codec.loads(base.read_bytes())
    return json_codec.loads(gzip.decompress(base.with_suffix(".json.gz").read_bytes()))


def apply_patches(model: dict[str, Any], patches: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Overlay traits on shapes: {"ShapeName": {"locationName": ...}, "Shape.Member": {...}}.

    Used for wire details a current model no longer carries, such as the query-protocol element
    names of SQS (its model became JSON-only, but old clients still speak query).
    """
    shapes = model["shapes"]
    for target, traits in patches.items():
        shape_name, _, member = target.partition(".")
        shape = shapes[shape_name]
        if member:
            shape["members"][member].update(traits)
        elif "member" in traits or "key" in traits or "value" in traits:
            for part in ("member", "key", "value"):
                if part in traits:
                    shape[part].update(traits[part])
            shape.update({k: v for k, v in traits.items() if k not in ("member", "key", "value")})
        else:
            shape.update(traits)
    return model


def lower_camel(name: str) -> str:
    """Coral's path spelling of a member name: TableName -> tableName, SSESpec -> sSESpec."""
    return name[:1].lower() + name[1:]
