"""Community extractions of OFAC's SDN list: per-ticker address lists and a keyed JSON.

Both are derived from OFAC's SDN list by third parties, so they give the list's source,
``ofac-sdn``, and their versions can be compared with versions read from OFAC's own files.

**Per-ticker lists** (``sanctioned_addresses_XBT.txt``, one address per line, and the same list
as a JSON array in ``sanctioned_addresses_XBT.json``): the ticker comes from the file name; a
folder stands for the files of that pattern inside it. When a folder holds both renderings of a
ticker they must list the same addresses, and their addresses are read once. The lists name no
party, so their addresses have no entry, and no date, so ``published`` is the caller's.

**Keyed JSON** (``{"metadata": {"sdnListDate": "08/21/2025", …}, "addresses": {address: {"type":
…, "entries": [{"entity", "program", "uid", "akas", "type"}, …]}}}``): ``sdnListDate`` dates the
version, and each entry names the SDN party. Its publisher lowercased the address keys, which
destroys the case of Base58 addresses (Bitcoin legacy, Tron, Monero, Ripple, …). Hex (EVM),
bech32 and CashAddr are case-insensitive and are normalised directly. A Base58 address is
restored from ``case_hints`` (casefolded address → the canonical address, built by the caller
from addresses it already holds); one that cannot be restored is a reject saying so, never
stored in the wrong case: a wrongly cased Base58 string is a different (and invalid) address.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from counterflow.attribution.list_files import expand_paths, read_text, source_file
from counterflow.attribution.records import (
    SANCTIONED,
    ListedAddress,
    ListEntry,
    ParsedList,
    Reject,
)
from counterflow.attribution.tickers import (
    place_address,
    sanctioned_address,
    ticker_chain,
    ticker_of,
)
from counterflow.chains.base58 import ALPHABET
from counterflow.chains.registry import get_chain, normalize_address
from counterflow.errors import InputError, InvalidAddressError

JSON_FORMAT = "ofac-json"
TICKERS_FORMAT = "ofac-tickers"
SOURCE = "ofac-sdn"
#: Label of addresses from the per-ticker lists, which do not say whom they belong to.
TICKER_LIST_LABEL = "OFAC SDN"

_TICKER_FILE = re.compile(r"^sanctioned_addresses_([A-Za-z0-9]+)\.(txt|json)(?:\.gz)?$")
_BASE58_FOLDED = frozenset(ALPHABET.lower() + ALPHABET.upper())


# --- per-ticker lists -----------------------------------------------------------------------


def parse_ofac_ticker_lists(
    paths: Sequence[str | Path], *, published: date | None = None, source: str = SOURCE
) -> ParsedList:
    """Parse per-ticker address lists (files, or folders holding them)."""
    files = _ticker_files(paths)
    by_ticker: dict[str, list[tuple[Path, list[tuple[str, str]]]]] = {}
    for path, ticker in files:
        by_ticker.setdefault(ticker, []).append((path, _ticker_items(path)))
    addresses: list[ListedAddress] = []
    rejects: list[Reject] = []
    for ticker, renderings in by_ticker.items():
        first_path, items = renderings[0]
        for other_path, other in renderings[1:]:
            if sorted(a for _, a in other) != sorted(a for _, a in items):
                raise InputError(
                    f"{first_path} and {other_path} both list {ticker} addresses but not the "
                    "same ones; give one of them"
                )
        for where, address in items:
            try:
                addresses.append(sanctioned_address(ticker, address, label=TICKER_LIST_LABEL))
            except ValueError as exc:
                rejects.append(Reject(where, address, str(exc)))
    return ParsedList(
        source=source,
        format=TICKERS_FORMAT,
        files=tuple(source_file(path) for path, _ in files),
        published=published,
        addresses=tuple(dict.fromkeys(addresses)),
        rejects=tuple(rejects),
    )


def ticker_file(path: Path) -> str | None:
    """The ticker a per-ticker list file is for, from its name; ``None`` for other files."""
    match = _TICKER_FILE.match(path.name)
    return match.group(1).upper() if match else None


def _ticker_files(paths: Sequence[str | Path]) -> list[tuple[Path, str]]:
    files: list[tuple[Path, str]] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = [
                (p, t) for p in sorted(path.iterdir()) if (t := ticker_file(p)) and p.is_file()
            ]
            if not found:
                raise InputError(f"{path}: no sanctioned_addresses_TICKER.txt or .json files")
            files.extend(found)
            continue
        (file,) = expand_paths([path])
        ticker = ticker_file(file)
        if ticker is None:
            raise InputError(
                f"{file}: cannot tell the ticker; per-ticker lists are named "
                "sanctioned_addresses_TICKER.txt or sanctioned_addresses_TICKER.json"
            )
        files.append((file, ticker))
    return files


def _ticker_items(path: Path) -> list[tuple[str, str]]:
    """``(where, address)`` for every address the file lists."""
    text = read_text(path)
    if ".json" in path.suffixes:
        document = _load_json(text, path)
        if not isinstance(document, list) or not all(isinstance(a, str) for a in document):
            raise InputError(f"{path}: expected a JSON array of address strings")
        return [(f"{path}, item {i}", a.strip()) for i, a in enumerate(document, 1) if a.strip()]
    return [
        (f"{path}, line {n}", line.strip())
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip()
    ]


# --- keyed JSON -----------------------------------------------------------------------------


def parse_ofac_json(
    paths: Sequence[str | Path],
    *,
    case_hints: Mapping[str, str] | None = None,
    published: date | None = None,
    source: str = SOURCE,
) -> ParsedList:
    """Parse the keyed community JSON; ``published`` defaults to its ``sdnListDate``."""
    files = expand_paths(paths)
    if len(files) != 1:
        raise InputError(f"one OFAC JSON file at a time, got {len(files)}")
    path = files[0]
    document = _load_json(read_text(path), path)
    if not isinstance(document, dict) or not isinstance(document.get("addresses"), dict):
        raise InputError(f"{path}: expected an object with an 'addresses' object")
    metadata = document.get("metadata") or {}
    stated = _list_date(path, metadata.get("sdnListDate")) if isinstance(metadata, dict) else None

    entries: dict[str, ListEntry] = {}
    addresses: list[ListedAddress] = []
    rejects: list[Reject] = []
    for key, item in document["addresses"].items():
        where = f"{path}, addresses[{key!r}]"
        listed = item.get("entries") if isinstance(item, dict) else None
        if not isinstance(listed, list) or not listed:
            raise InputError(f"{where}: expected an object with a non-empty 'entries' list")
        for number, raw in enumerate(listed):
            entry = _entry(raw, f"{where}.entries[{number}]")
            entries.setdefault(entry.entry, entry)
            ticker = ticker_of(str(raw.get("type") or item.get("type") or ""))
            if ticker is None:
                rejects.append(Reject(where, key, f"type {raw.get('type')!r} is not an address"))
                continue
            try:
                chain, canonical = _restore_case(ticker, key, case_hints)
            except ValueError as exc:
                rejects.append(Reject(f"{where} (uid {entry.entry})", key, str(exc)))
                continue
            addresses.append(
                ListedAddress(
                    chain=chain,
                    address=canonical,
                    category=SANCTIONED,
                    label=entry.name,
                    confidence=1.0,
                    entry=entry.entry,
                    programs=entry.programs,
                    ticker=ticker,
                )
            )
    return ParsedList(
        source=source,
        format=JSON_FORMAT,
        files=(source_file(path),),
        published=published or stated,
        entries=tuple(entries.values()),
        addresses=tuple(dict.fromkeys(addresses)),
        rejects=tuple(rejects),
        # the extraction keeps only the entries that name addresses
        entries_complete=False,
    )


def _entry(raw: Any, where: str) -> ListEntry:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected an object")
    uid, entity = str(raw.get("uid") or "").strip(), str(raw.get("entity") or "").strip()
    if not uid or not entity:
        raise InputError(f"{where}: 'uid' and 'entity' are required")
    akas = raw.get("akas") or []
    if not isinstance(akas, list):
        raise InputError(f"{where}.akas: expected a list of names")
    programs = str(raw.get("program") or "")
    return ListEntry(
        entry=uid,
        name=entity,
        kind="other",  # the extraction does not say whether a party is a person or an entity
        programs=tuple(dict.fromkeys(p.strip() for p in programs.split(",") if p.strip())),
        aliases=tuple(dict.fromkeys(str(a).strip() for a in akas if str(a).strip())),
    )


def case_insensitive(chain: str, address: str) -> bool:
    """Whether ``address`` is in an encoding of ``chain`` whose letters' case carries nothing.

    Hex (EVM accounts, Tron's hex form), bech32 and CashAddr are; Base58 is not.
    """
    spec = get_chain(chain)
    folded = address.lower()
    if spec.name == "tron":
        return folded.startswith(("41", "0x41")) and len(folded) in (42, 44)
    if spec.has_own_codec:
        return False
    if spec.family == "account":
        return True
    assert spec.utxo_format is not None
    fmt = spec.utxo_format
    if fmt.bech32_hrp is not None and folded.startswith(fmt.bech32_hrp + "1"):
        return True
    if fmt.cashaddr_prefix is not None:
        return folded.startswith((fmt.cashaddr_prefix + ":", "q", "p"))
    return False


def _restore_case(ticker: str, folded: str, hints: Mapping[str, str] | None) -> tuple[str, str]:
    """``(chain, canonical)`` of a lowercased listed address; ``ValueError`` with the reason."""
    chain = ticker_chain(ticker, folded)
    hint = hints.get(folded.casefold()) if hints else None
    if hint is not None and hint.casefold() == folded.casefold():
        return place_address(ticker, hint)
    if case_insensitive(chain, folded):
        return place_address(ticker, folded)
    try:
        return chain, normalize_address(chain, folded)
    except InvalidAddressError as exc:
        if _BASE58_FOLDED.issuperset(folded):
            raise ValueError(
                f"the list lowercased this {chain} address, and {chain} Base58 addresses are "
                "case-sensitive: its case cannot be restored without a case hint (no address "
                "already held matches it case-insensitively)"
            ) from None
        raise ValueError(f"not a valid {chain} address for ticker {ticker}: {exc.reason}") from None


# --- shared ---------------------------------------------------------------------------------


def _load_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}, line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}"
        ) from None


def _list_date(path: Path, text: object) -> date | None:
    if text is None or text == "":
        return None
    try:
        return datetime.strptime(str(text), "%m/%d/%Y").date()
    except ValueError:
        raise InputError(f"{path}: metadata.sdnListDate {text!r} is not MM/DD/YYYY") from None
