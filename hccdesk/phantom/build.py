"""A phantom cohort on disk: images, the cohort manifest, the lesion CSV and the ground truth.

Layout of ``OUT``::

    cohort.csv          patient_id,study_id,phase,path  (the import manifest; DICOM when written, else NIfTI)
    cohort_nifti.csv    the same for the NIfTI files, when both formats are written
    lesions.csv         lesion_id,study_id,z0,y0,x0,z1,y1,x1,grade,notes  (true boxes and recorded grades)
    truth.json          everything behind the images: hidden variable, traits, nuisance draws, boxes in mm
    dicom/<patient>/<study>/<NN>_<phase>/IM0001.dcm ...   (or <NN>_dynamic/ with --dynamic-series)
    nifti/<patient>/<study>_<phase>.nii.gz

Studies are independent, so they render in parallel processes; each has its own seed, so the files do not
depend on the number of processes.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from hccdesk.errors import InputError
from hccdesk.imaging.volume import PHASES
from hccdesk.phantom.cohort import LABEL_NOISE, StudyPlan, plan_cohort
from hccdesk.phantom.presets import Preset, get_preset
from hccdesk.phantom.traits import REFERENCE_DELTA

FORMATS: tuple[str, ...] = ("dicom", "nifti")


@dataclass(frozen=True)
class CohortFiles:
    """Where :func:`write_cohort` put things (``manifests`` maps format -> manifest path)."""

    folder: Path
    manifests: dict[str, Path]
    lesions: Path
    truth: Path

    @property
    def manifest(self) -> Path:
        """The main manifest, ``cohort.csv``."""
        return self.folder / "cohort.csv"


@dataclass(frozen=True)
class _Job:
    plan: StudyPlan
    preset: Preset
    folder: Path
    formats: tuple[str, ...]
    dynamic: bool
    cohort_seed: int


def _render(job: _Job) -> dict[str, Any]:
    """Render and write one study (runs in a worker process); returns its rows and truth, paths relative."""
    from hccdesk.phantom.study import generate_study
    from hccdesk.phantom.writers import write_dicom, write_dicom_dynamic, write_nifti_phases

    study = generate_study(job.plan, job.preset)
    plan = job.plan
    rows: dict[str, list[tuple[str, str]]] = {}
    if "dicom" in job.formats:
        folder = job.folder / "dicom" / plan.patient_id / plan.study_id
        if job.dynamic:
            series = write_dicom_dynamic(study, folder, job.cohort_seed)
            rows["dicom"] = [(phase, _relative(series, job.folder)) for phase in PHASES]
        else:
            paths = write_dicom(study, folder, job.cohort_seed)
            rows["dicom"] = [(phase, _relative(paths[phase], job.folder)) for phase in PHASES]
    if "nifti" in job.formats:
        paths = write_nifti_phases(study, job.folder / "nifti" / plan.patient_id)
        rows["nifti"] = [(phase, _relative(paths[phase], job.folder)) for phase in PHASES]
    acquisition = study.acquisition
    lesions = []
    for lesion in plan.lesions:
        box = study.boxes[lesion.lesion_id]
        corners = box.world_corners(study.affine)
        lesions.append(
            {
                "lesion_id": lesion.lesion_id,
                "grade": lesion.grade,
                "box": list(box.as_tuple()),
                "box_lps_mm": [[round(float(v), 3) for v in corner] for corner in corners],
                "centre_mm": [round(c, 3) for c in study.centres_mm[lesion.lesion_id]],
                "notes": f"phantom lesion, {lesion.traits.diameter_mm:.0f} mm",
                "traits": lesion.traits.to_dict(),
            }
        )
    return {
        "patient_id": plan.patient_id,
        "study_id": plan.study_id,
        "rows": rows,
        "lesions": lesions,
        "acquisition": {
            "field_strength_t": acquisition.field_strength,
            "snr_pre_liver": round(acquisition.snr, 3),
            "gain": round(acquisition.gain, 4),
            "bias_amplitude": round(acquisition.bias_amplitude, 4),
            "rescale_slopes": {phase: study.phases[phase].slope for phase in PHASES},
            "motion_mm_zyx": {
                phase: [round(float(v), 3) for v in m[:3, 3]]
                for phase, m in zip(PHASES, acquisition.motions, strict=True)
            },
            "arterial_timing_offset_s": round(study.enhancement.arterial_offset_s, 3),
        },
    }


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def write_cohort(
    out: str | Path,
    *,
    lesions: int,
    seed: int,
    preset: str = "small",
    formats: Sequence[str] = ("dicom",),
    dynamic: bool = False,
    delta: float = REFERENCE_DELTA,
    label_noise: float = LABEL_NOISE,
    workers: int | None = None,
) -> CohortFiles:
    """Render a cohort of ``lesions`` studies into the empty (or new) folder ``out``.

    ``delta`` is the grade effect on the hidden aggressiveness variable (0 switches it off); ``workers``
    defaults to the preset's process count, capped by the machine's cores.  Workers are *spawned* (forking a
    process that runs Qt or other threads is unsafe), so a script that calls this with more than one worker
    needs the usual ``if __name__ == "__main__":`` guard.
    """
    out = Path(out)
    unknown = set(formats) - set(FORMATS)
    if unknown or not formats:
        raise InputError(
            f"unknown image format {', '.join(sorted(unknown)) or '(none)'}; use dicom, nifti or both"
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out} is not an empty folder; choose a new output folder for the phantom")
    chosen = get_preset(preset)
    plans = plan_cohort(lesions, seed, delta=delta, label_noise=label_noise)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [_Job(plan, chosen, out, tuple(formats), dynamic, seed) for plan in plans]
    count = min(workers or chosen.workers, os.cpu_count() or 1, len(jobs))
    if count > 1:
        with ProcessPoolExecutor(count, mp_context=get_context("spawn")) as pool:
            results = list(pool.map(_render, jobs))
    else:
        results = [_render(job) for job in jobs]

    manifests = {}
    for index, fmt in enumerate(fmt for fmt in FORMATS if fmt in formats):
        name = "cohort.csv" if index == 0 else f"cohort_{fmt}.csv"
        rows = [
            (r["patient_id"], r["study_id"], phase, path) for r in results for phase, path in r["rows"][fmt]
        ]
        manifests[fmt] = _write_csv(out / name, ("patient_id", "study_id", "phase", "path"), rows)
    lesion_rows = [
        (item["lesion_id"], r["study_id"], *item["box"], item["grade"], item["notes"])
        for r in results
        for item in r["lesions"]
    ]
    header = ("lesion_id", "study_id", "z0", "y0", "x0", "z1", "y1", "x1", "grade", "notes")
    lesions_csv = _write_csv(out / "lesions.csv", header, lesion_rows)
    truth = {
        "generator": "hccdesk.phantom",
        "seed": seed,
        "preset": chosen.name,
        "shape_zyx": list(chosen.shape),
        "spacing_zyx_mm": list(chosen.spacing),
        "delta": delta,
        "label_noise": label_noise,
        "studies": results,
    }
    truth_path = out / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return CohortFiles(out, manifests, lesions_csv, truth_path)


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path
