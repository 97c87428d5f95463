"""``eqlab run`` as a library: select studies, resolve their configs, run them, write their reports.

Each study gets ``<out>/<timestamp>-<study>/``; one ``<out>/<timestamp>/index.html`` links them all.
A study that raises is logged and marked failed; the others still run and report.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eqlab._arguments import choice, describe, flag, integer
from eqlab._arguments import path as check_path
from eqlab.runs import RunFolder, Status, Study, Verdict
from eqlab.runs._config import ConfigError, config_keys, config_to_dict
from eqlab.runs._cost import CostEstimate
from eqlab.runs._folder import environment
from eqlab.runs._index import IndexCard, write_index
from eqlab.runs._report import Report, format_duration, write_report
from eqlab.runs._results import ResultsError, from_json, to_json
from eqlab.runs._study import SCALES, config_from_dict
from eqlab.runs._verdict import MIN_SEEDS
from eqlab.studies import STUDIES
from eqlab.train._distributed import batchnorm_statistics, init_from_env, world_size

__all__ = [
    "StudyOutcome",
    "rebuild_report",
    "rebuild_report_of",
    "resolve_configs",
    "resume",
    "run_studies",
    "select_studies",
]

log = logging.getLogger(__name__)


@dataclass
class StudyOutcome:
    """How one study ended."""

    study: str
    folder: Path
    status: str  # "ok" or "failed"
    verdicts: list[Verdict]
    error: str | None = None
    report: Report | None = None
    seconds: float | None = None


def _config_error(check: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``check(*args, **kwargs)``, its ValueError raised as a ConfigError (a usage error on the command
    line)."""
    try:
        return check(*args, **kwargs)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def select_studies(names: Sequence[str]) -> list[Study]:
    """The named studies (all, in registry order, when ``names`` is empty)."""
    if isinstance(names, (str, bytes)) or not isinstance(names, (list, tuple)):
        raise TypeError(f"names must be a list of study names, got {describe(names)}")
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"names must hold study names (strings), got {describe(name)}")
    unknown = [n for n in names if n not in STUDIES]
    if unknown:
        raise ConfigError(f"unknown study {unknown}; available: {', '.join(STUDIES)}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"each study may be named once, got {twice} more than once")
    return [STUDIES[n] for n in (names or list(STUDIES))]


def resolve_configs(studies: Sequence[Study], overrides: Mapping[str, str], quick: bool) -> dict[str, Any]:
    """Each study's config with ``--set`` overrides applied.

    ``key=value`` applies to every selected study that has ``key``; ``study.key=value`` to one study.
    A key that no selected study has is refused, listing the valid keys.
    """
    if isinstance(studies, Study) or not isinstance(studies, (list, tuple)):
        raise TypeError(f"studies must be a list of Study (see select_studies), got {describe(studies)}")
    for study in studies:
        if not isinstance(study, Study):
            raise TypeError(f"studies must hold Study objects (see select_studies), got {describe(study)}")
    if len({s.name for s in studies}) != len(studies):
        raise ConfigError(f"studies must hold each study once, got {[s.name for s in studies]}")
    if not isinstance(overrides, Mapping):
        raise TypeError(f"overrides must be a mapping of key -> string value, got {describe(overrides)}")
    for key, value in overrides.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"overrides must map strings to strings, got {key!r}: {describe(value)}")
    quick = flag(quick, "quick")
    configs = {}
    for study in studies:
        chosen = overrides_for(studies, overrides)[study.name]
        if chosen.get("scale", "default") not in SCALES:
            raise ConfigError(f"scale must be one of {', '.join(SCALES)}, got {chosen['scale']!r}")
        configs[study.name] = study.configure(chosen, quick)
    return configs


def overrides_for(studies: Sequence[Study], overrides: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The ``--set`` overrides of each study: a plain key for every selected study with that key, then
    ``study.key`` for one (the more specific key wins). Unknown keys are refused with the valid ones."""
    names = [s.name for s in studies]
    keys = {s.name: {*config_keys(s.config), "scale"} for s in studies}
    generic: dict[str, dict[str, str]] = {name: {} for name in names}
    specific: dict[str, dict[str, str]] = {name: {} for name in names}
    for key, value in overrides.items():
        head, dot, rest = key.partition(".")
        if dot and head in STUDIES:
            if head not in keys:
                raise ConfigError(f"--set {key}: study {head!r} is not selected ({', '.join(names)})")
            if rest not in keys[head]:
                raise ConfigError(
                    f"--set {key}: study {head!r} has no key {rest!r}; "
                    f"its keys: {', '.join(sorted(keys[head]))}"
                )
            specific[head][rest] = value
            continue
        targets = [name for name in names if key in keys[name]]
        if not targets:
            valid = "; ".join(f"{name}: {', '.join(sorted(k))}" for name, k in keys.items())
            raise ConfigError(f"unknown config key {key!r}; valid keys: {valid}")
        for name in targets:
            generic[name][key] = value
    return {name: {**generic[name], **specific[name]} for name in names}


def _execute(study: Study, config: Any, run: RunFolder, scale: str) -> StudyOutcome:
    """Run one study in its folder; its time adds to that of earlier passes (a resumed run counts every
    pass, the interrupted ones included)."""
    started = time.perf_counter()
    earlier = _read_timings(run.path)
    timings: dict[str, Any] = {"passes": int(earlier.get("passes", 0)) + 1}

    def elapsed() -> float:
        return float(earlier.get("run_seconds", 0.0)) + time.perf_counter() - started

    try:
        results = study.run(config, run)
        if not isinstance(results, study.results):
            raise TypeError(
                f"study {study.name}'s run returned {describe(results)}, not its {study.results.__name__}"
            )
        run.write_json("results.json", to_json(results))
        timings["run_seconds"] = elapsed()
        if study.estimate is not None and scale == "default" and run.writes:
            timed = time.perf_counter()
            estimate = study.estimate(study.default_config(scale="paper"), run.device)
            timings["paper_estimate"] = to_json(estimate)
            timings["estimate_seconds"] = time.perf_counter() - timed
        run.write_json("timings.json", timings)
        report = rebuild_report_of(run.path) if run.writes else None
        verdicts = report.verdicts if report is not None else []
        seconds = timings["run_seconds"] + timings.get("estimate_seconds", 0.0)
        return StudyOutcome(study.name, run.path, "ok", verdicts, None, report, seconds)
    except KeyboardInterrupt:
        run.write_json("timings.json", {**timings, "run_seconds": elapsed(), "interrupted": True})
        if run.writes:
            log.warning("study %s interrupted: continue it with  eqlab run --resume %s", study.name, run.path)
        raise
    except Exception as exc:  # a failed study is reported; the others still run
        log.error("study %s failed:\n%s", study.name, traceback.format_exc())
        error = f"{type(exc).__name__}: {exc}"
        run.write_json("timings.json", {**timings, "run_seconds": elapsed(), "failed": error})
        return StudyOutcome(study.name, run.path, "failed", [], error, None, elapsed())


def _read_timings(folder: Path) -> dict[str, Any]:
    """A run folder's timings.json, or an empty dict when there is none (or it is unreadable)."""
    try:
        timings = json.loads((folder / "timings.json").read_text())
    except (OSError, ValueError):
        return {}
    return timings if isinstance(timings, dict) else {}


def run_studies(
    names: Sequence[str] = (),
    *,
    overrides: Mapping[str, str] | None = None,
    quick: bool = False,
    seed: int = 0,
    device: str = "cpu",
    data_dir: str | None = None,
    out: str | Path = "runs",
) -> list[StudyOutcome]:
    """Run the named studies (all by default) and write their folders, reports and the index."""
    studies = select_studies(names)
    if overrides is not None and not isinstance(overrides, Mapping):
        raise TypeError(
            f"overrides must be a mapping of key -> string value or None, got {describe(overrides)}"
        )
    configs = resolve_configs(studies, overrides or {}, quick)
    seed = _config_error(integer, seed, "seed", minimum=0)
    device = _config_error(choice, device, "device", ("cpu", "cuda"))
    if data_dir is not None:
        folder = _config_error(check_path, data_dir, "data_dir")
        if not folder.is_dir():
            what = "the file" if folder.exists() else "a folder that does not exist:"
            raise ConfigError(f"data_dir must be a folder holding the data sets, got {what} {str(folder)!r}")
        data_dir = str(folder)
    out_dir: Path = _config_error(check_path, out, "out")
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"out must be a folder (it is created if missing), got the file {out_dir}")
    rank = init_from_env(device)
    stamp = _shared_with_every_rank(_fresh_stamp(out_dir, studies) if rank == 0 else "")
    chosen = overrides_for(studies, overrides or {})
    outcomes = []
    for study in studies:
        folder = out_dir / f"{stamp}-{study.name}"
        run = RunFolder(folder, seed=seed, device=device, data_dir=data_dir, rank=rank)
        scale = "quick" if quick else chosen[study.name].get("scale", "default")
        changed = sorted(k for k in chosen[study.name] if k != "scale")
        settings = {
            "seed": seed,
            "device": device,
            "quick": quick,
            "scale": scale,
            "changed": changed,
            "data_dir": data_dir,
        }
        run.write_json(
            "config.json",
            {"study": study.name, "config": config_to_dict(configs[study.name]), "run": settings},
        )
        run.write_json("env.json", _environment(seed, device))
        log.info("study %s: %s", study.name, config_to_dict(configs[study.name]))
        outcomes.append(_execute(study, configs[study.name], run, scale))
    if rank == 0:
        _write_run_index(out_dir / stamp, outcomes)
    return outcomes


def _fresh_stamp(out_dir: Path, studies: Sequence[Study]) -> str:
    """A time stamp no earlier run in ``out_dir`` used (``20261201-165754``, else ``...-2``, ``-3``),
    claimed by making its index folder: two runs started in the same second never share a folder (the
    second would read the first one's units)."""
    base = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        stamp = base if attempt == 1 else f"{base}-{attempt}"
        if any((out_dir / f"{stamp}-{study.name}").exists() for study in studies):
            continue
        try:
            (out_dir / stamp).mkdir(parents=True)
        except FileExistsError:
            continue
        except OSError as exc:
            raise ConfigError(f"out {str(out_dir)!r} cannot hold run folders: {exc}") from None
        return stamp
    raise ConfigError(f"out {out_dir} holds 999 runs started in the second {base}: pick another folder")


def _shared_with_every_rank(stamp: str) -> str:
    """Rank 0's stamp on every rank under torchrun (their clocks may tick apart); ``stamp`` otherwise."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return stamp
    shared = [stamp]
    dist.broadcast_object_list(shared, src=0)
    return str(shared[0])


def _environment(seed: int, device: str) -> dict[str, Any]:
    """env.json: versions, device, seed, the number of processes and how batch norm computes its
    statistics across them."""
    return {
        **environment(seed, device),
        "world_size": world_size(),
        "batchnorm": batchnorm_statistics(device),
    }


def _card(outcome: StudyOutcome) -> IndexCard:
    study = STUDIES[outcome.study]
    report = outcome.report
    settings = _read_settings(outcome.folder)
    return IndexCard(
        study=outcome.study,
        title=study.summary,
        folder=outcome.folder,
        status=outcome.status if outcome.error is None else f"failed: {outcome.error}",
        paper=report.paper if report else "",
        claim=report.claim if report else "",
        verdicts=outcome.verdicts,
        seconds=outcome.seconds,
        budget_minutes=study.budget_minutes,
        scale=settings.get("scale", "default"),
        device=settings.get("device", "cpu"),
        key_figure=report.key if report else None,
    )


def _read_settings(folder: Path) -> dict[str, Any]:
    try:
        saved = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    return saved.get("run", {}) if isinstance(saved, dict) else {}


def _write_run_index(index_dir: Path, outcomes: Sequence[StudyOutcome]) -> None:
    write_index(index_dir / "index.html", [_card(o) for o in outcomes])


def _run_dir(run_dir: Any) -> Path:
    folder = _config_error(check_path, run_dir, "run_dir")
    if not folder.is_dir():
        what = "a file" if folder.exists() else "missing"
        raise ConfigError(f"run_dir {folder} is not a run folder ({what})")
    return folder


def _read_json(path: Path, run_dir: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"run_dir {run_dir}: {path.name} is not valid JSON ({exc})") from None


def _load_run(run_dir: Path) -> tuple[Study, Any, dict[str, Any]]:
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise ConfigError(f"run_dir {run_dir} is not a run folder: it has no config.json")
    saved = _read_json(config_path, run_dir)
    if not isinstance(saved, dict) or not isinstance(saved.get("config"), dict):
        raise ConfigError(f"run_dir {run_dir}: config.json does not hold a study's config")
    if saved.get("study") not in STUDIES:
        raise ConfigError(f"run_dir {run_dir}: config.json names an unknown study {saved.get('study')!r}")
    study = STUDIES[saved["study"]]
    settings = saved.get("run")
    if not isinstance(settings, dict) or any(k not in settings for k in ("seed", "device", "data_dir")):
        raise ConfigError(f"run_dir {run_dir}: config.json lacks the run settings (seed, device, data_dir)")
    try:
        config = config_from_dict(study.config, saved["config"])
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"run_dir {run_dir}: config.json does not fit study {study.name!r}: {exc}"
        ) from None
    return study, config, settings


def resume(run_dir: str | Path) -> StudyOutcome:
    """Continue an interrupted study run from its finished units and last checkpoint."""
    run_dir = _run_dir(run_dir)
    study, config, settings = _load_run(run_dir)
    try:
        RunFolder(
            run_dir, seed=settings["seed"], device=settings["device"], data_dir=settings["data_dir"], rank=1
        )
    except (ValueError, TypeError) as exc:  # rank 1 writes nothing: this only checks the settings
        raise ConfigError(f"run_dir {run_dir}: config.json has unusable run settings: {exc}") from None
    rank = init_from_env(settings["device"])
    run = RunFolder(
        run_dir, seed=settings["seed"], device=settings["device"], data_dir=settings["data_dir"], rank=rank
    )
    run.log_metrics(event="resumed")
    outcome = _execute(
        study, config, run, settings.get("scale", "quick" if settings.get("quick") else "default")
    )
    if rank == 0:
        stamp = run_dir.name.removesuffix(f"-{study.name}")
        siblings = [
            _finished(run_dir.parent / f"{stamp}-{name}", name) for name in STUDIES if name != study.name
        ]
        in_order = [o for o in siblings if o is not None] + [outcome]
        in_order.sort(key=lambda o: list(STUDIES).index(o.study) if o.study in STUDIES else len(STUDIES))
        _write_run_index(run_dir.parent / stamp, in_order)
    return outcome


def _finished(folder: Path, study: str) -> StudyOutcome | None:
    """The outcome of another study of the same run, for the index a resumed study rewrites: its report
    rebuilt from its results, or unfinished; None when the run did not include that study."""
    if not (folder / "config.json").is_file():
        return None
    timings = _read_timings(folder)
    seconds = timings.get("run_seconds")
    seconds = float(seconds) + float(timings.get("estimate_seconds", 0.0)) if seconds is not None else None
    if not (folder / "results.json").is_file():
        error = timings.get("failed", "unfinished: no results.json (resume it with --resume)")
        return StudyOutcome(study, folder, "failed", [], str(error), None, seconds)
    try:
        report = rebuild_report_of(folder)
    except ConfigError as exc:
        return StudyOutcome(study, folder, "failed", [], str(exc), None, seconds)
    return StudyOutcome(study, folder, "ok", report.verdicts, None, report, seconds)


def rebuild_report(run_dir: str | Path) -> list[Verdict]:
    """Rewrite a run's plots and reports from its saved config and results; return its verdicts."""
    return rebuild_report_of(run_dir).verdicts


def rebuild_report_of(run_dir: str | Path) -> Report:
    """Rewrite a run's plots and reports from its saved config, results and timings; return the report."""
    run_dir = _run_dir(run_dir)
    study, config, settings = _load_run(run_dir)
    results_path = run_dir / "results.json"
    if not results_path.is_file():
        raise ConfigError(
            f"run_dir {run_dir} has no results.json: the run did not finish (resume it with --resume)"
        )
    try:
        results = from_json(study.results, _read_json(results_path, run_dir), "results.json")
    except (ResultsError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"run_dir {run_dir}: results.json does not hold the results of a {study.name} run ({exc})"
        ) from None
    (run_dir / "plots").mkdir(exist_ok=True)
    try:
        report = study.report(config, results, run_dir / "plots")
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"run_dir {run_dir}: results.json does not hold the results of a {study.name} run "
            f"({type(exc).__name__}: {exc})"
        ) from None
    report.settings = config_to_dict(config)
    report.facts = _facts(study, run_dir, settings)
    note = _undecided_note(report.verdicts, settings.get("scale", "default"))
    if note:
        report.notes.append(note)
    write_report(report, run_dir)
    return report


def _undecided_note(verdicts: Sequence[Verdict], scale: str) -> str | None:
    """Why claims were not measurable, counted by cause, and what would decide them."""
    undecided = [v for v in verdicts if v.status == Status.NOT_MEASURABLE]
    if not undecided:
        return None
    causes = {
        "too few values": sum("needed" in v.detail for v in undecided),
        "a NaN or infinite value": sum("non-finite" in v.detail for v in undecided),
        "values that do not vary and no stated reason why": sum("do not vary" in v.detail for v in undecided),
    }
    counted = "; ".join(f"{n} with {cause}" for cause, n in causes.items() if n)
    advice = []
    if causes["too few values"]:
        advice.append(
            "run at the default scale (without --quick)"
            if scale == "quick"
            else "raise the seeds (--set seeds=N)"
        )
    if causes["a NaN or infinite value"]:
        advice.append("look at the results: a run diverged or a measurement failed")
    return (
        f"{len(undecided)} verdict(s) could not be decided ({counted}); the rule needs at least "
        f"{MIN_SEEDS} finite values that vary." + (f" To decide them: {'; '.join(advice)}." if advice else "")
    )


def _facts(study: Study, run_dir: Path, settings: dict[str, Any]) -> list[str]:
    """What timings.json and env.json say about the run, in sentences."""
    facts = []
    scale = settings.get("scale", "quick" if settings.get("quick") else "default")
    timings_path = run_dir / "timings.json"
    timings = _read_json(timings_path, run_dir) if timings_path.is_file() else {}
    if isinstance(timings.get("run_seconds"), (int, float)):
        budget = (
            f" (its budget at the default scale: {study.budget_minutes:g} min on 2 CPU cores)"
            if scale == "default"
            else ""
        )
        estimating = timings.get("estimate_seconds")
        extra = (
            f", plus {format_duration(estimating)} to time the paper preset"
            if isinstance(estimating, float)
            else ""
        )
        passes = int(timings.get("passes", 1))
        over = f" over {passes} passes (it was interrupted and resumed)" if passes > 1 else ""
        changed = settings.get("changed") or []
        label = f"the {scale} scale" + (f" with {', '.join(changed)} changed" if changed else "")
        facts.append(
            f"The study took {format_duration(timings['run_seconds'])}{over} at {label} on "
            f"{settings.get('device')}{budget}{extra}."
        )
    env_path = run_dir / "env.json"
    env = _read_json(env_path, run_dir) if env_path.is_file() else {}
    if isinstance(env, dict) and env.get("world_size", 1) > 1:
        facts.append(
            f"It ran in {env['world_size']} processes under torchrun; batch norm: {env.get('batchnorm')}."
        )
    estimate = timings.get("paper_estimate")
    if isinstance(estimate, dict):
        try:
            cost = from_json(CostEstimate, estimate, "timings.json paper_estimate")
        except (ResultsError, ValueError):
            cost = None
        if cost is not None:
            facts.append(
                f"The paper preset (--set scale=paper) would take {cost.in_words()}: an estimate, not a run."
            )
    return facts
