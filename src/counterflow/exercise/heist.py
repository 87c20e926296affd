"""A state-sponsored heist: the theft and its laundering, acting in the simulated economies.

The agent owns its accounts and coins and keeps an exact ledger of them, so every transaction
it queues is valid when the world applies it. Every movement of stolen value is written to the
ground truth as it is made, with the step of the playbook it belongs to, which makes the truth
exact by construction rather than reconstructed afterwards.

Taint bookkeeping is exact too: the attacker's first account is funded with its own gas money
(from before the window, as attackers fund theirs through mixers), and that money is kept apart
from what it steals; every other laundering account and coin holds stolen value only.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from counterflow.exercise import bitcoin_economy as btc
from counterflow.exercise import ethereum_economy as eth
from counterflow.exercise.config import Playbook
from counterflow.exercise.identifiers import P2WPKH
from counterflow.exercise.world import World, satoshi_for_held

ASSET_SYMBOLS = {eth.ETH: "ETH", eth.USD: "USDX", eth.LST: "LSTX"}
#: Decimal digits from held units to on-chain base units, per Ethereum asset.
_SCALE = {eth.ETH: 10**6, eth.USD: 1, eth.LST: 10**6}
MINUTE, HOUR, DAY = 60, 3600, 86_400
_GAS_PRICE = 4_000  # the attacker's gas price, 10^6 wei per gas (4 gwei)
_BTC_FEE_RATE = 12  # sat/vB
_COINJOIN_DENOMINATION = 10_000_000  # 0.1 BTC


@dataclass
class TruthTransfer:
    """One movement of stolen value, as the store will hold it (amounts in base units)."""

    heist: str
    chain: str
    tx_hash: str
    kind: str  # input, output, native, token, internal, fee
    source: str | None
    target: str | None
    asset: str
    amount: int
    stolen: int
    step: str
    block: int
    timestamp: int


@dataclass
class Destination:
    """Where stolen value left the laundering network: a cash-out deposit."""

    heist: str
    chain: str
    service: str
    kind: str  # exchange or otc
    address: str
    asset: str
    amount: int
    tx_hash: str
    block: int
    timestamp: int


@dataclass
class Link:
    """A bridge crossing of stolen value: deposit on one chain, release on the other."""

    heist: str
    source_chain: str
    source_tx: str
    source_amount: int
    target_chain: str
    target_tx: str
    target_amount: int
    target_address: str


@dataclass
class _Coin:
    tx: int
    vout: int
    address: int
    value: int


@dataclass
class HeistRecord:
    """Everything the heist did, for the ground truth."""

    transfers: list[TruthTransfer] = field(default_factory=list)
    destinations: list[Destination] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    addresses: dict[tuple[str, str], str] = field(default_factory=dict)  # (chain, addr) -> role
    bitcoin_ids: list[int] = field(default_factory=list)  # the same addresses, as numbers
    ethereum_ids: list[int] = field(default_factory=list)
    theft_time: int = 0
    victims: list[tuple[str, str]] = field(default_factory=list)


class Heist:
    """One playbook run against the world, driven by timed events."""

    def __init__(self, playbook: Playbook, world: World, theft_time: int, victim_exchange: int):
        self.p = playbook
        self.world = world
        self.rng = np.random.default_rng(world.rng.integers(2**63))
        self.record = HeistRecord(theft_time=theft_time)
        self._events: list[tuple[int, int, str, Callable[[int], None]]] = []
        self._seq = itertools.count()
        self._stolen: dict[int, np.ndarray] = {}  # account -> stolen held units per asset
        self._own_gas: dict[int, int] = {}
        self._coins: dict[tuple[int, int], _Coin] = {}  # unspent stolen coins on Bitcoin
        self._awaited: dict[int, tuple[str, int, int]] = {}  # btc address -> (eth tx, held, t)
        self._coinjoins_left = playbook.coinjoin_rounds
        self._victim_exchange = victim_exchange
        others = [e for e in range(len(world.exchanges)) if e != victim_exchange]
        count = min(playbook.exchanges, len(others))
        self._cash_out_exchanges = [int(e) for e in self.rng.choice(others, count, replace=False)]
        self._deposit_accounts: dict[int, list[int]] = {}
        self._deposit_addresses: dict[int, list[int]] = {}
        self.cash_out_from = theft_time + int(playbook.cash_out_start_h * HOUR)
        self.cash_out_until = self.cash_out_from + int(playbook.cash_out_days * DAY)
        self._at(theft_time, "eth", self._theft)

    # -- scheduling ---------------------------------------------------------------------
    def _at(self, time: int, chain: str, action: Callable[[int], None]) -> None:
        heapq.heappush(self._events, (int(time), next(self._seq), chain, action))

    def step(self, until: int) -> None:
        """Run every action due before ``until`` that this step's blocks can carry."""
        deferred = []
        while self._events and self._events[0][0] < until:
            event = heapq.heappop(self._events)
            time, _, chain, action = event
            if chain == "eth" and len(self.world.eth_blocks) == 0:
                deferred.append(event)
                continue
            action(max(time, self.world.btc_time if chain == "btc" else time))
        for event in deferred:
            heapq.heappush(self._events, event)

    @property
    def pending(self) -> int:
        return len(self._events) + len(self._awaited)

    def _later(self, low: float, high: float) -> int:
        return int(self.rng.uniform(low, high))

    # -- Ethereum -----------------------------------------------------------------------
    def _account(self, role: str) -> int:
        account = eth.new_account(self.world.eth, eth.HEIST)
        self.record.ethereum_ids.append(account)
        self._stolen[account] = np.zeros(3, np.int64)
        self.record.addresses[("ethereum", self.world.eth_address_text(account))] = role
        return account

    def _eth(
        self,
        time: int,
        step: str,
        sender: int,
        to: int,
        value: int,
        call: int,
        subs: list[tuple[int, int, int, int, int]],
        *,
        destination: tuple[str, str] | None = None,
    ) -> int:
        """Queue an Ethereum transaction and write its stolen legs to the truth."""
        placed = self.world.eth_block_for(time)
        assert placed is not None
        block, timestamp = placed
        fee = int(eth.GAS_USED[call]) * _GAS_PRICE
        if sender in self._stolen:
            own = min(self._own_gas.get(sender, 0), fee)
            self._own_gas[sender] = self._own_gas.get(sender, 0) - own
            self._debit(sender, eth.ETH, fee - own)
        number = self.world.inject_eth(block, sender, to, value, call, _GAS_PRICE, subs)
        tx_hash = self.world.eth_tx_hash(number)
        name = self.world.eth_address_text
        if sender in self._stolen:
            stolen_fee = fee - (own if sender in self._stolen else 0)
            self._truth(
                "ethereum",
                tx_hash,
                "fee",
                name(sender),
                None,
                eth.ETH,
                fee,
                stolen_fee,
                step,
                block,
                timestamp,
            )
        legs: list[tuple[str, int, int, int, int]] = []
        if value:
            legs.append(("native", eth.ETH, sender, to, value))
        for kind, asset, source, target, amount in subs:
            legs.append(
                ("token" if kind == eth.SUB_TOKEN else "internal", asset, source, target, amount)
            )
        for kind_name, asset, source, target, amount in legs:
            stolen = amount if (source in self._stolen or target in self._stolen) else 0
            if source in self._stolen:
                self._debit(source, asset, amount)
            if target in self._stolen:
                self._stolen[target][asset] += amount
            if stolen:
                self._truth(
                    "ethereum",
                    tx_hash,
                    kind_name,
                    name(source),
                    name(target),
                    asset,
                    amount,
                    stolen,
                    step,
                    block,
                    timestamp,
                )
                if destination is not None and target not in self._stolen:
                    service, service_kind = destination
                    self.record.destinations.append(
                        Destination(
                            self.p.name,
                            "ethereum",
                            service,
                            service_kind,
                            name(target),
                            ASSET_SYMBOLS[asset],
                            amount * _SCALE[asset],
                            tx_hash,
                            block,
                            timestamp,
                        )
                    )
        return number

    def _debit(self, account: int, asset: int, amount: int) -> None:
        held = self._stolen[account]
        if held[asset] < amount:
            raise AssertionError(f"heist ledger overdrawn: account {account} asset {asset}")
        held[asset] -= amount

    def _truth(
        self,
        chain: str,
        tx_hash: str,
        kind: str,
        source: str | None,
        target: str | None,
        asset: int | str,
        amount: int,
        stolen: int,
        step: str,
        block: int,
        timestamp: int,
    ) -> None:
        if isinstance(asset, int):
            scale = _SCALE[asset]
            symbol = ASSET_SYMBOLS[asset]
        else:
            scale, symbol = 1, asset
        self.record.transfers.append(
            TruthTransfer(
                self.p.name,
                chain,
                tx_hash,
                kind,
                source,
                target,
                symbol,
                amount * scale,
                stolen * scale,
                step,
                block,
                timestamp,
            )
        )

    def _fee(self, call: int) -> int:
        return int(eth.GAS_USED[call]) * _GAS_PRICE

    def _theft(self, now: int) -> None:
        w = self.world.eth
        p = self.p
        amounts = np.array(
            [p.stolen_eth // _SCALE[eth.ETH], p.stolen_usd, p.stolen_lst // _SCALE[eth.LST]],
            np.int64,
        )
        self.primary = self._account("theft")
        if p.victim in ("exchange", "bridge"):
            if p.victim == "exchange":
                victim = eth.new_account(w, eth.EXCHANGE_HOT, self._victim_exchange)
                role = f"{self.world.exchanges[self._victim_exchange]} cold wallet"
                call = eth.CALL_EXEC
            else:
                victim = int(w.contracts[eth.K_BRIDGE])
                role = "bridge contract"
                call = eth.CALL_BRIDGE_OUT
            w.balances[victim] += amounts
            self._own_gas[self.primary] = self._fee(call) + 64 * self._fee(eth.CALL_TOKEN)
            w.balances[self.primary, eth.ETH] += self._own_gas[self.primary]
            subs = [
                (
                    eth.SUB_INTERNAL if a == eth.ETH else eth.SUB_TOKEN,
                    a,
                    victim,
                    self.primary,
                    int(amounts[a]),
                )
                for a in (eth.ETH, eth.LST, eth.USD)
                if amounts[a] > 0
            ]
            self._eth(now, "drain", self.primary, victim, 0, call, subs)
            victims = [(victim, role)]
        else:
            count = 1 if p.victim == "hot-wallet" else 30
            shares = self.rng.dirichlet(np.ones(count)) if count > 1 else np.ones(1)
            self._own_gas[self.primary] = 64 * self._fee(eth.CALL_TOKEN)
            w.balances[self.primary, eth.ETH] += self._own_gas[self.primary]
            victims = []
            parts = {a: _split_exact(int(amounts[a]), shares) for a in (eth.ETH, eth.USD, eth.LST)}
            for k in range(count):
                victim = eth.new_account(w, eth.USER if count > 1 else eth.EXCHANGE_HOT)
                for a in (eth.ETH, eth.USD, eth.LST):
                    w.balances[victim, a] += parts[a][k]
                w.balances[victim, eth.ETH] += 3 * self._fee(eth.CALL_TOKEN)
                when = now + k * 20
                if parts[eth.ETH][k] > 0:
                    self._eth(
                        when,
                        "drain",
                        victim,
                        self.primary,
                        parts[eth.ETH][k],
                        eth.CALL_TRANSFER,
                        [],
                    )
                for a in (eth.USD, eth.LST):
                    if parts[a][k] > 0:
                        token = int(w.contracts[eth.K_USD + a - eth.USD])
                        self._eth(
                            when,
                            "drain",
                            victim,
                            token,
                            0,
                            eth.CALL_TOKEN,
                            [(eth.SUB_TOKEN, a, victim, self.primary, parts[a][k])],
                        )
                victims.append((victim, "hot wallet" if count == 1 else "user wallet"))
        for victim, role in victims:
            self.record.victims.append((self.world.eth_address_text(victim), role))
        self._at(now + self._later(5 * MINUTE, 30 * MINUTE), "eth", self._split)

    def _split(self, now: int) -> None:
        """The theft account fans out to the first level of hop wallets."""
        hops = [self._account("hop-1") for _ in range(self.p.split_wallets)]
        self._spread(now, "split", self.primary, hops)
        for hop in hops:
            self._at(now + self._later(HOUR, 6 * HOUR), "eth", self._hop_action(hop, 2))

    def _spread(self, now: int, step: str, source: int, targets: list[int]) -> None:
        """Send all of ``source``'s stolen tokens, then its ETH, over ``targets``."""
        w = self.world.eth
        held = self._stolen[source]
        # Uneven shares, but every hop gets enough ETH to pay for moving its tokens.
        shares = 0.7 * self.rng.dirichlet(np.full(len(targets), 0.8)) + 0.3 / len(targets)
        when = now
        for asset in (eth.LST, eth.USD):
            total = int(held[asset])
            if total == 0:
                continue
            parts = _split_exact(total, shares)
            token = int(w.contracts[eth.K_USD + asset - eth.USD])
            for target, part in zip(targets, parts, strict=True):
                if part > 0:
                    self._eth(
                        when,
                        step,
                        source,
                        token,
                        0,
                        eth.CALL_TOKEN,
                        [(eth.SUB_TOKEN, asset, source, target, part)],
                    )
                    when += 15
        fees = len(targets) * self._fee(eth.CALL_TRANSFER)
        own = self._own_gas.get(source, 0)
        spendable = int(held[eth.ETH]) - max(0, fees - own)
        parts = _split_exact(max(0, spendable), shares)
        for target, part in zip(targets, parts, strict=True):
            if part > 0:
                self._eth(when, step, source, target, part, eth.CALL_TRANSFER, [])
                when += 15

    def _hop_action(self, account: int, level: int) -> Callable[[int], None]:
        def act(now: int) -> None:
            if level <= self.p.hop_levels:
                nexts = [self._account(f"hop-{level}") for _ in range(int(self.rng.integers(1, 4)))]
                self._spread(now, "hop", account, nexts)
                for nxt in nexts:
                    self._at(
                        now + self._later(HOUR, 6 * HOUR), "eth", self._hop_action(nxt, level + 1)
                    )
            elif self.p.swap and (self._stolen[account][eth.USD] or self._stolen[account][eth.LST]):
                self._swap(now, account)
                self._at(
                    now + self._later(HOUR, 6 * HOUR),
                    "eth",
                    self._route_action(account, mixed=False),
                )
            else:
                self._route_action(account, mixed=False)(now)

        return act

    def _swap(self, now: int, account: int) -> None:
        w = self.world.eth
        dex = int(w.contracts[eth.K_DEX])
        for asset in (eth.LST, eth.USD):
            amount = int(self._stolen[account][asset])
            if amount == 0:
                continue
            rate = w.params[eth.P_USD_PER_ETH] / 1e6 if asset == eth.USD else 0.998
            out = int(amount / rate * 0.997)
            if w.balances[dex, eth.ETH] < out or self._stolen[account][eth.ETH] < self._fee(
                eth.CALL_SWAP_OUT
            ):
                continue
            subs = [
                (eth.SUB_TOKEN, asset, account, dex, amount),
                (eth.SUB_INTERNAL, eth.ETH, dex, account, out),
            ]
            self._eth(now, "swap", account, dex, 0, eth.CALL_SWAP_OUT, subs)
            now += 15

    def _route_action(self, account: int, *, mixed: bool) -> Callable[[int], None]:
        def act(now: int) -> None:
            draw = self.rng.random()
            if not mixed and draw < self.p.mixer_share:
                self._mix(now, account)
            elif draw < self.p.mixer_share + (1 - self.p.mixer_share) * self.p.bridge_share:
                self._bridge(now, account)
            else:
                self._at(self._cash_out_time(now), "eth", self._eth_cash_out_action(account))

        return act

    def _mix(self, now: int, account: int) -> None:
        w = self.world.eth
        when = now
        for pool in (3, 2, 1):
            denomination = int(eth.MIXER_DENOMINATIONS[pool])
            while self._stolen[account][eth.ETH] >= denomination + self._fee(
                eth.CALL_MIX_IN
            ) + self._fee(eth.CALL_TRANSFER):
                mixer = int(w.contracts[eth.K_MIXERS + pool])
                self._eth(when, "mixer-deposit", account, mixer, denomination, eth.CALL_MIX_IN, [])
                self._at(when + self._later(DAY, 4 * DAY), "eth", self._withdraw_action(pool))
                when += self._later(2 * MINUTE, 20 * MINUTE)
        if self._stolen[account][eth.ETH] > 2 * self._fee(eth.CALL_TRANSFER):
            self._at(self._cash_out_time(when), "eth", self._eth_cash_out_action(account))

    def _withdraw_action(self, pool: int) -> Callable[[int], None]:
        def act(now: int) -> None:
            w = self.world.eth
            mixer = int(w.contracts[eth.K_MIXERS + pool])
            relayer = int(w.relayers[self.rng.integers(len(w.relayers))])
            denomination = int(eth.MIXER_DENOMINATIONS[pool])
            fee = denomination // 200
            fresh = self._account("mixer-withdrawal")
            subs = [(eth.SUB_INTERNAL, eth.ETH, mixer, fresh, denomination - fee)]
            subs.append((eth.SUB_INTERNAL, eth.ETH, mixer, relayer, fee))
            self._stolen_pool_out(now, relayer, mixer, subs)
            self._at(
                now + self._later(HOUR, 12 * HOUR), "eth", self._route_action(fresh, mixed=True)
            )

        return act

    def _stolen_pool_out(
        self, now: int, relayer: int, mixer: int, subs: list[tuple[int, int, int, int, int]]
    ) -> None:
        """A relayer's withdrawal: the pool's value is the heist's by the note it holds."""
        placed = self.world.eth_block_for(now)
        assert placed is not None
        block, timestamp = placed
        number = self.world.inject_eth(block, relayer, mixer, 0, eth.CALL_MIX_OUT, _GAS_PRICE, subs)
        tx_hash = self.world.eth_tx_hash(number)
        name = self.world.eth_address_text
        for _, asset, source, target, amount in subs:
            if target in self._stolen:
                self._stolen[target][asset] += amount
            self._truth(
                "ethereum",
                tx_hash,
                "internal",
                name(source),
                name(target),
                asset,
                amount,
                amount,
                "mixer-withdrawal",
                block,
                timestamp,
            )

    def _bridge(self, now: int, account: int) -> None:
        w = self.world.eth
        bridge = int(w.contracts[eth.K_BRIDGE])
        when = now
        lot_cap = 400 * eth.ETHER
        while True:
            available = int(self._stolen[account][eth.ETH]) - self._fee(eth.CALL_BRIDGE_IN)
            if available < eth.ETHER // 10:
                break
            lot = min(available, lot_cap)
            number = self._eth(when, "bridge-deposit", account, bridge, lot, eth.CALL_BRIDGE_IN, [])
            address = self._btc_address("bridge-release")
            release_at = when + self._later(20 * MINUTE, 90 * MINUTE)
            self.world.owe_btc(
                release_at, satoshi_for_held(lot), address=address, deposit=(number, lot)
            )
            self._awaited[address] = (self.world.eth_tx_hash(number), lot, release_at)
            when += self._later(5 * MINUTE, 40 * MINUTE)

    def _eth_cash_out_action(self, account: int) -> Callable[[int], None]:
        def act(now: int) -> None:
            w = self.world.eth
            fee = self._fee(eth.CALL_TRANSFER)
            available = int(self._stolen[account][eth.ETH]) - fee
            if available <= 0:
                return
            lot = int(min(available, self.rng.uniform(5, 60) * eth.ETHER))
            if available - lot < eth.ETHER:
                lot = available
            if self.rng.random() < self.p.otc_share:
                target = int(w.contracts[eth.K_OTC])
                destination = ("Jade OTC Desk", "otc")
            else:
                e = self._cash_out_exchanges[int(self.rng.integers(len(self._cash_out_exchanges)))]
                target = self._eth_deposit_account(e)
                destination = (self.world.exchanges[e], "exchange")
            self._eth(
                now,
                "cash-out",
                account,
                target,
                lot,
                eth.CALL_TRANSFER,
                [],
                destination=destination,
            )
            if lot < available:
                self._at(now + self._later(HOUR, 8 * HOUR), "eth", act)

        return act

    def _eth_deposit_account(self, e: int) -> int:
        """A deposit account at exchange ``e`` under one of the heist's fake identities."""
        accounts = self._deposit_accounts.setdefault(e, [])
        if len(accounts) < 3 and (not accounts or self.rng.random() < 0.3):
            accounts.append(eth.new_account(self.world.eth, eth.DEPOSIT, e))
        return accounts[int(self.rng.integers(len(accounts)))]

    def _cash_out_time(self, now: int) -> int:
        if now >= self.cash_out_from:
            return now + self._later(10 * MINUTE, 2 * HOUR)
        return int(
            self.rng.uniform(
                self.cash_out_from,
                self.cash_out_from + (self.cash_out_until - self.cash_out_from) / 2,
            )
        )

    # -- Bitcoin ------------------------------------------------------------------------
    def observe_bitcoin(self, txs: np.ndarray, outputs: np.ndarray, first_output: int) -> None:
        """Find the bridge releases this step paid to the heist and take the coins.

        ``txs`` are this step's transactions; their output ranges index ``outputs``, of which
        this step wrote ``outputs[first_output:]``.
        """
        if not self._awaited or len(outputs) <= first_output:
            return
        wanted = np.fromiter(self._awaited, np.int64)
        hits = first_output + np.nonzero(np.isin(outputs["address"][first_output:], wanted))[0]
        for index in hits:
            starts = txs["out_start"]
            t = int(np.nonzero((starts <= index) & (index < starts + txs["out_n"]))[0][0])
            address = int(outputs["address"][index])
            value = int(outputs["value"][index])
            tx = txs[t]
            eth_tx, held, _ = self._awaited.pop(address)
            coin = _Coin(int(tx["number"]), int(index - tx["out_start"]), address, value)
            self._coins[(coin.tx, coin.vout)] = coin
            tx_hash = self.world.btc_tx_hash(coin.tx)
            name = self.world.btc_address_text(address)
            self._truth(
                "bitcoin",
                tx_hash,
                "output",
                None,
                name,
                "BTC",
                value,
                value,
                "bridge-release",
                self.world.btc_block,
                self.world.btc_time,
            )
            self.record.links.append(
                Link(
                    self.p.name,
                    "ethereum",
                    eth_tx,
                    held * _SCALE[eth.ETH],
                    "bitcoin",
                    tx_hash,
                    value,
                    name,
                )
            )
            self._at(
                self.world.btc_time + self._later(10 * MINUTE, HOUR),
                "btc",
                self._launder_action(coin),
            )

    def _btc_address(self, role: str) -> int:
        address = btc.new_address(self.world.btc, P2WPKH)
        self.record.bitcoin_ids.append(address)
        self.record.addresses[("bitcoin", self.world.btc_address_text(address))] = role
        return address

    def _btc(
        self,
        step: str,
        coins: list[_Coin],
        outputs: list[tuple[int, int]],
        *,
        fee: int,
        partners: int = 0,
        destinations: dict[int, tuple[str, str]] | None = None,
    ) -> list[_Coin]:
        """Queue a Bitcoin transaction of the heist; returns its outputs as coins."""
        world = self.world
        kinds = world.btc.address_kind
        inputs = [(c.tx, c.vout, c.address, int(kinds[c.address]), c.value) for c in coins]
        outs = [(a, int(kinds[a]), v) for a, v in outputs]
        if sum(c.value for c in coins) != sum(v for _, v in outputs) + fee:
            raise AssertionError("heist transaction does not balance")
        number = world.inject_btc(inputs, outs, fee, partners)
        for c in coins:
            del self._coins[(c.tx, c.vout)]
        tx_hash = world.btc_tx_hash(number)
        block, ts = world.btc_block, world.btc_time
        for c in coins:
            self._truth(
                "bitcoin",
                tx_hash,
                "input",
                world.btc_address_text(c.address),
                None,
                "BTC",
                c.value,
                c.value,
                step,
                block,
                ts,
            )
        made = []
        for vout, (address, value) in enumerate(outputs):
            name = world.btc_address_text(address)
            self._truth(
                "bitcoin", tx_hash, "output", None, name, "BTC", value, value, step, block, ts
            )
            if destinations and address in destinations:
                service, kind = destinations[address]
                self.record.destinations.append(
                    Destination(
                        self.p.name,
                        "bitcoin",
                        service,
                        kind,
                        name,
                        "BTC",
                        value,
                        tx_hash,
                        block,
                        ts,
                    )
                )
            else:
                made.append(_Coin(number, vout, address, value))
                self._coins[(number, vout)] = made[-1]
        return made

    def holdings(self) -> list[dict[str, Any]]:
        """What the heist still held when the scenario ended, per address and asset."""
        held: list[dict[str, Any]] = []
        for account, balances in self._stolen.items():
            for asset in (eth.ETH, eth.USD, eth.LST):
                if balances[asset] > 0:
                    held.append(
                        {
                            "chain": "ethereum",
                            "address": self.world.eth_address_text(account),
                            "asset": ASSET_SYMBOLS[asset],
                            "amount": int(balances[asset]) * _SCALE[asset],
                        }
                    )
        for coin in self._coins.values():
            held.append(
                {
                    "chain": "bitcoin",
                    "address": self.world.btc_address_text(coin.address),
                    "asset": "BTC",
                    "amount": coin.value,
                    "outpoint": f"{self.world.btc_tx_hash(coin.tx)}:{coin.vout}",
                }
            )
        return held

    def _launder_action(self, coin: _Coin) -> Callable[[int], None]:
        def act(now: int) -> None:
            if self._coinjoins_left > 0 and coin.value >= 3 * _COINJOIN_DENOMINATION:
                self._coinjoins_left -= 1
                self._coinjoin(now, coin)
            else:
                self._peel_action(coin, self.p.peel_steps)(now)

        return act

    def _coinjoin(self, now: int, coin: _Coin) -> None:
        count = int(min(20, (coin.value - 5_000) // (_COINJOIN_DENOMINATION + 2_000)))
        fee = _BTC_FEE_RATE * (11 + 68 + 31 * (count + 1))
        outputs = [
            (self._btc_address("coinjoin-output"), _COINJOIN_DENOMINATION) for _ in range(count)
        ]
        change = coin.value - count * _COINJOIN_DENOMINATION - fee
        outputs.append((self._btc_address("coinjoin-change"), change))
        partners = int(self.rng.integers(10, 30))
        made = self._btc("coinjoin", [coin], outputs, fee=fee, partners=partners)
        mixed, rest = made[:-1], made[-1]
        self._at(now + self._later(DAY, 2 * DAY), "btc", self._consolidate_action(mixed))
        self._at(
            now + self._later(HOUR, 6 * HOUR), "btc", self._peel_action(rest, self.p.peel_steps)
        )

    def _consolidate_action(self, coins: list[_Coin]) -> Callable[[int], None]:
        def act(now: int) -> None:
            fee = _BTC_FEE_RATE * (11 + 68 * len(coins) + 31)
            total = sum(c.value for c in coins)
            [merged] = self._btc(
                "consolidation", coins, [(self._btc_address("consolidation"), total - fee)], fee=fee
            )
            self._at(self._cash_out_time(now), "btc", self._btc_cash_out_action(merged))

        return act

    def _peel_action(self, coin: _Coin, steps: int) -> Callable[[int], None]:
        def act(now: int) -> None:
            if steps == 0 or coin.value < 2_000_000:
                self._at(self._cash_out_time(now), "btc", self._btc_cash_out_action(coin))
                return
            fee = _BTC_FEE_RATE * (11 + 68 + 62)
            peel = int(coin.value * self.rng.uniform(0.04, 0.15))
            destinations: dict[int, tuple[str, str]] = {}
            if now >= self.cash_out_from:
                target, destination = self._btc_cash_out_target()
                destinations[target] = destination
            else:
                target = self._btc_address("peel")
            change = self._btc_address("peel-change")
            made = self._btc(
                "peel",
                [coin],
                [(target, peel), (change, coin.value - peel - fee)],
                fee=fee,
                destinations=destinations,
            )
            if not destinations:
                self._at(self._cash_out_time(now), "btc", self._btc_cash_out_action(made[0]))
            self._at(
                now + self._later(10 * MINUTE, 40 * MINUTE),
                "btc",
                self._peel_action(made[-1], steps - 1),
            )

        return act

    def _btc_cash_out_target(self) -> tuple[int, tuple[str, str]]:
        world = self.world
        if self.rng.random() < self.p.otc_share:
            otc = int(world.btc.wallets.shape[0] - 1)  # the OTC desk is the last wallet
            return int(world.btc.wallets[otc]["address"]), ("Jade OTC Desk", "otc")
        e = self._cash_out_exchanges[int(self.rng.integers(len(self._cash_out_exchanges)))]
        addresses = self._deposit_addresses.setdefault(e, [])
        if len(addresses) < 3 and (not addresses or self.rng.random() < 0.3):
            pool = int(world.btc.exchange_pool[e])
            addresses.append(btc.new_address(world.btc, P2WPKH, owner=pool))
        return addresses[int(self.rng.integers(len(addresses)))], (world.exchanges[e], "exchange")

    def _btc_cash_out_action(self, coin: _Coin) -> Callable[[int], None]:
        def act(now: int) -> None:
            fee = _BTC_FEE_RATE * (11 + 68 + 62)
            target, destination = self._btc_cash_out_target()
            lot = int(min(coin.value - fee, self.rng.uniform(0.3, 4.0) * 10**8))
            rest = coin.value - lot - fee
            if rest < 1_000_000:
                fee1 = _BTC_FEE_RATE * (11 + 68 + 31)
                self._btc(
                    "cash-out",
                    [coin],
                    [(target, coin.value - fee1)],
                    fee=fee1,
                    destinations={target: destination},
                )
                return
            change = self._btc_address("cash-out-change")
            made = self._btc(
                "cash-out",
                [coin],
                [(target, lot), (change, rest)],
                fee=fee,
                destinations={target: destination},
            )
            self._at(now + self._later(HOUR, 10 * HOUR), "btc", self._btc_cash_out_action(made[-1]))

        return act


def _split_exact(total: int, shares: np.ndarray) -> list[int]:
    """``total`` in parts proportional to ``shares`` that add up exactly."""
    parts = [int(total * s) for s in shares[:-1]]
    parts.append(total - sum(parts))
    return parts
