"""Data sources from the settings' `data_sources` mapping."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from hotline.ivr.lookups.customers import CustomerDirectory
from hotline.ivr.lookups.http import HttpSource
from hotline.ivr.lookups.parcels import ParcelDirectory
from hotline.ivr.lookups.source import DataSource

DEFAULT_SOURCES: Final[Mapping[str, Mapping[str, Any]]] = {
    "parcels": {"type": "parcels", "file": "config/parcels.yaml"},
}
"""The `data_sources` configuration used when the settings give none (paths relative to the base dir)."""


_HTTP_KEYS: Final = frozenset({"type", "url", "method", "timeout", "retries", "headers", "operations"})


def _str_map(name: str, key: str, raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str | int | float) and not isinstance(v, bool) for k, v in raw.items()
    ):
        raise ValueError(f"data_sources.{name}: {key} must map names to strings")
    return {k: str(v) for k, v in raw.items()}


def _http_source(name: str, spec: Mapping[str, Any]) -> HttpSource:
    unknown = set(spec) - _HTTP_KEYS
    if unknown:
        raise ValueError(f"data_sources.{name}: unknown keys {sorted(map(str, unknown))}")
    url = spec.get("url")
    operations = _str_map(name, "operations", spec.get("operations")) if "operations" in spec else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        if not (url is None and operations):
            raise ValueError(f"data_sources.{name}: url must be an http:// or https:// URL")
    for op_url in (operations or {}).values():
        if op_url and not op_url.startswith(("http://", "https://")):
            raise ValueError(f"data_sources.{name}: operation URLs must be http:// or https:// URLs")
    timeout = spec.get("timeout", 3.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ValueError(f"data_sources.{name}: timeout must be a positive number of seconds")
    retries = spec.get("retries", 1)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise ValueError(f"data_sources.{name}: retries must be an integer from 0 to 10")
    method = spec.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in ("GET", "POST"):
        raise ValueError(f"data_sources.{name}: method must be GET or POST")
    return HttpSource(name, url or "", method=method, timeout_s=float(timeout), retries=retries,
                      headers=_str_map(name, "headers", spec.get("headers")), operations=operations)


def _parcel_source(name: str, spec: Mapping[str, Any], base_dir: Path) -> ParcelDirectory:
    unknown = set(spec) - {"type", "file"}
    if unknown:
        raise ValueError(f"data_sources.{name}: unknown keys {sorted(map(str, unknown))}")
    file = spec.get("file")
    if not isinstance(file, str) or not file:
        raise ValueError(f"data_sources.{name}: file is required")
    path = Path(file) if Path(file).is_absolute() else base_dir / file
    if not path.is_file():
        raise ValueError(f"data_sources.{name}: file not found: {path}")
    try:
        return ParcelDirectory.from_file(path, name=name)
    except ValueError as exc:
        raise ValueError(f"data_sources.{name}: {exc}") from None


def build_sources(config: Mapping[str, Any], base_dir: Path) -> dict[str, DataSource]:
    """Data sources from the settings' `data_sources` mapping (name -> {type: parcels|http, ...});
    relative files resolve against `base_dir`. Raises ValueError("data_sources.<name>: ...")."""
    if not isinstance(config, Mapping):
        raise ValueError("data_sources: expected a mapping of source names")
    sources: dict[str, DataSource] = {}
    for name, spec in config.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
            raise ValueError(f"data_sources.{name}: source names are letters, digits, '_' and '-'")
        if not isinstance(spec, Mapping):
            raise ValueError(f"data_sources.{name}: expected a mapping")
        kind = spec.get("type")
        if kind == "parcels":
            sources[name] = _parcel_source(name, spec, base_dir)
        elif kind == "http":
            sources[name] = _http_source(name, spec)
        elif kind == "customers":
            file = Path(str(spec.get("file", "")))
            sources[name] = CustomerDirectory.from_file(file if file.is_absolute() else base_dir / file, name)
        else:
            raise ValueError(f"data_sources.{name}: type must be 'parcels', 'customers' or 'http'")
    return sources
