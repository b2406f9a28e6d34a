"""``hccdesk explain``'s core: a lesion's heat maps from the warm worker, written as files a viewer opens.

The maps are on the study's reference grid, the grid ``hccdesk export-masks`` writes the reference volume
and the lesion label map on, with the same affine (:func:`hccdesk.imaging.nifti.write_nifti`), so ITK-SNAP
and 3D Slicer overlay them on the exported image without resampling.  ``patches.csv`` lists each patch's
centre and P(high): the values the map is made of.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hccdesk.errors import InputError, JobError
from hccdesk.evaluation.lesion_images import encode_png, lesion_picture
from hccdesk.imaging.nifti import write_nifti
from hccdesk.imaging.volume import Volume, VolumeSource
from hccdesk.jobs.inference_messages import Explained, Failed, InferenceReply
from hccdesk.jobs.warm_worker import WarmWorker
from hccdesk.learn.heat_map import HeatMap
from hccdesk.store.fsutil import write_text_atomically
from hccdesk.store.records import Lesion

REPLY_TIMEOUT_S = 600.0
"""Longest a blocking caller waits for one reply (a cold start loads TensorFlow and every member first)."""


@dataclass(frozen=True)
class Explanation:
    """What the model saw in one lesion: its heat map, and the attention at the box centre when defined."""

    lesion: Lesion
    source_id: str
    member_p_high: list[float]
    heat: HeatMap
    centres: np.ndarray
    patch_p_high: np.ndarray
    attention: HeatMap | None

    @property
    def p_high(self) -> float:
        return float(np.mean(self.member_p_high))

    @property
    def spread(self) -> float:
        return float(np.std(self.member_p_high))


def wait_for(worker: WarmWorker, request_id: int, timeout_s: float = REPLY_TIMEOUT_S) -> InferenceReply:
    """Block until the reply to ``request_id`` (for command-line callers; the GUI watches the worker's
    reply descriptor instead): asleep until the worker writes, and awake the moment it does.

    Raises
    ------
    JobError
        When the worker failed the request, died, or did not answer in time.
    """
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        worker.wait(left)
        for reply in worker.poll():
            if reply.id == request_id:
                if isinstance(reply, Failed):
                    raise JobError(reply.reason)
                return reply
        if not worker.busy:
            raise JobError(f"no inference request {request_id} is waiting for a reply")
    raise JobError(f"the inference worker did not answer within {timeout_s:.0f} s")


def box_centre(lesion: Lesion) -> tuple[int, int, int]:
    box = lesion.box
    return tuple((lo + hi - 1) // 2 for lo, hi in zip(box.lower, box.upper, strict=True))  # type: ignore[return-value]


def explain(
    worker: WarmWorker,
    lesion: Lesion,
    run_id: str | None = None,
    model_id: str | None = None,
    attention: bool = True,
) -> Explanation:
    """Ask ``worker`` for ``lesion``'s heat map and, when ``attention``, the attention of the patch position
    at its centre (the report shows only the heat map: asking for the attention too would cost a second
    pass through every member and make the report depend on it)."""
    voxel = box_centre(lesion) if attention else None
    reply = wait_for(worker, worker.explain(lesion.study_id, lesion.box, voxel, run_id, model_id))
    assert isinstance(reply, Explained)  # an explain request's only other reply is Failed, raised above
    return Explanation(
        lesion=lesion,
        source_id=reply.source_id,
        member_p_high=list(reply.member_p_high),
        heat=reply.heat,
        centres=reply.centres,
        patch_p_high=reply.patch_p_high,
        attention=reply.attention,
    )


def write_explanation(project: Any, explanation: Explanation, out_dir: Path) -> list[Path]:
    """Write ``<lesion>_p_high.nii.gz``, ``<lesion>_attention.nii.gz`` (non-local variants), a
    ``<lesion>_<phase>.png`` per phase and ``<lesion>_patches.csv`` into ``out_dir``; return the paths."""
    lesion = explanation.lesion
    study = project.studies[lesion.study_id]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot write to {out_dir}: {error.strerror or error}") from error
    source = VolumeSource(series_description=f"{lesion.id} P(high) per patch, {explanation.source_id}")
    heat = explanation.heat.to_volume(study.shape)
    written = [
        write_nifti(Volume(heat, study.affine_array, source=source), out_dir / f"{lesion.id}_p_high.nii.gz")
    ]
    if explanation.attention is not None:
        attention = Volume(
            explanation.attention.to_volume(study.shape),
            study.affine_array,
            source=VolumeSource(series_description=f"{lesion.id} non-local attention at the box centre"),
        )
        written.append(write_nifti(attention, out_dir / f"{lesion.id}_attention.nii.gz"))
    with project.images(lesion.study_id) as images:
        for phase in images.phases:
            picture = lesion_picture(images.volume(phase), lesion.box, heat)
            path = out_dir / f"{lesion.id}_{phase}.png"
            path.write_bytes(encode_png(picture))
            written.append(path)
    table = io.StringIO(newline="")
    rows = csv.writer(table, lineterminator="\n")
    rows.writerow(["k", "j", "i", "p_high"])
    for centre, p in zip(explanation.centres, explanation.patch_p_high, strict=True):
        rows.writerow([f"{centre[0]:.2f}", f"{centre[1]:.2f}", f"{centre[2]:.2f}", f"{p:.6f}"])
    write_text_atomically(out_dir / f"{lesion.id}_patches.csv", table.getvalue())
    written.append(out_dir / f"{lesion.id}_patches.csv")
    return written
