"""The two simulated chains as one world: their states, clocks, names and pending injections.

The scenario advances the world one Bitcoin block at a time; the Ethereum blocks whose
timestamps fall inside that block's interval run alongside it. Agents that act on both chains
(the heists) see the world between steps and queue fully specified transactions for the next
one. Cross-chain bridge releases wait in queues until their time comes.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

import numpy as np

from counterflow.exercise import bitcoin_economy as btc
from counterflow.exercise import ethereum_economy as eth
from counterflow.exercise.identifiers import (
    bitcoin_address,
    derive_key,
    evm_address,
    identifier_hex,
)

#: Satoshi per held ETH unit, and the bridge's cut: 1 BTC is worth 32 ETH in the scenario.
HELD_UNITS_PER_SATOSHI = 320_000
BRIDGE_FEE = 0.001
EXCHANGE_NAMES = (
    "Northwind Exchange",
    "Hanbit Exchange",
    "Kaze Exchange",
    "Meridian Exchange",
    "Harbor Exchange",
    "Aurora Exchange",
    "Sable Exchange",
    "Pinecone Exchange",
)


@dataclass(frozen=True)
class Keys:
    """Identifier namespaces of one scenario (see :mod:`.identifiers`)."""

    btc_tx: int
    btc_block: int
    btc_address: int
    eth_tx: int
    eth_block: int
    eth_address: int

    @classmethod
    def for_seed(cls, seed: int) -> Keys:
        return cls(
            *(
                derive_key(seed, p)
                for p in (
                    "btc-tx",
                    "btc-block",
                    "btc-address",
                    "eth-tx",
                    "eth-block",
                    "eth-address",
                )
            )
        )


@dataclass(order=True)
class _Release:
    time: int
    seq: int
    record: np.void = field(compare=False)


@dataclass
class World:
    btc: btc.BitcoinState
    eth: eth.EthereumState
    keys: Keys
    exchanges: tuple[str, ...]
    rng: np.random.Generator
    # The current step: one Bitcoin block and the Ethereum blocks beside it.
    btc_block: int = 0
    btc_time: int = 0
    eth_blocks: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    eth_times: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    _btc_numbers: itertools.count[int] = field(
        default_factory=lambda: itertools.count(btc.HEIST_TX_BASE)
    )
    _eth_numbers: itertools.count[int] = field(
        default_factory=lambda: itertools.count(eth.HEIST_TX_BASE)
    )
    _eth_txs: list[tuple[np.void, list[tuple[int, int, int, int, int]]]] = field(
        default_factory=list
    )
    _btc_txs: list[
        tuple[np.void, list[tuple[int, int, int, int, int]], list[tuple[int, int, int]], int]
    ] = field(default_factory=list)
    _btc_releases: list[_Release] = field(default_factory=list)
    _eth_releases: list[_Release] = field(default_factory=list)
    _release_seq: itertools.count[int] = field(default_factory=itertools.count)

    # -- names --------------------------------------------------------------------------
    def btc_address_text(self, address: int) -> str:
        return bitcoin_address(self.keys.btc_address, address, int(self.btc.address_kind[address]))

    def eth_address_text(self, account: int) -> str:
        return evm_address(self.keys.eth_address, account)

    def btc_tx_hash(self, number: int) -> str:
        return identifier_hex(self.keys.btc_tx, number)

    def eth_tx_hash(self, number: int) -> str:
        return "0x" + identifier_hex(self.keys.eth_tx, number)

    # -- clocks -------------------------------------------------------------------------
    def eth_block_for(self, time: int) -> tuple[int, int] | None:
        """The first Ethereum block of this step at or after ``time`` (its last if none)."""
        if len(self.eth_blocks) == 0:
            return None
        i = min(int(np.searchsorted(self.eth_times, time)), len(self.eth_blocks) - 1)
        return int(self.eth_blocks[i]), int(self.eth_times[i])

    # -- injections ---------------------------------------------------------------------
    def inject_eth(
        self,
        block: int,
        sender: int,
        to: int,
        value: int,
        call: int,
        price: int,
        subs: list[tuple[int, int, int, int, int]],
    ) -> int:
        """Queue a transaction for this step; returns its number. ``subs``: (kind, asset,
        source, target, amount) token events and internal calls."""
        record = np.zeros(1, eth.TX)[0]
        number = next(self._eth_numbers)
        record["number"] = number
        record["block"] = block
        record["sender"] = sender
        record["to"] = to
        record["value"] = value
        record["gas_used"] = eth.GAS_USED[call]
        record["gas_limit"] = eth.GAS_LIMIT[call]
        record["price"] = price
        record["status"] = 1
        record["call"] = call
        self._eth_txs.append((record, subs))
        return number

    def inject_btc(
        self,
        inputs: list[tuple[int, int, int, int, int]],
        outputs: list[tuple[int, int, int]],
        fee: int,
        coinjoin_partners: int = 0,
    ) -> int:
        """Queue a transaction for this step's block. ``inputs``: (tx, vout, address, kind,
        value); ``outputs``: (address, kind, value)."""
        record = np.zeros(1, btc.TX)[0]
        number = next(self._btc_numbers)
        record["number"] = number
        record["block"] = self.btc_block
        record["fee"] = fee
        self._btc_txs.append((record, inputs, outputs, coinjoin_partners))
        return number

    def take_eth_injections(self) -> tuple[np.ndarray, np.ndarray]:
        queued = sorted(self._eth_txs, key=lambda item: int(item[0]["block"]))
        self._eth_txs = []
        txs = np.zeros(len(queued), eth.TX)
        subs = np.zeros(sum(len(s) for _, s in queued), eth.SUB)
        k = 0
        for i, (record, sub_list) in enumerate(queued):
            txs[i] = record
            txs[i]["sub_start"] = k
            txs[i]["sub_n"] = len(sub_list)
            for kind, asset, source, target, amount in sub_list:
                subs[k] = (kind, asset, source, target, amount)
                k += 1
        return txs, subs

    def take_btc_injections(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        queued = self._btc_txs
        self._btc_txs = []
        txs = np.zeros(len(queued), btc.TX)
        inputs = np.zeros(sum(len(q[1]) for q in queued), btc.INPUT)
        outputs = np.zeros(sum(len(q[2]) for q in queued), btc.OUTPUT)
        extra = np.zeros(len(queued), np.int64)
        i_pos = o_pos = 0
        for i, (record, ins, outs, partners) in enumerate(queued):
            txs[i] = record
            txs[i]["in_start"], txs[i]["in_n"] = i_pos, len(ins)
            txs[i]["out_start"], txs[i]["out_n"] = o_pos, len(outs)
            for spent in ins:
                inputs[i_pos] = spent
                i_pos += 1
            for paid in outs:
                outputs[o_pos] = paid
                o_pos += 1
            extra[i] = partners
        return txs, inputs, outputs, extra

    # -- bridge -------------------------------------------------------------------------
    def owe_btc(
        self,
        time: int,
        amount: int,
        *,
        user: int = -1,
        address: int = -1,
        deposit: tuple[int, int] = (-1, 0),
    ) -> None:
        """A release owed on Bitcoin for ``deposit`` (Ethereum tx number, held units)."""
        record = np.zeros(1, btc.CROSSING)[0]
        record["user"], record["amount"], record["address"] = user, amount, address
        record["deposit"], record["deposited"] = deposit
        record["release"], record["payee"] = -1, -1
        heapq.heappush(self._btc_releases, _Release(time, next(self._release_seq), record))

    def owe_eth(
        self, time: int, amount: int, user: int, deposit: tuple[int, int] = (-1, 0)
    ) -> None:
        """A release owed on Ethereum for ``deposit`` (Bitcoin tx number, satoshi)."""
        record = np.zeros(1, eth.CROSSING)[0]
        record["user"], record["amount"] = user, amount
        record["deposit"], record["deposited"] = deposit
        record["release"], record["payee"] = -1, -1
        heapq.heappush(self._eth_releases, _Release(time, next(self._release_seq), record))

    def due_btc_releases(self) -> np.ndarray:
        due = _pop_due(self._btc_releases, self.btc_time, btc.CROSSING)
        due["block"] = self.btc_block
        return due

    def due_eth_releases(self) -> np.ndarray:
        if len(self.eth_blocks) == 0:
            return np.zeros(0, eth.CROSSING)
        due = _pop_due(self._eth_releases, int(self.eth_times[-1]), eth.CROSSING)
        for record in due:
            block = self.eth_block_for(int(record["block"]))
            assert block is not None
            record["block"] = block[0]
        return np.sort(due, order="block", kind="stable")


def _pop_due(queue: list[_Release], until: int, dtype: np.dtype) -> np.ndarray:
    due = []
    while queue and queue[0].time <= until:
        item = heapq.heappop(queue)
        record = item.record.copy()
        record["block"] = item.time  # the caller turns the time into a block
        due.append(record)
    return np.array(due, dtype=dtype) if due else np.zeros(0, dtype)


def satoshi_for_held(held: int) -> int:
    """What the bridge pays out on Bitcoin for ``held`` ETH units deposited."""
    return int(held // HELD_UNITS_PER_SATOSHI * (1 - BRIDGE_FEE))


def held_for_satoshi(satoshi: int) -> int:
    return int(satoshi * HELD_UNITS_PER_SATOSHI * (1 - BRIDGE_FEE))
