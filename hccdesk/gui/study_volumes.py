"""The open study's phase volumes, held in memory while shown (docs/design/architecture.md §9: slice < 16 ms).

Reading a slice from HDF5 on every scroll would cost milliseconds per phase (and far more for coronal or
sagittal cuts through axial chunks), so the whole study is read once when it is opened and dropped when
another study is shown: memory then scales with one study, not with the project (the < 1 GB budget).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hccdesk.gui.window_level import IntensityStats
from hccdesk.store.records import Study


@dataclass
class StudyVolumes:
    """Phase name -> float32 ``[k, j, i]`` array on the study's reference grid, plus intensity statistics."""

    study: Study
    phases: tuple[str, ...]
    volumes: dict[str, np.ndarray]
    stats: dict[str, IntensityStats]

    @classmethod
    def load(cls, project, study_id: str) -> StudyVolumes:
        """Read every phase of ``study_id`` through :class:`hccdesk.store.images.StudyImages`."""
        study = project.studies[study_id]
        with project.images(study_id) as images:
            phases = tuple(images.phases)
            volumes = {p: np.ascontiguousarray(images.volume(p), dtype=np.float32) for p in phases}
        stats = {phase: IntensityStats(volume) for phase, volume in volumes.items()}
        return cls(study, phases, volumes, stats)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in next(iter(self.volumes.values())).shape)  # type: ignore[return-value]

    @property
    def affine(self) -> np.ndarray:
        return self.study.affine_array

    @property
    def spacing(self) -> tuple[float, float, float]:
        sz, sy, sx = (float(v) for v in self.study.spacing)
        return sz, sy, sx

    def world(self, voxel: tuple[int, int, int]) -> np.ndarray:
        """LPS position (mm) of a voxel centre."""
        k, j, i = voxel
        return self.affine[:3, :3] @ np.array([i, j, k], dtype=np.float64) + self.affine[:3, 3]

    def contains(self, voxel: tuple[int, int, int]) -> bool:
        return all(0 <= v < n for v, n in zip(voxel, self.shape, strict=True))
