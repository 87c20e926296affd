"""The true owner of every simulated address, for scoring clustering and attribution.

One row per address of either chain: ``chain``, ``address``, ``owner`` (an entity name that is
the same person on both chains: ``user-17`` on Bitcoin and Ethereum is one user) and
``owner_kind`` (user, merchant, exchange, miner, bridge, otc, dex, mixer, relayer, token,
builder, victim, heist). Owners and kinds are dictionary-encoded: a large scenario has
millions of addresses but only as many owners as users and services.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from counterflow.exercise import bitcoin_economy as btc
from counterflow.exercise import ethereum_economy as eth
from counterflow.exercise.export_writer import bitcoin_address_column, ethereum_address_column

if TYPE_CHECKING:
    from counterflow.exercise.heist import Heist
    from counterflow.exercise.world import World

BRIDGE_NAME = "Arc Bridge"
OTC_NAME = "Jade OTC Desk"
DEX_NAME = "Swapline DEX"
MIXER_NAME = "Tornado-style mixer"
KINDS = (
    "user", "merchant", "exchange", "miner", "bridge", "otc", "dex", "mixer", "relayer",
    "token", "builder", "victim", "heist",
)  # fmt: skip


class _Owners:
    """A growing dictionary of owner names, each with its kind."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.kinds: list[int] = []
        self._index: dict[str, int] = {}

    def add(self, name: str, kind: str) -> int:
        if name not in self._index:
            self._index[name] = len(self.names)
            self.names.append(name)
            self.kinds.append(KINDS.index(kind))
        return self._index[name]


def _bitcoin_owner_indices(world: World, heists: list[Heist], owners: _Owners) -> np.ndarray:
    wallets = world.btc.wallets
    per_wallet = np.empty(len(wallets), np.int32)
    miner = 0
    for w in range(len(wallets)):
        kind = int(wallets[w]["kind"])
        if kind == btc.USER:
            per_wallet[w] = owners.add(f"user-{w}", "user")
        elif kind == btc.MERCHANT:
            per_wallet[w] = owners.add(f"merchant-{w}", "merchant")
        elif kind in (btc.EXCHANGE_HOT, btc.EXCHANGE_DEPOSITS):
            per_wallet[w] = owners.add(world.exchanges[int(wallets[w]["service"])], "exchange")
        elif kind == btc.MINER:
            per_wallet[w] = owners.add(f"mining-pool-{miner}", "miner")
            miner += 1
        elif kind == btc.BRIDGE:
            per_wallet[w] = owners.add(BRIDGE_NAME, "bridge")
        else:
            per_wallet[w] = owners.add(OTC_NAME, "otc")
    count = int(world.btc.counters[btc.C_ADDRESS])
    wallet_of = world.btc.address_owner[:count]
    indices: np.ndarray = per_wallet[np.maximum(wallet_of, 0)]
    for heist in heists:
        indices[heist.record.bitcoin_ids] = owners.add(f"heist:{heist.p.name}", "heist")
    return indices


def _ethereum_owner_indices(world: World, heists: list[Heist], owners: _Owners) -> np.ndarray:
    state = world.eth
    count = int(state.counters[eth.C_ACCOUNT])
    accounts = state.accounts[:count]
    kind, service, owner = accounts["kind"], accounts["service"], accounts["owner"]
    indices = np.full(count, -1, np.int32)
    users = (kind == eth.USER) & (owner >= 0)
    # Users are the same people as on Bitcoin, whose wallets are numbered the same.
    user_index = np.array(
        [owners.add(f"user-{u}", "user") for u in range(len(state.user_account))], np.int32
    )
    indices[users] = user_index[owner[users]]
    indices[(kind == eth.USER) & (owner < 0)] = owners.add("victim-wallet", "victim")
    for e, name in enumerate(world.exchanges):
        indices[np.isin(kind, (eth.EXCHANGE_HOT, eth.DEPOSIT)) & (service == e)] = owners.add(
            name, "exchange"
        )
    indices[(kind == eth.EXCHANGE_HOT) & (service < 0)] = owners.add("victim-hot-wallet", "victim")
    contracts = state.contracts
    indices[contracts[eth.K_USD]] = owners.add("USDX token", "token")
    indices[contracts[eth.K_LST]] = owners.add("LSTX token", "token")
    indices[kind == eth.DEX] = owners.add(DEX_NAME, "dex")
    indices[np.isin(kind, (eth.BRIDGE, eth.BRIDGE_OPERATOR))] = owners.add(BRIDGE_NAME, "bridge")
    indices[kind == eth.MIXER] = owners.add(MIXER_NAME, "mixer")
    indices[kind == eth.RELAYER] = owners.add("mixer-relayer", "relayer")
    indices[kind == eth.OTC] = owners.add(OTC_NAME, "otc")
    for k, account in enumerate(state.builders):
        indices[account] = owners.add(f"block-builder-{k}", "builder")
    for heist in heists:
        indices[heist.record.ethereum_ids] = owners.add(f"heist:{heist.p.name}", "heist")
    if (indices < 0).any():
        raise AssertionError("an Ethereum account has no owner")
    return indices


def write_owners(path: Path, world: World, heists: list[Heist]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    btc_count = int(world.btc.counters[btc.C_ADDRESS])
    eth_count = int(world.eth.counters[eth.C_ACCOUNT])
    # The two address columns are independent compiled loops that release the GIL.
    with ThreadPoolExecutor(max_workers=2) as pool:
        btc_text = pool.submit(
            bitcoin_address_column, world.keys.btc_address, world.btc.address_kind[:btc_count]
        )
        eth_text = pool.submit(ethereum_address_column, world.keys.eth_address, eth_count)
        owners = _Owners()
        btc_owner = _bitcoin_owner_indices(world, heists, owners)
        eth_owner = _ethereum_owner_indices(world, heists, owners)
        columns = [(btc_text.result(), btc_count), (eth_text.result(), eth_count)]
    addresses = [
        pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data))
        for (data, offsets), count in columns
    ]
    names = pa.array(owners.names, pa.string())
    kinds = np.array(owners.kinds, np.int8)
    chain = np.concatenate([np.zeros(btc_count, np.int8), np.ones(eth_count, np.int8)])
    owner_index = np.concatenate([btc_owner, eth_owner])
    table = pa.table(
        {
            "chain": pa.DictionaryArray.from_arrays(chain, pa.array(["bitcoin", "ethereum"])),
            "address": pa.chunked_array(addresses),
            "owner": pa.DictionaryArray.from_arrays(owner_index, names),
            "owner_kind": pa.DictionaryArray.from_arrays(kinds[owner_index], pa.array(KINDS)),
        }
    )
    pq.write_table(table, path, compression="zstd")
