"""The canonical column is written a chunk of rows at a time, each run of texts between
replaced ones moved as one block: it must come out as the item-by-item definition says, with
replacements longer, shorter, empty or null, anywhere in a column of several chunks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from counterflow.screening.codecs import rewritten


def reference(
    texts: list[str], upper: np.ndarray, rows: list[int], values: list[str | None]
) -> list[str | None]:
    out: list[str | None] = [t.lower() if upper[i] else t for i, t in enumerate(texts)]
    for r, v in zip(rows, values, strict=True):
        out[r] = v
    return out


@pytest.mark.parametrize("replaced", [0, 1, 40, 3000])
def test_rewritten_matches_its_definition(replaced: int) -> None:
    rng = np.random.default_rng(replaced)
    n = 10_000  # a few chunks of 4096 rows
    letters = np.array(list("aBcDxYz0123"))
    texts = ["".join(rng.choice(letters, int(rng.integers(0, 12)))) for _ in range(n)]
    upper = rng.random(n) < 0.3
    rows = rng.choice(n, replaced, replace=False).tolist()  # in no order
    pool = ["", "Q", "longer replacement text", None]
    values = [pool[int(rng.integers(len(pool)))] for _ in rows]
    column = pa.array(["pad", *texts], pa.large_string()).slice(1)  # an offset to honour
    out = rewritten(column, upper, np.array(rows, np.int64), values)
    assert out.type == pa.string()
    assert out.to_pylist() == reference(texts, upper, rows, values)
