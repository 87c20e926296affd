"""The tag store: every list and label source, versioned, with provenance, validity and TLP.

Layout::

    DATA_DIR/attribution/
      manifest.json             names the current generation folder (replaced atomically)
      gen-NNNNNN/versions.parquet   one row per imported list version (provenance)
      gen-NNNNNN/tags.parquet       one row per (list, address, category, entry) listing period
      gen-NNNNNN/entries.parquet    one row per listed party (names for name screening)

An import reads the current generation, computes what the new list version adds and removes,
writes a whole new generation folder and then replaces ``manifest.json``: a crash at any point
leaves the previous generation, and so the previous store, intact. Tag stores are small (tens of
thousands of rows); rewriting them whole keeps every read a plain scan of three files.

**Versions and delisting.** A *source* is a list (``ofac-sdn``, ``un-consolidated``, …) owned
by the operator or a partner. Each import of a source is a version, ordered by its publication
date. A tag listed by version *v* and missing from the next version *w* is closed: its
``valid_to`` becomes *w*'s publication date and ``removed_in`` is *w*. Screening at time *t*
counts only tags with ``valid_from <= t < valid_to``; the closed rows stay, so a decision made
before a delisting can still be explained afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from counterflow.attribution.records import ListedAddress, ParsedList
from counterflow.attribution.tagpack import Tag
from counterflow.attribution.tlp import OPERATOR, Viewer, parse_tlp
from counterflow.chains.registry import get_chain
from counterflow.errors import InputError, StoreError
from counterflow.store.datadir import DataDirectory, atomic_write_json

FORMAT = 1
_UTC_TS = pa.timestamp("us", tz="UTC")
_STRINGS = pa.list_(pa.string())

VERSIONS_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("owner", pa.string()),
        ("version", pa.string()),
        ("format", pa.string()),
        ("published", pa.date32()),
        ("retrieved", pa.date32()),
        ("imported_at", _UTC_TS),
        ("files", pa.string()),  # JSON: [{"path": …, "sha256": …}, …]
        ("tlp", pa.string()),
        ("addresses", pa.int64()),
        ("entries", pa.int64()),
        ("rejects", pa.int64()),
        ("added", pa.int64()),
        ("removed", pa.int64()),
    ]
)
TAGS_SCHEMA = pa.schema(
    [
        ("chain", pa.string()),
        ("address", pa.string()),
        ("category", pa.string()),
        ("label", pa.string()),
        ("confidence", pa.float64()),
        ("source", pa.string()),
        ("owner", pa.string()),
        ("version", pa.string()),
        ("entry", pa.string()),
        ("programs", _STRINGS),
        ("ticker", pa.string()),
        ("tlp", pa.string()),
        ("valid_from", _UTC_TS),
        ("valid_to", _UTC_TS),
        ("removed_in", pa.string()),
    ]
)
ENTRIES_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("owner", pa.string()),
        ("version", pa.string()),
        ("entry", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("programs", _STRINGS),
        ("aliases", _STRINGS),
        ("countries", _STRINGS),
        ("remarks", pa.string()),
        ("tlp", pa.string()),
        ("valid_from", _UTC_TS),
        ("valid_to", _UTC_TS),
        ("removed_in", pa.string()),
    ]
)
_TABLES = {"versions": VERSIONS_SCHEMA, "tags": TAGS_SCHEMA, "entries": ENTRIES_SCHEMA}


@dataclass(frozen=True, slots=True)
class StoredTag:
    """One listing period of one address by one list version chain."""

    chain: str
    address: str
    category: str
    label: str
    confidence: float
    source: str
    version: str
    entry: str | None
    programs: tuple[str, ...]
    ticker: str | None
    tlp: str
    owner: str | None
    valid_from: datetime
    valid_to: datetime | None
    removed_in: str | None

    def valid_at(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)

    def to_graph_tag(self) -> Tag:
        """The label the tracer and exposure engine take (they see category and label only)."""
        return Tag(
            chain=self.chain,
            address=self.address,
            label=self.label,
            category=self.category,
            source=f"{self.source}@{self.version}",
            confidence=f"{self.confidence:g}",
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "address": self.address,
            "category": self.category,
            "label": self.label,
            "confidence": self.confidence,
            "source": self.source,
            "version": self.version,
            "entry": self.entry,
            "programs": list(self.programs),
            "ticker": self.ticker,
            "tlp": self.tlp,
            "owner": self.owner,
            "valid_from": _iso(self.valid_from),
            "valid_to": _iso(self.valid_to),
            "removed_in": self.removed_in,
        }


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """A listed party (SDN or UN entry, threat-actor cluster) with its names."""

    source: str
    version: str
    entry: str
    name: str
    kind: str
    programs: tuple[str, ...]
    aliases: tuple[str, ...]
    countries: tuple[str, ...]
    remarks: str
    tlp: str
    owner: str | None
    valid_from: datetime
    valid_to: datetime | None
    removed_in: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "version": self.version,
            "entry": self.entry,
            "name": self.name,
            "kind": self.kind,
            "programs": list(self.programs),
            "aliases": list(self.aliases),
            "countries": list(self.countries),
            "tlp": self.tlp,
            "owner": self.owner,
            "valid_from": _iso(self.valid_from),
            "valid_to": _iso(self.valid_to),
            "removed_in": self.removed_in,
        }


@dataclass(frozen=True, slots=True)
class ListVersion:
    """Provenance of one imported version of one list."""

    source: str
    owner: str | None
    version: str
    format: str
    published: date | None
    retrieved: date | None
    imported_at: datetime
    files: tuple[tuple[str, str], ...]  # (path, sha256)
    tlp: str
    addresses: int
    entries: int
    rejects: int
    added: int
    removed: int

    @property
    def effective(self) -> datetime:
        """When this version's additions and removals take effect (UTC midnight of its date)."""
        day = self.published or self.retrieved or self.imported_at.date()
        return datetime.combine(day, time(), UTC)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "owner": self.owner,
            "version": self.version,
            "format": self.format,
            "published": self.published.isoformat() if self.published else None,
            "retrieved": self.retrieved.isoformat() if self.retrieved else None,
            "imported_at": _iso(self.imported_at),
            "files": [{"path": p, "sha256": h} for p, h in self.files],
            "tlp": self.tlp,
            "addresses": self.addresses,
            "entries": self.entries,
            "rejects": self.rejects,
            "added": self.added,
            "removed": self.removed,
        }


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What one import changed; ``no_change`` when the same files were imported before."""

    source: str
    version: str
    format: str
    published: date | None
    addresses: int
    entries: int
    added: int
    removed: int
    unchanged: int
    entries_added: int
    entries_removed: int
    rejects: tuple[dict[str, str], ...]
    no_change: bool = False
    generation: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "version": self.version,
            "format": self.format,
            "published": self.published.isoformat() if self.published else None,
            "addresses": self.addresses,
            "entries": self.entries,
            "added": self.added,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "entries_added": self.entries_added,
            "entries_removed": self.entries_removed,
            "rejected": len(self.rejects),
            "rejects": list(self.rejects),
            "no_change": self.no_change,
            "generation": self.generation,
        }


@dataclass(frozen=True, slots=True)
class ListDiff:
    """What changed in one list between two of its versions."""

    source: str
    old: str | None
    new: str
    added: tuple[StoredTag, ...]
    removed: tuple[StoredTag, ...]
    entries_added: tuple[StoredEntry, ...]
    entries_removed: tuple[StoredEntry, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "old": self.old,
            "new": self.new,
            "added": [t.to_json() for t in self.added],
            "removed": [t.to_json() for t in self.removed],
            "entries_added": [e.to_json() for e in self.entries_added],
            "entries_removed": [e.to_json() for e in self.entries_removed],
        }


@dataclass
class _Snapshot:
    """One generation, read whole, with the lookups every read path needs."""

    generation: str
    versions: list[ListVersion]
    tags: list[StoredTag]
    entries: list[StoredEntry]
    by_address: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        index: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, tag in enumerate(self.tags):
            index[(tag.chain, tag.address)].append(i)
        self.by_address = dict(index)


class TagStore:
    """Read and write the tag store of one data directory. Cheap to construct."""

    def __init__(self, directory: DataDirectory | str | Path) -> None:
        self.directory = (
            directory if isinstance(directory, DataDirectory) else DataDirectory(directory)
        )
        self.root = self.directory.root / "attribution"
        self._snapshot: _Snapshot | None = None

    # -- reading --------------------------------------------------------------------------
    @property
    def generation(self) -> str:
        """The current generation's name; it changes with every import that changes anything."""
        manifest = self._read_manifest()
        return str(manifest.get("generation", "")) if manifest else ""

    def versions(self, viewer: Viewer = OPERATOR) -> list[ListVersion]:
        return [v for v in self._load().versions if viewer.can_see(v.owner, v.tlp)]

    def tags(
        self,
        viewer: Viewer = OPERATOR,
        at: datetime | None = None,
        chain: str | None = None,
        categories: Iterable[str] | None = None,
    ) -> list[StoredTag]:
        """Tags ``viewer`` may see that are in force at ``at`` (default: now)."""
        moment = _moment(at)
        wanted = None if categories is None else frozenset(categories)
        name = None if chain is None else get_chain(chain).name
        return [
            t
            for t in self._load().tags
            if t.valid_at(moment)
            and viewer.can_see(t.owner, t.tlp)
            and (name is None or t.chain == name)
            and (wanted is None or t.category in wanted)
        ]

    def lookup(
        self,
        chain: str,
        addresses: Iterable[str],
        viewer: Viewer = OPERATOR,
        at: datetime | None = None,
    ) -> dict[str, list[StoredTag]]:
        """Tags in force for each canonical address that has any (others are absent)."""
        moment = _moment(at)
        snapshot = self._load()
        name = get_chain(chain).name
        found: dict[str, list[StoredTag]] = {}
        for address in addresses:
            rows = snapshot.by_address.get((name, address))
            if not rows:
                continue
            hits = [
                snapshot.tags[i]
                for i in rows
                if snapshot.tags[i].valid_at(moment)
                and viewer.can_see(snapshot.tags[i].owner, snapshot.tags[i].tlp)
            ]
            if hits:
                found[address] = hits
        return found

    def history(self, chain: str, address: str, viewer: Viewer = OPERATOR) -> list[StoredTag]:
        """Every listing period of the address, delisted ones included, oldest first."""
        snapshot = self._load()
        rows = snapshot.by_address.get((get_chain(chain).name, address), [])
        tags = [snapshot.tags[i] for i in rows]
        return sorted(
            (t for t in tags if viewer.can_see(t.owner, t.tlp)),
            key=lambda t: (t.valid_from, t.source, t.category),
        )

    def entries(self, viewer: Viewer = OPERATOR, at: datetime | None = None) -> list[StoredEntry]:
        moment = _moment(at)
        return [
            e
            for e in self._load().entries
            if viewer.can_see(e.owner, e.tlp)
            and e.valid_from <= moment
            and (e.valid_to is None or moment < e.valid_to)
        ]

    def arrow_tags(self, viewer: Viewer = OPERATOR, at: datetime | None = None) -> pa.Table:
        """The tags in force for ``viewer`` as an Arrow table, for vectorised batch work."""
        tags = self.tags(viewer, at)
        return pa.Table.from_pylist([_record_row(t) for t in tags], schema=TAGS_SCHEMA)

    def diff(
        self,
        source: str,
        old: str | None = None,
        new: str | None = None,
        viewer: Viewer = OPERATOR,
        owner: str | None = None,
    ) -> ListDiff:
        """What ``source`` added and removed from version ``old`` to ``new``.

        By default ``new`` is the latest version and ``old`` the one before it (none for a list
        imported once: everything is then an addition).
        """
        snapshot = self._load()
        chain_versions = [
            v
            for v in snapshot.versions
            if v.source == source and v.owner == owner and viewer.can_see(v.owner, v.tlp)
        ]
        if not chain_versions:
            known = sorted({v.source for v in self.versions(viewer)})
            raise InputError(
                f"no list {source!r} in the tag store; known lists: {', '.join(known) or 'none'}"
            )
        order = {v.version: i for i, v in enumerate(chain_versions)}
        for wanted in (old, new):
            if wanted is not None and wanted not in order:
                raise InputError(
                    f"list {source!r} has no version {wanted!r}; versions: {', '.join(order)}"
                )
        new_version = new if new is not None else chain_versions[-1].version
        if old is None:
            position = order[new_version]
            old_version = chain_versions[position - 1].version if position > 0 else None
        else:
            old_version = old
        if old_version is not None and order[old_version] > order[new_version]:
            raise InputError(f"version {old_version!r} is newer than {new_version!r}")

        def listed_at(rows: Sequence[Any], version: str | None) -> dict[tuple[Any, ...], Any]:
            if version is None:
                return {}
            cut = order[version]
            state = {}
            for row in rows:
                if row.source != source or row.owner != owner:
                    continue
                added = order[row.version]
                removed = order[row.removed_in] if row.removed_in is not None else None
                if added <= cut and (removed is None or removed > cut):
                    state[_row_key(row)] = row
            return state

        old_tags, new_tags = (
            listed_at(snapshot.tags, old_version),
            listed_at(snapshot.tags, new_version),
        )
        old_entries, new_entries = (
            listed_at(snapshot.entries, old_version),
            listed_at(snapshot.entries, new_version),
        )
        return ListDiff(
            source=source,
            old=old_version,
            new=new_version,
            added=tuple(new_tags[k] for k in sorted(new_tags.keys() - old_tags.keys())),
            removed=tuple(old_tags[k] for k in sorted(old_tags.keys() - new_tags.keys())),
            entries_added=tuple(
                new_entries[k] for k in sorted(new_entries.keys() - old_entries.keys())
            ),
            entries_removed=tuple(
                old_entries[k] for k in sorted(old_entries.keys() - new_entries.keys())
            ),
        )

    def case_hints(self) -> dict[str, str]:
        """Casefolded → stored form of every address held, to restore case a publisher lost."""
        return {t.address.casefold(): t.address for t in self._load().tags}

    # -- writing --------------------------------------------------------------------------
    def import_list(
        self,
        parsed: ParsedList,
        *,
        version: str | None = None,
        published: date | None = None,
        retrieved: date | None = None,
        tlp: str = "clear",
        owner: str | None = None,
    ) -> ImportReport:
        """Record ``parsed`` as the next version of its list; see the module docstring.

        Importing files already imported for the same list is a no-op. A version older than
        the latest one of its list is refused: delisting is computed between consecutive
        versions, so history must be imported oldest first.
        """
        tlp = parse_tlp(tlp)
        published = published or parsed.published
        retrieved = retrieved or datetime.now(UTC).date()
        files = tuple(sorted((f.path, f.sha256) for f in parsed.files))
        digest = _content_digest(files)
        version = version or (published.isoformat() if published else digest[:12])
        with self.directory.locked():
            snapshot = self._load(fresh=True)
            mine = [v for v in snapshot.versions if v.source == parsed.source and v.owner == owner]
            for v in mine:
                if _content_digest(v.files) == digest:
                    return self._unchanged_report(parsed, v, snapshot.generation)
                if v.version == version:
                    raise InputError(
                        f"list {parsed.source!r} already has a version {version!r} made from other "
                        "files; give this import another --version"
                    )
            latest = mine[-1] if mine else None
            now = datetime.now(UTC)
            record = ListVersion(
                source=parsed.source,
                owner=owner,
                version=version,
                format=parsed.format,
                published=published,
                retrieved=retrieved,
                imported_at=now,
                files=files,
                tlp=tlp,
                addresses=len(parsed.addresses),
                entries=len(parsed.entries),
                rejects=len(parsed.rejects),
                added=0,
                removed=0,
            )
            if latest is not None and record.effective < latest.effective:
                raise InputError(
                    f"list {parsed.source!r}: version {version!r} (effective "
                    f"{record.effective.date()}) is older than version {latest.version!r} "
                    f"(effective {latest.effective.date()}) already imported; import versions "
                    "oldest first"
                )
            tags, added, removed, unchanged = _merge_tags(snapshot.tags, parsed, record)
            entries, entries_added, entries_removed = _merge_entries(
                snapshot.entries, parsed, record
            )
            record = _with_counts(record, added, removed)
            generation = self._write_generation(
                [*snapshot.versions, record], tags, entries, len(snapshot.versions)
            )
        return ImportReport(
            source=parsed.source,
            version=version,
            format=parsed.format,
            published=published,
            addresses=len(parsed.addresses),
            entries=len(parsed.entries),
            added=added,
            removed=removed,
            unchanged=unchanged,
            entries_added=entries_added,
            entries_removed=entries_removed,
            rejects=tuple(
                {"where": r.where, "value": r.value, "reason": r.reason} for r in parsed.rejects
            ),
            generation=generation,
        )

    def _unchanged_report(
        self, parsed: ParsedList, version: ListVersion, generation: str
    ) -> ImportReport:
        return ImportReport(
            source=parsed.source,
            version=version.version,
            format=parsed.format,
            published=version.published,
            addresses=len(parsed.addresses),
            entries=len(parsed.entries),
            added=0,
            removed=0,
            unchanged=len(parsed.addresses),
            entries_added=0,
            entries_removed=0,
            rejects=tuple(
                {"where": r.where, "value": r.value, "reason": r.reason} for r in parsed.rejects
            ),
            no_change=True,
            generation=generation,
        )

    def _write_generation(
        self,
        versions: list[ListVersion],
        tags: list[StoredTag],
        entries: list[StoredEntry],
        serial: int,
    ) -> str:
        tables = {
            "versions": pa.Table.from_pylist([_version_row(v) for v in versions], VERSIONS_SCHEMA),
            "tags": pa.Table.from_pylist([_record_row(t) for t in tags], TAGS_SCHEMA),
            "entries": pa.Table.from_pylist([_record_row(e) for e in entries], ENTRIES_SCHEMA),
        }
        name = f"gen-{serial + 1:06d}-{os.urandom(4).hex()}"
        folder = self.root / name
        staging = self.root / f".{name}.tmp"
        staging.mkdir(parents=True)
        try:
            for table, data in tables.items():
                path = staging / f"{table}.parquet"
                pq.write_table(data, path, compression="zstd")
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
            os.replace(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        previous = self.generation
        atomic_write_json(self.root / "manifest.json", {"format": FORMAT, "generation": name})
        self._snapshot = None
        # keep the previous generation for readers that opened it; older ones and leftovers go
        for child in self.root.iterdir():
            if child.is_dir() and child.name not in (name, previous):
                shutil.rmtree(child, ignore_errors=True)
            elif child.is_file() and child.name.startswith(".manifest.json."):
                child.unlink(missing_ok=True)  # a manifest write cut short by a crash
        return name

    # -- loading --------------------------------------------------------------------------
    def _read_manifest(self) -> dict[str, Any] | None:
        path = self.root / "manifest.json"
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path}: cannot read the tag store manifest: {exc}") from exc
        if data.get("format") != FORMAT:
            raise StoreError(
                f"{path}: tag store format {data.get('format')!r} is not {FORMAT}; this data "
                "directory was written by another version of Counterflow"
            )
        return dict(data)

    def _load(self, fresh: bool = False) -> _Snapshot:
        generation = self.generation
        if not fresh and self._snapshot is not None and self._snapshot.generation == generation:
            return self._snapshot
        if not generation:
            snapshot = _Snapshot("", [], [], [])
        else:
            folder = self.root / generation
            try:
                tables = {t: pq.read_table(folder / f"{t}.parquet") for t in _TABLES}
            except (OSError, pa.ArrowInvalid) as exc:
                raise StoreError(f"{folder}: cannot read the tag store: {exc}") from exc
            snapshot = _Snapshot(
                generation,
                [_version_from(r) for r in tables["versions"].to_pylist()],
                [_tag_from(r) for r in tables["tags"].to_pylist()],
                [_entry_from(r) for r in tables["entries"].to_pylist()],
            )
        self._snapshot = snapshot
        return snapshot


# -- merging a new version --------------------------------------------------------------------
def _merge_tags(
    current: list[StoredTag], parsed: ParsedList, record: ListVersion
) -> tuple[list[StoredTag], int, int, int]:
    """Close the rows the new version no longer lists and open rows for what it adds."""
    incoming: dict[tuple[Any, ...], ListedAddress] = {}
    for listed in parsed.addresses:
        key = (listed.chain, listed.address, listed.category)
        incoming.setdefault(key, listed)  # a list naming an address twice lists it once
    if not incoming:
        # a version without addresses (a names-only rendering) says nothing about them
        return list(current), 0, 0, 0
    kept: list[StoredTag] = []
    open_keys: set[tuple[Any, ...]] = set()
    removed = 0
    for tag in current:
        if tag.source != parsed.source or tag.owner != record.owner or tag.valid_to is not None:
            kept.append(tag)
            continue
        # not keyed on the entry: renderings without entries (per-ticker lists) must not
        # delist every address that another rendering tied to an entry
        key = (tag.chain, tag.address, tag.category)
        if key in incoming:
            open_keys.add(key)
            kept.append(_enriched(tag, incoming[key]))
        else:
            removed += 1
            kept.append(_close(tag, record))
    added = 0
    for key, listed in incoming.items():
        if key in open_keys:
            continue
        added += 1
        kept.append(
            StoredTag(
                chain=listed.chain,
                address=listed.address,
                category=listed.category,
                label=listed.label,
                confidence=float(listed.confidence),
                source=parsed.source,
                version=record.version,
                entry=listed.entry,
                programs=tuple(listed.programs),
                ticker=listed.ticker,
                tlp=record.tlp,
                owner=record.owner,
                valid_from=record.effective,
                valid_to=None,
                removed_in=None,
            )
        )
    return kept, added, removed, len(open_keys)


def _enriched(tag: StoredTag, listed: ListedAddress) -> StoredTag:
    """A tag still listed, with the entry a fuller rendering names, when it had none.

    Per-ticker lists name no party; when a later rendering ties the address to its SDN
    entry, the open period keeps its start and gains the entry, label and programs.
    """
    if tag.entry is not None or listed.entry is None:
        return tag
    values = {f: getattr(tag, f) for f in StoredTag.__slots__}
    values.update(label=listed.label, entry=listed.entry, programs=tuple(listed.programs))
    return StoredTag(**values)


def _close(tag: StoredTag, record: ListVersion) -> StoredTag:
    return StoredTag(
        **{
            **{f: getattr(tag, f) for f in StoredTag.__slots__},
            "valid_to": record.effective,
            "removed_in": record.version,
        }
    )


def _merge_entries(
    current: list[StoredEntry], parsed: ParsedList, record: ListVersion
) -> tuple[list[StoredEntry], int, int]:
    # keyed on id and name: real lists reuse an id (OFAC's ent_num 2677 names two parties)
    incoming = {(e.entry, e.name): e for e in parsed.entries}
    if not incoming:
        # a version without entries (an address-only rendering) says nothing about them
        return list(current), 0, 0
    # a partial rendering adds the entries it names and delists none
    may_delist = parsed.entries_complete
    kept: list[StoredEntry] = []
    still: set[tuple[str, str]] = set()
    removed = 0
    for entry in current:
        mine = entry.source == parsed.source and entry.owner == record.owner
        if not mine or entry.valid_to is not None:
            kept.append(entry)
        elif (entry.entry, entry.name) in incoming:
            still.add((entry.entry, entry.name))
            kept.append(entry)
        elif not may_delist:
            kept.append(entry)
        else:
            removed += 1
            kept.append(
                StoredEntry(
                    **{
                        **{f: getattr(entry, f) for f in StoredEntry.__slots__},
                        "valid_to": record.effective,
                        "removed_in": record.version,
                    }
                )
            )
    added = 0
    for key, e in incoming.items():
        if key in still:
            continue
        added += 1
        kept.append(
            StoredEntry(
                source=parsed.source,
                version=record.version,
                entry=e.entry,
                name=e.name,
                kind=e.kind,
                programs=tuple(e.programs),
                aliases=tuple(e.aliases),
                countries=tuple(e.countries),
                remarks=e.remarks,
                tlp=record.tlp,
                owner=record.owner,
                valid_from=record.effective,
                valid_to=None,
                removed_in=None,
            )
        )
    return kept, added, removed


def _with_counts(record: ListVersion, added: int, removed: int) -> ListVersion:
    values = {f: getattr(record, f) for f in ListVersion.__slots__}
    return ListVersion(**{**values, "added": added, "removed": removed})


def _row_key(row: StoredTag | StoredEntry) -> tuple[Any, ...]:
    if isinstance(row, StoredTag):
        return (row.chain, row.address, row.category)
    return (row.entry, row.name)


def _content_digest(files: Sequence[tuple[str, str]]) -> str:
    # the bytes, not the paths: the same list copied elsewhere is the same version
    return hashlib.sha256("\n".join(sorted(h for _, h in files)).encode()).hexdigest()


def _moment(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None:
        raise InputError(f"time {at.isoformat()} has no time zone; Counterflow times are UTC")
    return at.astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- rows <-> records -------------------------------------------------------------------------
def _version_row(v: ListVersion) -> dict[str, Any]:
    return {
        "source": v.source,
        "owner": v.owner,
        "version": v.version,
        "format": v.format,
        "published": v.published,
        "retrieved": v.retrieved,
        "imported_at": v.imported_at,
        "files": json.dumps([{"path": p, "sha256": h} for p, h in v.files]),
        "tlp": v.tlp,
        "addresses": v.addresses,
        "entries": v.entries,
        "rejects": v.rejects,
        "added": v.added,
        "removed": v.removed,
    }


def _version_from(row: dict[str, Any]) -> ListVersion:
    files = tuple((f["path"], f["sha256"]) for f in json.loads(row["files"]))
    return ListVersion(
        source=row["source"],
        owner=row["owner"],
        version=row["version"],
        format=row["format"],
        published=row["published"],
        retrieved=row["retrieved"],
        imported_at=row["imported_at"],
        files=files,
        tlp=row["tlp"],
        addresses=row["addresses"],
        entries=row["entries"],
        rejects=row["rejects"],
        added=row["added"],
        removed=row["removed"],
    )


def _record_row(record: StoredTag | StoredEntry) -> dict[str, Any]:
    """A record as a Parquet row: tuples become lists, everything else is stored as is."""
    row = {}
    for name in type(record).__slots__:
        value = getattr(record, name)
        row[name] = list(value) if isinstance(value, tuple) else value
    return row


def _tag_from(row: dict[str, Any]) -> StoredTag:
    return StoredTag(**{**row, "programs": tuple(row["programs"] or ())})


def _entry_from(row: dict[str, Any]) -> StoredEntry:
    return StoredEntry(
        **{
            **row,
            "programs": tuple(row["programs"] or ()),
            "aliases": tuple(row["aliases"] or ()),
            "countries": tuple(row["countries"] or ()),
        }
    )
