"""Plain address lists: one address per line, as agencies and researchers publish them.

An FBI public service announcement, a research report's appendix or an analyst's notes give
addresses and nothing else, so what they mean comes from the caller: the chain, the category
(``stolen_funds`` for the FBI's Bybit list), a label ("TraderTraitor (Bybit)") and the source
name. Blank lines and ``#`` comments (whole lines, or after an address) are ignored. A line that
is not one valid address is a reject naming the line, so a typo is reported instead of silently
matching nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from counterflow.attribution.list_files import expand_paths, read_text, source_file
from counterflow.attribution.records import ListedAddress, ParsedList, Reject
from counterflow.chains.registry import get_chain, normalize_address
from counterflow.errors import ConfigError, InvalidAddressError

FORMAT = "address-list"


def parse_address_list(
    paths: Sequence[str | Path],
    *,
    chain: str,
    category: str,
    label: str,
    source: str,
    confidence: float = 1.0,
    entry: str | None = None,
    programs: Sequence[str] = (),
    published: date | None = None,
) -> ParsedList:
    """Parse address-per-line files whose meaning (chain, category, label, source) is given."""
    spec = get_chain(chain)
    for name, value in (("category", category), ("label", label), ("source", source)):
        if not value.strip():
            raise ConfigError(f"an address list needs a {name}; none was given")
    if not 0.0 <= confidence <= 1.0:
        raise ConfigError(f"confidence {confidence} is outside [0, 1]")
    files = expand_paths(paths)
    addresses: list[ListedAddress] = []
    rejects: list[Reject] = []
    for path in files:
        for number, line in enumerate(read_text(path).splitlines(), start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            where = f"{path}, line {number}"
            if len(text.split()) > 1 or "," in text:
                rejects.append(Reject(where, text, "expected one address per line"))
                continue
            try:
                canonical = normalize_address(spec, text)
            except InvalidAddressError as exc:
                rejects.append(
                    Reject(where, text, f"not a valid {spec.name} address: {exc.reason}")
                )
                continue
            addresses.append(
                ListedAddress(
                    chain=spec.name,
                    address=canonical,
                    category=category.strip(),
                    label=label.strip(),
                    confidence=confidence,
                    entry=entry,
                    programs=tuple(programs),
                )
            )
    return ParsedList(
        source=source.strip(),
        format=FORMAT,
        files=tuple(source_file(p) for p in files),
        published=published,
        addresses=tuple(dict.fromkeys(addresses)),
        rejects=tuple(rejects),
    )
