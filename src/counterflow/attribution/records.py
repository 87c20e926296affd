"""What a list or label source says, once parsed: the records every list parser returns.

Parsers (one module per format: ``ofac_csv``, ``ofac_xml``, ``ofac_json``, ``un_list``,
``address_list``, ``label_csv``, ``misp_galaxy``, ``tagpack``) turn files into one
:class:`ParsedList`; the tag store (``tagstore``) then versions it with provenance, TLP and
validity. Keeping parsing pure (files in, records out, nothing stored) lets each format be
tested alone and lets a failed parse leave the store untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

#: Address categories the screening and tracing engines give meaning to (docs/attribution.md).
#: Sources may carry others (Etherscan has hundreds of labels); they are kept as written.
SANCTIONED = "sanctioned"
STOLEN_FUNDS = "stolen_funds"
THREAT_ACTOR = "threat_actor"
EXCHANGE = "exchange"
MIXER = "mixing_service"
BRIDGE = "bridge"
DEX = "defi_dex"

#: Kinds of listed parties.
EntryKind = Literal["entity", "individual", "vessel", "aircraft", "threat_actor", "other"]


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file a list was read from, with the hash that pins exactly which bytes."""

    path: str
    sha256: str


@dataclass(frozen=True, slots=True)
class ListEntry:
    """A party a list names: an SDN entry, a UN entry, a threat-actor cluster.

    ``entry`` is the list's own identifier (SDN ``uid``/``ent_num``, UN ``REFERENCE_NUMBER``,
    MISP cluster ``uuid``), so a regulator can look the entry up in the original publication.
    """

    entry: str
    name: str
    kind: EntryKind
    programs: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    remarks: str = ""


@dataclass(frozen=True, slots=True)
class ListedAddress:
    """One address a list names, validated and in its chain's canonical form.

    ``confidence`` is in [0, 1]: 1.0 for an official designation, lower for community labels.
    ``ticker`` is the currency code as the list wrote it (OFAC's ``XBT``, a TagPack's ``BTC``).
    """

    chain: str
    address: str
    category: str
    label: str
    confidence: float
    entry: str | None = None
    programs: tuple[str, ...] = ()
    ticker: str | None = None


@dataclass(frozen=True, slots=True)
class Reject:
    """Something in a list that could not be taken as it stands, and why.

    ``where`` names the file and the line, row or entry; ``value`` is the offending text.
    Rejects are reported (CLI summary, reject file), never dropped silently.
    """

    where: str
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedList:
    """Everything one import read: a list's parties, addresses and what was rejected.

    ``source`` names the *list* (``ofac-sdn``, ``un-consolidated``, ``fbi-bybit``, …), not the
    file format: the same list published in several formats (OFAC's CSV, XML and community
    extractions of it) is one source whose versions can be compared. ``published`` is the date
    the publisher gives the version, when the files state one.
    """

    source: str
    format: str
    files: tuple[SourceFile, ...]
    published: date | None = None
    entries: tuple[ListEntry, ...] = ()
    addresses: tuple[ListedAddress, ...] = ()
    rejects: tuple[Reject, ...] = field(default=())
    #: False when the rendering carries only some of the list's parties (a community
    #: extraction keeps those with addresses): its versions then never delist an entry.
    entries_complete: bool = True
