"""GraphSense TagPacks: YAML files of address labels, the format investigators exchange.

A TagPack has header fields (``title``, ``creator``, ``source``, ``category``, ``currency``,
``confidence``, …) that every tag inherits unless it sets its own, and a ``tags`` list whose
entries name at least an ``address`` and a ``label``. Only the fields Counterflow uses are
kept; addresses are validated with the chain's codec, so a typo fails loudly, naming the file
and the tag, instead of silently matching nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from counterflow.attribution.list_files import expand_paths, source_file
from counterflow.attribution.records import ListedAddress, ParsedList, Reject
from counterflow.chains.registry import get_chain, normalize_address
from counterflow.errors import ConfigError, InputError, InvalidAddressError

FORMAT = "tagpack"

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
#: GraphSense's confidence levels (its ``confidence.csv``), as fractions.
GRAPHSENSE_CONFIDENCE = {
    "override": 1.0,
    "ownership": 1.0,
    "manual_transaction": 0.9,
    "service_api": 0.7,
    "authority_data": 0.6,
    "trusted_provider": 0.5,
    "service_data": 0.5,
    "forensic": 0.5,
    "untrusted_transaction": 0.4,
    "web_crawl": 0.2,
    "heuristic": 0.1,
    "unknown": 0.05,
}
#: Confidence of a tag that states none (GraphSense requires one; other producers may not).
DEFAULT_CONFIDENCE = "unknown"


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


class _TagError(Exception):
    """Internal: what is wrong with one tag (``field`` is ``""`` or ``".address"``, …)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _read(file: Path) -> tuple[bytes, dict[str, Any], list[Any]]:
    """The bytes, the document and its ``tags`` list; a pack that is not one is an error."""
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
    return data, document, entries


def _tag(entry: object, header: dict[str, Any]) -> Tag:
    """One tag with the header's fields inherited; raises :class:`_TagError`."""
    if not isinstance(entry, dict):
        raise _TagError("", "expected a mapping with address and label")
    fields: dict[str, Any] = {**header, **entry}
    address = fields.get("address")
    currency = str(fields.get("currency", "")).upper()
    chain_name = CURRENCY_CHAINS.get(currency)
    if chain_name is None:
        raise _TagError(".currency", f"unknown currency {currency or None!r}")
    if isinstance(address, int) and not isinstance(address, bool):
        # YAML 1.1 reads an unquoted 0x… address as a hexadecimal integer; an EVM address
        # is exactly 20 bytes, so the text comes back without loss (leading zeros too).
        if get_chain(chain_name).family != "account" or not 0 <= address < 1 << 160:
            raise _TagError(".address", "a number, not an address; quote it")
        address = f"0x{address:040x}"
    if not isinstance(address, str) or not address:
        raise _TagError(".address", "missing")
    try:
        chain = get_chain(chain_name).name
        canonical = normalize_address(chain, address)
    except (InvalidAddressError, ConfigError) as exc:
        raise _TagError(".address", str(exc)) from None
    label = fields.get("label")
    if not isinstance(label, str) or not label:
        raise _TagError(".label", "missing")
    return Tag(
        chain=chain,
        address=canonical,
        label=label,
        category=str(fields.get("category", "")),
        source=str(fields.get("source", "")),
        confidence=str(fields.get("confidence", "")),
    )


def load_tagpack(path: str | Path) -> TagPack:
    """Read and validate one TagPack file."""
    file = Path(path)
    data, document, entries = _read(file)
    header = {k: document[k] for k in _INHERITED if k in document}
    tags = []
    for i, entry in enumerate(entries):
        try:
            tags.append(_tag(entry, header))
        except _TagError as exc:
            raise InputError(f"{file}: tags[{i}]{exc.field}: {exc.reason}") from None
    return TagPack(
        path=str(file),
        title=str(document.get("title", "")),
        creator=str(document.get("creator", "")),
        sha256=hashlib.sha256(data).hexdigest(),
        tags=tuple(tags),
    )


def load_tagpacks(paths: list[str | Path] | tuple[str | Path, ...]) -> list[TagPack]:
    return [load_tagpack(p) for p in paths]


def tag_confidence(value: str) -> float:
    """A tag's ``confidence`` in [0, 1]: a GraphSense level name, a fraction or a percentage.

    Raises :class:`ValueError` for anything else.
    """
    text = value.strip().lower()
    if text in GRAPHSENSE_CONFIDENCE:
        return GRAPHSENSE_CONFIDENCE[text]
    try:
        number = float(text)
    except ValueError:
        known = ", ".join(GRAPHSENSE_CONFIDENCE)
        raise ValueError(f"confidence {value!r} is neither a number nor one of {known}") from None
    if 0.0 <= number <= 1.0:
        return number
    if 1.0 < number <= 100.0:
        return number / 100.0
    raise ValueError(f"confidence {value!r} is outside [0, 1] (or [0, 100] as a percentage)")


def parse_tagpacks(
    paths: Sequence[str | Path], *, source: str | None = None, published: date | None = None
) -> ParsedList:
    """Read TagPacks as one list version for the tag store.

    Unlike :func:`load_tagpack`, which stops at the first bad tag, every tag that cannot be
    taken (bad address, unknown currency, missing label or category, unknown confidence) is a
    reject naming the file and the tag, and the rest are kept. A file that is not a TagPack is
    still an error. ``source`` defaults to the packs' common ``title``.
    """
    files = expand_paths(paths)
    titles: set[str] = set()
    addresses: list[ListedAddress] = []
    rejects: list[Reject] = []
    for file in files:
        _, document, entries = _read(file)
        titles.add(str(document.get("title", "")).strip())
        header = {k: document[k] for k in _INHERITED if k in document}
        for i, entry in enumerate(entries):
            where = f"{file}: tags[{i}]"
            value = _shown(entry.get("address", "") if isinstance(entry, dict) else entry)
            try:
                tag = _tag(entry, header)
                if not tag.category:
                    raise _TagError(".category", "missing")
                confidence = tag_confidence(tag.confidence or DEFAULT_CONFIDENCE)
            except _TagError as exc:
                rejects.append(Reject(where + exc.field, value, exc.reason))
                continue
            except ValueError as exc:
                rejects.append(Reject(where + ".confidence", value, str(exc)))
                continue
            addresses.append(
                ListedAddress(
                    chain=tag.chain,
                    address=tag.address,
                    category=tag.category,
                    label=tag.label,
                    confidence=confidence,
                )
            )
    if source is None:
        if len(titles) != 1 or not next(iter(titles)):
            raise InputError(
                "the TagPacks do not share one title to name the list by; give a source name"
            )
        source = titles.pop()
    return ParsedList(
        source=source,
        format=FORMAT,
        files=tuple(source_file(p) for p in files),
        published=published,
        addresses=tuple(dict.fromkeys(addresses)),
        rejects=tuple(rejects),
    )


def _shown(value: object) -> str:
    """A tag's address as a reject shows it (YAML may have read ``0x…`` as a number)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:#x}"
    return str(value)
