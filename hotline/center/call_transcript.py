"""A party's speech into the call: finals appended to the record (redacted) and published, partials
published, and for the caller the IVR told of speech (barge-in) and of what was said."""

from __future__ import annotations

from collections.abc import Callable

from hotline.asr.events import RecognitionUnavailable, SpeechStarted, Transcript
from hotline.asr.pipeline import SpeechPipeline
from hotline.center.bus import (
    SpeechStartedEvent,
    SpeechUnavailableEvent,
    TranscriptFinal,
    TranscriptPartial,
)
from hotline.center.call_deps import Publisher, RecordWriter
from hotline.center.call_privacy import CallPrivacy
from hotline.center.records import CallRecord, Segment
from hotline.ivr.actions import CallerSpeaking, IvrEvent, SpeechHeard, SpeechUnavailable


class CallTranscript:
    def __init__(self, *, record: CallRecord, privacy: CallPrivacy, store: RecordWriter, publisher: Publisher,
                 post: Callable[[IvrEvent], None], language: Callable[[], str]) -> None:
        self._record, self._privacy, self._store, self._publisher = record, privacy, store, publisher
        self._post, self._language = post, language

    async def pump(self, pipeline: SpeechPipeline, ivr: bool = True, base_ms: int = 0) -> None:
        """Until the pipeline ends. `ivr`: the caller, whose words drive the flow. `base_ms`: where
        this party's audio starts in the call (the agent's leg starts when the agent answers)."""
        rec, publish = self._record, self._publisher.publish
        async for event in pipeline:
            if isinstance(event, SpeechStarted):
                self._privacy.speech_started(event.speaker)
                if ivr:
                    self._post(CallerSpeaking())  # barge-in as soon as the VAD hears speech
                publish(SpeechStartedEvent(call_id=rec.id, speaker=event.speaker, offset_ms=event.offset_ms))
                continue
            if isinstance(event, RecognitionUnavailable):
                publish(SpeechUnavailableEvent(call_id=rec.id, speaker=event.speaker, start_ms=event.start_ms,
                                               end_ms=event.end_ms, reason=event.reason))
                if ivr:
                    self._post(SpeechUnavailable())
                continue
            assert isinstance(event, Transcript)
            text = event.text
            words = [(w.text, w.start_ms, w.end_ms, round(w.confidence, 3)) for w in event.words]
            stored = self._privacy.utterance(event.speaker, text, event.final)
            if stored != text:
                words = []  # word timings carry the words themselves
            start_ms, end_ms = event.start_ms + base_ms, event.end_ms + base_ms
            said = TranscriptPartial(call_id=rec.id, speaker=event.speaker, text=stored, start_ms=start_ms,
                                     end_ms=end_ms, engine=event.engine, segment=event.segment,
                                     language=self._language(), words=words)
            if not event.final:
                publish(said)
                continue
            rec.transcript.append(Segment(event.speaker, stored, start_ms, end_ms, event.engine))
            self._privacy.segment_stored(event.speaker)
            self._store.save(rec)  # a crash loses at most the utterance in progress
            publish(TranscriptFinal(call_id=rec.id, latency_ms=round(event.latency_ms, 1), **said.data()))
            if ivr:
                self._post(SpeechHeard(text))  # the flow itself gets what was said
