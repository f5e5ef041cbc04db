"""The tables of the reports (named columns, plain rows: the page and the CSV export use the same)
and the small helpers every report table uses; see :mod:`hotline.center.reports`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# figures that nothing in the stored records can give (the page and the final note say so)
NOT_RECORDED: dict[str, str] = {}


@dataclass(frozen=True)
class Column:
    key: str
    label: str


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "columns": [{"key": c.key, "label": c.label} for c in self.columns],
                "rows": self.rows, "note": self.note}

    def csv_rows(self) -> list[list[Any]]:
        """The header (labels) and one list per row, None as an empty cell."""
        return [[c.label for c in self.columns],
                *[["" if r.get(c.key) is None else r.get(c.key) for c in self.columns] for r in self.rows]]


def cols(*pairs: tuple[str, str]) -> list[Column]:
    return [Column(k, label) for k, label in pairs]


def rate(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def total(values: Sequence[float]) -> float:
    return round(sum(values), 1)


# --- selecting the calls ---------------------------------------------------------------------------

def queues_of(record: Mapping[str, Any]) -> set[str]:
    entries = [*(record.get("transfers") or []), *(record.get("offers") or [])]
    return {str(e["queue"]) for e in entries if isinstance(e, Mapping) and e.get("queue")}


def select(records: Iterable[Mapping[str, Any]], queue: str | None) -> list[Mapping[str, Any]]:
    """The records of calls that entered `queue` (all of them for None or "")."""
    return [r for r in records if not queue or queue in queues_of(r)]
