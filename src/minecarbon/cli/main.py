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
@click.option("--flavour", type=click.Choice(["composites", "scenes"]), default="composites", show_default=True,
              help="scenes: Landsat C2 L2 scenes with clouds instead of yearly composites (docs/composite.md).")
@click.option("--classify-years", default=None, metavar="YEAR[,YEAR...]",
              help="Also write the classify stage's inputs (cloud-gapped monthly composites, labelled points) of "
                   "these years only; the project classifies them beside its forest-type maps (docs/classify.md).")
@handle_errors
def simulate(out_dir: Path, size: str, seed: int, start_year: int, end_year: int,
             als_density: float | None, flavour: str, classify_years: str | None = None) -> None:
    """Write a simulated coal-mining area (inputs, project file and truth) to OUT_DIR."""
    from ..scenario import simulate as simulate_tool

    con = _console()
    kw = {} if als_density is None and size != "large" else {"als_pulses_per_m2": als_density or None}
    if classify_years:
        from ..errors import ConfigError

        try:
            years = [int(v) for v in classify_years.split(",")]
        except ValueError:
            raise ConfigError(f"--classify-years {classify_years!r}: give years separated by commas, e.g. 2024 or "
                              f"2022,2024") from None
        bad = [y for y in years if not start_year <= y <= end_year]
        if bad:
            raise ConfigError(f"--classify-years: {', '.join(map(str, bad))} not in the simulated period "
                              f"{start_year}-{end_year} (--start-year, --end-year)")
        kw.update(classify=True, classify_years=years)
    with con.status("simulating ...") as status:
        toml = simulate_tool(out_dir, size=size, seed=seed, start_year=start_year, end_year=end_year, flavour=flavour,
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


def _setup_logfile(workspace: Path) -> tuple[Path, logging.Handler]:
    logs = workspace / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / time.strftime("run-%Y%m%d-%H%M%S.log")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger("minecarbon")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path, handler


def _run_loaded(cfg, stages: str | None, force: bool, info, con) -> list:
    """Run one loaded project on the active scheduler, with its own log file and progress line."""
    from .. import progress
    from ..pipeline import run_pipeline
    from ..pipeline.scheduler import check_workers_see

    logfile, handler = _setup_logfile(cfg.workspace)
    try:
        if info.client is not None:
            check_workers_see(info.client, cfg.workspace, cfg.input_paths().values())
        names = [s.strip() for s in stages.split(",")] if stages else None
        t0 = {}
        with progress.reporting(con):
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
    except Exception as exc:
        # the traceback goes to this project's log file only (the terminal gets one clear message)
        handler.handle(logging.getLogger("minecarbon").makeRecord(
            "minecarbon", logging.ERROR, __file__, 0, "run failed: %s", (exc,), sys.exc_info()))
        raise
    finally:
        logging.getLogger("minecarbon").removeHandler(handler)
        handler.close()
        con.print(f"Log: {logfile}")
    return results


def _announce(info, con) -> None:
    if info.client is not None:
        con.print(f"dask cluster: {info.name}, {info.workers} worker(s); dashboard {info.dashboard}")


def run_project(project: Path, stages: str | None, force: bool, scheduler: str | None) -> list:
    """Load, run, and show progress (shared by ``run`` and ``demo``)."""
    from rich.console import Console

    from ..config import load_config
    from ..pipeline.scheduler import use_scheduler

    cfg = load_config(project)
    con = Console(stderr=True, highlight=False)
    with use_scheduler(scheduler or cfg.run.scheduler) as info:
        _announce(info, con)
        return _run_loaded(cfg, stages, force, info, con)


def run_projects(projects: list[Path], stages: str | None, force: bool, scheduler: str | None) -> list[dict]:
    """Run several projects one after the other on one scheduler; a failing project does not stop the others.

    Returns one row per project: ``project``, ``status`` ('ok' or 'failed'), ``ran``, ``skipped``,
    ``seconds`` and ``error`` (the message, for a failed project).
    """
    from rich.console import Console

    from ..config import load_config
    from ..pipeline.scheduler import use_scheduler

    con = Console(stderr=True, highlight=False)
    cfgs: dict[Path, object] = {}
    rows: dict[Path, dict] = {}
    for p in projects:
        try:
            cfgs[p] = load_config(p)
        except Exception as exc:  # noqa: BLE001  (named in the summary; the others still run)
            rows[p] = _failed_row(p, exc, 0.0)
    if scheduler is None:
        chosen = {c.run.scheduler for c in cfgs.values()} or {"threads"}
        scheduler = sorted(chosen)[0]
        if len(chosen) > 1:
            con.print(f"The projects ask for different schedulers ({', '.join(sorted(chosen))}); all run on "
                      f"{scheduler}. Use --scheduler to choose.")
    with use_scheduler(scheduler) as info:
        _announce(info, con)
        for p in projects:
            if p not in cfgs:
                continue
            con.print(f"[bold]{p}[/]")
            t0 = time.time()
            try:
                results = _run_loaded(cfgs[p], stages, force, info, con)
            except Exception as exc:  # noqa: BLE001
                rows[p] = _failed_row(p, exc, time.time() - t0)
                from rich.markup import escape

                con.print(f"  [bold red]failed:[/] {escape(rows[p]['error'])}", soft_wrap=True)
                continue
            rows[p] = {"project": str(p), "status": "ok", "ran": sum(r.status == "ran" for r in results),
                       "skipped": sum(r.status == "skipped" for r in results),
                       "seconds": time.time() - t0, "error": ""}
    return [rows[p] for p in projects]


def _failed_row(project: Path, exc: Exception, seconds: float) -> dict:
    if isinstance(exc, MinecarbonError):
        msg = str(exc)
    else:
        msg = (f"internal error ({type(exc).__name__}: {exc}); this is a bug in minecarbon, re-run this "
               f"project alone with --debug for the traceback")
    return {"project": str(project), "status": "failed", "ran": 0, "skipped": 0, "seconds": seconds,
            "error": msg}


def _summary_table(rows: list[dict]):
    from rich.table import Table

    table = Table(title="Projects")
    for col, kw in (("project", {}), ("status", {}), ("stages ran", {"justify": "right"}),
                    ("skipped", {"justify": "right"}), ("time (s)", {"justify": "right"}),
                    ("error", {"overflow": "fold"})):
        table.add_column(col, **kw)
    for r in rows:
        status = "[green]ok[/]" if r["status"] == "ok" else "[bold red]failed[/]"
        from rich.markup import escape

        table.add_row(escape(r["project"]), status, str(r["ran"]), str(r["skipped"]), f"{r['seconds']:.1f}",
                      escape(r["error"]))
    return table


@main.command()
@click.argument("projects", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--stages", help="Comma-separated stages to run (default: all): " + ",".join(STAGE_NAMES))
@click.option("--force", is_flag=True, help="Re-run the selected stages even when up to date.")
@click.option("--scheduler", help="threads | processes | synchronous | local[:N] (a dask.distributed LocalCluster "
                                  "of N worker processes) | tcp://HOST:PORT (a running dask.distributed scheduler)")
@handle_errors
def run(projects: tuple[Path, ...], stages: str | None, force: bool, scheduler: str | None) -> None:
    """Run the pipeline of PROJECTS (skips stages that are up to date).

    With several project files, all run on one scheduler (start the cluster once), each with its own
    outputs and log; a project that fails does not stop the others; a summary table ends the run
    (exit status 2 if any project failed).
    """
    if len(projects) == 1:
        run_project(projects[0], stages, force, scheduler)
        return
    rows = run_projects(list(projects), stages, force, scheduler)
    _console().print(_summary_table(rows))
    failed = [r for r in rows if r["status"] != "ok"]
    if failed:
        _console().print(f"[bold red]{len(failed)} of {len(rows)} project(s) failed:[/] "
                         + ", ".join(r["project"] for r in failed))
        sys.exit(2)


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("minecarbon-demo"), show_default=True)
@click.option("--size", type=click.Choice(SIZES), default="small", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--scheduler", help="threads | processes | synchronous | local[:N] | tcp://HOST:PORT")
@click.option("--classify", "classify", is_flag=True,
              help="Without forest-type maps: the classify stage makes them from simulated monthly composites "
                   "(with clouds) and labelled points (docs/classify.md).")
@click.option("--flavour", type=click.Choice(["composites", "scenes"]), default="composites", show_default=True,
              help="scenes: simulate Landsat scenes with clouds (TM, ETM+ SLC-off, OLI) and composite them first.")
@handle_errors
def demo(out_dir: Path, size: str, seed: int, scheduler: str | None, classify: bool = False,
         flavour: str = "composites") -> None:
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
            extra = {"classify": True, "forest_type_inputs": False} if classify else {}
            toml = simulate_tool(out_dir, size=size, seed=seed, flavour=flavour,
                                 progress=lambda msg: status.update(f"simulating: {msg}"), **extra)
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
