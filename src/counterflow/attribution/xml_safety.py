"""Reading list XML that nobody here wrote: streamed, namespace-blind, and with no DTD at all.

Sanctions lists arrive as XML from publishers, mirrors and partners. A document type
declaration is what XML attacks ride on: entity expansion (the "billion laughs" that turns a
kilobyte into gigabytes) and external entities (XXE, which read local files or call out to
the network while parsing). No list format needs one, so any DTD is refused outright through
:mod:`defusedxml`, before a single entity is declared, and the error says so, naming the file.

Lists are also large (OFAC's advanced XML is around 100 MB), so documents are streamed: the
caller names the record elements it wants and gets each one once it is complete, after which
it is detached from the tree so memory stays flat. Element names are matched on their local
part, because publishers change namespaces between releases (OFAC has used two for the same
schema).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Collection, Iterator
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
from defusedxml.ElementTree import iterparse

from counterflow.attribution.list_files import open_binary
from counterflow.errors import InputError


def local_name(tag: str) -> str:
    """``Name`` of ``{namespace}Name``."""
    return tag.rpartition("}")[2]


def children(element: Element, name: str) -> Iterator[Element]:
    """Direct children of ``element`` whose local name is ``name``."""
    return (child for child in element if local_name(child.tag) == name)


def child(element: Element, name: str) -> Element | None:
    return next(children(element, name), None)


def child_text(element: Element, name: str) -> str:
    """Stripped text of the first child called ``name``; empty when absent or empty."""
    found = child(element, name)
    return (found.text or "").strip() if found is not None else ""


def descendants(element: Element, name: str) -> Iterator[Element]:
    """Every element below ``element`` (not itself) whose local name is ``name``."""
    return (node for node in element.iter() if node is not element and local_name(node.tag) == name)


def stream_records(path: Path, wanted: Collection[str]) -> Iterator[tuple[str, Element]]:
    """Stream ``path`` (gzip or not) and yield ``(local name, element)`` for its records.

    The first item is always the root element, yielded at its start tag: its attributes are
    there (a publication date, say), its children are not. After it come the outermost
    elements whose local name is in ``wanted``, each once complete; an element named in
    ``wanted`` inside another one stays part of the outer record. A record is detached from
    the tree once the caller moves on, so keep what you need from it, not the element; content
    outside every record is dropped as soon as it is complete.

    Raises :class:`~counterflow.errors.InputError` naming the file (and the line and column
    for malformed XML) for a DTD, a declared entity, malformed XML, or a truncated archive.
    """
    stack: list[Element] = []
    inside: list[bool] = []
    open_records = 0
    try:
        with open_binary(path) as source:
            events = iterparse(
                source,
                events=("start", "end"),
                forbid_dtd=True,
                forbid_entities=True,
                forbid_external=True,
            )
            for event, element in events:
                name = local_name(element.tag)
                if event == "start":
                    if not stack:
                        yield name, element
                    record = name in wanted
                    open_records += record
                    stack.append(element)
                    inside.append(record)
                    continue
                stack.pop()
                record = inside.pop()
                open_records -= record
                if open_records:
                    continue  # part of an enclosing record, which the caller reads whole
                if record:
                    yield name, element
                if stack:  # a record read, or content outside every record: not needed again
                    stack[-1].remove(element)
                    element.clear()
    except DTDForbidden as exc:
        raise InputError(
            f"{path}: refused: the document declares a DTD (<!DOCTYPE {exc.name}>); list files "
            "never need one, and DTDs carry entity-expansion (billion laughs) and external-entity "
            "(XXE) attacks"
        ) from None
    except EntitiesForbidden as exc:
        raise InputError(
            f"{path}: refused: the document declares the entity {exc.name!r}; entity declarations "
            "are how entity-expansion and external-entity (XXE) attacks work"
        ) from None
    except DefusedXmlException as exc:
        raise InputError(f"{path}: refused unsafe XML construct: {exc}") from None
    except ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise InputError(f"{path}, line {line}, column {column}: malformed XML: {reason}") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"{path}: truncated or corrupt gzip data ({exc})") from None
