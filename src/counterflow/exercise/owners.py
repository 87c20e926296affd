"""The true owner of every simulated address, for scoring clustering and attribution.

One row per address of either chain: ``chain``, ``address``, ``owner`` (an entity name that is
the same person on both chains: ``user-17`` on Bitcoin and Ethereum is one user) and
``owner_kind`` (user, merchant, exchange, miner, bridge, otc, dex, mixer, relayer, token,
builder, victim, heist).
"""

from __future__ import annotations

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


def bitcoin_wallet_names(world: World) -> tuple[list[str], list[str]]:
    names: list[str] = []
    kinds: list[str] = []
    miner = 0
    for w in world.btc.wallets:
        kind = int(w["kind"])
        if kind == btc.USER:
            names.append(f"user-{len(names)}")
            kinds.append("user")
        elif kind == btc.MERCHANT:
            names.append(f"merchant-{len(names)}")
            kinds.append("merchant")
        elif kind in (btc.EXCHANGE_HOT, btc.EXCHANGE_DEPOSITS):
            names.append(world.exchanges[int(w["service"])])
            kinds.append("exchange")
        elif kind == btc.MINER:
            names.append(f"mining-pool-{miner}")
            kinds.append("miner")
            miner += 1
        elif kind == btc.BRIDGE:
            names.append(BRIDGE_NAME)
            kinds.append("bridge")
        else:
            names.append(OTC_NAME)
            kinds.append("otc")
    return names, kinds


def ethereum_account_names(world: World) -> tuple[list[str], list[str]]:
    state = world.eth
    count = int(state.counters[eth.C_ACCOUNT])
    accounts = state.accounts[:count]
    contracts = {int(a): k for k, a in enumerate(state.contracts)}
    names: list[str] = []
    kinds: list[str] = []
    for a in range(count):
        kind = int(accounts["kind"][a])
        service = int(accounts["service"][a])
        owner = int(accounts["owner"][a])
        if kind == eth.USER:
            name, group = (f"user-{owner}", "user") if owner >= 0 else ("victim-wallet", "victim")
        elif kind in (eth.EXCHANGE_HOT, eth.DEPOSIT):
            name = world.exchanges[service] if service >= 0 else "victim-hot-wallet"
            group = "exchange" if service >= 0 else "victim"
        elif kind == eth.TOKEN:
            name, group = ("USDX token" if contracts[a] == eth.K_USD else "LSTX token"), "token"
        elif kind == eth.DEX:
            name, group = DEX_NAME, "dex"
        elif kind in (eth.BRIDGE, eth.BRIDGE_OPERATOR):
            name, group = BRIDGE_NAME, "bridge"
        elif kind == eth.MIXER:
            name, group = MIXER_NAME, "mixer"
        elif kind == eth.RELAYER:
            name, group = "mixer-relayer", "relayer"
        elif kind == eth.OTC:
            name, group = OTC_NAME, "otc"
        elif kind == eth.BUILDER:
            name, group = f"block-builder-{service}", "builder"
        else:
            name, group = "heist", "heist"
        names.append(name)
        kinds.append(group)
    return names, kinds


def write_owners(path: Path, world: World, heists: list[Heist]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    heist_of = {
        address: heist.p.name for heist in heists for (_, address) in heist.record.addresses
    }
    tables = []
    # Bitcoin: addresses carry the wallet that made them (-1: the heists' own).
    count = int(world.btc.counters[btc.C_ADDRESS])
    data, offsets = bitcoin_address_column(world.keys.btc_address, world.btc.address_kind[:count])
    addresses = pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data))
    wallet_names, wallet_kinds = bitcoin_wallet_names(world)
    owner_ids = world.btc.address_owner[:count].astype(np.int64)
    owner = np.array([*wallet_names, "heist"], dtype=object)[owner_ids]
    kind = np.array([*wallet_kinds, "heist"], dtype=object)[owner_ids]
    for i in np.nonzero(owner_ids < 0)[0]:
        owner[i] = f"heist:{heist_of.get(addresses[int(i)].as_py(), 'unknown')}"
    tables.append(_table("bitcoin", addresses, owner, kind))
    # Ethereum.
    count = int(world.eth.counters[eth.C_ACCOUNT])
    data, offsets = ethereum_address_column(world.keys.eth_address, count)
    addresses = pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data))
    names, kinds = ethereum_account_names(world)
    owner = np.array(names, dtype=object)
    for i in np.nonzero(owner == "heist")[0]:
        owner[i] = f"heist:{heist_of.get(addresses[int(i)].as_py(), 'unknown')}"
    tables.append(_table("ethereum", addresses, owner, np.array(kinds, dtype=object)))
    pq.write_table(pa.concat_tables(tables), path, compression="zstd")


def _table(chain: str, addresses: pa.Array, owner: np.ndarray, kind: np.ndarray) -> pa.Table:
    return pa.table(
        {
            "chain": pa.array([chain] * len(addresses)).dictionary_encode(),
            "address": addresses,
            "owner": pa.array(owner, pa.string()),
            "owner_kind": pa.array(kind, pa.string()).dictionary_encode(),
        }
    )
