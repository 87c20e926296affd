"""Bitcoin Core (and its forks) over JSON-RPC as an ingest source.

A node answers ``getblock`` with the block decoded to JSON. Those answers are turned into the
flat columns the block-file reader produces and handed to the same table builder
(:class:`~counterflow.ingest.block_files.EtlTables`), so a block fetched from a node, read from
``blk*.dat`` or loaded from a bitcoin-etl export is stored identically. Output types and
addresses are derived from ``scriptPubKey.hex`` by :mod:`counterflow.chains.bitcoin_script`
rather than taken from the node's ``address``/``addresses`` fields, whose presence and spelling
changed across node versions.

Verbosity decides how inputs arrive:

- 3 (Bitcoin Core 25+): each input carries ``prevout``, the output it spends, so its address and
  value are stored directly, as an enriched export's are;
- 2: inputs carry only their outpoint; the pipeline resolves them from outputs in this run or
  the store and keeps the rest in ``pending_inputs`` until their funding block is ingested;
- 1: ``getblock`` lists transaction ids and each transaction is fetched with
  ``getrawtransaction`` (nodes without verbosity 2, such as Dogecoin Core 1.14; they need
  ``-txindex``). Inputs are handled as with 2.

Amounts are JSON numbers with eight decimals; they are decoded as :class:`~decimal.Decimal`
and converted to integer base units exactly, and a value that is not a whole number of base
units is an error naming the block, transaction and output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from counterflow.chains.bitcoin_script import ScriptAddresses
from counterflow.chains.registry import ChainSpec, get_chain
from counterflow.errors import ConfigError, InputError
from counterflow.ingest.bitcoin_blocks import (
    COINBASE_OUTPOINT,
    Block,
    BlockHeader,
    Transactions,
)
from counterflow.ingest.block_files import EtlTables, SpentOutput, check_against_store
from counterflow.ingest.block_heights import NULL_PARENT
from counterflow.ingest.jsonrpc import Call, JsonRpcClient
from counterflow.ingest.node import NodeRangeSource
from counterflow.ingest.sources import Relations
from counterflow.store.engine import Engine

#: Chains whose blocks move value that the transparent inputs and outputs do not show (Zcash's
#: shielded pools): storing only the transparent part would unbalance their transactions.
_UNSUPPORTED = {"zcash": "its shielded value transfers are not read from a node yet"}

#: Whole blocks per HTTP request: a block's JSON at verbosity 2 or 3 is several megabytes, so
#: few go in one reply and the requests spread over the client's connections.
_BLOCKS_PER_REQUEST = 2
_HASH = re.compile(r"^[0-9a-f]{64}$")


class BitcoinNode:
    """One UTXO chain as a Bitcoin Core-compatible node serves it (:class:`NodeChain`).

    The client is switched to exact number decoding (``exact_numbers``): amounts must not pass
    through binary floats.
    """

    def __init__(self, client: JsonRpcClient, spec: ChainSpec, *, verbosity: int = 2) -> None:
        spec = get_chain(spec)
        if not spec.is_utxo or spec.utxo_format is None:
            raise ConfigError(f"{spec.name} is not a UTXO chain; a Bitcoin node cannot serve it")
        if spec.name in _UNSUPPORTED:
            raise ConfigError(
                f"{spec.name} cannot be ingested from a node: {_UNSUPPORTED[spec.name]}"
            )
        if verbosity not in (1, 2, 3):
            raise ConfigError(
                f"getblock verbosity {verbosity} is not usable: choose 3 (inputs with prevout, "
                "Bitcoin Core 25+), 2 (full transactions) or 1 (getrawtransaction per tx)"
            )
        client.exact_numbers = True
        self.client = client
        self.spec = spec
        self.verbosity = verbosity
        self.url = client.url

    def tip(self) -> int:
        count = self.client.call("getblockcount")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise InputError(f"{self.url}: getblockcount answered {count!r}, not a height")
        return count

    def block_hashes(self, heights: Sequence[int]) -> list[str]:
        answers = self.client.batch([Call("getblockhash", (h,)) for h in heights])
        return [_block_hash(self.url, h, a) for h, a in zip(heights, answers, strict=True)]

    def source(self, first: int, last: int) -> BitcoinRpcSource:
        if first < 0 or last < first:
            raise ConfigError(f"block range {first}..{last} is empty or negative")
        return BitcoinRpcSource(self, first, last)

    # -- fetching ---------------------------------------------------------------------------
    def blocks(self, first: int, last: int, *, window: int = 0) -> Iterator[dict[str, Any]]:
        """The node's blocks ``first``..``last`` as JSON, each with full transactions, in order.

        Fetched ``window`` blocks at a time (by default enough to keep every connection busy),
        so memory holds a window of JSON, not the range.
        """
        client = self.client
        step = window or _BLOCKS_PER_REQUEST * client.concurrency * 2
        for start in range(first, last + 1, step):
            heights = list(range(start, min(last, start + step - 1) + 1))
            hashes = self.block_hashes(heights)
            if self.verbosity == 1:
                params: tuple[Any, ...] = (True,)
            else:
                params = (self.verbosity,)
            blocks = client.batch(
                [Call("getblock", (h, *params)) for h in hashes], batch_size=_BLOCKS_PER_REQUEST
            )
            for height, block_hash, block in zip(heights, hashes, blocks, strict=True):
                if not isinstance(block, dict) or not isinstance(block.get("tx"), list):
                    raise InputError(
                        f"{self.url}: getblock {block_hash} (height {height}) answered no "
                        "block with a transaction list"
                    )
                if block.get("hash") != block_hash or block.get("height") != height:
                    raise InputError(
                        f"{self.url}: getblock {block_hash} answered block "
                        f"{block.get('hash')!r} at height {block.get('height')!r}, not the "
                        f"block at height {height} (did the chain reorganise?)"
                    )
                if self.verbosity == 1:
                    block = {**block, "tx": self._transactions(block)}
                yield block

    def _transactions(self, block: Mapping[str, Any]) -> list[Any]:
        txids = block["tx"]
        answers = self.client.batch([Call("getrawtransaction", (txid, True)) for txid in txids])
        for txid, tx in zip(txids, answers, strict=True):
            if not isinstance(tx, dict) or tx.get("txid") != txid:
                raise InputError(
                    f"{self.url}: block {block['hash']}: getrawtransaction {txid} answered "
                    "another transaction or none"
                )
        return answers


class BitcoinRpcSource(NodeRangeSource["BitcoinNode"]):
    """Blocks ``first``..``last`` of a Bitcoin Core node."""

    canonical_addresses = True

    def check(self, spec: ChainSpec) -> None:
        if spec.name != self.node.spec.name:
            raise ConfigError(
                f"the node at {self.node.url} was opened for {self.node.spec.name}, not {spec.name}"
            )

    def relations(self, spec: ChainSpec, engine: Engine) -> Relations:
        assert spec.utxo_format is not None
        url = self.node.url
        decimals = spec.native_decimals
        tables = EtlTables(ScriptAddresses(spec.utxo_format))
        heights: dict[str, int] = {}
        parent: str | None = None
        for block in self.node.blocks(self.first, self.last):
            decoded, spent = _decode(url, block, decimals, with_prevout=self.node.verbosity == 3)
            height = int(block["height"])
            if parent is not None and decoded.header.prev_hash != parent:
                raise InputError(
                    f"{url}: block {decoded.header.hash} at height {height} does not extend "
                    f"block {parent} fetched at height {height - 1}: the node's chain changed "
                    "while it was read; run the ingest again"
                )
            parent = decoded.header.hash
            heights[decoded.header.hash] = height
            tables.add(decoded, spent)
        _check_parent(engine, url, self.first, tables, heights)
        check_against_store(engine, heights)
        return Relations(tables.tables(heights))


def _check_parent(
    engine: Engine, url: str, first: int, tables: EtlTables, heights: Mapping[str, int]
) -> None:
    """The first block must extend the block the store holds below it, if it holds one."""
    if first == 0 or not tables.links:
        return
    rows = engine.query(
        "SELECT block_hash FROM store_blocks "
        f"WHERE block_number = {int(first) - 1} AND block_hash IS NOT NULL"
    )
    stored = {str(r[0]) for r in rows}
    link = tables.links[0]
    if stored and link.prev_hash not in stored:
        raise InputError(
            f"{url}: block {link.hash} at height {heights[link.hash]} extends "
            f"{link.prev_hash}, but the store holds {sorted(stored)[0]} at height {first - 1} "
            "(a chain reorganisation): roll the store back first"
        )


# -- JSON → flat columns ----------------------------------------------------------------------
def _decode(
    url: str, block: Mapping[str, Any], decimals: int, *, with_prevout: bool
) -> tuple[Block, list[SpentOutput] | None]:
    """One block's JSON as the block decoder's columns, and the outputs its inputs spend."""
    block_hash = str(block["hash"])
    where = f"{url}: block {block_hash} (height {block.get('height')})"
    try:
        header = BlockHeader(
            hash=block_hash,
            version=int(block["version"]),
            prev_hash=str(block.get("previousblockhash") or NULL_PARENT),
            merkle_root=str(block["merkleroot"]),
            timestamp=int(block["time"]),
            bits=int(str(block["bits"]), 16),
            nonce=int(block["nonce"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{where}: header field missing or malformed ({exc})") from exc
    txs = Transactions()
    spent: list[SpentOutput] = []
    n_in = 0
    n_out = 0
    for position, tx in enumerate(block["tx"]):
        if not isinstance(tx, dict):
            raise InputError(
                f"{where}: transaction {position} is not an object (getblock verbosity 1 "
                "lists only ids; use verbosity 2 or 3, or 1 with getrawtransaction)"
            )
        txid = tx.get("txid")
        tx_where = f"{where}, transaction {txid} (position {position})"
        if not isinstance(txid, str) or not _HASH.match(txid):
            raise InputError(f"{where}, transaction at position {position}: txid {txid!r}")
        txs.txids.append(bytes.fromhex(txid)[::-1])
        vin = tx.get("vin")
        vout = tx.get("vout")
        if (
            not isinstance(vin, list)
            or not isinstance(vout, list)
            or not vin
            or not all(isinstance(entry, dict) for entry in vin)
        ):
            raise InputError(f"{tx_where}: vin or vout missing or malformed")
        coinbase = "coinbase" in vin[0]
        if coinbase != (position == 0) or (coinbase and len(vin) != 1):
            raise InputError(
                f"{tx_where}: only the first transaction of a block is a coinbase, with one input"
            )
        for index, entry in enumerate(vin):
            if coinbase:
                txs.outpoints.append(COINBASE_OUTPOINT)
                txs.coinbase_scripts.append((position, _coinbase_script(tx_where, entry)))
                continue
            prev, vout_index = entry.get("txid"), entry.get("vout")
            if (
                not isinstance(prev, str)
                or not _HASH.match(prev)
                or not isinstance(vout_index, int)
                or not 0 <= vout_index < 2**32
            ):
                raise InputError(f"{tx_where}, input {index}: txid/vout {prev!r}/{vout_index!r}")
            txs.outpoints.append(bytes.fromhex(prev)[::-1] + vout_index.to_bytes(4, "little"))
            if with_prevout:
                prevout = entry.get("prevout")
                if not isinstance(prevout, dict):
                    raise InputError(
                        f"{tx_where}, input {index}: no prevout (does the node support getblock "
                        "verbosity 3? Bitcoin Core 25 or later; else use verbosity 2)"
                    )
                field = f"input {index} prevout"
                spent.append(
                    (
                        _script(tx_where, field, prevout),
                        _base_units(tx_where, field, prevout.get("value"), decimals),
                    )
                )
        n_in += len(vin)
        txs.input_ends.append(n_in)
        for index, output in enumerate(vout):
            field = f"output {index}"
            if not isinstance(output, dict) or output.get("n") != index:
                raise InputError(f"{tx_where}, {field}: missing or out of order")
            txs.scripts.append(_script(tx_where, field, output))
            txs.values.append(_base_units(tx_where, field, output.get("value"), decimals))
        n_out += len(vout)
        txs.output_ends.append(n_out)
    if not txs.txids:
        raise InputError(f"{where}: no transactions (a block has at least its coinbase)")
    size = block.get("size")
    decoded = Block(header, txs, int(size) if isinstance(size, int) else 0, where, 0, 0)
    return decoded, (spent if with_prevout else None)


def _coinbase_script(where: str, entry: Mapping[str, Any]) -> bytes:
    try:
        return bytes.fromhex(str(entry["coinbase"]))
    except ValueError as exc:
        raise InputError(f"{where}: the coinbase input's script is not hex") from exc


def _script(where: str, field: str, output: Mapping[str, Any]) -> bytes:
    script = output.get("scriptPubKey")
    text = script.get("hex") if isinstance(script, dict) else None
    if not isinstance(text, str):
        raise InputError(f"{where}, {field}: scriptPubKey.hex missing")
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise InputError(f"{where}, {field}: scriptPubKey.hex is not hex") from exc


def _base_units(where: str, field: str, value: object, decimals: int) -> int:
    """A coin amount as the node wrote it (a JSON number) in integer base units, exactly."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        if isinstance(value, float):
            raise InputError(
                f"{where}, {field}: value {value!r} was decoded as a binary float; the RPC "
                "client must decode numbers exactly (exact_numbers=True)"
            )
        raise InputError(f"{where}, {field}: value {value!r} is not a number")
    try:
        units = Decimal(value).scaleb(decimals)
        whole = units.to_integral_value()
    except InvalidOperation as exc:
        raise InputError(f"{where}, {field}: value {value} is not a number") from exc
    if units != whole or units < 0:
        raise InputError(
            f"{where}, {field}: value {value} is not a non-negative whole number of "
            f"base units (10^-{decimals})"
        )
    return int(whole)


def _block_hash(url: str, height: int, answer: object) -> str:
    if not isinstance(answer, str) or not _HASH.match(answer.lower()):
        raise InputError(f"{url}: getblockhash {height} answered {answer!r}, not a block hash")
    return answer.lower()
