"""Where hotline keeps model artefacts built or fetched once per machine (the recognisers' models,
the knowledge encoder's cached vectors): `$HOTLINE_MODEL_DIR`, else `$XDG_CACHE_HOME/hotline/models`
(`~/.cache/hotline/models`)."""

from __future__ import annotations

import os
from pathlib import Path


def model_dir() -> Path:
    base = os.environ.get("HOTLINE_MODEL_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "hotline" / "models"
