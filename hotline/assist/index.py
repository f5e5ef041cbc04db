"""Sparse inverted indexes over article fields: field-weighted BM25 coverage and TF-IDF cosine.

Both scorers return, for a query, one score per article in ``[0, 1]``, so that thresholds
mean the same thing whatever the query length:

* ``bm25``: the share of the query's IDF mass that the article covers, each term saturated
  BM25-style over the field-weighted term frequency (title and tags count more than steps).
* ``cosine``: cosine between TF-IDF vectors (sublinear term frequency).

Postings are numpy arrays per term, so a query costs one vector add per query term, not per
article.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

Features = Mapping[str, float]
FieldFeatures = Mapping[str, Features]
Scores = npt.NDArray[np.float64]
Mode = Literal["bm25", "cosine"]


class SparseIndex:
    """An inverted index over ``n_docs`` documents, each a set of weighted fields of features."""

    def __init__(self, docs: Sequence[FieldFeatures], field_weights: Mapping[str, float], *,
                 mode: Mode = "bm25", k1: float = 1.2, b: float = 0.5, unknown_weight: float = 0.5) -> None:
        self.n_docs = len(docs)
        self.mode: Mode = mode
        self.unknown_weight = unknown_weight
        lengths: dict[str, list[float]] = {f: [sum(d.get(f, {}).values()) for d in docs] for f in field_weights}
        avg = {f: (sum(v) / len(v) if v and sum(v) > 0 else 1.0) for f, v in lengths.items()}
        combined: list[dict[str, float]] = []
        df: dict[str, int] = defaultdict(int)
        for i, doc in enumerate(docs):
            tf: dict[str, float] = defaultdict(float)
            for name, weight in field_weights.items():
                feats = doc.get(name, {})
                if not feats:
                    continue
                norm = 1.0 - b + b * lengths[name][i] / avg[name] if mode == "bm25" else 1.0
                for term, count in feats.items():
                    tf[term] += weight * count / norm
            for term in tf:
                df[term] += 1
            combined.append(tf)
        n = max(self.n_docs, 1)
        self.idf: dict[str, float] = {t: math.log(1.0 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self.unknown_idf = math.log(1.0 + (n + 0.5) / 0.5)
        rows: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, tf in enumerate(combined):
            if mode == "bm25":
                for term, value in tf.items():
                    rows[term].append((i, value * (k1 + 1.0) / (value + k1) / (k1 + 1.0)))
            else:
                vec = {t: (1.0 + math.log(v)) * self.idf[t] if v >= 1.0 else v * self.idf[t] for t, v in tf.items()}
                length = math.sqrt(sum(x * x for x in vec.values())) or 1.0
                for term, value in vec.items():
                    rows[term].append((i, value / length))
        self.postings: dict[str, tuple[npt.NDArray[np.intp], Scores]] = {
            term: (np.fromiter((i for i, _ in row), dtype=np.intp, count=len(row)),
                   np.fromiter((v for _, v in row), dtype=np.float64, count=len(row)))
            for term, row in rows.items()
        }

    def _idf(self, term: str) -> float:
        idf = self.idf.get(term)
        return self.unknown_idf * self.unknown_weight if idf is None else idf

    def score(self, query: Features) -> Scores:
        """Scores in ``[0, 1]`` of every document for a query of ``term -> weight``."""
        scores = np.zeros(self.n_docs, dtype=np.float64)
        if not query:
            return scores
        total = 0.0
        if self.mode == "bm25":
            for term, weight in query.items():
                qw = weight * self._idf(term)
                total += qw
                posting = self.postings.get(term)
                if posting is not None:
                    scores[posting[0]] += qw * posting[1]
        else:
            for term, weight in query.items():
                qw = ((1.0 + math.log(weight)) if weight >= 1.0 else weight) * self._idf(term)
                total += qw * qw
                posting = self.postings.get(term)
                if posting is not None:
                    scores[posting[0]] += qw * posting[1]
            total = math.sqrt(total)
        if total > 0.0:
            scores /= total
        return scores
