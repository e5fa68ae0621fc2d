"""``minecarbon`` command group.

Each command parses its arguments and calls one library function.  Errors
raised on purpose (:class:`MinecarbonError`) are printed as one clear
paragraph with exit code 2; anything else is an internal error (exit 1) whose
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from pathlib import Path

import click

from .. import __version__
from ..errors import MinecarbonError
from ..stage_names import STAGE_NAMES

SIZES = ("tiny", "small", "medium", "large")


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def handle_errors(fn):
    """Turn exceptions into one message and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        debug = bool(ctx.find_root().params.get("debug"))
        try:
            return fn(*args, **kwargs)
        except MinecarbonError as exc:
            if debug:
                raise
            from rich.markup import escape

            _console().print(f"[bold red]Error:[/] {escape(str(exc))}", soft_wrap=True)
            sys.exit(2)
        except KeyboardInterrupt:
            _console().print("Interrupted. Outputs written so far are complete; re-run to continue.")
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001
            if debug:
                raise
            from rich.markup import escape

            from ..faults import explain

            known = explain(exc)  # disk full, read-only, damaged database, memory: not a bug
            if known is not None:
                _console().print(f"[bold red]Error:[/] {escape(str(known))}", soft_wrap=True)
                sys.exit(2)
            _console().print(f"[bold red]Internal error[/] ({type(exc).__name__}: {escape(str(exc))}). This is a bug in "
                             f"minecarbon; re-run with --debug for the traceback and report it.")
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="minecarbon")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option("-v", "--verbose", count=True, help="More log output on the terminal.")
def main(debug: bool, verbose: int) -> None:
    """Forest aboveground carbon (AGC) monitoring and assessment in coal-mining areas.

    \b
    Quick start:
      minecarbon demo                      simulate a mining area and run everything
      minecarbon simulate DIR              write a simulated project (inputs + truth)
      minecarbon check DIR/minecarbon.toml validate a project, listing every problem
      minecarbon run DIR/minecarbon.toml   run the stages
    """
    level = max(logging.WARNING - 10 * verbose, logging.DEBUG)
    from rich.logging import RichHandler

    handler = RichHandler(console=_console(), show_time=False, show_path=False, markup=False)
    handler.setLevel(level)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s", handlers=[handler], force=True)


@main.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--size", type=click.Choice(SIZES), default="small", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--start-year", type=int, default=2005, show_default=True)
@click.option("--end-year", type=int, default=2024, show_default=True)
@click.option("--als-density", type=click.FloatRange(min=0), default=None,
              help="Airborne-scan pulses per m2 (0: no ALS). Default 0.1, and no ALS for --size large "
                   "(it would write several GB of tiles).")
@handle_errors
def simulate(out_dir: Path, size: str, seed: int, start_year: int, end_year: int,
             als_density: float | None) -> None:
    """Write a simulated coal-mining area (inputs, project file and truth) to OUT_DIR."""
    from ..scenario import simulate as simulate_tool

    con = _console()
    kw = {} if als_density is None and size != "large" else {"als_pulses_per_m2": als_density or None}
    with con.status("simulating ...") as status:
        toml = simulate_tool(out_dir, size=size, seed=seed, start_year=start_year, end_year=end_year,
                             progress=lambda msg: status.update(f"simulating: {msg}"), **kw)
    con.print(f"Wrote the simulated project {toml}")


@main.command()
@click.argument("project", type=click.Path(dir_okay=False, path_type=Path))
@handle_errors
def check(project: Path) -> None:
    """Validate a project file and all its inputs; list every problem (exit 2 if any error)."""
    from ..check import check_project, format_problems

    problems = check_project(project)
    con = _console()
    errors = [p for p in problems if p.severity == "error"]
    if problems:
        con.print(format_problems(problems), markup=False, soft_wrap=True)
    if errors:
        con.print(f"[bold red]{len(errors)} error(s)[/], {len(problems) - len(errors)} warning(s).")
        sys.exit(2)
    con.print(f"[green]Project {project} is valid[/] ({len(problems)} warning(s)).")


def _setup_logfile(workspace: Path) -> Path:
    logs = workspace / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / time.strftime("run-%Y%m%d-%H%M%S.log")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger("minecarbon")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def run_project(project: Path, stages: str | None, force: bool, scheduler: str | None) -> list:
    """Load, run, and show progress (shared by ``run`` and ``demo``)."""
    from rich.console import Console

    from .. import progress
    from ..config import load_config
    from ..pipeline import run_pipeline
    from ..pipeline.scheduler import use_scheduler

    cfg = load_config(project)
    logfile = _setup_logfile(cfg.workspace)
    con = Console(stderr=True, highlight=False)
    names = [s.strip() for s in stages.split(",")] if stages else None
    t0 = {}
    with use_scheduler(scheduler or cfg.run.scheduler), progress.reporting(con):
        def on_stage(stage, state):
            if state == "start":
                t0[stage.name] = time.time()
                progress.status(f"stage {stage.name}: {stage.about}")
                if not con.is_terminal:
                    progress.say(f"  {stage.name:<9} started")
            elif state == "skipped":
                progress.say(f"  {stage.name:<9} up to date, skipped")
            else:
                progress.say(f"  {stage.name:<9} done in {time.time() - t0[stage.name]:.1f} s")

        results = run_pipeline(cfg, names, force=force, progress=lambda msg: progress.status(f"{msg} ..."),
                               on_stage=on_stage)
    con.print(f"Log: {logfile}")
    return results


@main.command()
@click.argument("project", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--stages", help="Comma-separated stages to run (default: all): " + ",".join(STAGE_NAMES))
@click.option("--force", is_flag=True, help="Re-run the selected stages even when up to date.")
@click.option("--scheduler", help="threads | processes | synchronous | tcp://HOST:PORT (dask.distributed)")
@handle_errors
def run(project: Path, stages: str | None, force: bool, scheduler: str | None) -> None:
    """Run the pipeline of PROJECT (skips stages that are up to date)."""
    run_project(project, stages, force, scheduler)


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("minecarbon-demo"), show_default=True)
@click.option("--size", type=click.Choice(SIZES), default="small", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--scheduler", help="threads | processes | synchronous | tcp://HOST:PORT")
@handle_errors
def demo(out_dir: Path, size: str, seed: int, scheduler: str | None) -> None:
    """Simulate a mining area, run the whole method on it and summarise the results."""
    from ..demo import summarise
    from ..scenario import simulate as simulate_tool

    con = _console()
    t_start = time.time()
    toml = out_dir / "minecarbon.toml"
    if toml.exists():
        con.print(f"Using the simulated project already in {out_dir} (delete the folder to re-simulate).")
    else:
        with con.status("simulating the mining area ...") as status:
            toml = simulate_tool(out_dir, size=size, seed=seed,
                                 progress=lambda msg: status.update(f"simulating: {msg}"))
        con.print(f"Simulated a {size} mining area in {out_dir} ({time.time() - t_start:.1f} s)")
    run_project(toml, None, False, scheduler)
    click.echo(summarise(toml))
    con.print(f"Total time {time.time() - t_start:.1f} s")


@main.group()
def tool() -> None:
    """Single-purpose tools on plain files (no project needed)."""


def _load_tool_modules() -> None:
    """Import every ``minecarbon.cli.tools_*`` module; each adds its commands to :func:`tool`."""
    import importlib
    import pkgutil

    from .. import cli as _cli_pkg

    for info in sorted(pkgutil.iter_modules(_cli_pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("tools_"):
            importlib.import_module(f"{_cli_pkg.__name__}.{info.name}")


_load_tool_modules()
