"""OFAC's legacy SDN list in CSV: ``sdn.csv`` with ``add.csv``, ``alt.csv``, ``sdn_comments.csv``.

The files are headerless, so each is known by its column count (12 for ``sdn.csv``: ent_num,
SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner,
Remarks; 6 for ``add.csv``; 5 for ``alt.csv``; 2 for ``sdn_comments.csv``), whatever their
names. The companions are optional: they add countries (addresses), aliases and the remarks
that did not fit.

Quirks kept as published and handled here:

* ``-0-`` (usually with a trailing space) means an empty field; an empty SDN_Type is an entity.
* Several programs share one field as ``DPRK3] [CYBER2``.
* Digital currency addresses live in the free-text Remarks, as
  ``Digital Currency Address - XBT 1abc…;`` (``alt. Digital Currency Address - …`` for the
  second and later ones), several per entry, among other remarks; aliases (``a.k.a. 'X'``) and
  nationalities are in the Remarks too.
* Remarks are cut at 1,000 characters; OFAC publishes the rest in ``sdn_comments.csv``. An
  address cut by that limit fails its checksum and is rejected with a reason that says so,
  unless the comments file is given, in which case the remarks are whole again.
* The files may end with a DOS end-of-file mark (``\\x1a``) on a line of its own.

The CSV states no publication date, so ``published`` is the caller's.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

from counterflow.attribution.list_files import csv_rows, expand_paths, read_text, source_file
from counterflow.attribution.records import (
    EntryKind,
    ListedAddress,
    ListEntry,
    ParsedList,
    Reject,
)
from counterflow.attribution.tickers import sanctioned_address
from counterflow.errors import InputError

FORMAT = "ofac-csv"
SOURCE = "ofac-sdn"
#: Length at which ``sdn.csv`` cuts the Remarks field.
REMARKS_LIMIT = 1000

_KIND_BY_WIDTH = {12: "sdn", 6: "add", 5: "alt", 2: "comments"}
_FILE_NAMES = {"sdn": "sdn.csv", "add": "add.csv", "alt": "alt.csv", "comments": "sdn_comments.csv"}
_ENTRY_KINDS: dict[str, EntryKind] = {
    "": "entity",
    "individual": "individual",
    "vessel": "vessel",
    "aircraft": "aircraft",
}
_ADDRESS = re.compile(r"Digital Currency Address - ?([A-Za-z0-9]*)[ \t]*([^\s;]*)")
_ALIAS = re.compile(r"^[afn]\.k\.a\. '(.+)'\.?$")
_COUNTRY = re.compile(r"^(?:nationality|citizen) (.+?)\.?$")

Rows = list[tuple[int, list[str]]]


def parse_ofac_csv(
    paths: Sequence[str | Path], *, published: date | None = None, source: str = SOURCE
) -> ParsedList:
    """Parse ``sdn.csv`` (and the companion files given with it) into one list version."""
    files = expand_paths(paths)
    tables: dict[str, tuple[Path, Rows]] = {}
    for path in files:
        kind, rows = _read(path)
        if kind in tables:
            raise InputError(
                f"{path} and {tables[kind][0]} are both {_FILE_NAMES[kind]} files "
                f"({len(rows[0][1])} columns); give one version of the list at a time"
            )
        tables[kind] = (path, rows)
    if "sdn" not in tables:
        raise InputError(
            f"no sdn.csv (12 columns) among {', '.join(str(p) for p in files)}; add.csv, "
            "alt.csv and sdn_comments.csv only complete it"
        )
    comments = _by_entry(tables.get("comments"), 1)
    aliases = _by_entry(tables.get("alt"), 3)
    countries = _by_entry(tables.get("add"), 4)

    path, rows = tables["sdn"]
    entries: list[ListEntry] = []
    addresses: list[ListedAddress] = []
    rejects: list[Reject] = []
    for number, (line, record) in enumerate(rows, start=1):
        ent_num = record[0].strip()
        if not ent_num.isdigit():
            raise InputError(
                f"{path}, row {number} (line {line}): ent_num {record[0]!r} is not a number"
            )
        name = _value(record[1])
        sdn_type = _value(record[2]).lower()
        programs = _programs(record[3])
        cut = len(record[11]) >= REMARKS_LIMIT and ent_num not in comments
        remarks = _value(record[11]) + "".join(comments.get(ent_num, ()))
        parts = [part.strip() for part in remarks.split(";")]
        entries.append(
            ListEntry(
                entry=ent_num,
                name=name,
                kind=_ENTRY_KINDS.get(sdn_type, "other"),
                programs=programs,
                aliases=_unique(
                    [m.group(1) for p in parts if (m := _ALIAS.match(p))] + aliases.get(ent_num, [])
                ),
                countries=_unique(
                    [m.group(1) for p in parts if (m := _COUNTRY.match(p))]
                    + countries.get(ent_num, [])
                ),
                remarks=remarks,
            )
        )
        where = f"{path}, line {line} (ent_num {ent_num})"
        for match in _ADDRESS.finditer(remarks):
            ticker, address = match.group(1), match.group(2).rstrip(".")
            truncated = cut and match.end() == len(remarks)
            try:
                if not ticker or not address:
                    raise ValueError("no ticker and address after 'Digital Currency Address'")
                listed = sanctioned_address(
                    ticker, address, label=name, entry=ent_num, programs=programs
                )
            except ValueError as exc:
                reason = str(exc)
                if truncated:
                    reason += (
                        f"; the Remarks field is cut at {REMARKS_LIMIT} characters here, and "
                        "OFAC publishes the rest in sdn_comments.csv: give it with sdn.csv"
                    )
                rejects.append(Reject(where, address or match.group(0), reason))
                continue
            addresses.append(listed)
    return ParsedList(
        source=source,
        format=FORMAT,
        files=tuple(source_file(p) for p in files),
        published=published,
        entries=tuple(entries),
        addresses=tuple(dict.fromkeys(addresses)),
        rejects=tuple(rejects),
    )


def _read(path: Path) -> tuple[str, Rows]:
    rows = list(csv_rows(read_text(path), path))
    if not rows:
        raise InputError(f"{path}: no rows")
    width = len(rows[0][1])
    kind = _KIND_BY_WIDTH.get(width)
    if kind is None:
        raise InputError(
            f"{path}, row 1: {width} columns; OFAC's legacy CSV files have 12 (sdn.csv), "
            "6 (add.csv), 5 (alt.csv) or 2 (sdn_comments.csv)"
        )
    for number, (line, record) in enumerate(rows, start=1):
        if len(record) != width:
            raise InputError(
                f"{path}, row {number} (line {line}): {len(record)} columns, expected {width} "
                f"like the rest of this {_FILE_NAMES[kind]} file"
            )
    return kind, rows


def _by_entry(table: tuple[Path, Rows] | None, column: int) -> dict[str, list[str]]:
    """Non-empty values of ``column`` in a companion file, grouped by ent_num."""
    grouped: dict[str, list[str]] = defaultdict(list)
    if table is None:
        return grouped
    for _, record in table[1]:
        value = _value(record[column])
        if value:
            grouped[record[0].strip()].append(value)
    return grouped


def _value(field: str) -> str:
    text = field.strip()
    return "" if text == "-0-" else text


def _programs(field: str) -> tuple[str, ...]:
    return _unique(p.strip(" []") for p in re.split(r"\]\s*\[", _value(field)) if p.strip(" []"))


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))
