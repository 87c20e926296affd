"""Account chains (Ethereum and other EVM chains): export rows to legs.

Model (docs/value-flow-model.md): an address is a holder. A successful transaction moves its
``value`` from sender to recipient (or to the contract it creates); successful internal calls,
creates and self-destructs move value between contracts (from the ``traces`` export; top-level
traces repeat the transaction and are skipped, delegate/static/callcode calls move nothing);
ERC-20 ``Transfer`` events move tokens; gas is paid by the sender to the fee sink whether the
transaction succeeded or not; block and uncle rewards, genesis allocations and consensus-layer
withdrawals are minted.

A failed transaction (receipt status 0) or failed trace (status 0, or an error) moves no value.
Receipt fields come from an enriched transactions export or from a receipts export ingested in
the same run; without either, status is unknown and the transaction is taken as successful (as
it must be for blocks before Byzantium, which have no status).
"""

from __future__ import annotations

from counterflow.ingest.checks import (
    HEX40,
    HEX64,
    Check,
    amount,
    first_failure,
    hex_hash,
    row_matches,
    unsigned_int,
)
from counterflow.ingest.legs import leg_select, union_all
from counterflow.store.engine import Engine
from counterflow.store.schema import BLOCK_LEVEL_TX_INDEX, TOKEN_SEQ_BASE, TransferKind

_HEX_ADDRESS = "'^0x[0-9a-fA-F]{40}$'"


def _address_check(column: str, *, optional: bool = False) -> Check:
    """``column`` may be qualified (``t.from_address``); the field reported is the bare name."""
    bad = f"NOT regexp_matches({column}, {_HEX_ADDRESS})"
    if not optional:
        bad = f"{column} IS NULL OR {bad}"
    return Check(column.rsplit(".", 1)[-1], bad, "not an address (0x + 40 hex digits)")


def build_legs(engine: Engine) -> None:
    """Create ``legs`` from the raw account exports and the store views.

    Reads: raw_blocks, raw_transactions, raw_receipts, raw_token_transfers, raw_traces,
    store_blocks, store_transactions. Addresses are left as written: the pipeline checks
    EIP-55 on mixed-case ones before lowercasing.
    """
    block_times(engine)
    _transaction_legs(engine)
    engine.view("batch_transactions", "SELECT tx_hash, block_number, tx_index, reason FROM tx_rows")
    engine.materialize(
        "tx_positions",
        """
        SELECT tx_hash, max(tx_index) AS tx_index FROM (
            SELECT tx_hash, tx_index FROM tx_rows
            UNION ALL
            SELECT s.tx_hash, s.tx_index FROM store_transactions AS s
            WHERE s.tx_hash IN (SELECT lower(transaction_hash) FROM raw_token_transfers
                                UNION SELECT lower(transaction_hash) FROM raw_traces)
        ) AS p GROUP BY tx_hash
        """,
    )
    _trace_legs(engine)
    _token_legs(engine)
    withdrawal_legs(engine)
    engine.view(
        "legs",
        union_all(
            [
                "SELECT * FROM tx_legs",
                "SELECT * FROM trace_legs",
                "SELECT * FROM token_legs",
                "SELECT * FROM withdrawal_legs",
            ]
        ),
    )


def block_times(engine: Engine) -> None:
    """``block_times``: each block's time from the blocks export or the store.

    Rows without a ``block_timestamp`` of their own take it from here.
    """
    engine.materialize(
        "block_times",
        """
        SELECT block_number, max(ts) AS ts FROM (
            SELECT TRY_CAST("number" AS BIGINT) AS block_number,
                   TRY_CAST("timestamp" AS BIGINT) AS ts FROM raw_blocks
            UNION ALL
            SELECT block_number, CAST(epoch(block_time) AS BIGINT) FROM store_blocks
        ) AS b WHERE block_number IS NOT NULL GROUP BY block_number
        """,
    )


def _transaction_legs(engine: Engine) -> None:
    field, reason = first_failure(
        [
            hex_hash("hash", prefixed=True),
            unsigned_int("block_number"),
            unsigned_int("transaction_index"),
            _address_check("from_address"),
            _address_check("to_address", optional=True),
            *amount('"value"', "value"),
            Check(
                "receipt_status",
                "status IS NOT NULL AND status NOT IN ('0', '1')",
                "receipt status must be 0 or 1",
            ),
            Check(
                "receipt_gas_used",
                "gas_used IS NOT NULL AND NOT regexp_matches(gas_used, '^[0-9]+$')",
                "not a non-negative integer",
            ),
            Check(
                "gas_price",
                "gas_used IS NOT NULL AND (price IS NULL OR NOT regexp_matches(price, '^[0-9]+$'))",
                "missing or not a non-negative integer (needed for the fee)",
            ),
        ],
        fast_ok=row_matches(
            [
                "hash",
                "block_number",
                "transaction_index",
                "from_address",
                "coalesce(to_address, '-')",
                '"value"',
                "coalesce(status, '1')",
                "coalesce(gas_used, '0')",
                "coalesce(price, '0')",
            ],
            f"^{HEX64},[0-9]{{1,18}},[0-9]{{1,9}},{HEX40},(-|{HEX40}),[0-9]+,[01],[0-9]+,[0-9]+$",
        ),
    )
    # Receipts are reduced to one per transaction, whatever the exports repeat, so a repeated
    # receipt cannot repeat a fee or a value.
    engine.materialize(
        "tx_rows",
        f"""
        SELECT c.*, coalesce(TRY_CAST(c.ts_text AS BIGINT), bt.ts) AS block_ts
        FROM (
            SELECT t._file, t._row, lower(t.hash) AS tx_hash,
                   TRY_CAST(t.block_number AS BIGINT) AS block_number,
                   t.block_timestamp AS ts_text,
                   TRY_CAST(t.transaction_index AS INTEGER) AS tx_index,
                   t.from_address AS src,
                   coalesce(t.to_address, t.receipt_contract_address, t.r_contract) AS dst,
                   t."value" AS value_text, t.status, t.gas_used, t.price,
                   {field} AS field, {reason} AS reason
            FROM (
                SELECT x.*, coalesce(x.receipt_status, r.status) AS status,
                       coalesce(x.receipt_gas_used, r.gas_used) AS gas_used,
                       coalesce(x.receipt_effective_gas_price, r.effective_gas_price,
                                x.gas_price) AS price,
                       r.contract_address AS r_contract
                FROM raw_transactions AS x
                LEFT JOIN (
                    SELECT lower(transaction_hash) AS tx_hash, max(status) AS status,
                           max(gas_used) AS gas_used,
                           max(effective_gas_price) AS effective_gas_price,
                           max(contract_address) AS contract_address
                    FROM raw_receipts GROUP BY lower(transaction_hash)
                ) AS r ON r.tx_hash = lower(x.hash)
            ) AS t
        ) AS c
        LEFT JOIN block_times AS bt ON bt.block_number = c.block_number
        """,
    )
    common = {
        "_file": "_file",
        "_row": "_row",
        "source": "'transactions'",
        "block_number": "block_number",
        "block_ts": "block_ts",
        "tx_hash": "tx_hash",
        "tx_index": "tx_index",
        "field": "field",
        "reason": "reason",
    }
    fee = "CAST(TRY_CAST(gas_used AS DECIMAL(38,0)) * TRY_CAST(price AS DECIMAL(38,0)) AS VARCHAR)"
    fee_kind = str(int(TransferKind.FEE))
    native_kind = str(int(TransferKind.NATIVE))
    engine.view(
        "tx_legs",
        union_all(
            [
                f"""SELECT {
                    leg_select(**common, seq="0", kind=fee_kind, src="src", amount_text=fee)
                }
                    FROM tx_rows
                    WHERE reason IS NOT NULL
                       OR (gas_used IS NOT NULL AND ltrim(gas_used, '0') <> ''
                           AND ltrim(price, '0') <> '')""",
                f"""SELECT {
                    leg_select(
                        **common,
                        seq="1",
                        kind=native_kind,
                        src="src",
                        dst="dst",
                        amount_text="value_text",
                    )
                }
                    FROM tx_rows
                    WHERE reason IS NOT NULL
                       OR (coalesce(status, '1') = '1' AND ltrim(value_text, '0') <> ''
                           AND dst IS NOT NULL)""",
            ]
        ),
    )


def _trace_legs(engine: Engine) -> None:
    minted = "trace_type IN ('reward', 'genesis')"
    field, reason = first_failure(
        [
            unsigned_int("block_number"),
            Check("trace_type", "trace_type IS NULL", "missing value"),
            Check(
                "transaction_hash",
                f"NOT ({minted}) AND (transaction_hash IS NULL OR NOT "
                "regexp_matches(lower(transaction_hash), '^0x[0-9a-f]{64}$'))",
                "not a transaction hash (0x + 64 hex digits)",
            ),
            _address_check("from_address", optional=True),
            _address_check("to_address", optional=True),
            Check("to_address", f"to_address IS NULL AND {minted}", "missing value"),
            *amount('"value"', "value"),
        ]
    )
    # Value moves in successful subtraces that are plain calls, creates or self-destructs,
    # and in minting traces; top-level traces repeat their transaction.
    moves = (
        f"({minted} OR (path <> '' AND (trace_type IN ('create', 'suicide') OR "
        "(trace_type = 'call' AND coalesce(call_type, 'call') = 'call'))))"
        " AND coalesce(status, '1') = '1' AND error IS NULL"
        " AND ltrim(\"value\", '0') <> '' AND to_address IS NOT NULL"
    )
    engine.materialize(
        "trace_moves",
        f"""
        SELECT * FROM (
            SELECT x.*, {field} AS field, {reason} AS reason FROM (
                SELECT t.*, TRY_CAST(t.block_number AS BIGINT) AS block_no,
                       lower(t.transaction_hash) AS tx_hash,
                       coalesce(TRY_CAST(t.transaction_index AS INTEGER), tp.tx_index) AS tx_idx,
                       coalesce(TRY_CAST(t.block_timestamp AS BIGINT), bt.ts) AS ts,
                       regexp_replace(coalesce(t.trace_address, ''), '[\\[\\] ]', '', 'g')
                           AS path
                FROM raw_traces AS t
                LEFT JOIN block_times AS bt ON bt.block_number = TRY_CAST(t.block_number AS BIGINT)
                LEFT JOIN tx_positions AS tp ON tp.tx_hash = lower(t.transaction_hash)
            ) AS x
        ) AS y
        WHERE reason IS NOT NULL OR ({moves})
        """,
    )
    seq = f"""CASE WHEN {minted} THEN CAST(row_number() OVER (
                   PARTITION BY block_no, {minted}
                   ORDER BY trace_type, to_address, "value") AS INTEGER)
               ELSE 1 + CAST(row_number() OVER (
                   PARTITION BY tx_hash, {minted}
                   ORDER BY TRY_CAST(string_split(path, ',') AS INTEGER[])) AS INTEGER) END"""
    kind = f"""CASE trace_type WHEN 'reward' THEN {int(TransferKind.REWARD)}
               WHEN 'genesis' THEN {int(TransferKind.GENESIS)}
               ELSE {int(TransferKind.INTERNAL)} END"""
    columns = leg_select(
        _file="_file",
        _row="_row",
        source="'traces'",
        block_number="block_no",
        block_ts="ts",
        tx_hash=f"CASE WHEN {minted} THEN NULL ELSE tx_hash END",
        tx_index=f"CASE WHEN {minted} THEN {BLOCK_LEVEL_TX_INDEX} ELSE tx_idx END",
        seq=seq,
        kind=kind,
        src=f"CASE WHEN {minted} THEN NULL ELSE from_address END",
        dst="to_address",
        amount_text='"value"',
        field="field",
        reason="reason",
    )
    engine.view("trace_legs", f"SELECT {columns} FROM trace_moves")


def _token_legs(engine: Engine) -> None:
    field, reason = first_failure(
        [
            _address_check("t.token_address"),
            _address_check("t.from_address"),
            _address_check("t.to_address"),
            hex_hash("t.transaction_hash", "transaction_hash", prefixed=True),
            unsigned_int("t.log_index", "log_index"),
            unsigned_int("t.block_number", "block_number"),
            *amount('t."value"', "value"),
        ],
        fast_ok=row_matches(
            [
                "t.token_address",
                "t.from_address",
                "t.to_address",
                "t.transaction_hash",
                "t.log_index",
                "t.block_number",
                't."value"',
            ],
            f"^{HEX40},{HEX40},{HEX40},{HEX64},[0-9]{{1,9}},[0-9]{{1,18}},[0-9]+$",
        ),
    )
    engine.view(
        "token_legs",
        f"""
        SELECT {
            leg_select(
                _file="t._file",
                _row="t._row",
                source="'token_transfers'",
                block_number="TRY_CAST(t.block_number AS BIGINT)",
                block_ts="coalesce(TRY_CAST(t.block_timestamp AS BIGINT), bt.ts)",
                tx_hash="lower(t.transaction_hash)",
                tx_index="tp.tx_index",
                seq=f"{TOKEN_SEQ_BASE} + TRY_CAST(t.log_index AS INTEGER)",
                kind=str(int(TransferKind.TOKEN)),
                src="t.from_address",
                dst="t.to_address",
                asset="t.token_address",
                amount_text='t."value"',
                field=field,
                reason=reason,
            )
        }
        FROM raw_token_transfers AS t
        LEFT JOIN block_times AS bt ON bt.block_number = TRY_CAST(t.block_number AS BIGINT)
        LEFT JOIN tx_positions AS tp ON tp.tx_hash = lower(t.transaction_hash)
        """,
    )


def withdrawal_legs(engine: Engine) -> None:
    """Consensus-layer withdrawals, listed in the blocks export, amounts in gwei.

    Reads ``raw_blocks`` only, so the columnar path (:mod:`.columnar`) uses it as it is.

    JSON exports hold them as an array, CSV exports as the array's items without brackets;
    both are read as text and the objects picked out with regular expressions that both
    engines share.
    """
    engine.materialize(
        "withdrawal_items",
        """
        SELECT r._file, r._row, TRY_CAST(r."number" AS BIGINT) AS block_number,
               TRY_CAST(r."timestamp" AS BIGINT) AS block_ts,
               unnest(regexp_extract_all(r.withdrawals, '\\{[^}]*\\}')) AS item
        FROM raw_blocks AS r
        WHERE r.withdrawals IS NOT NULL
        """,
    )
    # Each value is captured whole (up to the next comma or brace) and checked afterwards,
    # so "1.5" or "1e9" is rejected rather than read as its leading digits.
    fields = """
        regexp_extract(item, '"index"\\s*:\\s*"?([^,"}]*)', 1) AS w_index,
        regexp_extract(item, '"address"\\s*:\\s*"([^"]*)"', 1) AS w_address,
        regexp_extract(item, '"amount"\\s*:\\s*"?([^,"}]*)', 1) AS w_amount
    """
    field, reason = first_failure(
        [
            Check(
                "withdrawals.address",
                f"NOT regexp_matches(w_address, {_HEX_ADDRESS})",
                "not an address (0x + 40 hex digits)",
            ),
            Check(
                "withdrawals.amount",
                "NOT regexp_matches(w_amount, '^[0-9]+$')",
                "missing or not an integer (gwei)",
            ),
        ]
    )
    columns = leg_select(
        _file="_file",
        _row="_row",
        source="'blocks'",
        block_number="block_number",
        block_ts="block_ts",
        tx_index=str(BLOCK_LEVEL_TX_INDEX),
        seq="""CAST(row_number() OVER (PARTITION BY block_number
               ORDER BY TRY_CAST(w_index AS BIGINT)) AS INTEGER)""",
        kind=str(int(TransferKind.WITHDRAWAL)),
        dst="w_address",
        amount_text="CAST(TRY_CAST(w_amount AS DECIMAL(38,0)) * 1000000000 AS VARCHAR)",
        field="field",
        reason="reason",
    )
    engine.view(
        "withdrawal_legs",
        f"""
        SELECT {columns}
        FROM (
            SELECT *, {field} AS field, {reason} AS reason
            FROM (SELECT *, {fields} FROM withdrawal_items) AS i
        ) AS w
        WHERE reason IS NOT NULL OR ltrim(w_amount, '0') <> ''
        """,
    )
