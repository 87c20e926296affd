"""Pairwise precision and recall of a clustering against known owners.

Pairwise scores count pairs of addresses: a predicted pair (same entity) is correct when both
have the same true owner. Unlike per-cluster purity they weigh a wrong merge of two large
clusters by the number of address pairs it wrongly joins, which is what an investigator pays
for when a cluster is expanded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class PairScore:
    precision: float
    recall: float
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int

    def to_json(self) -> dict[str, float | int]:
        return asdict(self)


def _pairs(labels: npt.NDArray[np.int64]) -> int:
    if labels.size == 0:
        return 0
    _, counts = np.unique(labels, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def pairwise_scores(entities: npt.ArrayLike, owners: npt.ArrayLike) -> PairScore:
    """Score ``entities`` (predicted label per address) against ``owners`` (true label).

    Both are aligned arrays of integers over the addresses to score; addresses without a known
    owner must be left out by the caller. With no pair predicted, precision is 1 (nothing wrong
    was claimed); with no true pair, recall is 1.
    """
    predicted = np.asarray(entities, dtype=np.int64)
    truth = np.asarray(owners, dtype=np.int64)
    if predicted.shape != truth.shape:
        raise ValueError("entities and owners must be aligned arrays of one length")
    # One combined label per (entity, owner) cell: pairs inside a cell are correct.
    _, owner_codes = np.unique(truth, return_inverse=True)
    _, entity_codes = np.unique(predicted, return_inverse=True)
    cells = entity_codes.astype(np.int64) * (int(owner_codes.max(initial=0)) + 1) + owner_codes
    predicted_pairs = _pairs(entity_codes.astype(np.int64))
    true_pairs = _pairs(owner_codes.astype(np.int64))
    correct = _pairs(cells)
    return PairScore(
        precision=correct / predicted_pairs if predicted_pairs else 1.0,
        recall=correct / true_pairs if true_pairs else 1.0,
        predicted_pairs=predicted_pairs,
        true_pairs=true_pairs,
        correct_pairs=correct,
    )
