"""GraphSense TagPacks: YAML files of address labels, the format investigators exchange.

A TagPack has header fields (``title``, ``creator``, ``source``, ``category``, ``currency``,
``confidence``, …) that every tag inherits unless it sets its own, and a ``tags`` list whose
entries name at least an ``address`` and a ``label``. Only the fields Counterflow uses are
kept; addresses are validated with the chain's codec, so a typo fails loudly, naming the file
and the tag, instead of silently matching nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from counterflow.chains.registry import get_chain, normalize_address
from counterflow.errors import ConfigError, InputError, InvalidAddressError

#: TagPack ``currency`` codes and the chains they denote.
CURRENCY_CHAINS = {
    "BTC": "bitcoin",
    "ETH": "ethereum",
    "BCH": "bitcoin-cash",
    "LTC": "litecoin",
    "DOGE": "dogecoin",
    "ZEC": "zcash",
    "TRX": "tron",
}
_INHERITED = ("currency", "category", "confidence", "source", "label")


@dataclass(frozen=True)
class Tag:
    chain: str
    address: str
    label: str
    category: str
    source: str
    confidence: str


@dataclass(frozen=True)
class TagPack:
    path: str
    title: str
    creator: str
    sha256: str
    tags: tuple[Tag, ...]


def load_tagpack(path: str | Path) -> TagPack:
    """Read and validate one TagPack file."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{file}: no such TagPack file") from None
    try:
        document = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise InputError(f"{file}: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise InputError(f"{file}: a TagPack is a mapping with a 'tags' list")
    entries = document.get("tags")
    if not isinstance(entries, list):
        raise InputError(f"{file}: missing 'tags' list")
    header = {k: document[k] for k in _INHERITED if k in document}
    tags = []
    for i, entry in enumerate(entries):
        where = f"{file}: tags[{i}]"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected a mapping with address and label")
        fields: dict[str, Any] = {**header, **entry}
        address = fields.get("address")
        currency = str(fields.get("currency", "")).upper()
        chain_name = CURRENCY_CHAINS.get(currency)
        if chain_name is None:
            raise InputError(f"{where}.currency: unknown currency {currency or None!r}")
        if isinstance(address, int) and not isinstance(address, bool):
            # YAML 1.1 reads an unquoted 0x… address as a hexadecimal integer; an EVM address
            # is exactly 20 bytes, so the text comes back without loss (leading zeros too).
            if get_chain(chain_name).family != "account" or not 0 <= address < 1 << 160:
                raise InputError(f"{where}.address: a number, not an address; quote it")
            address = f"0x{address:040x}"
        if not isinstance(address, str) or not address:
            raise InputError(f"{where}.address: missing")
        try:
            chain = get_chain(chain_name).name
            canonical = normalize_address(chain, address)
        except (InvalidAddressError, ConfigError) as exc:
            raise InputError(f"{where}.address: {exc}") from None
        label = fields.get("label")
        if not isinstance(label, str) or not label:
            raise InputError(f"{where}.label: missing")
        tags.append(
            Tag(
                chain=chain,
                address=canonical,
                label=label,
                category=str(fields.get("category", "")),
                source=str(fields.get("source", "")),
                confidence=str(fields.get("confidence", "")),
            )
        )
    return TagPack(
        path=str(file),
        title=str(document.get("title", "")),
        creator=str(document.get("creator", "")),
        sha256=hashlib.sha256(data).hexdigest(),
        tags=tuple(tags),
    )


def load_tagpacks(paths: list[str | Path] | tuple[str | Path, ...]) -> list[TagPack]:
    return [load_tagpack(p) for p in paths]
