from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace

from hotline.assist.embed import BertEncoder, read_safetensors, shared_encoder
from hotline.assist.kb import KnowledgeBase, parse_kb
from hotline.assist.matcher import Matcher, MatcherConfig, Suggester

KB_TEXT = """
- id: track
  title: "Tracking a parcel"
  title_zh: "运单轨迹查询"
  tags: ["tracking", "where is my parcel", "tracking number"]
  tags_zh: ["查件", "物流轨迹", "运单号"]
  script: "Read me the tracking number and I will tell you the latest scan."
  script_zh: "请您报一下运单号，我帮您查最新的物流轨迹。"
- id: damaged
  title: "Damaged item claim"
  title_zh: "破损理赔申请"
  tags: ["damaged", "broken", "smashed", "claim", "photos"]
  tags_zh: ["破损", "摔坏", "理赔"]
  script: "I'm sorry it arrived damaged. Please keep the packaging and send photos so we can open a claim."
  script_zh: "很抱歉包裹破损了。请保留外包装并拍照，我们为您申请理赔。"
- id: opening
  title: "Opening hours"
  title_zh: "营业时间"
  tags: ["opening hours", "what time", "open", "close", "weekend"]
  tags_zh: ["营业时间", "几点关门", "周末"]
  script: "Our branches open at eight and close at six on weekdays, and open on Saturday mornings."
  script_zh: "网点工作日早上八点营业，晚上六点关门，周六上午也营业。"
"""


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return parse_kb(KB_TEXT, "inline.yaml")


@pytest.fixture(scope="module")
def matcher(kb: KnowledgeBase) -> Matcher:
    return Matcher(kb)


def test_english_match_despite_fillers(matcher: Matcher) -> None:
    s = matcher.match("um yeah so the vase arrived all smashed what do i do", "en")
    assert s is not None and s.article_id == "damaged"
    assert 0.0 <= s.confidence <= 1.0 and s.score > 0.0


def test_english_match_with_misrecognised_word(matcher: Matcher) -> None:
    s = matcher.match("uh what thyme do you clothes on saturday", "en")
    assert s is not None and s.article_id == "opening"


def test_chinese_match_without_spaces(matcher: Matcher) -> None:
    s = matcher.match("嗯 我的快递摔坏了 能不能理赔", "zh")
    assert s is not None and s.article_id == "damaged"
    s = matcher.match("你们周末几点关门", "zh")
    assert s is not None and s.article_id == "opening"


@pytest.mark.parametrize("text", ["yeah", "okay right", "hello hello are you still there", "um hang on"])
def test_abstains_on_chit_chat(matcher: Matcher, text: str) -> None:
    assert matcher.match(text, "en") is None


def test_rank_lists_best_first(matcher: Matcher) -> None:
    ranked = matcher.rank("where is my parcel can you check the tracking", "en", k=3)
    assert [a for a, _ in ranked][0] == "track"
    assert len(ranked) == 3 and ranked[0][1] >= ranked[1][1] >= ranked[2][1]


def test_unknown_language_abstains(matcher: Matcher) -> None:
    assert matcher.match("wo de bao guo", "fr") is None and matcher.rank("x", "fr") == []


def test_context_helps_a_vague_follow_up(matcher: Matcher) -> None:
    follow_up = "and what do you need from me for that"
    without = matcher.match(follow_up, "en")
    with_context = matcher.match(follow_up, "en", context=["the lamp came broken and smashed to pieces"])
    assert without is None or without.article_id != "damaged"
    assert with_context is not None and with_context.article_id == "damaged"


def test_current_utterance_outweighs_context(matcher: Matcher) -> None:
    s = matcher.match("what time do you open on the weekend", "en", context=["my parcel arrived broken"])
    assert s is not None and s.article_id == "opening"


def test_suggester_does_not_repeat_the_same_article(matcher: Matcher) -> None:
    call = Suggester(matcher, "en")
    first = call.on_final("my parcel arrived damaged and broken")
    assert first is not None and first.article_id == "damaged"
    assert call.on_final("yes it is really smashed and broken") is None
    assert call.last == "damaged"
    nxt = call.on_final("also what time do you close on the weekend")
    assert nxt is not None and nxt.article_id == "opening"
    again = call.on_final("the item is damaged broken smashed")
    assert again is not None and again.article_id == "damaged"
    call.reset()
    assert call.last is None


def test_lexical_only_matcher_still_matches(kb: KnowledgeBase) -> None:
    lexical = Matcher(kb, MatcherConfig(use_embeddings=False))
    s = lexical.match("um yeah so the vase arrived all smashed what do i do", "en")
    assert s is not None and s.article_id == "damaged"
    assert lexical.match("okay", "en") is None


def test_content_free_utterance_leans_on_context(matcher: Matcher) -> None:
    assert matcher.match("okay", "en") is None
    s = matcher.match("okay", "en", context=["you clothes at what thyme on saturday"])
    assert s is not None and s.article_id == "opening"


def test_confidence_in_unit_range(matcher: Matcher) -> None:
    for text in ("where is my parcel", "the box came smashed", "are you open on sunday"):
        s = matcher.match(text, "en")
        assert s is None or 0.0 <= s.confidence <= 1.0



def test_decide_needs_a_relative_lead(kb: KnowledgeBase) -> None:
    m = Matcher(kb, MatcherConfig(use_embeddings=False, language_thresholds={"en": (0.1, 0.0, 0.2)}))
    assert m.thresholds("en-GB") == (0.1, 0.0, 0.2)
    clear = m.decide([("track", 0.5), ("damaged", 0.35)], "en")  # lead 0.15 = 30 % of 0.5
    assert clear is not None and clear.article_id == "track" and 0.0 <= clear.confidence <= 1.0
    assert m.decide([("track", 0.5), ("damaged", 0.45)], "en") is None  # lead 10 %
    assert m.decide([("track", 0.05), ("damaged", 0.0)], "en") is None  # below min_score
    # two-value thresholds still work, the relative margin then comes from the config
    legacy = Matcher(kb, MatcherConfig(use_embeddings=False, language_thresholds={"en": (0.1, 0.0)}))
    assert legacy.thresholds("en") == (0.1, 0.0, 0.0)
    assert legacy.decide([("track", 0.5), ("damaged", 0.45)], "en") is not None

# -- the numpy / onnxruntime encoder on a tiny random BERT (no model package needed) -----------------

def _tiny_bert(directory: Path, rng: np.random.Generator) -> None:
    hidden, inter, layers, vocab = 8, 16, 2, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "parcel", "lost", "box", "late"]
    shapes: dict[str, tuple[int, ...]] = {
        "embeddings.word_embeddings.weight": (len(vocab), hidden),
        "embeddings.position_embeddings.weight": (16, hidden),
        "embeddings.token_type_embeddings.weight": (2, hidden),
        "embeddings.LayerNorm.weight": (hidden,), "embeddings.LayerNorm.bias": (hidden,),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            shapes[p + name + ".weight"], shapes[p + name + ".bias"] = (hidden, hidden), (hidden,)
        shapes[p + "intermediate.dense.weight"], shapes[p + "intermediate.dense.bias"] = (inter, hidden), (inter,)
        shapes[p + "output.dense.weight"], shapes[p + "output.dense.bias"] = (hidden, inter), (hidden,)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[p + ln + ".weight"], shapes[p + ln + ".bias"] = (hidden,), (hidden,)
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name, shape in shapes.items():
        data = rng.normal(0.0, 0.5, shape).astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    (directory / "model.safetensors").write_bytes(len(head).to_bytes(8, "little") + head + b"".join(blobs))
    (directory / "config.json").write_text(json.dumps({
        "hidden_size": hidden, "num_attention_heads": 2, "num_hidden_layers": layers, "layer_norm_eps": 1e-12}))
    tokenizer = Tokenizer(WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.save(str(directory / "tokenizer.json"))


def test_safetensors_reader_and_encoders_agree(tmp_path: Path) -> None:
    _tiny_bert(tmp_path, np.random.default_rng(3))
    tensors = read_safetensors(tmp_path / "model.safetensors")
    assert tensors["embeddings.word_embeddings.weight"].shape == (8, 8)
    fast, slow = BertEncoder(tmp_path), BertEncoder(tmp_path, use_onnx=False)
    assert fast.backend == "onnxruntime" and slow.backend == "numpy"
    texts = ["parcel lost", "box late parcel", "late", "parcel box lost late lost"]
    a, b = fast.encode(texts), slow.encode(texts)
    assert a.shape == (4, 8) and np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    # padding in a batch must not change a sentence's vector
    assert np.allclose(a[2], fast.encode(["late"])[0], atol=1e-5)
    assert np.allclose(a, b, atol=2e-3)  # numpy uses the tanh GELU
    assert np.allclose(fast.encode_cached(texts), a, atol=1e-6)


def test_minilm_knows_paraphrases() -> None:
    encoder = shared_encoder()
    assert encoder is not None
    v = encoder.encode(["where is my parcel", "track my package", "I want a refund"])
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.2
