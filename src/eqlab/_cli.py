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
        typer.Option(
            "--set",
            help="Override a config value: key=value, train.epochs=3, or study.key=value (repeatable; the "
            "more specific key wins); scale=paper picks the paper's preset.",
        ),
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
    from eqlab.runs import Kind
    from eqlab.runs._config import ConfigError, parse_assignments
    from eqlab.runs._report import status_counts

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
    from eqlab.train._distributed import rank

    if rank() != 0:  # under torchrun, rank 0 writes and reports; the others only trained
        if any(o.status != "ok" for o in outcomes):
            raise typer.Exit(code=EXIT_NO)
        return
    table = Table(title="eqlab run")
    for column in ("study", "status", "findings", "demonstrations", "report"):
        table.add_column(column)
    for o in outcomes:
        counted = [
            ", ".join(
                f"{n} {status}"
                for status, n in status_counts([v for v in o.verdicts if v.kind is kind]).items()
                if n
            )
            for kind in (Kind.FINDING, Kind.DEMONSTRATION)
        ]
        table.add_row(
            o.study, o.status, counted[0] or (o.error or ""), counted[1], str(o.folder / "report.html")
        )
    stdout.print(table)
    indexes = sorted(
        {str(o.folder.parent / o.folder.name.removesuffix(f"-{o.study}") / "index.html") for o in outcomes}
    )
    for index in indexes:
        if Path(index).exists():
            stdout.print(f"run index: {index}", highlight=False)
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
        stdout.print(f"{v.status} ({v.kind}): {v.claim}", highlight=False)
    stdout.print(f"wrote {run_dir / 'report.md'} and {run_dir / 'report.html'}", highlight=False)


PICKLE_WARNING = "Loading a pickle runs code from the file: pass --allow-pickle only for files you trust."
"""Why a MODEL file that ``torch.load(weights_only=True)`` cannot read needs ``--allow-pickle``."""

MODEL_HELP = (
    "module:function (called with no arguments, giving a torch.nn.Module; the current directory is "
    "searched), a torch.export file (.pt2), or a torch file read with torch.load(weights_only=True). "
    "Pickled modules and eqlab training checkpoints (a 'builder' entry) need --allow-pickle. "
    "A state dict holds no architecture: pass module:function instead."
)

ALLOW_PICKLE_HELP = (
    "Read a MODEL file that torch.load(weights_only=True) cannot read (a pickled module, an eqlab "
    "checkpoint) as a pickle. Loading a pickle runs code from the file: only for files you trust."
)

_MODEL_SUFFIXES = (".pt", ".pth", ".pt2", ".ckpt", ".bin", ".pkl")


def _load_model(spec: str, *, allow_pickle: bool) -> Any:
    """The `torch.nn.Module` that MODEL names: ``module:function`` (called with no arguments; a module
    object is taken as it is), a ``.pt2`` file of `torch.export`, or a torch file. A torch file is read
    with ``weights_only=True``; one that needs unpickling (a pickled module, a checkpoint that names its
    ``builder`` = ``module:function`` with ``builder_kwargs`` and a ``model`` state) only with
    ``allow_pickle``. Raises ConfigError for a bad MODEL."""
    from torch import nn

    from eqlab.runs._config import ConfigError

    path = Path(spec)
    if path.suffix in _MODEL_SUFFIXES or path.exists():
        if not path.is_file():
            raise ConfigError(f"MODEL file {spec} does not exist (or is not a file)")
        built = _model_of_file(_read_model_file(path, spec, allow_pickle), spec, allow_pickle)
    else:
        built = _import_target(spec)
        if not isinstance(built, nn.Module):
            if not callable(built):
                raise ConfigError(f"MODEL {spec} is neither a torch.nn.Module nor a function returning one")
            try:
                built = built()
            except Exception as exc:  # the user's builder failed: a bad MODEL argument
                raise ConfigError(f"MODEL {spec} failed when called: {type(exc).__name__}: {exc}") from None
    if not isinstance(built, nn.Module):
        raise ConfigError(f"MODEL {spec} did not give a torch.nn.Module but {type(built).__name__}")
    return built


def _import_target(spec: str) -> Any:
    """The object ``module:function`` names, importing ``module`` (the current directory is searched)."""
    import importlib

    from eqlab.runs._config import ConfigError

    module_name, sep, attr = spec.partition(":")
    if not sep or not attr or not module_name:
        raise ConfigError(f"MODEL must be a model file or module:function, got {spec!r}")
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)  # module:function names a module of the current directory too
    try:
        return getattr(importlib.import_module(module_name), attr)
    except Exception as exc:  # an import that fails for any reason is a bad MODEL argument
        raise ConfigError(f"MODEL: cannot load {spec!r}: {type(exc).__name__}: {exc}") from None
    finally:
        if added:
            sys.path.remove(cwd)


def _read_model_file(path: Path, spec: str, allow_pickle: bool) -> Any:
    """What a MODEL file holds: ``torch.export.load(...).module()`` for ``.pt2``; otherwise
    ``torch.load(weights_only=True)``, and only with ``allow_pickle`` ``weights_only=False``."""
    import torch

    from eqlab.runs._config import ConfigError

    if path.suffix == ".pt2":
        try:
            return torch.export.load(path).module()
        except Exception as exc:  # a file torch.export cannot read is a bad argument, whatever it raised
            raise ConfigError(
                f"MODEL {spec} cannot be read by torch.export.load: {type(exc).__name__}: {exc}"
            ) from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # anything but tensors and plain containers, or not a torch file at all
        safe_error = exc
    if not allow_pickle:
        why = _why_not_weights(safe_error)
        raise ConfigError(
            f"MODEL {spec} cannot be read with torch.load(weights_only=True): {why}. {PICKLE_WARNING}"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a file torch cannot read is a bad argument, whatever it raised
        raise ConfigError(
            f"MODEL {spec} cannot be read as a torch file, even as a pickle: {type(exc).__name__}: {exc}"
        ) from None


def _why_not_weights(exc: Exception) -> str:
    """torch's long weights-only error in a few words: the global it refused, or its first line."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    refused = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if refused:
        return f"it holds {refused.group(1)}, which only unpickling can rebuild"
    if "Unsupported operand" in text or "invalid load key" in text:
        return "it is not a torch file of tensors (torch's unpickler refused its bytes)"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"{type(exc).__name__}: {first}"


def _model_of_file(state: Any, spec: str, allow_pickle: bool) -> Any:
    """The model a loaded file holds: a module as it is, or (with ``allow_pickle``) one rebuilt from a
    checkpoint that names its builder, since calling a builder the file names runs code the file chooses.
    A state dict, or anything else, is a bad MODEL."""
    import torch
    from torch import nn

    from eqlab.runs._config import ConfigError

    if isinstance(state, nn.Module):
        return state
    if isinstance(state, dict) and "builder" in state:
        if not allow_pickle:
            raise ConfigError(
                f"MODEL {spec} is a checkpoint that names its builder {state['builder']!r}, which would be "
                f"imported and called with the file's arguments. {PICKLE_WARNING}"
            )
        builder = _import_target(str(state["builder"]))
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
    if isinstance(state, dict) and state and all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(
            f"MODEL {spec} is a state dict ({len(state)} tensors): it holds weights but no architecture; "
            "pass module:function, a function that builds the model (and loads these weights)"
        )
    if isinstance(state, dict):
        raise ConfigError(
            f"MODEL {spec} does not name its model builder (no 'builder' entry); use module:function"
        )
    raise ConfigError(f"MODEL {spec} holds a {type(state).__name__}, not a model; use module:function")


@app.command()
@_guarded
def exactness(
    model: Annotated[str, typer.Argument(help=MODEL_HELP)],
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
    allow_pickle: Annotated[bool, typer.Option("--allow-pickle", help=ALLOW_PICKLE_HELP)] = False,
) -> None:
    """Is the model exactly rotation/reflection equivariant at this input size? Exit 0 if certified exact,
    1 if not exact or not certified, 2 for bad usage, 3 for an internal error. A MODEL file that
    torch.load(weights_only=True) cannot read is read only with --allow-pickle: loading a pickle runs code
    from the file."""
    from eqlab.exactness import check, nearest_exact_sizes
    from eqlab.runs._config import ConfigError

    try:
        built = _load_model(model, allow_pickle=allow_pickle)
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


SYMMETRIES = ("rot90", "d4", "rot180", "hflip", "vflip", "p4", "p4m", "all")
"""What ``eqlab audit --symmetry`` accepts (rot90 is p4, d4 is p4m; all: every grid symmetry)."""


@app.command()
@_guarded
def audit(
    model: Annotated[str, typer.Argument(help=MODEL_HELP)],
    size: Annotated[int, typer.Option("--size", min=1, help="Input width (and height, without --height).")],
    symmetry: Annotated[
        str,
        typer.Option(
            "--symmetry",
            help="rot90 (= p4), d4 (= p4m), rot180, hflip, vflip, or all (one row per grid symmetry).",
        ),
    ] = "rot90",
    height: Annotated[
        int | None, typer.Option("--height", min=1, help="Input height, when it differs from --size.")
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option("--tolerance", help="The largest end-to-end error an 'approximate' verdict allows."),
    ] = 1e-2,
    json_: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON, and nothing else.")
    ] = False,
    html_path: Annotated[
        Path | None, typer.Option("--html", help="Also write the report as one HTML page to this file.")
    ] = None,
    allow_pickle: Annotated[bool, typer.Option("--allow-pickle", help=ALLOW_PICKLE_HELP)] = False,
    out_action: Annotated[
        str | None,
        typer.Option("--out-action", help="invariant, image or features (default: inferred and reported)."),
    ] = None,
) -> None:
    """Does the model respect a grid symmetry, where does it break, and how to fix it? Prints the verdict,
    the measurements, the layers that matter and the fixes, each checked on a copy. Exit 0 if exact (with
    --symmetry all: every symmetry exact), 1 if approximate or not equivariant, 2 for bad usage, 3 for an
    internal error. A MODEL file that torch.load(weights_only=True) cannot read (a pickled module, an eqlab
    checkpoint) is read only with --allow-pickle: loading a pickle runs code from the file, so pass it only
    for files you trust."""
    from eqlab._audit import audit as run_audit
    from eqlab._audit._html import write_html
    from eqlab._audit._terminal import print_report
    from eqlab.exactness._options import OutputAction
    from eqlab.runs._config import ConfigError

    if symmetry not in SYMMETRIES:
        raise _usage_error(f"--symmetry must be one of {', '.join(SYMMETRIES)}, got {symmetry!r}")
    if out_action is not None and out_action not in OutputAction.values():
        raise _usage_error(
            f"--out-action must be one of {', '.join(OutputAction.values())}, got {out_action!r}"
        )
    try:
        built = _load_model(model, allow_pickle=allow_pickle)
        input_size = (height, size) if height is not None else size
        report_ = run_audit(built, symmetry, input_size, out_action=out_action, tolerance=tolerance)
    except (ConfigError, ValueError, TypeError) as exc:
        raise _usage_error(str(exc)) from None
    if json_:
        typer.echo(report_.to_json())
    else:
        print_report(report_, stdout)
    if html_path is not None:
        try:
            written = write_html(report_, html_path)
        except (OSError, ValueError, TypeError) as exc:
            raise _usage_error(f"--html {html_path}: cannot write the page: {exc}") from None
        where = Console(stderr=True) if json_ else stdout  # --json keeps stdout for the JSON alone
        where.print(f"wrote {written}", highlight=False, markup=False, soft_wrap=True)
    reports = report_.symmetries or [report_]
    if not all(one.exact for one in reports):
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
