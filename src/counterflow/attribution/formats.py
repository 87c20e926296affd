"""Every list format Counterflow reads, by name, and telling them apart by their content.

The CLI and the API import lists through :func:`parse_list` with a format name, or let
:func:`detect_format` pick it. Detection reads content, not only names: a file renamed
``list.dat`` is still recognised, and a misnamed file is not misread. XML is told apart by its
root element (found by a scan of the first bytes, so a hostile document is never parsed
here), JSON by its keys, CSV by its header or column count, a TagPack by its ``tags:`` key.

Each format's options are its parser's keyword arguments (``published``, ``source``,
``chain``…); :func:`parse_list` checks them before reading anything, so a typo in an option
is a :class:`~counterflow.errors.ConfigError` rather than a silently ignored flag.
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import re
import tarfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

from counterflow.attribution.address_list import parse_address_list
from counterflow.attribution.exercise_injects import is_injects_document, parse_exercise_injects
from counterflow.attribution.label_csv import (
    REQUIRED_COLUMNS,
    is_account_label,
    is_tarball,
    parse_etherscan_labels,
    parse_label_csv,
)
from counterflow.attribution.list_files import expand_paths, open_binary, read_text
from counterflow.attribution.misp_galaxy import parse_misp_galaxy
from counterflow.attribution.ofac_csv import parse_ofac_csv
from counterflow.attribution.ofac_json import (
    parse_ofac_json,
    parse_ofac_ticker_lists,
    ticker_file,
)
from counterflow.attribution.ofac_xml import parse_ofac_advanced_xml, parse_ofac_xml
from counterflow.attribution.records import ParsedList
from counterflow.attribution.tagpack import parse_tagpacks
from counterflow.attribution.un_list import parse_un_list
from counterflow.errors import ConfigError, InputError

#: Bytes read from the start of a file to recognise it.
_HEAD = 1 << 16


@dataclass(frozen=True, slots=True)
class ListFormat:
    """A list format: its name, what it is, and the parser that reads it."""

    name: str
    description: str
    parse: Callable[..., ParsedList]

    def options(self) -> dict[str, bool]:
        """The parser's options, each with whether it is required."""
        return {
            name: parameter.default is inspect.Parameter.empty
            for name, parameter in inspect.signature(self.parse).parameters.items()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        }


FORMATS: Mapping[str, ListFormat] = MappingProxyType(
    {
        f.name: f
        for f in (
            ListFormat("ofac-csv", "OFAC SDN legacy CSV (sdn.csv and companions)", parse_ofac_csv),
            ListFormat("ofac-xml", "OFAC SDN legacy XML (sdn.xml)", parse_ofac_xml),
            ListFormat(
                "ofac-advanced-xml", "OFAC SDN advanced XML (sdn_advanced.xml)",
                parse_ofac_advanced_xml,
            ),
            ListFormat(
                "ofac-tickers", "per-ticker SDN address lists (sanctioned_addresses_XBT.txt)",
                parse_ofac_ticker_lists,
            ),
            ListFormat("ofac-json", "community JSON of SDN addresses (keyed)", parse_ofac_json),
            ListFormat("un-xml", "UN Security Council consolidated list XML", parse_un_list),
            ListFormat("address-list", "plain address list, one per line", parse_address_list),
            ListFormat("label-csv", "CSV with chain,address,category,label", parse_label_csv),
            ListFormat(
                "etherscan-labels", "Etherscan label export (tarball, folder or CSV)",
                parse_etherscan_labels,
            ),
            ListFormat("tagpack", "GraphSense TagPack YAML", parse_tagpacks),
            ListFormat("misp-galaxy", "MISP galaxy clusters (threat actors)", parse_misp_galaxy),
            ListFormat(
                "exercise-injects", "an exercise's injects (injects.json)", parse_exercise_injects
            ),
        )
    }
)  # fmt: skip

_XML_ROOTS = {
    "sdnList": "ofac-xml",
    "Sanctions": "ofac-advanced-xml",
    "CONSOLIDATED_LIST": "un-xml",
}
_OFAC_CSV_WIDTHS = frozenset({12, 6, 5, 2})
_PROLOG = re.compile(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>", re.DOTALL)
_ROOT = re.compile(r"<(?:[A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)[\s/>]")
_TAGPACK = re.compile(r"(?m)^tags\s*:")


def known_formats() -> str:
    return ", ".join(FORMATS)


def get_format(name: str) -> ListFormat:
    found = FORMATS.get(name.strip().lower())
    if found is None:
        raise ConfigError(f"unknown list format {name!r}; known formats: {known_formats()}")
    return found


def parse_list(
    fmt: str,
    paths: Sequence[str | Path],
    *,
    case_hints: Mapping[str, str] | None = None,
    **options: Any,
) -> ParsedList:
    """Parse ``paths`` as list format ``fmt`` with that format's ``options``.

    ``case_hints`` (casefolded address → canonical address, from the tag store) is context
    rather than an option: it goes to the formats that lost the case of their addresses
    (``ofac-json``) and is ignored by the others. An option the format does not take, or a
    required one missing, is a :class:`~counterflow.errors.ConfigError`.
    """
    list_format = get_format(fmt)
    accepted = list_format.options()
    if case_hints is not None and "case_hints" in accepted:
        options["case_hints"] = case_hints
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(
            f"format {list_format.name} has no option {', '.join(unknown)}; "
            f"its options: {', '.join(accepted) or 'none'}"
        )
    missing = [name for name, required in accepted.items() if required and name not in options]
    if missing:
        raise ConfigError(f"format {list_format.name} needs {', '.join(missing)}")
    return list_format.parse(list(paths), **options)


def detect_format(paths: Sequence[str | Path]) -> str:
    """The format of the list files ``paths`` (files or folders), told by their content.

    Raises :class:`~counterflow.errors.InputError` listing the known formats when a file
    matches none, and naming the files when they are of different formats.
    """
    found: dict[str, list[str]] = {}
    for given in paths:
        path = Path(given)
        fmt = _detect_folder(path) if path.is_dir() else _detect_file(path)
        found.setdefault(fmt, []).append(str(path))
    if len(found) > 1:
        detail = "; ".join(f"{fmt}: {', '.join(names)}" for fmt, names in found.items())
        raise InputError(f"the files are of different list formats ({detail}); import them apart")
    if not found:
        raise InputError("no list files given")
    return next(iter(found))


def _detect_folder(path: Path) -> str:
    if any(ticker_file(p) for p in path.iterdir()):
        return "ofac-tickers"
    if any(is_account_label(PurePosixPath(p.relative_to(path))) for p in path.rglob("*.csv")):
        return "etherscan-labels"
    return detect_format(expand_paths([path]))


def _detect_file(path: Path) -> str:
    (path,) = expand_paths([path])
    if ticker_file(path):
        return "ofac-tickers"
    if _is_label_archive(path):
        return "etherscan-labels"
    try:
        with open_binary(path) as stream:
            head = stream.read(_HEAD).decode("utf-8-sig", errors="replace")
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    fmt = _from_head(path, head)
    if fmt is None:
        raise InputError(f"{path}: cannot tell the list format; known formats: {known_formats()}")
    return fmt


def _from_head(path: Path, head: str) -> str | None:
    text = head.lstrip()
    if text.startswith("<"):
        match = _ROOT.search(_PROLOG.sub("", text))
        return _XML_ROOTS.get(match.group(1)) if match else None
    if text.startswith(("{", "[")):
        return _from_json(path)
    if _TAGPACK.search(head) and path.suffix.lower() in (".yaml", ".yml"):
        return "tagpack"
    first_line = text.splitlines()[0] if text else ""
    try:
        header = next(csv.reader(io.StringIO(first_line)), [])
    except csv.Error:
        header = []
    names = [name.strip().lower() for name in header]
    if all(column in names for column in REQUIRED_COLUMNS):
        return "label-csv"
    if names[:3] == ["", "address", "name tag"]:
        return "etherscan-labels"
    if len(header) in _OFAC_CSV_WIDTHS and header[0].strip().isdigit():
        return "ofac-csv"
    if _TAGPACK.search(head):
        return "tagpack"
    lines = [line.split("#", 1)[0].strip() for line in head.splitlines()[:-1] or head.splitlines()]
    tokens = [line for line in lines if line]
    if tokens and all(len(line.split()) == 1 and "," not in line for line in tokens):
        return "address-list"
    return None


def _from_json(path: Path) -> str | None:
    try:
        document = json.loads(read_text(path))
    except json.JSONDecodeError:
        return None
    if is_injects_document(document):
        return "exercise-injects"
    if isinstance(document, dict):
        if isinstance(document.get("addresses"), dict):
            return "ofac-json"
        if isinstance(document.get("values"), list):
            return "misp-galaxy"
    return None


def _is_label_archive(path: Path) -> bool:
    if not is_tarball(path):
        return False
    try:
        with tarfile.open(path, "r:*") as archive:
            return any(is_account_label(PurePosixPath(m.name)) for m in archive)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InputError(f"{path}: truncated or corrupt archive ({exc})") from None
