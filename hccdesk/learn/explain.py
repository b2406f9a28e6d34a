"""An ensemble loaded once and asked about one lesion box at a time: what each member says, patch by patch.

This is the TensorFlow side of the warm inference worker (:mod:`hccdesk.jobs.inference_worker`) and of
``hccdesk explain``.  A lesion's P(high) is the mean of its patches' P(high) (as in training and in the
grade job), so the patch-level values are the honest explanation of a grade: where inside the box the model
found high-grade evidence.  For variants with a non-local branch the attention of one patch position over
the others is what the non-local operation mixed into that position's feature.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from scipy.spatial import cKDTree

from hccdesk.errors import ModelError
from hccdesk.learn.heat_map import HeatMap, paint, paint_cells, patch_half_extent
from hccdesk.learn.inference import compile_forward, patch_shape
from hccdesk.learn.patches import RegionReader, cut_lesion_patches, target_grid
from hccdesk.learn.training import TrainedModel
from hccdesk.store.records import Box

NONLOCAL_LAYER = "nonlocal"
"""Name :func:`hccdesk.learn.models.nonlocal_branch` gives the non-local operation."""


@dataclass(frozen=True)
class LesionReading:
    """Every member's patch-level P(high) for one lesion box.

    Attributes
    ----------
    centres
        ``(n, 3)`` patch centres in study voxels ``[k, j, i]``.
    member_patch_p
        ``(members, n)`` P(high) of each patch by each member.
    half_extent
        Half a patch's block in study voxels per axis.
    """

    centres: np.ndarray
    member_patch_p: np.ndarray
    half_extent: np.ndarray

    @property
    def member_p_high(self) -> np.ndarray:
        """Each member's lesion P(high): the mean over the lesion's patches."""
        return self.member_patch_p.mean(axis=1)

    @property
    def patch_p_high(self) -> np.ndarray:
        """The ensemble's P(high) per patch: the mean over members."""
        return self.member_patch_p.mean(axis=0)

    def heat_map(self, shape: tuple[int, int, int]) -> HeatMap:
        """The ensemble's patch P(high) on the study grid (:func:`hccdesk.learn.heat_map.paint`)."""
        return paint(shape, self.centres, self.patch_p_high, self.half_extent)


class Ensemble:
    """The members of one prediction source (a run's fold models or a final model), loaded once.

    All members must cut patches alike (one variant config), so one set of patches serves them all.
    """

    def __init__(self, source_id: str, members: Sequence[TrainedModel]) -> None:
        if not members:
            raise ModelError(f"{source_id} has no models to grade with")
        configs = {_patch_key(m.config) for m in members}
        if len(configs) != 1:
            raise ModelError(f"the members of {source_id} cut patches differently; grade them separately")
        self.source_id = source_id
        self.members = list(members)
        self.config = self.members[0].config
        self._forward = compile_forward(
            [m.inference_model for m in self.members],
            [m.normalizer for m in self.members],
            patch_shape(self.config),
        )
        self._feature_models: list[keras.Model] | None = None

    @classmethod
    def load(cls, source_id: str, paths: Sequence[str | Path]) -> Ensemble:
        return cls(source_id, [TrainedModel.load(path) for path in paths])

    def warm_up(self) -> None:
        """Trace the forward pass now, on a lesion's largest batch of patches, so the first real request pays
        neither the tracing nor the first touch of the largest intermediate buffers (measured: a first
        27-patch grade 177-188 ms after a one-patch warm-up, 103-106 ms after this one, for ~0.3 s more
        start-up in the background)."""
        largest = int(self.config["patches"]["max_patches"])
        self._forward(np.zeros((largest, *patch_shape(self.config)), dtype=np.float32))

    @property
    def precision(self) -> str:
        """``bfloat16`` when the members' deep convolutions compute in it (:mod:`hccdesk.learn.inference`),
        else ``float32``."""
        dtypes = {layer.compute_dtype for m in self.members for layer in m.inference_model.layers}
        return "bfloat16" if "bfloat16" in dtypes else "float32"

    @property
    def has_attention(self) -> bool:
        """True for variants with a non-local branch (every head but ``local``)."""
        return str(self.config.get("head")) != "local"

    def read(self, images: RegionReader, box: Box) -> LesionReading:
        """Patch-level P(high) of every member for ``box`` on ``images`` (a study's reference grid)."""
        cut = cut_lesion_patches(images, box, self.config)
        if len(cut) == 0:
            raise ModelError("the lesion box gives no patches to predict from")
        votes = keras.ops.convert_to_numpy(self._forward(cut.patches)).astype(np.float64)
        step = target_grid(images, box, self.config["patches"]).step
        return LesionReading(cut.centres, votes, patch_half_extent(self.config, step))

    def member_p_high(self, images: RegionReader, box: Box) -> list[float]:
        """Each member's P(high) of ``box``: the mean over its patches, as in training and the grade job."""
        return [float(p) for p in self.read(images, box).member_p_high]

    def attention(self, images: RegionReader, box: Box, voxel: tuple[int, int, int]) -> HeatMap | None:
        """The members' mean non-local attention from the feature position under ``voxel`` over its patch.

        The patch is the one whose block contains ``voxel`` and whose centre is nearest; None when no patch
        covers ``voxel``.  The map has one cell per key position: the feature grid, or its half on every
        axis when the variant subsamples φ and g (``nonlocal.subsample``).  Raises :class:`ModelError` for a
        variant without a non-local branch.
        """
        if not self.has_attention:
            raise ModelError(f"{self.config.get('name', 'this variant')} has no non-local branch to show")
        cut = cut_lesion_patches(images, box, self.config)
        step = target_grid(images, box, self.config["patches"]).step
        half = patch_half_extent(self.config, step)
        scale = 1.0 / np.maximum(half, 1e-9)
        distance, index = cKDTree(cut.centres * scale).query(np.asarray(voxel, dtype=float) * scale, p=np.inf)
        if distance > 1.0 + 1e-6:
            return None
        centre = cut.centres[index]
        rows = []
        for member, features_of in zip(self.members, self._features(), strict=True):
            features = features_of(member.normalizer.apply(cut.patches[index : index + 1]), training=False)
            block = member.inference_model.get_layer(NONLOCAL_LAYER)
            weights, _ = block.attention(features)
            cells = tuple(int(n) for n in features.shape[1:-1])
            query = _query_cell(np.asarray(voxel, dtype=float), centre, half, cells)
            rows.append(keras.ops.convert_to_numpy(weights)[0, query].reshape(block.key_grid(cells)))
        return paint_cells(images.shape, centre, half, np.mean(rows, axis=0))

    def _features(self) -> list[keras.Model]:
        """Per member, the sub-model from the patch to the non-local operation's input (built once)."""
        if self._feature_models is None:
            self._feature_models = [
                keras.Model(m.inference_model.input, m.inference_model.get_layer(NONLOCAL_LAYER).input)
                for m in self.members
            ]
        return self._feature_models


def _patch_key(config: dict) -> str:
    return json.dumps({"dims": config.get("dims"), "patches": config.get("patches")}, sort_keys=True)


def _query_cell(voxel: np.ndarray, centre: np.ndarray, half: np.ndarray, cells: tuple[int, ...]) -> int:
    """The flat index of the feature-map cell under ``voxel`` (2D feature maps ignore the slice axis)."""
    fraction = (voxel - (centre - half)) / (2.0 * np.maximum(half, 1e-9))
    position = fraction[-len(cells) :]
    index = tuple(int(np.clip(np.floor(p * n), 0, n - 1)) for p, n in zip(position, cells, strict=True))
    return int(np.ravel_multi_index(index, cells))
