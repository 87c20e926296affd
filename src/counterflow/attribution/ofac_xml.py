"""OFAC's SDN list in XML: the legacy ``sdn.xml`` and the advanced ``sdn_advanced.xml``.

Both are renderings of the same list as ``sdn.csv``, so they give the same source,
``ofac-sdn``, and versions from any of them can be compared.

**Legacy** (``sdnList``): ``publshInformation/Publish_Date`` (OFAC's spelling, ``MM/DD/YYYY``)
dates the version; each ``sdnEntry`` has ``uid``, ``lastName``/``firstName``, ``sdnType``,
``programList/program``, ``akaList/aka`` (``category`` strong or weak), address, nationality and
citizenship countries, and ``idList/id`` whose ``idType`` is ``Digital Currency Address - ETH``
for an address held in ``idNumber``.

**Advanced** (``Sanctions``): every coded value is an ID into ``ReferenceValueSets``
(``FeatureType``, ``PartySubType``, ``PartyType``, ``SanctionsType``, ``AliasType``,
``NamePartType``, ``Country``). A ``DistinctParty``'s ``Profile`` holds its names (``Identity``,
``Alias``, ``DocumentedName`` parts typed through ``NamePartGroup``) and its ``Feature``\\ s: one
whose type is ``Digital Currency Address - XBT`` has the address in ``VersionDetail``;
nationality, citizenship and location features point at ``Locations``. Programs come last, in
``SanctionsEntries``: a ``SanctionsMeasure`` of type ``Program`` carries the program code in its
``Comment``. ``DateOfIssue`` dates the version. OFAC has published this schema under more than
one namespace, so elements are matched on their local names, and IDs are resolved only once the
whole document is read, so no ordering beyond the schema's is assumed.

Both are streamed through :mod:`~counterflow.attribution.xml_safety`. Weak aliases (legacy
``category`` weak, advanced ``LowQuality``) are left out of the names to screen: OFAC calls them
too broad to screen on. An address that fails its chain's checks is a reject naming the entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from xml.etree.ElementTree import Element

from counterflow.attribution.list_files import expand_paths, source_file
from counterflow.attribution.records import (
    EntryKind,
    ListedAddress,
    ListEntry,
    ParsedList,
    Reject,
)
from counterflow.attribution.tickers import sanctioned_address, ticker_of
from counterflow.attribution.xml_safety import (
    child,
    child_text,
    children,
    descendants,
    local_name,
    stream_records,
)
from counterflow.errors import InputError

FORMAT = "ofac-xml"
ADVANCED_FORMAT = "ofac-advanced-xml"
SOURCE = "ofac-sdn"
LEGACY_ROOT = "sdnList"
ADVANCED_ROOT = "Sanctions"

_LEGACY_KINDS: dict[str, EntryKind] = {
    "individual": "individual",
    "entity": "entity",
    "vessel": "vessel",
    "aircraft": "aircraft",
}
#: Advanced feature types whose location gives a country of the party.
_COUNTRY_FEATURES = frozenset({"Nationality Country", "Citizenship Country", "Location"})
#: Advanced name part types written first, before a comma, as the legacy list writes names.
_SURNAME_PARTS = frozenset({"Last Name", "Maiden Name"})


@dataclass(slots=True)
class _Party:
    """What one listed party says, before it becomes records (programs arrive last)."""

    entry: str
    name: str
    kind: EntryKind
    aliases: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    remarks: str = ""
    #: (ticker, address as listed, where)
    addresses: list[tuple[str, str, str]] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)


def parse_ofac_xml(
    paths: Sequence[str | Path], *, published: date | None = None, source: str = SOURCE
) -> ParsedList:
    """Parse the legacy ``sdn.xml``; ``published`` defaults to its ``Publish_Date``."""
    path = _one_file(paths, "sdn.xml")
    parties: list[_Party] = []
    stated: date | None = None
    records = stream_records(path, {"publshInformation", "sdnEntry"})
    _expect_root(path, next(records, ("", None))[0], LEGACY_ROOT, FORMAT)
    for name, element in records:
        if name == "publshInformation":
            text = child_text(element, "Publish_Date")
            if text:
                stated = _date(path, "Publish_Date", text, "%m/%d/%Y")
        else:
            parties.append(_legacy_party(path, element))
    return _parsed(path, FORMAT, source, published or stated, parties)


def parse_ofac_advanced_xml(
    paths: Sequence[str | Path], *, published: date | None = None, source: str = SOURCE
) -> ParsedList:
    """Parse ``sdn_advanced.xml``; ``published`` defaults to its ``DateOfIssue``."""
    path = _one_file(paths, "sdn_advanced.xml")
    wanted = {"DateOfIssue", "ReferenceValueSets", "Location", "DistinctParty", "SanctionsEntry"}
    references: dict[tuple[str, str], tuple[str, dict[str, str]]] = {}
    locations: dict[str, list[str]] = {}
    raw_parties: list[_RawParty] = []
    measures: dict[str, list[tuple[str, str]]] = {}
    stated: date | None = None
    records = stream_records(path, wanted)
    _expect_root(path, next(records, ("", None))[0], ADVANCED_ROOT, ADVANCED_FORMAT)
    for name, element in records:
        if name == "DateOfIssue":
            stated = _issue_date(path, element)
        elif name == "ReferenceValueSets":
            for value_set in element:
                for value in value_set:
                    key = (local_name(value.tag), value.get("ID", ""))
                    references[key] = ((value.text or "").strip(), dict(value.attrib))
        elif name == "Location":
            locations[element.get("ID", "")] = [
                country.get("CountryID", "") for country in descendants(element, "LocationCountry")
            ]
        elif name == "DistinctParty":
            raw_parties.append(_RawParty.read(path, element))
        else:
            profile = element.get("ProfileID", "")
            measures.setdefault(profile, []).extend(
                (m.get("SanctionsTypeID", ""), child_text(m, "Comment"))
                for m in children(element, "SanctionsMeasure")
            )
    resolver = _Resolver(path, references, locations)
    parties = []
    for raw in raw_parties:
        party = raw.resolve(resolver)
        party.programs = [
            comment
            for type_id, comment in measures.get(raw.profile, [])
            if comment and resolver.value("SanctionsType", type_id, raw.where) == "Program"
        ]
        parties.append(party)
    return _parsed(path, ADVANCED_FORMAT, source, published or stated, parties)


# --- legacy ---------------------------------------------------------------------------------


def _legacy_party(path: Path, element: Element) -> _Party:
    uid = child_text(element, "uid")
    if not uid:
        raise InputError(f"{path}: an sdnEntry has no uid ({_legacy_name(element) or 'no name'})")
    where = f"{path}, sdnEntry uid {uid}"
    party = _Party(
        entry=uid,
        name=_legacy_name(element),
        kind=_LEGACY_KINDS.get(child_text(element, "sdnType").lower(), "other"),
        remarks=child_text(element, "remarks"),
    )
    for programs in children(element, "programList"):
        party.programs.extend(
            text for p in children(programs, "program") if (text := (p.text or "").strip())
        )
    for akas in children(element, "akaList"):
        for aka in children(akas, "aka"):
            if child_text(aka, "category").lower() != "weak":
                party.aliases.append(_legacy_name(aka))
    for list_name, item_name in (
        ("addressList", "address"),
        ("nationalityList", "nationality"),
        ("citizenshipList", "citizenship"),
    ):
        for items in children(element, list_name):
            party.countries.extend(child_text(i, "country") for i in children(items, item_name))
    for ids in children(element, "idList"):
        for id_element in children(ids, "id"):
            ticker = ticker_of(child_text(id_element, "idType"))
            if ticker is not None:
                party.addresses.append((ticker, child_text(id_element, "idNumber"), where))
    return party


def _legacy_name(element: Element) -> str:
    last, first = child_text(element, "lastName"), child_text(element, "firstName")
    return f"{last}, {first}" if last and first else last or first


# --- advanced -------------------------------------------------------------------------------


class _Resolver:
    """Looks IDs up in the document's reference values; an unknown ID is a broken document."""

    def __init__(
        self,
        path: Path,
        references: dict[tuple[str, str], tuple[str, dict[str, str]]],
        locations: dict[str, list[str]],
    ) -> None:
        self.path = path
        self.references = references
        self.locations = locations

    def entry(self, kind: str, value_id: str, where: str) -> tuple[str, dict[str, str]]:
        found = self.references.get((kind, value_id))
        if found is None:
            raise InputError(f"{where}: {kind}ID {value_id!r} is not defined in ReferenceValueSets")
        return found

    def value(self, kind: str, value_id: str, where: str) -> str:
        return self.entry(kind, value_id, where)[0]

    def countries(self, location_id: str, where: str) -> list[str]:
        if location_id not in self.locations:
            raise InputError(f"{where}: LocationID {location_id!r} is not defined in Locations")
        return [self.value("Country", c, where) for c in self.locations[location_id] if c]


@dataclass(slots=True)
class _RawAlias:
    type_id: str
    primary: bool
    low_quality: bool
    #: Each documented name (one per script) as (NamePartGroupID, value) pairs.
    names: list[list[tuple[str, str]]]


@dataclass(slots=True)
class _RawParty:
    """A ``DistinctParty`` with its IDs unresolved, as the stream delivers it."""

    where: str
    entry: str
    profile: str
    subtype_id: str
    remarks: str
    aliases: list[_RawAlias]
    name_groups: dict[str, str]
    #: (FeatureTypeID, VersionDetail texts, LocationIDs)
    features: list[tuple[str, list[str], list[str]]]

    @classmethod
    def read(cls, path: Path, element: Element) -> _RawParty:
        profile = child(element, "Profile")
        if profile is None:
            raise InputError(f"{path}: DistinctParty {element.get('FixedRef')!r} has no Profile")
        profile_id = profile.get("ID", "")
        entry = element.get("FixedRef") or profile_id
        if not entry:
            raise InputError(f"{path}: a DistinctParty has neither FixedRef nor Profile ID")
        aliases = [
            _RawAlias(
                type_id=alias.get("AliasTypeID", ""),
                primary=alias.get("Primary", "").lower() == "true",
                low_quality=alias.get("LowQuality", "").lower() == "true",
                names=[
                    [
                        (value.get("NamePartGroupID", ""), (value.text or "").strip())
                        for value in descendants(documented, "NamePartValue")
                    ]
                    for documented in children(alias, "DocumentedName")
                ],
            )
            for identity in children(profile, "Identity")
            for alias in children(identity, "Alias")
        ]
        groups = {
            group.get("ID", ""): group.get("NamePartTypeID", "")
            for group in descendants(profile, "NamePartGroup")
        }
        features = [
            (
                feature.get("FeatureTypeID", ""),
                [(d.text or "").strip() for d in descendants(feature, "VersionDetail")],
                [loc.get("LocationID", "") for loc in descendants(feature, "VersionLocation")],
            )
            for feature in children(profile, "Feature")
        ]
        comments = [child_text(element, "Comment"), child_text(profile, "Comment")]
        return cls(
            where=f"{path}, DistinctParty {entry}",
            entry=entry,
            profile=profile_id,
            subtype_id=profile.get("PartySubTypeID", ""),
            remarks="; ".join(c for c in comments if c),
            aliases=aliases,
            name_groups=groups,
            features=features,
        )

    def resolve(self, resolver: _Resolver) -> _Party:
        primary = next((a for a in self.aliases if a.primary), None)
        if primary is None or not primary.names:
            raise InputError(f'{self.where}: no primary name (an Alias with Primary="true")')
        party = _Party(
            entry=self.entry,
            name=self._name(primary.names[0], resolver),
            kind=self._kind(resolver),
            remarks=self.remarks,
        )
        for alias in self.aliases:
            if alias.low_quality:
                continue
            names = alias.names[1:] if alias is primary else alias.names
            party.aliases.extend(self._name(parts, resolver) for parts in names)
        for type_id, details, location_ids in self.features:
            feature_type = resolver.value("FeatureType", type_id, self.where)
            ticker = ticker_of(feature_type)
            if ticker is not None:
                party.addresses.extend((ticker, detail, self.where) for detail in details if detail)
            elif feature_type in _COUNTRY_FEATURES:
                for location_id in location_ids:
                    party.countries.extend(resolver.countries(location_id, self.where))
        return party

    def _kind(self, resolver: _Resolver) -> EntryKind:
        subtype, attributes = resolver.entry("PartySubType", self.subtype_id, self.where)
        if subtype.lower() in ("vessel", "aircraft"):
            return "vessel" if subtype.lower() == "vessel" else "aircraft"
        party_type = attributes.get("PartyTypeID")
        if party_type is None:
            return "other"
        party_kind = resolver.value("PartyType", party_type, self.where).lower()
        return _LEGACY_KINDS.get(party_kind, "other")

    def _name(self, parts: list[tuple[str, str]], resolver: _Resolver) -> str:
        """The parts as the legacy list writes a name: ``SURNAME, Given Names``."""
        surname: list[str] = []
        others: list[str] = []
        for group_id, value in parts:
            type_id = self.name_groups.get(group_id)
            part_type = resolver.value("NamePartType", type_id, self.where) if type_id else ""
            (surname if part_type in _SURNAME_PARTS else others).append(value)
        if surname and others:
            return f"{' '.join(surname)}, {' '.join(others)}"
        return " ".join(surname or others)


# --- shared ---------------------------------------------------------------------------------


def _parsed(
    path: Path, fmt: str, source: str, published: date | None, parties: Iterable[_Party]
) -> ParsedList:
    entries: list[ListEntry] = []
    addresses: list[ListedAddress] = []
    rejects: list[Reject] = []
    for party in parties:
        programs = tuple(dict.fromkeys(party.programs))
        entries.append(
            ListEntry(
                entry=party.entry,
                name=party.name,
                kind=party.kind,
                programs=programs,
                aliases=tuple(dict.fromkeys(a for a in party.aliases if a and a != party.name)),
                countries=tuple(dict.fromkeys(c for c in party.countries if c)),
                remarks=party.remarks,
            )
        )
        for ticker, address, where in party.addresses:
            try:
                addresses.append(
                    sanctioned_address(
                        ticker, address, label=party.name, entry=party.entry, programs=programs
                    )
                )
            except ValueError as exc:
                rejects.append(Reject(where, address, str(exc)))
    return ParsedList(
        source=source,
        format=fmt,
        files=(source_file(path),),
        published=published,
        entries=tuple(entries),
        addresses=tuple(dict.fromkeys(addresses)),
        rejects=tuple(rejects),
    )


def _one_file(paths: Sequence[str | Path], name: str) -> Path:
    files = expand_paths(paths)
    if len(files) != 1:
        raise InputError(
            f"one {name} file at a time, got {len(files)}: {', '.join(str(p) for p in files)}"
        )
    return files[0]


def _expect_root(path: Path, root: str, expected: str, fmt: str) -> None:
    if root != expected:
        raise InputError(
            f"{path}: the root element is <{root}>, not <{expected}>; this is not {fmt}"
        )


def _date(path: Path, what: str, text: str, pattern: str) -> date:
    try:
        return datetime.strptime(text, pattern).date()
    except ValueError:
        raise InputError(f"{path}: {what} {text!r} is not a date ({pattern})") from None


def _issue_date(path: Path, element: Element) -> date:
    parts = [child_text(element, part) for part in ("Year", "Month", "Day")]
    try:
        return date(*(int(part) for part in parts))
    except ValueError:
        raise InputError(f"{path}: DateOfIssue {'-'.join(parts)!r} is not a date") from None
