"""The value-flow schema: the tables every chain is stored as, whatever its family.

Column types are written once, as SQL types both engines understand, so the embedded and the
Spark engine write identical Parquet. Money is ``DECIMAL(38,0)`` (integers in base units: wei
overflows 64 bits above ~9.2 ETH); a token amount too wide even for that is kept exactly as text
in ``amount_raw`` with ``amount`` NULL, never rounded or dropped.

See docs/value-flow-model.md for the meaning of every column.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class TransferKind(IntEnum):
    """What moved value; stored as a small integer in ``transfers.kind``."""

    INPUT = 1  # UTXO: address -> transaction (spends an earlier output)
    OUTPUT = 2  # UTXO: transaction -> address
    COINBASE = 3  # UTXO: newly minted -> coinbase transaction (subsidy + fees)
    NATIVE = 4  # account: top-level value of a successful transaction
    INTERNAL = 5  # account: value moved by a successful internal call, create or selfdestruct
    TOKEN = 6  # account: ERC-20 / TRC-20 Transfer event
    FEE = 7  # account: gas paid by the sender, to the fee sink (dst NULL)
    REWARD = 8  # account: block or uncle reward, minted (src NULL)
    GENESIS = 9  # account: genesis allocation, minted (src NULL)
    WITHDRAWAL = 10  # account: consensus-layer withdrawal credited in a block, minted


#: ``seq`` of UTXO outputs starts here so outputs order after every input of their transaction.
UTXO_OUTPUT_SEQ_BASE = 1 << 20
#: ``seq`` of token transfers: after the fee (0), native value (1) and internal calls.
TOKEN_SEQ_BASE = 1 << 24
#: ``tx_index`` of block-level credits (rewards, withdrawals): after every transaction.
BLOCK_LEVEL_TX_INDEX = (1 << 31) - 1


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    sql_type: str
    nullable: bool = True


@dataclass(frozen=True, slots=True)
class Table:
    """A store table: its columns and the key that makes a re-ingest idempotent."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl_columns(self) -> str:
        return ", ".join(f"{c.name} {c.sql_type}" for c in self.columns)


TRANSFERS = Table(
    "transfers",
    (
        Column("block_number", "BIGINT", nullable=False),
        Column("tx_index", "INTEGER"),
        Column("seq", "INTEGER", nullable=False),
        Column("kind", "TINYINT", nullable=False),
        Column("tx_id", "BIGINT"),
        Column("src_id", "BIGINT"),
        Column("dst_id", "BIGINT"),
        Column("asset_id", "INTEGER", nullable=False),
        Column("amount", "DECIMAL(38,0)"),
        Column("amount_raw", "VARCHAR"),
        Column("block_time", "TIMESTAMP WITH TIME ZONE"),
        Column("prev_tx_id", "BIGINT"),
        Column("prev_vout", "INTEGER"),
    ),
    key=("block_number", "tx_index", "seq", "kind", "tx_id"),
)

ADDRESSES = Table(
    "addresses",
    (
        Column("address_id", "BIGINT", nullable=False),
        Column("address", "VARCHAR", nullable=False),
        Column("first_block", "BIGINT"),
    ),
    key=("address",),
)

TRANSACTIONS = Table(
    "transactions",
    (
        Column("tx_id", "BIGINT", nullable=False),
        Column("tx_hash", "VARCHAR", nullable=False),
        Column("block_number", "BIGINT"),
        Column("tx_index", "INTEGER"),
    ),
    key=("tx_hash",),
)

ASSETS = Table(
    "assets",
    (
        Column("asset_id", "INTEGER", nullable=False),
        Column("contract", "VARCHAR"),
        Column("symbol", "VARCHAR"),
        Column("decimals", "INTEGER"),
    ),
    key=("contract",),
)

BLOCKS = Table(
    "blocks",
    (
        Column("block_number", "BIGINT", nullable=False),
        Column("block_hash", "VARCHAR"),
        Column("parent_hash", "VARCHAR"),
        Column("block_time", "TIMESTAMP WITH TIME ZONE"),
        Column("tx_count", "INTEGER"),
    ),
    key=("block_number",),
)

#: Which (export kind, block) pairs are stored: a re-ingest of either skips them.
COVERAGE = Table(
    "coverage",
    (
        Column("source", "VARCHAR", nullable=False),
        Column("block_number", "BIGINT", nullable=False),
    ),
    key=("source", "block_number"),
)

#: UTXO inputs whose funding output the store has not seen yet; retried on every ingest.
PENDING_INPUTS = Table(
    "pending_inputs",
    (
        Column("block_number", "BIGINT", nullable=False),
        Column("tx_index", "INTEGER"),
        Column("seq", "INTEGER", nullable=False),
        Column("tx_hash", "VARCHAR", nullable=False),
        Column("prev_tx_hash", "VARCHAR", nullable=False),
        Column("prev_vout", "INTEGER", nullable=False),
        Column("block_time", "TIMESTAMP WITH TIME ZONE"),
    ),
    key=("tx_hash", "seq"),
)

#: The entity of every address, as of the last ``counterflow cluster`` (docs/clustering.md).
#: ``entity_id`` is the smallest address id of the entity, so it is deterministic across engines
#: and a singleton's entity is the address itself.
ENTITIES = Table(
    "entities",
    (
        Column("address_id", "BIGINT", nullable=False),
        Column("entity_id", "BIGINT", nullable=False),
    ),
    key=("address_id",),
)

#: Why addresses share an entity: one row per rule firing, naming the transaction that
#: justified it, so that any merge can be explained (a path of links joins any two addresses
#: of one entity).
CLUSTER_LINKS = Table(
    "cluster_links",
    (
        Column("address_id", "BIGINT", nullable=False),
        Column("linked_id", "BIGINT", nullable=False),
        Column("rule", "VARCHAR", nullable=False),
        Column("tx_id", "BIGINT"),
        Column("block_number", "BIGINT"),
        Column("confidence", "DOUBLE", nullable=False),
    ),
    key=("address_id", "linked_id", "rule", "tx_id"),
)

#: Tables that grow by appending parts, and tables rewritten whole on each commit (small ones,
#: or derived ones such as ``entities`` that a clustering run recomputes).
APPEND_TABLES: tuple[Table, ...] = (
    TRANSFERS,
    ADDRESSES,
    TRANSACTIONS,
    BLOCKS,
    COVERAGE,
    CLUSTER_LINKS,
)
REPLACE_TABLES: tuple[Table, ...] = (ASSETS, PENDING_INPUTS, ENTITIES)
ALL_TABLES: dict[str, Table] = {t.name: t for t in (*APPEND_TABLES, *REPLACE_TABLES)}
