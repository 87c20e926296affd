"""The intermediate shape every family's transform produces: one *leg* per movement of value.

A leg is a transfer before dictionary encoding: holders are still address strings and the
transaction is still its hash. It also carries where it came from (``_file``, ``_row``), which
export produced it (``source``, the unit of idempotence), and the first problem found with its
source row (``field``, ``reason``). The shared pipeline validates addresses, drops what the
store already has, assigns ids and writes the transfers.
"""

from __future__ import annotations

LEG_COLUMNS: dict[str, str] = {
    "_file": "VARCHAR",
    "_row": "BIGINT",
    "source": "VARCHAR",
    "block_number": "BIGINT",
    "block_ts": "BIGINT",
    "tx_hash": "VARCHAR",
    "tx_index": "INTEGER",
    "seq": "INTEGER",
    "kind": "INTEGER",
    "src": "VARCHAR",
    "dst": "VARCHAR",
    "asset": "VARCHAR",
    "amount_text": "VARCHAR",
    "prev_hash": "VARCHAR",
    "prev_vout": "INTEGER",
    "field": "VARCHAR",
    "reason": "VARCHAR",
}


def leg_select(**exprs: str) -> str:
    """A SELECT list in leg column order; columns not given are typed NULLs."""
    unknown = set(exprs) - set(LEG_COLUMNS)
    if unknown:
        raise ValueError(f"not leg columns: {sorted(unknown)}")
    return ", ".join(
        f"CAST({exprs[c]} AS {t}) AS {c}" if c in exprs else f"CAST(NULL AS {t}) AS {c}"
        for c, t in LEG_COLUMNS.items()
    )


def union_all(selects: list[str]) -> str:
    if not selects:
        return f"SELECT {leg_select()} WHERE false"
    return " UNION ALL ".join(f"SELECT * FROM ({s}) AS _u{i}" for i, s in enumerate(selects))
