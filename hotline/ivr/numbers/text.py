"""What the readers of numbers share: the language test and the normalisation of recogniser text."""

from __future__ import annotations

import unicodedata


def is_chinese(language: str) -> bool:
    return language.strip().lower().replace("_", "-").split("-")[0] in {"zh", "cmn", "yue"}


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("`", "'")

