"""UTXO chains (Bitcoin and its siblings): export rows to legs.

Model (docs/value-flow-model.md): a transaction is a holder. An output is a leg from the
transaction to the address that holds it; an input is a leg from the address that held the spent
output to the spending transaction, carrying that output's outpoint; a coinbase transaction is
credited with what its outputs pay (subsidy plus the block's fees) by a leg from nowhere. The fee
of an ordinary transaction is the value its outputs do not pay on: it stays behind in the
transaction holder and reaches the miner through the coinbase, so no fee leg is written.

An input whose value or address the export does not give (bitcoin-etl without enrichment) is
resolved from the output it spends, in this batch or in the store. One that cannot be resolved
yet waits in ``pending_inputs`` and is retried by every later ingest.
"""

from __future__ import annotations

from counterflow.ingest.checks import (
    Check,
    amount,
    first_failure,
    hex_hash,
    required,
    unsigned_int,
)
from counterflow.ingest.legs import leg_select, union_all
from counterflow.store.engine import Engine
from counterflow.store.schema import UTXO_OUTPUT_SEQ_BASE, TransferKind

SOURCE = "transactions"

#: Outputs (or inputs) without exactly one address still need a stable holder. Several
#: addresses (bare multisig) hash their sorted list; none hash the locking script; shielded
#: value (Zcash) enters and leaves one pool holder.
_PSEUDO_PREFIX = "x-"


def _holder(type_: str, addresses: str, script_hex: str | None) -> str:
    """SQL for the holder of an output (or of the output an input spends)."""
    p = _PSEUDO_PREFIX
    by_script = (
        f"'{p}' || coalesce({type_}, 'unknown') || '-' || "
        f"substr(sha256(coalesce({script_hex}, '')), 1, 40)"
        if script_hex
        else "NULL"
    )
    return (
        f"CASE WHEN {type_} = 'shielded' THEN '{p}shielded-pool' "
        f"WHEN array_length({addresses}) = 1 THEN {addresses}[1] "
        f"WHEN array_length({addresses}) > 1 THEN '{p}' || coalesce({type_}, 'multi') || '-' || "
        f"substr(sha256(array_to_string({addresses}, ',')), 1, 40) "
        f"ELSE {by_script} END"
    )


def build_legs(engine: Engine) -> None:
    """Create ``legs`` and ``pending_next`` from ``raw_transactions`` and the store views.

    Reads: raw_transactions, store_transactions, store_transfers, store_addresses,
    store_pending.
    """
    tx_field, tx_reason = first_failure(
        [
            hex_hash("hash", prefixed=False),
            unsigned_int("block_number"),
            unsigned_int("block_timestamp"),
            required("inputs"),
            required("outputs"),
        ]
    )
    engine.materialize(
        "utx",
        f"""
        SELECT r._file, r._row, lower(r.hash) AS tx_hash,
               TRY_CAST(r.block_number AS BIGINT) AS block_number,
               TRY_CAST(r.block_timestamp AS BIGINT) AS block_ts,
               TRY_CAST(r."index" AS INTEGER) AS tx_index_given,
               coalesce(lower(r.is_coinbase) = 'true', array_length(r.inputs) = 0) AS coinbase,
               r.inputs, r.outputs, {tx_field} AS field, {tx_reason} AS reason
        FROM raw_transactions AS r
        """,
    )
    # Exports that omit a transaction's position (some altcoin exports) are ordered coinbase
    # first, then by hash, so the order is at least total and engine-independent.
    engine.materialize(
        "utx_pos",
        """
        SELECT u.*, coalesce(u.tx_index_given, CAST(row_number() OVER (
                   PARTITION BY u.block_number ORDER BY u.coinbase DESC, u.tx_hash) - 1
               AS INTEGER)) AS tx_index
        FROM utx AS u
        """,
    )
    engine.view("batch_transactions", "SELECT tx_hash, block_number, tx_index, reason FROM utx_pos")
    out_checks = [
        *amount('o."value"', "outputs.value"),
        unsigned_int('o."index"', "outputs.index"),
    ]
    out_field, out_reason = first_failure(out_checks)
    engine.materialize(
        "out_legs",
        f"""
        SELECT {
            leg_select(
                _file="_file",
                _row="_row",
                source=f"'{SOURCE}'",
                block_number="block_number",
                block_ts="block_ts",
                tx_hash="tx_hash",
                tx_index="tx_index",
                seq=f'{UTXO_OUTPUT_SEQ_BASE} + TRY_CAST(o."index" AS INTEGER)',
                kind=str(int(TransferKind.OUTPUT)),
                dst=_holder('o."type"', "o.addresses", "o.script_hex"),
                amount_text='o."value"',
                field=f"coalesce(field, {out_field})",
                reason=f"coalesce(reason, {out_reason})",
            )
        }
        FROM (SELECT *, unnest(outputs) AS o FROM utx_pos) AS x
        """,
    )
    coinbase_check = Check("outputs.value", "sum_bad > 0", "an output value is invalid")
    cb_field, cb_reason = first_failure([coinbase_check])
    engine.materialize(
        "coinbase_legs",
        f"""
        SELECT {
            leg_select(
                _file="_file",
                _row="_row",
                source=f"'{SOURCE}'",
                block_number="block_number",
                block_ts="block_ts",
                tx_hash="tx_hash",
                tx_index="tx_index",
                seq="0",
                kind=str(int(TransferKind.COINBASE)),
                amount_text="CAST(total AS VARCHAR)",
                field=f"coalesce(field, {cb_field})",
                reason=f"coalesce(reason, {cb_reason})",
            )
        }
        FROM (
            SELECT u._file, u._row, u.block_number, u.block_ts, u.tx_hash, u.tx_index,
                   u.field, u.reason,
                   sum(TRY_CAST(l.amount_text AS DECIMAL(38,0))) AS total,
                   count(*) FILTER (WHERE l.reason IS NOT NULL) AS sum_bad
            FROM utx_pos AS u JOIN out_legs AS l ON l.tx_hash = u.tx_hash
                 AND l.block_number = u.block_number
            WHERE u.coinbase
            GROUP BY u._file, u._row, u.block_number, u.block_ts, u.tx_hash, u.tx_index,
                     u.field, u.reason
        ) AS c
        """,
    )
    engine.materialize(
        "in_raw",
        """
        SELECT x._file, x._row, x.block_number, x.block_ts, x.tx_hash, x.tx_index,
               x.field, x.reason,
               TRY_CAST(i."index" AS INTEGER) AS in_index,
               lower(i.spent_transaction_hash) AS prev_hash,
               TRY_CAST(i.spent_output_index AS INTEGER) AS prev_vout,
               i."value" AS own_value, i."type" AS in_type, i.addresses AS in_addresses,
               i."index" AS in_index_text
        FROM (SELECT *, unnest(inputs) AS i FROM utx_pos WHERE NOT coinbase) AS x
        """,
    )
    in_own_holder = _holder("in_type", "in_addresses", None)
    in_field, in_reason = first_failure(
        [
            unsigned_int("in_index_text", "inputs.index"),
            Check(
                "inputs.spent_transaction_hash",
                "in_type IS DISTINCT FROM 'shielded' AND (prev_hash IS NULL OR "
                "NOT regexp_matches(prev_hash, '^[0-9a-f]{64}$'))",
                "not a transaction hash (64 hex digits)",
            ),
            Check(
                "inputs.value",
                "own_value IS NOT NULL AND NOT regexp_matches(own_value, '^[0-9]+$')",
                "amount is not a non-negative integer",
            ),
        ]
    )
    # Inputs that name their own address and value need nothing else; the rest are resolved
    # from the output they spend.
    engine.materialize(
        "in_checked",
        f"""
        SELECT *, {in_own_holder} AS own_holder,
               coalesce(field, {in_field}) AS bad_field,
               coalesce(reason, {in_reason}) AS bad_reason
        FROM in_raw
        """,
    )
    engine.materialize(
        "wanted_outpoints",
        """
        SELECT DISTINCT prev_hash, prev_vout FROM (
            SELECT prev_hash, prev_vout FROM in_checked
            WHERE bad_reason IS NULL AND (own_holder IS NULL OR own_value IS NULL)
            UNION ALL
            SELECT prev_tx_hash AS prev_hash, prev_vout FROM store_pending
        ) AS w
        """,
    )
    engine.materialize(
        "known_outputs",
        f"""
        SELECT prev_hash, prev_vout, arg_max(holder, block_number) AS holder,
               arg_max(amount_text, block_number) AS amount_text
        FROM (
            SELECT l.tx_hash AS prev_hash, l.seq - {UTXO_OUTPUT_SEQ_BASE} AS prev_vout,
                   l.dst AS holder, l.amount_text, l.block_number
            FROM out_legs AS l
            WHERE l.reason IS NULL
              AND EXISTS (SELECT 1 FROM wanted_outpoints AS w WHERE w.prev_hash = l.tx_hash)
            UNION ALL
            SELECT t.tx_hash, f.seq - {UTXO_OUTPUT_SEQ_BASE}, a.address,
                   CAST(f.amount AS VARCHAR), f.block_number
            FROM store_transfers AS f
            JOIN store_transactions AS t ON t.tx_id = f.tx_id
            JOIN store_addresses AS a ON a.address_id = f.dst_id
            WHERE f.kind = {int(TransferKind.OUTPUT)}
              AND EXISTS (SELECT 1 FROM wanted_outpoints AS w WHERE w.prev_hash = t.tx_hash)
        ) AS o
        GROUP BY prev_hash, prev_vout
        """,
    )
    # Each input once joined with the output it spends: its holder and value, own or found.
    engine.materialize(
        "in_resolved",
        """
        SELECT c.*, coalesce(c.own_holder, k.holder) AS holder,
               coalesce(c.own_value, k.amount_text) AS value_text,
               coalesce(c.own_holder, k.holder) IS NOT NULL
                   AND coalesce(c.own_value, k.amount_text) IS NOT NULL AS resolved
        FROM in_checked AS c
        LEFT JOIN known_outputs AS k ON k.prev_hash = c.prev_hash AND k.prev_vout = c.prev_vout
        """,
    )
    input_kind = str(int(TransferKind.INPUT))
    fresh_inputs = f"""
        SELECT {
        leg_select(
            _file="c._file",
            _row="c._row",
            source=f"'{SOURCE}'",
            block_number="c.block_number",
            block_ts="c.block_ts",
            tx_hash="c.tx_hash",
            tx_index="c.tx_index",
            seq="c.in_index",
            kind=input_kind,
            src="c.holder",
            amount_text="c.value_text",
            prev_hash="c.prev_hash",
            prev_vout="c.prev_vout",
            field="c.bad_field",
            reason="c.bad_reason",
        )
    }
        FROM in_resolved AS c
        WHERE c.bad_reason IS NOT NULL OR c.resolved
    """
    retried_inputs = f"""
        SELECT {
        leg_select(
            _file="'pending:' || p.tx_hash",
            _row="p.seq",
            source="'pending'",
            block_number="p.block_number",
            block_ts="CAST(epoch(p.block_time) AS BIGINT)",
            tx_hash="p.tx_hash",
            tx_index="p.tx_index",
            seq="p.seq",
            kind=input_kind,
            src="k.holder",
            amount_text="k.amount_text",
            prev_hash="p.prev_tx_hash",
            prev_vout="p.prev_vout",
        )
    }
        FROM store_pending AS p
        JOIN known_outputs AS k ON k.prev_hash = p.prev_tx_hash AND k.prev_vout = p.prev_vout
    """
    engine.view(
        "legs",
        union_all(
            [
                "SELECT * FROM out_legs",
                "SELECT * FROM coinbase_legs",
                fresh_inputs,
                retried_inputs,
            ]
        ),
    )
    engine.materialize(
        "pending_candidates",
        """
        SELECT c._file, c._row, c.block_number, c.tx_index, c.in_index AS seq, c.tx_hash,
               c.prev_hash AS prev_tx_hash, c.prev_vout, to_timestamp(c.block_ts) AS block_time
        FROM in_resolved AS c
        WHERE c.bad_reason IS NULL AND NOT c.resolved
        UNION ALL
        SELECT 'pending', CAST(NULL AS BIGINT), p.block_number, p.tx_index, p.seq, p.tx_hash,
               p.prev_tx_hash, p.prev_vout, p.block_time
        FROM store_pending AS p
        WHERE NOT EXISTS (SELECT 1 FROM known_outputs AS k
                          WHERE k.prev_hash = p.prev_tx_hash AND k.prev_vout = p.prev_vout)
        """,
    )
