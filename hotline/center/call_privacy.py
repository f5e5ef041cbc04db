"""What of a call may be kept: nothing said or keyed at a `sensitive` flow node, card numbers and
other PII replaced by markers elsewhere, and the flow's variables withheld or redacted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hotline.center.privacy import UtteranceRedactor
from hotline.center.records import CallRecord
from hotline.ivr.engine import IvrEngine
from hotline.ivr.model import FlowSet
from hotline.qa.redact import RedactionConfig, Redactor

SENSITIVE = "[sensitive]"
REDACTED = "[redacted]"


class CallPrivacy:
    def __init__(self, *, engine: IvrEngine, record: CallRecord, flows: FlowSet,
                 redactor: Callable[[str], UtteranceRedactor], language: Callable[[], str]) -> None:
        self._engine, self._record = engine, record
        self._make_redactor, self._language = redactor, language
        self._redactors: dict[str, UtteranceRedactor] = {}  # per speaker
        self._value_redactor = Redactor(RedactionConfig(phones=False, emails=False))  # the caller's own number stays
        self._last_segment: dict[str, int] = {}  # per speaker: index of the last final segment
        self._started_sensitive: dict[str, bool] = {}  # per speaker: the utterance began at a sensitive node
        self._sensitive_vars = {node.var for f in flows.flows.values() for node in f.nodes.values()
                                if node.sensitive and node.var}

    @property
    def sensitive(self) -> bool:
        """The caller is at a `sensitive` node: no recording, no stored keys or words."""
        node = self._engine.node
        return node is not None and node.sensitive and not self._engine.finished

    def speech_started(self, speaker: str) -> None:
        # an utterance begun at a sensitive node stays sensitive, however late its final comes
        self._started_sensitive[speaker] = self.sensitive

    def digit(self, digit: str) -> str:
        return "*" if self.sensitive else digit  # keys at a sensitive node: when, not which

    def audio(self, pcm: bytes) -> bytes:
        return bytes(len(pcm)) if self.sensitive else pcm  # silence while sensitive

    def utterance(self, speaker: str, text: str, final: bool) -> str:
        """What may be kept and shown of an utterance: nothing at a sensitive node; card numbers,
        security codes, phone numbers and e-mail addresses replaced by markers elsewhere."""
        begun_sensitive = self._started_sensitive.get(speaker, False)
        if final:
            self._started_sensitive[speaker] = False
        if self.sensitive or begun_sensitive:
            return SENSITIVE
        redactor = self._redactors.get(speaker)
        if redactor is None:
            redactor = self._redactors[speaker] = self._make_redactor(self._language())
        if not final:
            return redactor.preview(text)
        current, previous = redactor.redact(text)
        index = self._last_segment.get(speaker)
        if previous is not None and index is not None:  # a card number split over two utterances
            self._record.transcript[index].text = previous.text
        return current.text

    def segment_stored(self, speaker: str) -> None:
        """The speaker's final was appended to the record: a card number's second half may amend it."""
        self._last_segment[speaker] = len(self._record.transcript) - 1

    def bot_entries(self) -> list[dict[str, Any]]:
        """The voice bot's questions as kept: card numbers and the like in a question replaced."""
        return [{**entry, "question": self._value_redactor.redact(str(entry.get("question", "")),
                                                                  self._language()).text}
                for entry in self._engine.bot]

    def stored_variables(self) -> dict[str, str]:
        """The flow's variables as kept: those sensitive nodes collect are withheld, card numbers in
        the others replaced by a marker (the flow itself keeps the real values)."""
        out: dict[str, str] = {}
        for key, value in self._engine.variables.items():
            if key in self._sensitive_vars:
                out[key] = REDACTED
            elif value.isdigit():
                out[key] = self._value_redactor.redact_digits(value).text
            else:
                out[key] = self._value_redactor.redact(value, self._language()).text
        return out
