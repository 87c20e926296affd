"""Service labels of a scenario, as a GraphSense TagPack.

These are the labels a real deployment starts from: exchanges' hot wallets, the bridge, the
mixer pools and relayers, the DEX, the OTC desk, mining pools and token contracts. Deposit
addresses are deliberately not labelled: finding them (they sweep into a labelled hot wallet)
is the clustering's job, as it is with real data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from counterflow.exercise import bitcoin_economy as btc
from counterflow.exercise import ethereum_economy as eth
from counterflow.exercise.owners import BRIDGE_NAME, DEX_NAME, MIXER_NAME, OTC_NAME

if TYPE_CHECKING:
    from counterflow.exercise.world import World

#: GraphSense entity categories used here.
CATEGORIES = ("exchange", "bridge", "mixing_service", "defi_dex", "otc_broker", "miner", "token")


def service_tags(world: World) -> list[dict[str, str]]:
    """One tag per labelled address: address, currency, label, category."""
    tags: list[dict[str, str]] = []
    wallets = world.btc.wallets
    labelled = (btc.EXCHANGE_HOT, btc.MINER, btc.BRIDGE, btc.OTC)
    for w in np.nonzero(np.isin(wallets["kind"], labelled))[0]:
        kind = int(wallets[w]["kind"])
        address = world.btc_address_text(int(wallets[w]["address"]))
        if kind == btc.EXCHANGE_HOT:
            label = f"{world.exchanges[int(wallets[w]['service'])]} hot wallet"
            tags.append(_tag(address, "BTC", label, "exchange"))
        elif kind == btc.MINER:
            tags.append(_tag(address, "BTC", f"mining pool {w}", "miner"))
        elif kind == btc.BRIDGE:
            tags.append(_tag(address, "BTC", f"{BRIDGE_NAME} custody", "bridge"))
        elif kind == btc.OTC:
            tags.append(_tag(address, "BTC", OTC_NAME, "otc_broker"))
    state = world.eth
    name = world.eth_address_text
    for e, account in enumerate(state.exchange_hot):
        tags.append(_tag(name(int(account)), "ETH", f"{world.exchanges[e]} hot wallet", "exchange"))
    c = state.contracts
    tags.append(_tag(name(int(c[eth.K_USD])), "ETH", "USDX stablecoin", "token"))
    tags.append(_tag(name(int(c[eth.K_LST])), "ETH", "LSTX liquid staking token", "token"))
    tags.append(_tag(name(int(c[eth.K_DEX])), "ETH", f"{DEX_NAME} router", "defi_dex"))
    tags.append(_tag(name(int(c[eth.K_BRIDGE])), "ETH", f"{BRIDGE_NAME} contract", "bridge"))
    tags.append(_tag(name(int(c[eth.K_OPERATOR])), "ETH", f"{BRIDGE_NAME} operator", "bridge"))
    tags.append(_tag(name(int(c[eth.K_OTC])), "ETH", OTC_NAME, "otc_broker"))
    for pool, denomination in enumerate(("0.1", "1", "10", "100")):
        account = int(c[eth.K_MIXERS + pool])
        tags.append(
            _tag(name(account), "ETH", f"{MIXER_NAME}: {denomination} ETH", "mixing_service")
        )
    for k, account in enumerate(state.relayers):
        tags.append(_tag(name(int(account)), "ETH", f"{MIXER_NAME} relayer {k}", "mixing_service"))
    return tags


def _tag(address: str, currency: str, label: str, category: str) -> dict[str, str]:
    return {"address": address, "currency": currency, "label": label, "category": category}


def write_labels(folder: Path, world: World, seed: int) -> Path:
    """Write ``services.yaml`` (a TagPack) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        f'title: "Counterflow exercise {seed}: service labels"',
        'creator: "counterflow exercise run"',
        'description: "Service wallets of a simulated scenario (exchanges, bridge, mixer, DEX, '
        'OTC desk, mining pools, tokens)"',
        f'source: "counterflow-exercise://seed/{seed}"',
        "confidence: ownership",
        "is_public: true",
        "tags:",
    ]
    for tag in service_tags(world):
        lines.append(f'- address: "{tag["address"]}"')
        lines.append(f"  currency: {tag['currency']}")
        lines.append(f'  label: "{tag["label"]}"')
        lines.append(f"  category: {tag['category']}")
    path = folder / "services.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
