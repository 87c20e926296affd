"""The UN Security Council consolidated sanctions list (XML), for name screening.

Layout: ``CONSOLIDATED_LIST`` (attribute ``dateGenerated``, an ISO timestamp that dates the
version) holds ``INDIVIDUALS/INDIVIDUAL`` and ``ENTITIES/ENTITY``. Each has ``DATAID``, the
``REFERENCE_NUMBER`` the Security Council cites (``KPi.001``; used as the entry id, since it is
what a regulator looks up), ``FIRST_NAME`` … ``FOURTH_NAME``, ``UN_LIST_TYPE`` (the sanctions
regime: ``DPRK``, ``Al-Qaida``, …; kept as the program), ``*_ALIAS`` entries with ``QUALITY``
(``Good``, ``Low``, ``a.k.a.``, ``f.k.a.``) and ``ALIAS_NAME``, ``NAME_ORIGINAL_SCRIPT``,
``NATIONALITY/VALUE`` and ``*_ADDRESS/COUNTRY``.

The list names parties, not addresses, so it yields entries only. Aliases of ``Low`` quality
are left out of the names to screen, as the Council describes them as insufficient to identify
anyone; names in their original script are kept as aliases, since screening may meet either.
Streamed through :mod:`~counterflow.attribution.xml_safety`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from xml.etree.ElementTree import Element

from counterflow.attribution.list_files import expand_paths, source_file
from counterflow.attribution.records import EntryKind, ListEntry, ParsedList
from counterflow.attribution.xml_safety import child_text, children, descendants, stream_records
from counterflow.errors import InputError

FORMAT = "un-xml"
SOURCE = "un-consolidated"
ROOT = "CONSOLIDATED_LIST"

_KINDS: dict[str, EntryKind] = {"INDIVIDUAL": "individual", "ENTITY": "entity"}
_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")


def parse_un_list(
    paths: Sequence[str | Path], *, published: date | None = None, source: str = SOURCE
) -> ParsedList:
    """Parse the consolidated list; ``published`` defaults to the root's ``dateGenerated``."""
    files = expand_paths(paths)
    if len(files) != 1:
        raise InputError(f"one UN consolidated list file at a time, got {len(files)}")
    path = files[0]
    records = stream_records(path, set(_KINDS))
    root_name, root = next(records)
    if root_name != ROOT:
        raise InputError(f"{path}: the root element is <{root_name}>, not <{ROOT}>")
    stated = _generated(path, root.get("dateGenerated"))
    entries = [_entry(path, name, element) for name, element in records]
    return ParsedList(
        source=source,
        format=FORMAT,
        files=(source_file(path),),
        published=published or stated,
        entries=tuple(entries),
    )


def _entry(path: Path, kind: str, element: Element) -> ListEntry:
    reference = child_text(element, "REFERENCE_NUMBER")
    name = " ".join(part for p in _NAME_PARTS if (part := child_text(element, p)))
    if not reference or not name:
        data_id = child_text(element, "DATAID") or "?"
        raise InputError(f"{path}, {kind} DATAID {data_id}: REFERENCE_NUMBER and a name required")
    aliases = [
        _unquoted(alias_name)
        for alias in children(element, f"{kind}_ALIAS")
        if (alias_name := child_text(alias, "ALIAS_NAME"))
        and child_text(alias, "QUALITY").lower() != "low"
    ]
    if original := child_text(element, "NAME_ORIGINAL_SCRIPT"):
        aliases.append(original)
    countries = [
        (value.text or "").strip()
        for nationality in children(element, "NATIONALITY")
        for value in children(nationality, "VALUE")
    ]
    if kind == "ENTITY":
        countries += [(country.text or "").strip() for country in descendants(element, "COUNTRY")]
    regime = child_text(element, "UN_LIST_TYPE")
    return ListEntry(
        entry=reference,
        name=name,
        kind=_KINDS[kind],
        programs=(regime,) if regime else (),
        aliases=tuple(dict.fromkeys(a for a in aliases if a != name)),
        countries=tuple(dict.fromkeys(c for c in countries if c)),
        remarks=child_text(element, "COMMENTS1"),
    )


def _unquoted(name: str) -> str:
    """``KOMID`` for ``"KOMID"``: the list quotes some acronyms, a screened name has no quotes."""
    return name[1:-1].strip() if len(name) > 2 and name[0] == name[-1] == '"' else name


def _generated(path: Path, text: str | None) -> date | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        raise InputError(f"{path}: dateGenerated {text!r} is not an ISO timestamp") from None
