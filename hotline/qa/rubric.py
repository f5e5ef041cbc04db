"""The QA scoring rubric: criteria scored 0..max, loaded from YAML with line-precise errors, and
the validation of one review against it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hotline.system.errors import HotlineError


class RubricError(HotlineError, ValueError):
    """A rubric file or a review that does not fit it."""


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str
    max: int


@dataclass(frozen=True)
class Rubric:
    criteria: tuple[Criterion, ...]

    @property
    def max_total(self) -> int:
        return sum(c.max for c in self.criteria)

    def to_dict(self) -> dict[str, Any]:
        return {"criteria": [{"id": c.id, "label": c.label, "max": c.max} for c in self.criteria],
                "max_total": self.max_total}

    def score(self, scores: Mapping[str, Any]) -> tuple[dict[str, int], int]:
        """Validated scores per criterion and their total. Every criterion must be scored (none has a
        default, so an untouched form is not a perfect call); a criterion given as None is unscored.
        Errors name criteria by their labels, as the reviewer sees them."""
        known = {c.id: c for c in self.criteria}
        unknown = sorted(set(scores) - set(known))
        if unknown:
            raise RubricError(f"unknown criteria: {', '.join(unknown)}")
        missing = [c.label for c in self.criteria if scores.get(c.id) is None]
        if missing:
            raise RubricError(f"not scored: {'; '.join(missing)}")
        out: dict[str, int] = {}
        for criterion in self.criteria:
            value = scores[criterion.id]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= criterion.max:
                raise RubricError(f"{criterion.label}: the score must be a whole number from 0 to {criterion.max}")
            out[criterion.id] = value
        return out, sum(out.values())

    def breakdown(self, scores: Mapping[str, int]) -> list[dict[str, Any]]:
        """Validated scores as the reviewer saw them: label, score and maximum of each criterion."""
        return [{"id": c.id, "label": c.label, "score": scores[c.id], "max": c.max} for c in self.criteria]

DEFAULT = Rubric((Criterion("greeting", "Greeting", 5), Criterion("understanding", "Understanding", 10),
                  Criterion("resolution", "Resolution", 10), Criterion("courtesy", "Courtesy", 5)))


def load_rubric(path: Path) -> Rubric:
    """`criteria: [{id, label, max}]`; errors name the file and line."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except OSError as exc:
        raise RubricError(f"{path}:0: cannot read: {exc.strerror or exc}") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise RubricError(f"{path}:{mark.line + 1 if mark else 1}: invalid YAML: {exc.problem}") from exc
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data.get("criteria") if isinstance(data, dict) else None
    lines: list[int] = []
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "criteria" and isinstance(value, yaml.SequenceNode):
                lines = [item.start_mark.line + 1 for item in value.value]
    if not isinstance(items, list) or not items:
        raise RubricError(f"{path}:1: a rubric needs a non-empty 'criteria' list")
    criteria: list[Criterion] = []
    for i, item in enumerate(items):
        line = lines[i] if i < len(lines) else 1
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise RubricError(f"{path}:{line}: a criterion needs an id")
        top = item.get("max")
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise RubricError(f"{path}:{line}: {item['id']}: max must be a whole number of at least 1")
        if any(c.id == item["id"] for c in criteria):
            raise RubricError(f"{path}:{line}: duplicate criterion {item['id']!r}")
        criteria.append(Criterion(item["id"], str(item.get("label") or item["id"]), top))
    return Rubric(tuple(criteria))
