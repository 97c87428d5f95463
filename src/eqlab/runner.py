"""``eqlab run`` as a library: select studies, resolve their configs, run them, write their reports.

Each study gets ``<out>/<timestamp>-<study>/``; one ``<out>/<timestamp>/index.html`` links them all.
A study that raises is logged and marked failed; the others still run and report.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eqlab.runs import (
    MIN_SEEDS,
    STATUSES,
    ConfigError,
    RunFolder,
    Study,
    Verdict,
    apply_overrides,
    config_from_dict,
    config_to_dict,
    environment,
    write_index,
    write_report,
)
from eqlab.studies import STUDIES
from eqlab.train.distributed import init_from_env

__all__ = ["StudyOutcome", "rebuild_report", "resolve_configs", "resume", "run_studies", "select_studies"]

log = logging.getLogger(__name__)


@dataclass
class StudyOutcome:
    """How one study ended."""

    study: str
    folder: Path
    status: str  # "ok" or "failed"
    verdicts: list[Verdict]
    error: str | None = None


def select_studies(names: Sequence[str]) -> list[Study]:
    """The named studies (all, in registry order, when ``names`` is empty)."""
    unknown = [n for n in names if n not in STUDIES]
    if unknown:
        raise ConfigError(f"unknown study {unknown}; available: {', '.join(STUDIES)}")
    return [STUDIES[n] for n in (names or list(STUDIES))]


def resolve_configs(studies: Sequence[Study], overrides: Mapping[str, str], quick: bool) -> dict[str, Any]:
    """Each study's config with ``--set`` overrides applied.

    ``key=value`` applies to every selected study that has ``key``; ``study.key=value`` to one study.
    A key that no selected study has is refused, listing the valid keys.
    """
    per_study: dict[str, dict[str, str]] = {s.name: {} for s in studies}
    fields = {s.name: {f.name for f in dataclasses.fields(s.config)} for s in studies}
    for key, value in overrides.items():
        study, dot, field = key.rpartition(".")
        if dot:
            if study not in per_study:
                raise ConfigError(f"--set {key}: study {study!r} is not selected ({', '.join(per_study)})")
            per_study[study][field] = value
            continue
        targets = [name for name in per_study if key in fields[name]]
        if not targets:
            valid = "; ".join(f"{name}: {', '.join(sorted(f))}" for name, f in fields.items())
            raise ConfigError(f"unknown config key {key!r}; valid keys: {valid}")
        for name in targets:
            per_study[name][key] = value
    return {s.name: apply_overrides(s.default_config(quick), per_study[s.name]) for s in studies}


def _execute(study: Study, config: Any, run: RunFolder) -> StudyOutcome:
    started = time.perf_counter()
    try:
        results = study.run(config, run)
        run.write_json("results.json", results)
        run.write_json("timings.json", {"run_seconds": time.perf_counter() - started})
        verdicts = rebuild_report(run.path) if run.writes else []
        return StudyOutcome(study.name, run.path, "ok", verdicts)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a failed study is reported; the others still run
        log.error("study %s failed:\n%s", study.name, traceback.format_exc())
        return StudyOutcome(study.name, run.path, "failed", [], f"{type(exc).__name__}: {exc}")


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
    configs = resolve_configs(studies, overrides or {}, quick)
    rank = init_from_env(device)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(out)
    outcomes = []
    for study in studies:
        folder = out / f"{stamp}-{study.name}"
        run = RunFolder(folder, seed=seed, device=device, data_dir=data_dir, rank=rank)
        settings = {"seed": seed, "device": device, "quick": quick, "data_dir": data_dir}
        run.write_json(
            "config.json",
            {"study": study.name, "config": config_to_dict(configs[study.name]), "run": settings},
        )
        run.write_json("env.json", environment(seed, device))
        log.info("study %s: %s", study.name, config_to_dict(configs[study.name]))
        outcomes.append(_execute(study, configs[study.name], run))
    if rank == 0:
        _write_run_index(out / stamp, outcomes)
    return outcomes


def _write_run_index(index_dir: Path, outcomes: Sequence[StudyOutcome]) -> None:
    entries = [
        {
            "study": o.study,
            "title": STUDIES[o.study].summary,
            "folder": f"../{o.folder.name}",
            "status": o.status if o.error is None else f"failed: {o.error}",
            "verdicts": o.verdicts,
        }
        for o in outcomes
    ]
    write_index(index_dir / "index.html", entries)


def _load_run(run_dir: Path) -> tuple[Study, Any, dict[str, Any]]:
    config_path = run_dir / "config.json"
    if not config_path.exists():
        raise ConfigError(f"{run_dir} is not a run folder: it has no config.json")
    saved = json.loads(config_path.read_text())
    if saved.get("study") not in STUDIES:
        raise ConfigError(f"{config_path} names an unknown study {saved.get('study')!r}")
    study = STUDIES[saved["study"]]
    return study, config_from_dict(study.config, saved["config"]), saved["run"]


def resume(run_dir: str | Path) -> StudyOutcome:
    """Continue an interrupted study run from its finished units and last checkpoint."""
    run_dir = Path(run_dir)
    study, config, settings = _load_run(run_dir)
    rank = init_from_env(settings["device"])
    run = RunFolder(
        run_dir, seed=settings["seed"], device=settings["device"], data_dir=settings["data_dir"], rank=rank
    )
    run.log_metrics(event="resumed")
    outcome = _execute(study, config, run)
    if rank == 0:
        stamp = run_dir.name.removesuffix(f"-{study.name}")
        _write_run_index(run_dir.parent / stamp, [outcome])
    return outcome


def rebuild_report(run_dir: str | Path) -> list[Verdict]:
    """Rewrite a run's plots and reports from its saved config and results; return its verdicts."""
    run_dir = Path(run_dir)
    study, config, _ = _load_run(run_dir)
    results_path = run_dir / "results.json"
    if not results_path.exists():
        raise ConfigError(f"{run_dir} has no results.json: the run did not finish (resume it with --resume)")
    results = json.loads(results_path.read_text())
    (run_dir / "plots").mkdir(exist_ok=True)
    report = study.report(config, results, run_dir / "plots")
    report.settings = config_to_dict(config)
    undecided = sum(v.status == STATUSES[2] for v in report.verdicts)
    if undecided:
        report.notes.append(
            f"{undecided} verdict(s) could not be decided: the rule needs at least {MIN_SEEDS} finite "
            "values. Run at the default scale (without --quick), or raise the seeds with --set seeds=N."
        )
    write_report(report, run_dir)
    return report.verdicts
