"""``counterflow lists import|show|diff``: sanctions lists and labels into the tag store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from counterflow.attribution.formats import FORMATS, detect_format, get_format, parse_list
from counterflow.attribution.records import ParsedList
from counterflow.attribution.tagstore import ImportReport, TagStore
from counterflow.attribution.tlp import LEVELS
from counterflow.cli import _emit, _State, json_option
from counterflow.errors import InputError


@click.group("lists")
def lists() -> None:
    """Sanctions lists, law-enforcement address lists and labels: import, show, diff."""


@lists.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default=None,
    help="The files' format (default: recognised from their content).",
)
@click.option("--source", default=None, help="List name (default: the format's own list name).")
@click.option("--version", "version", default=None, help="Version name (default: its date).")
@click.option(
    "--published",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Publication date, for files that do not state one (e.g. OFAC's CSV).",
)
@click.option(
    "--retrieved",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="When the files were downloaded (default: today).",
)
@click.option("--chain", default=None, help="Chain of a plain address list (e.g. ethereum).")
@click.option("--category", default=None, help="Category of a plain address list.")
@click.option("--label", default=None, help="Label of a plain address list's addresses.")
@click.option("--confidence", type=click.FloatRange(0, 1), default=None, help="Confidence, 0 to 1.")
@click.option(
    "--tlp",
    type=click.Choice(LEVELS, case_sensitive=False),
    default="clear",
    show_default=True,
    help="TLP of what this import stores.",
)
@click.option("--owner", default=None, help="Partner that supplied the list (default: operator).")
@click.option(
    "--strict", is_flag=True, help="Fail, storing nothing, if any address or ticker is rejected."
)
@click.option(
    "--reject-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write rejected items (where, value, reason) to this JSON lines file.",
)
@json_option
@click.pass_obj
def import_command(
    state: _State,
    paths: tuple[Path, ...],
    fmt: str | None,
    source: str | None,
    version: str | None,
    published: Any,
    retrieved: Any,
    chain: str | None,
    category: str | None,
    label: str | None,
    confidence: float | None,
    tlp: str,
    owner: str | None,
    strict: bool,
    reject_file: Path | None,
    as_json: bool,
) -> None:
    """Import a list version (OFAC SDN CSV/XML, UN XML, address lists, TagPacks, labels, MISP).

    Importing a newer version of a list records what it added and removed; importing the same
    files again changes nothing. Items that cannot be taken (an address failing its checksum,
    an unknown ticker) are reported as rejects, never dropped silently.
    """
    store = TagStore(state.directory)
    files = [p.resolve() for p in paths]
    name = fmt or detect_format(files)
    options: dict[str, Any] = {
        "source": source,
        "published": published.date() if published else None,
        "chain": chain,
        "category": category,
        "label": label,
        "confidence": confidence,
    }
    given = {k: v for k, v in options.items() if v is not None}
    if "case_hints" in get_format(name).options():
        # the format lost its addresses' case: restore it from the addresses already held
        given["case_hints"] = store.case_hints()
    parsed = parse_list(name, files, **given)
    if reject_file is not None:
        _write_rejects(reject_file, parsed)
    if strict and parsed.rejects:
        first = parsed.rejects[0]
        raise InputError(
            f"{len(parsed.rejects)} item(s) rejected and --strict is set; nothing was imported; "
            f"first: {first.where}: {first.value!r}: {first.reason}"
        )
    report = store.import_list(
        parsed,
        version=version,
        published=published.date() if published else None,
        retrieved=retrieved.date() if retrieved else None,
        tlp=tlp,
        owner=owner,
    )

    def render(console: Console) -> None:
        _render_import(console, report)

    _emit(report.to_json(), as_json, render)


def _write_rejects(path: Path, parsed: ParsedList) -> None:
    """Written before anything is stored: an import whose rejects cannot be recorded stores
    nothing, and a refused ``--strict`` import still says what it refused."""
    try:
        with open(path, "w", encoding="utf-8") as out:
            for r in parsed.rejects:
                out.write(json.dumps({"where": r.where, "value": r.value, "reason": r.reason}))
                out.write("\n")
    except OSError as exc:
        raise InputError(f"cannot write the reject file {path}: {exc}") from exc


def _render_import(console: Console, report: ImportReport) -> None:
    if report.no_change:
        console.print(
            f"{report.source} version {report.version}: already imported from the same files; "
            "nothing changed"
        )
    else:
        published = report.published.isoformat() if report.published else "undated"
        console.print(
            f"{report.source} version {report.version} ({report.format}, published "
            f"{published}): {report.addresses:,} addresses, {report.entries:,} entries"
        )
        console.print(
            f"  addresses: +{report.added:,} added, -{report.removed:,} delisted, "
            f"{report.unchanged:,} unchanged; entries: +{report.entries_added:,}, "
            f"-{report.entries_removed:,}"
        )
    if report.rejects:
        console.print(f"  [yellow]{len(report.rejects):,} rejected[/yellow]:")
        for reject in report.rejects[:10]:
            console.print(f"    {reject['where']}: {reject['value']!r}: {reject['reason']}")
        if len(report.rejects) > 10:
            console.print(f"    … {len(report.rejects) - 10:,} more (--reject-file, --json)")


@lists.command("show")
@click.argument("source", required=False)
@json_option
@click.pass_obj
def show_command(state: _State, source: str | None, as_json: bool) -> None:
    """The imported lists and their versions (with SOURCE: that list's versions only)."""
    store = TagStore(state.directory)
    versions = [v for v in store.versions() if source is None or v.source == source]
    if source is not None and not versions:
        known = sorted({v.source for v in store.versions()})
        raise InputError(f"no list {source!r}; known lists: {', '.join(known) or 'none'}")
    in_force: dict[str, dict[str, int]] = {}
    for tag in store.tags():
        per = in_force.setdefault(tag.source, {})
        per[tag.category] = per.get(tag.category, 0) + 1
    shown = {s: in_force.get(s, {}) for s in sorted({v.source for v in versions})}
    document = {
        "generation": store.generation,
        "versions": [v.to_json() for v in versions],
        "in_force": shown,
    }

    def render(console: Console) -> None:
        if not versions:
            console.print("the tag store is empty: `counterflow lists import FILE…`")
            return
        table = Table(title="lists")
        for column in ("list", "version", "format", "published", "TLP", "owner", "addresses"):
            table.add_column(column)
        table.add_column("+added", justify="right")
        table.add_column("-delisted", justify="right")
        table.add_column("rejected", justify="right")
        for v in versions:
            table.add_row(
                v.source,
                v.version,
                v.format,
                v.published.isoformat() if v.published else "—",
                v.tlp,
                v.owner or "operator",
                f"{v.addresses:,}",
                f"{v.added:,}",
                f"{v.removed:,}",
                f"{v.rejects:,}",
            )
        console.print(table)
        for name, categories in shown.items():
            summary = ", ".join(f"{c} {n:,}" for c, n in sorted(categories.items()))
            console.print(f"{name}: in force now: {summary or 'nothing'}")

    _emit(document, as_json, render)


@lists.command("diff")
@click.argument("source")
@click.option("--old", default=None, help="Older version (default: the one before --new).")
@click.option("--new", default=None, help="Newer version (default: the latest).")
@click.option("--owner", default=None, help="Partner whose list it is (default: operator).")
@json_option
@click.pass_obj
def diff_command(
    state: _State,
    source: str,
    old: str | None,
    new: str | None,
    owner: str | None,
    as_json: bool,
) -> None:
    """What a list added and removed (delisted) between two of its versions."""
    diff = TagStore(state.directory).diff(source, old=old, new=new, owner=owner)

    def render(console: Console) -> None:
        console.print(
            f"{source}: {diff.old or '(nothing)'} → {diff.new}: +{len(diff.added):,} "
            f"addresses, -{len(diff.removed):,} delisted; entries +{len(diff.entries_added):,}, "
            f"-{len(diff.entries_removed):,}"
        )
        for sign, tags in (("+", diff.added), ("-", diff.removed)):
            for tag in tags[:50]:
                programs = ",".join(tag.programs)
                console.print(
                    f"  {sign} {tag.chain} {tag.address} {tag.category} {tag.label!r} "
                    f"{programs}".rstrip()
                )
            if len(tags) > 50:
                console.print(f"  {sign} … {len(tags) - 50:,} more (--json)")
        for sign, entries in (("+", diff.entries_added), ("-", diff.entries_removed)):
            for entry in entries[:20]:
                console.print(f"  {sign} entry {entry.entry} {entry.name!r} {entry.kind}")

    _emit(diff.to_json(), as_json, render)
