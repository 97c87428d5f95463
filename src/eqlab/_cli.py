"""The ``eqlab`` command: thin typer wrappers over eqlab's library functions.

Exit codes, for the checks (``exactness``, ``check-activation``): 0 yes (exact, equivariant), 1 no (not
exact, not equivariant, not certified, undecided), 2 bad usage or bad input, 3 an internal error. For
``run``: 0 when every study completed, whatever its verdicts; 1 when a study did not complete; 2 bad
usage; 3 an error outside the studies. An internal error prints one line; ``--debug`` shows the
traceback. Results go to stdout, logs, progress bars and errors to stderr.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from eqlab._version import __version__

app = typer.Typer(
    name="eqlab",
    help="Symmetry in neural networks: build equivariant layers, check them, reproduce the papers.",
    no_args_is_help=True,
    add_completion=False,
)
stdout = Console()

EXIT_NO, EXIT_USAGE, EXIT_INTERNAL = 1, 2, 3

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class _Session:
    """Options of the current invocation that every command reads (set by the callback each time)."""

    debug: bool = False


_session = _Session()


@contextlib.contextmanager
def _internal_errors() -> Iterator[None]:
    """Turn an unexpected exception into one line on stderr and exit code 3 (``--debug``: the traceback)."""
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # anything else is eqlab's fault, not the user's
        err = Console(stderr=True)
        if _session.debug:
            err.print(traceback.format_exc(), highlight=False, markup=False)
        hint = "" if _session.debug else " (run with --debug for the traceback)"
        line = Text.assemble(("internal error:", "bold red"), f" {type(exc).__name__}: {exc}{hint}")
        err.print(line, highlight=False)
        raise typer.Exit(code=EXIT_INTERNAL) from None


def _guarded(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _internal_errors():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        stdout.print(f"eqlab {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug messages to stderr.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error.")] = False,
) -> None:
    """eqlab: symmetry in neural networks."""
    _session.debug = debug
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _usage_error(message: str) -> typer.Exit:
    Console(stderr=True).print(Text.assemble(("error:", "bold red"), " ", message), highlight=False)
    return typer.Exit(code=EXIT_USAGE)


@app.command("list")
@_guarded
def list_studies() -> None:
    """List the studies, one line each."""
    from eqlab.studies import STUDIES

    for study in STUDIES.values():
        stdout.print(f"{study.name:14s} ~{study.budget_minutes:g} min  {study.summary}", highlight=False)


@app.command()
@_guarded
def run(
    studies: Annotated[list[str] | None, typer.Argument(help="Studies to run (default: all).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Smoke scale (about 15 s per study).")] = False,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config value: key=value or study.key=value (repeatable)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Base seed of every study.")] = 0,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Folder with local data sets (MNIST, CIFAR-10).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Where run folders are written.")] = Path("runs"),
    resume: Annotated[Path | None, typer.Option(help="Continue an interrupted study run folder.")] = None,
) -> None:
    """Run studies and write their run folders and reports."""
    from eqlab._runner import resume as resume_run
    from eqlab._runner import run_studies
    from eqlab.runs import Status
    from eqlab.runs._config import ConfigError, parse_assignments

    if device not in ("cpu", "cuda"):
        raise _usage_error(f"--device must be cpu or cuda, got {device!r}")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise _usage_error("--device cuda was asked for but torch sees no CUDA device")
    try:
        if resume is not None:
            if studies or set_:
                raise ConfigError(
                    "--resume takes the study and config from the run folder; drop the other arguments"
                )
            try:
                outcomes = [resume_run(resume)]
            except ConfigError as exc:
                raise ConfigError(f"--resume {resume}: {exc}") from None
        else:
            outcomes = run_studies(
                studies or [],
                overrides=parse_assignments(set_ or []),
                quick=quick,
                seed=seed,
                device=device,
                data_dir=str(data_dir) if data_dir else None,
                out=out,
            )
    except ConfigError as exc:
        raise _usage_error(str(exc)) from None
    table = Table(title="eqlab run")
    for column in ("study", "status", "verdicts", "report"):
        table.add_column(column)
    for o in outcomes:
        counts = {status: sum(v.status == status for v in o.verdicts) for status in Status}
        verdicts = ", ".join(f"{n} {status}" for status, n in counts.items() if n) or (o.error or "")
        table.add_row(o.study, o.status, verdicts, str(o.folder / "report.html"))
    stdout.print(table)
    if any(o.status != "ok" for o in outcomes):
        raise typer.Exit(code=EXIT_NO)


@app.command()
@_guarded
def report(run_dir: Annotated[Path, typer.Argument(help="A study run folder.")]) -> None:
    """Rebuild a run's plots and reports from its saved results."""
    from eqlab._runner import rebuild_report
    from eqlab.runs._config import ConfigError

    try:
        verdicts = rebuild_report(run_dir)
    except ConfigError as exc:
        raise _usage_error(str(exc)) from None
    for v in verdicts:
        stdout.print(f"{v.status}: {v.claim}", highlight=False)
    stdout.print(f"wrote {run_dir / 'report.md'} and {run_dir / 'report.html'}", highlight=False)


def _load_model(spec: str) -> Any:
    """A model from ``module:function`` (called with no arguments) or from a checkpoint that names its
    builder (``builder`` = ``module:function``, ``builder_kwargs``, ``model`` state)."""
    import importlib

    import torch

    from eqlab.runs._config import ConfigError

    path = Path(spec)
    if path.suffix == ".pt" or path.exists():
        if not path.is_file():
            raise ConfigError(f"MODEL checkpoint {spec} does not exist (or is not a file)")
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:  # a file torch cannot read is a bad argument, whatever it raised
            raise ConfigError(f"MODEL {spec} cannot be read as a torch checkpoint: {exc}") from None
        if not isinstance(state, dict) or "builder" not in state:
            raise ConfigError(
                f"MODEL {spec} does not name its model builder (no 'builder' entry); use module:function"
            )
        builder = _load_model(str(state["builder"]))
        kwargs = state.get("builder_kwargs", {})
        if not callable(builder) or not isinstance(kwargs, dict):
            raise ConfigError(f"MODEL {spec}: its builder {state['builder']!r} is not callable with keywords")
        try:
            model = builder(**kwargs)
            model.load_state_dict(state["model"])
        except Exception as exc:  # a checkpoint whose weights do not fit its builder
            raise ConfigError(
                f"MODEL {spec}: cannot rebuild the model: {type(exc).__name__}: {exc}"
            ) from None
        return model
    module_name, sep, attr = spec.partition(":")
    if not sep or not attr or not module_name:
        raise ConfigError(f"MODEL must be a checkpoint path or module:function, got {spec!r}")
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)  # module:function names a module of the current directory too
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:  # an import that fails for any reason is a bad MODEL argument
        raise ConfigError(f"MODEL: cannot load {spec!r}: {type(exc).__name__}: {exc}") from None
    finally:
        if added:
            sys.path.remove(cwd)
    return target


@app.command()
@_guarded
def exactness(
    model: Annotated[
        str, typer.Argument(help="module:function returning a model, or a study checkpoint (.pt).")
    ],
    size: Annotated[int, typer.Option("--size", min=1, help="Input height and width.")],
    group: Annotated[
        str | None,
        typer.Option(
            help="p4 (rot90), p4m (d4), rot180, hflip or vflip (default: the model's own, else p4)."
        ),
    ] = None,
    height: Annotated[
        int | None, typer.Option("--height", min=1, help="Input height, when it differs from --size.")
    ] = None,
    out_action: Annotated[
        str | None,
        typer.Option("--out-action", help="invariant, image or features (default: inferred and reported)."),
    ] = None,
    confirm: Annotated[bool, typer.Option(help="Also measure float64 errors per layer and by depth.")] = True,
) -> None:
    """Is the model exactly rotation/reflection equivariant at this input size? Exit 0 if certified exact,
    1 if not exact or not certified, 2 for bad usage, 3 for an internal error."""
    from torch import nn

    from eqlab.exactness import check, nearest_exact_sizes
    from eqlab.runs._config import ConfigError

    try:
        built = _load_model(model)
        if not isinstance(built, nn.Module):
            if not callable(built):
                raise ConfigError(f"MODEL {model} is neither a torch.nn.Module nor a function returning one")
            try:
                built = built()
            except Exception as exc:  # the user's builder failed: a bad MODEL argument
                raise ConfigError(f"MODEL {model} failed when called: {type(exc).__name__}: {exc}") from None
        if not isinstance(built, nn.Module):
            raise ConfigError(f"MODEL {model} did not give a torch.nn.Module but {type(built).__name__}")
        input_size = (height, size) if height is not None else size
        report_ = check(built, input_size, confirm=confirm, group=group, out_action=out_action)
    except (ConfigError, ValueError, TypeError) as exc:
        raise _usage_error(str(exc)) from None
    stdout.print(report_.table(), highlight=False, soft_wrap=True, markup=False)
    if report_.depth_errors:
        stdout.print(
            "cumulative error by depth: " + ", ".join(f"{n} {e:.1e}" for n, e in report_.depth_errors),
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    if not report_.exact:
        if report_.grid_exact is False and height is None:
            below, above = nearest_exact_sizes(built, size, group=report_.group)
            stdout.print(f"nearest exact sizes: {below} below, {above} above", highlight=False)
        raise typer.Exit(code=EXIT_NO)


@app.command("check-activation")
@_guarded
def check_activation(
    representation: Annotated[
        str,
        typer.Argument(
            help="A catalogue name (C4:regular, C4:rot2d, D4:rot2d, S3:standard, SO2:rot2d@37deg, ...) or a "
            ".npy/.pt/.json file of (k, n, n) matrices."
        ),
    ],
    activation: Annotated[
        str,
        typer.Argument(
            help="relu, leaky_relu, prelu, elu, gelu, silu, sigmoid, softplus, tanh, sin, xabs or identity."
        ),
    ],
    fix: Annotated[bool, typer.Option(help="On failure, look for a change of basis that fixes it.")] = True,
) -> None:
    """Does a pointwise activation commute with a representation? Exit 0 if so, 1 if not or undecided, 2
    for bad usage, 3 for an internal error."""
    from eqlab.activations import check, permutation_basis, rescale_to_permutation
    from eqlab.activations._named import load_matrices

    try:
        matrices, label = load_matrices(representation)
    except (ValueError, TypeError) as exc:
        raise _usage_error(f"REPRESENTATION: {exc}") from None
    try:
        verdict = check(matrices, activation)
    except (ValueError, TypeError) as exc:
        raise _usage_error(f"ACTIVATION: {exc}") from None
    lines = [
        f"representation: {label} ({matrices.shape[0]} matrices of size {matrices.shape[1]})",
        f"class:          {verdict.case}" + (f" (b = {verdict.b:.6g})" if verdict.b else ""),
        f"admits:         {verdict.admissible}",
        f"activation:     {verdict.activation}",
        f"verdict:        {_verdict_word(verdict.equivariant)}",
        f"reason:         {verdict.reason}",
        f"measured error: {verdict.max_error:.3g} (float64, relative)",
    ]
    if verdict.equivariant is not True and fix:
        if "monomial" in verdict.case:
            try:
                rescaled = rescale_to_permutation(matrices)
                scales = ", ".join(f"{s:.4g}" for s in rescaled.scales)
                lines.append(f"fix:            rescale the basis by diag({scales}): a {rescaled.case} group")
            except ValueError as exc:
                lines.append(f"fix:            none by rescaling: {exc}")
        else:
            found = permutation_basis(matrices)
            outcome = "change of basis found" if found.found else f"none (failed: {found.test})"
            lines.append(f"fix:            {outcome}: {found.reason}")
    stdout.print("\n".join(lines), highlight=False, soft_wrap=True)
    if verdict.equivariant is not True:
        raise typer.Exit(code=EXIT_NO)


def _verdict_word(equivariant: bool | None) -> str:
    return {True: "equivariant", False: "NOT equivariant", None: "undecided"}[equivariant]


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
