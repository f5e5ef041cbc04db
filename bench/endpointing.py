"""How short the VAD's hangover can be, and what cutting long segments at pauses costs; prints JSON.

Material: the human prompts of asterisk-core-sounds-en (as bench.asr_accuracy), through the
telephone path (8 kHz -> mu-law -> 16 kHz) and the real Segmenter (webrtcvad).

- Hangover: for each hangover, the share of prompts the VAD would cut in two or more utterances
  (a pause inside them as long as the hangover). "single_clause" prompts (no punctuation inside,
  median 6 words: "Press 6 to play the next message.") stand for the short answers of menus,
  digits and yes/no; "all" includes multi-sentence prompts (pauses between sentences).
- Splitting: consecutive prompts joined into 9-14 s monologues (300 ms between prompts, as a
  caller pauses between sentences) are segmented without and with `split_after_ms`, each segment
  recognised by the `auto` engine; reported: WER of the joined text, segments, the longest
  segment, and the CPU time of the last segment's decode (what the caller waits for after the
  monologue ends).

    python -m bench.endpointing [--engine auto] [--monologues 12]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time

from bench.asr_accuracy import SOUNDS, TRANSCRIPTS, corpus, edit_distance, normalise, telephone_path
from hotline.asr.factory import AsrConfig, build_recognizer, resolve_engine
from hotline.asr.recognizer import Recognizer
from hotline.asr.vad import Segmenter, SpeechEnd, VadConfig
from hotline.telephony.frames import FRAME_BYTES, FRAME_MS, AudioFrame

HANGOVERS = (200, 250, 300, 350, 400, 500)
GAP_MS = 300


def speech_flags(pcm: bytes) -> list[bool]:
    seg = Segmenter(VadConfig())
    return [seg.is_speech(AudioFrame(pcm[i:i + FRAME_BYTES], 0)) for i in range(0, len(pcm) - FRAME_BYTES + 1,
                                                                                FRAME_BYTES)]


def longest_inner_pause(flags: list[bool]) -> int:
    """Milliseconds of the longest non-speech run between the first and the last speech frame."""
    if True not in flags:
        return 0
    first, last = flags.index(True), len(flags) - 1 - flags[::-1].index(True)
    longest = run = 0
    for speech in flags[first:last + 1]:
        run = 0 if speech else run + 1
        longest = max(longest, run)
    return longest * FRAME_MS


def trimmed(pcm: bytes) -> bytes:
    flags = speech_flags(pcm)
    first, last = flags.index(True), len(flags) - 1 - flags[::-1].index(True)
    return pcm[max(0, first - 2) * FRAME_BYTES:(last + 3) * FRAME_BYTES]


def segment(pcm: bytes, config: VadConfig) -> list[SpeechEnd]:
    seg = Segmenter(config)
    ends: list[SpeechEnd] = []
    for seq, i in enumerate(range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES)):
        ends += [e for e in seg.push(AudioFrame(pcm[i:i + FRAME_BYTES], seq)) if isinstance(e, SpeechEnd)]
    return ends + [e for e in seg.flush(len(pcm) // 32) if isinstance(e, SpeechEnd)]


def hangover_splits(items: list[tuple[str, bytes, str]]) -> dict[str, object]:
    pauses = {name: longest_inner_pause(speech_flags(pcm)) for name, pcm, _ in items}
    single = [name for name, _, text in items if not re.search(r"[.,;:?!]\s*\S", text.strip().rstrip(".?!"))]
    out: dict[str, object] = {"prompts": {"all": len(items), "single_clause": len(single)}}
    for h in HANGOVERS:
        out[f"{h}ms"] = {"all_split": sum(1 for p in pauses.values() if p >= h),
                         "single_clause_split": sum(1 for n in single if pauses[n] >= h)}
    out["longest_inner_pause_ms"] = {"all": max(pauses.values()), "single_clause": max(pauses[n] for n in single)}
    return out


def monologues(items: list[tuple[str, bytes, str]], count: int) -> list[tuple[bytes, str]]:
    gap = b"\x00" * (GAP_MS * 32)
    out: list[tuple[bytes, str]] = []
    pcm, texts = b"", []
    for _, audio, text in items:
        piece = trimmed(audio)
        if len(pcm) + len(piece) > 13 * 32000:
            if len(pcm) >= 9 * 32000:
                out.append((b"\x00" * 16000 + pcm + b"\x00" * 32000, " ".join(texts)))
            pcm, texts = b"", []
            if len(out) == count:
                break
        pcm += piece + gap
        texts.append(text)
    return out


def split_cost(recognizer: Recognizer, talks: list[tuple[bytes, str]]) -> dict[str, object]:
    out: dict[str, object] = {}
    texts: dict[str, list[str]] = {}
    for label, config in (("no_split", VadConfig(split_after_ms=0)),
                          ("split_6000_200", VadConfig(split_after_ms=6000, split_pause_ms=200))):
        edits = words = segments = 0
        longest = 0
        last_cpu: list[float] = []
        total_cpu = 0.0
        for pcm, text in talks:
            stream = recognizer.open_stream(16000)
            hyps = []
            ends = segment(pcm, config)
            for end in ends:
                started = time.process_time()
                hyps.append(stream.finish(end.pcm).text)
                spent = time.process_time() - started
                total_cpu += spent
            last_cpu.append(spent)
            stream.close()
            texts.setdefault(label, []).append(" | ".join(hyps))
            ref, hyp = normalise(text), normalise(" ".join(hyps))
            edits += edit_distance(ref, hyp)
            words += len(ref)
            segments += len(ends)
            longest = max([longest, *((e.end_ms - e.start_ms) for e in ends)])
        out[label] = {"wer": round(edits / words, 4), "word_errors": edits, "reference_words": words,
                      "segments": segments, "longest_segment_ms": longest,
                      "last_segment_cpu_s_mean": round(sum(last_cpu) / len(last_cpu), 3),
                      "last_segment_cpu_s_max": round(max(last_cpu), 3),
                      "decode_cpu_s_total": round(total_cpu, 2)}
    # where the two differ, the segments' texts side by side ("|" marks a cut)
    out["differences"] = [{"no_split": a, "split": b} for a, b in zip(*texts.values(), strict=True)
                          if normalise(a) != normalise(b)]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--monologues", type=int, default=12)
    args = parser.parse_args()
    if not TRANSCRIPTS.is_file() or not SOUNDS.is_dir():
        print("install the Debian packages asterisk-core-sounds-en-wav and asterisk-core-sounds-en", file=sys.stderr)
        return 2
    items = [(name, telephone_path(wav), text) for name, wav, text in corpus(10_000)]
    config = AsrConfig(engine=args.engine, language="en")
    talks = monologues(items, args.monologues)
    result = {"benchmark": "endpointing", "hangover": hangover_splits(items),
              "split": {"engine": resolve_engine(config), "monologues": len(talks), "gap_between_prompts_ms": GAP_MS,
                        **split_cost(build_recognizer(config), talks)}}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
