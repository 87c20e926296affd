"""MISP galaxy clusters (threat actors, intrusion sets): the names groups are known by.

A galaxy file is one JSON object with a ``type`` (``threat-actor``, ``mitre-intrusion-set``, …),
a ``uuid``, a ``version`` and a ``values`` list; each value is a cluster with a ``uuid``, its
``value`` (the name), a ``description`` and a ``meta`` object where ``synonyms`` lists the other
names vendors and agencies use (Lazarus Group is also Hidden Cobra, APT38, Diamond Sleet, …)
and ``country`` the suspected sponsor (ISO code, ``KP``). Clusters carry no addresses: they are
the names that tie a report, an alert or a list entry to an actor. The source defaults to
``misp-galaxy-<type>``; galaxies carry a version number but no publication date.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from counterflow.attribution.list_files import expand_paths, read_text, source_file
from counterflow.attribution.records import ListEntry, ParsedList
from counterflow.errors import InputError

FORMAT = "misp-galaxy"


def parse_misp_galaxy(
    paths: Sequence[str | Path], *, source: str | None = None, published: date | None = None
) -> ParsedList:
    """Parse galaxy cluster files (all of one galaxy type) into threat-actor entries."""
    files = expand_paths(paths)
    entries: dict[str, ListEntry] = {}
    types: set[str] = set()
    for path in files:
        try:
            document = json.loads(read_text(path))
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}, line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}"
            ) from None
        if not isinstance(document, dict) or not isinstance(document.get("values"), list):
            raise InputError(f"{path}: a MISP galaxy is an object with a 'values' list")
        types.add(str(document.get("type") or "galaxy"))
        for number, value in enumerate(document["values"]):
            entry = _entry(value, f"{path}, values[{number}]")
            entries.setdefault(entry.entry, entry)
    if source is None and len(types) > 1:
        raise InputError(
            f"the files hold galaxies of several types ({', '.join(sorted(types))}); "
            "give a source name for them together"
        )
    return ParsedList(
        source=source or f"misp-galaxy-{types.pop()}",
        format=FORMAT,
        files=tuple(source_file(p) for p in files),
        published=published,
        entries=tuple(entries.values()),
    )


def _entry(value: Any, where: str) -> ListEntry:
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a cluster object")
    uuid, name = str(value.get("uuid") or "").strip(), str(value.get("value") or "").strip()
    if not uuid or not name:
        raise InputError(f"{where}: a cluster needs 'uuid' and 'value'")
    meta = value.get("meta") or {}
    if not isinstance(meta, dict):
        raise InputError(f"{where}.meta: expected an object")
    synonyms = meta.get("synonyms") or []
    if not isinstance(synonyms, list):
        raise InputError(f"{where}.meta.synonyms: expected a list of names")
    country = meta.get("country")
    countries = country if isinstance(country, list) else [country] if country else []
    return ListEntry(
        entry=uuid,
        name=name,
        kind="threat_actor",
        aliases=tuple(dict.fromkeys(s for a in synonyms if (s := str(a).strip()) and s != name)),
        countries=tuple(dict.fromkeys(str(c).strip() for c in countries if str(c).strip())),
        remarks=str(value.get("description") or ""),
    )
