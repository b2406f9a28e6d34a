"""``hccdesk report`` and File > Export report: gather a project's grades, heat maps and model card.

The heat maps come from the warm inference worker (the same ensemble the app grades with), the predictions
are the project's latest stored ones with their source, and the metrics are those of the source run's
cross-validation (or of the newest finished run of the same variant for a final model).  Layout and
escaping are :mod:`hccdesk.evaluation.html_report`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hccdesk import __version__
from hccdesk.errors import InputError
from hccdesk.evaluation.html_report import LesionSection, ReportContent, render
from hccdesk.evaluation.lesion_images import encode_png, heat_colours, lesion_picture
from hccdesk.jobs import grading
from hccdesk.jobs.explanation import explain
from hccdesk.jobs.warm_worker import WarmWorker
from hccdesk.store.companions import phantom_truth_path
from hccdesk.store.fsutil import write_text_atomically
from hccdesk.store.records import ROMAN, Prediction, RunRecord, now_iso
from hccdesk.store.studies import REFERENCE_PHASE

PHANTOM_MARKERS = ("phantom", "hccdesk", "hcc desk")
"""Words of the ``Manufacturer`` / ``ManufacturerModelName`` the phantom writes ("HCC Desk", "synthetic liver
phantom"), where the import's tag cleaning keeps them."""
METRIC_NAMES = ("auc", "accuracy", "sensitivity", "specificity", "balanced_accuracy")


def is_synthetic(project: Any, study_id: str) -> bool:
    """True when the phantom made the study: its ground-truth file lies beside the project (the demo and any
    ``build_demo`` project), or a phase's scanner tags name the phantom."""
    if phantom_truth_path(project.folder).is_file():
        return True
    scanner = [
        str(info.tags.get(tag, "")).lower()
        for info in project.studies[study_id].phases.values()
        for tag in ("Manufacturer", "ManufacturerModelName")
    ]
    return any(marker in text for text in scanner for marker in PHANTOM_MARKERS)


def latest_predictions(project: Any) -> dict[str, Prediction]:
    """The newest stored prediction of every lesion."""
    latest: dict[str, Prediction] = {}
    for prediction in sorted(project.predictions(), key=lambda p: p.created):
        latest[prediction.lesion_id] = prediction
    return latest


def _prediction_text(prediction: Prediction | None) -> str:
    if prediction is None:
        return "not graded yet"
    return (
        f"P(high) {prediction.p_high:.2f} ± {prediction.spread:.2f} (std over {prediction.n_members} "
        f"member(s)) → {prediction.label} grade; source {prediction.model_id}, {prediction.created}"
    )


def _source_run(project: Any, source_id: str) -> tuple[RunRecord | None, dict[str, Any]]:
    """The run whose metrics describe ``source_id``, and the source's variant config."""
    if source_id.startswith(grading.RUN_PREFIX):
        run = project.runs[source_id.removeprefix(grading.RUN_PREFIX)]
        return run, run.config.get("variant_config", {})
    model = project.models[source_id]
    same = [
        r for r in project.runs.values() if r.variant == model.variant and r.status == "done" and r.summary
    ]
    return (max(same, key=lambda r: r.created) if same else None), model.config


def _model_card(project: Any, source_id: str, config: dict[str, Any]) -> list[tuple[str, str]]:
    card = [
        ("Prediction source", source_id),
        ("Variant", str(config.get("name", ""))),
        ("Network", str(config.get("summary", ""))),
        ("Reproduces", ", ".join(config.get("paper_rows", [])) or "-"),
        ("Phases (channels)", ", ".join(config.get("patches", {}).get("phases", []))),
    ]
    if source_id.startswith(grading.RUN_PREFIX):
        run = project.runs[source_id.removeprefix(grading.RUN_PREFIX)]
        card += [
            ("Members", f"{len(run.model_files)} fold model(s) of run {run.id}"),
            (
                "Protocol",
                f"{run.config.get('folds', '?')} folds × {run.config.get('repeats', '?')} repeats, "
                f"profile {run.config.get('profile', '?')} ({run.config.get('iterations', '?')} iterations)",
            ),
            ("Trained on", run.device),
        ]
    else:
        model = project.models[source_id]
        provenance = model.provenance
        card += [
            ("Members", "1 final model"),
            (
                "Training",
                f"{len(model.lesion_ids)} lesions, {provenance.get('iterations', '?')} iterations, "
                f"profile {provenance.get('profile', '?')}",
            ),
            ("Trained on", str(provenance.get("device", ""))),
        ]
    return card


def _number(value: float | None) -> str:
    """Three decimals, or "-" where the run cannot say (a spread over repeats of a one-repeat run)."""
    return "-" if value is None else f"{value:.3f}"


def _metrics_rows(run: RunRecord | None) -> list[list[str]]:
    if run is None or not run.summary:
        return []
    rows = []
    for name in METRIC_NAMES:
        value = run.summary.get(name)
        if not value:
            continue
        interval = ""
        if name == "auc" and run.summary.get("auc_ci95"):
            low, high = run.summary["auc_ci95"]
            interval = f"{low:.3f}–{high:.3f}"
        rows.append([name, *(_number(value.get(k)) for k in ("mean", "std_folds", "std_repeats")), interval])
    return rows


def build_report(
    project: Any,
    out: Path,
    run_id: str | None = None,
    model_id: str | None = None,
    worker: WarmWorker | None = None,
) -> Path:
    """Write the report of every lesion to ``out`` (one HTML file); returns ``out``.

    ``worker`` is the caller's warm worker (the GUI's); without one a worker is started and closed here.
    """
    if not project.lesions:
        raise InputError("the project has no lesions to report")
    own = worker is None
    worker = worker or WarmWorker(project)
    try:
        source_id = worker.source(run_id, model_id)["source_id"]
        run, config = _source_run(project, source_id)
        predictions = latest_predictions(project)
        sections = []
        for lesion in sorted(project.lesions.values(), key=lambda x: (x.study_id, x.id)):
            explanation = explain(worker, lesion, run_id, model_id, attention=False)
            heat = explanation.heat.to_volume(project.studies[lesion.study_id].shape)
            with project.images(lesion.study_id) as images:
                pictures = [
                    (p, encode_png(lesion_picture(images.volume(p), lesion.box))) for p in images.phases
                ]
                arterial = REFERENCE_PHASE if REFERENCE_PHASE in images.phases else images.phases[0]
                heat_picture = lesion_picture(images.volume(arterial), lesion.box, heat)
            pictures.append((f"P(high) per patch over {arterial}", encode_png(heat_picture)))
            sections.append(
                LesionSection(
                    lesion_id=lesion.id,
                    study_id=lesion.study_id,
                    recorded_grade=f"Edmondson {ROMAN[lesion.grade]} ({lesion.label})"
                    if lesion.grade
                    else "none",
                    prediction=_prediction_text(predictions.get(lesion.id)),
                    pictures=pictures,
                    synthetic=is_synthetic(project, lesion.study_id),
                    explanation=f"Heat map: each patch's P(high) from {explanation.source_id} (dark: low "
                    f"grade, light: high grade); this box's P(high) now {explanation.p_high:.2f} ± "
                    f"{explanation.spread:.2f}.",
                )
            )
    finally:
        if own:
            worker.close()
    metrics_title = f"Cross-validation ({run.id}, {run.variant})" if run is not None else "Cross-validation"
    content = ReportContent(
        project_name=Path(project.folder).name,
        created=now_iso(),
        software=f"HCC Desk {__version__}",
        lesions=sections,
        model_card=_model_card(project, source_id, config),
        metrics_title=metrics_title,
        metrics_header=("metric", "mean over folds", "std over folds", "std over repeats", "AUC 95% CI"),
        metrics_rows=_metrics_rows(run),
        legend=encode_png(heat_colours(np.linspace(0.0, 1.0, 200))[np.newaxis].repeat(12, axis=0)),
    )
    try:
        write_text_atomically(Path(out), render(content))
    except OSError as error:
        raise InputError(f"cannot write the report to {out}: {error.strerror or error}") from error
    return Path(out)
