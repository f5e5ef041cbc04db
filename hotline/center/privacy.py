"""What of a caller's words may be kept: the per-speaker redactor a call session uses.

Final utterances go through :class:`hotline.qa.redact.CallRedactor` (state across utterances: a
card number split over two sentences, the security code after a card number); partial results,
which are shown live and then replaced, go through the stateless :class:`~hotline.qa.redact.Redactor`.
"""

from __future__ import annotations

from collections.abc import Callable

from hotline.qa.redact import CallRedactor, Redacted, RedactionConfig, Redactor


class UtteranceRedactor:
    def __init__(self, redactor: Redactor, language: str) -> None:
        self.language = language
        self._redactor = redactor
        self._call = CallRedactor(redactor, language)

    def redact(self, text: str) -> tuple[Redacted, Redacted | None]:
        """A final utterance: (this one redacted, the previous one corrected or None)."""
        return self._call.redact(text)

    def preview(self, text: str) -> str:
        return self._redactor.redact(text, self.language).text


def redactor_factory(config: RedactionConfig | None = None) -> Callable[[str], UtteranceRedactor]:
    redactor = Redactor(config)
    return lambda language: UtteranceRedactor(redactor, language)


default_redactor = redactor_factory()
