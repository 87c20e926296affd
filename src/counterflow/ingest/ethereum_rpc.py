"""An Ethereum (or other EVM) node's JSON-RPC as an ingest source: blocks → ethereum-etl rows.

The node's answers are turned into Arrow tables of exactly the shape of ethereum-etl's exports
(``blocks``, enriched ``transactions``, ``token_transfers``, ``traces``), following the rules
ethereum-etl applies to the same answers, so the pipeline stores exactly what the export of the
same blocks would: one transform, one set of guarantees.

Where each piece comes from:

* blocks and transactions: ``eth_getBlockByNumber`` with full transactions;
* status, gas used, effective gas price and created contract: ``eth_getBlockReceipts`` when
  the node offers it, otherwise ``eth_getTransactionReceipt`` for each transaction (batched);
* token transfers: ``eth_getLogs`` for the ERC-20 ``Transfer`` topic over the range;
* internal transfers, creates, self-destructs and rewards: ``trace_block`` (Erigon, Nethermind,
  Reth, OpenEthereum) or geth's ``debug_traceBlockByNumber`` with ``callTracer``. A node with
  neither still yields every transaction and token transfer; only value that contracts move
  among themselves (and, without ``trace_block``, block rewards) is missing, and the report's
  warnings say so.

Every quantity arrives as hex and becomes an exact Python int (values exceed 64 bits) and then
decimal text, as the export files hold it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from counterflow.chains.registry import ChainSpec
from counterflow.errors import ConfigError, InputError, NodeError
from counterflow.ingest.exports import SPECS, ExportKind
from counterflow.ingest.jsonrpc import Call, CallError, JsonRpcClient
from counterflow.ingest.node import NodeRangeSource
from counterflow.ingest.sources import Relations
from counterflow.store.engine import Engine

#: keccak256("Transfer(address,address,uint256)"): ERC-20's (and ERC-721's) Transfer event.
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

TRACE_MODES = ("auto", "trace_block", "debug_traceBlockByNumber", "none")

#: JSON-RPC's "method not found"; other codes for an absent method vary by client.
_METHOD_NOT_FOUND = -32601

_STRING = pa.string()


class NodeDataError(InputError):
    """A node's answer is not what the Ethereum JSON-RPC specification says it is."""

    def __init__(self, url: str, where: str, reason: str) -> None:
        self.url = url
        self.where = where
        self.reason = reason
        super().__init__(f"{url}: {where}: {reason}")


# -- conversions ----------------------------------------------------------------------------


def quantity(value: Any, where: str) -> int | None:
    """A JSON-RPC quantity (``"0x1b4"``) as an exact int; None stays None.

    Some recorded and older answers give plain JSON numbers (trace_block's ``blockNumber``), so
    those are accepted too; anything else is the node's error, named by ``where``.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{where}: expected a hex quantity, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value[:2] in ("0x", "0X"):
        try:
            return int(value, 16) if len(value) > 2 else 0
        except ValueError:
            pass
    raise ValueError(f"{where}: expected a hex quantity, got {value!r}")


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)


def _address(value: Any) -> str | None:
    """Lowercased, as ethereum-etl's ``to_normalized_address`` writes every address."""
    return value.lower() if isinstance(value, str) else None


def _words(data: Any) -> list[str]:
    """A log's data as ethereum-etl splits it: 32-byte words, the last one possibly short."""
    if not isinstance(data, str) or len(data) <= 2:
        return []
    body = data[2:]
    return ["0x" + body[i : i + 64] for i in range(0, len(body), 64)]


def _word_address(word: str) -> str:
    return ("0x" + word[-40:] if len(word) >= 40 else word).lower()


def token_transfer_rows(logs: Iterable[Mapping[str, Any]]) -> list[dict[str, str | None]]:
    """ethereum-etl's token transfers from logs.

    Its rule, kept exactly: the first topic is ``Transfer`` and topics plus data words number
    four (so a Transfer with the value indexed, or ERC-721's with the token id as the fourth
    topic, is a transfer too; anything else is some other event that shares the name).
    """
    rows: list[dict[str, str | None]] = []
    for log in logs:
        topics = log.get("topics") or []
        if not topics or str(topics[0]).casefold() != TRANSFER_TOPIC:
            continue
        fields = [str(t) for t in topics] + _words(log.get("data"))
        if len(fields) != 4:
            continue
        where = f"log {log.get('logIndex')} of transaction {log.get('transactionHash')}"
        rows.append(
            {
                "token_address": _address(log.get("address")),
                "from_address": _word_address(fields[1]),
                "to_address": _word_address(fields[2]),
                "value": _text(quantity(fields[3], f"{where}, field 'data'")),
                "transaction_hash": log.get("transactionHash"),
                "log_index": _text(quantity(log.get("logIndex"), f"{where}, field 'logIndex'")),
                "block_number": _text(
                    quantity(log.get("blockNumber"), f"{where}, field 'blockNumber'")
                ),
            }
        )
    return rows


def block_row(block: Mapping[str, Any]) -> dict[str, str | None]:
    """One ``blocks`` row; withdrawals as the export's JSON array (amounts in gwei)."""
    number = quantity(block.get("number"), "field 'number'")
    withdrawals = block.get("withdrawals")
    items = None
    if withdrawals is not None:
        items = json.dumps(
            [
                {
                    "index": quantity(w.get("index"), "withdrawal field 'index'"),
                    "validator_index": quantity(
                        w.get("validatorIndex"), "withdrawal field 'validatorIndex'"
                    ),
                    "address": _address(w.get("address")),
                    "amount": quantity(w.get("amount"), "withdrawal field 'amount'"),
                }
                for w in withdrawals
            ]
        )
    return {
        "number": _text(number),
        "hash": block.get("hash"),
        "parent_hash": block.get("parentHash"),
        "timestamp": _text(quantity(block.get("timestamp"), "field 'timestamp'")),
        "transaction_count": str(len(block.get("transactions") or [])),
        "miner": _address(block.get("miner")),
        "withdrawals": items,
    }


def transaction_rows(
    block: Mapping[str, Any], receipts: Mapping[str, Mapping[str, Any]] | None
) -> list[dict[str, str | None]]:
    """The block's transactions, enriched with their receipts as ethereum-etl's stream does.

    ``receipts`` maps lowercase transaction hashes to receipts; None leaves the receipt
    columns empty (as an unenriched export has them).
    """
    rows: list[dict[str, str | None]] = []
    timestamp = _text(quantity(block.get("timestamp"), "field 'timestamp'"))
    for tx in block.get("transactions") or []:
        if not isinstance(tx, Mapping):
            raise ValueError("transactions are hashes, not objects (asked without full bodies)")
        tx_hash = str(tx.get("hash"))
        where = f"transaction {tx_hash}"
        receipt = None if receipts is None else receipts.get(tx_hash.lower())
        if receipts is not None and receipt is None:
            raise ValueError(f"{where}: the node gave no receipt for it")
        row: dict[str, str | None] = {
            "hash": tx_hash,
            "block_number": _text(quantity(tx.get("blockNumber"), f"{where}, 'blockNumber'")),
            "block_hash": tx.get("blockHash"),
            "transaction_index": _text(
                quantity(tx.get("transactionIndex"), f"{where}, field 'transactionIndex'")
            ),
            "from_address": _address(tx.get("from")),
            "to_address": _address(tx.get("to")),
            "value": _text(quantity(tx.get("value"), f"{where}, field 'value'")),
            "gas_price": _text(quantity(tx.get("gasPrice"), f"{where}, field 'gasPrice'")),
            "block_timestamp": timestamp,
            "receipt_gas_used": None,
            "receipt_status": None,
            "receipt_effective_gas_price": None,
            "receipt_contract_address": None,
        }
        if receipt is not None:
            rwhere = f"receipt of {where}"
            row["receipt_gas_used"] = _text(
                quantity(receipt.get("gasUsed"), f"{rwhere}, field 'gasUsed'")
            )
            row["receipt_status"] = _text(
                quantity(receipt.get("status"), f"{rwhere}, field 'status'")
            )
            row["receipt_effective_gas_price"] = _text(
                quantity(receipt.get("effectiveGasPrice"), f"{rwhere}, field 'effectiveGasPrice'")
            )
            row["receipt_contract_address"] = _address(receipt.get("contractAddress"))
        rows.append(row)
    return rows


# -- traces ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Trace:
    block_number: int
    transaction_hash: str | None
    transaction_index: int | None
    from_address: str | None
    to_address: str | None
    value: int | None
    trace_type: str
    call_type: str | None = None
    reward_type: str | None = None
    trace_address: list[int] = field(default_factory=list)
    subtraces: int = 0
    error: str | None = None
    status: int = 1
    trace_id: str | None = None


def parity_trace_rows(traces: Iterable[Mapping[str, Any]]) -> list[dict[str, str | None]]:
    """ethereum-etl's ``traces`` rows from ``trace_block`` answers (Parity's trace format)."""
    out: list[_Trace] = []
    for t in traces:
        action = t.get("action") or {}
        result = t.get("result") or {}
        kind = str(t.get("type"))
        tx_hash = t.get("transactionHash")
        where = f"trace {t.get('traceAddress')} of transaction {tx_hash}"
        trace = _Trace(
            block_number=quantity(t.get("blockNumber"), f"{where}, field 'blockNumber'") or 0,
            transaction_hash=tx_hash,
            transaction_index=quantity(
                t.get("transactionPosition"), f"{where}, field 'transactionPosition'"
            ),
            from_address=None,
            to_address=None,
            value=None,
            trace_type=kind,
            trace_address=[int(i) for i in t.get("traceAddress") or []],
            subtraces=int(t.get("subtraces") or 0),
            error=t.get("error"),
        )
        if kind == "call":
            trace.from_address = _address(action.get("from"))
            trace.to_address = _address(action.get("to"))
            trace.value = quantity(action.get("value"), f"{where}, field 'action.value'")
            trace.call_type = action.get("callType")
        elif kind == "create":
            trace.from_address = _address(action.get("from"))
            trace.to_address = _address(result.get("address"))
            trace.value = quantity(action.get("value"), f"{where}, field 'action.value'")
        elif kind == "suicide":
            trace.from_address = _address(action.get("address"))
            trace.to_address = _address(action.get("refundAddress"))
            trace.value = quantity(action.get("balance"), f"{where}, field 'action.balance'")
        elif kind == "reward":
            trace.to_address = _address(action.get("author"))
            trace.value = quantity(action.get("value"), f"{where}, field 'action.value'")
            trace.reward_type = action.get("rewardType")
        out.append(trace)
    return _finish(out)


def geth_trace_rows(
    block_number: int, tx_hashes: Sequence[str], frames: Sequence[Mapping[str, Any]]
) -> list[dict[str, str | None]]:
    """``traces`` rows from geth's ``callTracer`` frames, one top frame per transaction.

    Flattened as ethereum-etl flattens them (depth first, ``trace_address`` the path of call
    indexes, ``SELFDESTRUCT`` renamed ``suicide``, the call kinds folded into ``call`` with
    ``call_type``), then given transaction hashes (from the block, by position) and statuses
    and ids as ``trace_block``'s rows get them, so both trace sources give the same rows apart
    from block rewards, which geth does not trace. A frame without a value (a static call)
    moves nothing and is written as 0, as is a self-destruct whose value an old geth did not
    report (it names no beneficiary either, so no value is stored for it; the caller warns).
    """
    out: list[_Trace] = []

    def walk(tx_index: int, frame: Mapping[str, Any], path: list[int], caller: Any) -> None:
        where = f"call {path} of transaction {tx_hashes[tx_index]}"
        kind = str(frame.get("type") or "").lower()
        call_type = None
        if kind == "selfdestruct":
            kind = "suicide"
        elif kind in ("call", "callcode", "delegatecall", "staticcall"):
            call_type, kind = kind, "call"
        calls = frame.get("calls") or []
        out.append(
            _Trace(
                block_number=block_number,
                transaction_hash=tx_hashes[tx_index],
                transaction_index=tx_index,
                # Old geth leaves a SELFDESTRUCT frame empty; the contract that destroyed
                # itself is the one the enclosing frame called.
                from_address=_address(frame.get("from") or caller),
                to_address=_address(frame.get("to")),
                value=quantity(frame.get("value"), f"{where}, field 'value'") or 0,
                trace_type=kind,
                call_type=call_type,
                trace_address=path,
                subtraces=len(calls),
                error=frame.get("error"),
            )
        )
        for i, call in enumerate(calls):
            walk(tx_index, call, [*path, i], frame.get("to"))

    for tx_index, frame in enumerate(frames):
        walk(tx_index, frame, [], None)
    return _finish(out)


def _finish(traces: list[_Trace]) -> list[dict[str, str | None]]:
    """Statuses and ids as ethereum-etl computes them, then rows."""
    for trace in traces:
        trace.status = 0 if trace.error else 1
    by_tx: dict[str, list[_Trace]] = {}
    for trace in traces:
        if trace.transaction_hash:
            by_tx.setdefault(trace.transaction_hash, []).append(trace)
    # A call inside a failed call fails with it: parents come first when sorted by depth.
    for tx_hash, group in by_tx.items():
        ordered = sorted(group, key=lambda t: len(t.trace_address))
        index = {tuple(t.trace_address): t for t in ordered}
        for trace in ordered:
            if trace.trace_address:
                parent = index.get(tuple(trace.trace_address[:-1]))
                if parent is None:
                    raise ValueError(
                        f"trace {trace.trace_address} of transaction {tx_hash} has no parent"
                    )
                if parent.status == 0:
                    trace.status = 0
    by_block: dict[int, dict[str, list[_Trace]]] = {}
    for trace in traces:
        if trace.transaction_hash:
            path = "_".join(str(i) for i in trace.trace_address)
            trace.trace_id = f"{trace.trace_type}_{trace.transaction_hash}_{path}"
        else:
            kinds = by_block.setdefault(trace.block_number, {})
            kinds.setdefault(trace.trace_type, []).append(trace)
    for kinds in by_block.values():
        for kind, group in kinds.items():
            ordered = sorted(
                group,
                key=lambda t: (
                    t.reward_type or "",
                    t.from_address or "",
                    t.to_address or "",
                    t.value or 0,
                ),
            )
            for i, trace in enumerate(ordered):
                trace.trace_id = f"{kind}_{trace.block_number}_{i}"
    return [
        {
            "block_number": str(t.block_number),
            "transaction_hash": t.transaction_hash,
            "transaction_index": _text(t.transaction_index),
            "from_address": t.from_address,
            "to_address": t.to_address,
            "value": _text(t.value),
            "trace_type": t.trace_type,
            "call_type": t.call_type,
            "trace_address": ",".join(str(i) for i in t.trace_address) or None,
            "error": t.error,
            "status": str(t.status),
            "block_timestamp": None,
            "reward_type": t.reward_type,
            "trace_id": t.trace_id,
        }
        for t in traces
    ]


# -- the node -------------------------------------------------------------------------------


def _hex(number: int) -> str:
    return hex(number)


def _number(block: Mapping[str, Any]) -> int:
    """The height of a block already checked by :meth:`EthereumRangeSource._blocks`."""
    return quantity(block["number"], "field 'number'") or 0


def _table(kind: ExportKind, rows: list[dict[str, str | None]], origin: str) -> pa.Table:
    columns = SPECS[("account", kind)].columns
    data: dict[str, pa.Array] = {
        name: pa.array([row.get(name) for row in rows], _STRING) for name in columns
    }
    data["_file"] = pa.array([origin] * len(rows), _STRING)
    data["_row"] = pa.array(range(1, len(rows) + 1), pa.int64())
    return pa.table(data)


def _absent(error: CallError) -> bool:
    """Whether an error says the method is not there (rather than that this call failed)."""
    text = error.message.lower()
    return error.code == _METHOD_NOT_FOUND or any(
        phrase in text
        for phrase in ("not found", "not supported", "does not exist", "not available")
    )


class EthereumNode:
    """An Ethereum client's (or another EVM chain's) JSON-RPC endpoint as a :class:`NodeChain`.

    ``traces`` picks where internal transfers come from: ``trace_block``,
    ``debug_traceBlockByNumber`` (geth's ``callTracer``), ``none``, or ``auto`` to ask the node
    which it offers (once, on the first range fetched).
    """

    def __init__(self, client: JsonRpcClient, spec: ChainSpec, *, traces: str = "auto") -> None:
        if traces not in TRACE_MODES:
            raise ConfigError(
                f"unknown trace source {traces!r}; choose one of {', '.join(TRACE_MODES)}"
            )
        if spec.family != "account":
            raise ConfigError(f"{spec.name} is not an EVM chain; its node is not read so")
        self.client = client
        self.spec = spec
        self.traces = traces
        self.url = client.url
        #: The trace method found by ``auto`` ("none" when the node has neither), and why.
        self.trace_method: str | None = None if traces == "auto" else traces
        self._probe_note: str | None = None
        self._block_receipts: bool | None = None
        #: Blocks asked of eth_getLogs at once (providers cap the range a call may span).
        self.log_span = 100

    # -- NodeChain ------------------------------------------------------------------------
    def tip(self) -> int:
        value = self.client.call("eth_blockNumber")
        return self._int(value, "eth_blockNumber", "result")

    def block_hashes(self, heights: Sequence[int]) -> list[str]:
        blocks = self.client.batch(
            [Call("eth_getBlockByNumber", (_hex(h), False)) for h in heights]
        )
        hashes: list[str] = []
        for height, block in zip(heights, blocks, strict=True):
            if not isinstance(block, Mapping):
                raise NodeError(self.url, f"block {height}: the node does not have it")
            hashes.append(str(block.get("hash")).lower())
        return hashes

    def source(self, first: int, last: int) -> EthereumRangeSource:
        if first < 0 or last < first:
            raise ConfigError(f"block range {first}..{last} is empty or negative")
        return EthereumRangeSource(self, first, last)

    # -- helpers --------------------------------------------------------------------------
    def _int(self, value: Any, method: str, what: str) -> int:
        try:
            number = quantity(value, what)
        except ValueError as exc:
            raise NodeDataError(self.url, method, str(exc)) from exc
        if number is None:
            raise NodeDataError(self.url, method, f"{what} is missing")
        return number

    def chain_id(self) -> int | None:
        """The node's chain id, or None for a node too old to say (no ``eth_chainId``)."""
        (answer,) = self.client.batch([Call("eth_chainId")], errors="return")
        if isinstance(answer, CallError):
            return None
        return self._int(answer, "eth_chainId", "result")

    def resolve_traces(self, block: int) -> tuple[str, str | None]:
        """The trace method to use, probing the node on ``block`` in ``auto`` mode."""
        if self.trace_method is not None:
            return self.trace_method, self._probe_note
        probes = self.client.batch(
            [
                Call("trace_block", (_hex(block),)),
                Call("debug_traceBlockByNumber", (_hex(block), {"tracer": "callTracer"})),
            ],
            errors="return",
        )
        trace_block, debug = probes
        if not isinstance(trace_block, CallError) and trace_block is not None:
            self.trace_method = "trace_block"
        elif not isinstance(debug, CallError) and debug is not None:
            self.trace_method = "debug_traceBlockByNumber"
        else:
            self.trace_method = "none"
            reasons = [
                f"{p.method}: {p.message}" if isinstance(p, CallError) else f"{name}: no answer"
                for name, p in zip(("trace_block", "debug_traceBlockByNumber"), probes, strict=True)
            ]
            self._probe_note = "; ".join(reasons)
        return self.trace_method, self._probe_note


class EthereumRangeSource(NodeRangeSource["EthereumNode"]):
    """Blocks ``first``..``last`` of an :class:`EthereumNode`."""

    def check(self, spec: ChainSpec) -> None:
        if spec.family != "account":
            raise ConfigError(f"{spec.name} is not an EVM chain; an Ethereum node cannot feed it")
        chain_id = self.node.chain_id()
        if chain_id is not None and spec.evm_chain_id is not None and chain_id != spec.evm_chain_id:
            raise ConfigError(
                f"{self.node.url} serves chain id {chain_id}, but {spec.name} is chain id "
                f"{spec.evm_chain_id}; pick the chain the node follows"
            )

    def relations(self, spec: ChainSpec, engine: Engine) -> Relations:
        url = self.node.url
        origin = self.files[0]
        heights = list(range(self.first, self.last + 1))
        blocks = self._blocks(heights)
        _check_against_store(engine, url, blocks)
        receipts = self._receipts(blocks)
        warnings: list[str] = []
        block_rows: list[dict[str, str | None]] = []
        tx_rows: list[dict[str, str | None]] = []
        for block in blocks:
            try:
                block_rows.append(block_row(block))
                tx_rows.extend(transaction_rows(block, receipts))
            except ValueError as exc:
                raise NodeDataError(url, f"block {_number(block)}", str(exc)) from exc
        token_rows = self._token_transfers(blocks)
        trace_rows, note = self._traces(blocks)
        if note:
            warnings.append(note)
        tables = {
            ExportKind.BLOCKS: _table(ExportKind.BLOCKS, block_rows, origin),
            ExportKind.TRANSACTIONS: _table(ExportKind.TRANSACTIONS, tx_rows, origin),
            ExportKind.RECEIPTS: _table(ExportKind.RECEIPTS, [], origin),
            ExportKind.TOKEN_TRANSFERS: _table(ExportKind.TOKEN_TRANSFERS, token_rows, origin),
            ExportKind.TRACES: _table(ExportKind.TRACES, trace_rows, origin),
            # Token names and decimals are not read from the node (eth_call per token).
            ExportKind.TOKENS: _table(ExportKind.TOKENS, [], origin),
        }
        return Relations(tables, warnings)

    # -- fetching -------------------------------------------------------------------------
    def _blocks(self, heights: list[int]) -> list[dict[str, Any]]:
        answers = self.node.client.batch(
            [Call("eth_getBlockByNumber", (_hex(h), True)) for h in heights]
        )
        blocks: list[dict[str, Any]] = []
        parent: str | None = None
        for height, block in zip(heights, answers, strict=True):
            if not isinstance(block, dict):
                raise NodeError(
                    self.node.url, f"block {height}: the node does not have it (is it synced?)"
                )
            number = self.node._int(block.get("number"), f"block {height}", "field 'number'")
            if number != height or not isinstance(block.get("hash"), str):
                raise NodeDataError(
                    self.node.url, f"block {height}", f"answered with block {number}"
                )
            if parent is not None and str(block.get("parentHash")).lower() != parent:
                raise NodeError(
                    self.node.url,
                    f"block {height}: its parent is not the block {height - 1} just fetched "
                    "(the node's chain reorganised while the range was read); fetch it again",
                )
            parent = str(block["hash"]).lower()
            blocks.append(block)
        return blocks

    def _receipts(self, blocks: list[dict[str, Any]]) -> dict[str, Mapping[str, Any]]:
        url = self.node.url
        found: dict[str, Mapping[str, Any]] = {}
        pending = [b for b in blocks if b.get("transactions")]
        if not pending:
            return found
        if self.node._block_receipts is not False:
            answers = self.node.client.batch(
                [Call("eth_getBlockReceipts", (_hex(_number(b)),)) for b in pending],
                errors="return",
            )
            missing: list[dict[str, Any]] = []
            for block, answer in zip(pending, answers, strict=True):
                if isinstance(answer, CallError):
                    if not _absent(answer):
                        raise answer.exception(url)
                    self.node._block_receipts = False
                    missing.append(block)
                elif not isinstance(answer, list):
                    missing.append(block)
                else:
                    self.node._block_receipts = True
                    for receipt in answer:
                        found[str(receipt.get("transactionHash")).lower()] = receipt
            pending = missing
        hashes = [str(tx["hash"]) for b in pending for tx in b["transactions"]]
        if hashes:
            answers = self.node.client.batch(
                [Call("eth_getTransactionReceipt", (h,)) for h in hashes]
            )
            for tx_hash, receipt in zip(hashes, answers, strict=True):
                if not isinstance(receipt, Mapping):
                    raise NodeError(url, f"transaction {tx_hash}: the node has no receipt for it")
                found[tx_hash.lower()] = receipt
        for block in blocks:
            for receipt in (found.get(str(tx["hash"]).lower()) for tx in block["transactions"]):
                if (
                    receipt is not None
                    and str(receipt.get("blockHash")).lower() != str(block["hash"]).lower()
                ):
                    raise NodeError(
                        url,
                        f"block {_number(block)}: a receipt belongs to block "
                        f"{receipt.get('blockHash')} (the chain reorganised while reading); "
                        "fetch the range again",
                    )
        return found

    def _token_transfers(self, blocks: list[dict[str, Any]]) -> list[dict[str, str | None]]:
        url = self.node.url
        span = max(1, self.node.log_span)
        calls = [
            Call(
                "eth_getLogs",
                (
                    {
                        "fromBlock": _hex(start),
                        "toBlock": _hex(min(start + span - 1, self.last)),
                        "topics": [TRANSFER_TOPIC],
                    },
                ),
            )
            for start in range(self.first, self.last + 1, span)
        ]
        hashes = {_number(b): str(b["hash"]).lower() for b in blocks}
        logs: list[Mapping[str, Any]] = []
        for answer in self.node.client.batch(calls):
            if not isinstance(answer, list):
                raise NodeDataError(url, "eth_getLogs", f"expected a list, got {answer!r:.80}")
            for log in answer:
                if log.get("removed"):
                    continue
                number = self.node._int(log.get("blockNumber"), "eth_getLogs", "blockNumber")
                if hashes.get(number) != str(log.get("blockHash")).lower():
                    raise NodeError(
                        url,
                        f"block {number}: a log of transaction {log.get('transactionHash')} "
                        f"belongs to block {log.get('blockHash')}, not the block fetched "
                        "(the chain reorganised while reading); fetch the range again",
                    )
                logs.append(log)
        try:
            rows = token_transfer_rows(logs)
        except ValueError as exc:
            raise NodeDataError(url, "eth_getLogs", str(exc)) from exc
        return rows

    def _traces(self, blocks: list[dict[str, Any]]) -> tuple[list[dict[str, str | None]], str]:
        url = self.node.url
        method, why = self.node.resolve_traces(self.first)
        span = f"blocks {self.first}..{self.last}"
        if method == "none":
            if self.node.traces == "none":
                return [], (
                    f"traces not fetched (--traces none): transfers inside contract calls and "
                    f"block rewards of {span} are not stored"
                )
            return [], (
                f"the node offers neither trace_block nor debug_traceBlockByNumber ({why}): "
                f"transfers inside contract calls (internal ETH transfers, creates, "
                f"self-destructs) and block rewards of {span} are missing; transactions and "
                "token transfers are complete. Use a node with the trace or debug API enabled "
                "to have them"
            )
        numbers = [_hex(_number(b)) for b in blocks]
        if method == "trace_block":
            answers = self.node.client.batch([Call("trace_block", (n,)) for n in numbers])
            rows: list[dict[str, str | None]] = []
            for block, answer in zip(blocks, answers, strict=True):
                if not isinstance(answer, list):
                    raise NodeError(
                        url,
                        f"trace_block for block {_number(block)} answered {answer!r:.60}; "
                        "is the node fully synced with tracing enabled?",
                    )
                try:
                    rows.extend(parity_trace_rows(answer))
                except ValueError as exc:
                    raise NodeDataError(url, f"trace_block {_number(block)}", str(exc)) from exc
            return rows, f"internal transfers and rewards of {span} from trace_block"
        answers = self.node.client.batch(
            [Call("debug_traceBlockByNumber", (n, {"tracer": "callTracer"})) for n in numbers]
        )
        rows = []
        for block, answer in zip(blocks, answers, strict=True):
            height = _number(block)
            rows.extend(_geth_block(url, height, block, answer))
        blind = [r for r in rows if r["trace_type"] == "suicide" and r["to_address"] is None]
        if blind:
            where = ", ".join(sorted({str(r["transaction_hash"]) for r in blind})[:3])
            note = (
                f"{len(blind)} self-destruct(s) in {span} came without beneficiary or value "
                f"from the node's callTracer (geth before 1.10 reports them empty), so the "
                f"value they moved is not stored (transactions {where}); trace_block has it"
            )
            return rows, note + "; internal transfers otherwise from debug_traceBlockByNumber"
        return rows, (
            f"internal transfers of {span} from debug_traceBlockByNumber (callTracer); geth "
            "does not trace block and uncle rewards, so those are not stored"
        )


def _geth_block(
    url: str, height: int, block: Mapping[str, Any], answer: Any
) -> list[dict[str, str | None]]:
    txs = block.get("transactions") or []
    if not isinstance(answer, list) or len(answer) != len(txs):
        raise NodeError(
            url,
            f"debug_traceBlockByNumber for block {height} gave "
            f"{len(answer) if isinstance(answer, list) else answer!r:.60} trace(s) for "
            f"{len(txs)} transaction(s)",
        )
    hashes = [str(tx["hash"]) for tx in txs]
    frames: list[Mapping[str, Any]] = []
    for tx_hash, item in zip(hashes, answer, strict=True):
        if isinstance(item, Mapping) and "error" in item and "result" not in item:
            raise NodeError(
                url, f"block {height}, transaction {tx_hash}: tracing failed: {item['error']}"
            )
        frame = item.get("result", item) if isinstance(item, Mapping) else None
        if not isinstance(frame, Mapping):
            raise NodeDataError(url, f"block {height}, transaction {tx_hash}", "no call frame")
        if "txHash" in item and str(item["txHash"]).lower() != tx_hash.lower():
            raise NodeDataError(
                url, f"block {height}", f"trace of {item['txHash']} where {tx_hash} was expected"
            )
        frames.append(frame)
    try:
        return geth_trace_rows(height, hashes, frames)
    except ValueError as exc:
        raise NodeDataError(url, f"debug_traceBlockByNumber {height}", str(exc)) from exc


def _check_against_store(engine: Engine, url: str, blocks: list[dict[str, Any]]) -> None:
    """Refuse blocks that compete with stored ones: that is a reorganisation to roll back."""
    rows: dict[int, str] = {}
    for block in blocks:
        rows[_number(block)] = str(block["hash"]).lower()
    first = min(rows)
    parent = str(blocks[0].get("parentHash")).lower()
    engine.register_arrow(
        "node_blocks",
        pa.table(
            {
                "block_number": pa.array([*rows, first - 1], pa.int64()),
                "block_hash": pa.array([*rows.values(), parent], _STRING),
            }
        ),
    )
    clash = engine.query(
        "SELECT n.block_number, n.block_hash, s.block_hash FROM node_blocks AS n "
        "JOIN store_blocks AS s ON s.block_number = n.block_number "
        "WHERE s.block_hash IS NOT NULL AND lower(s.block_hash) <> n.block_hash "
        "ORDER BY n.block_number LIMIT 1"
    )
    if clash:
        number, ours, theirs = clash[0]
        raise InputError(
            f"{url}: block {ours} at height {number} competes with block {theirs} already "
            "stored at that height (a chain reorganisation); roll the store back first"
        )


__all__: list[str] = [
    "TRACE_MODES",
    "TRANSFER_TOPIC",
    "EthereumNode",
    "EthereumRangeSource",
    "NodeDataError",
    "block_row",
    "geth_trace_rows",
    "parity_trace_rows",
    "token_transfer_rows",
    "transaction_rows",
]
