"""The clustering rules, as SQL both engines run (DuckDB's dialect, transpiled for Spark).

Each rule turns transfers into *links*: rows ``(address_id, linked_id, rule, tx_id,
block_number, confidence)`` saying that two addresses are controlled by one actor, and which
transaction shows it. Connected components over the links are the entities. The exact rules,
their confidences and their failure modes are in docs/clustering.md; the constants below are the
parameters it quotes.

The SQL reads named relations the job registers: ``transfers`` and ``addresses`` (the chain's
store tables) and, for an incremental run on a UTXO chain, ``scope`` (the transactions touched
by new transfers; a full run evaluates every transaction and needs none).
"""

from __future__ import annotations

from dataclasses import dataclass

from counterflow.store.schema import TransferKind

MULTI_INPUT = "multi-input"
CHANGE = "change"
DEPOSIT = "deposit"
RULES = (MULTI_INPUT, CHANGE, DEPOSIT)

#: Nominal confidence of each rule's links. Multi-input is a protocol fact (spending needs the
#: keys) broken only by collaborative transactions, which the CoinJoin filter removes; change
#: and deposit detection infer intent from patterns and are weaker.
CONFIDENCE = {MULTI_INPUT: 0.95, CHANGE: 0.6, DEPOSIT: 0.8}

#: CoinJoin, equal-output rounds: at least this many outputs share the most common value, the
#: inputs come from two addresses or more, and every other output can be one participant's
#: change (outputs ≤ 2 × equal outputs + 1). Inputs are not required to outnumber the equal
#: outputs: a participant may take several (the heists in the simulator do).
COINJOIN_MIN_EQUAL_OUTPUTS = 2
#: CoinJoin, denomination mixes (Wasabi 2 style): this many inputs and outputs or more, and at
#: least half of the outputs share their value with another output.
COINJOIN_MIX_MIN_IN_OUT = 10

#: Change: an output whose value is a multiple of this many base units (0.001 BTC) looks like a
#: payment, not change.
ROUND_VALUE_UNIT = 100_000

#: Deposit: the hot wallet receives sweeps from at least this many distinct deposit addresses.
DEPOSIT_MIN_DEPOSITORS = 5
#: Deposit: the first sweep comes within this many days of the first customer payment.
DEPOSIT_SWEEP_DAYS = 7
#: Deposit: the sweeps forward at least this share of what customers paid in, per asset.
DEPOSIT_MIN_FORWARDED = 0.5

LINK_COLUMNS = "address_id, linked_id, rule, tx_id, block_number, confidence"


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Which rules a run applies; part of the stored clustering state."""

    multi_input: bool = True
    change: bool = False
    deposit: bool = True

    def names(self) -> list[str]:
        chosen = (self.multi_input, self.change, self.deposit)
        return [name for name, on in zip(RULES, chosen, strict=True) if on]


def _literal(rule: str) -> str:
    return f"CAST('{rule}' AS VARCHAR) AS rule, CAST({CONFIDENCE[rule]} AS DOUBLE) AS confidence"


def _script_type(column: str) -> str:
    """The address type as far as its text tells: bech32 prefix + witness version + length,
    else the leading character (P2PKH ``1``, P2SH ``3`` on Bitcoin). Change keeps its wallet's
    type, so a type mismatch rules a candidate out."""
    sep = f"strpos({column}, '1')"
    return (
        f"CASE WHEN {sep} BETWEEN 2 AND 5 AND lower({column}) = {column} "
        f"THEN substr({column}, 1, {sep} + 1) || CAST(length({column}) AS VARCHAR) "
        f"ELSE substr({column}, 1, 1) END"
    )


def utxo_prelude(*, scoped: bool = True) -> list[tuple[str, str]]:
    """Relations the UTXO rules share, in order: (name, SQL).

    ``scoped``: only the transactions of the relation ``scope`` (an incremental run's new
    ones). Unscoped, every input and output is read without that join: outputs of
    transactions without inputs (coinbases) then enter ``outs`` and ``out_stats``, which every
    rule only reads joined to a transaction's inputs, so the links are the same.
    """
    i, o = int(TransferKind.INPUT), int(TransferKind.OUTPUT)
    join = "JOIN scope s ON s.tx_id = t.tx_id " if scoped else ""
    return [
        ("pseudo", "SELECT address_id FROM addresses WHERE address LIKE 'x-%'"),
        (
            "ins",
            "SELECT t.tx_id, t.src_id AS address_id, t.block_number FROM transfers t "
            f"{join}WHERE t.kind = {i} AND t.src_id IS NOT NULL",
        ),
        (
            "outs",
            "SELECT t.tx_id, t.dst_id AS address_id, t.amount FROM transfers t "
            f"{join}WHERE t.kind = {o} AND t.dst_id IS NOT NULL",
        ),
        (
            # One row per (transaction, input address): the distinct inputs, counted once.
            # A transaction's inputs all carry its block, so the block is the pair's too.
            "in_pairs",
            "SELECT tx_id, address_id, count(*) AS k, min(block_number) AS block_number "
            "FROM ins GROUP BY tx_id, address_id",
        ),
        (
            "in_stats",
            "SELECT tx_id, sum(k) AS n_in, count(*) AS n_in_addresses, "
            "min(block_number) AS block_number FROM in_pairs GROUP BY tx_id",
        ),
        (
            "out_stats",
            "SELECT tx_id, sum(n) AS n_out, max(n) AS max_equal, "
            "sum(CASE WHEN n >= 2 THEN n ELSE 0 END) AS n_shared FROM "
            "(SELECT tx_id, amount, count(*) AS n FROM outs WHERE amount > 0 "
            "GROUP BY tx_id, amount) v GROUP BY tx_id",
        ),
        (
            "coinjoin",
            "SELECT i.tx_id FROM in_stats i JOIN out_stats o ON o.tx_id = i.tx_id WHERE "
            f"(o.max_equal >= {COINJOIN_MIN_EQUAL_OUTPUTS} AND i.n_in_addresses >= 2 "
            "AND o.n_out <= 2 * o.max_equal + 1) OR "
            f"(i.n_in >= {COINJOIN_MIX_MIN_IN_OUT} AND o.n_out >= {COINJOIN_MIX_MIN_IN_OUT} "
            "AND 2 * o.n_shared >= o.n_out)",
        ),
        (
            # Inputs that can be clustered: real addresses of transactions that are no CoinJoin.
            "spends",
            "SELECT i.tx_id, i.address_id, i.block_number FROM in_pairs i "
            "LEFT JOIN pseudo p ON p.address_id = i.address_id "
            "LEFT JOIN coinjoin c ON c.tx_id = i.tx_id "
            "WHERE p.address_id IS NULL AND c.tx_id IS NULL",
        ),
        (
            "spenders",
            "SELECT tx_id, min(address_id) AS rep, count(*) AS n, "
            "min(block_number) AS block_number FROM spends GROUP BY tx_id",
        ),
    ]


def coinjoin_query(transfers: str, addresses: str) -> str:
    """The ids of the CoinJoin transactions among ``transfers`` (every transaction in scope).

    The same detection the multi-input rule applies (the ``coinjoin`` relation of
    :func:`utxo_prelude`), as one query over the given relations, so that tracing treats exactly
    the transactions clustering refuses to merge as CoinJoins.
    """
    ctes = [
        ("transfers", f"SELECT * FROM {transfers}"),
        ("addresses", f"SELECT * FROM {addresses}"),
    ]
    for name, sql in utxo_prelude(scoped=False):
        ctes.append((name, sql))
        if name == "coinjoin":
            break
    body = ", ".join(f"{name} AS ({sql})" for name, sql in ctes)
    return f"WITH {body} SELECT tx_id FROM coinjoin ORDER BY tx_id"


def multi_input_links() -> str:
    """Every input address of a transaction is linked to the transaction's smallest one."""
    return (
        "SELECT s.address_id, r.rep AS linked_id, s.tx_id, r.block_number, "
        f"{_literal(MULTI_INPUT)} FROM spends s JOIN spenders r ON r.tx_id = s.tx_id "
        "WHERE r.n >= 2 AND s.address_id <> r.rep"
    )


def change_links() -> str:
    """The one output that is fresh, not round and of the inputs' type is the payer's change."""
    typed = _script_type("a.address")
    return f"""
WITH in_types AS (
  SELECT s.tx_id, min({typed}) AS t, count(DISTINCT {typed}) AS nt
  FROM spends s JOIN addresses a ON a.address_id = s.address_id GROUP BY s.tx_id
), pays_input AS (
  SELECT DISTINCT o.tx_id FROM outs o
  JOIN ins i ON i.tx_id = o.tx_id AND i.address_id = o.address_id
), candidates AS (
  SELECT o.tx_id, min(o.address_id) AS address_id, count(*) AS n
  FROM outs o
  JOIN spenders r ON r.tx_id = o.tx_id
  JOIN in_types it ON it.tx_id = o.tx_id
  JOIN addresses a ON a.address_id = o.address_id
  WHERE it.nt = 1 AND a.first_block = r.block_number AND a.address NOT LIKE 'x-%'
    AND o.amount % {ROUND_VALUE_UNIT} <> 0 AND {typed} = it.t
  GROUP BY o.tx_id
)
SELECT c.address_id, r.rep AS linked_id, c.tx_id, r.block_number, {_literal(CHANGE)}
FROM candidates c
JOIN spenders r ON r.tx_id = c.tx_id
JOIN out_stats os ON os.tx_id = c.tx_id
LEFT JOIN pays_input p ON p.tx_id = c.tx_id
WHERE c.n = 1 AND os.n_out >= 2 AND p.tx_id IS NULL AND c.address_id <> r.rep
"""


def deposit_links() -> str:
    """Addresses that only ever forward customers' payments to one busy hot wallet."""
    value_kinds = ", ".join(
        str(int(k)) for k in (TransferKind.NATIVE, TransferKind.INTERNAL, TransferKind.TOKEN)
    )
    top_level = ", ".join(str(int(k)) for k in (TransferKind.NATIVE, TransferKind.FEE))
    return f"""
WITH v AS (
  SELECT src_id, dst_id, asset_id, amount, block_time, tx_id, block_number FROM transfers
  WHERE kind IN ({value_kinds}) AND src_id IS NOT NULL AND dst_id IS NOT NULL
    AND src_id <> dst_id AND amount IS NOT NULL
), fan_out AS (
  SELECT src_id AS a, count(DISTINCT dst_id) AS n_dst, min(dst_id) AS only_dst
  FROM v GROUP BY src_id
), forwarders AS (
  SELECT v.src_id AS d, f.only_dst AS h, min(v.block_time) AS t1, min(v.tx_id) AS tx_id,
         min(v.block_number) AS block_number
  FROM v JOIN fan_out f ON f.a = v.src_id WHERE f.n_dst = 1
  GROUP BY v.src_id, f.only_dst
), eoa AS (
  SELECT DISTINCT src_id AS a FROM transfers WHERE kind IN ({top_level}) AND src_id IS NOT NULL
), paid_in AS (
  SELECT f.d, v.asset_id, sum(v.amount) AS amount, min(v.block_time) AS t0
  FROM forwarders f JOIN v ON v.dst_id = f.d AND v.src_id <> f.h GROUP BY f.d, v.asset_id
), swept AS (
  SELECT f.d, v.asset_id, sum(v.amount) AS amount
  FROM forwarders f JOIN v ON v.src_id = f.d GROUP BY f.d, v.asset_id
), deposits AS (
  SELECT f.d, f.h, f.tx_id, f.block_number
  FROM forwarders f
  JOIN swept s ON s.d = f.d
  LEFT JOIN paid_in p ON p.d = f.d AND p.asset_id = s.asset_id
  JOIN eoa e ON e.a = f.h
  JOIN fan_out hf ON hf.a = f.h
  WHERE hf.n_dst >= 2
  GROUP BY f.d, f.h, f.tx_id, f.block_number, f.t1
  HAVING bool_and(p.amount IS NOT NULL AND s.amount >= {DEPOSIT_MIN_FORWARDED} * p.amount
                  AND s.amount <= p.amount)
     AND min(p.t0) <= f.t1 AND f.t1 <= min(p.t0) + INTERVAL {DEPOSIT_SWEEP_DAYS} DAY
), hot AS (
  SELECT h FROM deposits GROUP BY h HAVING count(*) >= {DEPOSIT_MIN_DEPOSITORS}
)
SELECT d.d AS address_id, d.h AS linked_id, d.tx_id, d.block_number, {_literal(DEPOSIT)}
FROM deposits d JOIN hot ON hot.h = d.h
"""
