"""``minecarbon report`` and ``minecarbon catalog list|show|verify``.

``report`` runs what is out of date and writes the report in the asked
languages and formats.  ``catalog verify`` re-hashes every catalogued file
and exits with code 3 when one is missing or changed (2 for a usage error,
as every command).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .main import _console, handle_errors, main
from .options import json_option

VERIFY_FAILED = 3
"""Exit code of ``catalog verify`` when the archive does not match."""


@main.command("report")
@click.argument("project", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", "lang", help="zh, en or both (zh,en); default [report].languages of the project file.")
@click.option("--format", "formats", help="Any of html,pdf,docx; default [report].formats of the project file.")
@json_option
@handle_errors
def report_cmd(project: Path, lang: str | None, formats: str | None, as_json: bool) -> None:
    """Write the monitoring report of PROJECT (runs the stages that are out of date first)."""
    from ..tools.report import run_report_tool

    con = _console()
    with con.status("building the report ...") as status:
        out = run_report_tool(project, lang, formats, progress=lambda msg: status.update(f"{msg} ..."))
    files, written = out["files"], out["written"]
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for f in files:
        con.print(f"  {f}", markup=False)
    if written:
        con.print(f"[green]Report written[/] ({len(files)} files).")
    else:
        con.print(f"[green]Report up to date[/] ({len(files)} files): no input, setting or upstream result changed "
                  f"since it was written.")


@main.group("catalog")
def catalog() -> None:
    """The monitoring database: list, show and verify the catalogued files; projects and compare across mines."""


@catalog.command("list")
@click.argument("project", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["raw", "output", "manifest"]), help="Only this kind of dataset.")
@click.option("--stage", help="Only the outputs of this stage.")
@json_option
@handle_errors
def catalog_list(project: Path, kind: str | None, stage: str | None, as_json: bool) -> None:
    """List the catalogued datasets of PROJECT (id, kind, size, checksum, path)."""
    from ..catalog import open_catalog
    from ..config import load_config

    cfg = load_config(project)
    with open_catalog(cfg) as db:
        ds = db.datasets(kind=kind, stage=stage)
    if as_json:
        cols = ["id", "kind", "stage", "output_id", "year", "path", "sha256", "size_bytes", "format", "units"]
        click.echo(ds[cols].to_json(orient="records", force_ascii=False, indent=2))
        return
    from rich.table import Table

    t = Table(show_lines=False, header_style="bold")
    for c in ("id", "kind", "format", "size", "sha256", "path"):
        t.add_column(c, overflow="fold")
    for _, r in ds.iterrows():
        t.add_row(str(r["id"]), str(r["kind"]), str(r["format"]), f"{int(r['size_bytes']):,}",
                  str(r["sha256"])[:12], str(r["path"]))
    con = _console()
    con.print(t)
    con.print(f"{len(ds)} dataset(s) in {cfg.workspace / 'catalog' / 'catalog.gpkg'}", markup=False)


@catalog.command("show")
@click.argument("project", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("dataset_id")
@json_option
@handle_errors
def catalog_show(project: Path, dataset_id: str, as_json: bool) -> None:
    """Show one dataset of PROJECT with its lineage (ids as printed by 'catalog list')."""
    from ..tools.report import dataset_record

    rec, lin = dataset_record(project, dataset_id)
    if as_json:
        click.echo(json.dumps({"dataset": rec, "lineage": lin.to_dict(orient="records")}, ensure_ascii=False,
                              indent=2, default=str))
        return
    con = _console()
    for k, v in rec.items():
        if v is not None and v != "":
            con.print(f"[bold]{k:>13}[/] {v}", soft_wrap=True, highlight=False)
    if len(lin):
        con.print("[bold]lineage[/]")
        for _, r in lin.iterrows():
            con.print(f"  {r['relation']:<9} {r['source_id']}  {str(r['source_sha256'])[:16]}", markup=False)


@catalog.command("verify")
@click.argument("project", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@handle_errors
def catalog_verify(project: Path, as_json: bool) -> None:
    """Re-hash every catalogued file of PROJECT; exit 3 naming the missing or changed ones."""
    from ..catalog import verify_catalog
    from ..config import load_config

    cfg = load_config(project)
    res = verify_catalog(cfg)
    problems = res.problems
    if as_json:
        click.echo(json.dumps({"ok": res.ok, "checked": len(res.checks),
                               "problems": [p.__dict__ for p in problems]}, ensure_ascii=False, indent=2))
    else:
        con = _console()
        for p in problems:
            con.print(f"[bold red]{p.status.upper()}[/] {p.path} ({p.dataset_id}): {p.detail}", soft_wrap=True,
                      highlight=False)
        if problems:
            con.print(f"[bold red]{len(problems)} of {len(res.checks)} catalogued file(s) do not match the "
                      f"archive.[/] If a change is intended, re-run 'minecarbon run {project}' to catalogue it.")
        else:
            con.print(f"[green]All {len(res.checks)} catalogued files match their checksums.[/]")
    if problems:
        sys.exit(VERIFY_FAILED)
